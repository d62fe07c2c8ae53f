package beacon

import (
	"net/netip"
	"testing"
	"time"
)

// The hour-of-day counters are 8 bits wide: when one would overflow, all
// are halved, rounding up, so the histogram keeps its shape and no hour
// with traffic becomes empty.
func TestHourCountersHalve(t *testing.T) {
	tests := []struct {
		name     string
		at3, at5 int // connections starting at 03:00 and 05:00
		want3    [2]uint8
		want5    uint8
	}{
		{"below the limit", 255, 1, [2]uint8{255, 255}, 1},
		{"one halving", 256, 1, [2]uint8{129, 129}, 1},
		{"many halvings", 2000, 3, [2]uint8{128, 255}, 1},
		{"two busy hours", 1000, 1000, [2]uint8{128, 255}, 0},
	}
	for _, tt := range tests {
		tr := New(Config{})
		dst := netip.MustParseAddr("192.0.2.9")
		for i := range max(tt.at3, tt.at5) {
			day := t0.Add(time.Duration(i) * 24 * time.Hour)
			if i < tt.at3 {
				s := day.Add(3 * time.Hour)
				tr.Add(Conn{Element: "e", Dst: dst, Proto: 6, SrcPort: uint16(i), DstPort: 443, Start: s, End: s, Bytes: 10})
			}
			if i < tt.at5 {
				s := day.Add(5 * time.Hour)
				tr.Add(Conn{Element: "e", Dst: dst, Proto: 6, SrcPort: uint16(i), DstPort: 443, Start: s, End: s, Bytes: 10})
			}
		}
		p := tr.elements["e"].find(dst)
		if p == nil {
			t.Fatalf("%s: pair not kept", tt.name)
		}
		if h := p.hours[3]; h < tt.want3[0] || h > tt.want3[1] {
			t.Errorf("%s: hour 3 = %d, want %d..%d", tt.name, h, tt.want3[0], tt.want3[1])
		}
		if tt.want5 > 0 && p.hours[5] < tt.want5 {
			t.Errorf("%s: hour 5 = %d, want at least %d", tt.name, p.hours[5], tt.want5)
		}
		if tt.at3 == tt.at5 && p.hours[3] != p.hours[5] {
			t.Errorf("%s: equal hours became %d and %d", tt.name, p.hours[3], p.hours[5])
		}
		for h, n := range p.hours {
			if h != 3 && h != 5 && n != 0 {
				t.Errorf("%s: hour %d = %d, want 0", tt.name, h, n)
			}
		}
	}
}

// Times are kept as 32-bit offsets from a pair's first record: records
// decades away are clamped, not wrapped, and never panic.
func TestFarTimesClamp(t *testing.T) {
	dst := netip.MustParseAddr("192.0.2.10")
	for _, far := range []time.Time{
		time.Date(1, 1, 2, 0, 0, 0, 0, time.UTC),
		time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(9999, 12, 31, 23, 0, 0, 0, time.UTC),
		time.Unix(1<<62, 0),
		time.Unix(-1<<62, 0),
	} {
		tr := New(Config{})
		for i := range 6 {
			s := t0.Add(time.Duration(i) * time.Minute)
			tr.Add(Conn{Element: "e", Dst: dst, Proto: 6, SrcPort: uint16(i), DstPort: 443, Start: s, End: s.Add(time.Second), Bytes: 100})
		}
		tr.Add(Conn{Element: "e", Dst: dst, Proto: 6, SrcPort: 9, DstPort: 443, Start: far, End: far, Bytes: 100})
		tr.Add(Conn{Element: "e", Dst: dst, Proto: 6, SrcPort: 9, DstPort: 443, Start: t0, End: far, Bytes: 100})
		rs := tr.Score(t0, t0.Add(time.Hour))
		if len(rs) != 1 {
			t.Fatalf("%s: %d results", far, len(rs))
		}
		r := rs[0]
		if r.Flows != 8 || r.Last.Before(r.First) || r.Longest < 0 || r.Score < 0 || r.Score > 100 {
			t.Errorf("%s: %+v", far, r)
		}
		const span = 68 * 366 * 24 * time.Hour
		if r.First.Before(t0.Add(-span)) || r.Last.After(t0.Add(span)) {
			t.Errorf("%s: first %s last %s not clamped", far, r.First, r.Last)
		}
	}
}

// Packets and connection bytes saturate instead of wrapping.
func TestCountersSaturate(t *testing.T) {
	tr := New(Config{})
	dst := netip.MustParseAddr("192.0.2.11")
	for i := range 3 {
		s := t0.Add(time.Duration(i) * time.Minute)
		tr.Add(Conn{Element: "e", Dst: dst, Proto: 6, SrcPort: 1, DstPort: 443, Start: s, End: s.Add(time.Minute), Bytes: 1 << 33, Packets: 1 << 31})
	}
	p := tr.elements["e"].find(dst)
	if p.packets != 1<<32-1 || p.oBytes[0] != 1<<32-1 || p.bytes != 3<<33 {
		t.Errorf("packets %d, open bytes %d, bytes %d", p.packets, p.oBytes[0], p.bytes)
	}
	if p.longest != 180 || p.used != 1 || tr.Stitched != 2 {
		t.Errorf("stitched: longest %d s, slots %b, stitched %d", p.longest, p.used, tr.Stitched)
	}
}

// Samples are packed in 16 bits: exact below 4096, within 1/4096 above,
// and in the same order as the values.
func TestPackSamples(t *testing.T) {
	var prev float64
	check := func(v uint32) {
		got := unpack(pack(v))
		if v < 4096 && got != float64(v) {
			t.Fatalf("pack(%d) -> %v, want exact", v, got)
		}
		if d := got - float64(v); d > float64(v)/4096 || -d > float64(v)/4096 {
			t.Fatalf("pack(%d) -> %v: error %v", v, got, d)
		}
		if got < prev {
			t.Fatalf("pack(%d) -> %v, below the previous %v", v, got, prev)
		}
		prev = got
	}
	for v := uint32(0); v < 1<<20; v++ {
		check(v)
	}
	for v := uint64(1 << 20); v <= 1<<32-1; v += v/1000 + 1 {
		check(uint32(v))
	}
	check(1<<32 - 1)
	if c := pack(1<<32 - 1); unpack(c) != 1<<32 {
		t.Errorf("largest: code %d, value %v", c, unpack(c))
	}
}
