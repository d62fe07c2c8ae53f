package egress

import (
	"bytes"
	"context"
	"fmt"
	"net/netip"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"
	"time"

	"github.com/netsampler/goflow2/v2/decoders/netflow"
	"github.com/netsampler/goflow2/v2/decoders/netflowlegacy"
	"github.com/netsampler/goflow2/v2/decoders/sflow"
	"github.com/netsampler/goflow2/v2/producer"
	protoproducer "github.com/netsampler/goflow2/v2/producer/proto"

	"github.com/netvet/netvet/internal/egress/allow"
	"github.com/netvet/netvet/internal/egress/baseline"
	"github.com/netvet/netvet/internal/egress/beacon"
	"github.com/netvet/netvet/internal/egress/flow"
	"github.com/netvet/netvet/internal/egress/flow/flowtest"
	"github.com/netvet/netvet/internal/egress/ipinfo"
)

// The side-by-side benchmark: the same generated export datagrams (NetFlow
// v5, v9, IPFIX, sFlow v5) go through
//
//	goflow2  goflow2's decoder and its producer/proto (the path netvet
//	         replaces), per flow
//	decode   netvet's decoder and normaliser
//	filter   decode + the element map lookup of every source, keeping the
//	         records of known elements
//	e2e      decode + Pipeline.Add: element filter, allowlist (prefix, ASN
//	         and country rules against an ASN/country table), evidence,
//	         beacon tracker and volume baseline
//
// Run with -cpu 1 (one P) under taskset to get flows per core; flows/cpu-s
// divides by the CPU time the process used, garbage collection included.
// bench/egress.sh does both and prints the table with the ratios.

const (
	pbElements  = 1000  // elements in the inventory
	pbPeers     = 10    // destinations per element
	pbFlows     = 30000 // distinct flows in the generated traffic
	pbUnknownIn = 10    // one flow in this many comes from a non-element source
)

var (
	pbExporter = netip.MustParseAddr("192.0.2.10")
	pbBoot     = time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	pbBase     = time.Date(2026, 3, 9, 12, 0, 0, 0, time.UTC)
	pbSpan     = 10 * time.Minute // flow time one pass over the packets covers
	pbExport   = pbBase.Add(pbSpan)
)

const pbPolicy = `version: 1
rules:
  - id: mgmt-ntp
    template: ntp
    cidrs: [10.20.0.2]
  - id: ems
    vendor: acme
    cidrs: [10.30.0.0/24]
    ports: [443/tcp]
  - id: vendor-cloud
    vendor: acme
    asns: [64500]
    ports: [443/tcp]
  - id: eu-support
    vendor: acme
    countries: [FI]
    ports: [443/tcp]
`

// pbElementAddr is the management address of element i.
func pbElementAddr(i int) netip.Addr {
	return netip.AddrFrom4([4]byte{10, 1, byte(i >> 8), byte(i)})
}

func pbElementMap(tb testing.TB, n int) *ElementMap {
	tb.Helper()
	var sb strings.Builder
	sb.WriteString("address,element,vendor,function\n")
	for i := 0; i < n; i++ {
		fmt.Fprintf(&sb, "%s,e%d,acme,gnb\n", pbElementAddr(i), i)
	}
	em, err := ParseElements("bench-elements.csv", strings.NewReader(sb.String()), nil)
	if err != nil {
		tb.Fatal(err)
	}
	return em
}

// pbGeo is an ASN/country table of 20,000 ranges around the public
// destinations the generated elements talk to.
func pbGeo(tb testing.TB) *ipinfo.DB {
	tb.Helper()
	var sb strings.Builder
	ccs := []string{"DE", "FI", "US", "CN", "SE"}
	for i := 0; i < 20000; i++ {
		a := 0x2d000000 + uint32(i)<<8 // 45.0.0.0 upwards, one /24 each
		asn, cc := 64501+uint32(i%3000), ccs[i%5]
		switch a >> 16 {
		case 0x2d01: // 45.1.0.0/16: the vendor cloud
			asn = 64500
		case 0x2d02: // 45.2.0.0/16: a Finnish support desk
			cc = "FI"
		case 0x2d09: // 45.9.0.0/16: where nothing is allowed
			cc = "CN"
		}
		fmt.Fprintf(&sb, "%d.%d.%d.0\t%d.%d.%d.255\t%d\t%s\torg%d\n", a>>24, a>>16&255, a>>8&255, a>>24, a>>16&255, a>>8&255, asn, cc, asn)
	}
	db := ipinfo.New(ipinfo.Limits{})
	if _, err := db.LoadText(context.Background(), "bench-asn.tsv", strings.NewReader(sb.String())); err != nil {
		tb.Fatal(err)
	}
	return db
}

