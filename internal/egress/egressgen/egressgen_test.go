package egressgen

import (
	"bytes"
	"context"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/netvet/netvet/internal/egress"
	"github.com/netvet/netvet/internal/egress/allow"
	"github.com/netvet/netvet/internal/egress/flow"
	"github.com/netvet/netvet/internal/egress/ipinfo"
)

const inventoryPath = "../../../examples/exposure/operator.csv"

func inventory(t testing.TB) []Element {
	t.Helper()
	f, err := os.Open(inventoryPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	inv, err := ReadInventory(inventoryPath, f)
	if err != nil {
		t.Fatal(err)
	}
	return inv
}

func TestPickSpreads(t *testing.T) {
	inv := inventory(t)
	for _, n := range []int{24, 100} {
		got := Pick(inv, n, 6)
		if len(got) != n {
			t.Fatalf("picked %d, want %d", len(got), n)
		}
		funcs, fams, sites, ids := map[string]int{}, map[string]bool{}, map[string]bool{}, map[string]bool{}
		for _, e := range got {
			funcs[e.Function]++
			fams[Family(e.Vendor)] = true
			sites[e.Site] = true
			if ids[e.ID] {
				t.Errorf("%s picked twice", e.ID)
			}
			ids[e.ID] = true
		}
		if len(funcs) < n/5 || len(fams) < 5 || len(sites) < n/2 {
			t.Errorf("n=%d: %d functions, %d vendor families, %d sites", n, len(funcs), len(fams), len(sites))
		}
		for f, c := range funcs {
			if c > n/5 {
				t.Errorf("n=%d: %d elements of function %s", n, c, f)
			}
		}
		if again := Pick(inv, n, 6); !equal(got, again) {
			t.Errorf("n=%d: Pick is not deterministic", n)
		}
	}
}

func equal(a, b []Element) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestReadInventoryErrors(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"", "header"},
		{"id,vendor\nx,y\n", `no "function" column`},
		{"id,vendor,function,domain,site\n", "no elements"},
		{"id,vendor,function,domain,site\n,acme,gnb,ran,S1\n", "line 2: empty id"},
		{"id,vendor,function,domain,site\n\"x,acme\n", "inv.csv"},
	} {
		_, err := ReadInventory("inv.csv", strings.NewReader(c.in))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: error %v, want %q", c.in, err, c.want)
		}
	}
}

func FuzzReadInventory(f *testing.F) {
	f.Add([]byte("id,vendor,function,domain,site\nenb-1,Ericsson AB,enb,ran,LDN-1\n"))
	f.Add([]byte("site,domain,function,vendor,id,extra\nS,d,f,v,i,x\nS,d\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		inv, err := ReadInventory("fuzz.csv", bytes.NewReader(b))
		if err != nil {
			return
		}
		for _, e := range inv {
			if e.ID == "" {
				t.Fatal("element without id")
			}
		}
		_ = Pick(inv, 10, 1)
	})
}

