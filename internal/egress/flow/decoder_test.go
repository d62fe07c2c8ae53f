package flow

import (
	"encoding/binary"
	"errors"
	"net/netip"
	"testing"
	"time"

	"github.com/netvet/netvet/internal/egress/flow/flowtest"
)

var (
	exporter = netip.MustParseAddr("192.0.2.10")
	boot     = time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	export   = time.Date(2026, 3, 9, 12, 30, 0, 0, time.UTC)
)

func newTestDecoder(t testing.TB) *Decoder {
	t.Helper()
	d, err := NewDecoder(Config{Exporters: []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24"), netip.MustParsePrefix("2001:db8::/32")}})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func testFlows(v6 bool, n int) []flowtest.Flow {
	var fs []flowtest.Flow
	for i := 0; i < n; i++ {
		src, dst := netip.AddrFrom4([4]byte{10, 0, 0, byte(i + 1)}), netip.MustParseAddr("198.51.100.7")
		if v6 {
			src = netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 15: byte(i + 1)})
			dst = netip.MustParseAddr("2001:db8:ffff::53")
		}
		start := export.Add(-time.Duration(90+i) * time.Second).Add(123 * time.Millisecond)
		fs = append(fs, flowtest.Flow{
			Src: src, Dst: dst, SrcPort: uint16(40000 + i), DstPort: 443, Proto: 6, TCPFlags: 0x1b,
			In: 3, Out: 7, Bytes: uint64(1000 + i), Packets: uint64(10 + i),
			Start: start, End: start.Add(61*time.Second + 250*time.Millisecond),
		})
	}
	return fs
}

func checkRecords(t *testing.T, got []Record, want []flowtest.Flow, src TimeSource, rate uint32, prec time.Duration) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d records, want %d", len(got), len(want))
	}
	for i, w := range want {
		g := got[i]
		if g.Src != w.Src || g.Dst != w.Dst || g.SrcPort != w.SrcPort || g.DstPort != w.DstPort || g.Proto != w.Proto {
			t.Errorf("record %d: got %s:%d -> %s:%d/%d, want %s:%d -> %s:%d/%d", i, g.Src, g.SrcPort, g.Dst, g.DstPort, g.Proto, w.Src, w.SrcPort, w.Dst, w.DstPort, w.Proto)
		}
		if g.Bytes != w.Bytes*uint64(rate) || g.Packets != w.Packets*uint64(rate) {
			t.Errorf("record %d: bytes/packets %d/%d, want %d/%d", i, g.Bytes, g.Packets, w.Bytes*uint64(rate), w.Packets*uint64(rate))
		}
		if g.TimeSource != src {
			t.Errorf("record %d: time source %q, want %q", i, g.TimeSource, src)
		}
		if d := g.Start.Sub(w.Start.Truncate(prec)); d != 0 {
			t.Errorf("record %d: start %s, want %s", i, g.Start.Format(time.RFC3339Nano), w.Start.Truncate(prec).Format(time.RFC3339Nano))
		}
		if d := g.End.Sub(w.End.Truncate(prec)); d != 0 {
			t.Errorf("record %d: end %s, want %s", i, g.End.Format(time.RFC3339Nano), w.End.Truncate(prec).Format(time.RFC3339Nano))
		}
		if g.Start.Location() != time.UTC {
			t.Errorf("record %d: start not UTC", i)
		}
		if g.SamplingRate != rate || g.Sampled != (rate > 1) {
			t.Errorf("record %d: sampling %d/%v, want %d", i, g.SamplingRate, g.Sampled, rate)
		}
		if g.InIf != w.In || g.OutIf != w.Out || g.TCPFlags != w.TCPFlags {
			t.Errorf("record %d: if %d/%d flags %#x, want %d/%d %#x", i, g.InIf, g.OutIf, g.TCPFlags, w.In, w.Out, w.TCPFlags)
		}
		if g.Exporter != exporter {
			t.Errorf("record %d: exporter %s", i, g.Exporter)
		}
	}
}

