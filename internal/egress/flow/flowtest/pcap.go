package flowtest

import (
	"net"
	"net/netip"
	"os"
	"time"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/google/gopacket/pcapgo"
)

var (
	macA = net.HardwareAddr{0x02, 0, 0, 0, 0, 1}
	macB = net.HardwareAddr{0x02, 0, 0, 0, 0, 2}
)

// Frame builds an Ethernet frame from src to dst with a transport header for
// proto (6 TCP with flags, 17 UDP, anything else raw) and payload bytes.
func Frame(src, dst netip.AddrPort, proto, tcpFlags uint8, payload []byte) []byte {
	eth := &layers.Ethernet{SrcMAC: macA, DstMAC: macB}
	var net gopacket.NetworkLayer
	var ls []gopacket.SerializableLayer
	if src.Addr().Is4() {
		eth.EthernetType = layers.EthernetTypeIPv4
		ip := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocol(proto), SrcIP: src.Addr().AsSlice(), DstIP: dst.Addr().AsSlice()}
		net, ls = ip, []gopacket.SerializableLayer{eth, ip}
	} else {
		eth.EthernetType = layers.EthernetTypeIPv6
		ip := &layers.IPv6{Version: 6, HopLimit: 64, NextHeader: layers.IPProtocol(proto), SrcIP: src.Addr().AsSlice(), DstIP: dst.Addr().AsSlice()}
		net, ls = ip, []gopacket.SerializableLayer{eth, ip}
	}
	switch proto {
	case 6:
		t := &layers.TCP{SrcPort: layers.TCPPort(src.Port()), DstPort: layers.TCPPort(dst.Port()), Window: 1024,
			FIN: tcpFlags&0x01 != 0, SYN: tcpFlags&0x02 != 0, RST: tcpFlags&0x04 != 0, PSH: tcpFlags&0x08 != 0, ACK: tcpFlags&0x10 != 0}
		_ = t.SetNetworkLayerForChecksum(net)
		ls = append(ls, t)
	case 17:
		u := &layers.UDP{SrcPort: layers.UDPPort(src.Port()), DstPort: layers.UDPPort(dst.Port())}
		_ = u.SetNetworkLayerForChecksum(net)
		ls = append(ls, u)
	}
	ls = append(ls, gopacket.Payload(payload))
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, ls...); err != nil {
		panic("flowtest: " + err.Error()) // inputs are built by tests
	}
	return append([]byte(nil), buf.Bytes()...)
}

// Packet is one captured frame.
type Packet struct {
	Time  time.Time
	Frame []byte
}

// WritePcap writes frames to a classic pcap (Ethernet, microseconds).
func WritePcap(path string, pkts []Packet) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := pcapgo.NewWriter(f)
	if err := w.WriteFileHeader(65535, layers.LinkTypeEthernet); err != nil {
		f.Close()
		return err
	}
	for _, p := range pkts {
		ci := gopacket.CaptureInfo{Timestamp: p.Time, CaptureLength: len(p.Frame), Length: len(p.Frame)}
		if err := w.WritePacket(ci, p.Frame); err != nil {
			f.Close()
			return err
		}
	}
	return f.Close()
}

// WritePcapNg writes frames to a pcapng file with one Ethernet interface.
func WritePcapNg(path string, pkts []Packet) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w, err := pcapgo.NewNgWriter(f, layers.LinkTypeEthernet)
	if err != nil {
		f.Close()
		return err
	}
	for _, p := range pkts {
		ci := gopacket.CaptureInfo{Timestamp: p.Time, CaptureLength: len(p.Frame), Length: len(p.Frame)}
		if err := w.WritePacket(ci, p.Frame); err != nil {
			f.Close()
			return err
		}
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
