package inventory

import (
	"sort"
	"strings"
	"unicode/utf8"
)

// Domains is the controlled vocabulary of network domains and, for each,
// the functions an element of that domain may have. It follows the domain
// table in docs/inventory.md (3GPP TS 23.501/23.401/38.401, O-RAN WG1,
// 3GPP TS 33.127). Function lists are sorted.
var Domains = map[string][]string{
	"ran": {"antenna", "das", "enb", "gnb", "gnb-cu-cp", "gnb-cu-up", "gnb-du",
		"near-rt-ric", "ng-enb", "o-cu-cp", "o-cu-up", "o-du", "o-ru", "ru", "small-cell"},
	"access-fixed": {"bng", "dslam", "msan", "olt", "ont"},
	"core-5g": {"amf", "ausf", "bsf", "chf", "n3iwf", "nef", "nrf", "nssaaf", "nssf",
		"nwdaf", "pcf", "scp", "sepp", "smf", "smsf", "udm", "udr", "upf"},
	"core-epc": {"dra", "epdg", "hlr", "hss", "i-cscf", "mme", "msc", "p-cscf", "pcrf",
		"pgw", "pgw-c", "pgw-u", "s-cscf", "sgw", "sgw-c", "sgw-u", "stp", "tas"},
	"transport": {"agg-router", "csr", "fronthaul-switch", "interconnect", "ip-core-router",
		"mw-backhaul", "optical-dwdm", "otn", "p", "pe", "peering"},
	"oss-management": {"ems", "jump-host", "mnf", "nfvo", "nms", "non-rt-ric",
		"o-cloud-dms", "o-cloud-ims", "oss", "pam", "smo", "vnfm"},
	"security":            {"aaa", "dns", "firewall", "seg", "siem", "signalling-firewall"},
	"lawful-interception": {"admf", "licf", "lipf", "lmisf", "mdf2", "mdf3", "poi", "tf", "x1", "x2", "x3"},
	"cloud-infra":         {"hypervisor", "k8s-cluster", "nfvi", "server", "storage"},
	"bss":                 {"billing", "crm"},
	"it":                  {"billing", "crm"},
}

// Generations are the accepted values of Element.Generation. "5G" is for a
// 5G element whose mode (NSA or SA) is not recorded.
var Generations = []string{"2G", "3G", "4G", "5G", "5G-NSA", "5G-SA", "FTTP"}

// Planes are the accepted values of Element.Plane.
var Planes = []string{"user", "control", "management"}

// SiteSensitivities are the site sensitivity values that policy packs use.
// Other values are kept (as a lowercase slug) without a warning: operators
// have their own site classes.
var SiteSensitivities = []string{"national-security", "cni-safety-critical", "military", "nuclear", "dense-urban"}

// vocabulary indexes, built once.
var (
	domainFunctions = map[string]map[string]bool{}
	functionDomains = map[string][]string{} // function -> domains that list it
	generationIndex = map[string]string{}   // folded -> canonical
	planeIndex      = map[string]string{}
)

func init() {
	for d, fs := range Domains {
		set := make(map[string]bool, len(fs))
		for _, f := range fs {
			set[f] = true
			functionDomains[f] = append(functionDomains[f], d)
		}
		domainFunctions[d] = set
	}
	for _, ds := range functionDomains {
		sort.Strings(ds)
	}
	for _, g := range Generations {
		generationIndex[foldKey(g)] = g
	}
	// Common spellings.
	for k, v := range map[string]string{"lte": "4G", "nr": "5G", "5gnsa": "5G-NSA", "5gsa": "5G-SA",
		"umts": "3G", "gsm": "2G", "ftth": "FTTP", "nsa": "5G-NSA", "sa": "5G-SA"} {
		generationIndex[k] = v
	}
	for _, p := range Planes {
		planeIndex[p] = p
	}
	for k, v := range map[string]string{"up": "user", "cp": "control", "mgmt": "management",
		"userplane": "user", "controlplane": "control", "managementplane": "management", "data": "user"} {
		planeIndex[k] = v
	}
}

// DomainNames returns the vocabulary's domains, sorted.
func DomainNames() []string {
	out := make([]string, 0, len(Domains))
	for d := range Domains {
		out = append(out, d)
	}
	sort.Strings(out)
	return out
}

// KnownDomain reports whether d is a domain of the vocabulary.
func KnownDomain(d string) bool { _, ok := Domains[d]; return ok }

// KnownFunction reports whether function f belongs to domain d.
func KnownFunction(d, f string) bool { return domainFunctions[d][f] }

// FunctionDomains returns the domains whose vocabulary lists function f.
func FunctionDomains(f string) []string { return functionDomains[f] }

// CanonicalGeneration maps a generation spelling ("5g sa", "LTE") to its
// canonical value; ok is false when it is not in the vocabulary.
func CanonicalGeneration(s string) (string, bool) {
	g, ok := generationIndex[foldKey(s)]
	return g, ok
}

// CanonicalPlane maps a plane spelling to its canonical value.
func CanonicalPlane(s string) (string, bool) {
	p, ok := planeIndex[foldKey(s)]
	return p, ok
}

// foldKey lowercases s and drops spaces, '-', '_' and '.': the key under
// which column names, characteristic names and vocabulary spellings are
// compared ("Software Version", "software_version" and "softwareVersion"
// all fold to "softwareversion").
func foldKey(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		switch {
		case r == ' ' || r == '-' || r == '_' || r == '.' || r == '\t':
		case r >= 'A' && r <= 'Z':
			b.WriteRune(r + 'a' - 'A')
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// slug lowercases s and turns runs of anything but letters and digits
// into single '-', trimmed at both ends; at most 64 bytes.
func slug(s string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(s) {
		if isAlnum(r) {
			if dash && b.Len() > 0 {
				b.WriteByte('-')
			}
			dash = false
			b.WriteRune(r)
		} else {
			dash = true
		}
	}
	out := b.String()
	if len(out) > 64 {
		// Cut at a word boundary, so that no word is cut short.
		cut := strings.LastIndexByte(out[:65], '-')
		if cut <= 0 {
			cut = 64
			for cut > 0 && !utf8.RuneStart(out[cut]) {
				cut--
			}
		}
		out = out[:cut]
	}
	return out
}
