// Package flow decodes flow export datagrams (NetFlow v5, NetFlow v9, IPFIX
// and sFlow v5) from configured exporters and normalises them into compact
// Records with explicit time provenance.
//
// Wire decoding is done by goflow2's decoder packages; everything after that
// (field mapping, the many time representations exporters use, sampling,
// sFlow packet-header parsing) is done here. Datagrams are checked for
// lengths and counts before they reach goflow2, templates live in a store
// with per-exporter caps and idle expiry, and every drop is counted.
package flow

import (
	"net/netip"
	"time"
)

// TimeSource says how a Record's Start and End were derived.
type TimeSource string

// Time sources, from most to least trustworthy.
const (
	TimeAbsoluteNs      TimeSource = "absolute-ns"          // IPFIX IEs 156/157
	TimeAbsoluteUs      TimeSource = "absolute-us"          // IPFIX IEs 154/155
	TimeAbsoluteMs      TimeSource = "absolute-ms"          // IEs 152/153
	TimeAbsoluteSeconds TimeSource = "absolute-seconds"     // IEs 150/151
	TimeStartDuration   TimeSource = "start+duration"       // absolute start + IE 161/162
	TimeUptimeRelative  TimeSource = "uptime-relative"      // v5 First/Last, IEs 22/21 with an uptime reference
	TimeExportFallback  TimeSource = "export-time-fallback" // no usable time field: the export header time
	TimeSFlowReceive    TimeSource = "sflow-receive-time"   // sFlow carries no flow times
	TimePacketCapture   TimeSource = "packet-capture"       // metered from captured packets
)

// Protocol names the export protocol a Record came from.
type Protocol string

// Export protocols.
const (
	ProtoNetFlowV5 Protocol = "netflow-v5"
	ProtoNetFlowV9 Protocol = "netflow-v9"
	ProtoIPFIX     Protocol = "ipfix"
	ProtoSFlowV5   Protocol = "sflow-v5"
	ProtoPcap      Protocol = "pcap"
)

// Direction is the flow direction reported by the exporter (IE 61).
type Direction uint8

// Directions. Unknown when the exporter did not say.
const (
	DirectionUnknown Direction = iota
	DirectionIngress
	DirectionEgress
)

func (d Direction) String() string {
	switch d {
	case DirectionIngress:
		return "ingress"
	case DirectionEgress:
		return "egress"
	}
	return "unknown"
}

// Record is one normalised flow. Bytes and Packets are already scaled by the
// sampling rate when Sampled is true; SamplingRate is 1 when the flow was not
// sampled or the exporter did not say (then Sampled is false).
type Record struct {
	Exporter          netip.Addr // the datagram's source (or capture-file meter: invalid)
	Source            string     // capture file for pcap-metered flows, empty otherwise
	Protocol          Protocol
	ObservationDomain uint32 // v9 source ID, IPFIX observation domain, v5 engine type<<8|id, sFlow sub-agent
	Src, Dst          netip.Addr
	SrcPort, DstPort  uint16
	Proto             uint8
	TCPFlags          uint8
	Direction         Direction
	Sampled           bool
	SamplingRate      uint32
	InIf, OutIf       uint32
	Bytes, Packets    uint64
	Start, End        time.Time // UTC
	TimeSource        TimeSource
}
