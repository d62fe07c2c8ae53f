package egress

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"net/netip"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/netvet/netvet/internal/egress/allow"
	"github.com/netvet/netvet/internal/egress/baseline"
	"github.com/netvet/netvet/internal/egress/beacon"
	"github.com/netvet/netvet/internal/egress/flow"
	"github.com/netvet/netvet/internal/egress/ipinfo"
)

// Alert rules.
const (
	RuleNotAllowlisted = "not-allowlisted"
	RuleBeacon         = "beacon"
	RuleVolume         = "volume"
	RuleDNSTunnel      = "dns-tunnel"
)

// Rules lists the alert rules in report order.
var Rules = []string{RuleNotAllowlisted, RuleBeacon, RuleVolume, RuleDNSTunnel}

// Pipeline defaults.
const (
	DefaultBeaconMin = 70
	DefaultRepeat    = time.Hour
	DefaultMaxPairs  = 1_000_000
	DefaultMaxPeers  = 64 // destinations kept per element
	maxEvidence      = 4  // distinct exporters kept per pair or element
	maxPorts         = 8  // denied ports kept per pair
)

// Config sets up a Pipeline. Zero fields take the defaults in brackets.
type Config struct {
	Elements *ElementMap   // required: which sources are network elements
	Policy   *allow.Policy // nil: no allowlist (no not-allowlisted alerts; every destination counts as uncovered for beacons)
	Geo      *ipinfo.DB    // nil: special-range classification only
	Hosts    allow.Hosts   // names shown for destinations
	Beacon   beacon.Config
	Baseline baseline.Config
	DNS      baseline.DNSConfig
	// BeaconMin is the lowest beacon score that alerts [70: medium band].
	BeaconMin int
	// Repeat is how long, in flow time, an alert for the same (element,
	// destination, rule) is held back after the last one; it is repeated
	// after that only when new flows arrived [1h].
	Repeat   time.Duration
	MaxPairs int // (element, destination) pairs kept [1,000,000]; flows of new pairs beyond are counted and dropped
	// MaxPeersPerElement caps the destinations kept per element [64]. A
	// new destination beyond it evicts the least recently seen allowed
	// one; only when every kept destination is denied does it evict a
	// denied one, preferring those already alerted on. It is also the
	// beacon tracker's cap unless Beacon sets one.
	MaxPeersPerElement int
	// History is what earlier runs saw (nil: nothing): destinations seen
	// before are not new, and alerts say since when a pair is known.
	History *History
}

// Stats are the pipeline counters, safe to read at any time.
type Stats struct {
	Records           atomic.Uint64 // records offered
	Accepted          atomic.Uint64 // records from known elements, used
	DropUnknownSource atomic.Uint64 // source is not a known element
	DropNoAddress     atomic.Uint64 // record without a valid destination
	DropNoTime        atomic.Uint64 // record without a start time
	DropPairCap       atomic.Uint64 // new pair beyond MaxPairs
	EvictedPeers      atomic.Uint64 // pairs evicted to respect MaxPeersPerElement
	EvictedDenied     atomic.Uint64 // ... of which denied ones (their alert state is lost)
	Denied            atomic.Uint64 // records the allowlist did not allow
	Suppressed        atomic.Uint64 // alerts held back by the repeat interval
	AlertsByRule      [4]atomic.Uint64
}

// Evidence says where the flows behind an alert came from.
type Evidence struct {
	Exporter     string        `json:"exporter,omitempty"` // export datagram source address
	Capture      string        `json:"capture,omitempty"`  // capture file, for flows metered from packets
	Protocol     flow.Protocol `json:"protocol"`
	Sampled      bool          `json:"sampled"`
	SamplingRate uint32        `json:"sampling_rate"`
	SelfReported bool          `json:"self_reported"` // the exporter is the element itself
}

// Destination describes the far end of an alert.
type Destination struct {
	Address string `json:"address"`
	Class   string `json:"class"`
	ASN     uint32 `json:"asn,omitempty"`
	Org     string `json:"org,omitempty"`
	Country string `json:"country,omitempty"`
	Name    string `json:"name,omitempty"`
}