func TestFilesLoad(t *testing.T) {
	m, err := New(Config{Seed: 1, Days: 2, Elements: Pick(inventory(t), 30, 1)})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := m.WriteFiles(dir); err != nil {
		t.Fatal(err)
	}
	em, err := egress.LoadElements(filepath.Join(dir, ElementsFile), nil)
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := em.Len(); n != 30 {
		t.Errorf("%d elements in the map", n)
	}
	pol, err := allow.Load(filepath.Join(dir, AllowFile))
	if err != nil {
		t.Fatal(err)
	}
	db := ipinfo.New(ipinfo.Limits{})
	st, err := db.LoadFile(context.Background(), filepath.Join(dir, IPTableFile))
	if err != nil || st.Errors > 0 || st.Lines != 14 {
		t.Fatalf("ip table: %v, %+v", err, st)
	}
	for _, pl := range m.Planted() {
		if pl.Kind == HardNegative || pl.Dst.IsPrivate() {
			continue
		}
		r := db.Lookup(pl.Dst)
		if r.Class != ipinfo.Public || r.ASN < 64512 || r.ASN > 65534 || r.Country == "" {
			t.Errorf("%s: %s looks up as %+v", pl.Kind, pl.Dst, r)
		}
	}
	// Every normal destination is allowed for the element that uses it,
	// and every planted foreign one is not.
	pol.SetGeo(db)
	planted := map[netip.Addr]string{}
	for _, pl := range m.Planted() {
		planted[pl.Addr] = pl.Kind
	}
	denied := map[string]int{}
	m.Run(func(r *flow.Record) {
		el, ok := em.Lookup(r.Src)
		if !ok {
			t.Fatalf("record from %s, not an element", r.Src)
		}
		d := pol.ForElement(allow.Element{ID: el.ID, Vendor: el.Vendor, Function: el.Function, Domain: el.Domain}).Evaluate(r.Dst, r.DstPort, r.Proto)
		if !d.Allowed {
			denied[planted[r.Src]]++
		}
	})
	if denied[""] != 0 || denied[HardNegative] != 0 || denied[Beacon] == 0 || denied[DailyUpload] == 0 {
		t.Errorf("records denied by kind: %v", denied)
	}
}

func TestRunOrderedAndBounded(t *testing.T) {
	m, err := New(Config{Seed: 3, Days: 9, Elements: Pick(inventory(t), 20, 3)})
	if err != nil {
		t.Fatal(err)
	}
	var last time.Time
	n := 0
	m.Run(func(r *flow.Record) {
		if r.Start.Before(last) {
			t.Fatalf("record at %s after %s", r.Start, last)
		}
		last = r.Start
		if r.Start.Before(m.Start()) || !r.Start.Before(m.End()) || r.End.Before(r.Start) || r.End.Sub(r.Start) > 30*time.Minute {
			t.Fatalf("record %+v outside the period or longer than the active timeout", r)
		}
		if r.Bytes == 0 || r.Packets == 0 || r.Exporter != DefaultExporter {
			t.Fatalf("record %+v", r)
		}
		n++
	})
	if n == 0 {
		t.Fatal("no records")
	}
}

func TestConfigErrors(t *testing.T) {
	few := []Element{{ID: "a"}, {ID: "b"}}
	var twenty []Element
	for i := range 20 {
		twenty = append(twenty, Element{ID: fmt.Sprintf("el-%d", i)})
	}
	if _, err := New(Config{Elements: twenty, Days: 2}); err != nil {
		t.Fatalf("twenty elements: %v", err)
	}
	for _, c := range []Config{
		{},
		{Elements: few},
		{Elements: twenty, Days: 400},
		{Elements: twenty, Plant: []string{"exfil"}},
		{Elements: twenty, Plant: []string{Beacon, Beacon}},
		{Elements: append(twenty[:19:19], twenty[0])},
		{Elements: make([]Element, 20)},
		{Elements: twenty, BeaconJitter: time.Minute},
	} {
		if _, err := New(c); err == nil {
			t.Errorf("New(%+v) accepted", c)
		}
	}
}

func BenchmarkGenerateMonth(b *testing.B) {
	els := Pick(inventory(b), 100, 6)
	for b.Loop() {
		m, err := New(Config{Seed: 6, Elements: els})
		if err != nil {
			b.Fatal(err)
		}
		n := m.Run(func(*flow.Record) {})
		b.ReportMetric(float64(n), "records")
	}
}

func TestRunRepeatable(t *testing.T) {
	m, err := New(Config{Seed: 4, Days: 3, Elements: Pick(inventory(t), 15, 4)})
	if err != nil {
		t.Fatal(err)
	}
	var first []flow.Record
	m.Run(func(r *flow.Record) { first = append(first, *r) })
	i := 0
	n := m.Run(func(r *flow.Record) {
		if i >= len(first) || *r != first[i] {
			t.Fatalf("second run differs at record %d", i)
		}
		i++
	})
	if n != len(first) || n == 0 {
		t.Errorf("second run: %d records, first %d", n, len(first))
	}
}
