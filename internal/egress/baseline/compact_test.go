package baseline

import (
	"math"
	"testing"
	"time"
)

func TestVisitCounters(t *testing.T) {
	tests := []struct{ set, want int }{{0, 0}, {1, 1}, {62, 62}, {63, 63}, {64, 63}, {1000, 63}, {-1, 0}}
	for _, tt := range tests {
		for _, i := range []int{0, 9, 10, 83, 167} {
			var v visitCounts
			for j := range HoursPerWeek {
				v.set(j, 63) // neighbours must not change
			}
			v.set(i, tt.set)
			if got := v.get(i); got != tt.want {
				t.Errorf("set(%d, %d): get = %d, want %d", i, tt.set, got, tt.want)
			}
			for j := range HoursPerWeek {
				if j != i && v.get(j) != 63 {
					t.Fatalf("set(%d, %d) changed counter %d to %d", i, tt.set, j, v.get(j))
				}
			}
		}
	}
}

// Weeks are counted up to 63: a restored state with more is loaded as 63,
// and a warm-up beyond 63 weeks is taken as 63 so that buckets can alert.
func TestWeeksSaturate(t *testing.T) {
	s := VolumeState{Element: "x", Mean: make([]float64, HoursPerWeek), Variance: make([]float64, HoursPerWeek),
		Weeks: make([]uint16, HoursPerWeek), Through: start}
	for h := range HoursPerWeek {
		s.Mean[h], s.Weeks[h] = 1000, uint16(h*300)
	}
	d := New(Config{Warmup: 500})
	if err := d.Restore([]VolumeState{s}); err != nil {
		t.Fatal(err)
	}
	for _, h := range []int{0, 1, 167} {
		if _, _, w := d.Baseline("x", h); w != min(h*300, 63) {
			t.Errorf("hour %d: %d weeks, want %d", h, w, min(h*300, 63))
		}
	}
	// 2026-11-02 is a Monday: hour 1 of the week has 63 weeks.
	d.Add("x", start.Add(time.Hour), 1e9)
	d.Flush(start.Add(3 * time.Hour))
	if a := d.Alerts(); len(a) != 1 || a[0].HourOfWk != 1 {
		t.Errorf("alerts %+v", a)
	}
}

// Means and variances are stored as float32: byte counts near 2^64 make a
// variance beyond float32's range, which saturates and still passes Check.
func TestHugeHoursStayFinite(t *testing.T) {
	d := New(Config{})
	for w := range 4 {
		b := uint64(math.MaxUint64)
		if w%2 == 1 {
			b = 0
		}
		d.Add("x", start.Add(time.Duration(w)*7*24*time.Hour), b)
	}
	d.Flush(start.Add(3*7*24*time.Hour + time.Hour))
	snap := d.Snapshot()
	if len(snap) != 1 {
		t.Fatalf("snapshot %+v", snap)
	}
	if err := snap[0].Check(); err != nil {
		t.Error(err)
	}
	if m, sd, w := d.Baseline("x", 0); w != 4 || math.IsInf(m, 0) || math.IsNaN(sd) || sd <= 0 {
		t.Errorf("mean %g stdev %g weeks %d", m, sd, w)
	}
}
