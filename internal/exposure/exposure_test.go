package exposure

import (
	"encoding/json"
	"math/bits"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/netvet/netvet/internal/inventory"
	"github.com/netvet/netvet/internal/policy"
)

func testInventory() *inventory.Inventory {
	els := []inventory.Element{
		el("c1", "huawei", "core-5g", "amf", "5G-SA", "S1"),
		el("c2", "ericsson", "core-5g", "smf", "5G-SA", "S1"),
		el("c3", "huawei", "core-epc", "mme", "4G", "S2"),
		el("r1", "huawei", "ran", "gnb", "5G-SA", "A"),
		el("r2", "huawei", "ran", "ru", "5G-SA", "A"),
		el("r3", "huawei", "ran", "gnb", "5G-SA", "B"),
		el("r4", "ericsson", "ran", "gnb", "5G-SA", "C"),
		el("r5", "huawei", "ran", "gnb", "5G-NSA", "D"),
		el("r6", "nokia", "ran", "gnb", "5G-NSA", "D"),
		el("r7", "huawei", "ran", "enb", "4G", "E"),
		el("f1", "huawei", "access-fixed", "olt", "FTTP", "X1"),
		el("f2", "huawei", "access-fixed", "olt", "FTTP", "X2"),
		el("f3", "huawei", "access-fixed", "olt", "FTTP", "X3"),
		el("f4", "nokia", "access-fixed", "olt", "FTTP", "X4"),
		el("n1", "huawei", "transport", "pe", "", "NS1"),
	}
	prem := map[string]int64{"f1": 500, "f2": 300, "f3": 100, "f4": 400}
	for i := range els {
		els[i].PremisesServed = prem[els[i].ID]
		if els[i].Domain == "ran" {
			els[i].TrafficShare = 0.1
		}
	}
	els[14].SiteSensitivity = "national-security"
	return &inventory.Inventory{Source: "test.csv", Elements: els}
}

func testEngine() (*fakeEngine, []*policy.Pack) {
	p, scope := testPack()
	packs := []*policy.Pack{p}
	return &fakeEngine{packs: packs, scope: scope}, packs
}

func findShare(t *testing.T, a *Assessment, dim, group string, m policy.Metric) Share {
	t.Helper()
	for _, s := range a.Shares {
		if s.Dimension == dim && s.Group == group && s.Metric == m {
			return s
		}
	}
	t.Fatalf("no share %s/%s/%s", dim, group, m)
	return Share{}
}

func vshare(s Share, vendor string) float64 {
	for _, v := range s.Vendors {
		if v.Vendor == vendor {
			return v.Share
		}
	}
	return 0
}

func TestShares(t *testing.T) {
	eng, packs := testEngine()
	a := assess(testInventory(), eng, packs, date("2024-01-01"))
	tests := []struct {
		dim, group string
		metric     policy.Metric
		vendor     string
		total      float64
		share      float64
	}{
		{ByDomain, "ran", policy.MetricElements, "huawei", 7, 5.0 / 7},
		{ByDomain, "ran", policy.MetricSites, "huawei", 5, 0.8},
		{ByDomain, "ran", policy.MetricSites, "nokia", 5, 0.2},
		{ByDomain, "ran", policy.MetricTraffic, "ericsson", 0.7, 1.0 / 7},
		{ByDomain, "access-fixed", policy.MetricPremises, "huawei", 1300, 900.0 / 1300},
		{ByFunction, "gnb", policy.MetricElements, "huawei", 5, 0.6},
		{BySite, "D", policy.MetricElements, "nokia", 2, 0.5},
	}
	for _, tc := range tests {
		t.Run(tc.dim+"/"+tc.group+"/"+string(tc.metric)+"/"+tc.vendor, func(t *testing.T) {
			s := findShare(t, a, tc.dim, tc.group, tc.metric)
			if s.Total != round(tc.total) {
				t.Errorf("total = %v, want %v", s.Total, tc.total)
			}
			if got := vshare(s, tc.vendor); got != round(tc.share) {
				t.Errorf("share = %v, want %v", got, round(tc.share))
			}
		})
	}
	if !slices.Equal(a.Designated, []string{"huawei"}) {
		t.Errorf("designated = %v", a.Designated)
	}
	// no sites metric per site; no premises where there are none
	for _, s := range a.Shares {
		if s.Dimension == BySite && s.Metric == policy.MetricSites {
			t.Errorf("sites metric per site: %+v", s)
		}
		if s.Group == "ran" && s.Metric == policy.MetricPremises {
			t.Errorf("premises share without premises: %+v", s)
		}
	}
}