func TestNetFlowV5(t *testing.T) {
	for _, tc := range []struct {
		name     string
		sampling uint16
		rate     uint32
	}{
		{"unsampled", 0, 1},
		{"sampled-1-in-100", 1<<14 | 100, 100},
		{"interval-without-mode", 100, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := newTestDecoder(t)
			fs := testFlows(false, 30)
			got, err := d.Decode(exporter, flowtest.V5(boot, export, tc.sampling, fs), export.Add(time.Second), nil)
			if err != nil {
				t.Fatal(err)
			}
			checkRecords(t, got, fs, TimeUptimeRelative, tc.rate, time.Millisecond)
			if got[0].Protocol != ProtoNetFlowV5 {
				t.Errorf("protocol %q", got[0].Protocol)
			}
		})
	}
}

// TestV5UptimeWrap: the 32-bit uptime counter wrapped between a flow's start
// and the export.
func TestV5UptimeWrap(t *testing.T) {
	d := newTestDecoder(t)
	b := flowtest.V5(boot, export, 0, testFlows(false, 1))
	// export at uptime 1000 ms after a wrap; flow started 5000 ms before.
	binary.BigEndian.PutUint32(b[4:], 1000)
	binary.BigEndian.PutUint32(b[24+24:], uint32(1000-5000+(1<<32)))
	binary.BigEndian.PutUint32(b[24+28:], 1000)
	got, err := d.Decode(exporter, b, export, nil)
	if err != nil {
		t.Fatal(err)
	}
	if want := export.Add(-5 * time.Second); !got[0].Start.Equal(want) || !got[0].End.Equal(export) {
		t.Errorf("start/end %s/%s, want %s/%s", got[0].Start, got[0].End, want, export)
	}
}

var timeModes = []struct {
	mode flowtest.TimeMode
	src  TimeSource
	prec time.Duration
}{
	{flowtest.TimeUptime, TimeUptimeRelative, time.Millisecond},
	{flowtest.TimeSeconds, TimeAbsoluteSeconds, time.Second},
	{flowtest.TimeMillis, TimeAbsoluteMs, time.Millisecond},
	{flowtest.TimeMicros, TimeAbsoluteUs, time.Microsecond},
	{flowtest.TimeNanos, TimeAbsoluteNs, time.Nanosecond},
	{flowtest.TimeStartDurMs, TimeStartDuration, time.Millisecond},
}

func records(mode flowtest.TimeMode, v6 bool, fs []flowtest.Flow) [][]byte {
	var rs [][]byte
	for _, f := range fs {
		rs = append(rs, flowtest.Record(mode, v6, f, boot))
	}
	return rs
}

func TestNetFlowV9TimeModes(t *testing.T) {
	for _, tm := range timeModes {
		for _, v6 := range []bool{false, true} {
			t.Run(string(tm.src)+map[bool]string{false: "/v4", true: "/v6"}[v6], func(t *testing.T) {
				d := newTestDecoder(t)
				fs := testFlows(v6, 5)
				pkt := flowtest.NewV9(boot, export, 1, 42).
					Template(300, flowtest.Fields(tm.mode, v6)).
					Data(300, records(tm.mode, v6, fs)...).Bytes()
				got, err := d.Decode(exporter, pkt, export, nil)
				if err != nil {
					t.Fatal(err)
				}
				checkRecords(t, got, fs, tm.src, 1, tm.prec)
				if got[0].ObservationDomain != 42 || got[0].Protocol != ProtoNetFlowV9 {
					t.Errorf("domain %d protocol %q", got[0].ObservationDomain, got[0].Protocol)
				}
			})
		}
	}
}

func TestIPFIXTimeModes(t *testing.T) {
	sysInit := flowtest.Field{Type: 160, Length: 8}
	for _, tm := range timeModes {
		for _, v6 := range []bool{false, true} {
			t.Run(string(tm.src)+map[bool]string{false: "/v4", true: "/v6"}[v6], func(t *testing.T) {
				d := newTestDecoder(t)
				fs := testFlows(v6, 5)
				m := flowtest.NewIPFIX(export, 1, 7)
				if tm.mode == flowtest.TimeUptime {
					// softflowd style: IE 160 in an options record of the same message
					m.OptionsTemplate(400, []flowtest.Field{{Type: 149, Length: 4}}, []flowtest.Field{sysInit})
					m.Data(400, binary.BigEndian.AppendUint64(binary.BigEndian.AppendUint32(nil, 7), uint64(boot.UnixMilli())))
				}
				pkt := m.Template(300, flowtest.Fields(tm.mode, v6)).Data(300, records(tm.mode, v6, fs)...).Bytes()
				got, err := d.Decode(exporter, pkt, export, nil)
				if err != nil {
					t.Fatal(err)
				}
				checkRecords(t, got, fs, tm.src, 1, tm.prec)
			})
		}
	}
}