// Alert is one finding about an element's egress.
type Alert struct {
	Rule        string       `json:"rule"`
	Score       int          `json:"score"` // 0-100
	Band        string       `json:"band"`
	Element     Element      `json:"element"`
	Destination *Destination `json:"destination,omitempty"` // nil for volume alerts
	Ports       []string     `json:"ports,omitempty"`       // denied ports, e.g. "443/tcp"
	Reason      string       `json:"reason"`
	FirstSeen   time.Time    `json:"first_seen"`
	LastSeen    time.Time    `json:"last_seen"`
	Bytes       uint64       `json:"bytes"`
	Packets     uint64       `json:"packets"`
	Flows       uint64       `json:"flows"`
	Repeat      int          `json:"repeat"` // earlier alerts for the same element, destination and rule
	// Evidence lists the exporters (or capture files) the flows came from,
	// at most four; MoreExporters counts the others.
	Evidence      []Evidence `json:"evidence"`
	MoreExporters int        `json:"more_exporters,omitempty"`
	Sampled       bool       `json:"sampled"`       // some evidence is sampled
	SamplingRate  uint32     `json:"sampling_rate"` // highest rate among the evidence
	// SelfReported is true when every flow behind the alert was exported
	// by the element itself: no independent meter saw it.
	SelfReported bool        `json:"self_reported"`
	Beacon       *BeaconInfo `json:"beacon,omitempty"`
	Volume       *VolumeInfo `json:"volume,omitempty"`
	DNS          *DNSInfo    `json:"dns,omitempty"`
	Raised       time.Time   `json:"raised"` // flow time at which the alert was raised
	// KnownSince is when an earlier run (--history) first saw this element
	// talk to this destination; zero when this run saw it first.
	KnownSince time.Time `json:"known_since,omitzero"`
}

// BeaconInfo details a beacon alert.
type BeaconInfo struct {
	Kind        string   `json:"kind"`
	IntervalS   float64  `json:"interval_s"`
	IntervalMAD float64  `json:"interval_mad_s"`
	Conns       int      `json:"connections"`
	LongestS    float64  `json:"longest_s"`
	Elements    int      `json:"elements_talking"`
	Modifiers   []string `json:"modifiers,omitempty"`
}

// DNSInfo details a dns-tunnel alert (the hour is FirstSeen..LastSeen).
type DNSInfo struct {
	Kind        string  `json:"kind"`              // uncovered-resolver or rate
	Queries     uint64  `json:"queries"`           // packets to port 53 in the hour
	Uncovered   uint64  `json:"uncovered_queries"` // ... to resolvers the allowlist does not cover
	Resolvers   int     `json:"resolvers"`         // distinct port-53 destinations (uncovered ones for uncovered-resolver)
	MeanQueries float64 `json:"baseline_queries"`  // the element's mean queries per hour
	MeanBytes   float64 `json:"baseline_bytes"`
}

// VolumeInfo details a volume alert.
type VolumeInfo struct {
	Hour      time.Time `json:"hour"`
	Mean      float64   `json:"baseline_mean"`
	Stdev     float64   `json:"baseline_stdev"`
	Ratio     float64   `json:"ratio"` // 0 when the baseline mean is 0
	Threshold float64   `json:"threshold"`
	Floor     uint64    `json:"floor"`
}

type pairKey struct {
	el  *Element
	dst netip.Addr
}

type evKey struct {
	exporter netip.Addr
	source   string
	proto    flow.Protocol
}

// evTable holds the distinct Evidence values of a pipeline, so that pairs
// and elements refer to them by 16-bit indexes instead of holding copies.
// A value differs from another by its exporter or capture file, whether
// it is the element itself, and the sampling seen.
type evTable struct {
	items []Evidence
	keys  []evKey // of items
	index map[evVal]uint16
}

type evVal struct {
	key           evKey
	self, sampled bool
	rate          uint32
}

// maxEvTable is the number of distinct Evidence values a pipeline keeps.
// Beyond it, records from further exporters or capture files count as
// more exporters and a higher sampling rate is not noted.
const maxEvTable = math.MaxUint16

// ref returns the index of e (from exporter or file k), adding it; false
// when the table is full.
func (t *evTable) ref(k evKey, e Evidence) (uint16, bool) {
	v := evVal{k, e.SelfReported, e.Sampled, e.SamplingRate}
	if i, ok := t.index[v]; ok {
		return i, true
	}
	if len(t.items) >= maxEvTable {
		return 0, false
	}
	if t.index == nil {
		t.index = map[evVal]uint16{}
	}
	if e.Exporter == "" && k.exporter.IsValid() {
		e.Exporter = k.exporter.String()
	}
	i := uint16(len(t.items))
	t.items = append(t.items, e)
	t.keys = append(t.keys, k)
	t.index[v] = i
	return i, true
}

