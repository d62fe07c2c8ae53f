package beacon

import (
	"math"
	"net/netip"
	"slices"
	"time"
)

// Band names.
const (
	BandNone   = "none"
	BandLow    = "low"
	BandMedium = "medium"
	BandHigh   = "high"
)

// Kinds of result.
const (
	KindBeacon       = "beacon"               // regular short-interval callbacks
	KindLongInterval = "long-interval-beacon" // median interval of 1 h or more (daily uploads)
	KindStrobe       = "strobe"               // one connection per second or more, not scored
	KindLongConn     = "long-connection"      // one stitched connection lasting hours
)

// Result is the score of one (element, destination) pair.
type Result struct {
	Element string
	Dst     netip.Addr
	Score   int // 0-100, after modifiers
	Band    string
	Kind    string

	TS, DS, Dur, Hist float64 // component scores 0..1
	Base              float64 // weighted sum before modifiers
	LongConn          float64 // long-connection score 0..1
	Fill              float64 // beat fill 0..1 (see Score)
	Modifiers         []string

	Interval    time.Duration // median interval between connection starts
	IntervalMAD time.Duration
	SizeMedian  float64 // median bytes per connection
	Longest     time.Duration

	Conns, Flows   int
	OutOfOrder     int
	Bytes, Packets uint64
	First, Last    time.Time
	Elements       int     // elements talking to Dst
	Prevalence     float64 // Elements / population
}

// BandOf maps a 0-100 score to a band: <50 none, 50-69 low, 70-89 medium,
// >=90 high.
func BandOf(score int) string {
	switch {
	case score >= 90:
		return BandHigh
	case score >= 70:
		return BandMedium
	case score >= 50:
		return BandLow
	}
	return BandNone
}

// Modifier sizes (added to the 0..1 score, then clamped).
const (
	modRare   = 0.15
	modCommon = -0.15
	modNew    = 0.15
	modOld    = -0.15
)

// Score scores every pair over the window [from, to] and returns the
// pairs that have enough connections or a long connection, best first
// (ties by element, then destination). It does not change the Tracker.
func (t *Tracker) Score(from, to time.Time) []Result {
	window := float64(to.Unix() - from.Unix())
	if window <= 0 {
		window = 1
	}
	pop := t.cfg.Population
	if pop <= 0 {
		pop = len(t.elements)
	}
	var out []Result
	for name, el := range t.elements {
		for _, x := range el.peers {
			if r, ok := t.scorePair(name, x.dst, x.p, window, pop, to.Unix()); ok {
				out = append(out, r)
			}
		}
	}
	sortResults(out)
	return out
}