// TestIPFIXUptimeWithoutInit: IEs 21/22 with no IE 160 known fall back to
// the export time, marked so.
func TestIPFIXUptimeWithoutInit(t *testing.T) {
	d := newTestDecoder(t)
	fs := testFlows(false, 2)
	pkt := flowtest.NewIPFIX(export, 1, 7).Template(300, flowtest.Fields(flowtest.TimeUptime, false)).
		Data(300, records(flowtest.TimeUptime, false, fs)...).Bytes()
	got, err := d.Decode(exporter, pkt, export, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range got {
		if r.TimeSource != TimeExportFallback || !r.Start.Equal(export) || !r.End.Equal(export) {
			t.Errorf("got %s %s %s, want export-time fallback at %s", r.TimeSource, r.Start, r.End, export)
		}
	}
	// Once IE 160 arrives in a later message, the same template gives real times.
	init := flowtest.NewIPFIX(export, 2, 7).
		OptionsTemplate(400, []flowtest.Field{{Type: 149, Length: 4}}, []flowtest.Field{{Type: 160, Length: 8}}).
		Data(400, binary.BigEndian.AppendUint64(binary.BigEndian.AppendUint32(nil, 7), uint64(boot.UnixMilli()))).Bytes()
	if _, err := d.Decode(exporter, init, export, nil); err != nil {
		t.Fatal(err)
	}
	data := flowtest.NewIPFIX(export, 3, 7).Data(300, records(flowtest.TimeUptime, false, fs)...).Bytes()
	got, err = d.Decode(exporter, data, export, nil)
	if err != nil {
		t.Fatal(err)
	}
	checkRecords(t, got, fs, TimeUptimeRelative, 1, time.Millisecond)
}

func TestNoTimeFieldsFallback(t *testing.T) {
	d := newTestDecoder(t)
	fs := testFlows(false, 1)
	pkt := flowtest.NewV9(boot, export, 1, 1).Template(300, flowtest.Fields(flowtest.TimeNone, false)).
		Data(300, records(flowtest.TimeNone, false, fs)...).Bytes()
	got, err := d.Decode(exporter, pkt, export, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got[0].TimeSource != TimeExportFallback || !got[0].Start.Equal(export) {
		t.Errorf("got %s %s", got[0].TimeSource, got[0].Start)
	}
}

func TestSamplingSources(t *testing.T) {
	be := binary.BigEndian
	fs := testFlows(false, 2)
	withField := func(f flowtest.Field, v []byte) ([]flowtest.Field, [][]byte) {
		fields := append(flowtest.Fields(flowtest.TimeMillis, false), f)
		var rs [][]byte
		for _, r := range records(flowtest.TimeMillis, false, fs) {
			rs = append(rs, append(r, v...))
		}
		return fields, rs
	}
	for _, tc := range []struct {
		name string
		pkt  func() []byte
		rate uint32
	}{
		{"ie34-in-record", func() []byte {
			fields, rs := withField(flowtest.Field{Type: 34, Length: 4}, be.AppendUint32(nil, 512))
			return flowtest.NewIPFIX(export, 1, 7).Template(300, fields).Data(300, rs...).Bytes()
		}, 512},
		{"ie305-306-in-record", func() []byte {
			fields := append(flowtest.Fields(flowtest.TimeMillis, false), flowtest.Field{Type: 305, Length: 4}, flowtest.Field{Type: 306, Length: 4})
			var rs [][]byte
			for _, r := range records(flowtest.TimeMillis, false, fs) {
				rs = append(rs, be.AppendUint32(be.AppendUint32(r, 1), 999))
			}
			return flowtest.NewIPFIX(export, 1, 7).Template(300, fields).Data(300, rs...).Bytes()
		}, 1000},
		{"v9-options-sampler-random-interval", func() []byte {
			// scope: system (type 1, 4 bytes); options: sampler id 48, IE 50
			fields, rs := withField(flowtest.Field{Type: 48, Length: 1}, []byte{3})
			opt := be.AppendUint32(nil, 0)
			opt = append(opt, 3)
			opt = be.AppendUint32(opt, 64)
			return flowtest.NewV9(boot, export, 1, 9).
				OptionsTemplate(260, []flowtest.Field{{Type: 1, Length: 4}}, []flowtest.Field{{Type: 48, Length: 1}, {Type: 50, Length: 4}}).
				Data(260, opt).Template(300, fields).Data(300, rs...).Bytes()
		}, 64},
		{"ipfix-options-domain-rate", func() []byte {
			opt := be.AppendUint32(nil, 7)
			opt = be.AppendUint32(opt, 256)
			return flowtest.NewIPFIX(export, 1, 7).
				OptionsTemplate(260, []flowtest.Field{{Type: 149, Length: 4}}, []flowtest.Field{{Type: 34, Length: 4}}).
				Data(260, opt).Template(300, flowtest.Fields(flowtest.TimeMillis, false)).
				Data(300, records(flowtest.TimeMillis, false, fs)...).Bytes()
		}, 256},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := newTestDecoder(t)
			got, err := d.Decode(exporter, tc.pkt(), export, nil)
			if err != nil {
				t.Fatal(err)
			}
			checkRecords(t, got, fs, TimeAbsoluteMs, tc.rate, time.Millisecond)
		})
	}
}

