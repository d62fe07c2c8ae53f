package allow

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/gaissmai/bart"
)

// Decision is the verdict for one (element, destination, port, protocol).
type Decision struct {
	Allowed bool
	// Rule is the id of the allowing rule. Several rules may allow the
	// same traffic: a prefix match wins over an ASN match, which wins over
	// a country match; among equals the first rule in the file wins.
	Rule string
	// Near lists, for a denied flow, the rules that allow the destination
	// but not this port or protocol, in file order.
	Near []string

	dst     netip.Addr
	port    uint16
	proto   uint8
	applied int
	geo     bool
	asn     uint32
	cc      [2]byte
}

// Reason is a one-line explanation for reports ("" when allowed). It is
// built on demand so that denying a flood of flows stays cheap.
func (d Decision) Reason() string {
	if d.Allowed {
		return ""
	}
	what := fmt.Sprintf("%s port %d/%s", d.dst, d.port, protoName(d.proto))
	switch {
	case d.applied == 0:
		return fmt.Sprintf("no rule applies to this element; %s is not allowed", what)
	case len(d.Near) > 0:
		return fmt.Sprintf("%s: destination allowed by %s but not this port/protocol", what, strings.Join(d.Near, ", "))
	}
	r := fmt.Sprintf("%s: destination matches none of the %d rules for this element", what, d.applied)
	if d.geo {
		r += fmt.Sprintf(" (AS%d, country %q)", d.asn, strings.TrimRight(string(d.cc[:]), "\x00"))
	}
	return r
}

// Set is the part of a policy that applies to one kind of element,
// compiled for lookups. Elements selected by the same rules share a Set.
type Set struct {
	rules   []rule
	pfx     bart.Table[[]uint16] // rule indices per prefix, covering prefixes included
	asns    map[uint32][]uint16
	ccs     map[[2]byte][]uint16
	geo     Geo
	applied []uint16
}

// ForElement returns the compiled Set for an element. Callers on the hot
// path keep the Set with the element and call Set.Evaluate.
func (p *Policy) ForElement(e Element) *Set {
	p.mu.RLock()
	s := p.byEl[e]
	p.mu.RUnlock()
	if s != nil {
		return s
	}
	var applied []uint16
	var sig strings.Builder
	for i := range p.rules {
		if p.rules[i].selects(&e) {
			applied = append(applied, uint16(i))
			fmt.Fprintf(&sig, "%d,", i)
		}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if s = p.bySig[sig.String()]; s == nil {
		s = compile(p.rules, applied, p.geo)
		p.bySig[sig.String()] = s
	}
	if len(p.byEl) < 1<<20 {
		p.byEl[e] = s
	}
	return s
}

// Evaluate is ForElement followed by Set.Evaluate.
func (p *Policy) Evaluate(e Element, dst netip.Addr, port uint16, proto uint8) Decision {
	return p.ForElement(e).Evaluate(dst, port, proto)
}

func compile(rules []rule, applied []uint16, geo Geo) *Set {
	s := &Set{rules: rules, geo: geo, applied: applied}
	for _, i := range applied {
		r := &rules[i]
		for _, pf := range r.prefixes {
			s.pfx.Modify(pf, func(old []uint16, ok bool) ([]uint16, bool) {
				if !slices.Contains(old, i) {
					old = append(old, i)
				}
				return old, false
			})
		}
		for _, a := range r.asns {
			if s.asns == nil {
				s.asns = map[uint32][]uint16{}
			}
			if !slices.Contains(s.asns[a], i) {
				s.asns[a] = append(s.asns[a], i)
			}
		}
		for _, c := range r.countries {
			if s.ccs == nil {
				s.ccs = map[[2]byte][]uint16{}
			}
			if !slices.Contains(s.ccs[c], i) {
				s.ccs[c] = append(s.ccs[c], i)
			}
		}
	}
	// A longest-prefix lookup returns only the most specific prefix, so
	// each prefix also carries the rules of the prefixes that cover it.
	type upd struct {
		pf  netip.Prefix
		idx []uint16
	}
	var updates []upd
	for pf, idx := range s.pfx.All() {
		merged := slices.Clone(idx)
		for sup, sidx := range s.pfx.Supernets(pf) {
			if sup == pf {
				continue
			}
			for _, i := range sidx {
				if !slices.Contains(merged, i) {
					merged = append(merged, i)
				}
			}
		}
		slices.Sort(merged)
		updates = append(updates, upd{pf, merged})
	}
	for _, u := range updates {
		s.pfx.Insert(u.pf, u.idx)
	}
	return s
}

// Evaluate decides one flow. It does not allocate when the flow is allowed.
func (s *Set) Evaluate(dst netip.Addr, port uint16, proto uint8) Decision {
	dst = dst.Unmap()
	idx, _ := s.pfx.Lookup(dst)
	for _, i := range idx {
		if s.rules[i].portOK(port, proto) {
			return Decision{Allowed: true, Rule: s.rules[i].id}
		}
	}
	var byASN, byCC []uint16
	var asn uint32
	var cc [2]byte
	if s.geo != nil && (s.asns != nil || s.ccs != nil) {
		asn, cc = s.geo.LookupGeo(dst)
		if s.asns != nil {
			byASN = s.asns[asn]
			for _, i := range byASN {
				if s.rules[i].portOK(port, proto) {
					return Decision{Allowed: true, Rule: s.rules[i].id}
				}
			}
		}
		if s.ccs != nil {
			byCC = s.ccs[cc]
			for _, i := range byCC {
				if s.rules[i].portOK(port, proto) {
					return Decision{Allowed: true, Rule: s.rules[i].id}
				}
			}
		}
	}
	d := Decision{dst: dst, port: port, proto: proto, applied: len(s.applied)}
	if s.geo != nil && (s.asns != nil || s.ccs != nil) {
		d.geo = true
		d.asn, d.cc = asn, cc
	}
	if len(idx)+len(byASN)+len(byCC) == 0 {
		return d
	}
	var near []uint16
	for _, l := range [][]uint16{idx, byASN, byCC} {
		for _, i := range l {
			if !slices.Contains(near, i) {
				near = append(near, i)
			}
		}
	}
	slices.Sort(near)
	for _, i := range near {
		d.Near = append(d.Near, s.rules[i].id)
	}
	return d
}

// Rules returns the ids of the rules in this Set, in file order.
func (s *Set) Rules() []string {
	out := make([]string, len(s.applied))
	for k, i := range s.applied {
		out[k] = s.rules[i].id
	}
	return out
}

func protoName(p uint8) string {
	for n, v := range protoNames {
		if v == p {
			return n
		}
	}
	return fmt.Sprint(p)
}
