package kafka

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/netvet/netvet/internal/egress/flow"
)

func sampleRecord() flow.Record {
	return flow.Record{Exporter: netip.MustParseAddr("10.9.0.1"), Protocol: flow.ProtoNetFlowV9, ObservationDomain: 7,
		Src: netip.MustParseAddr("10.1.0.1"), Dst: netip.MustParseAddr("2001:db8::9"), SrcPort: 40000, DstPort: 443,
		Proto: 6, TCPFlags: 0x18, Direction: flow.DirectionEgress, Sampled: true, SamplingRate: 100, InIf: 3, OutIf: 4,
		Bytes: 1 << 40, Packets: 12345, Start: t0.Add(1500 * time.Microsecond), End: t0.Add(2 * time.Second),
		TimeSource: flow.TimeUptimeRelative}
}

func TestFlowRoundTrip(t *testing.T) {
	r := sampleRecord()
	b, err := AppendFlow(nil, `el "1"<x>`, &r)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"v":1,"element":"el \"1\"\u003cx\u003e","exporter":"10.9.0.1","protocol":"netflow-v9","obs_domain":7,` +
		`"src":"10.1.0.1","dst":"2001:db8::9","src_port":40000,"dst_port":443,"proto":6,"tcp_flags":24,"direction":2,` +
		`"in_if":3,"out_if":4,"bytes":1099511627776,"packets":12345,"sampled":true,"sampling_rate":100,` +
		`"start_ns":1772409600001500000,"end_ns":1772409602000000000,"time_source":"uptime-relative"}`
	if string(b) != want {
		t.Fatalf("encoding:\n got %s\nwant %s", b, want)
	}
	el, got, err := DecodeFlow(b)
	if err != nil {
		t.Fatal(err)
	}
	if el != `el "1"<x>` || got != r {
		t.Fatalf("round trip: %q %+v, want %+v", el, got, r)
	}
}

func TestFlowEncodeRefuses(t *testing.T) {
	for name, mut := range map[string]func(*flow.Record, *string){
		"no element":   func(_ *flow.Record, e *string) { *e = "" },
		"long element": func(_ *flow.Record, e *string) { *e = strings.Repeat("x", MaxElementID+1) },
		"bad utf8":     func(_ *flow.Record, e *string) { *e = "\xff" },
		"no exporter":  func(r *flow.Record, _ *string) { r.Exporter = netip.Addr{} },
		"no start":     func(r *flow.Record, _ *string) { r.Start = time.Time{} },
		"pcap":         func(r *flow.Record, _ *string) { r.Protocol = flow.ProtoPcap },
		"time source":  func(r *flow.Record, _ *string) { r.TimeSource = "recorded" },
	} {
		r, el := sampleRecord(), "el-1"
		mut(&r, &el)
		if _, err := AppendFlow(nil, el, &r); !errors.Is(err, ErrFlowEncode) {
			t.Errorf("%s: err %v, want ErrFlowEncode", name, err)
		}
	}
}

func TestDecodeFlowRefuses(t *testing.T) {
	r := sampleRecord()
	good, _ := AppendFlow(nil, "el-1", &r)
	sub := func(old, new string) string { return strings.Replace(string(good), old, new, 1) }
	for _, c := range []struct {
		name, in string
		reason   Reason
	}{
		{"empty", "", ReasonSize},
		{"huge", string(good) + strings.Repeat(" ", MaxFlowMessage), ReasonSize},
		{"not json", "{", ReasonMalformed},
		{"array", "[]", ReasonMalformed},
		{"trailing", string(good) + "{}", ReasonMalformed},
		{"unknown field", sub(`"v":1`, `"v":1,"x":1`), ReasonMalformed},
		{"version", sub(`"v":1`, `"v":2`), ReasonVersion},
		{"no version", sub(`"v":1,`, ``), ReasonVersion},
		{"empty object", "{}", ReasonVersion},
		{"missing field", sub(`,"tcp_flags":24`, ``), ReasonMalformed},
		{"twice", sub(`"proto":6`, `"proto":6,"proto":6`), ReasonMalformed},
		{"null", sub(`"proto":6`, `"proto":null`), ReasonMalformed},
		{"nested", sub(`"proto":6`, `"proto":{"a":1}`), ReasonMalformed},
		{"string for number", sub(`"proto":6`, `"proto":"6"`), ReasonMalformed},
		{"number for string", sub(`"src":"10.1.0.1"`, `"src":1`), ReasonMalformed},
		{"leading zero", sub(`"proto":6`, `"proto":06`), ReasonMalformed},
		{"exponent", sub(`"proto":6`, `"proto":6e0`), ReasonMalformed},
		{"bad escape", sub(`"element":"el-1"`, `"element":"el\x"`), ReasonMalformed},
		{"lone surrogate", sub(`"element":"el-1"`, `"element":"\ud800"`), ReasonMalformed},
		{"control char", sub(`"element":"el-1"`, "\"element\":\"el\x01\""), ReasonMalformed},
		{"not utf8", sub(`"element":"el-1"`, "\"element\":\"el\xff\""), ReasonMalformed},
		{"unterminated", string(good[:len(good)-1]), ReasonMalformed},
		{"case", sub(`"proto":6`, `"PROTO":6`), ReasonMalformed},
		{"empty element", sub(`"element":"el-1"`, `"element":""`), ReasonMalformed},
		{"protocol", sub(`netflow-v9`, `pcap`), ReasonMalformed},
		{"time source", sub(`uptime-relative`, `recorded`), ReasonMalformed},
		{"src", sub(`"src":"10.1.0.1"`, `"src":"10.1.0"`), ReasonMalformed},
		{"mapped", sub(`"src":"10.1.0.1"`, `"src":"::ffff:10.1.0.1"`), ReasonMalformed},
		{"zone", sub(`"dst":"2001:db8::9"`, `"dst":"fe80::1%eth0"`), ReasonMalformed},
		{"port range", sub(`"src_port":40000`, `"src_port":70000`), ReasonMalformed},
		{"negative", sub(`"bytes":1099511627776`, `"bytes":-1`), ReasonMalformed},
		{"float", sub(`"proto":6`, `"proto":6.5`), ReasonMalformed},
		{"direction", sub(`"direction":2`, `"direction":3`), ReasonMalformed},
		{"rate 0", sub(`"sampling_rate":100`, `"sampling_rate":0`), ReasonMalformed},
		{"start 0", sub(`"start_ns":1772409600001500000`, `"start_ns":0`), ReasonMalformed},
		{"end before start", sub(`"end_ns":1772409602000000000`, `"end_ns":1`), ReasonMalformed},
	} {
		_, _, err := DecodeFlow([]byte(c.in))
		var fe *FlowError
		if !errors.As(err, &fe) || fe.Reason != c.reason {
			t.Errorf("%s: err %v, want reason %s", c.name, err, c.reason)
		}
	}
}

func TestParseRaw(t *testing.T) {
	e := netip.MustParseAddr("10.9.0.1")
	e6 := netip.MustParseAddr("2001:db8::1")
	pkt := []byte{0, 9, 0, 0}
	r, err := ParseRaw(e.AsSlice(), RawHeaders(e, t0), pkt)
	if err != nil || r.Exporter != e || !r.Recv.Equal(t0) {
		t.Fatalf("ParseRaw = %+v, %v", r, err)
	}
	if r, err := ParseRaw(e6.AsSlice(), RawHeaders(e6, t0), pkt); err != nil || r.Exporter != e6 {
		t.Fatalf("IPv6 exporter: %+v, %v", r, err)
	}
	mapped := netip.AddrFrom16(e.As16())
	extra := append(RawHeaders(e, t0), kgo.RecordHeader{Key: "traceparent", Value: []byte("x")})
	if _, err := ParseRaw(e.AsSlice(), extra, pkt); err != nil {
		t.Errorf("a foreign header must be ignored: %v", err)
	}
	set := func(i int, v []byte) []kgo.RecordHeader { h := RawHeaders(e, t0); h[i].Value = v; return h }
	many := RawHeaders(e, t0)
	for len(many) <= MaxRawHeaders {
		many = append(many, kgo.RecordHeader{Key: "x"})
	}
	for _, c := range []struct {
		name    string
		key     []byte
		headers []kgo.RecordHeader
		value   []byte
		reason  Reason
	}{
		{"short", e.AsSlice(), RawHeaders(e, t0), pkt[:3], ReasonSize},
		{"long", e.AsSlice(), RawHeaders(e, t0), make([]byte, flow.MaxDatagram+1), ReasonSize},
		{"none", e.AsSlice(), nil, pkt, ReasonHeaders},
		{"too many", e.AsSlice(), many, pkt, ReasonHeaders},
		{"twice", e.AsSlice(), append(RawHeaders(e, t0), RawHeaders(e, t0)[2]), pkt, ReasonHeaders},
		{"unknown netvet header", e.AsSlice(), append(RawHeaders(e, t0), kgo.RecordHeader{Key: "netvet-x"}), pkt, ReasonHeaders},
		{"version size", e.AsSlice(), set(0, []byte{1, 0}), pkt, ReasonHeaders},
		{"version", e.AsSlice(), set(0, []byte{9}), pkt, ReasonVersion},
		{"exporter size", e.AsSlice(), set(1, []byte{1, 2, 3}), pkt, ReasonExporter},
		{"key", []byte{10, 9, 0, 2}, RawHeaders(e, t0), pkt, ReasonExporter},
		{"no key", nil, RawHeaders(e, t0), pkt, ReasonExporter},
		{"mapped", mapped.AsSlice(), set(1, mapped.AsSlice()), pkt, ReasonExporter},
		{"unspecified", make([]byte, 4), set(1, make([]byte, 4)), pkt, ReasonExporter},
		{"recv size", e.AsSlice(), set(2, []byte{1}), pkt, ReasonHeaders},
		{"recv zero", e.AsSlice(), set(2, make([]byte, 8)), pkt, ReasonRecvTime},
		{"recv negative", e.AsSlice(), set(2, bytes.Repeat([]byte{0xff}, 8)), pkt, ReasonRecvTime},
	} {
		_, err := ParseRaw(c.key, c.headers, c.value)
		var re *RawError
		if !errors.As(err, &re) || re.Reason != c.reason {
			t.Errorf("%s: err %v, want reason %s", c.name, err, c.reason)
		}
	}
}

func TestDecodeFlowAcceptsJSON(t *testing.T) {
	r := sampleRecord()
	good, _ := AppendFlow(nil, "el-1", &r)
	// reorder, whitespace and escapes: still the same record
	var m map[string]json.RawMessage
	if err := json.Unmarshal(good, &m); err != nil {
		t.Fatal(err)
	}
	m["element"] = json.RawMessage(`"\u0065l-\u0031"`)
	re, _ := json.MarshalIndent(m, "", "\t") // keys sorted: another order
	el, got, err := DecodeFlow(re)
	if err != nil || el != "el-1" || got != r {
		t.Fatalf("reordered object: %v %q %+v", err, el, got)
	}
	emoji := sampleRecord()
	b, _ := AppendFlow(nil, "gnb-😀", &emoji)
	if el, _, err := DecodeFlow([]byte(strings.Replace(string(b), "gnb-😀", `gnb-\ud83d\ude00`, 1))); err != nil || el != "gnb-😀" {
		t.Fatalf("surrogate pair: %v %q", err, el)
	}
}

func FuzzDecodeFlow(f *testing.F) {
	r := sampleRecord()
	good, _ := AppendFlow(nil, "el-1", &r)
	f.Add(good)
	f.Add([]byte(`{"v":1}`))
	f.Add([]byte(`{"v":1,"element":"x","exporter":"::1","protocol":"ipfix","src":"1.2.3.4","dst":"::","sampling_rate":1,"start_ns":1000000000000000000,"end_ns":1000000000000000000,"time_source":"absolute-ns"}`))
	f.Add([]byte(`{"v":1,"element":"\ud83d\ude00\n","exporter":"::1","protocol":"ipfix","obs_domain":0,"src":"1.2.3.4","dst":"::","src_port":0,"dst_port":0,"proto":0,"tcp_flags":0,"direction":0,"in_if":0,"out_if":0,"bytes":0,"packets":0,"sampled":false,"sampling_rate":1,"start_ns":1000000000000000000,"end_ns":1000000000000000000,"time_source":"absolute-ns"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		// whatever the scanner accepts, encoding/json reads the same way
		var m1 FlowMessage
		if len(b) <= MaxFlowMessage && parseFlowJSON(b, &m1) == nil {
			var m2 FlowMessage
			dec := json.NewDecoder(bytes.NewReader(b))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&m2); err != nil || m1 != m2 {
				t.Fatalf("scanner and encoding/json disagree: %v\n%+v\n%+v", err, m1, m2)
			}
		}
		el, rec, err := DecodeFlow(b)
		if err != nil {
			var fe *FlowError
			if !errors.As(err, &fe) {
				t.Fatalf("error without a reason: %v", err)
			}
			return
		}
		// whatever decodes must encode and decode to the same record
		out, err := AppendFlow(nil, el, &rec)
		if err != nil {
			t.Fatalf("decoded record does not encode: %v (%+v)", err, rec)
		}
		el2, rec2, err := DecodeFlow(out)
		if err != nil || el2 != el || rec2 != rec {
			t.Fatalf("re-encoding changed the record: %v\n%+v\n%+v", err, rec, rec2)
		}
	})
}

