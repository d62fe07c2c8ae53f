package exposure

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/netvet/netvet/internal/inventory"
	"github.com/netvet/netvet/internal/policy"
)

// Change is the progress between two inventory snapshots: elements of
// designated vendors removed and added, vendor shares per domain then and
// now, violations closed and opened.
type Change struct {
	At    inventory.Date `json:"at"`
	Packs []string       `json:"packs"`
	Old   Snapshot       `json:"old"`
	New   Snapshot       `json:"new"`
	// Changes are the elements of designated vendors removed or added, by
	// element ID (an element whose vendor changed to a designated one, or
	// away from one, counts as added or removed).
	Changes    []ElementChange   `json:"changes"`
	Shares     []ShareChange     `json:"shares"`
	Violations []ViolationChange `json:"violations"`
	Summary    []string          `json:"summary"`
}

// Snapshot describes one of the two inventories.
type Snapshot struct {
	Source     string `json:"source"`
	Elements   int    `json:"elements"`
	Designated int    `json:"designated_elements"`
	Violations int    `json:"violations_due"` // due violations at the date
}

// Element change kinds.
const (
	ChangeRemoved = "removed"
	ChangeAdded   = "added"
)

// ElementChange is one element of a designated vendor that left or came.
type ElementChange struct {
	Change   string `json:"change"` // removed, added
	ID       string `json:"id"`
	Vendor   string `json:"vendor"`
	Domain   string `json:"domain"`
	Function string `json:"function,omitempty"`
	Site     string `json:"site,omitempty"`
	// Now is the vendor the element has in the new snapshot when it was
	// kept under the same ID (a replacement in place).
	ReplacedBy string `json:"replaced_by,omitempty"`
}

// ShareChange is one vendor's share of a domain, then and now.
type ShareChange struct {
	Domain string        `json:"domain"`
	Metric policy.Metric `json:"metric"`
	Vendor string        `json:"vendor"`
	Then   float64       `json:"then"`
	Now    float64       `json:"now"`
	Delta  float64       `json:"delta"`
	// ThenValue and NowValue are the counts (or sums) behind the shares.
	ThenValue  float64 `json:"then_value"`
	NowValue   float64 `json:"now_value"`
	Designated bool    `json:"designated,omitempty"`
}

// Violation change states.
const (
	ViolationClosed  = "closed"  // broken then, met now
	ViolationOpened  = "opened"  // met then, broken now
	ViolationChanged = "changed" // broken both times, by other elements or another share
)

// ViolationChange is one rule whose violation closed, opened or changed.
type ViolationChange struct {
	Status   string         `json:"status"`
	Pack     string         `json:"pack"`
	Rule     string         `json:"rule"`
	Title    string         `json:"title"`
	Kind     policy.Kind    `json:"kind"`
	Deadline inventory.Date `json:"deadline,omitzero"`
	Due      bool           `json:"due"`
	Then     int            `json:"elements_then"`
	Now      int            `json:"elements_now"`
	// Closed and Opened are the element IDs that stopped or started breaking the rule.
	Closed    []string      `json:"closed"`
	Opened    []string      `json:"opened"`
	Metric    policy.Metric `json:"metric,omitempty"`
	ShareThen float64       `json:"share_then,omitempty"`
	ShareNow  float64       `json:"share_now,omitempty"`
}

