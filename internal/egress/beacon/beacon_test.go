package beacon

import (
	"fmt"
	"math"
	"math/rand/v2"
	"net/netip"
	"runtime"
	"testing"
	"time"
)

var t0 = time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)

func TestFormulas(t *testing.T) {
	tests := []struct {
		name string
		got  float64
		want float64
	}{
		{"median odd", quantile([]float64{1, 2, 3}, 0.5), 2},
		{"q1 interpolated", quantile([]float64{1, 2, 3, 4}, 0.25), 1.75},
		{"bowley symmetric", bowleySkew(10, 20, 30, 10), 0},
		{"bowley right skew", bowleySkew(10, 12, 30, 10), 0.8},
		{"bowley tight IQR", bowleySkew(10, 12, 15, 10), 0},
		{"bowley median on quartile", bowleySkew(10, 10, 40, 10), 0},
		{"cv flat", cvScore([]float64{5, 5, 5, 5}), 1},
		{"cv one bin", cvScore(append(make([]float64, 23), 24)), 0},
		{"long conn 30m", longConnScore(1800), 0},
		{"long conn 1h", longConnScore(3600), 0.2},
		{"long conn 6h", longConnScore(6 * 3600), 0.5},
		{"long conn 2d", longConnScore(48 * 3600), 1},
		{"run circular", float64(longestRun([]float64{1, 1, 0, 0, 0, 1, 1, 1})), 5},
	}
	for _, tt := range tests {
		if math.Abs(tt.got-tt.want) > 1e-9 {
			t.Errorf("%s = %v, want %v", tt.name, tt.got, tt.want)
		}
	}
	// Perfectly regular values score 1; a spread-out set scores low.
	s, _, _ := regularity([]float64{60, 60, 60, 60, 60}, 10, 1)
	if s != 1 {
		t.Errorf("regular = %v", s)
	}
	s, _, _ = regularity([]float64{1, 2, 3, 50, 400, 9000, 20000}, 10, 1)
	if s > 0.5 {
		t.Errorf("irregular = %v", s)
	}
	// 11+ hours at two heights fit a bimodal pattern.
	h := make([]float64, 24)
	for i := range h {
		h[i] = 10
		if i%2 == 0 {
			h[i] = 50
		}
	}
	if f := bimodalFit(h); f < 0.99 {
		t.Errorf("bimodal = %v", f)
	}
	if BandOf(95) != BandHigh || BandOf(75) != BandMedium || BandOf(55) != BandLow || BandOf(10) != BandNone {
		t.Error("bands")
	}
}

var (
	c2     = netip.MustParseAddr("198.51.100.77")
	ems    = netip.MustParseAddr("10.0.0.10")
	randIP = func(r *rand.Rand) netip.Addr {
		return netip.AddrFrom4([4]byte{203, 0, byte(r.IntN(4)), byte(r.IntN(250))})
	}
)

func find(rs []Result, el string, dst netip.Addr) (Result, bool) {
	for _, r := range rs {
		if r.Element == el && r.Dst == dst {
			return r, true
		}
	}
	return Result{}, false
}

func TestBeaconScenarios(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	tr := New(Config{})
	end := t0.Add(24 * time.Hour)

	// A 60 s beacon with ±3 s jitter and 480-520 byte check-ins.
	for ts := t0; ts.Before(end); ts = ts.Add(60*time.Second + time.Duration(rng.IntN(6001)-3000)*time.Millisecond) {
		tr.Add(Conn{Element: "bs-beacon", Dst: c2, Proto: 6, SrcPort: uint16(30000 + rng.IntN(20000)), DstPort: 443,
			Start: ts, End: ts.Add(time.Second), Bytes: uint64(480 + rng.IntN(41)), Packets: 8})
	}
	// Human-like: bursts of requests in working hours, random gaps and sizes.
	for day := 0; day < 1; day++ {
		ts := t0.Add(8 * time.Hour)
		for ts.Before(t0.Add(18 * time.Hour)) {
			burst := 1 + rng.IntN(6)
			for i := 0; i < burst; i++ {
				tr.Add(Conn{Element: "bs-human", Dst: ems, Proto: 6, SrcPort: uint16(30000 + rng.IntN(20000)), DstPort: 443,
					Start: ts, End: ts.Add(time.Duration(rng.IntN(20)) * time.Second),
					Bytes: uint64(math.Exp(6 + 3*rng.Float64())), Packets: 10})
				ts = ts.Add(time.Duration(1+rng.IntN(5)) * time.Second)
			}
			ts = ts.Add(time.Duration(rng.ExpFloat64()*900) * time.Second)
		}
	}
	rs := tr.Score(t0, end)
	b, ok := find(rs, "bs-beacon", c2)
	if !ok || b.Band != BandHigh || b.Kind != KindBeacon {
		t.Errorf("beacon: %+v", b)
	}
	if b.Interval < 58*time.Second || b.Interval > 62*time.Second {
		t.Errorf("beacon interval %v", b.Interval)
	}
	h, ok := find(rs, "bs-human", ems)
	if !ok || h.Score >= 50 {
		t.Errorf("human traffic: %+v", h)
	}
	t.Logf("beacon score %d (ts %.2f ds %.2f dur %.2f hist %.2f); human score %d (ts %.2f ds %.2f dur %.2f hist %.2f)",
		b.Score, b.TS, b.DS, b.Dur, b.Hist, h.Score, h.TS, h.DS, h.Dur, h.Hist)
}