func pbPipeline(tb testing.TB, em *ElementMap, mut func(*Config)) *Pipeline {
	tb.Helper()
	pol, err := allow.Parse("bench-allow.yaml", []byte(pbPolicy), nil)
	if err != nil {
		tb.Fatal(err)
	}
	cfg := Config{Elements: em, Policy: pol, Geo: pbGeo(tb)}
	if mut != nil {
		mut(&cfg)
	}
	p, err := New(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	return p
}

// pbPeer is destination k of element el: NTP, four EMS servers, two
// vendor-cloud addresses (allowed by ASN), two support addresses (allowed
// by country) and one address nothing allows.
func pbPeer(el, k int) (netip.AddrPort, uint8) {
	switch {
	case k == 0:
		return netip.AddrPortFrom(netip.MustParseAddr("10.20.0.2"), 123), 17
	case k <= 4:
		return netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 30, 0, byte(k)}), 443), 6
	case k <= 6:
		return netip.AddrPortFrom(netip.AddrFrom4([4]byte{45, 1, byte(el % 200), byte(k)}), 443), 6
	case k <= 8:
		return netip.AddrPortFrom(netip.AddrFrom4([4]byte{45, 2, byte(el % 200), byte(k)}), 443), 6
	}
	return netip.AddrPortFrom(netip.AddrFrom4([4]byte{45, 9, byte(el % 50), 9}), 443), 6
}

// pbTraffic returns the generated flows: every element talks to its ten
// peers; one flow in ten comes from a host that is not an element.
func pbTraffic() []flowtest.Flow {
	fs := make([]flowtest.Flow, pbFlows)
	step := pbSpan / 2 / pbFlows
	for j := range fs {
		el, k := j%pbElements, (j/pbElements)%pbPeers
		src := pbElementAddr(el)
		if j%pbUnknownIn == pbUnknownIn-1 {
			src = netip.AddrFrom4([4]byte{10, 200, byte(j >> 8), byte(j)})
		}
		dst, proto := pbPeer(el, k)
		start := pbBase.Add(time.Duration(j) * step)
		fs[j] = flowtest.Flow{Src: src, Dst: dst.Addr(), SrcPort: uint16(32768 + j%20000), DstPort: dst.Port(), Proto: proto,
			TCPFlags: 0x1b, In: 1, Out: 2, Bytes: uint64(400 + j%1500), Packets: uint64(3 + j%20),
			Start: start, End: start.Add(2 * time.Second)}
	}
	return fs
}

// pbDatagrams encodes the traffic for one protocol: a template datagram
// (nil for v5 and sFlow) and the data datagrams.
func pbDatagrams(proto string, fs []flowtest.Flow) (tmpl []byte, data [][]byte) {
	per := 30
	if proto == "sflow" {
		per = 7 // samples with 128-byte headers fill a 1,500-byte datagram
	}
	for i := 0; i < len(fs); i += per {
		chunk := fs[i:min(i+per, len(fs))]
		seq := uint32(i/per + 2)
		switch proto {
		case "v5":
			data = append(data, flowtest.V5(pbBoot, pbExport, 0, chunk))
		case "v9", "ipfix":
			mode := flowtest.TimeUptime
			if proto == "ipfix" {
				mode = flowtest.TimeMillis
			}
			recs := make([][]byte, len(chunk))
			for k, f := range chunk {
				recs[k] = flowtest.Record(mode, false, f, pbBoot)
			}
			if proto == "v9" {
				tmpl = flowtest.NewV9(pbBoot, pbExport, 1, 1).Template(300, flowtest.Fields(mode, false)).Bytes()
				data = append(data, flowtest.NewV9(pbBoot, pbExport, seq, 1).Data(300, recs...).Bytes())
			} else {
				tmpl = flowtest.NewIPFIX(pbExport, 1, 1).Template(300, flowtest.Fields(mode, false)).Bytes()
				data = append(data, flowtest.NewIPFIX(pbExport, seq, 1).Data(300, recs...).Bytes())
			}
		case "sflow":
			ss := make([]flowtest.SFlowSample, len(chunk))
			for k, f := range chunk {
				frame := flowtest.Frame(netip.AddrPortFrom(f.Src, f.SrcPort), netip.AddrPortFrom(f.Dst, f.DstPort), f.Proto, f.TCPFlags, make([]byte, 100))
				ss[k] = flowtest.SFlowSample{Rate: 1, Input: 1, Output: 2, Frame: frame, FrameLength: uint32(f.Bytes)}
			}
			data = append(data, flowtest.SFlow(pbExporter, uint32(pbExport.Sub(pbBoot).Milliseconds()), seq, ss))
		}
	}
	return tmpl, data
}

