package baseline

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"time"
)

// month generates 4 weeks plus 2 days of hourly traffic for n elements
// with a diurnal and weekly shape and ±20 % noise, sent as 12 records per
// hour. plant(el, hour) may return extra bytes for an hour.
func month(d *Detector, n int, start time.Time, plant func(el int, h int) uint64) {
	rng := rand.New(rand.NewPCG(42, 42))
	hours := 30 * 24
	for h := 0; h < hours; h++ {
		ts := start.Add(time.Duration(h) * time.Hour)
		for el := 0; el < n; el++ {
			base := 20e6 // 20 MB an hour of management traffic
			hod := ts.Hour()
			if hod >= 8 && hod < 18 {
				base *= 3 // busier in the day (config pushes, polling)
			}
			if wd := ts.Weekday(); wd == time.Saturday || wd == time.Sunday {
				base *= 0.5
			}
			if el%10 == 3 && hod == 2 {
				base += 300e6 // a nightly backup that is normal for this element
			}
			total := uint64(base * (0.8 + 0.4*rng.Float64()))
			if plant != nil {
				total += plant(el, h)
			}
			for r := 0; r < 12; r++ {
				d.Add(fmt.Sprintf("el-%03d", el), ts.Add(time.Duration(r)*5*time.Minute+time.Duration(rng.IntN(60))*time.Second), total/12)
			}
		}
	}
	d.Flush(start.Add(time.Duration(hours) * time.Hour))
}

var start = time.Date(2026, 10, 5, 0, 0, 0, 0, time.UTC) // a Monday

func TestGeneratedMonth(t *testing.T) {
	d := New(Config{})
	jumpHour := 27*24 + 14 // day 27, 14:00
	month(d, 100, start, func(el, h int) uint64 {
		if el == 42 && h == jumpHour {
			return 2e9 // 2 GB extra in one hour
		}
		return 0
	})
	alerts := d.Alerts()
	if len(alerts) != 1 {
		for _, a := range alerts {
			t.Logf("%+v", a)
		}
		t.Fatalf("%d alerts, want 1 (the planted jump)", len(alerts))
	}
	a := alerts[0]
	if a.Element != "el-042" || !a.Hour.Equal(start.Add(time.Duration(jumpHour)*time.Hour)) || a.Ratio < 4 {
		t.Errorf("%+v", a)
	}
	// The nightly backup of el-003 is learnt, not flagged.
	m, _, weeks := d.Baseline("el-003", 2)
	if m < 250e6 || weeks < 4 {
		t.Errorf("el-003 02:00 baseline %.0f over %d weeks", m, weeks)
	}
}

func TestFloorAndThreshold(t *testing.T) {
	// A nearly silent element: 10x its tiny baseline stays under the floor.
	e := New(Config{Floor: 5_000_000, Threshold: 4})
	for w := 0; w < 3; w++ {
		ts := start.Add(time.Duration(w) * 7 * 24 * time.Hour)
		e.Add("quiet", ts, 100_000)
	}
	e.Add("quiet", start.Add(3*7*24*time.Hour), 1_000_000) // 10x but +0.9 MB < floor
	e.Add("quiet", start.Add(4*7*24*time.Hour), 50_000_000)
	e.Flush(start.Add(4*7*24*time.Hour + time.Hour))
	al := e.Alerts()
	if len(al) != 1 || al[0].Bytes != 50_000_000 {
		t.Errorf("%+v", al)
	}
}

func TestLateAndGaps(t *testing.T) {
	d := New(Config{})
	d.Add("x", start.Add(3*time.Hour), 10)
	d.Add("x", start.Add(2*time.Hour+59*time.Minute), 5) // one hour late: still counted
	d.Add("x", start.Add(5*time.Hour), 1)
	d.Add("x", start.Add(time.Hour), 1) // too late
	if d.Late != 1 {
		t.Errorf("late = %d", d.Late)
	}
	d.Flush(start.Add(5 * time.Hour))
	if m, _, n := d.Baseline("x", 2); m != 5 || n != 1 {
		t.Errorf("hour 2: mean %v visits %d", m, n)
	}
	if _, _, n := d.Baseline("x", 1); n != 0 {
		t.Error("hour before the first record was folded in")
	}
	// A year-long gap is bounded work.
	t0 := time.Now()
	d.Add("x", start.Add(365*24*time.Hour), 1)
	if time.Since(t0) > time.Second {
		t.Error("gap handling too slow")
	}
	if _, _, n := d.Baseline("x", 100); n > 9 {
		t.Errorf("bucket visited %d times after a gap", n)
	}
}

func TestHourOfWeek(t *testing.T) {
	for _, tc := range []struct {
		t    time.Time
		want int
	}{
		{time.Date(2026, 10, 5, 0, 0, 0, 0, time.UTC), 0},     // Monday
		{time.Date(2026, 10, 11, 23, 0, 0, 0, time.UTC), 167}, // Sunday 23:00
		{time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC), 72},     // Thursday
	} {
		if got := hourOfWeek(tc.t.Unix() / 3600); got != tc.want {
			t.Errorf("%v: %d want %d", tc.t, got, tc.want)
		}
	}
	if sat(math.MaxUint64-1, 5) != math.MaxUint64 {
		t.Error("sat")
	}
}

func BenchmarkAdd(b *testing.B) {
	d := New(Config{})
	names := make([]string, 1000)
	for i := range names {
		names[i] = fmt.Sprintf("e%d", i)
	}
	for i := 0; b.Loop(); i++ {
		d.Add(names[i%1000], start.Add(time.Duration(i)*time.Millisecond), 1500)
	}
}
