// Package exposure measures where each vendor's equipment sits in an
// operator's network (vendor shares per domain, function and site, by
// elements, sites, traffic and premises; Herfindahl-Hirschman concentration
// per domain), which policy rules the inventory breaks at a date, the
// replacement plan that meets every deadline, and the progress between two
// inventory snapshots. It is pure: no I/O.
package exposure

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/netvet/netvet/internal/inventory"
	"github.com/netvet/netvet/internal/policy"
)

// engine is what the computations need from a compiled policy engine;
// *policy.Engine satisfies it.
type engine interface {
	InScope(r *policy.Rule, el *inventory.Element) bool
	Designated(r *policy.Rule, el *inventory.Element) bool
	Evaluate(inv *inventory.Inventory, at inventory.Date) *policy.Result
}

// Dimensions shares are grouped by.
const (
	ByDomain   = "domain"
	ByFunction = "function"
	BySite     = "site"
)

// Unknown names an empty domain, function or vendor in reports.
const Unknown = "unknown"

// Assessment is an inventory measured against policy packs at a date.
type Assessment struct {
	At       inventory.Date `json:"at"`
	Source   string         `json:"source"`
	Packs    []string       `json:"packs"`
	Elements int            `json:"elements"`
	Skipped  int            `json:"skipped"`
	// Designated lists the vendors at least one rule designates, sorted.
	Designated    []string           `json:"designated_vendors"`
	Shares        []Share            `json:"shares"`
	Concentration []Concentration    `json:"concentration"`
	Rules         []RuleState        `json:"rules"`
	Violations    []policy.Violation `json:"violations"`
	Summary       []string           `json:"summary"`
	// Warnings are conditions that may hide a violation (elements without
	// dates, expressions that failed).
	Warnings     []string            `json:"warnings,omitempty"`
	Problems     []inventory.Problem `json:"problems,omitempty"`
	MoreProblems int                 `json:"more_problems,omitempty"`
	// Evaluation counts the elements running versions no lab evaluated;
	// set by MarkEvaluated when a ledger is given.
	Evaluation *Evaluation `json:"evaluation,omitempty"`

	inv  *inventory.Inventory
	byID map[string]int
}

// Element returns the assessed element with an ID, or nil. It builds an
// index on first use and is not safe for concurrent use.
func (a *Assessment) Element(id string) *inventory.Element {
	if a.inv == nil {
		return nil
	}
	if a.byID == nil {
		a.byID = make(map[string]int, len(a.inv.Elements))
		for i := range a.inv.Elements {
			if _, dup := a.byID[a.inv.Elements[i].ID]; !dup {
				a.byID[a.inv.Elements[i].ID] = i
			}
		}
	}
	if i, ok := a.byID[id]; ok {
		return &a.inv.Elements[i]
	}
	return nil
}

// Share is how a group of elements (a domain, a function, a site) splits
// between vendors by one metric.
type Share struct {
	Dimension string        `json:"dimension"`        // domain, function, site
	Group     string        `json:"group"`            // the domain, function or site name
	Domain    string        `json:"domain,omitempty"` // for functions: the domain they belong to
	Metric    policy.Metric `json:"metric"`
	// Total of the metric over the group: elements, sites, traffic share
	// (0..1 of the operator's traffic) or premises served.
	Total   float64       `json:"total"`
	Vendors []VendorShare `json:"vendors"` // largest first, then by name
}

// VendorShare is one vendor's part of a group.
type VendorShare struct {
	Vendor string  `json:"vendor"`
	Value  float64 `json:"value"` // count of elements or sites, or sum of traffic or premises
	Share  float64 `json:"share"` // Value/Total, 0..1; for sites, vendors present at the same site each count it
	// Designated is true when at least one rule designates the vendor.
	Designated bool `json:"designated,omitempty"`
}

// Concentration is the Herfindahl-Hirschman index of a domain: the sum of
// the squared percentage shares of its vendors, 0..10000.
type Concentration struct {
	Domain  string        `json:"domain"`
	Metric  policy.Metric `json:"metric"` // elements or traffic
	HHI     float64       `json:"hhi"`
	Vendors int           `json:"vendors"`
	Reading string        `json:"reading"` // unconcentrated, moderately concentrated, highly concentrated
	Largest string        `json:"largest_vendor"`
}

// HHI readings: below 1500 unconcentrated, 1500 to 2500 moderately
// concentrated, above 2500 highly concentrated.
const (
	HHIModerate = 1500
	HHIHigh     = 2500
)

