// Package beacon scores how machine-like the traffic from a network element
// to one destination is, in the manner of RITA: regular intervals, regular
// sizes, an even spread over the hours of the day, and persistence over the
// analysis window combine into a 0-100 score. Flow records split by an
// exporter's active timeout are stitched back into one connection, so long
// connections are found too. Memory is bounded: a fixed number of samples
// per (element, destination) pair and a capped number of destinations per
// element, the least recently active one being evicted first.
//
// The formulas are in docs/egress-detection.md.
package beacon

import (
	"cmp"
	"math"
	"math/rand/v2"
	"net/netip"
	"slices"
	"time"
)

// Samples is the number of interval and size samples kept per pair
// (reservoir sampling over the window); Recent is the number of most recent
// connection start times kept for the long-interval histogram.
const (
	Samples = 32
	Recent  = 16
)

// Config tunes a Tracker. Zero fields take the defaults in brackets.
type Config struct {
	MaxElements        int           // elements tracked [100000]; new ones beyond are counted and dropped
	MaxPeersPerElement int           // destinations per element [64]; least recently active evicted
	StitchTolerance    time.Duration // gap between records of one 5-tuple that still counts as one connection [5s]
	MinConnections     int           // unique connection starts needed for a beacon score [4]
	// Weights of the timestamp, data-size, duration and histogram scores;
	// they must sum to 1 [0.25 each].
	Weights [4]float64
	// Population is the number of elements that could talk to a
	// destination (the inventory size). 0 means the elements seen.
	Population int
	Seed       uint64 // reservoir sampling seed [1], for reproducible scores
}

func (c Config) withDefaults() Config {
	if c.MaxElements <= 0 {
		c.MaxElements = 100_000
	}
	if c.MaxPeersPerElement <= 0 {
		c.MaxPeersPerElement = 64
	}
	if c.StitchTolerance <= 0 {
		c.StitchTolerance = 5 * time.Second
	}
	if c.MinConnections <= 0 {
		c.MinConnections = 4
	}
	var sum float64
	for _, w := range c.Weights {
		sum += w
	}
	if math.Abs(sum-1) > 1e-6 {
		c.Weights = [4]float64{0.25, 0.25, 0.25, 0.25}
	}
	if c.Seed == 0 {
		c.Seed = 1
	}
	return c
}

// Conn is one flow record, reduced to what scoring needs.
type Conn struct {
	Element          string
	Dst              netip.Addr
	Proto            uint8
	SrcPort, DstPort uint16
	Start, End       time.Time
	Bytes, Packets   uint64
}

type openConn struct {
	start, end       int64 // unix seconds
	bytes            uint64
	srcPort, dstPort uint16
	proto            uint8
	used             bool
}

// pair is the state for one (element, destination). Its size is fixed.
type pair struct {
	dst             netip.Addr
	first, last     int64 // unix seconds: first start, last end
	lastStart       int64 // latest unique connection start
	conns, flows    uint32
	outOfOrder      uint32
	bytes, packets  uint64
	nDeltas, nSizes uint32 // values offered to each reservoir
	deltas          [Samples]uint32
	sizes           [Samples]uint32
	recent          [Recent]uint32 // ring of recent starts, seconds since first
	nRecent         uint32
	hours           [24]uint16 // connection starts per hour of day (saturating)
	open            [4]openConn
	longest         int64 // longest stitched connection, seconds
}

type element struct {
	peers map[netip.Addr]*pair
}

type dstInfo struct {
	elements uint32
	first    int64
}

// Tracker accumulates flows for one analysis window. It is not safe for
// concurrent use; shard by element to use several cores.
type Tracker struct {
	cfg      Config
	rng      *rand.Rand
	elements map[string]*element
	dsts     map[netip.Addr]*dstInfo
	start    int64 // earliest start seen
	hasStart bool

	// Counters for the collector's metrics.
	DroppedElements uint64 // flows of elements beyond MaxElements
	EvictedPeers    uint64 // pairs evicted to respect MaxPeersPerElement
	Stitched        uint64 // records merged into an earlier connection
}

// New returns an empty Tracker.
func New(cfg Config) *Tracker {
	cfg = cfg.withDefaults()
	return &Tracker{
		cfg:      cfg,
		rng:      rand.New(rand.NewPCG(cfg.Seed, cfg.Seed^0x9e3779b97f4a7c15)),
		elements: map[string]*element{},
		dsts:     map[netip.Addr]*dstInfo{},
	}
}

// SeenBefore records that dst was first seen at t, e.g. from a store of
// earlier windows, so that the first-seen modifier knows old peers.
func (t *Tracker) SeenBefore(dst netip.Addr, at time.Time) {
	d := t.dsts[dst]
	if d == nil {
		if len(t.dsts) >= t.cfg.MaxElements*t.cfg.MaxPeersPerElement {
			return
		}
		d = &dstInfo{first: at.Unix()}
		t.dsts[dst] = d
	}
	d.first = min(d.first, at.Unix())
}