// evSet is the evidence behind a pair or an element: up to maxEvidence
// entries of the pipeline's evTable, one per exporter or capture file,
// with the highest sampling rate seen from it, and a count of the records
// from others. Its size is fixed.
type evSet struct {
	tab  *evTable
	idx  [maxEvidence]uint16
	more uint32 // saturating
	n    uint8
}

func (s *evSet) add(tab *evTable, k evKey, e Evidence) {
	for j := range s.n {
		x := tab.items[s.idx[j]]
		if tab.keys[s.idx[j]] != k {
			continue
		}
		if e.SamplingRate > x.SamplingRate || (e.Sampled && !x.Sampled) {
			x.SamplingRate = max(x.SamplingRate, e.SamplingRate)
			x.Sampled = x.Sampled || e.Sampled
			if i, ok := tab.ref(k, x); ok {
				s.idx[j] = i
			}
		}
		return
	}
	i, ok := uint16(0), false
	if s.n < maxEvidence {
		i, ok = tab.ref(k, e)
	}
	if !ok {
		if s.more < math.MaxUint32 {
			s.more++
		}
		return
	}
	s.tab = tab
	s.idx[s.n] = i
	s.n++
}

// items returns the evidence in the order it was first seen.
func (s *evSet) items() []Evidence {
	if s.n == 0 {
		return nil
	}
	out := make([]Evidence, s.n)
	for j := range s.n {
		out[j] = s.tab.items[s.idx[j]]
	}
	return out
}

type counts struct {
	first, last           time.Time
	bytes, packets, flows uint64
}

func (c *counts) add(r *flow.Record) {
	if c.first.IsZero() || r.Start.Before(c.first) {
		c.first = r.Start
	}
	end := r.End
	if end.Before(r.Start) {
		end = r.Start
	}
	if end.After(c.last) {
		c.last = end
	}
	c.bytes += r.Bytes
	c.packets += r.Packets
	c.flows++
}

type sent struct {
	at    time.Time
	flows uint64
	n     int
}

// pair is the state of one (element, destination): 160 bytes, plus a
// denyState once an alert was raised for it.
type pair struct {
	counts
	dst   netip.Addr
	ports []string // denied ports, nil unless denied
	ev    evSet
	deny  *denyState // nil until an alert was raised
	// The allowlist decision for the last port and protocol seen, so that
	// a pair's steady stream of records is evaluated once (eval holds
	// evalDone and evalAllow).
	evalPort  uint16
	evalProto uint8
	eval      uint8
	// The first denied port and protocol: the alert's reason is the
	// allowlist's decision for them.
	denyPort  uint16
	denyProto uint8
	denied    bool
}

const (
	evalDone  = 1 << iota // evalPort and evalProto were evaluated
	evalAllow             // ... and allowed
)

// denyState is what a denied pair keeps between its alerts.
type denyState struct {
	deniedSent sent
	beaconSent sent
}

// denial returns the pair's denyState, creating it.
func (pr *pair) denial() *denyState {
	if pr.deny == nil {
		pr.deny = &denyState{}
	}
	return pr.deny
}

type elemState struct {
	counts
	ev    evSet
	peers []*pair    // the element's entries in Pipeline.pairs
	set   *allow.Set // the element's allowlist, nil until needed
}

// Pipeline turns flow records into alerts. It is not safe for concurrent
// use, except Stats.
type Pipeline struct {
	cfg     Config
	stats   Stats
	pairs   map[pairKey]*pair
	elems   map[*Element]*elemState
	tracker *beacon.Tracker
	vol     *baseline.Detector
	dns     *baseline.DNS
	names   map[netip.Addr]string
	sources map[evKey]*Source
	first   time.Time
	now     time.Time

	evs         evTable
	hist        map[pairKey]time.Time // first seen by earlier runs
	histAll     []HistoryPair
	histUpdated time.Time
}

