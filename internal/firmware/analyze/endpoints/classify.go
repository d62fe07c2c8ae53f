package endpoints

import (
	"net/netip"
	"strings"
)

// Class says where an address or name points.
type Class uint8

const (
	ClassPublic        Class = iota + 1
	ClassPrivate             // RFC 1918, unique local fc00::/7
	ClassLoopback            // 127.0.0.0/8, ::1, localhost
	ClassLinkLocal           // 169.254.0.0/16, fe80::/10
	ClassDocumentation       // RFC 5737, RFC 3849, RFC 9637; example.com, .test, .invalid
	ClassMulticast           // 224.0.0.0/4, ff00::/8
	ClassUnspecified         // 0.0.0.0, ::
	ClassBroadcast           // 255.255.255.255
	ClassCGNAT               // 100.64.0.0/10, RFC 6598
	ClassReserved            // 0.0.0.0/8, 240.0.0.0/4, 192.0.0.0/24, 198.18.0.0/15
	ClassLocalName           // a host name with no public top-level domain (router.lan)
)

var classNames = [...]string{"", "public", "private", "loopback", "link-local", "documentation", "multicast",
	"unspecified", "broadcast", "cgnat", "reserved", "local-name"}

func (c Class) String() string {
	if int(c) < len(classNames) && c != 0 {
		return classNames[c]
	}
	return "unknown"
}

var (
	cgnat     = netip.MustParsePrefix("100.64.0.0/10")
	thisNet   = netip.MustParsePrefix("0.0.0.0/8")
	classE    = netip.MustParsePrefix("240.0.0.0/4")
	ietf      = netip.MustParsePrefix("192.0.0.0/24")
	bench     = netip.MustParsePrefix("198.18.0.0/15")
	docPrefix = []netip.Prefix{
		netip.MustParsePrefix("192.0.2.0/24"),
		netip.MustParsePrefix("198.51.100.0/24"),
		netip.MustParsePrefix("203.0.113.0/24"),
		netip.MustParsePrefix("2001:db8::/32"),
		netip.MustParsePrefix("3fff::/20"),
	}
	broadcast = netip.AddrFrom4([4]byte{255, 255, 255, 255})
)

// ClassifyAddr classifies an IP address; an IPv4-mapped IPv6 address is
// classified as the IPv4 address it carries.
func ClassifyAddr(a netip.Addr) Class {
	a = a.Unmap()
	for _, p := range docPrefix {
		if p.Contains(a) {
			return ClassDocumentation
		}
	}
	switch {
	case a.IsUnspecified():
		return ClassUnspecified
	case a == broadcast:
		return ClassBroadcast
	case a.IsLoopback():
		return ClassLoopback
	case a.IsPrivate():
		return ClassPrivate
	case a.IsLinkLocalUnicast():
		return ClassLinkLocal
	case a.IsMulticast():
		return ClassMulticast
	case a.Is4() && cgnat.Contains(a):
		return ClassCGNAT
	case a.Is4() && (thisNet.Contains(a) || classE.Contains(a) || ietf.Contains(a) || bench.Contains(a)):
		return ClassReserved
	}
	return ClassPublic
}

// ClassifyName classifies a host name already lower-cased.
func ClassifyName(name string) Class {
	name = strings.TrimSuffix(name, ".")
	switch {
	case name == "localhost" || strings.HasSuffix(name, ".localhost"):
		return ClassLoopback
	case name == "example.com" || name == "example.net" || name == "example.org" ||
		strings.HasSuffix(name, ".example.com") || strings.HasSuffix(name, ".example.net") ||
		strings.HasSuffix(name, ".example.org") || strings.HasSuffix(name, ".example") ||
		strings.HasSuffix(name, ".test") || strings.HasSuffix(name, ".invalid"):
		return ClassDocumentation
	}
	if tld := name[strings.LastIndexByte(name, '.')+1:]; tldKind(tld) != tldNone && strings.Contains(name, ".") {
		return ClassPublic
	}
	return ClassLocalName
}

type tldTier uint8

const (
	tldNone tldTier = iota
	// tldCore top-level domains are taken wherever a dotted name ends in
	// them.
	tldCore
	// tldAmbiguous ones are also file extensions (.so, .sh, .py, .pl, .mk,
	// .in), common words (.is, .to, .at, .info, .email, .top) or locale
	// codes: a name ending in one is taken only inside a URL or an e-mail
	// address, or when it starts with "www.".
	tldAmbiguous
)

// tldKind looks up a lower-case top-level domain.
func tldKind(tld string) tldTier { return tlds[tld] }

var tlds = func() map[string]tldTier {
	m := map[string]tldTier{}
	for _, t := range strings.Fields(coreTLDs) {
		m[t] = tldCore
	}
	for _, t := range strings.Fields(ambiguousTLDs) {
		m[t] = tldAmbiguous
	}
	return m
}()

// coreTLDs: the original generic domains, a few newer ones that are not
// words or file extensions, and the country codes that are neither.
const coreTLDs = `com net org edu gov mil biz xyz mobi asia aero coop museum travel wang
ad ae af ag al ao aq ar au aw ax az ba bb bd be bf bg bh bi bj bm bn bo br bs bt bw bz
ca cd cg ch ci ck cm cn co cr cu cv cw cy cz de dj dk dm dz ec eg er es et eu fi fj fk fm
fo fr ga gd gf gg gh gi gl gm gn gp gq gr gs gu gw gy hk hm hn hr ht hu ie il io iq ir
je jm jo jp ke kg kh ki km kn kp kr kw ky kz lb lc li lk lr ls lu lv ly ma mc mg mh mn
mq mr mt mu mv mw mx mz na nc nf ng ni nl np nr nz om pa pf pg ph pk pn pr pt pw qa
ro ru rw sa sb sc sd se sg si sk sl sm sn sr ss su sx sy sz tc td tg th tj tl tm tn tr
tt tw tz ua ug uk uy uz va vc ve vg vn vu wf ye yt za zm zw`

// ambiguousTLDs: see tldAmbiguous.
const ambiguousTLDs = `ac ai am as at by cc cf cl cx do ge gt id im in is it la lt md me mk ml mm mo mp
ms my ne no nu pe pl pm ps py re rs sh so st sv tf tk to tv us vi ws
int info name pro tel cat jobs xxx post top online site club shop store tech cloud app
dev live world space website life email news digital global vip xin icu host network
link zip mov run one`