func TestDailyUpload(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 3))
	tr := New(Config{})
	end := t0.Add(30 * 24 * time.Hour)
	for d := 0; d < 30; d++ {
		ts := t0.Add(time.Duration(d)*24*time.Hour + 2*time.Hour + time.Duration(rng.IntN(600)-300)*time.Second)
		tr.Add(Conn{Element: "olt-7", Dst: c2, Proto: 6, SrcPort: uint16(40000 + d), DstPort: 443,
			Start: ts, End: ts.Add(40 * time.Second), Bytes: uint64(50_000_000 + rng.IntN(500_000)), Packets: 40000})
	}
	rs := tr.Score(t0, end)
	r, ok := find(rs, "olt-7", c2)
	if !ok || r.Kind != KindLongInterval || r.Score < 70 {
		t.Fatalf("daily upload: %+v", r)
	}
	if r.Interval < 23*time.Hour || r.Interval > 25*time.Hour {
		t.Errorf("interval %v", r.Interval)
	}
	t.Logf("daily upload score %d band %s (ts %.2f ds %.2f dur %.2f hist %.2f)", r.Score, r.Band, r.TS, r.DS, r.Dur, r.Hist)
}

func TestStitchLongConnection(t *testing.T) {
	tr := New(Config{})
	// A 10 h session exported every 30 min by the active timeout.
	for i := 0; i < 20; i++ {
		s := t0.Add(time.Duration(i) * 30 * time.Minute)
		tr.Add(Conn{Element: "rtr-1", Dst: c2, Proto: 6, SrcPort: 51000, DstPort: 22,
			Start: s, End: s.Add(30*time.Minute - time.Second), Bytes: 1000, Packets: 10})
	}
	rs := tr.Score(t0, t0.Add(24*time.Hour))
	r, ok := find(rs, "rtr-1", c2)
	if !ok || r.Conns != 1 || r.Flows != 20 || r.Kind != KindLongConn {
		t.Fatalf("%+v", r)
	}
	if r.Longest < 9*time.Hour+59*time.Minute {
		t.Errorf("longest %v", r.Longest)
	}
	if math.Abs(r.LongConn-0.7) > 0.01 {
		t.Errorf("long-connection score %v, want ~0.7 (10 h)", r.LongConn)
	}
	if tr.Stitched != 19 {
		t.Errorf("stitched %d", tr.Stitched)
	}
	// A different source port is a different connection.
	tr.Add(Conn{Element: "rtr-1", Dst: c2, Proto: 6, SrcPort: 51001, DstPort: 22, Start: t0.Add(10 * time.Hour), End: t0.Add(10 * time.Hour), Bytes: 1})
	if r, _ := find(tr.Score(t0, t0.Add(24*time.Hour)), "rtr-1", c2); r.Conns != 2 {
		t.Errorf("conns %d", r.Conns)
	}
}

func TestPeerCapAndRarity(t *testing.T) {
	tr := New(Config{MaxPeersPerElement: 10})
	for i := 0; i < 100; i++ {
		dst := netip.AddrFrom4([4]byte{192, 0, 2, byte(i)})
		tr.Add(Conn{Element: "e", Dst: dst, Proto: 17, Start: t0.Add(time.Duration(i) * time.Minute), End: t0.Add(time.Duration(i) * time.Minute), Bytes: 1})
	}
	if tr.Peers() != 10 || tr.EvictedPeers != 90 {
		t.Errorf("peers %d evicted %d", tr.Peers(), tr.EvictedPeers)
	}
	// The most recent destinations survive.
	if tr.elements["e"].find(netip.AddrFrom4([4]byte{192, 0, 2, 99})) == nil {
		t.Error("most recent peer evicted")
	}
	if _, ok := tr.dsts[netip.AddrFrom4([4]byte{192, 0, 2, 0})]; ok {
		t.Error("evicted destination still counted")
	}

	// 50 elements all beacon to the EMS; one also beacons to c2.
	tr = New(Config{})
	for e := 0; e < 50; e++ {
		for i := 0; i < 100; i++ {
			s := t0.Add(time.Duration(i) * 5 * time.Minute)
			tr.Add(Conn{Element: fmt.Sprintf("bs-%02d", e), Dst: ems, Proto: 6, SrcPort: uint16(i), DstPort: 443, Start: s, End: s, Bytes: 300})
			if e == 7 {
				tr.Add(Conn{Element: "bs-07", Dst: c2, Proto: 6, SrcPort: uint16(i), DstPort: 443, Start: s, End: s, Bytes: 300})
			}
		}
	}
	rs := tr.Score(t0, t0.Add(500*time.Minute))
	rare, _ := find(rs, "bs-07", c2)
	common, _ := find(rs, "bs-07", ems)
	if rare.Elements != 1 || rare.Modifiers[0] != "rare-destination" || common.Modifiers[0] != "common-destination" {
		t.Errorf("rare %+v\ncommon %+v", rare, common)
	}
	if rare.Score-common.Score != 30 {
		t.Errorf("modifiers: rare %d common %d", rare.Score, common.Score)
	}
	if rs[0].Dst != c2 {
		t.Errorf("rare beacon not ranked first: %+v", rs[0])
	}
}

