package egress

import (
	"bytes"
	"net/netip"
	"strings"
	"testing"

	"github.com/netvet/netvet/internal/egress/flow"
	"github.com/netvet/netvet/internal/inventory"
)

func TestParseElements(t *testing.T) {
	inv := &inventory.Inventory{Elements: []inventory.Element{{ID: "gnb-1", Vendor: "acme", Function: "gnb", Domain: "ran", Site: "S1"}}}
	tests := []struct {
		name, in string
		inv      *inventory.Inventory
		wantErr  string
		lookup   string
		wantID   string
		wantSite string
	}{
		{name: "basic", in: "address,element,site\n10.0.0.1,e1,A\n10.0.0.0/24,net,B\n", lookup: "10.0.0.1", wantID: "e1", wantSite: "A"},
		{name: "longest prefix", in: "cidr,id\n10.0.0.0/8,big\n10.1.0.0/16,small\n", lookup: "10.1.2.3", wantID: "small"},
		{name: "v6 and mapped lookup", in: "prefix,element\n2001:db8::/64,v6\n192.0.2.1,v4\n", lookup: "::ffff:192.0.2.1", wantID: "v4"},
		{name: "comments and quotes", in: "# map\naddress,element\n\n\"10.0.0.1\",\"e,1\"\n", lookup: "10.0.0.1", wantID: "e,1"},
		{name: "inventory wins", in: "address,element,site\n10.0.0.1,gnb-1,Z\n", inv: inv, lookup: "10.0.0.1", wantID: "gnb-1", wantSite: "S1"},
		{name: "not in inventory", in: "address,element\n10.0.0.1,x\n", inv: inv, wantErr: "line 2: element \"x\" is not in the inventory"},
		{name: "host bits", in: "address,element\n10.0.0.1/24,x\n", wantErr: "line 2: 10.0.0.1/24 has host bits set"},
		{name: "duplicate prefix", in: "address,element\n10.0.0.1,x\n10.0.0.1,y\n", wantErr: "line 3: 10.0.0.1/32 is mapped twice"},
		{name: "conflict", in: "address,element,site\n10.0.0.1,x,A\n10.0.0.2,x,B\n", wantErr: "line 3: element x: site differs"},
		{name: "bad address", in: "address,element\nnope,x\n", wantErr: "line 2: bad address \"nope\""},
		{name: "unknown column", in: "address,element,colour\n", wantErr: "line 1: unknown column \"colour\""},
		{name: "no element column", in: "address\n", wantErr: "no element column"},
		{name: "empty", in: "", wantErr: "no header line"},
		{name: "long line", in: "address,element\n" + strings.Repeat("x", 5000) + "\n10.0.0.1,e\n", wantErr: "line 2: line longer than 4096 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := ParseElements("el.csv", strings.NewReader(tt.in), tt.inv)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			el, ok := m.Lookup(netip.MustParseAddr(tt.lookup))
			if !ok || el.ID != tt.wantID || (tt.wantSite != "" && el.Site != tt.wantSite) {
				t.Errorf("lookup %s = %+v, %v", tt.lookup, el, ok)
			}
			if _, ok := m.Lookup(netip.MustParseAddr("203.0.113.200")); ok {
				t.Error("unmapped address found")
			}
		})
	}
}

func TestReadRecords(t *testing.T) {
	in := `{"exporter":"10.9.0.1","protocol":"ipfix","src":"10.1.0.1","dst":"45.0.0.9","src_port":1,"dst_port":443,"proto":6,"bytes":10,"packets":1,"start":"2026-03-02T00:00:00Z","sampling_rate":100}
# comment
{"src":"10.1.0.1","dst":"bad","proto":6,"bytes":1,"packets":1,"start":"2026-03-02T00:00:00Z"}
{"src":"10.1.0.1","dst":"45.0.0.9","proto":6,"bytes":1,"packets":1}
{"src":"10.1.0.1","dst":"45.0.0.9","extra":1}
{"capture":"x.pcap","src":"10.1.0.1","dst":"45.0.0.9","proto":17,"bytes":1,"packets":1,"start":"2026-03-02T00:00:00Z","end":"2026-03-02T00:00:05Z"}
`
	var got []flow.Record
	n, err := ReadRecords("r.jsonl", strings.NewReader(in), 10, func(r *flow.Record) { got = append(got, *r) })
	if n != 2 || len(got) != 2 {
		t.Fatalf("read %d records", n)
	}
	for _, want := range []string{"line 3: dst:", "line 4: no start time", "line 5: json: unknown field"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("err %v lacks %q", err, want)
		}
	}
	if !got[0].Sampled || got[0].SamplingRate != 100 || got[0].Exporter != netip.MustParseAddr("10.9.0.1") || !got[0].End.Equal(got[0].Start) {
		t.Errorf("record 0: %+v", got[0])
	}
	if got[1].Source != "x.pcap" || got[1].Sampled || got[1].End.Sub(got[1].Start).Seconds() != 5 {
		t.Errorf("record 1: %+v", got[1])
	}
	// round trip
	var buf bytes.Buffer
	j := ToJSON(&got[0])
	if j.Exporter != "10.9.0.1" || j.DstPort != 443 {
		t.Errorf("ToJSON %+v", j)
	}
	buf.WriteString("{}\n")
	if _, err := ReadRecords("e", &buf, 1, func(*flow.Record) {}); err == nil || !strings.Contains(err.Error(), "stopped after 1 bad lines") {
		t.Errorf("maxErrors: %v", err)
	}
}

func FuzzParseElements(f *testing.F) {
	f.Add([]byte(testElements))
	f.Add([]byte("address,element,site\n10.0.0.1,e1,A\n10.0.0.0/24,net,B\n::/0,all\n"))
	f.Add([]byte("cidr,id\n\"10.0.0.1\",\"a\"\"b\"\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := ParseElements("fuzz.csv", bytes.NewReader(data), nil)
		if err != nil {
			return
		}
		n, entries := m.Len()
		if n == 0 && entries != 0 || entries < n {
			t.Fatalf("%d elements, %d entries", n, entries)
		}
		for _, el := range m.Elements() {
			if el.ID == "" {
				t.Fatal("empty id")
			}
		}
		m.Lookup(netip.MustParseAddr("10.0.0.1"))
	})
}

func FuzzReadRecords(f *testing.F) {
	f.Add([]byte(`{"exporter":"10.9.0.1","src":"10.1.0.1","dst":"45.0.0.9","proto":6,"bytes":10,"packets":1,"start":"2026-03-02T00:00:00Z"}` + "\n"))
	f.Add([]byte(`{"src":"::1","dst":"::ffff:1.2.3.4","start":"2026-03-02T00:00:00Z","end":"2026-03-01T00:00:00Z"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		em, err := ParseElements("e", strings.NewReader("address,element\n10.1.0.0/16,e\n::/0,v6\n"), nil)
		if err != nil {
			t.Fatal(err)
		}
		p, err := New(Config{Elements: em})
		if err != nil {
			t.Fatal(err)
		}
		_, _ = ReadRecords("fuzz.jsonl", bytes.NewReader(data), 20, func(r *flow.Record) {
			if r.End.Before(r.Start) || r.Start.IsZero() {
				t.Fatalf("bad times %v %v", r.Start, r.End)
			}
			p.Add(r)
		})
		for _, a := range p.Finish() {
			_ = a.Text()
		}
	})
}
