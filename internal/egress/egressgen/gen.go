package egressgen

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"net/netip"
	"slices"
	"time"

	"github.com/netvet/netvet/internal/egress/flow"
)

// Planted behaviours.
const (
	Beacon       = "beacon"        // 60 s ± 3 s HTTPS callbacks to a foreign AS
	DailyUpload  = "daily-upload"  // one 60-90 MB HTTPS upload a day to a foreign AS
	DNSForeign   = "dns-foreign"   // nightly DNS tunnel to a resolver that is not the operator's
	DNSOperator  = "dns-operator"  // nightly DNS tunnel through the operator's own resolver
	VolumeJump   = "volume-jump"   // 1.8 GB in two hours to the allowed OSS file server
	HardNegative = "hard-negative" // NTP every 64 s to an allowed server: must not alert
)

// Config describes what to generate. Zero fields take the defaults in
// brackets.
type Config struct {
	Seed     uint64
	Start    time.Time // first day, truncated to UTC midnight [Monday 2026-11-02]
	Days     int       // [30]
	Elements []Element // required; at least 9 for every planted behaviour
	Exporter netip.Addr
	// Plant lists the behaviours to plant [all]; planted elements are
	// chosen by the seed. HardNegative is always planted.
	Plant []string
	// ActiveTimeout is the meter's active timeout: long flows are cut into
	// records this long [30m].
	ActiveTimeout time.Duration
	// Strength of the planted behaviours, to find where detection stops.
	BeaconJitter time.Duration // the beacon's start times vary by ± this [3s]
	ForeignQPS   float64       // queries a second of the tunnel to a foreign resolver [0.8]
	OperatorQPS  float64       // queries a second of the tunnel through the operator's resolver [0.5]
	JumpBytes    uint64        // bytes of the volume jump, sent over two hours [1.8 GB]
}

// MaxElements is the most elements New accepts (their management
// addresses are numbered in 10.40.0.0/16).
const MaxElements = 50_000

// DefaultExporter is the independent edge meter the records come from.
var DefaultExporter = netip.MustParseAddr("10.255.0.1")

// Planted is one planted behaviour.
type Planted struct {
	Kind    string
	Element string
	Addr    netip.Addr // the element's management address
	Dst     netip.Addr // the destination the behaviour goes to
	From    time.Time  // when it starts
	Note    string
}

// Node is a generated element with its management address.
type Node struct {
	Element
	Addr netip.Addr
	Role string // planted behaviour, empty for normal elements
}

// Month is a generated period of traffic.
type Month struct {
	cfg     Config
	nodes   []*node
	planted []Planted
	windows map[string]int // vendor family -> software download day
}

type ntpState struct {
	server   netip.Addr
	next     time.Time
	interval int // seconds
	count    int
	port     uint16
	reset    int // next entry of node.resets to apply
}

type node struct {
	Node
	idx        int
	src        *rand.PCG
	rng        *rand.Rand // over src
	src0       []byte     // src's state after New, so that every Run starts alike
	ntp        []ntpState
	ntp0       []ntpState
	ntpMax     int
	ntpMin     int
	dnsRate    float64 // queries per hour at peak
	syslogRate float64 // messages per hour at peak
	trapRate   float64 // bursts per day
	sessRate   float64 // human sessions per working hour
	pm         bool    // RAN element: uploads PM files every 15 min
	pmBytes    float64
	pollBytes  float64
	backup     float64 // nightly configuration backup bytes
	syslogPort uint16
	pollPort   uint16
	silent     [2]time.Time
	restarts   []time.Time // restart instants; the element is down for downFor
	downFor    []time.Duration
	resets     []time.Time // when NTP restarts from minpoll
}

// Operator servers (private, on the management network).
var (
	ntpServers    = []netip.Addr{mustAddr("10.20.0.1"), mustAddr("10.20.0.2"), mustAddr("10.20.0.3")}
	dnsServers    = []netip.Addr{mustAddr("10.20.1.1"), mustAddr("10.20.1.2")}
	syslogServer  = mustAddr("10.20.2.1")
	trapServers   = []netip.Addr{mustAddr("10.20.3.1"), mustAddr("10.20.3.2")}
	tacacsServers = []netip.Addr{mustAddr("10.20.4.1"), mustAddr("10.20.4.2")}
	nmsStations   = []netip.Addr{mustAddr("10.20.5.1"), mustAddr("10.20.5.2"), mustAddr("10.20.5.3"), mustAddr("10.20.5.4")}
	fileServer    = mustAddr("10.20.5.10")
)