func (t *Tracker) scorePair(name string, dst netip.Addr, p *pair, window float64, pop int, now int64) (Result, bool) {
	r := Result{
		Element: name, Dst: dst,
		Conns: int(p.conns), Flows: int(p.flows), OutOfOrder: int(p.outOfOrder),
		Bytes: p.bytes, Packets: uint64(p.packets),
		First: time.Unix(p.abs(p.first), 0).UTC(), Last: time.Unix(p.abs(p.last), 0).UTC(),
		Longest: time.Duration(p.longest) * time.Second,
	}
	r.LongConn = longConnScore(float64(p.longest))
	if d := t.dsts[dst]; d != nil {
		r.Elements = int(d.elements)
	}
	if pop > 0 {
		r.Prevalence = float64(r.Elements) / float64(pop)
	}

	span := float64(int64(p.last) - int64(p.first))
	if days := math.Max(span, 1) / 86400; p.conns >= 86400 && float64(p.conns)/math.Max(days, 1) >= 86400 {
		r.Kind, r.Score, r.Band = KindStrobe, 100, BandHigh
		return r, true
	}

	beacon := int(p.conns) >= t.cfg.MinConnections && min(p.nDeltas(), Samples) >= 3
	if beacon {
		deltas := make([]float64, min(p.nDeltas(), Samples))
		for i := range deltas {
			deltas[i] = unpack(p.deltas[i])
		}
		var q2, madv float64
		r.TS, q2, madv = regularity(deltas, 10, 1)
		// Beat fill: a beacon's intervals account for its whole active
		// span, (conns-1)·median ≈ last-first. Bursty traffic has a small
		// median interval and long silences, so its fill is near 0. Up to
		// half the beats may be missing before the score is reduced.
		if span > 0 {
			r.Fill = clamp01(2 * float64(p.conns-1) * q2 / span)
			r.TS *= r.Fill
		}
		r.Interval = time.Duration(q2 * float64(time.Second))
		r.IntervalMAD = time.Duration(madv * float64(time.Second))

		// Sizes: the reservoir plus the still-open connections.
		sizes := make([]float64, 0, Samples+Open)
		for i := range min(p.nSizes, Samples) {
			sizes = append(sizes, unpack(p.sizes[i]))
		}
		for i := range Open {
			if p.isUsed(i) {
				sizes = append(sizes, float64(p.oBytes[i]))
			}
		}
		if len(sizes) >= 3 {
			r.DS, r.SizeMedian, _ = regularity(sizes, 10, 0)
		}

		hours := make([]float64, 24)
		nonEmpty := 0
		for i, h := range p.hours {
			hours[i] = float64(h)
			if h > 0 {
				nonEmpty++
			}
		}
		coverage := clamp01(span / window)
		consistency := 0.0
		if nonEmpty >= 6 {
			consistency = float64(longestRun(hours)) / 12
		}
		r.Dur = clamp01(math.Max(coverage, consistency))

		if q2 >= 3600 {
			r.Kind = KindLongInterval
			r.Hist = beatScore(p, q2)
		} else {
			r.Kind = KindBeacon
			r.Hist = math.Max(cvScore(hours), bimodalFit(hours))
		}
		w := t.cfg.Weights
		r.Base = w[0]*r.TS + w[1]*r.DS + w[2]*r.Dur + w[3]*r.Hist
	}
	if !beacon && r.LongConn == 0 {
		return r, false
	}
	s := r.Base
	if r.LongConn > s {
		s, r.Kind = r.LongConn, KindLongConn
	}

	// Modifiers: rarity of the destination among elements, and how new it is.
	if pop >= 3 {
		switch {
		case r.Elements == 1 || r.Prevalence <= 0.02:
			s += modRare
			r.Modifiers = append(r.Modifiers, "rare-destination")
		case r.Prevalence >= 0.5:
			s += modCommon
			r.Modifiers = append(r.Modifiers, "common-destination")
		}
	}
	if d := t.dsts[dst]; d != nil {
		const day = 86400
		switch {
		case now-d.first <= 7*day && d.first-t.start >= 7*day:
			s += modNew
			r.Modifiers = append(r.Modifiers, "first-seen-recently")
		case now-d.first >= 30*day:
			s += modOld
			r.Modifiers = append(r.Modifiers, "long-known")
		}
	}
	r.Score = int(math.Round(100 * clamp01(s)))
	r.Band = BandOf(r.Score)
	return r, true
}

// beatScore is the histogram score for long intervals: the recent
// connection starts are put in bins one median interval wide (rounded to
// the nearest beat); a beacon fills every bin once, so the score is the
// evenness (1 - CV) over the bins from the first to the last beat.
func beatScore(p *pair, interval float64) float64 {
	ts := p.recent()
	if len(ts) < 3 || interval <= 0 {
		return 0
	}
	slices.Sort(ts)
	nb := int(math.Round((ts[len(ts)-1]-ts[0])/interval)) + 1
	if nb > 4*Recent {
		nb = 4 * Recent
	}
	bins := make([]float64, nb)
	for _, x := range ts {
		i := int(math.Round((x - ts[0]) / interval))
		if i >= 0 && i < nb {
			bins[i]++
		}
	}
	return cvScore(bins)
}
