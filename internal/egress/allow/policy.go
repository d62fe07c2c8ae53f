// Package allow decides whether a network element may send traffic to a
// destination. A YAML policy lists rules; each rule selects elements (by
// id, vendor, function and domain) and allows destinations (CIDRs, names
// resolved from a hosts file at load time, ASNs, countries) on given ports
// and protocols. Templates cover common management traffic (NTP, DNS,
// syslog, SNMP traps, NETCONF, TACACS+, RADIUS) and must be bound to the
// operator's own server addresses.
//
// Anything not allowed is reported with the ids of the rules that came
// closest, so that an analyst can see why a flow was flagged.
package allow

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"

	"gopkg.in/yaml.v3"
)

// Element is what the policy knows about a network element.
type Element struct {
	ID       string
	Vendor   string
	Function string
	Domain   string
}

// IP protocol numbers used by port specifications.
const (
	ProtoICMP   uint8 = 1
	ProtoTCP    uint8 = 6
	ProtoUDP    uint8 = 17
	ProtoICMPv6 uint8 = 58
	ProtoSCTP   uint8 = 132
)

// Templates are the built-in management-traffic port sets. A rule that
// uses one must name the operator's own servers (servers, cidrs or names)
// and may not allow by ASN or country.
var Templates = map[string][]string{
	"ntp":       {"123/udp"},
	"dns":       {"53/udp", "53/tcp"},
	"syslog":    {"514/udp", "6514/tcp"},
	"snmp-trap": {"162/udp"},
	"netconf":   {"830/tcp"},
	"tacacs":    {"49/tcp"},
	"radius":    {"1812/udp", "1813/udp"},
}

// Limits on the policy file.
const (
	maxPolicyBytes = 4 << 20
	maxRules       = 10_000
	maxEntries     = 200_000 // CIDRs + names + ASNs + countries + ports over all rules
)

type portRange struct {
	proto  uint8 // 0 = any protocol
	lo, hi uint16
}

type rule struct {
	id        string
	line, col int
	sel       [4][]string // element, vendor, function, domain (lower case); empty = any
	prefixes  []netip.Prefix
	asns      []uint32
	countries [][2]byte
	ports     []portRange // empty = any port, any protocol
}

func (r *rule) portOK(port uint16, proto uint8) bool {
	if len(r.ports) == 0 {
		return true
	}
	for _, p := range r.ports {
		if (p.proto == 0 || p.proto == proto) && port >= p.lo && port <= p.hi {
			return true
		}
	}
	return false
}

func (r *rule) selects(e *Element) bool {
	vals := [4]string{e.ID, e.Vendor, e.Function, e.Domain}
	for i, s := range r.sel {
		if len(s) == 0 {
			continue
		}
		if !slices.Contains(s, strings.ToLower(vals[i])) {
			return false
		}
	}
	return true
}

// Geo answers ASN and country questions about destinations, both in one
// lookup; *ipinfo.DB implements it. Zero values mean unknown.
type Geo interface {
	LookupGeo(netip.Addr) (asn uint32, cc [2]byte)
}

// Policy is a loaded, validated allowlist. It is safe for concurrent use.
type Policy struct {
	name  string
	rules []rule
	geo   Geo

	mu    sync.RWMutex
	byEl  map[Element]*Set
	bySig map[string]*Set
}

// SetGeo attaches the ASN/country source used by ASN and country rules.
// Call it before evaluating.
func (p *Policy) SetGeo(g Geo) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.geo = g
	p.byEl = map[Element]*Set{}
	p.bySig = map[string]*Set{}
}

// RuleIDs returns the rule ids in file order.
func (p *Policy) RuleIDs() []string {
	ids := make([]string, len(p.rules))
	for i := range p.rules {
		ids[i] = p.rules[i].id
	}
	return ids
}

// Load reads a policy file. A hosts_file named in the policy is read
// relative to the policy's directory.
func Load(path string) (*Policy, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("allow: %w", err)
	}
	defer f.Close()
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(io.LimitReader(f, maxPolicyBytes+1)); err != nil {
		return nil, fmt.Errorf("allow: %s: %w", path, err)
	}
	if buf.Len() > maxPolicyBytes {
		return nil, fmt.Errorf("allow: %s: policy larger than %d bytes", path, maxPolicyBytes)
	}
	hostsFile, err := peekHostsFile(path, buf.Bytes())
	if err != nil {
		return nil, err
	}
	var hosts Hosts
	if hostsFile != "" {
		if !filepath.IsAbs(hostsFile) {
			hostsFile = filepath.Join(filepath.Dir(path), hostsFile)
		}
		hosts, err = LoadHosts(hostsFile)
		if err != nil {
			return nil, err
		}
	}
	return Parse(path, buf.Bytes(), hosts)
}