func diff(oldInv, newInv *inventory.Inventory, eng engine, packs []*policy.Pack, at inventory.Date) *Change {
	c := &Change{At: at, Changes: []ElementChange{}, Shares: []ShareChange{}, Violations: []ViolationChange{}}
	for _, p := range packs {
		c.Packs = append(c.Packs, p.ID)
	}
	var rules []*policy.Rule
	for _, p := range packs {
		rules = append(rules, p.Rules...)
	}
	designated := func(el *inventory.Element) bool {
		for _, r := range rules {
			if designates(r) && eng.Designated(r, el) {
				return true
			}
		}
		return false
	}
	index := func(inv *inventory.Inventory) (map[string]int, []bool, int) {
		m := make(map[string]int, len(inv.Elements))
		des := make([]bool, len(inv.Elements))
		n := 0
		for i := range inv.Elements {
			el := &inv.Elements[i]
			if _, dup := m[el.ID]; !dup {
				m[el.ID] = i
			}
			des[i] = designated(el)
			if des[i] {
				n++
			}
		}
		return m, des, n
	}
	oldIdx, oldDes, oldN := index(oldInv)
	newIdx, newDes, newN := index(newInv)
	for i := range oldInv.Elements {
		el := &oldInv.Elements[i]
		if !oldDes[i] || oldIdx[el.ID] != i {
			continue
		}
		j, ok := newIdx[el.ID]
		if ok && newDes[j] {
			continue
		}
		ch := ElementChange{Change: ChangeRemoved, ID: el.ID, Vendor: vendorName(el.Vendor), Domain: nameOr(el.Domain), Function: el.Function, Site: el.Site}
		if ok {
			ch.ReplacedBy = vendorName(newInv.Elements[j].Vendor)
		}
		c.Changes = append(c.Changes, ch)
	}
	for j := range newInv.Elements {
		el := &newInv.Elements[j]
		if !newDes[j] || newIdx[el.ID] != j {
			continue
		}
		if i, ok := oldIdx[el.ID]; ok && oldDes[i] {
			continue
		}
		c.Changes = append(c.Changes, ElementChange{Change: ChangeAdded, ID: el.ID, Vendor: vendorName(el.Vendor), Domain: nameOr(el.Domain), Function: el.Function, Site: el.Site})
	}
	slices.SortFunc(c.Changes, func(a, b ElementChange) int {
		if x := strings.Compare(b.Change, a.Change); x != 0 { // removed first
			return x
		}
		return strings.Compare(a.ID, b.ID)
	})

	// Shares per domain, then and now.
	oldA := assess(oldInv, eng, packs, at)
	newA := assess(newInv, eng, packs, at)
	c.Old = Snapshot{Source: oldInv.Source, Elements: len(oldInv.Elements), Designated: oldN, Violations: oldA.Due()}
	c.New = Snapshot{Source: newInv.Source, Elements: len(newInv.Elements), Designated: newN, Violations: newA.Due()}
	desV := map[string]bool{}
	for _, v := range append(slices.Clone(oldA.Designated), newA.Designated...) {
		desV[v] = true
	}
	type sk struct {
		domain string
		metric policy.Metric
		vendor string
	}
	sc := map[sk]*ShareChange{}
	collect := func(a *Assessment, then bool) {
		for _, s := range a.Shares {
			if s.Dimension != ByDomain || (s.Metric != policy.MetricElements && s.Metric != policy.MetricTraffic) {
				continue
			}
			for _, v := range s.Vendors {
				k := sk{s.Group, s.Metric, v.Vendor}
				x := sc[k]
				if x == nil {
					x = &ShareChange{Domain: s.Group, Metric: s.Metric, Vendor: v.Vendor, Designated: desV[v.Vendor]}
					sc[k] = x
				}
				if then {
					x.Then, x.ThenValue = v.Share, v.Value
				} else {
					x.Now, x.NowValue = v.Share, v.Value
				}
			}
		}
	}
	collect(oldA, true)
	collect(newA, false)
	for _, x := range sc {
		x.Delta = round(x.Now - x.Then)
		c.Shares = append(c.Shares, *x)
	}
	slices.SortFunc(c.Shares, func(a, b ShareChange) int {
		if x := strings.Compare(a.Domain, b.Domain); x != 0 {
			return x
		}
		if x := cmp.Compare(MetricOrder(a.Metric), MetricOrder(b.Metric)); x != 0 {
			return x
		}
		if x := cmp.Compare(b.Now, a.Now); x != 0 {
			return x
		}
		return strings.Compare(a.Vendor, b.Vendor)
	})

	// Violations closed and opened, by rule.
	type vk struct{ pack, rule string }
	ov := map[vk]*policy.Violation{}
	nv := map[vk]*policy.Violation{}
	var keys []vk
	for i := range oldA.Violations {
		v := &oldA.Violations[i]
		k := vk{v.Pack, v.RuleID}
		ov[k] = v
		keys = append(keys, k)
	}
	for i := range newA.Violations {
		v := &newA.Violations[i]
		k := vk{v.Pack, v.RuleID}
		nv[k] = v
		if ov[k] == nil {
			keys = append(keys, k)
		}
	}
	for _, k := range keys {
		o, n := ov[k], nv[k]
		ref := n
		if ref == nil {
			ref = o
		}
		vc := ViolationChange{Pack: k.pack, Rule: k.rule, Title: ref.Title, Kind: ref.Kind, Deadline: ref.Deadline, Due: ref.Due, Metric: ref.Metric, Closed: []string{}, Opened: []string{}}
		var oe, ne []string
		if o != nil {
			oe = o.Elements
			vc.ShareThen = o.Share
		}
		if n != nil {
			ne = n.Elements
			vc.ShareNow = n.Share
		}
		vc.Then, vc.Now = len(oe), len(ne)
		vc.Closed, vc.Opened = setDiff(oe, ne), setDiff(ne, oe)
		switch {
		case n == nil:
			vc.Status = ViolationClosed
		case o == nil:
			vc.Status = ViolationOpened
		case len(vc.Closed) == 0 && len(vc.Opened) == 0 && vc.ShareThen == vc.ShareNow:
			continue
		default:
			vc.Status = ViolationChanged
		}
		c.Violations = append(c.Violations, vc)
	}
	slices.SortFunc(c.Violations, func(a, b ViolationChange) int {
		if x := a.Deadline.Compare(b.Deadline.Time); x != 0 {
			return x
		}
		if x := strings.Compare(a.Pack, b.Pack); x != 0 {
			return x
		}
		return strings.Compare(a.Rule, b.Rule)
	})
	c.Summary = diffSummary(c)
	return c
}

// setDiff returns the strings of a not in b, sorted.
func setDiff(a, b []string) []string {
	in := make(map[string]bool, len(b))
	for _, s := range b {
		in[s] = true
	}
	out := []string{}
	for _, s := range a {
		if !in[s] {
			out = append(out, s)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func diffSummary(c *Change) []string {
	rem, add := 0, 0
	for _, ch := range c.Changes {
		if ch.Change == ChangeRemoved {
			rem++
		} else {
			add++
		}
	}
	closed, opened := 0, 0
	for _, v := range c.Violations {
		switch v.Status {
		case ViolationClosed:
			closed++
		case ViolationOpened:
			opened++
		}
	}
	out := []string{
		fmt.Sprintf("%s -> %s: %s of designated vendors removed, %d added (%d -> %d designated elements)",
			c.Old.Source, c.New.Source, plural(rem, "element", "elements"), add, c.Old.Designated, c.New.Designated),
		fmt.Sprintf("on %s: %s closed, %d opened; due violations %d -> %d",
			c.At, plural(closed, "violation", "violations"), opened, c.Old.Violations, c.New.Violations),
	}
	for _, v := range c.Violations {
		out = append(out, fmt.Sprintf("%s %s (%s: %s): %d -> %d elements", v.Rule, v.Status, strings.ToUpper(v.Pack), v.Title, v.Then, v.Now))
	}
	return out
}
