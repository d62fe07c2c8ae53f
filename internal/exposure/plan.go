package exposure

import (
	"cmp"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/netvet/netvet/internal/inventory"
	"github.com/netvet/netvet/internal/policy"
)

// Actions a plan item asks for.
const (
	ActionReplace  = "replace"          // swap the element for another vendor's
	ActionEvidence = "obtain-evidence"  // get the element evaluated (NESAS, SCAS, ...)
	ActionSupport  = "relocate-support" // move its remote support to an allowed country
)

// Criticality tiers, most critical first.
var tiers = []string{"core-and-sensitive", "transport", "oss-management", "ran", "access-fixed", "other"}

// sensitiveSites are the site sensitivities a plan treats first, like the core.
var sensitiveSites = map[string]bool{
	"national-security": true, "military": true, "nuclear": true,
	"cni-safety-critical": true, "government": true,
}

// Sensitive reports whether a site sensitivity puts an element in the first tier.
func Sensitive(s string) bool { return sensitiveSites[strings.ToLower(s)] }

// Tier places an element in a criticality tier: 0 for core domains and
// sensitive sites, then transport, network management, radio access,
// fixed access, and everything else.
func Tier(el *inventory.Element) int {
	if Sensitive(el.SiteSensitivity) {
		return 0
	}
	switch el.Domain {
	case "core-5g", "core-epc", "lawful-interception", "security", "cloud-infra":
		return 0
	case "transport":
		return 1
	case "oss-management":
		return 2
	case "ran":
		return 3
	case "access-fixed":
		return 4
	}
	return 5
}

// TierName names a tier.
func TierName(t int) string {
	if t < 0 || t >= len(tiers) {
		return "other"
	}
	return tiers[t]
}

// Plan is the replacement plan: waves in deadline order, each bringing the
// network into compliance with every rule due by its deadline.
type Plan struct {
	From     inventory.Date `json:"from"`
	Source   string         `json:"source"`
	Packs    []string       `json:"packs"`
	Elements int            `json:"elements"`
	Waves    []Wave         `json:"waves"`
	Totals   Totals         `json:"totals"`
	Summary  []string       `json:"summary"`
}

// Wave is the work due by one deadline.
type Wave struct {
	Number   int            `json:"number"`
	Deadline inventory.Date `json:"deadline"`
	// Overdue is true for the first wave when it gathers rules whose
	// deadline had passed (or that have none) on the plan's start date;
	// its Deadline is then the start date.
	Overdue bool       `json:"overdue"`
	Rules   []WaveRule `json:"rules"`
	Items   []Item     `json:"items"`
	Totals  Totals     `json:"totals"`
}

// WaveRule is a rule a wave brings into compliance.
type WaveRule struct {
	Pack       string         `json:"pack"`
	Rule       string         `json:"rule"`
	Title      string         `json:"title"`
	Kind       policy.Kind    `json:"kind"`
	Deadline   inventory.Date `json:"deadline,omitzero"`
	Metric     policy.Metric  `json:"metric,omitempty"`
	Share      float64        `json:"share,omitempty"`       // share_cap: share before the wave
	ShareAfter float64        `json:"share_after,omitempty"` // share_cap: share after the wave
	Cap        float64        `json:"cap,omitempty"`
	Items      int            `json:"items"` // items this rule adds to the wave
}

// Item is one element to act on.
type Item struct {
	Wave            int            `json:"wave"`
	Deadline        inventory.Date `json:"deadline"`
	Element         string         `json:"element"`
	Name            string         `json:"name,omitempty"`
	Vendor          string         `json:"vendor"`
	Domain          string         `json:"domain"`
	Function        string         `json:"function,omitempty"`
	Site            string         `json:"site,omitempty"`
	SiteSensitivity string         `json:"site_sensitivity,omitempty"`
	Tier            string         `json:"tier"`
	Action          string         `json:"action"`
	Rules           []string       `json:"rules"` // IDs of the rules the action answers
	TrafficShare    float64        `json:"traffic_share,omitempty"`
	PremisesServed  int64          `json:"premises_served,omitempty"`
	tier            int
}

// Totals counts a wave's (or the whole plan's) items.
type Totals struct {
	Items    int     `json:"items"`
	Replace  int     `json:"replace"`
	Evidence int     `json:"obtain_evidence"`
	Support  int     `json:"relocate_support"`
	Sites    int     `json:"sites"`
	Traffic  float64 `json:"traffic_share"`
	Premises int64   `json:"premises_served"`
	ByDomain []Count `json:"by_domain"`
	ByVendor []Count `json:"by_vendor"`
}

