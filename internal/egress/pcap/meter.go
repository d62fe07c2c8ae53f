package pcap

import (
	"cmp"
	"context"
	"net/netip"
	"path/filepath"
	"slices"
	"time"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"

	"github.com/netvet/netvet/internal/egress/flow"
)

// MeterConfig sets the flow meter's timeouts and memory cap.
//
// Flows are unidirectional, keyed by (source, destination, protocol,
// source port, destination port), like NetFlow and IPFIX: the two halves
// of a conversation are two Records, so bytes an element sends are never
// mixed with bytes it receives.
type MeterConfig struct {
	ActiveTimeout time.Duration // a long flow is cut into records this long (default 30 min)
	IdleTimeout   time.Duration // a flow ends after this long without packets (default 60 s)
	MaxFlows      int           // concurrent flows kept (default 65536); beyond, the stalest is emitted early
}

// MeterStats counts what the meter saw.
type MeterStats struct {
	Packets      int64 // packets read
	NotIP        int64 // packets without IPv4/IPv6 (ARP, other link types, ...)
	Undecodable  int64 // IP packets gopacket could not decode
	Flows        int64 // records emitted
	EvictedEarly int64 // flows emitted before their timeout because of MaxFlows
	OutOfOrder   int64 // packets older than the one before (merged into their flow as is)
}

type flowKey struct {
	src, dst         netip.Addr
	srcPort, dstPort uint16
	proto            uint8
}

type flowEntry struct {
	first, last    time.Time
	bytes, packets uint64
	tcpFlags       uint8
}

// Meter aggregates packets into flow Records.
type Meter struct {
	cfg       MeterConfig
	source    string
	flows     map[flowKey]*flowEntry
	emit      func(flow.Record)
	stats     MeterStats
	nextSweep time.Time
	last      time.Time // timestamp of the previous packet

	parsers map[gopacket.LayerType]*gopacket.DecodingLayerParser
	eth     layers.Ethernet
	sll     layers.LinuxSLL
	dot1q   layers.Dot1Q
	ip4     layers.IPv4
	ip6     layers.IPv6
	tcp     layers.TCP
	udp     layers.UDP
	payload gopacket.Payload
	decoded []gopacket.LayerType
}

// NewMeter returns a Meter whose Records name source (the capture file) and
// go to emit.
func NewMeter(cfg MeterConfig, source string, emit func(flow.Record)) *Meter {
	if cfg.ActiveTimeout <= 0 {
		cfg.ActiveTimeout = 30 * time.Minute
	}
	if cfg.IdleTimeout <= 0 {
		cfg.IdleTimeout = 60 * time.Second
	}
	if cfg.MaxFlows <= 0 {
		cfg.MaxFlows = 65536
	}
	m := &Meter{cfg: cfg, source: source, flows: make(map[flowKey]*flowEntry), emit: emit}
	m.parsers = make(map[gopacket.LayerType]*gopacket.DecodingLayerParser)
	for _, first := range []gopacket.LayerType{layers.LayerTypeEthernet, layers.LayerTypeLinuxSLL, layers.LayerTypeIPv4, layers.LayerTypeIPv6} {
		p := gopacket.NewDecodingLayerParser(first, &m.eth, &m.sll, &m.dot1q, &m.ip4, &m.ip6, &m.tcp, &m.udp, &m.payload)
		p.IgnoreUnsupported = true
		m.parsers[first] = p
	}
	return m
}

// Stats returns the counters so far.
func (m *Meter) Stats() MeterStats { return m.stats }

// firstLayer maps a capture link type to the layer decoding starts at.
func firstLayer(lt layers.LinkType, data []byte) (gopacket.LayerType, bool) {
	switch lt {
	case layers.LinkTypeEthernet:
		return layers.LayerTypeEthernet, true
	case layers.LinkTypeLinuxSLL:
		return layers.LayerTypeLinuxSLL, true
	case layers.LinkTypeRaw, layers.LinkTypeIPv4, layers.LinkTypeIPv6, 12, 14:
		if len(data) == 0 {
			return 0, false
		}
		if data[0]>>4 == 6 {
			return layers.LayerTypeIPv6, true
		}
		return layers.LayerTypeIPv4, true
	}
	return 0, false
}