func TestSFlow(t *testing.T) {
	for _, tc := range []struct {
		name     string
		v6       bool
		expanded bool
	}{{"v4", false, false}, {"v6-expanded", true, true}} {
		t.Run(tc.name, func(t *testing.T) {
			d := newTestDecoder(t)
			fs := testFlows(tc.v6, 3)
			var samples []flowtest.SFlowSample
			for i, f := range fs {
				fr := flowtest.Frame(netip.AddrPortFrom(f.Src, f.SrcPort), netip.AddrPortFrom(f.Dst, f.DstPort), 6, 0x1b, make([]byte, 200+i))
				samples = append(samples, flowtest.SFlowSample{Rate: 2000, Input: 3, Output: 7, Frame: fr, FrameLength: uint32(len(fr) + 4), Expanded: tc.expanded})
			}
			recv := export.Add(1500 * time.Millisecond)
			got, err := d.Decode(exporter, flowtest.SFlow(exporter, 1234, 1, samples), recv, nil)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != 3 {
				t.Fatalf("%d records", len(got))
			}
			for i, r := range got {
				f := fs[i]
				ipLen := uint64(200 + i + 20 + 20)
				if tc.v6 {
					ipLen = uint64(200 + i + 20 + 40)
				}
				if r.Src != f.Src || r.Dst != f.Dst || r.SrcPort != f.SrcPort || r.DstPort != f.DstPort || r.Proto != 6 || r.TCPFlags != 0x1b {
					t.Errorf("record %d: %+v", i, r)
				}
				if r.Bytes != ipLen*2000 || r.Packets != 2000 || !r.Sampled || r.SamplingRate != 2000 {
					t.Errorf("record %d: bytes %d packets %d rate %d, want %d", i, r.Bytes, r.Packets, r.SamplingRate, ipLen*2000)
				}
				if r.TimeSource != TimeSFlowReceive || !r.Start.Equal(recv) || r.InIf != 3 || r.OutIf != 7 {
					t.Errorf("record %d: %s %s if %d/%d", i, r.TimeSource, r.Start, r.InIf, r.OutIf)
				}
			}
		})
	}
}