type posErr struct {
	name      string
	line, col int
	msg       string
}

func (e *posErr) Error() string { return fmt.Sprintf("%s:%d:%d: %s", e.name, e.line, e.col, e.msg) }

func peekHostsFile(name string, data []byte) (string, error) {
	var top struct {
		HostsFile string `yaml:"hosts_file"`
	}
	var n yaml.Node
	if err := yaml.Unmarshal(data, &n); err != nil {
		return "", fmt.Errorf("allow: %s: %v", name, err)
	}
	if len(n.Content) == 0 || n.Content[0].Kind != yaml.MappingNode {
		return "", nil
	}
	m := n.Content[0]
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == "hosts_file" {
			if err := m.Content[i+1].Decode(&top.HostsFile); err != nil {
				v := m.Content[i+1]
				return "", &posErr{name, v.Line, v.Column, "hosts_file must be a path"}
			}
		}
	}
	return top.HostsFile, nil
}

var (
	topKeys  = []string{"version", "hosts_file", "servers", "rules"}
	ruleKeys = []string{"id", "description", "element", "vendor", "function", "domain", "template", "servers", "cidrs", "names", "asns", "countries", "ports"}
)

// Parse validates a policy held in memory; name is used in messages
// ("name:line:col: ..."). hosts resolves the names the policy uses; it may
// be nil when the policy names no hosts. All problems are reported, not
// only the first.
func Parse(name string, data []byte, hosts Hosts) (*Policy, error) {
	if len(data) > maxPolicyBytes {
		return nil, fmt.Errorf("allow: %s: policy larger than %d bytes", name, maxPolicyBytes)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("allow: %s: %v", name, err)
	}
	if len(doc.Content) == 0 {
		return nil, fmt.Errorf("allow: %s: empty policy", name)
	}
	var errs []error
	at := func(n *yaml.Node, format string, a ...any) {
		errs = append(errs, &posErr{name, n.Line, n.Column, fmt.Sprintf(format, a...)})
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		at(root, "policy must be a mapping with version, servers and rules")
		return nil, errors.Join(errs...)
	}
	top := mapping(root, topKeys, at)
	if v := top["version"]; v == nil {
		at(root, "missing version (use version: 1)")
	} else if v.Value != "1" {
		at(v, "unsupported version %q (use 1)", clip(v.Value))
	}

	entries := 0
	resolve := func(n *yaml.Node, s string) []netip.Prefix {
		entries++
		if pf, err := netip.ParsePrefix(s); err == nil && pf.Addr().Zone() == "" {
			if pf.Masked() != pf {
				at(n, "%s has host bits set (did you mean %s?)", s, pf.Masked())
				return nil
			}
			return []netip.Prefix{unmapPrefix(pf)}
		}
		if a, err := netip.ParseAddr(s); err == nil && a.Zone() == "" {
			a = a.Unmap()
			return []netip.Prefix{netip.PrefixFrom(a, a.BitLen())}
		}
		hn, ok := normName(s)
		if !ok {
			at(n, "%q is neither an address, a CIDR nor a host name", clip(s))
			return nil
		}
		addrs := hosts[hn]
		if len(addrs) == 0 {
			at(n, "host name %q is not in the hosts file", clip(hn))
			return nil
		}
		out := make([]netip.Prefix, len(addrs))
		for i, a := range addrs {
			out[i] = netip.PrefixFrom(a, a.BitLen())
		}
		return out
	}

	servers := map[string][]netip.Prefix{}
	if sn := top["servers"]; sn != nil {
		if sn.Kind != yaml.MappingNode {
			at(sn, "servers must map a set name to a list of addresses, CIDRs or host names")
		} else {
			for i := 0; i+1 < len(sn.Content); i += 2 {
				k, v := sn.Content[i], sn.Content[i+1]
				var list []netip.Prefix
				for _, e := range stringList(v, at) {
					list = append(list, resolve(e, e.Value)...)
				}
				if len(list) == 0 {
					at(k, "server set %q is empty", clip(k.Value))
				}
				if _, dup := servers[k.Value]; dup {
					at(k, "server set %q defined twice", clip(k.Value))
				}
				servers[k.Value] = list
			}
		}
	}

	p := &Policy{name: name, byEl: map[Element]*Set{}, bySig: map[string]*Set{}}
	rn := top["rules"]
	if rn == nil || rn.Kind != yaml.SequenceNode || len(rn.Content) == 0 {
		n := root
		if rn != nil {
			n = rn
		}
		at(n, "rules must be a non-empty list")
		return nil, errors.Join(errs...)
	}
	if len(rn.Content) > maxRules {
		at(rn, "more than %d rules", maxRules)
		return nil, errors.Join(errs...)
	}
	ids := map[string]int{}
	for _, node := range rn.Content {
		if entries > maxEntries {
			at(node, "policy has more than %d entries", maxEntries)
			break
		}
		if node.Kind != yaml.MappingNode {
			at(node, "a rule must be a mapping")
			continue
		}
		m := mapping(node, ruleKeys, at)
		r := rule{line: node.Line, col: node.Column}
		if n := m["id"]; n == nil || n.Kind != yaml.ScalarNode || n.Value == "" {
			at(node, "rule without id")
		} else {
			r.id = n.Value
			if l, dup := ids[r.id]; dup {
				at(n, "rule id %q already used on line %d", clip(r.id), l)
			}
			ids[r.id] = n.Line
		}
		for i, key := range []string{"element", "vendor", "function", "domain"} {
			for _, e := range stringList(m[key], at) {
				entries++
				r.sel[i] = append(r.sel[i], strings.ToLower(e.Value))
			}
		}
		for _, e := range stringList(m["servers"], at) {
			set, ok := servers[e.Value]
			if !ok {
				at(e, "unknown server set %q", clip(e.Value))
				continue
			}
			r.prefixes = append(r.prefixes, set...)
		}
		for _, e := range stringList(m["cidrs"], at) {
			if _, err := netip.ParsePrefix(e.Value); err != nil {
				if _, err := netip.ParseAddr(e.Value); err != nil {
					at(e, "bad CIDR %q", clip(e.Value))
					continue
				}
			}
			r.prefixes = append(r.prefixes, resolve(e, e.Value)...)
		}
		for _, e := range stringList(m["names"], at) {
			if _, ok := normName(e.Value); !ok {
				at(e, "bad host name %q", clip(e.Value))
				continue
			}
			r.prefixes = append(r.prefixes, resolve(e, e.Value)...)
		}
		for _, e := range stringList(m["asns"], at) {
			entries++
			v := strings.TrimPrefix(strings.TrimPrefix(e.Value, "AS"), "as")
			n, err := strconv.ParseUint(v, 10, 32)
			if err != nil || n == 0 {
				at(e, "bad ASN %q", clip(e.Value))
				continue
			}
			r.asns = append(r.asns, uint32(n))
		}
		for _, e := range stringList(m["countries"], at) {
			entries++
			cc, ok := country(e.Value)
			if !ok {
				at(e, "bad country code %q (ISO 3166-1 alpha-2)", clip(e.Value))
				continue
			}
			r.countries = append(r.countries, cc)
		}
		portNodes := stringList(m["ports"], at)
		if tn := m["template"]; tn != nil {
			specs, ok := Templates[tn.Value]
			switch {
			case !ok:
				at(tn, "unknown template %q (known: %s)", clip(tn.Value), strings.Join(templateNames(), ", "))
			case len(portNodes) > 0:
				at(tn, "template %q sets the ports; remove ports", tn.Value)
			case len(r.asns) > 0 || len(r.countries) > 0:
				at(tn, "template %q must be bound to your own servers, not to ASNs or countries", tn.Value)
			case m["servers"] == nil && m["cidrs"] == nil && m["names"] == nil:
				at(tn, "template %q needs servers, cidrs or names: the operator's own servers", tn.Value)
			}
			for _, pf := range r.prefixes {
				if (pf.Addr().Is4() && pf.Bits() < 16) || (pf.Addr().Is6() && pf.Bits() < 32) {
					at(tn, "template %q is bound to %s, which is too broad to be your own servers (at most /16 or /32 for IPv6)", tn.Value, pf)
				}
			}
			for _, s := range specs {
				pr, _ := parsePort(s)
				r.ports = append(r.ports, pr...)
			}
		}
		for _, e := range portNodes {
			entries++
			pr, err := parsePort(e.Value)
			if err != nil {
				at(e, "%v", err)
				continue
			}
			r.ports = append(r.ports, pr...)
		}
		if len(r.prefixes) == 0 && len(r.asns) == 0 && len(r.countries) == 0 && len(errs) == 0 {
			at(node, "rule %q allows no destination: give servers, cidrs, names, asns or countries", clip(r.id))
		}
		p.rules = append(p.rules, r)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return p, nil
}

func templateNames() []string {
	var s []string
	for k := range Templates {
		s = append(s, k)
	}
	slices.Sort(s)
	return s
}

func unmapPrefix(p netip.Prefix) netip.Prefix {
	if p.Addr().Is4In6() && p.Bits() >= 96 {
		return netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
	}
	return p
}

// mapping returns the values of a mapping node by key and reports unknown
// and duplicate keys.
func mapping(n *yaml.Node, known []string, at func(*yaml.Node, string, ...any)) map[string]*yaml.Node {
	m := map[string]*yaml.Node{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := n.Content[i]
		if !slices.Contains(known, k.Value) {
			at(k, "unknown key %q (known: %s)", clip(k.Value), strings.Join(known, ", "))
			continue
		}
		if _, dup := m[k.Value]; dup {
			at(k, "key %q given twice", k.Value)
			continue
		}
		m[k.Value] = n.Content[i+1]
	}
	return m
}

// stringList accepts a scalar or a sequence of scalars.
func stringList(n *yaml.Node, at func(*yaml.Node, string, ...any)) []*yaml.Node {
	if n == nil {
		return nil
	}
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	switch n.Kind {
	case yaml.ScalarNode:
		if n.Tag == "!!null" {
			return nil
		}
		return []*yaml.Node{n}
	case yaml.SequenceNode:
		out := make([]*yaml.Node, 0, len(n.Content))
		for _, c := range n.Content {
			if c.Kind == yaml.AliasNode && c.Alias != nil {
				c = c.Alias
			}
			if c.Kind != yaml.ScalarNode {
				at(c, "expected a plain value")
				continue
			}
			out = append(out, c)
		}
		return out
	}
	at(n, "expected a value or a list of values")
	return nil
}

func country(s string) ([2]byte, bool) {
	if len(s) != 2 {
		return [2]byte{}, false
	}
	s = strings.ToUpper(s)
	if s[0] < 'A' || s[0] > 'Z' || s[1] < 'A' || s[1] > 'Z' {
		return [2]byte{}, false
	}
	return [2]byte{s[0], s[1]}, true
}

var protoNames = map[string]uint8{"tcp": ProtoTCP, "udp": ProtoUDP, "sctp": ProtoSCTP, "icmp": ProtoICMP, "icmpv6": ProtoICMPv6}

// parsePort reads "443/tcp", "1000-2000/udp", "53" (TCP and UDP), "icmp",
// "any/tcp" and "any". ICMP has no ports: the range is 0-65535.
func parsePort(s string) ([]portRange, error) {
	spec := strings.ToLower(strings.TrimSpace(s))
	if spec == "any" {
		return []portRange{{0, 0, 65535}}, nil
	}
	if pn, ok := protoNames[spec]; ok && (pn == ProtoICMP || pn == ProtoICMPv6) {
		return []portRange{{pn, 0, 65535}}, nil
	}
	num, proto, hasProto := strings.Cut(spec, "/")
	protos := []uint8{ProtoTCP, ProtoUDP}
	if hasProto {
		pn, ok := protoNames[proto]
		if !ok {
			return nil, fmt.Errorf("port %q: unknown protocol %q (tcp, udp, sctp, icmp, icmpv6)", clip(s), clip(proto))
		}
		protos = []uint8{pn}
	}
	lo, hi := 0, 65535
	if num != "any" {
		a, b, isRange := strings.Cut(num, "-")
		var err1, err2 error
		lo, err1 = strconv.Atoi(a)
		hi = lo
		if isRange {
			hi, err2 = strconv.Atoi(b)
		}
		if err1 != nil || err2 != nil || lo < 0 || hi > 65535 || lo > hi {
			return nil, fmt.Errorf("port %q: expected N, N-M, any, N/proto or icmp", clip(s))
		}
	}
	out := make([]portRange, len(protos))
	for i, p := range protos {
		out[i] = portRange{p, uint16(lo), uint16(hi)}
	}
	return out, nil
}
