package exposure

import (
	"slices"
	"strings"

	"github.com/netvet/netvet/internal/inventory"
	"github.com/netvet/netvet/internal/policy"
)

// fakeEngine evaluates rules whose scopes are Go functions, so that the
// computations can be tested apart from the CEL engine.
type fakeEngine struct {
	packs []*policy.Pack
	scope map[string]func(*inventory.Element) bool // by rule ID; nil = everything
}

func (f *fakeEngine) InScope(r *policy.Rule, el *inventory.Element) bool {
	s := f.scope[r.ID]
	return s == nil || s(el)
}

func (f *fakeEngine) Designated(r *policy.Rule, el *inventory.Element) bool {
	return slices.Contains(r.Vendors, el.Vendor)
}

func (f *fakeEngine) Evaluate(inv *inventory.Inventory, at inventory.Date) *policy.Result {
	res := &policy.Result{At: at}
	for _, p := range f.packs {
		res.Packs = append(res.Packs, p.ID)
		for _, r := range p.Rules {
			v := policy.Violation{Pack: p.ID, RuleID: r.ID, Kind: r.Kind, Title: r.Title, Source: r.Source, Status: r.Status,
				Deadline: r.Deadline, Due: r.Deadline.IsZero() || !r.Deadline.After(at.Time)}
			if !r.Deadline.IsZero() {
				v.DaysLeft = int(r.Deadline.Sub(at.Time).Hours() / 24)
			}
			var T, D float64
			tsites, dsites := map[string]bool{}, map[string]bool{}
			for i := range inv.Elements {
				el := &inv.Elements[i]
				if !f.InScope(r, el) {
					continue
				}
				des := f.Designated(r, el)
				switch r.Kind {
				case policy.KindForbid, policy.KindRemoveBy:
					if des {
						v.Elements = append(v.Elements, el.ID)
					}
				case policy.KindNoNewInstall:
					if des && el.InstallDate.After(r.Deadline.Time) {
						v.Elements = append(v.Elements, el.ID)
					}
				case policy.KindRequireEvidence:
					if len(el.Evidence) == 0 {
						v.Elements = append(v.Elements, el.ID)
					}
				case policy.KindShareCap:
					x := metricOf(el, r.Metric)
					if r.Metric == policy.MetricSites {
						tsites[el.Site] = true
						if des {
							dsites[el.Site] = true
						}
					}
					T += x
					if des {
						D += x
						v.Elements = append(v.Elements, el.ID)
					}
				}
			}
			if r.Kind == policy.KindShareCap {
				if r.Metric == policy.MetricSites {
					T, D = float64(len(tsites)), float64(len(dsites))
				}
				if T == 0 || D/T <= r.Cap {
					continue
				}
				v.Metric, v.Cap, v.Share = r.Metric, r.Cap, D/T
			}
			if len(v.Elements) == 0 {
				continue
			}
			slices.Sort(v.Elements)
			v.Message = r.Title
			res.Violations = append(res.Violations, v)
		}
	}
	slices.SortStableFunc(res.Violations, func(a, b policy.Violation) int {
		if c := a.Deadline.Compare(b.Deadline.Time); c != 0 {
			return c
		}
		if c := strings.Compare(a.Pack, b.Pack); c != 0 {
			return c
		}
		return strings.Compare(a.RuleID, b.RuleID)
	})
	return res
}

func date(s string) inventory.Date {
	d, err := inventory.ParseDate(s)
	if err != nil {
		panic(err)
	}
	return d
}

func el(id, vendor, domain, function, gen, site string) inventory.Element {
	return inventory.Element{ID: id, Vendor: vendor, Domain: domain, Function: function, Generation: gen, Site: site}
}

// testPack is a small UK-like pack.
func testPack() (*policy.Pack, map[string]func(*inventory.Element) bool) {
	hw := []string{"huawei"}
	p := &policy.Pack{ID: "uk", Name: "United Kingdom", Jurisdiction: "UK", Version: "1", Rules: []*policy.Rule{
		{ID: "uk-core-remove", Title: "Remove Huawei from the core", Kind: policy.KindRemoveBy, Vendors: hw, Deadline: date("2023-12-31"), Source: "DVD", Status: policy.StatusVerified},
		{ID: "uk-5g-remove", Title: "Remove Huawei from 5G", Kind: policy.KindRemoveBy, Vendors: hw, Deadline: date("2027-12-31"), Source: "DVD", Status: policy.StatusVerified},
		{ID: "uk-ns-sites", Title: "No Huawei at national-security sites", Kind: policy.KindRemoveBy, Vendors: hw, Deadline: date("2023-01-28"), Source: "DVD", Status: policy.StatusVerified},
		{ID: "uk-fttp-cap", Title: "Huawei at most 35% of full fibre", Kind: policy.KindShareCap, Vendors: hw, Metric: policy.MetricPremises, Cap: 0.35, Deadline: date("2023-10-31"), Source: "DVD", Status: policy.StatusVerified},
		{ID: "uk-ran-cap", Title: "Huawei at most 35% of 5G access sites", Kind: policy.KindShareCap, Vendors: hw, Metric: policy.MetricSites, Cap: 0.35, Deadline: date("2024-07-31"), Source: "draft DVD", Status: policy.StatusPartial},
	}}
	scope := map[string]func(*inventory.Element) bool{
		"uk-core-remove": func(e *inventory.Element) bool { return strings.HasPrefix(e.Domain, "core-") },
		"uk-5g-remove":   func(e *inventory.Element) bool { return strings.HasPrefix(e.Generation, "5G") },
		"uk-ns-sites":    func(e *inventory.Element) bool { return e.SiteSensitivity == "national-security" },
		"uk-fttp-cap":    func(e *inventory.Element) bool { return e.Domain == "access-fixed" },
		"uk-ran-cap":     func(e *inventory.Element) bool { return e.Domain == "ran" && strings.HasPrefix(e.Generation, "5G") },
	}
	return p, scope
}
