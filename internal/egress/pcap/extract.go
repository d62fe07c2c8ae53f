package pcap

import (
	"context"
	"net/netip"
	"slices"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"

	"github.com/netvet/netvet/internal/egress/flow"
)

// DefaultExportPorts are the UDP ports flow exporters usually send to:
// NetFlow 2055/9995/9996, IPFIX 4739, sFlow 6343.
var DefaultExportPorts = []uint16{2055, 4739, 6343, 9995, 9996}

// ExtractConfig selects the export datagrams in a capture.
type ExtractConfig struct {
	Ports  []uint16 // destination ports (default DefaultExportPorts)
	AnyUDP bool     // take every UDP datagram, whatever its port
}

// ExtractStats counts what extraction saw.
type ExtractStats struct {
	Packets    int64 // packets read
	Datagrams  int64 // export datagrams handed to the decoder
	Fragments  int64 // IP fragments skipped (export datagrams are not reassembled)
	DecodeErrs int64 // datagrams the decoder rejected, fully or partly (see its Stats)
	Records    int64
}

// ExtractFile reads the flow export datagrams in a capture, decodes each
// with dec using the packet's timestamp as receive time and its IP source
// as the exporter, and emits the Records.
func ExtractFile(ctx context.Context, path string, lim Limits, cfg ExtractConfig, dec *flow.Decoder, emit func(flow.Record)) (ExtractStats, error) {
	if len(cfg.Ports) == 0 {
		cfg.Ports = DefaultExportPorts
	}
	var st ExtractStats
	var (
		eth     layers.Ethernet
		sll     layers.LinuxSLL
		dot1q   layers.Dot1Q
		ip4     layers.IPv4
		ip6     layers.IPv6
		udp     layers.UDP
		payload gopacket.Payload
		decoded []gopacket.LayerType
		out     []flow.Record
	)
	parsers := make(map[gopacket.LayerType]*gopacket.DecodingLayerParser)
	for _, first := range []gopacket.LayerType{layers.LayerTypeEthernet, layers.LayerTypeLinuxSLL, layers.LayerTypeIPv4, layers.LayerTypeIPv6} {
		p := gopacket.NewDecodingLayerParser(first, &eth, &sll, &dot1q, &ip4, &ip6, &udp, &payload)
		p.IgnoreUnsupported = true
		parsers[first] = p
	}
	n, err := forEach(ctx, path, lim, func(p Packet) {
		first, ok := firstLayer(p.LinkType, p.Data)
		if !ok {
			return
		}
		_ = parsers[first].DecodeLayers(p.Data, &decoded)
		var src netip.Addr
		isUDP := false
		for _, lt := range decoded {
			switch lt {
			case layers.LayerTypeIPv4:
				src, _ = netip.AddrFromSlice(ip4.SrcIP)
				if ip4.Flags&layers.IPv4MoreFragments != 0 || ip4.FragOffset != 0 {
					st.Fragments++
					return
				}
			case layers.LayerTypeIPv6:
				src, _ = netip.AddrFromSlice(ip6.SrcIP)
				if ip6.NextHeader == layers.IPProtocolIPv6Fragment {
					st.Fragments++
					return
				}
			case layers.LayerTypeUDP:
				isUDP = true
			}
		}
		if !isUDP || !src.IsValid() || (!cfg.AnyUDP && !slices.Contains(cfg.Ports, uint16(udp.DstPort))) {
			return
		}
		st.Datagrams++
		var derr error
		out, derr = dec.Decode(src, udp.Payload, p.Time, out[:0])
		if derr != nil {
			st.DecodeErrs++
		}
		for _, r := range out {
			emit(r)
		}
		st.Records += int64(len(out))
	})
	st.Packets = n
	return st, err
}