func TestHHI(t *testing.T) {
	tests := []struct {
		shares  []float64
		want    float64
		reading string
	}{
		{[]float64{1}, 10000, "highly concentrated"},
		{[]float64{0.5, 0.5}, 5000, "highly concentrated"},
		{[]float64{0.25, 0.25, 0.25, 0.25}, 2500, "moderately concentrated"},
		{[]float64{0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1}, 1000, "unconcentrated"},
		{nil, 0, "unconcentrated"},
	}
	for _, tc := range tests {
		got := HHIOf(tc.shares)
		if got != tc.want || Reading(got) != tc.reading {
			t.Errorf("HHIOf(%v) = %v %q, want %v %q", tc.shares, got, Reading(got), tc.want, tc.reading)
		}
	}
	eng, packs := testEngine()
	a := assess(testInventory(), eng, packs, date("2024-01-01"))
	for _, c := range a.Concentration {
		if c.Domain == "core-5g" && c.Metric == policy.MetricElements && c.HHI != 5000 {
			t.Errorf("core-5g HHI = %v, want 5000", c.HHI)
		}
	}
}

func TestAssessViolations(t *testing.T) {
	eng, packs := testEngine()
	a := assess(testInventory(), eng, packs, date("2024-01-01"))
	if got := a.Due(); got != 3 {
		t.Errorf("due = %d, want 3 (core, national security, fttp cap)", got)
	}
	states := map[string]string{}
	for _, r := range a.Rules {
		states[r.Rule] = r.State
	}
	want := map[string]string{"uk-core-remove": StateViolated, "uk-ns-sites": StateViolated, "uk-fttp-cap": StateViolated, "uk-ran-cap": StateUpcoming, "uk-5g-remove": StateUpcoming}
	for k, v := range want {
		if states[k] != v {
			t.Errorf("%s: state %q, want %q", k, states[k], v)
		}
	}
	found := false
	for _, s := range a.Summary {
		if s == "on 2024-01-01, 2 elements violate uk-core-remove (UK: Remove Huawei from the core)" {
			found = true
		}
	}
	if !found {
		t.Errorf("summary lacks the core line: %q", a.Summary)
	}
	// Later: the 5G removal is due.
	a = assess(testInventory(), eng, packs, date("2027-12-31"))
	if a.Due() != 5 {
		t.Errorf("due on 2027-12-31 = %d, want 5", a.Due())
	}
}

func itemsOf(w Wave) []string {
	var ids []string
	for _, it := range w.Items {
		ids = append(ids, it.Element)
	}
	return ids
}

func TestPlan(t *testing.T) {
	eng, packs := testEngine()
	p := makePlan(testInventory(), eng, packs, date("2024-01-01"))
	if len(p.Waves) != 3 {
		t.Fatalf("waves = %d, want 3: %+v", len(p.Waves), p.Summary)
	}
	want := []struct {
		deadline string
		overdue  bool
		items    []string
	}{
		// core and sensitive first, then transport... f1 alone brings fibre under 35% by premises
		{"2024-01-01", true, []string{"n1", "c1", "c3", "f1"}},
		// two 5G radio sites with one Huawei element each, not site A with two
		{"2024-07-31", false, []string{"r3", "r5"}},
		{"2027-12-31", false, []string{"r1", "r2"}},
	}
	seen := map[string]bool{}
	for i, w := range want {
		got := p.Waves[i]
		if got.Deadline.String() != w.deadline || got.Overdue != w.overdue {
			t.Errorf("wave %d: deadline %s overdue %v, want %s %v", i+1, got.Deadline, got.Overdue, w.deadline, w.overdue)
		}
		if ids := itemsOf(got); !slices.Equal(ids, w.items) {
			t.Errorf("wave %d items = %v, want %v", i+1, ids, w.items)
		}
		for _, it := range got.Items {
			if seen[it.Element] {
				t.Errorf("element %s listed twice", it.Element)
			}
			seen[it.Element] = true
		}
	}
	if p.Totals.Replace != 8 {
		t.Errorf("total replace = %d, want 8", p.Totals.Replace)
	}
	// After the plan, nothing is left to violate at the last deadline.
	inv := testInventory()
	for i := range inv.Elements {
		if seen[inv.Elements[i].ID] {
			inv.Elements[i].Vendor = "ericsson"
		}
	}
	if a := assess(inv, eng, packs, date("2030-01-01")); len(a.Violations) != 0 {
		t.Errorf("violations after the plan: %+v", a.Violations)
	}
}

