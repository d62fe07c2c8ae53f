package policy

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/netvet/netvet/internal/inventory"
)

// Engine holds packs compiled for evaluation. Scopes and vendor criteria
// are compiled to CEL programs once. An inventory has few distinct
// combinations of the fields rules look at (domain, generation, vendor,
// site sensitivity, tags, ...): the engine sorts elements into classes by
// those fields and evaluates each expression once per class, so that a
// million elements cost a map lookup each rather than a CEL evaluation
// per rule.
type Engine struct {
	packs  []*Pack
	rules  []*crule // every rule of every pack, in pack order
	byRule map[*Rule]int
	byID   map[string]*Rule

	classFields []fieldID // fields the class key encodes: vendor + those few-valued expression parts read

	mu     sync.Mutex
	shared *classifier // for InScope and Designated
}

// crule is a rule ready to evaluate. Its scope and criteria are each
// split into a part over few-valued fields, decided once per class, and a
// part over many-valued fields, decided per element (memoised); a nil
// part is true.
type crule struct {
	r         *Rule
	scopeFew  *compiled
	scopeMany *compiled
	hasCrit   bool
	critFew   *compiled
	critMany  *compiled
	vendors   map[string]bool
	everyone  bool            // no designation: every element in scope is subject
	schemes   map[string]bool // require_evidence, normalised
	allowed   map[string]bool // support_locality
}

// Compile checks and compiles the packs' expressions. Rule IDs must be
// unique across the packs (overrides address rules by ID).
func Compile(packs []*Pack) (*Engine, error) {
	e := &Engine{packs: packs, byRule: map[*Rule]int{}, byID: map[string]*Rule{}}
	classSet := map[fieldID]bool{fVendor: true}
	var errs LintErrors
	for _, p := range packs {
		if p == nil {
			continue
		}
		for _, r := range p.Rules {
			if prev, dup := e.byID[r.ID]; dup {
				return nil, fmt.Errorf("policy: rule ID %q is in both pack %q and pack %q; rule IDs must be unique", r.ID, prev.Pack, p.ID)
			}
			e.byID[r.ID] = r
			cr := &crule{r: r, hasCrit: strings.TrimSpace(r.VendorCriteria) != ""}
			for _, x := range []struct {
				src, field string
				few, many  **compiled
			}{{r.Scope, "scope", &cr.scopeFew, &cr.scopeMany}, {r.VendorCriteria, "vendor_criteria", &cr.critFew, &cr.critMany}} {
				if strings.TrimSpace(x.src) == "" {
					continue
				}
				few, many, iss := compileSplit(x.src)
				if len(iss) > 0 {
					for _, is := range iss {
						errs = append(errs, LintError{File: p.File, Line: r.Line, Field: r.ID + "." + x.field, Msg: "CEL: " + is.msg})
					}
					continue
				}
				*x.few, *x.many = few, many
				if few != nil {
					for _, f := range few.fields {
						classSet[f] = true
					}
				}
			}
			vs := r.Vendors
			if len(vs) == 0 && !cr.hasCrit {
				switch r.Kind {
				case KindRequireEvidence, KindSupportLocality:
					cr.everyone = true
				default:
					vs = p.Vendors
				}
			}
			cr.vendors = make(map[string]bool, len(vs))
			for _, v := range vs {
				cr.vendors[strings.ToLower(v)] = true
			}
			if len(r.Evidence) > 0 {
				cr.schemes = map[string]bool{}
				for _, s := range r.Evidence {
					cr.schemes[normScheme(s)] = true
				}
			}
			if len(r.AllowedLocations) > 0 {
				cr.allowed = map[string]bool{}
				for _, c := range r.AllowedLocations {
					cr.allowed[strings.ToUpper(c)] = true
				}
			}
			e.byRule[r] = len(e.rules)
			e.rules = append(e.rules, cr)
		}
	}
	if len(errs) > 0 {
		return nil, errs
	}
	for f := range classSet {
		e.classFields = append(e.classFields, f)
	}
	slices.Sort(e.classFields)
	e.shared = e.newClassifier()
	return e, nil
}

// Packs returns the packs the engine was compiled from.
func (e *Engine) Packs() []*Pack { return e.packs }