func TestFirstSeenAndDeterminism(t *testing.T) {
	mk := func() []Result {
		tr := New(Config{})
		old := netip.MustParseAddr("192.0.2.1")
		tr.SeenBefore(old, t0.Add(-60*24*time.Hour))
		// history: one flow 20 days before the beacon starts
		tr.Add(Conn{Element: "x", Dst: netip.MustParseAddr("192.0.2.200"), Start: t0.Add(-20 * 24 * time.Hour), End: t0.Add(-20 * 24 * time.Hour)})
		for i := 0; i < 200; i++ {
			s := t0.Add(time.Duration(i) * 60 * time.Second)
			tr.Add(Conn{Element: "a", Dst: c2, Proto: 6, SrcPort: uint16(i), DstPort: 443, Start: s, End: s, Bytes: uint64(500 + i%7)})
			tr.Add(Conn{Element: "a", Dst: old, Proto: 6, SrcPort: uint16(i), DstPort: 443, Start: s, End: s, Bytes: uint64(500 + i%7)})
		}
		return tr.Score(t0, t0.Add(200*time.Minute))
	}
	a, b := mk(), mk()
	if fmt.Sprint(a) != fmt.Sprint(b) {
		t.Error("same input, different output")
	}
	n, _ := find(a, "a", c2)
	o, _ := find(a, "a", netip.MustParseAddr("192.0.2.1"))
	if fmt.Sprint(n.Modifiers) != "[first-seen-recently]" || fmt.Sprint(o.Modifiers) != "[long-known]" {
		t.Errorf("new %v old %v", n.Modifiers, o.Modifiers)
	}
}

func TestStrobeAndBadInput(t *testing.T) {
	tr := New(Config{})
	for i := 0; i < 90000; i++ {
		s := t0.Add(time.Duration(i) * time.Second)
		tr.Add(Conn{Element: "s", Dst: c2, Proto: 17, SrcPort: uint16(i), DstPort: 53, Start: s, End: s, Bytes: 80})
	}
	tr.Add(Conn{Element: "s", Dst: netip.Addr{}, Start: t0})
	tr.Add(Conn{Element: "s", Dst: c2})
	rs := tr.Score(t0, t0.Add(25*time.Hour))
	if len(rs) != 1 || rs[0].Kind != KindStrobe || rs[0].Band != BandHigh {
		t.Errorf("%+v", rs)
	}
	// Out-of-order records are counted, not turned into negative deltas.
	tr = New(Config{})
	for _, m := range []int{0, 10, 5, 20, 30, 40} {
		s := t0.Add(time.Duration(m) * time.Minute)
		tr.Add(Conn{Element: "o", Dst: c2, SrcPort: uint16(m), Start: s, End: s, Bytes: 10})
	}
	r, _ := find(tr.Score(t0, t0.Add(time.Hour)), "o", c2)
	if r.OutOfOrder != 1 || r.Conns != 6 {
		t.Errorf("%+v", r)
	}
}

// TestMemoryPerElement measures heap per element with 10 peers each.
func TestMemoryPerElement(t *testing.T) {
	const n = 2000
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	tr := New(Config{})
	for e := 0; e < n; e++ {
		name := fmt.Sprintf("element-%05d", e)
		for p := 0; p < 10; p++ {
			dst := netip.AddrFrom4([4]byte{198, 51, byte(p), byte(e)})
			for i := 0; i < 40; i++ {
				s := t0.Add(time.Duration(i) * time.Minute)
				tr.Add(Conn{Element: name, Dst: dst, Proto: 6, SrcPort: uint16(i), DstPort: 443, Start: s, End: s, Bytes: 100})
			}
		}
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	per := float64(after.HeapAlloc-before.HeapAlloc) / n
	t.Logf("heap per element with 10 peers: %.0f bytes", per)
	if per > 8192 {
		t.Errorf("%.0f bytes per element > 8 KiB", per)
	}
	runtime.KeepAlive(tr)
}

func BenchmarkAdd(b *testing.B) {
	tr := New(Config{})
	dsts := make([]netip.Addr, 10)
	for i := range dsts {
		dsts[i] = netip.AddrFrom4([4]byte{198, 51, 100, byte(i)})
	}
	names := make([]string, 1000)
	for i := range names {
		names[i] = fmt.Sprintf("e%d", i)
	}
	cpuLoop(b, func(i int) {
		s := t0.Add(time.Duration(i) * time.Second)
		tr.Add(Conn{Element: names[i%1000], Dst: dsts[i%10], Proto: 6, SrcPort: uint16(i), DstPort: 443, Start: s, End: s, Bytes: 100})
	})
}