// Count is a number of items for a name.
type Count struct {
	Name string `json:"name"`
	N    int    `json:"n"`
}

func actionFor(k policy.Kind) string {
	switch k {
	case policy.KindRequireEvidence:
		return ActionEvidence
	case policy.KindSupportLocality:
		return ActionSupport
	}
	return ActionReplace
}

// MakePlan builds the plan from the date from for the packs in eng.
func makePlan(inv *inventory.Inventory, eng engine, packs []*policy.Pack, from inventory.Date) *Plan {
	p := &Plan{From: from, Source: inv.Source, Elements: len(inv.Elements), Waves: []Wave{}}
	rules := map[string]*policy.Rule{}
	for _, pk := range packs {
		p.Packs = append(p.Packs, pk.ID)
		for _, r := range pk.Rules {
			rules[pk.ID+"/"+r.ID] = r
		}
	}
	els := inv.Elements
	byID := make(map[string]int, len(els))
	for i := range els {
		if _, dup := byID[els[i].ID]; !dup {
			byID[els[i].ID] = i
		}
	}
	res := eng.Evaluate(inv, from)
	// Group violations by effective deadline.
	groups := map[inventory.Date][]policy.Violation{}
	var dates []inventory.Date
	later := map[int]bool{} // elements some rule will make us replace anyway
	for _, v := range res.Violations {
		d := v.Deadline
		if d.IsZero() || !d.After(from.Time) {
			d = from
		}
		if _, ok := groups[d]; !ok {
			dates = append(dates, d)
		}
		groups[d] = append(groups[d], v)
		if v.Kind != policy.KindShareCap && actionFor(v.Kind) == ActionReplace {
			for _, id := range v.Elements {
				if i, ok := byID[id]; ok {
					later[i] = true
				}
			}
		}
	}
	slices.SortFunc(dates, func(a, b inventory.Date) int { return a.Compare(b.Time) })

	replaced := make([]bool, len(els))
	listed := map[string]map[int]bool{ActionEvidence: {}, ActionSupport: {}}
	for wi, d := range dates {
		w := Wave{Number: wi + 1, Deadline: d, Overdue: d.Equal(from.Time) && hasOverdue(groups[d], from), Rules: []WaveRule{}, Items: []Item{}}
		vs := groups[d]
		// Replacements first, share caps next (what a removal takes out
		// counts for the cap), then evidence and support: an element
		// replaced needs neither.
		slices.SortStableFunc(vs, func(a, b policy.Violation) int {
			if c := cmp.Compare(stepOf(a.Kind), stepOf(b.Kind)); c != 0 {
				return c
			}
			if c := strings.Compare(a.Pack, b.Pack); c != 0 {
				return c
			}
			return strings.Compare(a.RuleID, b.RuleID)
		})
		itemAt := map[[2]string]int{} // (action, element id) -> index in w.Items
		addItem := func(i int, action, rule string) bool {
			el := &els[i]
			k := [2]string{action, el.ID}
			if j, ok := itemAt[k]; ok {
				if !slices.Contains(w.Items[j].Rules, rule) {
					w.Items[j].Rules = append(w.Items[j].Rules, rule)
				}
				return false
			}
			if replaced[i] || (action != ActionReplace && listed[action][i]) {
				return false
			}
			if action == ActionReplace {
				replaced[i] = true
			} else {
				listed[action][i] = true
			}
			t := Tier(el)
			itemAt[k] = len(w.Items)
			w.Items = append(w.Items, Item{Wave: w.Number, Deadline: d, Element: el.ID, Name: el.Name, Vendor: vendorName(el.Vendor),
				Domain: nameOr(el.Domain), Function: el.Function, Site: el.Site, SiteSensitivity: el.SiteSensitivity,
				Tier: TierName(t), tier: t, Action: action, Rules: []string{rule}, TrafficShare: el.TrafficShare, PremisesServed: el.PremisesServed})
			return true
		}
		for _, v := range vs {
			key := v.RuleID
			wr := WaveRule{Pack: v.Pack, Rule: v.RuleID, Title: v.Title, Kind: v.Kind, Deadline: v.Deadline}
			if v.Kind == policy.KindShareCap {
				r := rules[v.Pack+"/"+v.RuleID]
				if r == nil {
					continue
				}
				sel, before, after := capSelection(els, eng, r, replaced, later)
				wr.Metric, wr.Cap, wr.Share, wr.ShareAfter = r.Metric, r.Cap, round(before), round(after)
				for _, i := range sel {
					if addItem(i, ActionReplace, key) {
						wr.Items++
					}
				}
			} else {
				a := actionFor(v.Kind)
				for _, id := range v.Elements {
					if i, ok := byID[id]; ok && addItem(i, a, key) {
						wr.Items++
					}
				}
			}
			w.Rules = append(w.Rules, wr)
		}
		slices.SortFunc(w.Items, compareItems)
		w.Totals = totals(w.Items)
		p.Waves = append(p.Waves, w)
	}
	var all []Item
	for _, w := range p.Waves {
		all = append(all, w.Items...)
	}
	p.Totals = totals(all)
	p.Summary = planSummary(p)
	return p
}