func TestHostile(t *testing.T) {
	fs := testFlows(false, 2)
	v9 := flowtest.NewV9(boot, export, 1, 1).Template(300, flowtest.Fields(flowtest.TimeMillis, false)).
		Data(300, records(flowtest.TimeMillis, false, fs)...).Bytes()
	for _, tc := range []struct {
		name    string
		from    netip.Addr
		pkt     []byte
		err     error
		counter func(*Stats) uint64
	}{
		{"unknown-exporter", netip.MustParseAddr("203.0.113.9"), v9, ErrUnknownExporter, func(s *Stats) uint64 { return s.DropUnknownExporter.Load() }},
		{"truncated-v5", exporter, flowtest.V5(boot, export, 0, fs)[:70], ErrMalformed, func(s *Stats) uint64 { return s.DropMalformed.Load() }},
		{"v5-count-65535", exporter, func() []byte {
			b := flowtest.V5(boot, export, 0, fs)
			binary.BigEndian.PutUint16(b[2:], 0xffff)
			return b
		}(), ErrMalformed, func(s *Stats) uint64 { return s.DropMalformed.Load() }},
		{"v9-set-length-beyond-datagram", exporter, func() []byte {
			b := append([]byte(nil), v9...)
			binary.BigEndian.PutUint16(b[22:], 60000)
			return b
		}(), ErrMalformed, func(s *Stats) uint64 { return s.DropMalformed.Load() }},
		{"v9-template-field-count-65535", exporter, func() []byte {
			b := append([]byte(nil), v9...)
			binary.BigEndian.PutUint16(b[26:], 0xffff)
			return b
		}(), ErrMalformed, func(s *Stats) uint64 { return s.DropMalformed.Load() }},
		{"ipfix-length-beyond-datagram", exporter, func() []byte {
			b := flowtest.NewIPFIX(export, 1, 1).Template(300, flowtest.Fields(flowtest.TimeMillis, false)).Bytes()
			binary.BigEndian.PutUint16(b[2:], 9000)
			return b
		}(), ErrMalformed, func(s *Stats) uint64 { return s.DropMalformed.Load() }},
		{"data-before-template", exporter, flowtest.NewV9(boot, export, 1, 1).Data(300, records(flowtest.TimeMillis, false, fs)...).Bytes(),
			ErrTemplateMissing, func(s *Stats) uint64 { return s.TemplateMisses.Load() }},
		{"zero-length-template-then-data", exporter, flowtest.NewIPFIX(export, 1, 1).Template(300, []flowtest.Field{{Type: 8, Length: 0}}).
			Data(300, make([]byte, 64)).Bytes(), ErrTemplateMissing, func(s *Stats) uint64 { return s.TemplateMisses.Load() }},
		{"sflow-expanded-record-count-huge", exporter, func() []byte {
			fr := flowtest.Frame(netip.MustParseAddrPort("10.0.0.1:1"), netip.MustParseAddrPort("10.0.0.2:2"), 17, 0, nil)
			b := flowtest.SFlow(exporter, 1, 1, []flowtest.SFlowSample{{Rate: 1, Frame: fr, FrameLength: 60, Expanded: true}})
			// record count of the expanded sample: 28 header + 8 sample header + 40
			binary.BigEndian.PutUint32(b[28+8+40:], 0xfffffff0)
			return b
		}(), ErrMalformed, func(s *Stats) uint64 { return s.DropMalformed.Load() }},
		{"unknown-version", exporter, []byte{0, 7, 0, 0, 0, 0}, ErrUnsupported, func(s *Stats) uint64 { return s.DropUnsupported.Load() }},
		{"empty", exporter, nil, ErrMalformed, func(s *Stats) uint64 { return s.DropMalformed.Load() }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := newTestDecoder(t)
			got, err := d.Decode(tc.from, tc.pkt, export, nil)
			if !errors.Is(err, tc.err) {
				t.Fatalf("err = %v, want %v", err, tc.err)
			}
			if len(got) != 0 {
				t.Errorf("%d records from a hostile datagram", len(got))
			}
			if tc.counter(d.Stats()) != 1 {
				t.Errorf("counter = %d, want 1", tc.counter(d.Stats()))
			}
		})
	}
}

