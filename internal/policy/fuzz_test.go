package policy

import (
	"io/fs"
	"strings"
	"testing"

	"github.com/netvet/netvet/internal/inventory"
	"github.com/netvet/netvet/policies"
)

// FuzzLoadPack feeds arbitrary bytes to the pack parser: it must return a
// pack or lint errors, never panic, and every error must be positioned.
func FuzzLoadPack(f *testing.F) {
	for _, id := range Builtin() {
		b, _ := fs.ReadFile(policies.FS, id+".yaml")
		f.Add(b)
	}
	f.Add([]byte(packHead + okRule))
	f.Add([]byte(packHead + okRule + "    scope: domain == \"ran\" &&\n"))
	f.Add([]byte("a: &a [x, x]\nb: &b [*a, *a]\nc: [*b, *b]\n"))
	f.Add([]byte(packHead + "  - {id: r, title: t, kind: share_cap, metric: sites, cap: 1e400, source: s, status: verified}\n"))
	f.Add([]byte("format: 1\n---\nformat: 1\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := ParsePack("fuzz.yaml", b)
		if err != nil {
			le, ok := err.(LintErrors)
			if !ok || len(le) == 0 {
				t.Fatalf("error is not LintErrors: %v", err)
			}
			for _, e := range le {
				if e.File != "fuzz.yaml" || e.Msg == "" {
					t.Fatalf("unpositioned error %+v", e)
				}
			}
			return
		}
		if p.ID == "" || len(p.Rules) == 0 {
			t.Fatalf("accepted pack without ID or rules: %+v", p)
		}
		// What loads, compiles and evaluates.
		eng, err := Compile([]*Pack{p})
		if err != nil {
			t.Fatalf("a pack that parses does not compile: %v", err)
		}
		_ = Table(p)
		inv := &inventory.Inventory{Elements: fuzzElements()}
		eng.Evaluate(inv, inventory.Date{})
	})
}

func fuzzElements() []inventory.Element {
	d, _ := inventory.ParseDate("2024-01-01")
	return []inventory.Element{
		{ID: "a", Vendor: "huawei", Domain: "ran", Generation: "5G", Site: "s1", InstallDate: d, Tags: []string{"x"}, TrafficShare: 0.5},
		{ID: "b", Vendor: "nokia", Domain: "core-5g", Generation: "5G-SA", Site: "s2", PremisesServed: 10,
			Evidence: []inventory.Evidence{{Scheme: "NESAS", ReportID: "r", EvaluatedVersions: []string{"1"}}}},
		{ID: "c"},
	}
}

// FuzzCEL compiles arbitrary scope expressions against the element
// environment: compile errors are fine; what compiles is boolean, splits
// into parts that agree with the whole, and evaluates within the cost
// limit without panicking.
func FuzzCEL(f *testing.F) {
	for _, s := range []string{
		`domain == "ran"`,
		`generation.startsWith("5G") && domain == "ran"`,
		`tags.exists(t, t == "usf-funded")`,
		`install_date >= timestamp("2026-01-01T00:00:00Z") && domain in ["core-5g"]`,
		`managed_by.lowerAscii() in ["huawei", "zte"]`,
		`evidence.exists(e, e.scheme == "NESAS" && "1" in e.evaluated_versions)`,
		`tags.all(a, tags.all(b, a != b))`,
		`premises_served > 10 || traffic_share > 0.5`,
		`size(id) > 3 && site.matches("^s[0-9]+$")`,
		strings.Repeat("(", 100) + "true" + strings.Repeat(")", 100),
		`"a".repeat(1000000) == ""`,
	} {
		f.Add(s)
	}
	els := fuzzElements()
	f.Fuzz(func(t *testing.T, src string) {
		whole, iss := compileExpr(src)
		if iss != nil {
			return
		}
		few, many, iss := compileSplit(src)
		if iss != nil {
			t.Fatalf("compiles whole but not split: %v", iss)
		}
		for i := range els {
			w, werr := whole.eval(&els[i])
			got, gerr := true, error(nil)
			if few != nil {
				got, gerr = few.eval(&els[i])
			}
			if got && gerr == nil && many != nil {
				got, gerr = many.eval(&els[i])
			}
			if werr == nil && gerr == nil && got != w {
				t.Fatalf("%s on %s: split %v, whole %v", src, els[i].ID, got, w)
			}
		}
	})
}

// FuzzOverrides feeds arbitrary bytes to the override parser.
func FuzzOverrides(f *testing.F) {
	f.Add([]byte("uk-5g-remove:\n  deadline: 2027-06-30\n  note: x\n"))
	f.Add([]byte("uk-fttp-cap: {disabled: true}\n"))
	f.Add([]byte("- a\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		ovs, err := ParseOverrides("fuzz.yaml", b)
		if err != nil {
			if _, ok := err.(LintErrors); !ok {
				t.Fatalf("error is not LintErrors: %v", err)
			}
			return
		}
		for _, o := range ovs {
			if o.RuleID == "" && o.Line == 0 {
				t.Fatalf("override without position: %+v", o)
			}
		}
	})
}