func actionRank(a string) int {
	switch a {
	case ActionReplace:
		return 0
	case ActionEvidence:
		return 1
	}
	return 2
}

// stepOf orders the work within a wave.
func stepOf(k policy.Kind) int {
	switch {
	case k == policy.KindShareCap:
		return 1
	case actionFor(k) == ActionReplace:
		return 0
	}
	return 2
}

func hasOverdue(vs []policy.Violation, from inventory.Date) bool {
	for _, v := range vs {
		if v.Deadline.IsZero() || v.Deadline.Before(from.Time) || v.Deadline.Equal(from.Time) {
			return true
		}
	}
	return false
}

func compareItems(a, b Item) int {
	if c := cmp.Compare(a.tier, b.tier); c != 0 {
		return c
	}
	sa, sb := Sensitive(a.SiteSensitivity), Sensitive(b.SiteSensitivity)
	if sa != sb {
		if sa {
			return -1
		}
		return 1
	}
	if c := cmp.Compare(actionRank(a.Action), actionRank(b.Action)); c != 0 {
		return c
	}
	if c := strings.Compare(a.Domain, b.Domain); c != 0 {
		return c
	}
	if c := strings.Compare(a.Site, b.Site); c != 0 {
		return c
	}
	return strings.Compare(a.Element, b.Element)
}

// metricOf is an element's contribution to a share by m.
func metricOf(el *inventory.Element, m policy.Metric) float64 {
	switch m {
	case policy.MetricTraffic:
		if el.TrafficShare > 0 {
			return el.TrafficShare
		}
		return 0
	case policy.MetricPremises:
		if el.PremisesServed > 0 {
			return float64(el.PremisesServed)
		}
		return 0
	}
	return 1
}

const capEpsilon = 1e-9

// capSelection picks the fewest designated elements in the rule's scope
// to replace so that the designated share by the rule's metric is at most
// the cap. Elements already replaced count as another vendor's. It returns
// the element indices and the share before and after.
func capSelection(els []inventory.Element, eng engine, r *policy.Rule, replaced []bool, later map[int]bool) (sel []int, before, after float64) {
	var cand []int
	if r.Metric == policy.MetricSites {
		total := map[string]bool{}
		bySite := map[string][]int{}
		for i := range els {
			el := &els[i]
			if el.Site == "" || !eng.InScope(r, el) {
				continue
			}
			total[el.Site] = true
			if !replaced[i] && eng.Designated(r, el) {
				bySite[el.Site] = append(bySite[el.Site], i)
			}
		}
		if len(total) == 0 {
			return nil, 0, 0
		}
		T := float64(len(total))
		D := float64(len(bySite))
		before = D / T
		if D <= r.Cap*T+capEpsilon {
			return nil, before, before
		}
		sites := make([]string, 0, len(bySite))
		for s := range bySite {
			sites = append(sites, s)
		}
		// Fewest designated elements per site first: each site is worth the
		// same share, so the cheapest sites reach the cap with fewest elements.
		sort.Slice(sites, func(a, b int) bool {
			na, nb := len(bySite[sites[a]]), len(bySite[sites[b]])
			if na != nb {
				return na < nb
			}
			ta, tb := siteTier(els, bySite[sites[a]]), siteTier(els, bySite[sites[b]])
			if ta != tb {
				return ta < tb
			}
			return sites[a] < sites[b]
		})
		for _, s := range sites {
			if D <= r.Cap*T+capEpsilon {
				break
			}
			sel = append(sel, bySite[s]...)
			D--
		}
		return sel, before, D / T
	}
	var T, D float64
	for i := range els {
		el := &els[i]
		if !eng.InScope(r, el) {
			continue
		}
		x := metricOf(el, r.Metric)
		T += x
		if !replaced[i] && eng.Designated(r, el) {
			D += x
			if x > 0 {
				cand = append(cand, i)
			}
		}
	}
	if T <= 0 {
		return nil, 0, 0
	}
	before = D / T
	if D <= r.Cap*T+capEpsilon {
		return nil, before, before
	}
	// Largest contribution first (optimal for one additive metric); among
	// equals, elements another rule removes anyway, then the most critical.
	slices.SortFunc(cand, func(a, b int) int {
		if c := cmp.Compare(metricOf(&els[b], r.Metric), metricOf(&els[a], r.Metric)); c != 0 {
			return c
		}
		if la, lb := later[a], later[b]; la != lb {
			if la {
				return -1
			}
			return 1
		}
		if c := cmp.Compare(Tier(&els[a]), Tier(&els[b])); c != 0 {
			return c
		}
		return strings.Compare(els[a].ID, els[b].ID)
	})
	for _, i := range cand {
		if D <= r.Cap*T+capEpsilon {
			break
		}
		sel = append(sel, i)
		D -= metricOf(&els[i], r.Metric)
	}
	if D < 0 {
		D = 0
	}
	return sel, before, D / T
}