// Fictional public destinations: see IPTable.
var (
	c2Addr       = mustAddr("103.77.14.23")
	uploadAddr   = mustAddr("156.251.20.40")
	resolverAddr = mustAddr("185.193.124.53")
)

func mustAddr(s string) netip.Addr { return netip.MustParseAddr(s) }

// New lays out the elements, their habits and the planted behaviour.
func New(cfg Config) (*Month, error) {
	if len(cfg.Elements) == 0 {
		return nil, errors.New("egressgen: no elements")
	}
	if len(cfg.Elements) > MaxElements {
		return nil, fmt.Errorf("egressgen: %d elements: at most %d", len(cfg.Elements), MaxElements)
	}
	ids := make(map[string]bool, len(cfg.Elements))
	for _, e := range cfg.Elements {
		if e.ID == "" || ids[e.ID] {
			return nil, fmt.Errorf("egressgen: element id %q empty or given twice", e.ID)
		}
		ids[e.ID] = true
	}
	if cfg.Start.IsZero() {
		cfg.Start = time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)
	}
	cfg.Start = cfg.Start.UTC().Truncate(24 * time.Hour)
	if cfg.Days <= 0 {
		cfg.Days = 30
	}
	if cfg.Days > 366 {
		return nil, fmt.Errorf("egressgen: %d days: at most 366", cfg.Days)
	}
	if !cfg.Exporter.IsValid() {
		cfg.Exporter = DefaultExporter
	}
	if cfg.ActiveTimeout <= 0 {
		cfg.ActiveTimeout = 30 * time.Minute
	}
	if cfg.BeaconJitter <= 0 {
		cfg.BeaconJitter = 3 * time.Second
	}
	if cfg.BeaconJitter > 29*time.Second {
		return nil, fmt.Errorf("egressgen: beacon jitter %s: at most 29s", cfg.BeaconJitter)
	}
	if cfg.ForeignQPS <= 0 {
		cfg.ForeignQPS = 0.8
	}
	if cfg.OperatorQPS <= 0 {
		cfg.OperatorQPS = 0.5
	}
	if cfg.ForeignQPS > 100 || cfg.OperatorQPS > 100 {
		return nil, errors.New("egressgen: more than 100 DNS queries a second")
	}
	if cfg.JumpBytes == 0 {
		cfg.JumpBytes = 1_800_000_000
	}
	if cfg.Plant == nil {
		cfg.Plant = []string{Beacon, DailyUpload, DNSForeign, DNSOperator, VolumeJump}
	}
	if !slices.Contains(cfg.Plant, HardNegative) {
		cfg.Plant = append(slices.Clone(cfg.Plant), HardNegative)
	}
	for i, k := range cfg.Plant {
		if slices.Contains(cfg.Plant[:i], k) {
			return nil, fmt.Errorf("egressgen: behaviour %q planted twice", k)
		}
		switch k {
		case Beacon, DailyUpload, DNSForeign, DNSOperator, VolumeJump, HardNegative:
		default:
			return nil, fmt.Errorf("egressgen: unknown behaviour %q", k)
		}
	}
	if len(cfg.Elements) < len(cfg.Plant)+3 {
		return nil, fmt.Errorf("egressgen: %d elements for %d planted behaviours: need %d", len(cfg.Elements), len(cfg.Plant), len(cfg.Plant)+3)
	}
	m := &Month{cfg: cfg, windows: map[string]int{}}
	rng := rand.New(rand.NewPCG(cfg.Seed, 0xe9e55))
	end := cfg.Start.AddDate(0, 0, cfg.Days)
	for i, e := range cfg.Elements {
		n := &node{Node: Node{Element: e, Addr: netip.AddrFrom4([4]byte{10, 40, byte(i / 200), byte(10 + i%200)})}, idx: i,
			src: rand.NewPCG(cfg.Seed, uint64(i)+1)}
		n.rng = rand.New(n.src)
		r := n.rng
		n.ntpMin, n.ntpMax = 64, []int{1024, 1024, 1024, 256, 512}[r.IntN(5)]
		nsrv := 2 + r.IntN(2)
		for s := range nsrv {
			srv := ntpServers[(i+s)%len(ntpServers)]
			n.ntp = append(n.ntp, ntpState{server: srv, next: cfg.Start.Add(time.Duration(r.IntN(64000)) * time.Millisecond), interval: n.ntpMax, port: 123})
		}
		n.dnsRate = min(120, max(0.5, 3*math.Exp(r.NormFloat64()))) // a few elements resolve names often
		n.syslogRate = 10 + 150*r.Float64()
		n.trapRate = 0.5 + 3*r.Float64()
		n.sessRate = 0.02 + 0.2*r.Float64()
		switch e.Function {
		case "enb", "gnb", "ru", "olt", "mw-backhaul":
			n.pm = true
			n.pmBytes = 30e3 + 250e3*r.Float64()
		default:
			n.pollBytes = 2e3 + 30e3*r.Float64()
		}
		n.backup = 100e3 + 2.5e6*r.Float64()
		n.syslogPort = uint16(32768 + r.IntN(28000))
		n.pollPort = uint16(32768 + r.IntN(28000))
		m.nodes = append(m.nodes, n)
	}
	// Planted and silent elements: distinct, chosen by the seed.
	perm := rng.Perm(len(m.nodes))
	day := func(d int) time.Time { return cfg.Start.AddDate(0, 0, min(d, cfg.Days-1)) }
	long := cfg.Days >= 21
	for k, kind := range cfg.Plant {
		n := m.nodes[perm[k]]
		n.Role = kind
		p := Planted{Kind: kind, Element: n.ID, Addr: n.Addr}
		switch kind {
		case Beacon:
			p.Dst, p.From = c2Addr, day(cfg.Days/3).Add(10*time.Hour+17*time.Minute)
			p.Note = fmt.Sprintf("HTTPS every 60 s ± %s, about 2%% of beats missed", cfg.BeaconJitter)
			if !long {
				p.From = cfg.Start.Add(5 * time.Hour)
			}
		case DailyUpload:
			p.Dst, p.From = uploadAddr, day(cfg.Days/4).Add(2*time.Hour+30*time.Minute)
			p.Note = "one 60-90 MB HTTPS upload a day at 02:40 ± 10 min"
			if !long {
				p.From = cfg.Start.Add(2 * time.Hour)
			}
		case DNSForeign:
			p.Dst, p.From = resolverAddr, day(cfg.Days*2/5).Add(time.Hour)
			p.Note = fmt.Sprintf("%g queries/s of 140-250 bytes from 01:00 to 03:00 to a foreign resolver", cfg.ForeignQPS)
		case DNSOperator:
			p.Dst, p.From = dnsServers[0], day(cfg.Days/2+1).Add(2*time.Hour)
			p.Note = fmt.Sprintf("%g queries/s of 140-250 bytes from 02:00 to 04:00 through the operator's resolver", cfg.OperatorQPS)
		case VolumeJump:
			p.Dst, p.From = fileServer, day(cfg.Days*2/3+1).Add(14*time.Hour)
			p.Note = fmt.Sprintf("%d bytes over two hours to the allowed OSS file server", cfg.JumpBytes)
		case HardNegative:
			p.Dst, p.From = ntpServers[n.idx%len(ntpServers)], cfg.Start
			p.Note = "NTP pinned at 64 s (minpoll = maxpoll = 6) to allowed servers"
			n.ntpMin, n.ntpMax = 64, 64
			for s := range n.ntp {
				n.ntp[s].interval = 64
			}
		}
		m.planted = append(m.planted, p)
	}
	// Three silent elements, a few restarts on the others.
	nSilent := 0
	for _, idx := range perm[len(cfg.Plant):] {
		n := m.nodes[idx]
		if nSilent < 3 && cfg.Days >= 7 {
			from := cfg.Start.Add(time.Duration(rng.IntN(cfg.Days-4)+1) * 24 * time.Hour).Add(time.Duration(rng.IntN(86400)) * time.Second)
			n.silent = [2]time.Time{from, from.Add(time.Duration(2*86400+rng.IntN(4*86400)) * time.Second)}
			n.resets = append(n.resets, n.silent[1])
			nSilent++
			continue
		}
		for range restartsFor(rng) {
			at := cfg.Start.Add(time.Duration(rng.Int64N(int64(end.Sub(cfg.Start)/time.Second))) * time.Second)
			n.restarts = append(n.restarts, at)
		}
	}
	for _, n := range m.nodes {
		slices.SortFunc(n.restarts, func(a, b time.Time) int { return a.Compare(b) })
		for _, r := range n.restarts {
			d := time.Duration(180+n.rng.IntN(720)) * time.Second
			n.downFor = append(n.downFor, d)
			n.resets = append(n.resets, r.Add(d))
		}
		slices.SortFunc(n.resets, func(a, b time.Time) int { return a.Compare(b) })
		state, err := n.src.MarshalBinary()
		if err != nil {
			return nil, fmt.Errorf("egressgen: %w", err)
		}
		n.src0, n.ntp0 = state, slices.Clone(n.ntp)
	}
	fams := map[string]bool{}
	for _, n := range m.nodes {
		fams[Family(n.Vendor)] = true
	}
	for _, f := range sortedKeys(fams) {
		if cfg.Days >= 8 {
			m.windows[f] = 3 + rng.IntN(cfg.Days-5)
		}
	}
	return m, nil
}