// New checks cfg and returns a Pipeline.
func New(cfg Config) (*Pipeline, error) {
	if cfg.Elements == nil {
		return nil, errors.New("egress: no element map")
	}
	if n, _ := cfg.Elements.Len(); n == 0 {
		return nil, errors.New("egress: the element map is empty")
	}
	if cfg.BeaconMin == 0 {
		cfg.BeaconMin = DefaultBeaconMin
	}
	if cfg.BeaconMin < 0 || cfg.BeaconMin > 100 {
		return nil, fmt.Errorf("egress: beacon minimum score %d outside 1..100", cfg.BeaconMin)
	}
	if cfg.Repeat == 0 {
		cfg.Repeat = DefaultRepeat
	}
	if cfg.Repeat < 0 {
		return nil, errors.New("egress: negative repeat interval")
	}
	if cfg.MaxPairs <= 0 {
		cfg.MaxPairs = DefaultMaxPairs
	}
	if cfg.MaxPeersPerElement <= 0 {
		cfg.MaxPeersPerElement = DefaultMaxPeers
	}
	if cfg.Beacon.MaxPeersPerElement <= 0 {
		cfg.Beacon.MaxPeersPerElement = cfg.MaxPeersPerElement
	}
	if cfg.Policy != nil && cfg.Geo != nil {
		cfg.Policy.SetGeo(cfg.Geo)
	}
	p := &Pipeline{
		cfg:     cfg,
		pairs:   map[pairKey]*pair{},
		elems:   map[*Element]*elemState{},
		tracker: beacon.New(cfg.Beacon),
		vol:     baseline.New(cfg.Baseline),
		dns:     baseline.NewDNS(cfg.DNS),
		names:   map[netip.Addr]string{},
		sources: map[evKey]*Source{},
	}
	if err := p.useHistory(cfg.History); err != nil {
		return nil, err
	}
	hostNames := make([]string, 0, len(cfg.Hosts))
	for n := range cfg.Hosts {
		hostNames = append(hostNames, n)
	}
	slices.Sort(hostNames)
	for _, n := range hostNames {
		for _, a := range cfg.Hosts[n] {
			if _, ok := p.names[a.Unmap()]; !ok {
				p.names[a.Unmap()] = n
			}
		}
	}
	return p, nil
}

// Stats returns the live counters.
func (p *Pipeline) Stats() *Stats { return &p.stats }

// Add feeds one record.
func (p *Pipeline) Add(r *flow.Record) {
	p.stats.Records.Add(1)
	el, ok := p.cfg.Elements.Lookup(r.Src)
	if !ok {
		p.stats.DropUnknownSource.Add(1)
		return
	}
	dst := r.Dst.Unmap()
	if !dst.IsValid() {
		p.stats.DropNoAddress.Add(1)
		return
	}
	if r.Start.IsZero() {
		p.stats.DropNoTime.Add(1)
		return
	}
	key := pairKey{el, dst}
	pr := p.pairs[key]
	es := p.elems[el]
	if pr == nil {
		if es != nil && len(es.peers) >= p.cfg.MaxPeersPerElement {
			p.evictPeer(el, es)
		}
		if len(p.pairs) >= p.cfg.MaxPairs {
			p.stats.DropPairCap.Add(1)
			return
		}
		if es == nil {
			es = &elemState{}
			p.elems[el] = es
		}
		pr = &pair{dst: dst}
		p.pairs[key] = pr
		if n := len(es.peers); n == cap(es.peers) {
			// Grow two at a time: most elements have a few peers.
			es.peers = append(make([]*pair, 0, n+2), es.peers...)
		}
		es.peers = append(es.peers, pr)
	}
	p.stats.Accepted.Add(1)
	if p.cfg.Policy != nil {
		set := es.set
		if set == nil {
			set = p.cfg.Policy.ForElement(allow.Element{ID: el.ID, Vendor: el.Vendor, Function: el.Function, Domain: el.Domain})
			es.set = set
		}
		if pr.eval&evalDone == 0 || pr.evalPort != r.DstPort || pr.evalProto != r.Proto {
			d := set.Evaluate(dst, r.DstPort, r.Proto)
			pr.evalPort, pr.evalProto, pr.eval = r.DstPort, r.Proto, evalDone
			if d.Allowed {
				pr.eval |= evalAllow
			} else {
				if !pr.denied {
					pr.denied = true
					pr.denyPort, pr.denyProto = r.DstPort, r.Proto
				}
				port := portName(r.DstPort, r.Proto)
				if !slices.Contains(pr.ports, port) && len(pr.ports) < maxPorts {
					pr.ports = append(pr.ports, port)
				}
			}
		}
		if pr.eval&evalAllow == 0 {
			p.stats.Denied.Add(1)
		}
	} else {
		pr.denied = true
	}
	pr.add(r)
	es.add(r)
	ek, ev := p.evidence(el, r)
	if src := p.sources[ek]; src != nil {
		src.Records++
		src.Sampled = src.Sampled || ev.Sampled
		src.SamplingRate = max(src.SamplingRate, ev.SamplingRate)
		src.SelfReported = src.SelfReported || ev.SelfReported
		ev.Exporter = src.Exporter // one copy of the name for every pair
	} else if len(p.sources) < maxSources {
		if exp := ek.exporter; exp.IsValid() {
			ev.Exporter = exp.String()
		}
		p.sources[ek] = &Source{Evidence: ev, Records: 1}
	}
	pr.ev.add(&p.evs, ek, ev)
	es.ev.add(&p.evs, ek, ev)

	p.tracker.Add(beacon.Conn{Element: el.ID, Dst: dst, Proto: r.Proto, SrcPort: r.SrcPort, DstPort: r.DstPort,
		Start: r.Start, End: r.End, Bytes: r.Bytes, Packets: r.Packets})
	p.vol.Add(el.ID, r.Start, payload(r))
	if r.DstPort == 53 && (r.Proto == allow.ProtoUDP || r.Proto == allow.ProtoTCP) {
		p.dns.Add(el.ID, dst, r.Start, r.Packets, r.Bytes, p.covered(el, dst, r))
	}
	if p.first.IsZero() || r.Start.Before(p.first) {
		p.first = r.Start
	}
	if r.End.After(p.now) {
		p.now = r.End
	}
	if r.Start.After(p.now) {
		p.now = r.Start
	}
}

