package flow

import (
	"encoding/binary"
	"net/netip"
	"time"

	"github.com/netsampler/goflow2/v2/decoders/sflow"
)

// sFlow sampled-header protocols (sFlow v5 header_protocol).
const (
	sflowHeaderEthernet = 1
	sflowHeaderIPv4     = 11
	sflowHeaderIPv6     = 12
)

// pktInfo is what parsePacket extracts from a packet header.
type pktInfo struct {
	src, dst         netip.Addr
	srcPort, dstPort uint16
	proto, tcpFlags  uint8
	ipLen            uint32 // IP total length from the header, 0 if unknown
}

// parsePacket reads Ethernet (up to two VLAN tags), IPv4 or IPv6 (up to 8
// extension headers) and the TCP/UDP ports from a captured header. It reads
// only within b.
func parsePacket(kind uint32, b []byte) (pktInfo, bool) {
	var p pktInfo
	var et uint16
	switch kind {
	case sflowHeaderEthernet:
		if len(b) < 14 {
			return p, false
		}
		et, b = binary.BigEndian.Uint16(b[12:]), b[14:]
		for i := 0; i < 2 && (et == 0x8100 || et == 0x88a8); i++ {
			if len(b) < 4 {
				return p, false
			}
			et, b = binary.BigEndian.Uint16(b[2:]), b[4:]
		}
	case sflowHeaderIPv4:
		et = 0x0800
	case sflowHeaderIPv6:
		et = 0x86dd
	default:
		return p, false
	}
	var l4 []byte
	switch et {
	case 0x0800:
		if len(b) < 20 || b[0]>>4 != 4 {
			return p, false
		}
		ihl := int(b[0]&0x0f) * 4
		if ihl < 20 || ihl > len(b) {
			return p, false
		}
		p.ipLen = uint32(binary.BigEndian.Uint16(b[2:]))
		p.proto = b[9]
		p.src = netip.AddrFrom4([4]byte(b[12:16]))
		p.dst = netip.AddrFrom4([4]byte(b[16:20]))
		if binary.BigEndian.Uint16(b[6:])&0x1fff != 0 {
			return p, true // later fragment: no ports
		}
		l4 = b[ihl:]
	case 0x86dd:
		if len(b) < 40 || b[0]>>4 != 6 {
			return p, false
		}
		p.ipLen = uint32(binary.BigEndian.Uint16(b[4:])) + 40
		p.src = netip.AddrFrom16([16]byte(b[8:24]))
		p.dst = netip.AddrFrom16([16]byte(b[24:40]))
		nh, rest := b[6], b[40:]
		for i := 0; i < 8; i++ {
			switch nh {
			case 0, 43, 60: // hop-by-hop, routing, destination options
				if len(rest) < 8 {
					return pktInfo{src: p.src, dst: p.dst, proto: nh, ipLen: p.ipLen}, true
				}
				n := (int(rest[1]) + 1) * 8
				if n > len(rest) {
					p.proto = nh
					return p, true
				}
				nh, rest = rest[0], rest[n:]
				continue
			case 44: // fragment
				if len(rest) < 8 {
					p.proto = nh
					return p, true
				}
				if binary.BigEndian.Uint16(rest[2:])&0xfff8 != 0 {
					p.proto = rest[0]
					return p, true
				}
				nh, rest = rest[0], rest[8:]
				continue
			}
			break
		}
		p.proto = nh
		l4 = rest
	default:
		return p, false
	}
	switch p.proto {
	case 6:
		if len(l4) >= 14 {
			p.srcPort = binary.BigEndian.Uint16(l4)
			p.dstPort = binary.BigEndian.Uint16(l4[2:])
			p.tcpFlags = l4[13]
		}
	case 17, 132:
		if len(l4) >= 4 {
			p.srcPort = binary.BigEndian.Uint16(l4)
			p.dstPort = binary.BigEndian.Uint16(l4[2:])
		}
	}
	return p, true
}

func (d *Decoder) normSFlow(exporter netip.Addr, p *sflow.Packet, recv time.Time, out []Record) []Record {
	for _, s := range p.Samples {
		var rate, in, outIf uint32
		var records []sflow.FlowRecord
		switch s := s.(type) {
		case sflow.FlowSample:
			rate, records = s.SamplingRate, s.Records
			in, outIf = s.Input&0x3fffffff, s.Output&0x3fffffff
		case sflow.ExpandedFlowSample:
			rate, records = s.SamplingRate, s.Records
			in, outIf = s.InputIfValue, s.OutputIfValue
		default:
			continue
		}
		d.stats.SFlowSamples.Add(1)
		r := Record{
			Exporter:          exporter,
			Protocol:          ProtoSFlowV5,
			ObservationDomain: p.SubAgentId,
			InIf:              in,
			OutIf:             outIf,
			Start:             recv,
			End:               recv,
			TimeSource:        TimeSFlowReceive,
			SamplingRate:      1,
		}
		if rate > 1 {
			r.Sampled, r.SamplingRate = true, rate
		}
		found := false
		var frameLen uint32
		for _, fr := range records {
			switch v := fr.Data.(type) {
			case sflow.SampledHeader:
				info, ok := parsePacket(v.Protocol, v.HeaderData)
				if !ok || found {
					continue
				}
				found, frameLen = true, v.FrameLength
				r.Src, r.Dst, r.SrcPort, r.DstPort = info.src, info.dst, info.srcPort, info.dstPort
				r.Proto, r.TCPFlags = info.proto, info.tcpFlags
				if info.ipLen > 0 {
					frameLen = info.ipLen
				}
			case sflow.SampledIPv4:
				if found {
					continue
				}
				found = setSampledIP(&r, &v.SampledIPBase, &frameLen)
			case sflow.SampledIPv6:
				if found {
					continue
				}
				found = setSampledIP(&r, &v.SampledIPBase, &frameLen)
			}
		}
		if !found || !r.Src.IsValid() || !r.Dst.IsValid() {
			d.stats.SFlowNoHeader.Add(1)
			continue
		}
		r.Packets = uint64(r.SamplingRate)
		r.Bytes = uint64(frameLen) * uint64(r.SamplingRate)
		out = append(out, r)
	}
	return out
}

func setSampledIP(r *Record, b *sflow.SampledIPBase, frameLen *uint32) bool {
	src, ok1 := netip.AddrFromSlice(b.SrcIP)
	dst, ok2 := netip.AddrFromSlice(b.DstIP)
	if !ok1 || !ok2 {
		return false
	}
	r.Src, r.Dst = src, dst
	r.SrcPort, r.DstPort = uint16(b.SrcPort), uint16(b.DstPort)
	r.Proto, r.TCPFlags = uint8(b.Protocol), uint8(b.TcpFlags)
	*frameLen = b.Length
	return true
}