func restartsFor(r *rand.Rand) int {
	switch x := r.Float64(); {
	case x < 0.05:
		return 2
	case x < 0.3:
		return 1
	}
	return 0
}

// Nodes returns the generated elements in the order of Config.Elements.
func (m *Month) Nodes() []Node {
	out := make([]Node, len(m.nodes))
	for i, n := range m.nodes {
		out[i] = n.Node
	}
	return out
}

// Planted returns the planted behaviours.
func (m *Month) Planted() []Planted { return slices.Clone(m.planted) }

// Start is the beginning of the generated period.
func (m *Month) Start() time.Time { return m.cfg.Start }

// End is the end of the generated period.
func (m *Month) End() time.Time { return m.cfg.Start.AddDate(0, 0, m.cfg.Days) }

// Exporter is the meter the records are attributed to.
func (m *Month) Exporter() netip.Addr { return m.cfg.Exporter }

// Run generates the records day by day and calls emit for each, in start
// time order (ties broken by source, destination and ports). The record
// passed to emit is reused: copy it to keep it. Run returns the number of
// records.
func (m *Month) Run(emit func(*flow.Record)) int {
	for _, n := range m.nodes {
		if err := n.src.UnmarshalBinary(n.src0); err != nil {
			panic("egressgen: restoring a PCG state it saved: " + err.Error()) // cannot happen
		}
		n.ntp = slices.Clone(n.ntp0)
	}
	total := 0
	var buf []flow.Record
	for d := range m.cfg.Days {
		from := m.cfg.Start.AddDate(0, 0, d)
		to := from.Add(24 * time.Hour)
		buf = buf[:0]
		for _, n := range m.nodes {
			g := gen{m: m, n: n, from: from, to: to, day: d, out: &buf}
			g.run()
		}
		slices.SortFunc(buf, compareRecords)
		for i := range buf {
			emit(&buf[i])
		}
		total += len(buf)
	}
	return total
}

