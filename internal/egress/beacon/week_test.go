package beacon

import (
	"fmt"
	"math"
	"math/rand/v2"
	"net/netip"
	"testing"
	"time"
)

// TestGeneratedWeek plays a week of management traffic for 100 elements
// with three planted behaviours and measures recall and false positives,
// both over all pairs and over pairs whose destination is not on the
// management allowlist (NTP, syslog, backup server), which is how the
// egress pipeline uses the scores.
func TestGeneratedWeek(t *testing.T) {
	if testing.Short() {
		t.Skip("generates about 600,000 flows")
	}
	var (
		ntp1    = netip.MustParseAddr("10.0.0.1")
		ntp2    = netip.MustParseAddr("10.0.0.2")
		syslog  = netip.MustParseAddr("10.0.1.1")
		backup  = netip.MustParseAddr("10.0.2.1")
		c2      = netip.MustParseAddr("198.51.100.66")
		drop    = netip.MustParseAddr("203.0.113.200")
		tunnel  = netip.MustParseAddr("192.0.2.99")
		allowed = map[netip.Addr]bool{ntp1: true, ntp2: true, syslog: true, backup: true}
		planted = map[string]netip.Addr{"el-017": c2, "el-055": drop, "el-081": tunnel}
	)
	rng := rand.New(rand.NewPCG(11, 11))
	tr := New(Config{Population: 100})
	end := t0.Add(7 * 24 * time.Hour)
	add := func(el string, dst netip.Addr, proto uint8, sp, dp uint16, s time.Time, dur time.Duration, bytes uint64) {
		tr.Add(Conn{Element: el, Dst: dst, Proto: proto, SrcPort: sp, DstPort: dp, Start: s, End: s.Add(dur), Bytes: bytes, Packets: bytes/500 + 1})
	}
	for e := 0; e < 100; e++ {
		el := fmt.Sprintf("el-%03d", e)
		phase := time.Duration(rng.IntN(256)) * time.Second
		for s := t0.Add(phase); s.Before(end); s = s.Add(256 * time.Second) {
			add(el, ntp1, 17, 123, 123, s, 0, 90)
			add(el, ntp2, 17, 123, 123, s.Add(time.Second), 0, 90)
		}
		for s := t0.Add(time.Duration(rng.ExpFloat64()*600) * time.Second); s.Before(end); s = s.Add(time.Duration(1+rng.ExpFloat64()*600) * time.Second) {
			add(el, syslog, 17, 514, 514, s, 0, uint64(100+rng.IntN(400)))
		}
		for d := 0; d < 7; d++ {
			s := t0.Add(time.Duration(d)*24*time.Hour + 3*time.Hour + time.Duration(e*20)*time.Second)
			add(el, backup, 6, uint16(40000+d), 22, s, 30*time.Second, uint64(200_000+rng.IntN(20_000)))
		}
	}
	// Benign traffic outside the allowlist: 30 elements poll a vendor
	// update server at irregular times; 20 elements see bursts of ad-hoc
	// operator sessions to a few external hosts.
	update := netip.MustParseAddr("192.0.2.10")
	for e := 0; e < 30; e++ {
		el := fmt.Sprintf("el-%03d", e*3)
		for s := t0.Add(time.Duration(rng.ExpFloat64()*4*3600) * time.Second); s.Before(end); s = s.Add(time.Duration(60+rng.ExpFloat64()*4*3600) * time.Second) {
			add(el, update, 6, uint16(rng.IntN(60000)), 443, s, 3*time.Second, uint64(math.Exp(7+4*rng.Float64())))
		}
	}
	for e := 0; e < 20; e++ {
		el := fmt.Sprintf("el-%03d", 100-e-1)
		dst := netip.AddrFrom4([4]byte{203, 0, 113, byte(10 + e%5)})
		for b := 0; b < 3+rng.IntN(5); b++ {
			s := t0.Add(time.Duration(rng.IntN(7*24*3600)) * time.Second)
			for i := 0; i < 3+rng.IntN(15); i++ {
				add(el, dst, 6, uint16(rng.IntN(60000)), 443, s, time.Duration(rng.IntN(300))*time.Second, uint64(math.Exp(6+5*rng.Float64())))
				s = s.Add(time.Duration(1+rng.ExpFloat64()*120) * time.Second)
			}
		}
	}
	// Planted: a 60 s beacon with jitter, a daily upload, a 20 h tunnel.
	for s := t0.Add(5 * time.Hour); s.Before(end); s = s.Add(60*time.Second + time.Duration(rng.IntN(4001)-2000)*time.Millisecond) {
		add("el-017", c2, 6, uint16(30000+rng.IntN(30000)), 443, s, 2*time.Second, uint64(700+rng.IntN(60)))
	}
	for d := 0; d < 7; d++ {
		s := t0.Add(time.Duration(d)*24*time.Hour + 2*time.Hour + time.Duration(rng.IntN(900))*time.Second)
		add("el-055", drop, 6, uint16(50000+d), 443, s, 90*time.Second, uint64(80_000_000+rng.IntN(2_000_000)))
	}
	for i := 0; i < 40; i++ { // active timeout 30 min
		s := t0.Add(48*time.Hour + time.Duration(i)*30*time.Minute)
		add("el-081", tunnel, 6, 41000, 443, s, 30*time.Minute, 5_000_000)
	}

	rs := tr.Score(t0, end)
	const alertAt = 70 // medium and above
	var found, fpAll, fpOutside, normal, normalOutside, maxOutside int
	for _, r := range rs {
		if dst, ok := planted[r.Element]; ok && dst == r.Dst {
			if r.Score >= alertAt {
				found++
			}
			t.Logf("planted %s -> %s: score %d %s %s (ts %.2f ds %.2f dur %.2f hist %.2f fill %.2f long %.2f) %v",
				r.Element, r.Dst, r.Score, r.Band, r.Kind, r.TS, r.DS, r.Dur, r.Hist, r.Fill, r.LongConn, r.Modifiers)
			continue
		}
		normal++
		if r.Score >= alertAt {
			fpAll++
		}
		if !allowed[r.Dst] {
			maxOutside = max(maxOutside, r.Score)
			normalOutside++
			if r.Score >= alertAt {
				fpOutside++
			}
		}
	}
	recall := float64(found) / float64(len(planted))
	t.Logf("pairs scored %d; recall %d/%d = %.2f; false positives: %d of %d normal pairs (all destinations), %d of %d (outside the allowlist, highest score %d)",
		len(rs), found, len(planted), recall, fpAll, normal, fpOutside, normalOutside, maxOutside)
	if recall < 1 {
		t.Errorf("recall %.2f", recall)
	}
	if fpOutside != 0 {
		t.Errorf("%d false positives outside the allowlist", fpOutside)
	}
	if math.IsNaN(recall) {
		t.Fatal("nan")
	}
}