func siteTier(els []inventory.Element, idx []int) int {
	t := len(tiers)
	for _, i := range idx {
		t = min(t, Tier(&els[i]))
	}
	return t
}

func totals(items []Item) Totals {
	t := Totals{ByDomain: []Count{}, ByVendor: []Count{}}
	sites := map[string]bool{}
	dom, ven := map[string]int{}, map[string]int{}
	for i := range items {
		it := &items[i]
		t.Items++
		switch it.Action {
		case ActionReplace:
			t.Replace++
			t.Traffic += it.TrafficShare
			t.Premises += it.PremisesServed
			if it.Site != "" {
				sites[it.Site] = true
			}
			dom[it.Domain]++
			ven[it.Vendor]++
		case ActionEvidence:
			t.Evidence++
		case ActionSupport:
			t.Support++
		}
	}
	t.Sites = len(sites)
	t.Traffic = round(t.Traffic)
	t.ByDomain = counts(dom)
	t.ByVendor = counts(ven)
	return t
}

func counts(m map[string]int) []Count {
	out := make([]Count, 0, len(m))
	for k, n := range m {
		out = append(out, Count{k, n})
	}
	slices.SortFunc(out, func(a, b Count) int {
		if c := cmp.Compare(b.N, a.N); c != 0 {
			return c
		}
		return strings.Compare(a.Name, b.Name)
	})
	return out
}

func countsText(cs []Count) string {
	var b []string
	for _, c := range cs {
		b = append(b, fmt.Sprintf("%s %d", c.Name, c.N))
	}
	return strings.Join(b, ", ")
}

func planSummary(p *Plan) []string {
	var out []string
	if len(p.Waves) == 0 {
		return []string{fmt.Sprintf("from %s, nothing to do: the inventory meets every rule of %s", p.From, strings.Join(p.Packs, ", "))}
	}
	head := fmt.Sprintf("from %s, %s: replace %s", p.From, plural(len(p.Waves), "wave", "waves"), plural(p.Totals.Replace, "element", "elements"))
	if p.Totals.Replace > 0 {
		head += fmt.Sprintf(" at %s", plural(p.Totals.Sites, "site", "sites"))
	}
	if p.Totals.Evidence > 0 {
		head += fmt.Sprintf(", obtain evidence for %d", p.Totals.Evidence)
	}
	if p.Totals.Support > 0 {
		head += fmt.Sprintf(", relocate support for %d", p.Totals.Support)
	}
	out = append(out, head)
	for _, w := range p.Waves {
		when := "by " + w.Deadline.String()
		if w.Overdue {
			when = "now (overdue)"
		}
		var rs []string
		for _, r := range w.Rules {
			rs = append(rs, r.Rule)
		}
		if len(w.Items) == 0 {
			out = append(out, fmt.Sprintf("wave %d, %s: nothing more, earlier waves already meet %s", w.Number, when, strings.Join(rs, ", ")))
			continue
		}
		line := fmt.Sprintf("wave %d, %s: replace %s", w.Number, when, plural(w.Totals.Replace, "element", "elements"))
		if len(w.Totals.ByDomain) > 0 {
			line += " (" + countsText(w.Totals.ByDomain) + ")"
		}
		if w.Totals.Evidence > 0 {
			line += fmt.Sprintf(", obtain evidence for %d", w.Totals.Evidence)
		}
		if w.Totals.Support > 0 {
			line += fmt.Sprintf(", relocate support for %d", w.Totals.Support)
		}
		line += "; rules " + strings.Join(rs, ", ")
		out = append(out, line)
	}
	return out
}