func compareRecords(a, b flow.Record) int {
	if c := a.Start.Compare(b.Start); c != 0 {
		return c
	}
	if c := a.Src.Compare(b.Src); c != 0 {
		return c
	}
	return cmp.Or(a.Dst.Compare(b.Dst), cmp.Compare(a.DstPort, b.DstPort), cmp.Compare(a.SrcPort, b.SrcPort),
		cmp.Compare(a.Proto, b.Proto), a.End.Compare(b.End), cmp.Compare(a.Bytes, b.Bytes))
}

// gen produces one element's records for one day.
type gen struct {
	m        *Month
	n        *node
	from, to time.Time
	day      int
	out      *[]flow.Record
}

const (
	tcp = 6
	udp = 17
)

// diurnal is the relative activity at t: 0.35 at 04:00 UTC, 1 at 16:00,
// weekends at 60 %.
func diurnal(t time.Time) float64 {
	h := float64(t.Hour()) + float64(t.Minute())/60
	f := 0.35 + 0.65*(0.5-0.5*math.Cos(2*math.Pi*(h-4)/24))
	if wd := t.Weekday(); wd == time.Saturday || wd == time.Sunday {
		f *= 0.6
	}
	return f
}

func (g *gen) alive(t time.Time) bool {
	n := g.n
	if !n.silent[0].IsZero() && !t.Before(n.silent[0]) && t.Before(n.silent[1]) {
		return false
	}
	for i, r := range n.restarts {
		if !t.Before(r) && t.Before(r.Add(n.downFor[i])) {
			return false
		}
	}
	return true
}

