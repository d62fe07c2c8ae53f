package exposure

import (
	"slices"
	"strings"
)

// EvaluatedVersion is a vendor's product and software version that an
// evaluation lab evaluated (from the evaluated-versions ledger). An empty
// Product stands for every product of the vendor.
type EvaluatedVersion struct {
	Vendor, Product, Version string
}

// Evaluation says which elements run software versions no lab evaluated.
type Evaluation struct {
	// Ledger names where the evaluated versions came from.
	Ledger string `json:"ledger"`
	// Versions counts the evaluated (vendor, product, version) known.
	Versions     int `json:"evaluated_versions"`
	Elements     int `json:"elements"`
	NotEvaluated int `json:"not_evaluated"`
	// NoVersion counts the elements without a software version, which
	// are among the not evaluated: nobody can say they were.
	NoVersion int                `json:"no_version"`
	Domains   []DomainEvaluation `json:"domains"`
}

// DomainEvaluation is the count for one domain.
type DomainEvaluation struct {
	Domain       string `json:"domain"`
	Elements     int    `json:"elements"`
	NotEvaluated int    `json:"not_evaluated"`
	NoVersion    int    `json:"no_version"`
	// NotEvaluatedElements lists the IDs of those elements, sorted.
	NotEvaluatedElements []string `json:"not_evaluated_elements"`
}

// MarkEvaluated records in a which elements run a (vendor, model,
// software version) that none of versions covers. normalise maps a vendor
// name to the inventory's vendor IDs (the alias table); versions match
// without regard to case, surrounding space or a leading "v".
func MarkEvaluated(a *Assessment, ledger string, versions []EvaluatedVersion, normalise func(string) string) {
	type key struct{ vendor, product, version string }
	known := make(map[key]bool, len(versions))
	for _, v := range versions {
		vendor := normalise(v.Vendor)
		ver := normVersion(v.Version)
		if vendor == "" || ver == "" {
			continue
		}
		known[key{vendor, normProduct(v.Product), ver}] = true
	}
	ev := &Evaluation{Ledger: ledger, Versions: len(known), Domains: []DomainEvaluation{}}
	byDomain := map[string]*DomainEvaluation{}
	if a.inv != nil {
		for i := range a.inv.Elements {
			el := &a.inv.Elements[i]
			dom := nameOr(el.Domain)
			d := byDomain[dom]
			if d == nil {
				d = &DomainEvaluation{Domain: dom, NotEvaluatedElements: []string{}}
				byDomain[dom] = d
			}
			d.Elements++
			ev.Elements++
			ver := normVersion(el.SoftwareVersion)
			if ver != "" && (known[key{el.Vendor, normProduct(el.Model), ver}] || known[key{el.Vendor, "", ver}]) {
				continue
			}
			d.NotEvaluated++
			ev.NotEvaluated++
			if ver == "" {
				d.NoVersion++
				ev.NoVersion++
			}
			d.NotEvaluatedElements = append(d.NotEvaluatedElements, el.ID)
		}
	}
	for _, d := range byDomain {
		slices.Sort(d.NotEvaluatedElements)
		ev.Domains = append(ev.Domains, *d)
	}
	slices.SortFunc(ev.Domains, func(x, y DomainEvaluation) int { return strings.Compare(x.Domain, y.Domain) })
	a.Evaluation = ev
}

func normVersion(s string) string {
	s = strings.ToLower(strings.TrimSpace(s))
	if len(s) > 1 && s[0] == 'v' && s[1] >= '0' && s[1] <= '9' {
		s = s[1:]
	}
	return s
}

func normProduct(s string) string { return strings.ToLower(strings.Join(strings.Fields(s), " ")) }
