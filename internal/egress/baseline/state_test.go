package baseline

import (
	"math"
	"net/netip"
	"strings"
	"testing"
	"time"
)

// A baseline learnt by one detector and restored into another alerts as if
// the second had watched the whole time; without the restore it is still
// warming up. Records of hours already learnt are skipped.
func TestVolumeRestore(t *testing.T) {
	learn := func(d *Detector, weeks int) {
		for w := range weeks {
			d.Add("x", start.Add(time.Duration(w)*7*24*time.Hour), 1_000_000)
		}
	}
	a := New(Config{})
	learn(a, 3)
	a.Flush(start.Add(2*7*24*time.Hour + time.Hour))
	snap := a.Snapshot()
	if len(snap) != 1 || snap[0].Weeks[0] != 3 || snap[0].Mean[0] != 1_000_000 {
		t.Fatalf("snapshot %+v", snap)
	}
	if want := start.Add(2*7*24*time.Hour + time.Hour); !snap[0].Through.Equal(want) {
		t.Errorf("through %s, want %s", snap[0].Through, want)
	}
	spike := start.Add(3 * 7 * 24 * time.Hour)

	b := New(Config{})
	if err := b.Restore(snap); err != nil {
		t.Fatal(err)
	}
	learn(b, 3) // the same weeks again: already learnt, skipped
	if b.Learnt != 3 {
		t.Errorf("learnt-skipped = %d, want 3", b.Learnt)
	}
	b.Add("x", spike, 60_000_000)
	b.Flush(spike)
	if al := b.Alerts(); len(al) != 1 || al[0].Bytes != 60_000_000 || al[0].Mean != 1_000_000 {
		t.Errorf("restored detector: alerts %+v", al)
	}
	if m, _, n := b.Baseline("x", 0); n != 4 || m == 1_000_000 {
		t.Errorf("after the spike hour: mean %v weeks %d", m, n)
	}

	c := New(Config{})
	c.Add("x", spike, 60_000_000)
	c.Flush(spike)
	if al := c.Alerts(); len(al) != 0 {
		t.Errorf("fresh detector alerted during warm-up: %+v", al)
	}
}

func TestRestoreRejects(t *testing.T) {
	good := func() VolumeState {
		return VolumeState{Element: "x", Mean: make([]float64, HoursPerWeek), Variance: make([]float64, HoursPerWeek),
			Weeks: make([]uint16, HoursPerWeek), Through: start}
	}
	nan := good()
	nan.Mean[5] = math.NaN()
	short := good()
	short.Weeks = short.Weeks[:10]
	odd := good()
	odd.Through = start.Add(time.Minute)
	for _, tc := range []struct {
		name   string
		states []VolumeState
		want   string
	}{
		{"nan", []VolumeState{nan}, "hour 5: mean and variance must be finite"},
		{"short", []VolumeState{short}, "want 168 values"},
		{"through", []VolumeState{odd}, "through must be the start of an hour"},
		{"twice", []VolumeState{good(), good()}, `volume baseline of "x" given twice`},
	} {
		err := New(Config{}).Restore(tc.states)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want ~%q", tc.name, err, tc.want)
		}
	}
	d := New(Config{})
	d.Add("y", start, 1)
	if err := d.Restore([]VolumeState{good()}); err == nil {
		t.Error("restore into a detector with data accepted")
	}
	if err := New(Config{MaxElements: 1}).Restore([]VolumeState{good(), {Element: "z"}}); err == nil || !strings.Contains(err.Error(), "more than the 1 elements") {
		t.Errorf("cap: %v", err)
	}
	for _, s := range []DNSState{{Element: "x", MeanQueries: -1, Through: start}, {Element: "x", Hours: 3}} {
		if err := NewDNS(DNSConfig{}).Restore([]DNSState{s}); err == nil {
			t.Errorf("bad DNS state %+v accepted", s)
		}
	}
}

// The DNS rate test needs 48 hours of watching; a restored baseline has them.
func TestDNSRestore(t *testing.T) {
	op := netip.MustParseAddr("10.20.1.1")
	t0 := time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)
	a := NewDNS(DNSConfig{})
	for h := range 72 {
		for range 6 {
			a.Add("x", op, t0.Add(time.Duration(h)*time.Hour), 1, 70, true)
		}
	}
	a.Flush(t0.Add(71 * time.Hour))
	snap := a.Snapshot()
	if len(snap) != 1 || snap[0].Hours < 48 {
		t.Fatalf("snapshot %+v", snap)
	}
	burst := func(d *DNS) []DNSAlert {
		at := t0.Add(100 * time.Hour)
		for range 900 {
			d.Add("x", op, at, 1, 200, true)
		}
		d.Flush(at)
		return d.Alerts()
	}
	b := NewDNS(DNSConfig{})
	if err := b.Restore(snap); err != nil {
		t.Fatal(err)
	}
	if al := burst(b); len(al) != 1 || al[0].Kind != DNSRate {
		t.Errorf("restored: %+v", al)
	}
	if al := burst(NewDNS(DNSConfig{})); len(al) != 0 {
		t.Errorf("fresh detector alerted during warm-up: %+v", al)
	}
}