func (g *gen) emit(dst netip.Addr, sport, dport uint16, proto uint8, start time.Time, dur time.Duration, bytes, pkts uint64) {
	if start.Before(g.from) || !start.Before(g.to) || !g.alive(start) {
		return
	}
	bytes = max(bytes, 28*max(pkts, 1))
	// The meter cuts long flows at its active timeout.
	at := g.m.cfg.ActiveTimeout
	for dur > at {
		share := uint64(float64(bytes) * float64(at) / float64(dur))
		sp := uint64(float64(pkts) * float64(at) / float64(dur))
		g.record(dst, sport, dport, proto, start, at, share, max(sp, 1))
		bytes -= min(share, bytes)
		pkts -= min(sp, pkts)
		start, dur = start.Add(at), dur-at
	}
	g.record(dst, sport, dport, proto, start, dur, bytes, max(pkts, 1))
}

func (g *gen) record(dst netip.Addr, sport, dport uint16, proto uint8, start time.Time, dur time.Duration, bytes, pkts uint64) {
	start = start.Truncate(time.Millisecond)
	*g.out = append(*g.out, flow.Record{Exporter: g.m.cfg.Exporter, Protocol: flow.ProtoIPFIX, ObservationDomain: 1,
		Src: g.n.Addr, Dst: dst, SrcPort: sport, DstPort: dport, Proto: proto, Bytes: bytes, Packets: pkts,
		Start: start, End: start.Add(dur.Truncate(time.Millisecond)), SamplingRate: 1, TimeSource: flow.TimeAbsoluteMs})
}

func (g *gen) ephemeral() uint16 { return uint16(32768 + g.n.rng.IntN(28232)) }

// poisson walks a Poisson process of peak rate perHour over the day,
// thinned by the diurnal curve (when shaped), calling f at each event.
func (g *gen) poisson(perHour float64, shaped bool, f func(t time.Time)) {
	if perHour <= 0 {
		return
	}
	r := g.n.rng
	t := g.from
	for {
		t = t.Add(time.Duration(r.ExpFloat64() / perHour * float64(time.Hour)))
		if !t.Before(g.to) {
			return
		}
		if shaped && r.Float64() > diurnal(t) {
			continue
		}
		f(t)
	}
}

func (g *gen) run() {
	g.ntp()
	g.dns()
	g.syslog()
	g.traps()
	g.sessions()
	g.pmOrPolls()
	g.backup()
	g.download()
	g.restarts()
	g.planted()
}

func (g *gen) ntp() {
	n := g.n
	for s := range n.ntp {
		st := &n.ntp[s]
		for st.next.Before(g.to) {
			// A restart (or the end of a silence) starts polling again
			// from minpoll shortly after the element is back.
			for st.reset < len(n.resets) && !n.resets[st.reset].After(st.next) {
				st.next = n.resets[st.reset].Add(time.Duration(1000+n.rng.IntN(9000)) * time.Millisecond)
				st.interval, st.count = n.ntpMin, 0
				st.reset++
			}
			if !st.next.Before(g.to) {
				break
			}
			g.emit(st.server, st.port, 123, udp, st.next, 0, 76, 1)
			st.count++
			if st.count >= 8 && st.interval < n.ntpMax {
				st.interval, st.count = st.interval*2, 0
			}
			st.next = st.next.Add(time.Duration(st.interval)*time.Second + time.Duration(n.rng.IntN(1000))*time.Millisecond)
		}
	}
}

func (g *gen) dns() {
	g.poisson(g.n.dnsRate, true, func(t time.Time) {
		srv := dnsServers[0]
		if g.n.rng.Float64() < 0.2 {
			srv = dnsServers[1]
		}
		g.emit(srv, g.ephemeral(), 53, udp, t, 0, uint64(60+g.n.rng.IntN(40)), 1)
	})
}

func (g *gen) syslog() {
	r := g.n.rng
	slot := 30 * time.Minute
	for t := g.from; t.Before(g.to); t = t.Add(slot) {
		lambda := g.n.syslogRate * diurnal(t) / 2
		k := poissonN(r, lambda)
		if k == 0 {
			continue
		}
		gap := float64(slot) / float64(k+1)
		a := time.Duration(r.ExpFloat64() * gap)
		b := time.Duration(r.ExpFloat64() * gap)
		if a+b >= slot {
			a, b = 0, slot-time.Second
		}
		g.emit(syslogServer, g.n.syslogPort, 514, udp, t.Add(a), slot-a-b, uint64(k*(120+r.IntN(140))), uint64(k))
	}
}