// Reading names the concentration an HHI value shows.
func Reading(hhi float64) string {
	switch {
	case hhi > HHIHigh:
		return "highly concentrated"
	case hhi >= HHIModerate:
		return "moderately concentrated"
	}
	return "unconcentrated"
}

// RuleState is one rule of the packs and whether the inventory meets it.
type RuleState struct {
	Pack     string         `json:"pack"`
	Rule     string         `json:"rule"`
	Title    string         `json:"title"`
	Kind     policy.Kind    `json:"kind"`
	Deadline inventory.Date `json:"deadline,omitzero"`
	Source   string         `json:"source"`
	Status   policy.Status  `json:"status"`
	// State: "violated" (due and broken), "upcoming" (broken, deadline
	// after the date of assessment), "compliant", or "disabled" by an
	// operator override.
	State    string `json:"state"`
	Elements int    `json:"elements"` // elements at fault
}

// Rule states.
const (
	StateViolated  = "violated"
	StateUpcoming  = "upcoming"
	StateCompliant = "compliant"
	StateDisabled  = "disabled"
)

// Due counts the violations whose deadline has passed at the date.
func (a *Assessment) Due() int {
	n := 0
	for _, v := range a.Violations {
		if v.Due {
			n++
		}
	}
	return n
}

// SharesOf returns the shares of one dimension and metric.
func (a *Assessment) SharesOf(dim string, m policy.Metric) []Share {
	var out []Share
	for _, s := range a.Shares {
		if s.Dimension == dim && s.Metric == m {
			out = append(out, s)
		}
	}
	return out
}

func assess(inv *inventory.Inventory, eng engine, packs []*policy.Pack, at inventory.Date) *Assessment {
	a := &Assessment{inv: inv, At: at, Source: inv.Source, Elements: len(inv.Elements), Skipped: inv.Skipped, Problems: inv.Problems, MoreProblems: inv.MoreProblems}
	for _, p := range packs {
		a.Packs = append(a.Packs, p.ID)
	}
	a.Designated = designatedVendors(inv, eng, packs)
	a.Shares = computeShares(inv.Elements, a.Designated)
	a.Concentration = concentration(a.Shares)
	res := eng.Evaluate(inv, at)
	a.Violations = res.Violations
	a.Warnings = res.Warnings
	if a.Violations == nil {
		a.Violations = []policy.Violation{}
	}
	a.Rules = ruleStates(packs, a.Violations)
	a.Summary = summarise(a)
	return a
}

