package ipinfo

import (
	"net/netip"

	"github.com/gaissmai/bart"
)

// Class is the special-purpose category of an address, decided from the
// IANA IPv4 and IPv6 special-purpose address registries (RFC 6890 and
// successors) before any ASN or country lookup.
type Class uint8

// Classes. Public means "not in any special-purpose block": only those
// addresses are looked up in the ASN and country tables.
const (
	Public        Class = iota
	Unspecified         // 0.0.0.0/32, ::/128
	ThisNetwork         // 0.0.0.0/8 (RFC 791)
	Private             // RFC 1918, fc00::/7 unique local
	Loopback            // 127.0.0.0/8, ::1/128
	LinkLocal           // 169.254.0.0/16, fe80::/10
	SharedCGNAT         // 100.64.0.0/10 (RFC 6598)
	Documentation       // TEST-NET-1/2/3, 2001:db8::/32, 3fff::/20
	Benchmarking        // 198.18.0.0/15, 2001:2::/48
	Multicast           // 224.0.0.0/4, ff00::/8
	Reserved            // 240.0.0.0/4, 192.0.0.0/24 protocol assignments, 2001::/23 other
	Broadcast           // 255.255.255.255/32
	Teredo              // 2001::/32 (RFC 4380), embeds an IPv4 address
	SixToFour           // 2002::/16 (RFC 3056), embeds an IPv4 address
	Translation         // 64:ff9b::/96, 64:ff9b:1::/48 (NAT64), 192.88.99.0/24 (deprecated 6to4 relay)
	Discard             // 100::/64 discard-only (RFC 6666)
	Bogon               // other unallocated space: IPv6 outside 2000::/3 and the blocks above
	Invalid             // zero netip.Addr
)

var classNames = [...]string{
	Public: "public", Unspecified: "unspecified", ThisNetwork: "this-network", Private: "private",
	Loopback: "loopback", LinkLocal: "link-local", SharedCGNAT: "cgnat", Documentation: "documentation",
	Benchmarking: "benchmarking", Multicast: "multicast", Reserved: "reserved", Broadcast: "broadcast",
	Teredo: "teredo", SixToFour: "6to4", Translation: "translation", Discard: "discard",
	Bogon: "bogon", Invalid: "invalid",
}

// String returns the stable lowercase name used in reports.
func (c Class) String() string {
	if int(c) < len(classNames) {
		return classNames[c]
	}
	return "unknown"
}

// Routable reports whether addresses of this class can be a destination on
// the public Internet, so that an ASN or country lookup is meaningful.
// Teredo and 6to4 are routable tunnels; their embedded IPv4 address is the
// real peer (see EmbeddedIPv4).
func (c Class) Routable() bool { return c == Public || c == Teredo || c == SixToFour }

type specialBlock struct {
	prefix string
	class  Class
}

// The order matters only for readability: the table answers with the
// longest matching prefix.
var specialBlocks = []specialBlock{
	{"0.0.0.0/8", ThisNetwork},
	{"0.0.0.0/32", Unspecified},
	{"10.0.0.0/8", Private},
	{"100.64.0.0/10", SharedCGNAT},
	{"127.0.0.0/8", Loopback},
	{"169.254.0.0/16", LinkLocal},
	{"172.16.0.0/12", Private},
	{"192.0.0.0/24", Reserved},
	{"192.0.2.0/24", Documentation},
	{"192.31.196.0/24", Reserved}, // AS112-v4, not a real peer
	{"192.52.193.0/24", Reserved}, // AMT
	{"192.88.99.0/24", Translation},
	{"192.168.0.0/16", Private},
	{"192.175.48.0/24", Reserved}, // AS112 direct delegation
	{"198.18.0.0/15", Benchmarking},
	{"198.51.100.0/24", Documentation},
	{"203.0.113.0/24", Documentation},
	{"224.0.0.0/4", Multicast},
	{"240.0.0.0/4", Reserved},
	{"255.255.255.255/32", Broadcast},

	{"::/0", Bogon}, // everything outside 2000::/3 and the blocks below
	{"2000::/3", Public},
	{"::/128", Unspecified},
	{"::1/128", Loopback},
	{"64:ff9b::/96", Translation},
	{"64:ff9b:1::/48", Translation},
	{"100::/64", Discard},
	{"2001::/23", Reserved},
	{"2001::/32", Teredo},
	{"2001:1::1/128", Reserved}, // port control protocol anycast
	{"2001:1::2/128", Reserved}, // TURN anycast
	{"2001:2::/48", Benchmarking},
	{"2001:3::/32", Public}, // AMT, globally reachable
	{"2001:4:112::/48", Reserved},
	{"2001:20::/28", Reserved}, // ORCHIDv2
	{"2001:30::/28", Reserved}, // DRIP
	{"2001:db8::/32", Documentation},
	{"2002::/16", SixToFour},
	{"2620:4f:8000::/48", Reserved}, // AS112-v6
	{"3fff::/20", Documentation},
	{"5f00::/16", Reserved}, // SRv6 SIDs
	{"fc00::/7", Private},
	{"fe80::/10", LinkLocal},
	{"ff00::/8", Multicast},
}

var specialTable = buildSpecialTable()

// v4Special marks the first octets that hold any special-purpose block, so
// that most public IPv4 addresses skip the table walk.
var v4Special = buildV4Special()

func buildV4Special() (m [256]bool) {
	for _, b := range specialBlocks {
		p := netip.MustParsePrefix(b.prefix)
		if !p.Addr().Is4() {
			continue
		}
		first := int(p.Addr().As4()[0])
		n := 1
		if p.Bits() < 8 {
			n = 1 << (8 - p.Bits())
		}
		for i := first; i < first+n && i < 256; i++ {
			m[i] = true
		}
	}
	return m
}

func buildSpecialTable() *bart.Table[Class] {
	t := new(bart.Table[Class])
	for _, b := range specialBlocks {
		t.Insert(netip.MustParsePrefix(b.prefix), b.class)
	}
	return t
}

// Classify returns the special-purpose class of addr. IPv4-mapped IPv6
// addresses are classified as the IPv4 address they carry.
func Classify(addr netip.Addr) Class {
	if !addr.IsValid() {
		return Invalid
	}
	addr = addr.Unmap()
	if addr.Is4() {
		b := addr.As4()
		if !v4Special[b[0]] {
			return Public
		}
	} else {
		b := addr.As16()
		hi := uint16(b[0])<<8 | uint16(b[1])
		// Inside 2000::/3 only a few /16s hold special blocks.
		if hi>>13 == 1 && hi != 0x2001 && hi != 0x2002 && hi != 0x2620 && hi != 0x3fff {
			return Public
		}
	}
	c, ok := specialTable.Lookup(addr)
	if !ok {
		return Public
	}
	return c
}

// EmbeddedIPv4 returns the IPv4 address carried by a Teredo (the client's
// address, de-obfuscated) or 6to4 address.
func EmbeddedIPv4(addr netip.Addr) (netip.Addr, bool) {
	if !addr.Is6() || addr.Is4In6() {
		return netip.Addr{}, false
	}
	b := addr.As16()
	switch Classify(addr) {
	case SixToFour:
		return netip.AddrFrom4([4]byte{b[2], b[3], b[4], b[5]}), true
	case Teredo:
		return netip.AddrFrom4([4]byte{^b[12], ^b[13], ^b[14], ^b[15]}), true
	}
	return netip.Addr{}, false
}