func (g *gen) traps() {
	g.poisson(g.n.trapRate/24, false, func(t time.Time) {
		r := g.n.rng
		k := 3 + int(r.ExpFloat64()*10)
		dur := time.Duration(r.IntN(60)) * time.Second
		size := uint64(k * (150 + r.IntN(250)))
		for _, srv := range trapServers {
			g.emit(srv, g.ephemeral(), 162, udp, t, dur, size, uint64(k))
		}
	})
}

func workingHours(t time.Time) bool {
	wd := t.Weekday()
	return wd != time.Saturday && wd != time.Sunday && t.Hour() >= 8 && t.Hour() < 18
}

// sessions: engineers log in over SSH or NETCONF from the management
// stations; the element's side of the session flows back to the station,
// and each login is checked with TACACS+.
func (g *gen) sessions() {
	g.poisson(g.n.sessRate, false, func(t time.Time) {
		if !workingHours(t) {
			return
		}
		r := g.n.rng
		st := nmsStations[r.IntN(len(nmsStations))]
		port, median := uint16(22), 40e3
		if r.Float64() < 0.4 {
			port, median = 830, 300e3
		}
		bytes := uint64(median * math.Exp(r.NormFloat64()))
		dur := time.Duration(30+r.IntN(1200)) * time.Second
		g.emit(st, port, g.ephemeral(), tcp, t, dur, bytes, bytes/900+6)
		g.tacacs(t, dur)
	})
}

func (g *gen) tacacs(t time.Time, dur time.Duration) {
	r := g.n.rng
	srv := tacacsServers[r.IntN(len(tacacsServers))]
	g.emit(srv, g.ephemeral(), 49, tcp, t.Add(-time.Second), 200*time.Millisecond, uint64(300+r.IntN(300)), 6)
	g.emit(srv, g.ephemeral(), 49, tcp, t.Add(500*time.Millisecond), 150*time.Millisecond, uint64(250+r.IntN(200)), 5)
	g.emit(srv, g.ephemeral(), 49, tcp, t.Add(dur), 150*time.Millisecond, uint64(250+r.IntN(200)), 5)
}

// pmOrPolls: radio and access elements upload performance-management
// files every 15 minutes; the others answer SNMP polls from one poller
// socket, which the meter reports once per active timeout.
func (g *gen) pmOrPolls() {
	r := g.n.rng
	if g.n.pm {
		for t := g.from; t.Before(g.to); t = t.Add(15 * time.Minute) {
			at := t.Add(time.Duration(60+r.IntN(120)) * time.Second)
			b := uint64(g.n.pmBytes * (0.6 + 0.8*diurnal(t)) * (0.9 + 0.2*r.Float64()))
			g.emit(fileServer, g.ephemeral(), 22, tcp, at, time.Duration(2000+r.IntN(8000))*time.Millisecond, b, b/1200+10)
		}
		return
	}
	at := g.m.cfg.ActiveTimeout
	for t := g.from; t.Before(g.to); t = t.Add(at) {
		polls := float64(at / (5 * time.Minute))
		b := uint64(g.n.pollBytes * polls * (0.9 + 0.2*r.Float64()))
		g.emit(nmsStations[1], 161, g.n.pollPort, udp, t.Add(time.Duration(r.IntN(5000))*time.Millisecond), at-10*time.Second, b, uint64(polls*4))
	}
}

// backup: the NMS pulls the configuration every night at 01:00.
func (g *gen) backup() {
	r := g.n.rng
	t := g.from.Add(time.Hour + time.Duration(r.IntN(600))*time.Second)
	b := uint64(g.n.backup * (0.97 + 0.06*r.Float64()))
	g.emit(nmsStations[0], 830, g.ephemeral(), tcp, t, time.Duration(5+r.IntN(60))*time.Second, b, b/1400+8)
}

// download: once in the period, in a night window per vendor, every
// element fetches a software image from its vendor's repository. What the
// element sends is the request and the TCP acknowledgements: one 52-byte
// ACK per two 1448-byte segments.
func (g *gen) download() {
	fam := Family(g.n.Vendor)
	d, ok := g.m.windows[fam]
	if !ok || d != g.day {
		return
	}
	r := g.n.rng
	image := 150e6 + 750e6*r.Float64()
	start := g.from.Add(time.Hour + time.Duration(r.IntN(3*3600))*time.Second)
	rate := 5e6 + 35e6*r.Float64()
	dur := time.Duration(image / rate * float64(time.Second))
	acks := uint64(image / 2896)
	g.emit(repoAddr(fam), g.ephemeral(), 443, tcp, start, dur, acks*52+2000, acks+8)
}