// evictPeer drops one pair of el to make room for a new destination: the
// least recently seen allowed one, else the least recently seen denied one
// already alerted on, else the least recently seen (lowest address on
// ties, so that replays evict the same pairs).
func (p *Pipeline) evictPeer(el *Element, es *elemState) {
	rank := func(pr *pair) int {
		switch {
		case !pr.denied:
			return 0
		case pr.deny != nil && (pr.deny.deniedSent.n > 0 || pr.deny.beaconSent.n > 0):
			return 1
		}
		return 2
	}
	vi := -1
	for i, pr := range es.peers {
		if vi < 0 {
			vi = i
			continue
		}
		v := es.peers[vi]
		if c := cmp.Or(cmp.Compare(rank(pr), rank(v)), pr.last.Compare(v.last), pr.dst.Compare(v.dst)); c < 0 {
			vi = i
		}
	}
	if vi < 0 {
		return
	}
	v := es.peers[vi]
	last := len(es.peers) - 1
	es.peers[vi] = es.peers[last]
	es.peers[last] = nil
	es.peers = es.peers[:last]
	delete(p.pairs, pairKey{el, v.dst})
	p.stats.EvictedPeers.Add(1)
	if v.denied {
		p.stats.EvictedDenied.Add(1)
	}
}

func (p *Pipeline) evidence(el *Element, r *flow.Record) (evKey, Evidence) {
	ev := Evidence{Protocol: r.Protocol, Sampled: r.Sampled, SamplingRate: max(r.SamplingRate, 1), Capture: r.Source}
	exp := r.Exporter.Unmap()
	if exp.IsValid() {
		if owner, ok := p.cfg.Elements.Lookup(exp); ok && owner == el {
			ev.SelfReported = true
		}
	}
	return evKey{exp, r.Source, r.Protocol}, ev
}

func portName(port uint16, proto uint8) string {
	switch proto {
	case allow.ProtoTCP:
		return fmt.Sprintf("%d/tcp", port)
	case allow.ProtoUDP:
		return fmt.Sprintf("%d/udp", port)
	case allow.ProtoSCTP:
		return fmt.Sprintf("%d/sctp", port)
	case allow.ProtoICMP:
		return "icmp"
	case allow.ProtoICMPv6:
		return "icmpv6"
	}
	return fmt.Sprintf("proto-%d", proto)
}

const maxSources = 4096

// Source summarises one exporter or capture file the accepted records came
// from. SelfReported is true when it reported on itself at least once.
type Source struct {
	Evidence
	Records uint64 `json:"records"`
}

// Sources returns the exporters and capture files seen, sorted.
func (p *Pipeline) Sources() []Source {
	out := make([]Source, 0, len(p.sources))
	for _, s := range p.sources {
		out = append(out, *s)
	}
	slices.SortFunc(out, func(x, y Source) int {
		return cmp.Or(cmp.Compare(x.Exporter, y.Exporter), cmp.Compare(x.Capture, y.Capture), cmp.Compare(x.Protocol, y.Protocol))
	})
	return out
}

