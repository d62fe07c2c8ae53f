package baseline

import (
	"cmp"
	"math"
	"net/netip"
	"slices"
	"time"
)

// DNSConfig tunes a DNS detector. Zero fields take the defaults in brackets.
type DNSConfig struct {
	// MinUncovered is the number of queries in one hour to resolvers the
	// allowlist does not cover that alerts [100].
	MinUncovered uint64
	// Factor and MinQueries: an hour alerts when its queries exceed
	// Factor × the element's mean hourly queries, its bytes exceed Factor
	// × the mean hourly bytes, and it has at least MinQueries queries
	// [10, 500].
	Factor     float64
	MinQueries uint64
	// Alpha is the weight of each new hour in the exponentially weighted
	// means [0.02: a memory of about two days].
	Alpha float64
	// Warmup is the number of hours an element must have been watched
	// before the rate test applies [48].
	Warmup      int
	MaxElements int // elements tracked [100000]; more are counted and dropped
}

func (c DNSConfig) withDefaults() DNSConfig {
	if c.MinUncovered == 0 {
		c.MinUncovered = 100
	}
	if c.Factor <= 1 {
		c.Factor = 10
	}
	if c.MinQueries == 0 {
		c.MinQueries = 500
	}
	if c.Alpha <= 0 || c.Alpha > 1 {
		c.Alpha = 0.02
	}
	if c.Warmup <= 0 {
		c.Warmup = 48
	}
	if c.MaxElements <= 0 {
		c.MaxElements = 100_000
	}
	return c
}

// DNS alert kinds.
const (
	DNSUncovered = "uncovered-resolver" // many queries to resolvers the allowlist does not cover
	DNSRate      = "rate"               // far more queries and bytes than the element's baseline
)

// DNSAlert is one hour of suspicious DNS from an element.
type DNSAlert struct {
	Element   string
	Kind      string
	Hour      time.Time  // start of the hour (UTC)
	Dst       netip.Addr // the resolver that got the most queries (uncovered ones for DNSUncovered)
	Covered   bool       // Dst is covered by the allowlist
	Queries   uint64     // queries (packets to port 53) in the hour
	Bytes     uint64
	Flows     uint64
	Resolvers int     // distinct port-53 destinations in the hour (uncovered ones for DNSUncovered), at most MaxResolvers
	Uncovered uint64  // queries to uncovered resolvers
	MeanQ     float64 // baseline mean queries per hour (before this hour)
	MeanBytes float64
	Watched   int // hours the element has been watched
}

// MaxResolvers is the number of distinct resolvers counted per element and
// hour; further ones are folded into the last.
const MaxResolvers = 4

type dnsDst struct {
	addr           netip.Addr
	covered        bool
	queries, bytes uint64
	flows          uint64
}

type dnsHour struct {
	dsts                    [MaxResolvers]dnsDst
	n                       int
	queries, bytes, flows   uint64
	uncovered, uncoveredDst uint64
}

func (h *dnsHour) add(dst netip.Addr, covered bool, queries, bytes uint64) {
	h.queries = sat(h.queries, queries)
	h.bytes = sat(h.bytes, bytes)
	h.flows++
	if !covered {
		h.uncovered = sat(h.uncovered, queries)
	}
	i := 0
	for i < h.n && (h.dsts[i].addr != dst || h.dsts[i].covered != covered) {
		i++
	}
	if i == h.n {
		if h.n < MaxResolvers {
			h.n++
			h.dsts[i] = dnsDst{addr: dst, covered: covered}
		} else {
			i = MaxResolvers - 1
		}
	}
	d := &h.dsts[i]
	d.queries, d.bytes, d.flows = sat(d.queries, queries), sat(d.bytes, bytes), d.flows+1
}

type dnsElement struct {
	open            [2]dnsHour // hours cur-1 and cur
	cur             int64
	meanQ, meanB    float64
	watched         int
	started         bool
	through         int64 // last hour learnt, as in element
	learnt          bool
	restoredThrough int64
	restored        bool
}

// DNS watches each element's queries to port 53, per hour, for the signs of
// DNS tunnelling: many queries to a resolver that is not the operator's, or
// far more queries and bytes than the element usually sends. It is not
// safe for concurrent use.
type DNS struct {
	cfg      DNSConfig
	elements map[string]*dnsElement
	alerts   []DNSAlert

	Late            uint64 // records older than the open hours, dropped
	Learnt          uint64 // records of hours a restored baseline already learnt, skipped
	DroppedElements uint64
}

// NewDNS returns an empty DNS detector.
func NewDNS(cfg DNSConfig) *DNS {
	return &DNS{cfg: cfg.withDefaults(), elements: map[string]*dnsElement{}}
}