// Add meters one packet. Packets must come in capture order.
func (m *Meter) Add(p Packet) {
	m.stats.Packets++
	if m.nextSweep.IsZero() || !p.Time.Before(m.nextSweep) {
		m.sweep(p.Time)
		m.nextSweep = p.Time.Add(time.Second)
	}
	first, ok := firstLayer(p.LinkType, p.Data)
	if !ok {
		m.stats.NotIP++
		return
	}
	_ = m.parsers[first].DecodeLayers(p.Data, &m.decoded) // errors after the IP layer are fine
	var k flowKey
	var ipLen uint64
	var flags uint8
	hasIP := false
	if !m.last.IsZero() && p.Time.Before(m.last) {
		m.stats.OutOfOrder++
	}
	m.last = p.Time
	for _, lt := range m.decoded {
		switch lt {
		case layers.LayerTypeIPv4:
			hasIP = true
			k.src, _ = netip.AddrFromSlice(m.ip4.SrcIP)
			k.dst, _ = netip.AddrFromSlice(m.ip4.DstIP)
			k.proto = uint8(m.ip4.Protocol)
			ipLen = uint64(m.ip4.Length)
		case layers.LayerTypeIPv6:
			hasIP = true
			k.src, _ = netip.AddrFromSlice(m.ip6.SrcIP)
			k.dst, _ = netip.AddrFromSlice(m.ip6.DstIP)
			k.proto = uint8(m.ip6.NextHeader)
			ipLen = uint64(m.ip6.Length) + 40
		case layers.LayerTypeTCP:
			k.srcPort, k.dstPort = uint16(m.tcp.SrcPort), uint16(m.tcp.DstPort)
			k.proto = 6
			flags = tcpFlags(&m.tcp)
		case layers.LayerTypeUDP:
			k.srcPort, k.dstPort = uint16(m.udp.SrcPort), uint16(m.udp.DstPort)
			k.proto = 17
		}
	}
	if !hasIP {
		m.stats.NotIP++
		return
	}
	if !k.src.IsValid() || !k.dst.IsValid() {
		m.stats.Undecodable++
		return
	}
	e := m.flows[k]
	if e != nil && (p.Time.Sub(e.last) > m.cfg.IdleTimeout || p.Time.Sub(e.first) >= m.cfg.ActiveTimeout) {
		m.emitFlow(k, e)
		delete(m.flows, k)
		e = nil
	}
	if e == nil {
		if len(m.flows) >= m.cfg.MaxFlows {
			m.evictStalest()
		}
		e = &flowEntry{first: p.Time}
		m.flows[k] = e
	}
	switch {
	case p.Time.After(e.last):
		e.last = p.Time
	case p.Time.Before(e.first):
		e.first = p.Time // a capture out of time order
	}
	e.bytes += ipLen
	e.packets++
	e.tcpFlags |= flags
}

func tcpFlags(t *layers.TCP) uint8 {
	var f uint8
	for i, b := range []bool{t.FIN, t.SYN, t.RST, t.PSH, t.ACK, t.URG, t.ECE, t.CWR} {
		if b {
			f |= 1 << i
		}
	}
	return f
}

func (m *Meter) record(k flowKey, e *flowEntry) flow.Record {
	return flow.Record{
		Source: m.source, Protocol: flow.ProtoPcap,
		Src: k.src, Dst: k.dst, SrcPort: k.srcPort, DstPort: k.dstPort, Proto: k.proto, TCPFlags: e.tcpFlags,
		Bytes: e.bytes, Packets: e.packets, Start: e.first, End: e.last,
		TimeSource: flow.TimePacketCapture, SamplingRate: 1,
	}
}

func (m *Meter) emitFlow(k flowKey, e *flowEntry) {
	m.stats.Flows++
	m.emit(m.record(k, e))
}

// evictStalest emits the flow with the oldest last packet. It scans the
// table, which only happens when the table is full.
func (m *Meter) evictStalest() {
	var sk flowKey
	var se *flowEntry
	for k, e := range m.flows {
		if se == nil || e.last.Before(se.last) || (e.last.Equal(se.last) && keyLess(k, sk)) {
			sk, se = k, e
		}
	}
	if se != nil {
		m.stats.EvictedEarly++
		m.emitFlow(sk, se)
		delete(m.flows, sk)
	}
}

// sweep emits, in a stable order, every flow that timed out by now.
func (m *Meter) sweep(now time.Time) {
	var done []flowKey
	for k, e := range m.flows {
		if now.Sub(e.last) > m.cfg.IdleTimeout || now.Sub(e.first) >= m.cfg.ActiveTimeout {
			done = append(done, k)
		}
	}
	m.emitSorted(done)
}

func (m *Meter) emitSorted(keys []flowKey) {
	slices.SortFunc(keys, func(a, b flowKey) int {
		if c := m.flows[a].first.Compare(m.flows[b].first); c != 0 {
			return c
		}
		if keyLess(a, b) {
			return -1
		}
		if keyLess(b, a) {
			return 1
		}
		return 0
	})
	for _, k := range keys {
		m.emitFlow(k, m.flows[k])
		delete(m.flows, k)
	}
}

func keyLess(a, b flowKey) bool {
	return cmp.Or(a.src.Compare(b.src), a.dst.Compare(b.dst), cmp.Compare(a.proto, b.proto),
		cmp.Compare(a.srcPort, b.srcPort), cmp.Compare(a.dstPort, b.dstPort)) < 0
}

// Flush emits every remaining flow (end of capture).
func (m *Meter) Flush() {
	keys := make([]flowKey, 0, len(m.flows))
	for k := range m.flows {
		keys = append(keys, k)
	}
	m.emitSorted(keys)
}

// MeterFile meters every packet of a capture and emits its flows; the
// Records' Source is the file's base name.
func MeterFile(ctx context.Context, path string, lim Limits, cfg MeterConfig, emit func(flow.Record)) (MeterStats, error) {
	m := NewMeter(cfg, filepath.Base(path), emit)
	_, err := forEach(ctx, path, lim, m.Add)
	m.Flush()
	return m.stats, err
}