// designatedVendors lists the vendors designated by at least one rule,
// judged on the first element of each vendor.
func designatedVendors(inv *inventory.Inventory, eng engine, packs []*policy.Pack) []string {
	seen := map[string]bool{}
	var out []string
	for i := range inv.Elements {
		el := &inv.Elements[i]
		if _, ok := seen[el.Vendor]; ok {
			continue
		}
		d := false
		for _, p := range packs {
			for _, r := range p.Rules {
				if designates(r) && eng.Designated(r, el) {
					d = true
					break
				}
			}
			if d {
				break
			}
		}
		seen[el.Vendor] = d
		if d {
			out = append(out, vendorName(el.Vendor))
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// designates reports whether a rule restricts the vendors it designates
// (forbid, remove_by, no_new_install, share_cap), as opposed to a rule
// that asks every vendor for evidence or local support.
func designates(r *policy.Rule) bool {
	if r.Disabled {
		return false
	}
	switch r.Kind {
	case policy.KindForbid, policy.KindRemoveBy, policy.KindNoNewInstall, policy.KindShareCap:
		return true
	}
	return false
}

func vendorName(v string) string {
	if v == "" {
		return Unknown
	}
	return v
}

func nameOr(s string) string {
	if s == "" {
		return Unknown
	}
	return s
}

// acc accumulates one domain's or function's metrics, per vendor index.
type acc struct {
	dim, group, domain                          string
	elems, traffic, premises, sites             []float64
	totElems, totTraffic, totPremises, totSites float64
}

func grow(s []float64, n int) []float64 {
	if len(s) < n {
		s = append(s, make([]float64, n-len(s))...)
	}
	return s
}

func (g *acc) add(v int32, el *inventory.Element) {
	n := int(v) + 1
	g.elems = grow(g.elems, n)
	g.elems[v]++
	g.totElems++
	if t := el.TrafficShare; t > 0 && !math.IsInf(t, 0) {
		g.traffic = grow(g.traffic, n)
		g.traffic[v] += t
		g.totTraffic += t
	}
	if el.PremisesServed > 0 {
		g.premises = grow(g.premises, n)
		g.premises[v] += float64(el.PremisesServed)
		g.totPremises += float64(el.PremisesServed)
	}
}

type funcKey struct{ domain, function string }

// shareBuilder emits Shares, their vendor lists cut from shared blocks.
type shareBuilder struct {
	vendors []string
	des     []bool
	pool    []VendorShare
	out     []Share
}

func (sb *shareBuilder) emit(dim, group, domain string, m policy.Metric, vals []float64, total float64) {
	if total <= 0 {
		return
	}
	n := 0
	for _, x := range vals {
		if x > 0 {
			n++
		}
	}
	if len(sb.pool) < n {
		sb.pool = make([]VendorShare, max(n, 4096))
	}
	vs := sb.pool[:0:n]
	sb.pool = sb.pool[n:]
	for vi, x := range vals {
		if x > 0 {
			vs = append(vs, VendorShare{Vendor: sb.vendors[vi], Value: round(x), Share: round(x / total), Designated: sb.des[vi]})
		}
	}
	slices.SortFunc(vs, func(a, b VendorShare) int {
		if c := cmp.Compare(b.Value, a.Value); c != 0 {
			return c
		}
		return strings.Compare(a.Vendor, b.Vendor)
	})
	sb.out = append(sb.out, Share{Dimension: dim, Group: group, Domain: domain, Metric: m, Total: round(total), Vendors: vs})
}

// computeShares groups the elements by domain, function and site and
// measures each vendor's part by every metric with data. It makes one pass
// to index and accumulate, then one pass site by site (a counting sort of
// the elements by site) for the per-site shares and the sites metric.
func computeShares(els []inventory.Element, designated []string) []Share {
	vendorIdx := map[string]int32{}
	var vendors []string
	domIdx := map[string]int32{}
	funIdx := map[funcKey]int32{}
	siteIdx := map[string]int32{}
	var doms, funs []*acc
	var siteNames []string
	elDom := make([]int32, len(els))
	elFun := make([]int32, len(els))
	elVen := make([]int32, len(els))
	elSite := make([]int32, len(els))
	// Inventories list elements site by site, so the previous element's
	// indices are usually right: compare before hashing.
	var lastV, lastD, lastF, lastS string
	var v, di, fi, si int32
	have := false // the last* values hold the previous element's
	for i := range els {
		el := &els[i]
		first := !have
		have = true
		if first || el.Vendor != lastV {
			lastV = el.Vendor
			vn := vendorName(el.Vendor)
			var ok bool
			if v, ok = vendorIdx[vn]; !ok {
				v = int32(len(vendors))
				vendorIdx[vn] = v
				vendors = append(vendors, vn)
			}
		}
		newDomain := first || el.Domain != lastD
		if newDomain {
			lastD = el.Domain
			dn := nameOr(el.Domain)
			var ok bool
			if di, ok = domIdx[dn]; !ok {
				di = int32(len(doms))
				domIdx[dn] = di
				doms = append(doms, &acc{dim: ByDomain, group: dn})
			}
		}
		if newDomain || el.Function != lastF {
			lastF = el.Function
			fk := funcKey{nameOr(el.Domain), nameOr(el.Function)}
			var ok bool
			if fi, ok = funIdx[fk]; !ok {
				fi = int32(len(funs))
				funIdx[fk] = fi
				funs = append(funs, &acc{dim: ByFunction, group: fk.function, domain: fk.domain})
			}
		}
		doms[di].add(v, el)
		funs[fi].add(v, el)
		if first || el.Site != lastS {
			lastS = el.Site
			si = -1
			if el.Site != "" {
				var ok bool
				if si, ok = siteIdx[el.Site]; !ok {
					si = int32(len(siteNames))
					siteIdx[el.Site] = si
					siteNames = append(siteNames, el.Site)
				}
			}
		}
		elDom[i], elFun[i], elVen[i], elSite[i] = di, fi, v, si
	}
	des := map[string]bool{}
	for _, d := range designated {
		des[d] = true
	}
	sb := &shareBuilder{vendors: vendors, des: make([]bool, len(vendors))}
	for i, v := range vendors {
		sb.des[i] = des[v]
	}

	// Sites in name order; elements bucketed by site (counting sort).
	order := make([]int32, len(siteNames)) // rank -> site index
	for i := range order {
		order[i] = int32(i)
	}
	byName := func(a, b int32) int { return strings.Compare(siteNames[a], siteNames[b]) }
	if !slices.IsSortedFunc(order, byName) {
		slices.SortFunc(order, byName)
	}
	rank := make([]int32, len(siteNames))
	for r, si := range order {
		rank[si] = int32(r)
	}
	start := make([]int32, len(siteNames)+1)
	for _, si := range elSite {
		if si >= 0 {
			start[rank[si]+1]++
		}
	}
	for r := 1; r < len(start); r++ {
		start[r] += start[r-1]
	}
	bucket := make([]int32, start[len(start)-1])
	fill := slices.Clone(start[:len(start)-1])
	for i, si := range elSite {
		if si >= 0 {
			r := rank[si]
			bucket[fill[r]] = int32(i)
			fill[r]++
		}
	}
	nv := len(vendors)
	// Stamps mark what a site has already counted: (group) and (group, vendor).
	domSeen := make([]int32, len(doms))
	funSeen := make([]int32, len(funs))
	domVSeen := make([]int32, len(doms)*nv)
	funVSeen := make([]int32, len(funs)*nv)
	for _, g := range doms {
		g.sites = make([]float64, nv)
	}
	for _, g := range funs {
		g.sites = make([]float64, nv)
	}
	sElems := make([]float64, nv)
	sTraffic := make([]float64, nv)
	sPremises := make([]float64, nv)
	ss := &shareBuilder{vendors: vendors, des: sb.des, out: make([]Share, 0, 2*len(siteNames))}
	for r, si := range order {
		stamp := int32(r + 1)
		clear(sElems)
		clear(sTraffic)
		clear(sPremises)
		var te, tt, tp float64
		for _, i := range bucket[start[r]:start[r+1]] {
			el := &els[i]
			v, di, fi := elVen[i], elDom[i], elFun[i]
			sElems[v]++
			te++
			if t := el.TrafficShare; t > 0 && !math.IsInf(t, 0) {
				sTraffic[v] += t
				tt += t
			}
			if el.PremisesServed > 0 {
				sPremises[v] += float64(el.PremisesServed)
				tp += float64(el.PremisesServed)
			}
			if domSeen[di] != stamp {
				domSeen[di] = stamp
				doms[di].totSites++
			}
			if k := int(di)*nv + int(v); domVSeen[k] != stamp {
				domVSeen[k] = stamp
				doms[di].sites[v]++
			}
			if funSeen[fi] != stamp {
				funSeen[fi] = stamp
				funs[fi].totSites++
			}
			if k := int(fi)*nv + int(v); funVSeen[k] != stamp {
				funVSeen[k] = stamp
				funs[fi].sites[v]++
			}
		}
		name := siteNames[si]
		ss.emit(BySite, name, "", policy.MetricElements, sElems, te)
		ss.emit(BySite, name, "", policy.MetricTraffic, sTraffic, tt)
		ss.emit(BySite, name, "", policy.MetricPremises, sPremises, tp)
	}

	slices.SortFunc(doms, func(a, b *acc) int { return strings.Compare(a.group, b.group) })
	slices.SortFunc(funs, func(a, b *acc) int {
		if c := strings.Compare(a.domain, b.domain); c != 0 {
			return c
		}
		return strings.Compare(a.group, b.group)
	})
	for _, list := range [][]*acc{doms, funs} {
		for _, g := range list {
			sb.emit(g.dim, g.group, g.domain, policy.MetricElements, g.elems, g.totElems)
			sb.emit(g.dim, g.group, g.domain, policy.MetricSites, g.sites, g.totSites)
			sb.emit(g.dim, g.group, g.domain, policy.MetricTraffic, g.traffic, g.totTraffic)
			sb.emit(g.dim, g.group, g.domain, policy.MetricPremises, g.premises, g.totPremises)
		}
	}
	out := append(sb.out, ss.out...)
	if out == nil {
		out = []Share{}
	}
	return out
}

func dimOrder(d string) int {
	switch d {
	case ByDomain:
		return 0
	case ByFunction:
		return 1
	}
	return 2
}

// MetricOrder ranks metrics for display: elements, sites, traffic, premises.
func MetricOrder(m policy.Metric) int {
	switch m {
	case policy.MetricElements:
		return 0
	case policy.MetricSites:
		return 1
	case policy.MetricTraffic:
		return 2
	case policy.MetricPremises:
		return 3
	}
	return 4
}

// round keeps six decimals, so that output is stable and readable.
func round(x float64) float64 {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return 0
	}
	if math.Abs(x) >= 1e12 {
		return math.Round(x)
	}
	return math.Round(x*1e6) / 1e6
}

// HHIOf computes the Herfindahl-Hirschman index of shares (0..1 each).
func HHIOf(shares []float64) float64 {
	h := 0.0
	for _, s := range shares {
		h += (s * 100) * (s * 100)
	}
	return math.Round(h*10) / 10
}

func concentration(shares []Share) []Concentration {
	var out []Concentration
	for _, s := range shares {
		if s.Dimension != ByDomain || (s.Metric != policy.MetricElements && s.Metric != policy.MetricTraffic) {
			continue
		}
		fs := make([]float64, len(s.Vendors))
		for i, v := range s.Vendors {
			fs[i] = v.Value / s.Total
		}
		h := HHIOf(fs)
		c := Concentration{Domain: s.Group, Metric: s.Metric, HHI: h, Vendors: len(s.Vendors), Reading: Reading(h)}
		if len(s.Vendors) > 0 {
			c.Largest = s.Vendors[0].Vendor
		}
		out = append(out, c)
	}
	return out
}

func ruleStates(packs []*policy.Pack, vs []policy.Violation) []RuleState {
	type key struct{ pack, rule string }
	byRule := map[key]*policy.Violation{}
	for i := range vs {
		byRule[key{vs[i].Pack, vs[i].RuleID}] = &vs[i]
	}
	var out []RuleState
	for _, p := range packs {
		for _, r := range p.Rules {
			rs := RuleState{Pack: p.ID, Rule: r.ID, Title: r.Title, Kind: r.Kind, Deadline: r.Deadline, Source: r.Source, Status: r.Status, State: StateCompliant}
			if r.Disabled {
				rs.State = StateDisabled
			} else if v := byRule[key{p.ID, r.ID}]; v != nil {
				rs.State = StateUpcoming
				if v.Due {
					rs.State = StateViolated
				}
				rs.Elements = len(v.Elements)
			}
			out = append(out, rs)
		}
	}
	slices.SortStableFunc(out, func(a, b RuleState) int {
		if c := a.Deadline.Compare(b.Deadline.Time); c != 0 {
			return c
		}
		if c := strings.Compare(a.Pack, b.Pack); c != 0 {
			return c
		}
		return strings.Compare(a.Rule, b.Rule)
	})
	return out
}

func plural(n int, one, many string) string {
	if n == 1 {
		return fmt.Sprintf("%d %s", n, one)
	}
	return fmt.Sprintf("%d %s", n, many)
}

// Describe says in one line what a violation means at the date at.
func Describe(v *policy.Violation, at inventory.Date) string {
	rule := fmt.Sprintf("%s (%s: %s)", v.RuleID, strings.ToUpper(v.Pack), v.Title)
	n := len(v.Elements)
	if v.Kind == policy.KindShareCap {
		s := fmt.Sprintf("on %s, designated vendors hold %.1f%% by %s, over the %.0f%% cap of %s; %s in scope",
			at, v.Share*100, v.Metric, v.Cap*100, rule, plural(n, "designated element", "designated elements"))
		if !v.Due {
			s += fmt.Sprintf("; the cap applies from %s", v.Deadline)
		}
		return s
	}
	if v.Due {
		return fmt.Sprintf("on %s, %s %s %s", at, plural(n, "element", "elements"), verb(n, "violates", "violate"), rule)
	}
	return fmt.Sprintf("on %s, %s will violate %s when it applies on %s (%s left)",
		at, plural(n, "element", "elements"), rule, v.Deadline, plural(v.DaysLeft, "day", "days"))
}

func verb(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

func summarise(a *Assessment) []string {
	var out []string
	nrules, disabled := 0, 0
	for _, r := range a.Rules {
		if r.State == StateDisabled {
			disabled++
		} else {
			nrules++
		}
	}
	due, upcoming := 0, 0
	for _, v := range a.Violations {
		if v.Due {
			due++
		} else {
			upcoming++
		}
	}
	out = append(out, fmt.Sprintf("on %s, %s of %s (%s) checked: %d violated, %d due later, %d met",
		a.At, plural(a.Elements, "element", "elements"), plural(nrules, "rule", "rules"), strings.Join(a.Packs, ", "),
		due, upcoming, nrules-due-upcoming))
	if disabled > 0 {
		out[0] += fmt.Sprintf(" (%d disabled by override)", disabled)
	}
	for i := range a.Violations {
		out = append(out, Describe(&a.Violations[i], a.At))
	}
	for _, c := range a.Concentration {
		if c.Reading == "highly concentrated" && c.Metric == policy.MetricElements {
			out = append(out, fmt.Sprintf("%s is highly concentrated: HHI %.0f by elements, %s largest", c.Domain, c.HHI, c.Largest))
		}
	}
	return out
}