// Now returns the latest flow time seen.
func (p *Pipeline) Now() time.Time { return p.now }

// Collect returns the alerts due at now (the zero time means the latest
// flow time seen), sorted by element, rule, destination and time.
func (p *Pipeline) Collect(now time.Time) []Alert {
	if now.IsZero() {
		now = p.now
	}
	var out []Alert
	keys := make([]pairKey, 0, len(p.pairs))
	for k, pr := range p.pairs {
		if pr.denied {
			keys = append(keys, k)
		}
	}
	sortKeys(keys)
	if p.cfg.Policy != nil {
		for _, k := range keys {
			pr := p.pairs[k]
			ds := pr.denial()
			if !p.due(&ds.deniedSent, pr.flows, now) {
				continue
			}
			a := p.pairAlert(RuleNotAllowlisted, k, pr, now, ds.deniedSent.n)
			a.Score, a.Band = 100, beacon.BandHigh
			a.Reason = p.denyReason(k, pr)
			ds.deniedSent = sent{at: now, flows: pr.flows, n: ds.deniedSent.n + 1}
			out = append(out, a)
		}
	}
	if !p.first.IsZero() {
		byID := map[string]*Element{}
		for el := range p.elems {
			byID[el.ID] = el
		}
		for _, r := range p.tracker.Score(p.first, now) {
			if r.Score < p.cfg.BeaconMin {
				continue
			}
			el := byID[r.Element]
			k := pairKey{el, r.Dst}
			pr := p.pairs[k]
			if el == nil || pr == nil || !pr.denied {
				continue // covered by the allowlist: scores belong in reports
			}
			ds := pr.denial()
			if !p.due(&ds.beaconSent, uint64(r.Conns), now) {
				continue
			}
			a := p.pairAlert(RuleBeacon, k, pr, now, ds.beaconSent.n)
			a.Score, a.Band = r.Score, r.Band
			a.Reason = beaconReason(r)
			a.Beacon = &BeaconInfo{Kind: r.Kind, IntervalS: r.Interval.Seconds(), IntervalMAD: r.IntervalMAD.Seconds(),
				Conns: r.Conns, LongestS: r.Longest.Seconds(), Elements: r.Elements, Modifiers: r.Modifiers}
			ds.beaconSent = sent{at: now, flows: uint64(r.Conns), n: ds.beaconSent.n + 1}
			out = append(out, a)
		}
	}
	for _, va := range p.vol.Alerts() {
		el, ok := p.cfg.Elements.byIDElement(va.Element)
		if !ok {
			continue
		}
		es := p.elems[el]
		a := Alert{Rule: RuleVolume, Element: *el, Raised: now, FirstSeen: va.Hour, LastSeen: va.Hour.Add(time.Hour), Bytes: va.Bytes}
		ratio := va.Ratio
		if math.IsInf(ratio, 0) || math.IsNaN(ratio) {
			ratio = 0
		}
		a.Volume = &VolumeInfo{Hour: va.Hour, Mean: va.Mean, Stdev: va.Stdev, Ratio: ratio, Threshold: va.Threshold, Floor: va.Floor}
		a.Score = volumeScore(va)
		a.Band = beacon.BandOf(a.Score)
		if a.Band == beacon.BandNone {
			a.Band = beacon.BandLow
		}
		if va.Mean > 0 {
			a.Reason = fmt.Sprintf("sent %d bytes of payload in the hour from %s, %.1f× its baseline of %.0f bytes for that hour of the week",
				va.Bytes, va.Hour.Format(time.RFC3339), va.Ratio, va.Mean)
		} else {
			a.Reason = fmt.Sprintf("sent %d bytes of payload in the hour from %s; its baseline for that hour of the week is 0", va.Bytes, va.Hour.Format(time.RFC3339))
		}
		if es != nil {
			fillEvidence(&a, &es.ev)
		}
		out = append(out, a)
	}
	for el, es := range p.elems {
		p.dns.Advance(el.ID, es.last)
	}
	out = append(out, p.dnsAlerts(now)...)
	slices.SortStableFunc(out, compareAlerts)
	for i := range out {
		p.stats.AlertsByRule[ruleIndex(out[i].Rule)].Add(1)
	}
	return out
}

