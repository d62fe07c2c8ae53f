package pcap

import (
	"context"
	"encoding/binary"
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/netvet/netvet/internal/egress/flow"
	"github.com/netvet/netvet/internal/egress/flow/flowtest"
)

var t0 = time.Date(2026, 3, 9, 12, 0, 0, 0, time.UTC)

func ap(s string) netip.AddrPort { return netip.MustParseAddrPort(s) }

// meterPackets is a small capture: a TCP exchange, a UDP query/answer, a
// UDP flow that goes idle and resumes, and an IPv6 flow that crosses the
// active timeout.
func meterPackets() []flowtest.Packet {
	var ps []flowtest.Packet
	add := func(d time.Duration, src, dst string, proto, flags uint8, n int) {
		ps = append(ps, flowtest.Packet{Time: t0.Add(d), Frame: flowtest.Frame(ap(src), ap(dst), proto, flags, make([]byte, n))})
	}
	add(0, "10.0.0.1:40000", "198.51.100.7:443", 6, 0x02, 0)
	add(10*time.Millisecond, "198.51.100.7:443", "10.0.0.1:40000", 6, 0x12, 0)
	add(20*time.Millisecond, "10.0.0.1:40000", "198.51.100.7:443", 6, 0x18, 100)
	add(30*time.Millisecond, "198.51.100.7:443", "10.0.0.1:40000", 6, 0x18, 1000)
	add(40*time.Millisecond, "10.0.0.1:40000", "198.51.100.7:443", 6, 0x11, 0)
	add(time.Second, "10.0.0.1:5353", "10.0.0.53:53", 17, 0, 30)
	add(time.Second+5*time.Millisecond, "10.0.0.53:53", "10.0.0.1:5353", 17, 0, 60)
	add(2*time.Second, "10.0.0.1:123", "192.0.2.123:123", 17, 0, 48)
	add(2*time.Second+200*time.Second, "10.0.0.1:123", "192.0.2.123:123", 17, 0, 48) // after the 60 s idle timeout
	for i := 0; i < 43; i++ {
		add(3*time.Second+time.Duration(i)*50*time.Second, "[2001:db8::1]:33000", "[2001:db8::2]:830", 6, 0x18, 10)
	}
	return ps
}

func TestMeter(t *testing.T) {
	for _, format := range []string{"pcap", "pcapng"} {
		t.Run(format, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "cap."+format)
			write := flowtest.WritePcap
			if format == "pcapng" {
				write = flowtest.WritePcapNg
			}
			if err := write(path, meterPackets()); err != nil {
				t.Fatal(err)
			}
			var got []flow.Record
			st, err := MeterFile(context.Background(), path, Limits{}, MeterConfig{}, func(r flow.Record) { got = append(got, r) })
			if err != nil {
				t.Fatal(err)
			}
			if st.Packets != 52 || st.NotIP != 0 {
				t.Errorf("stats %+v", st)
			}
			type want struct {
				src, dst string
				proto    uint8
				bytes    uint64
				packets  uint64
				start    time.Duration
				end      time.Duration
				flags    uint8
			}
			// IPv4 TCP/UDP headers are 40/28 bytes, IPv6 TCP 60.
			wants := []want{
				{"10.0.0.1:40000", "198.51.100.7:443", 6, 40*3 + 100, 3, 0, 40 * time.Millisecond, 0x1b},
				{"198.51.100.7:443", "10.0.0.1:40000", 6, 80 + 1000, 2, 10 * time.Millisecond, 30 * time.Millisecond, 0x1a},
				{"10.0.0.1:5353", "10.0.0.53:53", 17, 58, 1, time.Second, time.Second, 0},
				{"10.0.0.53:53", "10.0.0.1:5353", 17, 88, 1, time.Second + 5*time.Millisecond, time.Second + 5*time.Millisecond, 0},
				{"10.0.0.1:123", "192.0.2.123:123", 17, 76, 1, 2 * time.Second, 2 * time.Second, 0},
				{"10.0.0.1:123", "192.0.2.123:123", 17, 76, 1, 202 * time.Second, 202 * time.Second, 0},
				{"[2001:db8::1]:33000", "[2001:db8::2]:830", 6, 70 * 36, 36, 3 * time.Second, 1753 * time.Second, 0x18},
				{"[2001:db8::1]:33000", "[2001:db8::2]:830", 6, 70 * 7, 7, 1803 * time.Second, 2103 * time.Second, 0x18},
			}
			if len(got) != len(wants) {
				for _, r := range got {
					t.Logf("%s:%d -> %s:%d %d bytes %s", r.Src, r.SrcPort, r.Dst, r.DstPort, r.Bytes, r.Start)
				}
				t.Fatalf("%d records, want %d", len(got), len(wants))
			}
			for i, w := range wants {
				r := got[i]
				if netip.AddrPortFrom(r.Src, r.SrcPort) != ap(w.src) || netip.AddrPortFrom(r.Dst, r.DstPort) != ap(w.dst) || r.Proto != w.proto ||
					r.Bytes != w.bytes || r.Packets != w.packets || !r.Start.Equal(t0.Add(w.start)) || !r.End.Equal(t0.Add(w.end)) || r.TCPFlags != w.flags {
					t.Errorf("record %d: %s:%d -> %s:%d/%d %d bytes %d pkts %s..%s flags %#x; want %+v", i, r.Src, r.SrcPort, r.Dst, r.DstPort, r.Proto,
						r.Bytes, r.Packets, r.Start.Sub(t0), r.End.Sub(t0), r.TCPFlags, w)
				}
				if r.TimeSource != flow.TimePacketCapture || r.Source != "cap."+format || r.SamplingRate != 1 || r.Sampled {
					t.Errorf("record %d: %s %q %d", i, r.TimeSource, r.Source, r.SamplingRate)
				}
			}
		})
	}
}

