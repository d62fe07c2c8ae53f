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
	"math/bits"
	"math/rand/v2"
	"net/netip"
	"slices"
	"time"
)

// Samples is the number of interval and size samples kept per pair
// (reservoir sampling over the window), each in 16 bits (see pack); Recent
// is the number of most recent connection start times kept for the
// long-interval histogram; Open is the number of connections per pair that
// later records can still extend (at most 8).
const (
	Samples = 32
	Recent  = 16
	Open    = 4
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

// pair is the state for one (element, destination); the destination is
// kept next to it in its element's peers. Its size is fixed, 320 bytes:
// times are seconds relative to base (the start of the pair's first
// record), clamped to ±68 years, and the open connections are kept as one
// array per field so that they pack without padding.
type pair struct {
	base         int64  // unix seconds
	bytes        uint64 // total
	packets      uint32 // total, saturating
	first, last  int32  // first start, last end
	longest      int32  // longest stitched connection, seconds
	conns, flows uint32
	outOfOrder   uint32
	nSizes       uint32          // values offered to the size reservoir
	deltas       [Samples]uint16 // packed
	sizes        [Samples]uint16 // packed
	// The latest unique connection starts, up to Recent of them: the
	// newest, and the packed gaps between successive ones, oldest first.
	lastStart int32
	gaps      [Recent - 1]uint16
	// The open connections: slot i is in use when bit i of used is set.
	// Bytes saturate, as the size samples do.
	oStart, oEnd       [Open]int32
	oBytes             [Open]uint32
	oSrcPort, oDstPort [Open]uint16
	oProto             [Open]uint8
	used               uint8
	hours              [24]uint8 // connection starts per hour of day, halved together when one would overflow
	nRecent            uint8     // starts kept: gaps holds nRecent-1
}

func (p *pair) isUsed(i int) bool { return p.used&(1<<i) != 0 }

// rel is unix second x relative to the pair's base.
func (p *pair) rel(x int64) int32 {
	d := x - p.base
	switch { // on overflow, the difference saturates
	case x < 0 && p.base > 0 && d > 0:
		d = math.MinInt64
	case x > 0 && p.base < 0 && d < 0:
		d = math.MaxInt64
	}
	return int32(min(max(d, math.MinInt32), math.MaxInt32))
}

// abs is the unix second of an offset.
func (p *pair) abs(off int32) int64 { return p.base + int64(off) }

// latest is the latest unique connection start (offset), and false when
// there is none.
func (p *pair) latest() (int64, bool) {
	return int64(p.lastStart), p.nRecent > 0
}

// addStart keeps a new unique start, later than the latest.
func (p *pair) addStart(start int32) {
	switch {
	case p.nRecent == 0:
		p.nRecent = 1
	case p.nRecent < Recent:
		p.gaps[p.nRecent-1] = pack(uint32(int64(start) - int64(p.lastStart)))
		p.nRecent++
	default:
		copy(p.gaps[:], p.gaps[1:])
		p.gaps[len(p.gaps)-1] = pack(uint32(int64(start) - int64(p.lastStart)))
	}
	p.lastStart = start
}

// recent returns the kept starts as seconds after the oldest of them, in
// order.
func (p *pair) recent() []float64 {
	if p.nRecent == 0 {
		return nil
	}
	ts := make([]float64, p.nRecent)
	for i := 1; i < len(ts); i++ {
		ts[i] = ts[i-1] + unpack(p.gaps[i-1])
	}
	return ts
}

// nDeltas is the number of intervals offered to the interval reservoir:
// one per unique start after the first.
func (p *pair) nDeltas() uint32 {
	if u := p.conns - p.outOfOrder; u > 0 {
		return u - 1
	}
	return 0
}

// element holds its destinations in a slice searched linearly: with at
// most MaxPeersPerElement of them that is about as fast as a map and takes
// half the memory. The slice grows two entries at a time.
type element struct {
	peers []peer
}

type peer struct {
	dst netip.Addr
	p   *pair
}

// find returns the state of dst, nil when it is not tracked.
func (e *element) find(dst netip.Addr) *pair {
	for i := range e.peers {
		if e.peers[i].dst == dst {
			return e.peers[i].p
		}
	}
	return nil
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
		el = &element{}
		t.elements[c.Element] = el
	}
	p := el.find(c.Dst)
	if p == nil {
		if len(el.peers) >= t.cfg.MaxPeersPerElement {
			t.evict(el)
		}
		p = &pair{base: start}
		p.last = p.rel(end)
		if n := len(el.peers); n == cap(el.peers) {
			grown := make([]peer, n, max(min(n+2, t.cfg.MaxPeersPerElement), n+1))
			copy(grown, el.peers)
			el.peers = grown
		}
		el.peers = append(el.peers, peer{c.Dst, p})
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
	vi := -1
	for i, x := range el.peers {
		if vi < 0 {
			vi = i
			continue
		}
		v := el.peers[vi]
		if l, vl := x.p.abs(x.p.last), v.p.abs(v.p.last); l < vl || (l == vl && x.dst.Less(v.dst)) {
			vi = i
		}
	}
	if vi < 0 {
		return
	}
	vdst := el.peers[vi].dst
	last := len(el.peers) - 1
	el.peers[vi] = el.peers[last]
	el.peers[last] = peer{}
	el.peers = el.peers[:last]
	if d := t.dsts[vdst]; d != nil {
		d.elements--
		if d.elements == 0 {
			delete(t.dsts, vdst)
		}
	}
	t.EvictedPeers++
}

func (t *Tracker) addToPair(p *pair, c Conn, startAbs, endAbs int64) {
	start, end := p.rel(startAbs), p.rel(endAbs)
	p.flows = satInc(p.flows)
	p.bytes += c.Bytes
	p.packets = sat32(p.packets, c.Packets)
	p.first = min(p.first, start)
	p.last = max(p.last, end)

	// Stitch: same 5-tuple, starting where an open connection ended.
	tol := int64(t.cfg.StitchTolerance / time.Second)
	for i := range Open {
		if p.isUsed(i) && p.oProto[i] == c.Proto && p.oSrcPort[i] == c.SrcPort && p.oDstPort[i] == c.DstPort &&
			start >= p.oStart[i] && int64(start) <= int64(p.oEnd[i])+tol {
			p.oEnd[i] = max(p.oEnd[i], end)
			p.oBytes[i] = sat32(p.oBytes[i], c.Bytes)
			t.Stitched++
			t.noteLongest(p, i)
			return
		}
	}
	// A new connection: close the oldest slot, feeding its size sample.
	slot := 0
	for i := range Open {
		if !p.isUsed(i) {
			slot = i
			break
		}
		if p.oEnd[i] < p.oEnd[slot] {
			slot = i
		}
	}
	if p.isUsed(slot) {
		t.sample(&p.sizes, &p.nSizes, uint64(p.oBytes[slot]))
	}
	p.oStart[slot], p.oEnd[slot], p.oBytes[slot] = start, end, sat32(0, c.Bytes)
	p.oSrcPort[slot], p.oDstPort[slot], p.oProto[slot] = c.SrcPort, c.DstPort, c.Proto
	p.used |= 1 << slot
	t.noteLongest(p, slot)

	h := time.Unix(startAbs, 0).UTC().Hour()
	if p.hours[h] == math.MaxUint8 {
		// Halve every hour, keeping the shape of the histogram and
		// which hours are empty.
		for i, x := range p.hours {
			p.hours[i] = x/2 + x%2
		}
	}
	p.hours[h]++
	last, ok := p.latest()
	switch s := int64(start); {
	case !ok || s > last:
		if ok {
			n := p.nDeltas()
			t.sample(&p.deltas, &n, uint64(s-last))
		}
		p.conns = satInc(p.conns)
		p.addStart(start)
	case s < last:
		p.outOfOrder = satInc(p.outOfOrder)
		p.conns = satInc(p.conns)
	}
}

func (t *Tracker) noteLongest(p *pair, slot int) {
	p.longest = max(p.longest, int32(min(int64(p.oEnd[slot])-int64(p.oStart[slot]), math.MaxInt32)))
}

// sample offers v to a reservoir of n values so far (Algorithm R),
// saturating at 2^32-1. After 2^32-1 values the reservoir is left as it is.
func (t *Tracker) sample(res *[Samples]uint16, n *uint32, v uint64) {
	if *n == math.MaxUint32 {
		return
	}
	c := pack(uint32(min(v, math.MaxUint32)))
	if *n < Samples {
		res[*n] = c
	} else if j := t.rng.Uint32N(*n + 1); j < Samples {
		res[j] = c
	}
	*n++
}

// pack stores a sample in 16 bits: exactly below 4096 (intervals up to
// 68 minutes, sizes up to 4 KiB), above with 12 significant bits, rounded
// to the nearest (relative error at most 1/4096).
func pack(v uint32) uint16 {
	const m = 12
	if v < 1<<m {
		return uint16(v)
	}
	shift := bits.Len32(v) - m
	sig := (uint64(v) + 1<<(shift-1)) >> shift
	if sig == 1<<m {
		shift, sig = shift+1, 1<<(m-1)
	}
	return uint16(1<<m + (shift-1)<<(m-1) + int(sig) - 1<<(m-1))
}

// unpack is the value of a packed sample.
func unpack(c uint16) float64 {
	const m = 12
	if c < 1<<m {
		return float64(c)
	}
	k := int(c) - 1<<m
	return float64(uint64(k&(1<<(m-1)-1)+1<<(m-1)) << (k>>(m-1) + 1))
}

func satInc(a uint32) uint32 { return a + uint32(min(math.MaxUint32-a, 1)) }

func sat32(a uint32, b uint64) uint32 {
	return uint32(min(uint64(a)+min(b, math.MaxUint32), math.MaxUint32))
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
