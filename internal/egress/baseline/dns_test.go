package baseline

import (
	"net/netip"
	"testing"
	"time"
)

func TestDNS(t *testing.T) {
	op := netip.MustParseAddr("10.20.1.1")
	foreign := netip.MustParseAddr("185.193.124.53")
	t0 := time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)
	type burst struct {
		at      time.Duration
		dst     netip.Addr
		covered bool
		n       int    // flows
		pkts    uint64 // queries per flow
		size    uint64 // bytes per flow
	}
	cases := []struct {
		name   string
		bursts []burst
		want   []string // kind@hour offset
	}{
		{"quiet", nil, nil},
		{"foreign resolver, many queries", []burst{{10 * time.Hour, foreign, false, 150, 1, 180}}, []string{DNSUncovered + "@10h0m0s"}},
		{"foreign resolver, few queries", []burst{{10 * time.Hour, foreign, false, 20, 1, 80}}, nil},
		{"queries counted by packets", []burst{{10 * time.Hour, foreign, false, 10, 12, 1800}}, []string{DNSUncovered + "@10h0m0s"}},
		{"operator resolver, burst after warm-up", []burst{{72 * time.Hour, op, true, 900, 1, 200}}, []string{DNSRate + "@72h0m0s"}},
		{"operator resolver, burst during warm-up", []burst{{20 * time.Hour, op, true, 900, 1, 200}}, nil},
		{"operator resolver, below the floor", []burst{{72 * time.Hour, op, true, 300, 1, 200}}, nil},
		{"operator resolver, many small queries but normal bytes", []burst{{72 * time.Hour, op, true, 700, 1, 2}}, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := NewDNS(DNSConfig{})
			// Background: 6 queries of 70 bytes an hour to the operator's resolver for five days.
			end := 120 * time.Hour
			for h := time.Duration(0); h < end; h += time.Hour {
				for i := range 6 {
					d.Add("el", op, t0.Add(h+time.Duration(i)*10*time.Minute), 1, 70, true)
				}
				for _, b := range c.bursts {
					if b.at == h {
						for i := range b.n {
							d.Add("el", b.dst, t0.Add(h+time.Duration(i)*time.Second), b.pkts, b.size, b.covered)
						}
					}
				}
			}
			d.Flush(t0.Add(end))
			var got []string
			for _, a := range d.Alerts() {
				got = append(got, a.Kind+"@"+a.Hour.Sub(t0).String())
				if a.Kind == DNSUncovered && (a.Dst != foreign || a.Covered || a.Resolvers != 1) {
					t.Errorf("uncovered alert %+v", a)
				}
				if a.Kind == DNSRate && (a.Dst != op || !a.Covered) {
					t.Errorf("rate alert %+v", a)
				}
			}
			if len(got) != len(c.want) {
				t.Fatalf("alerts %v, want %v", got, c.want)
			}
			for i := range got {
				if got[i] != c.want[i] {
					t.Errorf("alerts %v, want %v", got, c.want)
				}
			}
		})
	}
}

// A tunnel that runs every night keeps alerting: its hours do not teach
// the baseline.
func TestDNSNightlyTunnelStaysAnomalous(t *testing.T) {
	d := NewDNS(DNSConfig{})
	op := netip.MustParseAddr("10.20.1.1")
	t0 := time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)
	for h := 0; h < 24*21; h++ {
		at := t0.Add(time.Duration(h) * time.Hour)
		d.Add("el", op, at, 3, 210, true)
		if h >= 24*7 && h%24 == 2 {
			for i := range 1800 {
				d.Add("el", op, at.Add(time.Duration(i)*2*time.Second), 1, 200, true)
			}
		}
	}
	d.Flush(t0.Add(21 * 24 * time.Hour))
	if n := len(d.Alerts()); n != 14 {
		t.Errorf("%d alerts for 14 nights of tunnelling", n)
	}
}

func TestDNSLateAndGaps(t *testing.T) {
	d := NewDNS(DNSConfig{})
	op := netip.MustParseAddr("10.20.1.1")
	t0 := time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)
	d.Add("el", op, t0.Add(10*time.Hour), 1, 70, true)
	d.Add("el", op, t0.Add(9*time.Hour), 1, 70, true) // one hour late: kept
	d.Add("el", op, t0.Add(5*time.Hour), 1, 70, true) // too late
	if d.Late != 1 {
		t.Errorf("late %d, want 1", d.Late)
	}
	// A silence of a year does not loop hour by hour and leaves a tiny mean.
	d.Add("el", op, t0.Add(365*24*time.Hour), 1, 70, true)
	e := d.elements["el"]
	if e.meanQ > 1e-3 || e.watched < 365*24-20 {
		t.Errorf("after a year: mean %g, watched %d", e.meanQ, e.watched)
	}
	d2 := NewDNS(DNSConfig{MaxElements: 1})
	d2.Add("a", op, t0, 1, 70, true)
	d2.Add("b", op, t0, 1, 70, true)
	if d2.DroppedElements != 1 {
		t.Errorf("dropped %d, want 1", d2.DroppedElements)
	}
}

func TestDNSAdvance(t *testing.T) {
	d := NewDNS(DNSConfig{})
	foreign := netip.MustParseAddr("185.193.124.53")
	t0 := time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)
	for i := range 200 {
		d.Add("el", foreign, t0.Add(time.Duration(i)*10*time.Second), 1, 150, false)
	}
	d.Advance("el", t0.Add(time.Hour+30*time.Minute)) // the hour is still open
	d.Advance("other", t0.Add(5*time.Hour))           // unknown elements are ignored
	if n := len(d.Alerts()); n != 0 {
		t.Fatalf("%d alerts before the hour closed", n)
	}
	d.Advance("el", t0.Add(2*time.Hour))
	if a := d.Alerts(); len(a) != 1 || !a[0].Hour.Equal(t0) || a[0].Queries != 200 {
		t.Fatalf("alerts %+v", a)
	}
}

func BenchmarkDNSAdd(b *testing.B) {
	d := NewDNS(DNSConfig{})
	op := netip.MustParseAddr("10.20.1.1")
	names := make([]string, 1000)
	for i := range names {
		names[i] = "el-" + string(rune('a'+i%26)) + string(rune('a'+i/26%26)) + string(rune('a'+i/676))
	}
	t0 := time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)
	i := 0
	for b.Loop() {
		d.Add(names[i%len(names)], op, t0.Add(time.Duration(i)*time.Millisecond), 1, 80, true)
		i++
	}
}