func TestTemplateFloodAndExpiry(t *testing.T) {
	d, err := NewDecoder(Config{Exporters: []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24")}, MaxTemplatesPerExporter: 16, TemplateIdle: time.Minute, MaxExporters: 2})
	if err != nil {
		t.Fatal(err)
	}
	fields := flowtest.Fields(flowtest.TimeMillis, false)
	for i := 0; i < 100; i++ {
		m := flowtest.NewIPFIX(export, uint32(i), 1).Template(uint16(256+i), fields).Bytes()
		d.Decode(exporter, m, export, nil)
	}
	if n := d.Templates(exporter); n != 16 {
		t.Errorf("%d templates stored, want the cap 16", n)
	}
	if n := d.Stats().DropTemplateCap.Load(); n != 84 {
		t.Errorf("template cap drops %d, want 84", n)
	}
	// After the idle time a new template displaces the expired ones.
	later := export.Add(2 * time.Minute)
	if _, err := d.Decode(exporter, flowtest.NewIPFIX(later, 1, 1).Template(1000, fields).Bytes(), later, nil); err != nil {
		t.Fatal(err)
	}
	if n := d.Templates(exporter); n != 1 {
		t.Errorf("%d templates after expiry, want 1", n)
	}
	// Exporter cap: a third exporter with state is refused while the others are fresh.
	for i, a := range []string{"192.0.2.11", "192.0.2.12"} {
		_, err := d.Decode(netip.MustParseAddr(a), flowtest.NewIPFIX(later, 1, 1).Template(300, fields).Bytes(), later, nil)
		if want := i == 1; errors.Is(err, ErrExporterCap) != want {
			t.Errorf("exporter %s: err %v", a, err)
		}
	}
	if d.Exporters() != 2 || d.Stats().DropExporterCap.Load() != 1 {
		t.Errorf("exporters %d, cap drops %d", d.Exporters(), d.Stats().DropExporterCap.Load())
	}
}

func TestParsePacketBounds(t *testing.T) {
	fr := flowtest.Frame(netip.MustParseAddrPort("[2001:db8::1]:5353"), netip.MustParseAddrPort("[2001:db8::2]:53"), 17, 0, []byte("x"))
	for n := 0; n <= len(fr); n++ {
		info, ok := parsePacket(sflowHeaderEthernet, fr[:n])
		if n >= 14+40+4 && (!ok || info.dstPort != 53) {
			t.Fatalf("prefix %d: %v %+v", n, ok, info)
		}
	}
}

// TestZeroAbsoluteTimes: absolute time fields of 0 mean "not known"; the
// record falls back to the start+duration-less export time.
func TestZeroAbsoluteTimes(t *testing.T) {
	d := newTestDecoder(t)
	f := testFlows(false, 1)[0]
	rec := flowtest.Record(flowtest.TimeMillis, false, f, boot)
	clear(rec[len(rec)-16:])
	pkt := flowtest.NewIPFIX(export, 1, 1).Template(300, flowtest.Fields(flowtest.TimeMillis, false)).Data(300, rec).Bytes()
	got, err := d.Decode(exporter, pkt, export, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got[0].TimeSource != TimeExportFallback || !got[0].Start.Equal(export) {
		t.Errorf("got %s %s, want export-time fallback", got[0].TimeSource, got[0].Start)
	}
}

// TestConcurrentDecode decodes from several exporters at once (run with
// -race).
func TestConcurrentDecode(t *testing.T) {
	d := newTestDecoder(t)
	fs := testFlows(false, 10)
	done := make(chan int)
	for g := 0; g < 4; g++ {
		go func(g int) {
			from := netip.AddrFrom4([4]byte{192, 0, 2, byte(20 + g%2)})
			n := 0
			for i := 0; i < 50; i++ {
				pkt := flowtest.NewIPFIX(export, uint32(i), uint32(g)).Template(300, flowtest.Fields(flowtest.TimeMillis, false)).
					Data(300, records(flowtest.TimeMillis, false, fs)...).Bytes()
				recs, _ := d.Decode(from, pkt, export, nil)
				n += len(recs)
			}
			done <- n
		}(g)
	}
	total := 0
	for g := 0; g < 4; g++ {
		total += <-done
	}
	if total != 4*50*10 || d.Stats().Records.Load() != uint64(total) {
		t.Errorf("%d records, counter %d", total, d.Stats().Records.Load())
	}
}