func FuzzParseRaw(f *testing.F) {
	e := netip.MustParseAddr("10.9.0.1")
	h := RawHeaders(e, t0)
	f.Add(e.AsSlice(), h[0].Value, h[1].Value, h[2].Value, []byte("extra"), []byte{0, 9, 0, 0}, uint8(0))
	f.Add([]byte{}, []byte{}, []byte{}, []byte{}, []byte{}, []byte{}, uint8(0xff))
	f.Fuzz(func(t *testing.T, key, ver, exp, recv, extra, value []byte, layout uint8) {
		// layout bits choose which headers are present, repeated or foreign
		var hs []kgo.RecordHeader
		for i, kv := range []kgo.RecordHeader{{Key: HeaderVersion, Value: ver}, {Key: HeaderExporter, Value: exp}, {Key: HeaderRecv, Value: recv}} {
			if layout&(1<<i) == 0 {
				hs = append(hs, kv)
			}
			if layout&(8<<i) != 0 {
				hs = append(hs, kv)
			}
		}
		if layout&64 != 0 {
			hs = append(hs, kgo.RecordHeader{Key: "netvet-" + string(extra), Value: extra})
		}
		if layout&128 != 0 {
			hs = append(hs, kgo.RecordHeader{Key: string(extra), Value: extra})
		}
		r, err := ParseRaw(key, hs, value)
		if err != nil {
			var re *RawError
			if !errors.As(err, &re) || re.Reason < 0 || re.Reason >= numReasons {
				t.Fatalf("error without a reason: %v", err)
			}
			return
		}
		if !r.Exporter.IsValid() || !bytes.Equal(r.Exporter.AsSlice(), key) || r.Recv.Before(minRecv) || !r.Recv.Before(maxRecv) {
			t.Fatalf("accepted a bad record: %+v", r)
		}
		if len(value) < MinDatagram || len(value) > flow.MaxDatagram {
			t.Fatalf("accepted a %d-byte datagram", len(value))
		}
	})
}

func BenchmarkFlowCodec(b *testing.B) {
	r := sampleRecord()
	buf, _ := AppendFlow(nil, "gnb-000123", &r)
	b.Run("encode", func(b *testing.B) {
		b.ReportAllocs()
		var out []byte
		for b.Loop() {
			out, _ = AppendFlow(out[:0], "gnb-000123", &r)
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
	})
	b.Run("decode", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, _, err := DecodeFlow(buf); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
	})
	b.Run("parse-raw", func(b *testing.B) {
		e := netip.MustParseAddr("10.9.0.1")
		h, key, pkt := RawHeaders(e, t0), e.AsSlice(), make([]byte, 1400)
		for b.Loop() {
			if _, err := ParseRaw(key, h, pkt); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
	})
}