// TestCapSelectionMinimal checks the greedy cap selection against brute force.
func TestCapSelectionMinimal(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for trial := range 300 {
		n := 1 + rng.IntN(11)
		els := make([]inventory.Element, n)
		for i := range els {
			v := "nokia"
			if rng.IntN(3) > 0 {
				v = "huawei"
			}
			els[i] = inventory.Element{ID: string(rune('a' + i)), Vendor: v, Domain: "ran", TrafficShare: float64(1+rng.IntN(9)) / 100,
				Site: string(rune('A' + rng.IntN(4)))}
		}
		for _, m := range []policy.Metric{policy.MetricTraffic, policy.MetricElements, policy.MetricSites} {
			r := &policy.Rule{ID: "cap", Kind: policy.KindShareCap, Vendors: []string{"huawei"}, Metric: m, Cap: float64(rng.IntN(60)) / 100}
			eng := &fakeEngine{}
			sel, _, after := capSelection(els, eng, r, make([]bool, n), nil)
			if after > r.Cap+capEpsilon {
				t.Fatalf("trial %d %s: share after %v over cap %v", trial, m, after, r.Cap)
			}
			best := bruteMin(els, eng, r)
			if len(sel) != best {
				t.Fatalf("trial %d %s: greedy picked %d elements, minimum is %d (%+v, cap %v)", trial, m, len(sel), best, els, r.Cap)
			}
		}
	}
}

func bruteMin(els []inventory.Element, eng engine, r *policy.Rule) int {
	n := len(els)
	best := n + 1
	for mask := 0; mask < 1<<n; mask++ {
		k := bits.OnesCount(uint(mask))
		if k >= best {
			continue
		}
		rep := make([]bool, n)
		for i := range n {
			rep[i] = mask&(1<<i) != 0
			if rep[i] && !eng.Designated(r, &els[i]) {
				k = n + 1
			}
		}
		if k > n {
			continue
		}
		if _, before, _ := capSelection(els, eng, r, rep, nil); before <= r.Cap+capEpsilon {
			best = k
		}
	}
	return best
}

func TestDiff(t *testing.T) {
	eng, packs := testEngine()
	oldInv := testInventory()
	newInv := testInventory()
	newInv.Source = "new.csv"
	newInv.Elements[0].Vendor = "ericsson" // c1 replaced in place
	newInv.Elements = slices.Delete(newInv.Elements, 2, 3)
	newInv.Elements = append(newInv.Elements, el("x1", "huawei", "ran", "gnb", "5G-SA", "F"))
	c := diff(oldInv, newInv, eng, packs, date("2024-01-01"))
	var got []string
	for _, ch := range c.Changes {
		got = append(got, ch.Change+":"+ch.ID+":"+ch.ReplacedBy)
	}
	if want := []string{"removed:c1:ericsson", "removed:c3:", "added:x1:"}; !slices.Equal(got, want) {
		t.Errorf("changes = %v, want %v", got, want)
	}
	status := map[string]ViolationChange{}
	for _, v := range c.Violations {
		status[v.Rule] = v
	}
	if v := status["uk-core-remove"]; v.Status != ViolationClosed || !slices.Equal(v.Closed, []string{"c1", "c3"}) {
		t.Errorf("core: %+v", v)
	}
	if v := status["uk-5g-remove"]; v.Status != ViolationChanged || !slices.Equal(v.Closed, []string{"c1"}) || !slices.Equal(v.Opened, []string{"x1"}) {
		t.Errorf("5g: %+v", v)
	}
	if _, ok := status["uk-ns-sites"]; ok {
		t.Errorf("unchanged violation reported")
	}
}

func TestDeterministicJSON(t *testing.T) {
	eng, packs := testEngine()
	var prev []byte
	for range 5 {
		a := assess(testInventory(), eng, packs, date("2024-01-01"))
		p := makePlan(testInventory(), eng, packs, date("2024-01-01"))
		b, err := json.Marshal([]any{a, p})
		if err != nil {
			t.Fatal(err)
		}
		if prev != nil && string(b) != string(prev) {
			t.Fatal("output differs between runs")
		}
		prev = b
	}
}

func TestEmpty(t *testing.T) {
	eng, packs := testEngine()
	inv := &inventory.Inventory{Source: "empty.csv"}
	a := assess(inv, eng, packs, date("2024-01-01"))
	if a.Elements != 0 || len(a.Violations) != 0 {
		t.Errorf("empty: %+v", a)
	}
	p := makePlan(inv, eng, packs, date("2024-01-01"))
	if len(p.Waves) != 0 {
		t.Errorf("empty plan: %+v", p)
	}
}

// TestSharesOrderIndependent checks that the order of the elements does
// not change the shares.
func TestSharesOrderIndependent(t *testing.T) {
	eng, packs := testEngine()
	inv := testInventory()
	want, _ := json.Marshal(assess(inv, eng, packs, date("2024-01-01")).Shares)
	rng := rand.New(rand.NewPCG(3, 4))
	for range 20 {
		rng.Shuffle(len(inv.Elements), func(i, j int) { inv.Elements[i], inv.Elements[j] = inv.Elements[j], inv.Elements[i] })
		got, _ := json.Marshal(assess(inv, eng, packs, date("2024-01-01")).Shares)
		if string(got) != string(want) {
			t.Fatalf("shares depend on element order:\n%s\n%s", got, want)
		}
	}
}
