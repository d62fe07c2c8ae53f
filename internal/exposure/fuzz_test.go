package exposure

import (
	"fmt"
	"testing"

	"github.com/netvet/netvet/internal/inventory"
	"github.com/netvet/netvet/internal/policy"
)

// elementsFrom turns fuzz bytes into elements: 4 bytes an element.
func elementsFrom(b []byte) []inventory.Element {
	vendors := []string{"huawei", "nokia", "ericsson", "", "zte"}
	domains := []string{"core-5g", "ran", "access-fixed", "transport", "", "oss-management"}
	gens := []string{"5G-SA", "4G", "FTTP", ""}
	sens := []string{"", "national-security", "dense-urban"}
	var els []inventory.Element
	for i := 0; i+4 <= len(b) && len(els) < 400; i += 4 {
		e := inventory.Element{
			ID:              fmt.Sprintf("e%d", int(b[i])%50), // duplicate IDs on purpose
			Vendor:          vendors[int(b[i+1])%len(vendors)],
			Domain:          domains[int(b[i+1]>>3)%len(domains)],
			Generation:      gens[int(b[i+2])%len(gens)],
			Site:            fmt.Sprintf("S%d", int(b[i+2]>>2)%7),
			SiteSensitivity: sens[int(b[i+3])%len(sens)],
			TrafficShare:    float64(b[i+3]) / 1000,
			PremisesServed:  int64(b[i+3] >> 2),
		}
		if b[i+2]&0x80 != 0 {
			e.Site = ""
		}
		els = append(els, e)
	}
	return els
}

// FuzzPlan checks the plan's invariants on arbitrary inventories: no
// element listed twice for replacement, and after the plan no rule of the
// test pack is broken.
func FuzzPlan(f *testing.F) {
	f.Add([]byte{1, 0, 0, 1, 2, 8, 1, 0, 3, 16, 2, 2, 4, 0, 0, 0})
	f.Add([]byte("some arbitrary bytes to start from, long enough"))
	f.Fuzz(func(t *testing.T, b []byte) {
		eng, packs := testEngine()
		inv := &inventory.Inventory{Source: "fuzz", Elements: elementsFrom(b)}
		at := date("2024-01-01")
		a := assess(inv, eng, packs, at)
		for _, s := range a.Shares {
			sum := 0.0
			for _, v := range s.Vendors {
				if v.Share < 0 || v.Share > 1 {
					t.Fatalf("share out of range: %+v", s)
				}
				sum += v.Share
			}
			if s.Metric != policy.MetricSites && (sum < 0.999 || sum > 1.001) {
				t.Fatalf("shares add to %v: %+v", sum, s)
			}
		}
		p := makePlan(inv, eng, packs, at)
		replaced := map[int]bool{}
		ids := map[string]bool{}
		for _, w := range p.Waves {
			for _, it := range w.Items {
				if it.Action != ActionReplace {
					continue
				}
				if ids[it.Element] && !dupID(inv, it.Element) {
					t.Fatalf("%s replaced twice", it.Element)
				}
				ids[it.Element] = true
			}
		}
		for i := range inv.Elements {
			if ids[inv.Elements[i].ID] {
				replaced[i] = true
			}
		}
		// Replace as planned (every element under a planned ID) and check.
		after := &inventory.Inventory{Source: "after", Elements: append([]inventory.Element(nil), inv.Elements...)}
		for i := range after.Elements {
			if replaced[i] {
				after.Elements[i].Vendor = "ericsson"
			}
		}
		if a := assess(after, eng, packs, date("2100-01-01")); len(a.Violations) != 0 {
			t.Fatalf("violations left after the plan: %+v", a.Violations)
		}
		_ = diff(inv, after, eng, packs, at)
	})
}

func dupID(inv *inventory.Inventory, id string) bool {
	n := 0
	for i := range inv.Elements {
		if inv.Elements[i].ID == id {
			n++
		}
	}
	return n > 1
}