// Finish closes every open volume hour and returns the remaining alerts;
// call it at the end of a replay or when a collector stops.
func (p *Pipeline) Finish() []Alert {
	if !p.now.IsZero() {
		p.vol.Flush(p.now)
		p.dns.Flush(p.now)
	}
	return p.Collect(p.now)
}

// due decides whether an alert is raised now and counts suppressions.
func (p *Pipeline) due(s *sent, progress uint64, now time.Time) bool {
	if s.n == 0 {
		return true
	}
	if progress <= s.flows {
		return false
	}
	if now.Sub(s.at) < p.cfg.Repeat {
		p.stats.Suppressed.Add(1)
		return false
	}
	return true
}

func (p *Pipeline) pairAlert(rule string, k pairKey, pr *pair, now time.Time, repeat int) Alert {
	a := Alert{Rule: rule, Element: *k.el, Raised: now, FirstSeen: pr.first, LastSeen: pr.last,
		Bytes: pr.bytes, Packets: pr.packets, Flows: pr.flows, Repeat: repeat}
	if rule == RuleNotAllowlisted {
		a.Ports = slices.Clone(pr.ports)
	}
	a.Destination = p.destination(k.dst)
	a.KnownSince = p.knownSince(k, pr.first)
	fillEvidence(&a, &pr.ev)
	return a
}

func fillEvidence(a *Alert, s *evSet) {
	a.Evidence = s.items()
	slices.SortFunc(a.Evidence, func(x, y Evidence) int {
		return cmp.Or(cmp.Compare(x.Exporter, y.Exporter), cmp.Compare(x.Capture, y.Capture), cmp.Compare(x.Protocol, y.Protocol))
	})
	a.MoreExporters = int(s.more)
	a.SelfReported = len(a.Evidence) > 0 && s.more == 0
	for _, e := range a.Evidence {
		a.Sampled = a.Sampled || e.Sampled
		a.SamplingRate = max(a.SamplingRate, e.SamplingRate)
		if !e.SelfReported {
			a.SelfReported = false
		}
	}
}

func (p *Pipeline) destination(dst netip.Addr) *Destination {
	d := &Destination{Address: dst.String(), Name: p.names[dst]}
	if p.cfg.Geo != nil {
		r := p.cfg.Geo.Lookup(dst)
		d.Class, d.ASN, d.Org, d.Country = r.Class.String(), r.ASN, r.Org, r.Country
	} else {
		d.Class = ipinfo.Classify(dst).String()
	}
	return d
}

func beaconReason(r beacon.Result) string {
	var b strings.Builder
	switch r.Kind {
	case beacon.KindLongConn:
		fmt.Fprintf(&b, "one connection lasting %s", r.Longest.Round(time.Second))
	case beacon.KindStrobe:
		fmt.Fprintf(&b, "%d connections, more than one per second on average", r.Conns)
	default:
		fmt.Fprintf(&b, "%d connections every %s (MAD %s)", r.Conns, r.Interval.Round(time.Second), r.IntervalMAD.Round(time.Second))
	}
	b.WriteString(" to a destination the allowlist does not cover")
	if len(r.Modifiers) > 0 {
		fmt.Fprintf(&b, "; %s", strings.Join(r.Modifiers, ", "))
	}
	return b.String()
}

// headerBytes is what the volume baseline takes off each packet as
// headers (IPv6 + TCP with timestamps, or IPv4 + TCP counted with the
// Ethernet header), so that a flow of bare acknowledgements, which is
// what an element sends while it downloads, counts as almost nothing.
const headerBytes = 64

// payload estimates the data bytes of a record.
func payload(r *flow.Record) uint64 {
	h := r.Packets * headerBytes
	if r.Packets > math.MaxUint64/headerBytes || h >= r.Bytes {
		return 0
	}
	return r.Bytes - h
}

// covered says whether the allowlist covers a DNS record's destination
// (without a policy nothing is covered).
func (p *Pipeline) covered(el *Element, dst netip.Addr, r *flow.Record) bool {
	es := p.elems[el]
	return es != nil && es.set != nil && es.set.Evaluate(dst, r.DstPort, r.Proto).Allowed
}

// denyReason is the allowlist's reason for denying a pair's first denied
// port and protocol: the decision is the same as when it was made, so it
// is not kept.
func (p *Pipeline) denyReason(k pairKey, pr *pair) string {
	es := p.elems[k.el]
	if es == nil || es.set == nil {
		return ""
	}
	return es.set.Evaluate(k.dst, pr.denyPort, pr.denyProto).Reason()
}