// restarts: after a reboot the element logs its boot, sends coldStart
// traps, resolves its servers, and the NMS resynchronises its state.
func (g *gen) restarts() {
	r := g.n.rng
	for i, at := range g.n.restarts {
		up := at.Add(g.n.downFor[i]).Add(time.Second)
		if up.Before(g.from) || !up.Before(g.to) {
			continue
		}
		g.emit(syslogServer, g.n.syslogPort, 514, udp, up, 90*time.Second, uint64(200e3+r.IntN(300e3)), uint64(800+r.IntN(1000)))
		for _, srv := range trapServers {
			g.emit(srv, g.ephemeral(), 162, udp, up.Add(2*time.Second), 0, 180, 1)
		}
		for range 10 + r.IntN(20) {
			g.emit(dnsServers[0], g.ephemeral(), 53, udp, up.Add(time.Duration(r.IntN(30000))*time.Millisecond), 0, uint64(60+r.IntN(40)), 1)
		}
		b := uint64(500e3 + 5.5e6*r.Float64())
		g.emit(nmsStations[0], 830, g.ephemeral(), tcp, up.Add(time.Duration(120+r.IntN(180))*time.Second), time.Duration(60+r.IntN(120))*time.Second, b, b/1400+8)
	}
}

func (g *gen) planted() {
	if g.n.Role == "" {
		return
	}
	var p Planted
	for _, x := range g.m.planted {
		if x.Element == g.n.ID {
			p = x
		}
	}
	r := g.n.rng
	switch p.Kind {
	case Beacon:
		t := g.from
		if p.From.After(t) {
			t = p.From
		}
		for ; t.Before(g.to); t = t.Add(60 * time.Second) {
			if r.Float64() < 0.02 {
				continue
			}
			j := int64(g.m.cfg.BeaconJitter / time.Millisecond)
			at := t.Add(time.Duration(r.Int64N(2*j)-j) * time.Millisecond)
			if at.Before(p.From) {
				continue
			}
			g.emit(p.Dst, g.ephemeral(), 443, tcp, at, time.Duration(200+r.IntN(800))*time.Millisecond, uint64(460+r.IntN(120)), uint64(5+r.IntN(3)))
		}
	case DailyUpload:
		at := g.from.Add(2*time.Hour + 30*time.Minute + time.Duration(r.IntN(1200))*time.Second)
		if at.Before(p.From) {
			return
		}
		b := uint64(60e6 + 30e6*r.Float64())
		g.emit(p.Dst, g.ephemeral(), 443, tcp, at, time.Duration(60+r.IntN(140))*time.Second, b, b/1400+20)
	case DNSForeign, DNSOperator:
		lo, hi, qps := 1, 3, g.m.cfg.ForeignQPS
		if p.Kind == DNSOperator {
			lo, hi, qps = 2, 4, g.m.cfg.OperatorQPS
		}
		t := g.from.Add(time.Duration(lo) * time.Hour)
		end := g.from.Add(time.Duration(hi) * time.Hour)
		if t.Before(p.From) {
			return
		}
		for {
			t = t.Add(time.Duration(r.ExpFloat64() / qps * float64(time.Second)))
			if !t.Before(end) {
				return
			}
			g.emit(p.Dst, g.ephemeral(), 53, udp, t, 0, uint64(140+r.IntN(110)), 1)
		}
	case VolumeJump:
		if g.from.Equal(p.From.Truncate(24 * time.Hour)) {
			b := g.m.cfg.JumpBytes
			g.emit(p.Dst, g.ephemeral(), 22, tcp, p.From.Add(time.Duration(r.IntN(600))*time.Second), 2*time.Hour, b, b/1400)
		}
	}
}

func poissonN(r *rand.Rand, lambda float64) int {
	if lambda <= 0 {
		return 0
	}
	if lambda > 50 {
		return max(0, int(math.Round(lambda+math.Sqrt(lambda)*r.NormFloat64())))
	}
	l, k, p := math.Exp(-lambda), 0, 1.0
	for {
		p *= r.Float64()
		if p <= l {
			return k
		}
		k++
	}
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}
