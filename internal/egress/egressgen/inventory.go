package egressgen

import (
	"cmp"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
)

// Element is an inventory element traffic is generated for.
type Element struct {
	ID, Vendor, Function, Domain, Site string
}

// Limits of ReadInventory.
const (
	MaxInventoryRows  = 1_000_000
	MaxInventoryBytes = 256 << 20
)

// ReadInventory reads the id, vendor, function, domain and site columns of
// an inventory CSV with a header line (the layout of
// examples/exposure/operator.csv); other columns are ignored.
func ReadInventory(name string, r io.Reader) ([]Element, error) {
	lr := &io.LimitedReader{R: r, N: MaxInventoryBytes + 1}
	cr := csv.NewReader(lr)
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	head, err := cr.Read()
	if err != nil {
		return nil, fmt.Errorf("%s: header: %w", name, err)
	}
	col := map[string]int{}
	for i, h := range head {
		col[strings.ToLower(strings.TrimSpace(h))] = i
	}
	for _, k := range []string{"id", "vendor", "function", "domain", "site"} {
		if _, ok := col[k]; !ok {
			return nil, fmt.Errorf("%s: header has no %q column", name, k)
		}
	}
	var out []Element
	for line := 2; ; line++ {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		if lr.N <= 0 {
			return nil, fmt.Errorf("%s: larger than %d bytes", name, MaxInventoryBytes)
		}
		get := func(k string) string {
			if i := col[k]; i < len(rec) {
				return strings.TrimSpace(rec[i])
			}
			return ""
		}
		e := Element{ID: get("id"), Vendor: get("vendor"), Function: get("function"), Domain: get("domain"), Site: get("site")}
		if e.ID == "" {
			return nil, fmt.Errorf("%s: line %d: empty id", name, line)
		}
		if len(out) >= MaxInventoryRows {
			return nil, fmt.Errorf("%s: more than %d elements", name, MaxInventoryRows)
		}
		out = append(out, e)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: no elements", name)
	}
	return out, nil
}

// Pick chooses n elements spread over functions, vendors and sites: each
// function gets a share proportional to the square root of its size (so
// that a few radio sites do not crowd out the core), and within a function
// vendor families not yet chosen come first. The result is sorted by ID.
func Pick(inv []Element, n int, seed uint64) []Element {
	groups := map[string][]Element{}
	for _, e := range inv {
		groups[e.Function] = append(groups[e.Function], e)
	}
	funcs := make([]string, 0, len(groups))
	for f := range groups {
		funcs = append(funcs, f)
	}
	slices.Sort(funcs)
	n = min(n, len(inv))
	var sum float64
	for _, f := range funcs {
		sum += math.Sqrt(float64(len(groups[f])))
	}
	type share struct {
		f     string
		quota int
		frac  float64
	}
	shares := make([]share, len(funcs))
	given := 0
	for i, f := range funcs {
		x := float64(n) * math.Sqrt(float64(len(groups[f]))) / sum
		q := min(int(x), len(groups[f]))
		shares[i] = share{f, q, x - float64(int(x))}
		given += q
	}
	order := make([]int, len(shares))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(shares[b].frac, shares[a].frac) })
	for given < n {
		progress := false
		for _, i := range order {
			if given >= n {
				break
			}
			if shares[i].quota < len(groups[shares[i].f]) {
				shares[i].quota++
				given++
				progress = true
			}
		}
		if !progress {
			break
		}
	}
	rng := rand.New(rand.NewPCG(seed, 0x5eed))
	var out []Element
	for _, s := range shares {
		g := slices.Clone(groups[s.f])
		slices.SortFunc(g, func(a, b Element) int { return cmp.Compare(a.ID, b.ID) })
		rng.Shuffle(len(g), func(i, j int) { g[i], g[j] = g[j], g[i] })
		taken := make([]bool, len(g))
		families := map[string]bool{}
		sites := map[string]bool{}
		k := 0
		for pass := 0; pass < 3 && k < s.quota; pass++ {
			for i, e := range g {
				if k >= s.quota {
					break
				}
				fam := Family(e.Vendor)
				if taken[i] || (pass == 0 && families[fam]) || (pass < 2 && sites[e.Site]) {
					continue
				}
				taken[i], families[fam], sites[e.Site] = true, true, true
				out = append(out, e)
				k++
			}
		}
	}
	slices.SortFunc(out, func(a, b Element) int { return cmp.Compare(a.ID, b.ID) })
	return out
}

// Family reduces the many spellings of a vendor in an inventory
// ("Ericsson AB", "Telefonaktiebolaget LM Ericsson") to one lower-case word.
func Family(vendor string) string {
	v := strings.ToLower(vendor)
	for _, f := range []struct{ key, fam string }{
		{"ericsson", "ericsson"}, {"huawei", "huawei"}, {"nokia", "nokia"}, {"alcatel", "nokia"},
		{"cisco", "cisco"}, {"zte", "zte"}, {"samsung", "samsung"}, {"juniper", "juniper"},
		{"dell", "dell"}, {"utimaco", "utimaco"},
	} {
		if strings.Contains(v, f.key) {
			return f.fam
		}
	}
	var b strings.Builder
	for _, r := range v {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
		}
	}
	if b.Len() == 0 {
		return "other"
	}
	return b.String()
}
