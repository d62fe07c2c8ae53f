package exposure

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/netvet/netvet/internal/inventory"
)

func TestMarkEvaluated(t *testing.T) {
	inv := testInventory()
	versions := map[string][2]string{ // id -> model, version
		"c1": {"UNC", "V100R023"}, "c2": {"PCC", "1.4"}, "c3": {"USN", "V100R019"},
		"r1": {"BBU5900", "V100R017"}, "r2": {"AAU5613", "V100R017"}, "r4": {"AIR 6449", "23.Q2"},
		"f1": {"MA5800", "R019"}, "f2": {"MA5800", "R018"}, "f4": {"Lightspan", "22.12"},
	}
	for i := range inv.Elements {
		if v, ok := versions[inv.Elements[i].ID]; ok {
			inv.Elements[i].Model, inv.Elements[i].SoftwareVersion = v[0], v[1]
		}
	}
	eng, packs := testEngine()
	a := assess(inv, eng, packs, date("2024-01-01"))
	ledger := []EvaluatedVersion{
		{Vendor: "Huawei Technologies Co., Ltd.", Product: "unc", Version: "v100r023"}, // alias, case
		{Vendor: "ericsson", Product: "PCC", Version: " v1.4 "},                        // leading v, space
		{Vendor: "huawei", Product: "", Version: "V100R017"},                           // every product
		{Vendor: "huawei", Product: "MA5800", Version: "R019"},
		{Vendor: "nokia", Product: "Lightspan", Version: ""}, // no version: cannot cover anything
		{Vendor: "", Product: "MA5800", Version: "R018"},     // no vendor: cannot cover anything
	}
	MarkEvaluated(a, "lab.db", ledger, inventory.DefaultAliases().Normalise)
	ev := a.Evaluation
	if ev == nil || ev.Ledger != "lab.db" || ev.Elements != 15 || ev.Versions != 4 {
		t.Fatalf("evaluation %+v", ev)
	}
	want := map[string]string{
		"access-fixed": "f2,f3,f4",
		"core-5g":      "",
		"core-epc":     "c3",
		"ran":          "r3,r4,r5,r6,r7",
		"transport":    "n1",
	}
	noVersion := map[string]int{"access-fixed": 1, "ran": 4, "transport": 1}
	total := 0
	for _, d := range ev.Domains {
		got := strings.Join(d.NotEvaluatedElements, ",")
		if got != want[d.Domain] {
			t.Errorf("%s: not evaluated %q, want %q", d.Domain, got, want[d.Domain])
		}
		if d.NotEvaluated != len(d.NotEvaluatedElements) || d.NoVersion != noVersion[d.Domain] {
			t.Errorf("%s: counts %+v", d.Domain, d)
		}
		total += d.NotEvaluated
	}
	if len(ev.Domains) != len(want) || ev.NotEvaluated != total || ev.NotEvaluated != 10 || ev.NoVersion != 6 {
		t.Errorf("totals %+v", ev)
	}
	for i := 1; i < len(ev.Domains); i++ {
		if ev.Domains[i-1].Domain >= ev.Domains[i].Domain {
			t.Error("domains not sorted")
		}
	}
	b, _ := json.Marshal(a)
	if !strings.Contains(string(b), `"evaluation":{"ledger":"lab.db"`) {
		t.Errorf("JSON lacks the evaluation: %.300s", b)
	}
}

func TestNoLedgerNoEvaluationField(t *testing.T) {
	eng, packs := testEngine()
	a := assess(testInventory(), eng, packs, date("2024-01-01"))
	b, _ := json.Marshal(a)
	if strings.Contains(string(b), `"evaluation"`) {
		t.Error("evaluation field present without a ledger")
	}
}