func TestMeterMaxFlows(t *testing.T) {
	var got []flow.Record
	m := NewMeter(MeterConfig{MaxFlows: 4}, "x", func(r flow.Record) { got = append(got, r) })
	for i := 0; i < 10; i++ {
		fr := flowtest.Frame(netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 0, 0, byte(i)}), 1000), ap("10.1.1.1:53"), 17, 0, nil)
		m.Add(Packet{Data: fr, Time: t0.Add(time.Duration(i) * time.Millisecond), LinkType: 1})
		if len(m.flows) > 4 {
			t.Fatalf("%d flows in the table", len(m.flows))
		}
	}
	m.Flush()
	if st := m.Stats(); st.EvictedEarly != 6 || st.Flows != 10 || len(got) != 10 {
		t.Errorf("stats %+v, %d records", st, len(got))
	}
	if got[0].Src != netip.MustParseAddr("10.0.0.0") {
		t.Errorf("first evicted %s, want the stalest 10.0.0.0", got[0].Src)
	}
}

// exportCapture builds a capture of export datagrams of every kind and the
// flows they carry.
func exportCapture(_ *testing.T) ([]flowtest.Packet, map[string][]flowtest.Flow) {
	boot := t0.Add(-72 * time.Hour)
	export := t0.Add(10 * time.Minute)
	flows := func(n int, base byte, v6 bool) []flowtest.Flow {
		var fs []flowtest.Flow
		for i := 0; i < n; i++ {
			src := netip.AddrFrom4([4]byte{10, base, 0, byte(i + 1)})
			dst := netip.AddrFrom4([4]byte{198, 51, 100, base})
			if v6 {
				src = netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 5: base, 15: byte(i + 1)})
				dst = netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 0xff, 15: base})
			}
			st := export.Add(-time.Duration(100+i) * time.Second).Add(250 * time.Millisecond)
			fs = append(fs, flowtest.Flow{Src: src, Dst: dst, SrcPort: uint16(50000 + i), DstPort: uint16(1000 + int(base)), Proto: 17,
				In: 1, Out: 2, Bytes: uint64(500 + i), Packets: uint64(5 + i), Start: st, End: st.Add(30 * time.Second)})
		}
		return fs
	}
	recs := func(mode flowtest.TimeMode, v6 bool, fs []flowtest.Flow) [][]byte {
		var rs [][]byte
		for _, f := range fs {
			rs = append(rs, flowtest.Record(mode, v6, f, boot))
		}
		return rs
	}
	want := map[string][]flowtest.Flow{}
	var pkts []flowtest.Packet
	send := func(name string, from, to string, data []byte, fs []flowtest.Flow) {
		want[name] = fs
		pkts = append(pkts, flowtest.Packet{Time: export.Add(time.Duration(len(pkts)) * time.Millisecond), Frame: flowtest.Frame(ap(from), ap(to), 17, 0, data)})
	}
	v5 := flows(3, 1, false)
	send("v5", "192.0.2.1:10000", "192.0.2.250:2055", flowtest.V5(boot, export, 0, v5), v5)
	v9 := flows(3, 2, false)
	send("v9-uptime", "192.0.2.2:10000", "192.0.2.250:9995",
		flowtest.NewV9(boot, export, 1, 1).Template(300, flowtest.Fields(flowtest.TimeUptime, false)).Data(300, recs(flowtest.TimeUptime, false, v9)...).Bytes(), v9)
	v9ms := flows(2, 3, false)
	send("v9-ms", "192.0.2.3:10000", "192.0.2.250:9996",
		flowtest.NewV9(boot, export, 1, 1).Template(301, flowtest.Fields(flowtest.TimeMillis, false)).Data(301, recs(flowtest.TimeMillis, false, v9ms)...).Bytes(), v9ms)
	ipfixNs := flows(2, 4, true)
	send("ipfix-ns", "[2001:db8::a]:10000", "[2001:db8::fe]:4739",
		flowtest.NewIPFIX(export, 1, 5).Template(400, flowtest.Fields(flowtest.TimeNanos, true)).Data(400, recs(flowtest.TimeNanos, true, ipfixNs)...).Bytes(), ipfixNs)
	ipfixDur := flows(2, 5, false)
	send("ipfix-dur", "192.0.2.5:10000", "192.0.2.250:4739",
		flowtest.NewIPFIX(export, 1, 5).Template(401, flowtest.Fields(flowtest.TimeStartDurMs, false)).Data(401, recs(flowtest.TimeStartDurMs, false, ipfixDur)...).Bytes(), ipfixDur)
	// not an export: DNS and a datagram from an unknown exporter
	pkts = append(pkts, flowtest.Packet{Time: export, Frame: flowtest.Frame(ap("10.0.0.1:5353"), ap("10.0.0.53:53"), 17, 0, []byte("query"))})
	pkts = append(pkts, flowtest.Packet{Time: export, Frame: flowtest.Frame(ap("203.0.113.66:9"), ap("192.0.2.250:2055"), 17, 0, flowtest.V5(boot, export, 0, v5))})
	sf := flows(2, 6, false)
	var samples []flowtest.SFlowSample
	for _, f := range sf {
		fr := flowtest.Frame(netip.AddrPortFrom(f.Src, f.SrcPort), netip.AddrPortFrom(f.Dst, f.DstPort), 17, 0, make([]byte, 100))
		samples = append(samples, flowtest.SFlowSample{Rate: 512, Input: 1, Output: 2, Frame: fr, FrameLength: uint32(len(fr) + 4)})
	}
	send("sflow", "192.0.2.6:10000", "192.0.2.250:6343", flowtest.SFlow(netip.MustParseAddr("192.0.2.6"), 1000, 1, samples), sf)
	return pkts, want
}