var pbProtocols = []string{"v5", "v9", "ipfix", "sflow"}

// pbReport adds flows/s (wall), flows/cpu-s and ns/flow to b.
func pbReport(b *testing.B, flows int, cpu0 time.Duration) {
	if flows == 0 {
		b.Fatal("no flows")
	}
	b.ReportMetric(float64(flows)/b.Elapsed().Seconds(), "flows/s")
	if cpu := pbCPU() - cpu0; cpu > 0 && cpu0 > 0 {
		b.ReportMetric(float64(flows)/cpu.Seconds(), "flows/cpu-s")
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(flows), "ns/flow")
}

func pbDecoder(b *testing.B, tmpl []byte) *flow.Decoder {
	d, err := flow.NewDecoder(flow.Config{Exporters: []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24")}})
	if err != nil {
		b.Fatal(err)
	}
	if tmpl != nil {
		if _, err := d.Decode(pbExporter, tmpl, pbExport, nil); err != nil {
			b.Fatal(err)
		}
	}
	return d
}

// BenchmarkEgress is the one-run comparison; one op is one datagram.
func BenchmarkEgress(b *testing.B) {
	fs := pbTraffic()
	em := pbElementMap(b, pbElements)
	for _, proto := range pbProtocols {
		tmpl, data := pbDatagrams(proto, fs)
		b.Run(proto+"/goflow2", func(b *testing.B) { pbGoflow2(b, proto, tmpl, data) })
		b.Run(proto+"/decode", func(b *testing.B) {
			d := pbDecoder(b, tmpl)
			out := make([]flow.Record, 0, 64)
			flows, i := 0, 0
			b.ReportAllocs()
			c0 := pbCPU()
			for b.Loop() {
				recs, err := d.Decode(pbExporter, data[i%len(data)], pbExport, out[:0])
				if err != nil {
					b.Fatal(err)
				}
				flows += len(recs)
				i++
			}
			pbReport(b, flows, c0)
		})
		b.Run(proto+"/filter", func(b *testing.B) {
			d := pbDecoder(b, tmpl)
			out := make([]flow.Record, 0, 64)
			flows, known, i := 0, 0, 0
			b.ReportAllocs()
			c0 := pbCPU()
			for b.Loop() {
				recs, err := d.Decode(pbExporter, data[i%len(data)], pbExport, out[:0])
				if err != nil {
					b.Fatal(err)
				}
				for k := range recs {
					if _, ok := em.Lookup(recs[k].Src); ok {
						known++
					}
				}
				flows += len(recs)
				i++
			}
			if want := flows - flows/pbUnknownIn; known < want-len(data[0]) || known > want+len(data[0]) {
				b.Fatalf("%d of %d flows from known elements, want about %d", known, flows, want)
			}
			pbReport(b, flows, c0)
		})
		b.Run(proto+"/e2e", func(b *testing.B) {
			d := pbDecoder(b, tmpl)
			p := pbPipeline(b, em, nil)
			out := make([]flow.Record, 0, 64)
			flows, i := 0, 0
			b.ReportAllocs()
			c0 := pbCPU()
			for b.Loop() {
				// Each pass over the datagrams replays them one span
				// later, so that time moves on as it does on a collector.
				off := time.Duration(i/len(data)) * pbSpan
				recv := pbExport.Add(off)
				recs, err := d.Decode(pbExporter, data[i%len(data)], recv, out[:0])
				if err != nil {
					b.Fatal(err)
				}
				for k := range recs {
					r := &recs[k]
					if proto != "sflow" { // sFlow records carry the receive time already
						r.Start, r.End = r.Start.Add(off), r.End.Add(off)
					}
					p.Add(r)
				}
				flows += len(recs)
				i++
			}
			st := p.Stats()
			if st.Accepted.Load() == 0 || st.Denied.Load() == 0 || st.DropUnknownSource.Load() == 0 {
				b.Fatalf("pipeline saw no traffic of some kind: accepted %d denied %d unknown %d",
					st.Accepted.Load(), st.Denied.Load(), st.DropUnknownSource.Load())
			}
			// Every record is used or dropped as not from an element; none
			// is lost to a cap, an eviction or a missing time.
			if st.Accepted.Load()+st.DropUnknownSource.Load() != st.Records.Load() || st.EvictedPeers.Load() != 0 {
				b.Fatalf("records %d: accepted %d, unknown source %d, other drops %d, evictions %d", st.Records.Load(),
					st.Accepted.Load(), st.DropUnknownSource.Load(), st.DropNoAddress.Load()+st.DropNoTime.Load()+st.DropPairCap.Load(), st.EvictedPeers.Load())
			}
			pbReport(b, flows, c0)
		})
	}
}

// pbGoflow2 decodes with goflow2 and runs its protobuf producer, as the
// goflow2 collector does for every datagram.
func pbGoflow2(b *testing.B, proto string, tmpl []byte, data [][]byte) {
	cfg, err := (&protoproducer.ProducerConfig{}).Compile()
	if err != nil {
		b.Fatal(err)
	}
	prod, err := protoproducer.CreateProtoProducer(cfg, protoproducer.CreateSamplingSystem)
	if err != nil {
		b.Fatal(err)
	}
	ts := netflow.CreateTemplateSystem()
	args := &producer.ProduceArgs{Src: netip.AddrPortFrom(pbExporter, 2055), SamplerAddress: pbExporter, TimeReceived: pbExport}
	if tmpl != nil {
		var v9 netflow.NFv9Packet
		var ipfix netflow.IPFIXPacket
		if err := netflow.DecodeMessageVersion(bytes.NewBuffer(tmpl), ts, &v9, &ipfix); err != nil {
			b.Fatal(err)
		}
	}
	flows, i := 0, 0
	b.ReportAllocs()
	c0 := pbCPU()
	for b.Loop() {
		pkt := data[i%len(data)]
		i++
		var msg any
		switch proto {
		case "v5":
			var p netflowlegacy.PacketNetFlowV5
			if err := netflowlegacy.DecodeMessageVersion(bytes.NewBuffer(pkt), &p); err != nil {
				b.Fatal(err)
			}
			msg = &p
		case "sflow":
			var p sflow.Packet
			if err := sflow.DecodeMessageVersion(bytes.NewBuffer(pkt), &p); err != nil {
				b.Fatal(err)
			}
			msg = &p
		default:
			var v9 netflow.NFv9Packet
			var ipfix netflow.IPFIXPacket
			if err := netflow.DecodeMessageVersion(bytes.NewBuffer(pkt), ts, &v9, &ipfix); err != nil {
				b.Fatal(err)
			}
			msg = &v9
			if proto == "ipfix" {
				msg = &ipfix
			}
		}
		msgs, err := prod.Produce(msg, args)
		if err != nil || len(msgs) == 0 {
			b.Fatalf("%d messages, %v", len(msgs), err)
		}
		flows += len(msgs)
		prod.Commit(msgs)
	}
	pbReport(b, flows, c0)
}

// BenchmarkEgressCollect is the scoring pass a collector runs every
// interval (Pipeline.Collect) over 1,000 elements × 10 peers with a day of
// flows behind them; the figure is per Collect call.
func BenchmarkEgressCollect(b *testing.B) {
	em := pbElementMap(b, pbElements)
	p := pbPipeline(b, em, nil)
	fs := pbTraffic()
	for day := time.Duration(0); day < 24*time.Hour; day += pbSpan {
		for k := range fs {
			f := &fs[k]
			r := flow.Record{Src: f.Src, Dst: f.Dst, SrcPort: f.SrcPort, DstPort: f.DstPort, Proto: f.Proto, Bytes: f.Bytes, Packets: f.Packets,
				Start: f.Start.Add(day), End: f.End.Add(day), Exporter: pbExporter, Protocol: flow.ProtoIPFIX, SamplingRate: 1}
			p.Add(&r)
		}
	}
	b.ReportAllocs()
	alerts := -1
	for b.Loop() {
		// The first call raises the alerts; later ones are held back by
		// the repeat interval, as on a collector between repeats.
		if n := len(p.Collect(time.Time{})); alerts < 0 {
			alerts = n
		}
	}
	if alerts <= 0 {
		b.Fatal("no alerts from a day of traffic with denied destinations")
	}
	b.ReportMetric(float64(alerts), "alerts")
}

// BenchmarkEgressMemory reports the heap the whole pipeline (pair state,
// evidence, allowlist sets, beacon tracker, baseline) holds per element
// after 10,000 elements each sent flows to 10 peers; the element map and
// the ASN table are built before the first reading and not counted.
func BenchmarkEgressMemory(b *testing.B) {
	const n = 10_000
	em := pbElementMap(b, n)
	for b.Loop() {
		var m0, m1 runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&m0)
		p := pbPipeline(b, em, nil)
		for round := 0; round < 3; round++ {
			for el := 0; el < n; el++ {
				for k := 0; k < pbPeers; k++ {
					dst, proto := pbPeer(el, k)
					start := pbBase.Add(time.Duration(round)*time.Minute + time.Duration(el%60)*time.Second)
					r := flow.Record{Src: pbElementAddr(el), Dst: dst.Addr(), SrcPort: uint16(40000 + round), DstPort: dst.Port(), Proto: proto,
						Bytes: 800, Packets: 4, Start: start, End: start.Add(time.Second), Exporter: pbExporter, Protocol: flow.ProtoIPFIX, SamplingRate: 1}
					p.Add(&r)
				}
			}
		}
		runtime.GC()
		runtime.ReadMemStats(&m1)
		if got := p.Stats().Accepted.Load(); got != 3*n*pbPeers {
			b.Fatalf("accepted %d records, want %d", got, 3*n*pbPeers)
		}
		b.ReportMetric(float64(m1.HeapAlloc-m0.HeapAlloc)/n, "B/element")
		b.ReportMetric(float64(len(p.pairs))/n, "pairs/element")
		// Where it goes: the same feed into the parts on their own.
		b.ReportMetric(pbHeapOf(func() any {
			t := beacon.New(beacon.Config{})
			pbFeed(n, func(r *flow.Record, el string) {
				t.Add(beacon.Conn{Element: el, Dst: r.Dst, Proto: r.Proto, SrcPort: r.SrcPort, DstPort: r.DstPort,
					Start: r.Start, End: r.End, Bytes: r.Bytes, Packets: r.Packets})
			})
			return t
		})/n, "beacon-B/element")
		b.ReportMetric(pbHeapOf(func() any {
			d := baseline.New(baseline.Config{})
			pbFeed(n, func(r *flow.Record, el string) { d.Add(el, r.Start, r.Bytes) })
			return d
		})/n, "baseline-B/element")
		runtime.KeepAlive(p)
	}
}

// pbFeed offers the memory benchmark's records (n elements × 10 peers,
// three rounds) to f with the element ID.
func pbFeed(n int, f func(*flow.Record, string)) {
	for round := 0; round < 3; round++ {
		for el := 0; el < n; el++ {
			id := fmt.Sprintf("e%d", el)
			for k := 0; k < pbPeers; k++ {
				dst, proto := pbPeer(el, k)
				start := pbBase.Add(time.Duration(round)*time.Minute + time.Duration(el%60)*time.Second)
				r := flow.Record{Src: pbElementAddr(el), Dst: dst.Addr(), SrcPort: uint16(40000 + round), DstPort: dst.Port(), Proto: proto,
					Bytes: 800, Packets: 4, Start: start, End: start.Add(time.Second), Exporter: pbExporter, Protocol: flow.ProtoIPFIX, SamplingRate: 1}
				f(&r, id)
			}
		}
	}
}

// pbHeapOf is the live heap growth while build's result is alive.
func pbHeapOf(build func() any) float64 {
	var m0, m1 runtime.MemStats
	debug.FreeOSMemory()
	runtime.ReadMemStats(&m0)
	v := build()
	runtime.GC()
	runtime.ReadMemStats(&m1)
	runtime.KeepAlive(v)
	return float64(int64(m1.HeapAlloc) - int64(m0.HeapAlloc))
}

// BenchmarkEgressAllowlist is one allowlist decision through the real
// ASN/country table, for each way a destination can be decided: by
// prefix, by ASN, by country, or denied after both lookups.
func BenchmarkEgressAllowlist(b *testing.B) {
	pol, err := allow.Parse("bench-allow.yaml", []byte(pbPolicy), nil)
	if err != nil {
		b.Fatal(err)
	}
	pol.SetGeo(pbGeo(b))
	s := pol.ForElement(allow.Element{ID: "e0", Vendor: "acme", Function: "gnb"})
	for _, c := range []struct {
		name    string
		dst     string
		allowed bool
	}{
		{"prefix", "10.30.0.1", true},
		{"asn", "45.1.3.5", true},
		{"country", "45.2.3.7", true},
		{"denied", "45.9.3.9", false},
	} {
		dst := netip.MustParseAddr(c.dst)
		if d := s.Evaluate(dst, 443, allow.ProtoTCP); d.Allowed != c.allowed {
			b.Fatalf("%s: allowed %v, want %v", c.dst, d.Allowed, c.allowed)
		}
		b.Run(c.name, func(b *testing.B) {
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			c0, n := pbThreadCPU(), 0
			for b.Loop() {
				_ = s.Evaluate(dst, 443, allow.ProtoTCP)
				n++
			}
			if c := pbThreadCPU() - c0; c > 0 && c0 > 0 {
				b.ReportMetric(float64(c.Nanoseconds())/float64(n), "cpu-ns/op")
			}
		})
	}
}
