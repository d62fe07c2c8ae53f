package report

import (
	"bytes"
	"strings"
	"testing"

	"github.com/netvet/netvet/internal/exposure"
	"github.com/netvet/netvet/internal/inventory"
)

func TestAssessTextEvaluatedVersions(t *testing.T) {
	a, _ := testAssessment(t, testCSV)
	var before bytes.Buffer
	if err := Assessment(&before, a, Text); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(before.String(), "EVALUATED VERSIONS") {
		t.Fatal("section shown without a ledger")
	}
	exposure.MarkEvaluated(a, "lab.db", []exposure.EvaluatedVersion{{Vendor: "huawei", Version: "1.0"}}, inventory.DefaultAliases().Normalise)
	var after bytes.Buffer
	if err := Assessment(&after, a, Text); err != nil {
		t.Fatal(err)
	}
	out := after.String()
	for _, want := range []string{"EVALUATED VERSIONS (ledger lab.db, 1 evaluated versions): 5 of 5 elements run a version no lab evaluated (5 without a software version)", "core-5g", "c1, c2"} {
		if !strings.Contains(out, want) {
			t.Errorf("text lacks %q:\n%s", want, out)
		}
	}
	if !strings.HasPrefix(out, before.String()[:200]) {
		t.Error("the rest of the report changed")
	}
	var js bytes.Buffer
	if err := Assessment(&js, a, JSON); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(js.String(), `"not_evaluated_elements": [`) {
		t.Errorf("JSON lacks the evaluation:\n%s", js.String())
	}
}