func TestExtract(t *testing.T) {
	pkts, want := exportCapture(t)
	path := filepath.Join(t.TempDir(), "exports.pcap")
	if err := flowtest.WritePcap(path, pkts); err != nil {
		t.Fatal(err)
	}
	dec, err := flow.NewDecoder(flow.Config{Exporters: []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24"), netip.MustParsePrefix("2001:db8::/32")}})
	if err != nil {
		t.Fatal(err)
	}
	var got []flow.Record
	st, err := ExtractFile(context.Background(), path, Limits{}, ExtractConfig{}, dec, func(r flow.Record) { got = append(got, r) })
	if err != nil {
		t.Fatal(err)
	}
	if st.Datagrams != 7 || st.DecodeErrs != 1 || dec.Stats().DropUnknownExporter.Load() != 1 {
		t.Errorf("stats %+v, unknown exporter drops %d", st, dec.Stats().DropUnknownExporter.Load())
	}
	total := 0
	for _, fs := range want {
		total += len(fs)
	}
	if len(got) != total {
		t.Fatalf("%d records, want %d", len(got), total)
	}
	byKey := map[netip.Addr]flow.Record{}
	for _, r := range got {
		byKey[r.Src] = r
	}
	for name, fs := range want {
		for _, f := range fs {
			r, ok := byKey[f.Src]
			if !ok {
				t.Errorf("%s: flow from %s missing", name, f.Src)
				continue
			}
			if r.Dst != f.Dst || r.SrcPort != f.SrcPort || r.DstPort != f.DstPort {
				t.Errorf("%s: %+v", name, r)
			}
			if name == "sflow" {
				if r.Bytes != 128*512 || r.TimeSource != flow.TimeSFlowReceive {
					t.Errorf("%s: bytes %d time %s", name, r.Bytes, r.TimeSource)
				}
				continue
			}
			if r.Bytes != f.Bytes || !r.Start.Equal(f.Start) || !r.End.Equal(f.End) {
				t.Errorf("%s: bytes %d start %s end %s, want %d %s %s (%s)", name, r.Bytes, r.Start, r.End, f.Bytes, f.Start, f.End, r.TimeSource)
			}
		}
	}
}

func TestHostileCaptures(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.pcapng")
	if err := flowtest.WritePcapNg(good, meterPackets()); err != nil {
		t.Fatal(err)
	}
	ng, _ := os.ReadFile(good)
	goodPcap := filepath.Join(dir, "good.pcap")
	if err := flowtest.WritePcap(goodPcap, meterPackets()); err != nil {
		t.Fatal(err)
	}
	classic, _ := os.ReadFile(goodPcap)
	firstEPB := func(b []byte) int { // offset of the first enhanced packet block
		for off := 0; off+8 <= len(b); {
			if binary.LittleEndian.Uint32(b[off:]) == 6 {
				return off
			}
			off += int(binary.LittleEndian.Uint32(b[off+4:]))
		}
		t.Fatal("no EPB")
		return 0
	}
	for _, tc := range []struct {
		name string
		data []byte
		lim  Limits
		err  error
	}{
		{"not-a-capture", []byte("hello world, not a capture"), Limits{}, ErrFormat},
		{"empty", nil, Limits{}, ErrFormat},
		{"pcapng-caplen-4GiB", func() []byte {
			b := append([]byte(nil), ng...)
			binary.LittleEndian.PutUint32(b[firstEPB(b)+20:], 0xfffffff0)
			return b
		}(), Limits{}, errNgBlock},
		{"pcapng-block-length-odd", func() []byte {
			b := append([]byte(nil), ng...)
			binary.LittleEndian.PutUint32(b[firstEPB(b)+4:], 33)
			return b
		}(), Limits{}, errNgBlock},
		{"pcap-snaplen-and-caplen-huge", func() []byte {
			b := append([]byte(nil), classic...)
			binary.LittleEndian.PutUint32(b[16:], 0xffffffff)
			binary.LittleEndian.PutUint32(b[24+8:], 0x7fffffff)
			return b
		}(), Limits{}, nil},
		{"truncated", classic[:len(classic)-7], Limits{}, nil},
		{"packet-cap", classic, Limits{MaxPackets: 3}, ErrTooLarge},
		{"size-cap", classic, Limits{MaxFileSize: 100}, ErrTooLarge},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "x")
			if err := os.WriteFile(path, tc.data, 0o600); err != nil {
				t.Fatal(err)
			}
			n := 0
			_, err := MeterFile(context.Background(), path, tc.lim, MeterConfig{}, func(flow.Record) { n++ })
			if err == nil {
				t.Fatalf("no error (%d records)", n)
			}
			if tc.err != nil && !errors.Is(err, tc.err) {
				t.Fatalf("err %v, want %v", err, tc.err)
			}
		})
	}
}