// Add counts one flow to port 53: queries is its packet count (a flow
// holds at least one query), covered says whether the allowlist covers
// the destination.
func (d *DNS) Add(el string, dst netip.Addr, t time.Time, queries, bytes uint64, covered bool) {
	e := d.elements[el]
	if e == nil {
		if len(d.elements) >= d.cfg.MaxElements {
			d.DroppedElements++
			return
		}
		e = &dnsElement{}
		d.elements[el] = e
	}
	h := unixHour(t)
	if e.restored && h <= e.restoredThrough {
		d.Learnt++
		return
	}
	if !e.started {
		e.cur, e.started = h, true
	}
	queries = max(queries, 1)
	switch {
	case h == e.cur:
		e.open[1].add(dst, covered, queries, bytes)
	case h == e.cur-1:
		e.open[0].add(dst, covered, queries, bytes)
	case h < e.cur-1:
		d.Late++
	default:
		d.advance(el, e, h)
		e.open[1].add(dst, covered, queries, bytes)
	}
}

// Advance moves an element's clock to now, the time of its latest record
// of any kind: hours before the two latest are closed (and may alert) even
// when the element sent no DNS since.
func (d *DNS) Advance(el string, now time.Time) {
	if e := d.elements[el]; e != nil && e.started {
		if h := unixHour(now); h > e.cur {
			d.advance(el, e, h)
		}
	}
}

// Flush closes every open hour up to and including the hour of now.
func (d *DNS) Flush(now time.Time) {
	h := unixHour(now) + 2
	for n, e := range d.elements { // alerts are sorted when taken
		if e.started && h > e.cur {
			d.advance(n, e, h)
		}
	}
}

// advance closes hours until h is the current one. Empty hours decay the
// means in one step.
func (d *DNS) advance(name string, e *dnsElement, h int64) {
	for steps := 0; h > e.cur && steps < 2; steps++ {
		d.close(name, e, e.cur-1, &e.open[0])
		e.open[0], e.open[1] = e.open[1], dnsHour{}
		e.cur++
	}
	if gap := h - e.cur; gap > 0 {
		// Hours cur-1 and cur are empty now; the gap adds empty hours.
		k := float64(gap)
		decay := math.Pow(1-d.cfg.Alpha, k)
		e.meanQ *= decay
		e.meanB *= decay
		e.watched = int(min(int64(e.watched)+gap, math.MaxInt32))
		e.cur = h
		e.through, e.learnt = h-2, true
	}
}

func (d *DNS) close(name string, e *dnsElement, hour int64, x *dnsHour) {
	alerted := false
	if x.uncovered >= d.cfg.MinUncovered {
		a := d.alert(name, e, hour, x, DNSUncovered)
		var top dnsDst
		a.Resolvers = 0
		for _, r := range x.dsts[:x.n] {
			if r.covered {
				continue
			}
			a.Resolvers++
			if r.queries > top.queries || (r.queries == top.queries && r.addr.Less(top.addr)) {
				top = r
			}
		}
		a.Dst, a.Covered = top.addr, false
		d.alerts = append(d.alerts, a)
		alerted = true
	} else if e.watched >= d.cfg.Warmup && x.queries >= d.cfg.MinQueries &&
		float64(x.queries) > d.cfg.Factor*e.meanQ && float64(x.bytes) > d.cfg.Factor*e.meanB {
		a := d.alert(name, e, hour, x, DNSRate)
		var top dnsDst
		for _, r := range x.dsts[:x.n] {
			if r.queries > top.queries || (r.queries == top.queries && r.addr.Less(top.addr)) {
				top = r
			}
		}
		a.Dst, a.Covered = top.addr, top.covered
		d.alerts = append(d.alerts, a)
		alerted = true
	}
	// An hour that alerted does not teach the baseline: a tunnel that
	// runs every night would otherwise become normal within days.
	if !alerted {
		a := d.cfg.Alpha
		if e.watched == 0 {
			e.meanQ, e.meanB = float64(x.queries), float64(x.bytes)
		} else {
			e.meanQ += a * (float64(x.queries) - e.meanQ)
			e.meanB += a * (float64(x.bytes) - e.meanB)
		}
	}
	if e.watched < math.MaxInt32 {
		e.watched++
	}
	e.through, e.learnt = hour, true
}

func (d *DNS) alert(name string, e *dnsElement, hour int64, x *dnsHour, kind string) DNSAlert {
	return DNSAlert{Element: name, Kind: kind, Hour: time.Unix(hour*3600, 0).UTC(), Queries: x.queries, Bytes: x.bytes,
		Flows: x.flows, Resolvers: x.n, Uncovered: x.uncovered, MeanQ: e.meanQ, MeanBytes: e.meanB, Watched: e.watched}
}

// Alerts returns and clears the alerts raised so far, sorted by hour then
// element.
func (d *DNS) Alerts() []DNSAlert {
	a := d.alerts
	d.alerts = nil
	slices.SortFunc(a, func(x, y DNSAlert) int {
		return cmp.Or(x.Hour.Compare(y.Hour), cmp.Compare(x.Element, y.Element))
	})
	return a
}

func unixHour(t time.Time) int64 {
	h := t.Unix() / 3600
	if t.Unix() < 0 && t.Unix()%3600 != 0 {
		h--
	}
	return h
}