// Add records one flow.
func (t *Tracker) Add(c Conn) {
	if !c.Dst.IsValid() || c.Start.IsZero() {
		return
	}
	c.Dst = c.Dst.Unmap()
	start := c.Start.Unix()
	end := max(c.End.Unix(), start)
	if !t.hasStart || start < t.start {
		t.start, t.hasStart = start, true
	}
	el := t.elements[c.Element]
	if el == nil {
		if len(t.elements) >= t.cfg.MaxElements {
			t.DroppedElements++
			return
		}
		el = &element{peers: make(map[netip.Addr]*pair, 4)}
		t.elements[c.Element] = el
	}
	p := el.peers[c.Dst]
	if p == nil {
		if len(el.peers) >= t.cfg.MaxPeersPerElement {
			t.evict(el)
		}
		p = &pair{dst: c.Dst, first: start, last: end, lastStart: math.MinInt64}
		el.peers[c.Dst] = p
		d := t.dsts[c.Dst]
		if d == nil {
			d = &dstInfo{first: start}
			t.dsts[c.Dst] = d
		}
		d.elements++
		d.first = min(d.first, start)
	}
	t.addToPair(p, c, start, end)
}

// evict drops the least recently active peer of el (lowest address on ties).
func (t *Tracker) evict(el *element) {
	var victim *pair
	for _, p := range el.peers {
		if victim == nil || p.last < victim.last || (p.last == victim.last && p.dst.Less(victim.dst)) {
			victim = p
		}
	}
	if victim == nil {
		return
	}
	delete(el.peers, victim.dst)
	if d := t.dsts[victim.dst]; d != nil {
		d.elements--
		if d.elements == 0 {
			delete(t.dsts, victim.dst)
		}
	}
	t.EvictedPeers++
}

func (t *Tracker) addToPair(p *pair, c Conn, start, end int64) {
	p.flows++
	p.bytes += c.Bytes
	p.packets += c.Packets
	p.first = min(p.first, start)
	p.last = max(p.last, end)

	// Stitch: same 5-tuple, starting where an open connection ended.
	tol := int64(t.cfg.StitchTolerance / time.Second)
	for i := range p.open {
		o := &p.open[i]
		if o.used && o.proto == c.Proto && o.srcPort == c.SrcPort && o.dstPort == c.DstPort &&
			start >= o.start && start <= o.end+tol {
			o.end = max(o.end, end)
			o.bytes += c.Bytes
			t.Stitched++
			t.noteLongest(p, o)
			return
		}
	}
	// A new connection: close the oldest slot, feeding its size sample.
	slot := 0
	for i := range p.open {
		if !p.open[i].used {
			slot = i
			break
		}
		if p.open[i].end < p.open[slot].end {
			slot = i
		}
	}
	if p.open[slot].used {
		t.sample(&p.sizes, &p.nSizes, p.open[slot].bytes)
	}
	p.open[slot] = openConn{start: start, end: end, bytes: c.Bytes, srcPort: c.SrcPort, dstPort: c.DstPort, proto: c.Proto, used: true}
	t.noteLongest(p, &p.open[slot])

	if h := &p.hours[time.Unix(start, 0).UTC().Hour()]; *h < math.MaxUint16 {
		*h++
	}
	switch {
	case start > p.lastStart:
		if p.lastStart != math.MinInt64 {
			t.sample(&p.deltas, &p.nDeltas, uint64(start-p.lastStart))
		}
		p.lastStart = start
		p.conns++
		off := start - p.first
		p.recent[p.nRecent%Recent] = uint32(min(max(off, 0), math.MaxUint32))
		p.nRecent++
	case start < p.lastStart:
		p.outOfOrder++
		p.conns++
	}
}

func (t *Tracker) noteLongest(p *pair, o *openConn) {
	p.longest = max(p.longest, o.end-o.start)
}

// sample offers v to a reservoir (Algorithm R), saturating at 2^32-1.
func (t *Tracker) sample(res *[Samples]uint32, n *uint32, v uint64) {
	v32 := uint32(min(v, math.MaxUint32))
	if *n < Samples {
		res[*n] = v32
	} else if j := t.rng.Uint32N(*n + 1); j < Samples {
		res[j] = v32
	}
	if *n < math.MaxUint32 {
		*n++
	}
}

// Elements returns the number of elements tracked.
func (t *Tracker) Elements() int { return len(t.elements) }

// Peers returns the number of (element, destination) pairs tracked.
func (t *Tracker) Peers() int {
	n := 0
	for _, e := range t.elements {
		n += len(e.peers)
	}
	return n
}

func sortResults(rs []Result) {
	slices.SortFunc(rs, func(a, b Result) int {
		if c := cmp.Compare(b.Score, a.Score); c != 0 {
			return c
		}
		if c := cmp.Compare(a.Element, b.Element); c != 0 {
			return c
		}
		return a.Dst.Compare(b.Dst)
	})
}