// dnsAlerts turns the DNS detector's hours into alerts.
func (p *Pipeline) dnsAlerts(now time.Time) []Alert {
	var out []Alert
	for _, da := range p.dns.Alerts() {
		el, ok := p.cfg.Elements.byIDElement(da.Element)
		if !ok {
			continue
		}
		a := Alert{Rule: RuleDNSTunnel, Element: *el, Raised: now, FirstSeen: da.Hour, LastSeen: da.Hour.Add(time.Hour),
			Bytes: da.Bytes, Packets: da.Queries, Flows: da.Flows}
		a.Destination = p.destination(da.Dst)
		a.DNS = &DNSInfo{Kind: da.Kind, Queries: da.Queries, Uncovered: da.Uncovered, Resolvers: da.Resolvers,
			MeanQueries: da.MeanQ, MeanBytes: da.MeanBytes}
		a.Score = dnsScore(da)
		a.Band = beacon.BandOf(a.Score)
		hour := da.Hour.Format(time.RFC3339)
		avg := float64(da.Bytes) / float64(max(da.Queries, 1))
		if da.Kind == baseline.DNSUncovered {
			a.Reason = fmt.Sprintf("%d DNS queries (%.0f bytes each on average) in the hour from %s to %d resolver(s) the allowlist does not cover",
				da.Uncovered, avg, hour, da.Resolvers)
		} else {
			a.Reason = fmt.Sprintf("%d DNS queries, %d bytes (%.0f bytes each on average) in the hour from %s, %.0f× its baseline of %.1f queries an hour; %d resolver(s)",
				da.Queries, da.Bytes, avg, hour, float64(da.Queries)/math.Max(da.MeanQ, 0.1), da.MeanQ, da.Resolvers)
		}
		if pr := p.pairs[pairKey{el, da.Dst}]; pr != nil {
			fillEvidence(&a, &pr.ev)
		} else if es := p.elems[el]; es != nil {
			fillEvidence(&a, &es.ev)
		}
		out = append(out, a)
	}
	return out
}

// dnsScore: queries to uncovered resolvers score 80 at 100 an hour and
// 100 from 1,000; a rate excess scores 50 at the threshold and 100 at
// ten times it.
func dnsScore(a baseline.DNSAlert) int {
	if a.Kind == baseline.DNSUncovered {
		x := math.Log10(float64(max(a.Uncovered, 1)) / 100)
		return int(math.Round(80 + 20*math.Min(1, math.Max(0, x))))
	}
	mean := math.Max(a.MeanQ, 0.1)
	x := math.Log10(float64(a.Queries) / mean / 10)
	return int(math.Round(50 + 50*math.Min(1, math.Max(0, x))))
}

// volumeScore maps how far an hour exceeded its threshold to 50..100:
// 50 at the threshold, 100 at twice the threshold or more (or a zero
// baseline).
func volumeScore(a baseline.Alert) int {
	if a.Mean <= 0 || a.Threshold <= 0 || math.IsInf(a.Ratio, 0) || math.IsNaN(a.Ratio) {
		return 100
	}
	x := (a.Ratio - a.Threshold) / a.Threshold
	s := 50 + 50*math.Min(1, math.Max(0, x))
	return int(math.Round(s))
}

func ruleIndex(rule string) int {
	switch rule {
	case RuleBeacon:
		return 1
	case RuleVolume:
		return 2
	case RuleDNSTunnel:
		return 3
	}
	return 0
}

func sortKeys(keys []pairKey) {
	slices.SortFunc(keys, func(a, b pairKey) int {
		return cmp.Or(cmp.Compare(a.el.ID, b.el.ID), a.dst.Compare(b.dst))
	})
}

func compareAlerts(a, b Alert) int {
	da, db := "", ""
	var aa, ab netip.Addr
	if a.Destination != nil {
		da = a.Destination.Address
		aa, _ = netip.ParseAddr(da)
	}
	if b.Destination != nil {
		db = b.Destination.Address
		ab, _ = netip.ParseAddr(db)
	}
	return cmp.Or(cmp.Compare(a.Element.ID, b.Element.ID), cmp.Compare(ruleIndex(a.Rule), ruleIndex(b.Rule)),
		aa.Compare(ab), a.FirstSeen.Compare(b.FirstSeen))
}

func (m *ElementMap) byIDElement(id string) (*Element, bool) {
	i, ok := m.byID[id]
	if !ok {
		return nil, false
	}
	return &m.elems[i], true
}