// Rules returns every rule, in pack order (disabled ones included).
func (e *Engine) Rules() []*Rule {
	out := make([]*Rule, len(e.rules))
	for i, cr := range e.rules {
		out[i] = cr.r
	}
	return out
}

// Rule returns the rule with the given ID, or nil.
func (e *Engine) Rule(id string) *Rule { return e.byID[id] }

// InScope reports whether el falls in the rule's scope. It is false for a
// rule the engine was not compiled with. Safe for concurrent use.
func (e *Engine) InScope(r *Rule, el *inventory.Element) bool {
	i, ok := e.byRule[r]
	if !ok {
		return false
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	c := e.shared
	fl := c.flags[int(c.classOf(el))*c.nRules+i]
	return c.inScope(i, fl, el)
}

// Designated reports whether el is subject to the rule by vendor: its
// vendor is designated (by name or by criteria), or the rule designates
// no vendor (require_evidence and support_locality rules without vendors
// apply to every element in scope). It does not look at the scope.
func (e *Engine) Designated(r *Rule, el *inventory.Element) bool {
	i, ok := e.byRule[r]
	if !ok {
		return false
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	c := e.shared
	fl := c.flags[int(c.classOf(el))*c.nRules+i]
	return c.designated(i, fl, el)
}

// classifier sorts elements into classes and remembers, per class, which
// rules have the element in scope and which designate it. It is not safe
// for concurrent use.
type classifier struct {
	e       *Engine
	ids     map[string]int32
	buf     []byte    // class key
	kbuf    []byte    // expression memo key
	flags   []uint8   // class*len(rules)+rule
	hits    [][]int32 // per class: the rules whose few-valued scope part holds
	memo    []map[string]bool
	errs    map[int]*evalErr // rule -> first evaluation error
	nRules  int
	maxMemo int
}

type evalErr struct {
	elem  string
	err   error
	count int
}

const (
	flagScope    uint8 = 1 << iota // few-valued part of the scope holds
	flagDesig                      // designated, whatever the element's many-valued fields
	flagCritMany                   // designated if the many-valued part of the criteria holds
)

func (e *Engine) newClassifier() *classifier {
	return &classifier{
		e:       e,
		ids:     map[string]int32{},
		memo:    make([]map[string]bool, 4*len(e.rules)),
		errs:    map[int]*evalErr{},
		nRules:  len(e.rules),
		maxMemo: 1 << 20,
	}
}

// classOf returns el's class, creating it (and evaluating every rule's
// few-valued parts for it) on first sight.
func (c *classifier) classOf(el *inventory.Element) int32 {
	b := c.buf[:0]
	for _, f := range c.e.classFields {
		b = appendKey(b, el, f)
	}
	c.buf = b
	if id, ok := c.ids[string(b)]; ok {
		return id
	}
	id := int32(len(c.hits))
	c.ids[string(b)] = id
	var hits []int32
	for ri, cr := range c.e.rules {
		var fl uint8
		if cr.scopeFew == nil || c.memoEval(ri, 2, cr.scopeFew, el) {
			fl |= flagScope
			if !cr.r.Disabled {
				hits = append(hits, int32(ri))
			}
		}
		switch {
		case cr.everyone || cr.vendors[el.Vendor] || (len(cr.vendors) > 0 && cr.vendors[strings.ToLower(el.Vendor)]):
			fl |= flagDesig
		case !cr.hasCrit:
		case cr.critFew != nil && !c.memoEval(ri, 3, cr.critFew, el):
		case cr.critMany == nil:
			fl |= flagDesig
		default:
			fl |= flagCritMany
		}
		c.flags = append(c.flags, fl)
	}
	c.hits = append(c.hits, hits)
	return id
}

// inScope finishes the scope test of rule ri for el, given its class flags.
func (c *classifier) inScope(ri int, fl uint8, el *inventory.Element) bool {
	if fl&flagScope == 0 {
		return false
	}
	cr := c.e.rules[ri]
	return cr.scopeMany == nil || c.memoEval(ri, 0, cr.scopeMany, el)
}

// designated finishes the designation test of rule ri for el.
func (c *classifier) designated(ri int, fl uint8, el *inventory.Element) bool {
	if fl&flagDesig != 0 {
		return true
	}
	return fl&flagCritMany != 0 && c.memoEval(ri, 1, c.e.rules[ri].critMany, el)
}

// evalExpr evaluates x (nil: dflt) for el, counting errors as false.
func (c *classifier) evalExpr(ri int, x *compiled, el *inventory.Element, dflt bool) bool {
	if x == nil {
		return dflt
	}
	ok, err := x.eval(el)
	if err != nil {
		if ee := c.errs[ri]; ee != nil {
			ee.count++
		} else {
			c.errs[ri] = &evalErr{elem: el.ID, err: err, count: 1}
		}
		return false
	}
	return ok
}

// memoEval evaluates an expression part, memoised by the fields it
// reads. which picks the memo: 0 scope's many-valued part, 1 criteria's,
// 2 scope's few-valued part, 3 criteria's.
func (c *classifier) memoEval(ri int, which int, x *compiled, el *inventory.Element) bool {
	m := c.memo[4*ri+which]
	if m == nil {
		m = map[string]bool{}
		c.memo[4*ri+which] = m
	}
	b := c.kbuf[:0]
	for _, f := range x.fields {
		b = appendKey(b, el, f)
	}
	c.kbuf = b
	if v, ok := m[string(b)]; ok {
		return v
	}
	v := c.evalExpr(ri, x, el, false)
	if len(m) >= c.maxMemo {
		clear(m)
	}
	m[string(b)] = v
	return v
}

// ruleState accumulates one rule's findings over the inventory.
type ruleState struct {
	elems   []int32 // elements at fault (by index)
	num     float64 // share_cap: designated measure
	den     float64 // share_cap: total measure
	nScope  int     // elements in scope
	undated int     // no_new_install: designated in scope with no date
	unknown int     // support_locality: no support location
	sitesIn []uint64
	sitesD  []uint64
}

// siteInterner numbers distinct sites.
type siteInterner struct{ m map[string]int32 }

func (si *siteInterner) id(s string) int32 {
	if si.m == nil {
		si.m = map[string]int32{}
	}
	id, ok := si.m[s]
	if !ok {
		id = int32(len(si.m))
		si.m[s] = id
	}
	return id
}

func markBit(bits *[]uint64, i int32) bool {
	w := int(i >> 6)
	if w >= len(*bits) {
		*bits = append(*bits, make([]uint64, w-len(*bits)+1)...)
	}
	m := uint64(1) << (uint(i) & 63)
	if (*bits)[w]&m != 0 {
		return false
	}
	(*bits)[w] |= m
	return true
}

// Evaluate applies every enabled rule to the inventory as it stands, at
// date at: a rule whose deadline is after at gives an upcoming violation
// (Due false), one whose deadline is on or before at (or that has none) a
// due one. The result is deterministic: the same input gives the same
// result, byte for byte once encoded.
func (e *Engine) Evaluate(inv *inventory.Inventory, at inventory.Date) *Result {
	res := &Result{At: at, Packs: []string{}, Violations: []Violation{}}
	for _, p := range e.packs {
		if p != nil {
			res.Packs = append(res.Packs, p.ID)
		}
	}
	if inv == nil {
		return res
	}
	c := e.newClassifier()
	st := make([]ruleState, len(e.rules))
	var sites siteInterner
	siteOf := sites.id
	els := inv.Elements
	for i := range els {
		el := &els[i]
		cls := c.classOf(el)
		row := c.flags[int(cls)*c.nRules : int(cls+1)*c.nRules]
		for _, ri := range c.hits[cls] {
			cr := e.rules[ri]
			if cr.scopeMany != nil && !c.memoEval(int(ri), 0, cr.scopeMany, el) {
				continue
			}
			e.apply(&st[ri], cr, el, int32(i), c.designated(int(ri), row[ri], el), siteOf)
		}
	}
	sorted := -1 // whether the inventory is sorted by ID: checked once, when needed
	for ri, cr := range e.rules {
		if cr.r.Disabled {
			continue
		}
		if v, ok := e.violation(cr, &st[ri], els, at, &sorted); ok {
			res.Violations = append(res.Violations, v)
		}
		if n := st[ri].undated; n > 0 {
			res.Warnings = append(res.Warnings, fmt.Sprintf("rule %s: %d designated element(s) in scope have no install or purchase date; cannot tell whether they were installed after %s", cr.r.ID, n, cr.r.Deadline))
		}
		if ee := c.errs[ri]; ee != nil {
			res.Warnings = append(res.Warnings, fmt.Sprintf("rule %s: expression failed for %d element class(es), counted as not matching; first, element %q: %v", cr.r.ID, ee.count, ee.elem, ee.err))
		}
	}
	sort.SliceStable(res.Violations, func(i, j int) bool {
		a, b := &res.Violations[i], &res.Violations[j]
		if !a.Deadline.Equal(b.Deadline.Time) {
			return a.Deadline.Before(b.Deadline.Time)
		}
		if a.Pack != b.Pack {
			return a.Pack < b.Pack
		}
		return a.RuleID < b.RuleID
	})
	sort.Strings(res.Warnings)
	return res
}

// apply records one element in scope of one rule.
func (e *Engine) apply(s *ruleState, cr *crule, el *inventory.Element, i int32, designated bool, siteOf func(string) int32) {
	s.nScope++
	switch cr.r.Kind {
	case KindForbid, KindRemoveBy:
		if designated {
			s.elems = append(s.elems, i)
		}
	case KindNoNewInstall:
		if !designated {
			return
		}
		d := el.InstallDate
		alt := el.PurchaseDate
		if cr.r.DateField == DatePurchase {
			d, alt = alt, d
		}
		if d.IsZero() {
			d = alt
		}
		if d.IsZero() {
			s.undated++
			return
		}
		if !d.Before(cr.r.Deadline.Time) {
			s.elems = append(s.elems, i)
		}
	case KindShareCap:
		switch cr.r.Metric {
		case MetricElements:
			s.den++
			if designated {
				s.num++
			}
		case MetricTraffic:
			s.den += clampNonNeg(el.TrafficShare)
			if designated {
				s.num += clampNonNeg(el.TrafficShare)
			}
		case MetricPremises:
			s.den += clampNonNeg(float64(el.PremisesServed))
			if designated {
				s.num += clampNonNeg(float64(el.PremisesServed))
			}
		case MetricSites:
			if el.Site != "" {
				id := siteOf(el.Site)
				if markBit(&s.sitesIn, id) {
					s.den++
				}
				if designated && markBit(&s.sitesD, id) {
					s.num++
				}
			}
		}
		if designated {
			s.elems = append(s.elems, i)
		}
	case KindRequireEvidence:
		if designated && !covered(cr, el) {
			s.elems = append(s.elems, i)
		}
	case KindSupportLocality:
		if !designated {
			return
		}
		loc := el.SupportLocation
		if loc == "" {
			s.unknown++
			s.elems = append(s.elems, i)
			return
		}
		if !cr.allowed[loc] && !cr.allowed[strings.ToUpper(loc)] {
			s.elems = append(s.elems, i)
		}
	}
}

func clampNonNeg(f float64) float64 {
	if f < 0 || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0
	}
	return f
}

// covered reports whether el carries evidence of an accepted scheme that
// covers its software version (evidence without evaluated versions covers
// any version; evidence with versions needs the element's version among
// them).
func covered(cr *crule, el *inventory.Element) bool {
	for _, ev := range el.Evidence {
		if !cr.schemes[normScheme(ev.Scheme)] {
			continue
		}
		if len(ev.EvaluatedVersions) == 0 {
			return true
		}
		if el.SoftwareVersion != "" && slices.Contains(ev.EvaluatedVersions, el.SoftwareVersion) {
			return true
		}
	}
	return false
}

// violation turns a rule's accumulated state into a Violation, if any.
func (e *Engine) violation(cr *crule, s *ruleState, els []inventory.Element, at inventory.Date, sorted *int) (Violation, bool) {
	r := cr.r
	v := Violation{
		Pack: r.Pack, RuleID: r.ID, Kind: r.Kind, Title: r.Title, Source: r.Source,
		Status: r.Status, Deadline: r.Deadline, Proposal: r.Proposal, Note: r.OverrideNote,
	}
	v.Due = r.Deadline.IsZero() || !r.Deadline.After(at.Time)
	if !r.Deadline.IsZero() && !at.IsZero() {
		v.DaysLeft = int(math.Round(r.Deadline.Sub(at.Time).Hours() / 24))
	}
	n := len(s.elems)
	switch r.Kind {
	case KindShareCap:
		if s.den <= 0 {
			return v, false
		}
		share := s.num / s.den
		if share <= r.Cap+1e-9 {
			return v, false
		}
		v.Metric, v.Cap = r.Metric, r.Cap
		v.Share = math.Round(share*1e6) / 1e6
		v.Message = fmt.Sprintf("designated vendors hold %s of %s in scope, above the cap of %s (%s)",
			pct(share), metricNoun(r.Metric), pct(r.Cap), countOf(s, r.Metric))
	default:
		if n == 0 {
			return v, false
		}
		v.Message = kindMessage(r, s, n)
	}
	v.Message += "; " + when(r, v)
	if *sorted < 0 {
		*sorted = 0
		if slices.IsSortedFunc(els, func(a, b inventory.Element) int { return strings.Compare(a.ID, b.ID) }) {
			*sorted = 1
		}
	}
	v.Elements = elementIDs(s.elems, els, *sorted == 1)
	return v, true
}

func kindMessage(r *Rule, s *ruleState, n int) string {
	switch r.Kind {
	case KindForbid:
		return fmt.Sprintf("%s of designated vendors in scope", plural(n, "element"))
	case KindRemoveBy:
		return fmt.Sprintf("%s of designated vendors still in scope", plural(n, "element"))
	case KindNoNewInstall:
		what := "installed"
		if r.DateField == DatePurchase {
			what = "purchased"
		}
		return fmt.Sprintf("%s of designated vendors %s on or after %s", plural(n, "element"), what, r.Deadline)
	case KindRequireEvidence:
		return fmt.Sprintf("%s in scope without %s evidence covering their software version", plural(n, "element"), strings.Join(r.Evidence, "/"))
	case KindSupportLocality:
		m := fmt.Sprintf("%s in scope supported from outside %s", plural(n, "element"), strings.Join(r.AllowedLocations, ", "))
		if s.unknown > 0 {
			m += fmt.Sprintf(" (%d with no support location recorded)", s.unknown)
		}
		return m
	}
	return plural(n, "element")
}

func when(r *Rule, v Violation) string {
	switch {
	case r.Deadline.IsZero():
		return "in force"
	case v.DaysLeft > 0:
		return fmt.Sprintf("deadline %s, %s left", r.Deadline, plural(v.DaysLeft, "day"))
	case v.DaysLeft == 0:
		return fmt.Sprintf("deadline %s, today", r.Deadline)
	default:
		return fmt.Sprintf("deadline %s, %s overdue", r.Deadline, plural(-v.DaysLeft, "day"))
	}
}

func countOf(s *ruleState, m Metric) string {
	switch m {
	case MetricTraffic:
		return fmt.Sprintf("traffic share %.4g of %.4g", s.num, s.den)
	case MetricPremises:
		return fmt.Sprintf("%.0f of %.0f premises", s.num, s.den)
	case MetricSites:
		return fmt.Sprintf("%.0f of %.0f sites", s.num, s.den)
	}
	return fmt.Sprintf("%.0f of %.0f elements", s.num, s.den)
}

func metricNoun(m Metric) string {
	switch m {
	case MetricTraffic:
		return "traffic"
	case MetricPremises:
		return "premises served"
	case MetricSites:
		return "sites"
	}
	return "elements"
}

func pct(f float64) string {
	return strings.TrimSuffix(strings.TrimSuffix(fmt.Sprintf("%.1f", f*100), "0"), ".") + "%"
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// elementIDs maps indices (ascending) to IDs, sorted. When the inventory
// is sorted by ID, so are they.
func elementIDs(idx []int32, els []inventory.Element, invSorted bool) []string {
	out := make([]string, len(idx))
	for i, x := range idx {
		out[i] = els[x].ID
	}
	if !invSorted {
		sort.Strings(out)
	}
	return out
}
