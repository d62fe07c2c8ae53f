package policy

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/netvet/netvet/internal/inventory"
)

var update = flag.Bool("update", false, "rewrite golden files")

func day(t testing.TB, s string) inventory.Date {
	t.Helper()
	d, err := inventory.ParseDate(s)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// mustPack parses an inline pack; the header (format, id, name, ...) is
// added so that cases show only their rules.
func mustPack(t testing.TB, rules string) *Pack {
	t.Helper()
	src := "format: 1\nid: test\nname: Test\njurisdiction: Nowhere\nversion: \"1\"\nvendors: [huawei]\nrules:\n" + rules
	p, err := ParsePack("test.yaml", []byte(src))
	if err != nil {
		t.Fatalf("pack does not load:\n%v\n%s", err, src)
	}
	return p
}

func mustEngine(t testing.TB, packs ...*Pack) *Engine {
	t.Helper()
	e, err := Compile(packs)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// el builds an element: id, vendor, domain, generation, then key=value
// settings for the other fields.
func el(t testing.TB, id, vendor, domain, gen string, kv ...string) inventory.Element {
	t.Helper()
	e := inventory.Element{ID: id, Vendor: vendor, Domain: domain, Generation: gen}
	for _, s := range kv {
		k, v, _ := strings.Cut(s, "=")
		switch k {
		case "function":
			e.Function = v
		case "site":
			e.Site = v
		case "sens":
			e.SiteSensitivity = v
		case "installed":
			e.InstallDate = day(t, v)
		case "purchased":
			e.PurchaseDate = day(t, v)
		case "traffic":
			e.TrafficShare = mustFloat(t, v)
		case "premises":
			e.PremisesServed = int64(mustFloat(t, v))
		case "support":
			e.SupportLocation = v
		case "sanctions":
			e.SanctionsAffected = v == "true"
		case "managed":
			e.ManagedBy = v
		case "sw":
			e.SoftwareVersion = v
		case "tag":
			e.Tags = append(e.Tags, v)
		case "evidence": // scheme:report:v1|v2
			parts := strings.SplitN(v, ":", 3)
			ev := inventory.Evidence{Scheme: parts[0], ReportID: parts[1]}
			if len(parts) == 3 && parts[2] != "" {
				ev.EvaluatedVersions = strings.Split(parts[2], "|")
			}
			e.Evidence = append(e.Evidence, ev)
		default:
			t.Fatalf("el: unknown key %q", k)
		}
	}
	return e
}

func mustFloat(t testing.TB, s string) float64 {
	t.Helper()
	var f float64
	if err := json.Unmarshal([]byte(s), &f); err != nil {
		t.Fatal(err)
	}
	return f
}

func TestEvaluateKinds(t *testing.T) {
	type want struct {
		rule     string
		due      bool
		daysLeft int
		elements []string
		share    float64
	}
	cases := []struct {
		name  string
		rules string
		inv   []inventory.Element
		at    string
		want  []want // nil: no violation
	}{
		{
			name:  "forbid without deadline is due",
			rules: "  - {id: r, title: t, kind: forbid, scope: 'domain == \"core-5g\"', source: s, status: verified}\n",
			inv: []inventory.Element{
				el(t, "b", "huawei", "core-5g", "5G-SA"),
				el(t, "a", "huawei", "core-5g", "5G-SA"),
				el(t, "c", "ericsson", "core-5g", "5G-SA"),
				el(t, "d", "huawei", "ran", "5G-SA"),
			},
			at:   "2020-01-01",
			want: []want{{rule: "r", due: true, elements: []string{"a", "b"}}},
		},
		{
			name:  "forbid, no designated element in scope",
			rules: "  - {id: r, title: t, kind: forbid, scope: 'domain == \"core-5g\"', source: s, status: verified}\n",
			inv:   []inventory.Element{el(t, "c", "ericsson", "core-5g", "5G-SA"), el(t, "d", "huawei", "ran", "5G-SA")},
			at:    "2020-01-01",
		},
		{
			name:  "remove_by the day before the deadline is upcoming",
			rules: "  - {id: r, title: t, kind: remove_by, scope: 'generation.startsWith(\"5G\")', deadline: 2027-12-31, source: s, status: verified}\n",
			inv:   []inventory.Element{el(t, "a", "huawei", "ran", "5G-NSA"), el(t, "b", "huawei", "ran", "4G")},
			at:    "2027-12-30",
			want:  []want{{rule: "r", due: false, daysLeft: 1, elements: []string{"a"}}},
		},
		{
			name:  "remove_by on the deadline day is due",
			rules: "  - {id: r, title: t, kind: remove_by, scope: 'generation.startsWith(\"5G\")', deadline: 2027-12-31, source: s, status: verified}\n",
			inv:   []inventory.Element{el(t, "a", "huawei", "ran", "5G-NSA")},
			at:    "2027-12-31",
			want:  []want{{rule: "r", due: true, daysLeft: 0, elements: []string{"a"}}},
		},
		{
			name:  "remove_by after the deadline is overdue",
			rules: "  - {id: r, title: t, kind: remove_by, scope: 'generation.startsWith(\"5G\")', deadline: 2027-12-31, source: s, status: verified}\n",
			inv:   []inventory.Element{el(t, "a", "huawei", "ran", "5G")},
			at:    "2028-01-10",
			want:  []want{{rule: "r", due: true, daysLeft: -10, elements: []string{"a"}}},
		},
		{
			name:  "no_new_install: on the effective day violates, the day before does not",
			rules: "  - {id: r, title: t, kind: no_new_install, scope: 'domain == \"ran\"', deadline: 2022-10-13, source: s, status: verified}\n",
			inv: []inventory.Element{
				el(t, "before", "huawei", "ran", "5G", "installed=2022-10-12"),
				el(t, "on", "huawei", "ran", "5G", "installed=2022-10-13"),
				el(t, "after", "huawei", "ran", "5G", "installed=2023-01-01"),
				el(t, "other", "nokia", "ran", "5G", "installed=2023-01-01"),
				el(t, "purchased-only", "huawei", "ran", "5G", "purchased=2024-01-01"),
				el(t, "undated", "huawei", "ran", "5G"),
			},
			at:   "2026-01-01",
			want: []want{{rule: "r", due: true, daysLeft: -1176, elements: []string{"after", "on", "purchased-only"}}},
		},
		{
			name:  "no_new_install by purchase date",
			rules: "  - {id: r, title: t, kind: no_new_install, date_field: purchase_date, deadline: 2021-01-01, source: s, status: verified}\n",
			inv: []inventory.Element{
				el(t, "bought-before", "huawei", "ran", "5G", "purchased=2020-12-31", "installed=2021-06-01"),
				el(t, "bought-after", "huawei", "ran", "5G", "purchased=2021-01-01", "installed=2021-06-01"),
				el(t, "install-only", "huawei", "ran", "5G", "installed=2020-06-01"),
			},
			at:   "2020-06-01",
			want: []want{{rule: "r", due: false, daysLeft: 214, elements: []string{"bought-after"}}},
		},
		{
			name: "share_cap by elements, above the cap",
			rules: "  - {id: r, title: t, kind: share_cap, metric: elements, cap: 0.5, scope: 'domain == \"ran\"', " +
				"deadline: 2023-10-31, source: s, status: verified}\n",
			inv: []inventory.Element{
				el(t, "h1", "huawei", "ran", "4G"), el(t, "h2", "huawei", "ran", "4G"),
				el(t, "n1", "nokia", "ran", "4G"), el(t, "h3", "huawei", "core-5g", "5G"),
			},
			at:   "2023-10-31",
			want: []want{{rule: "r", due: true, elements: []string{"h1", "h2"}, share: 0.666667}},
		},
		{
			name:  "share_cap exactly at the cap is allowed",
			rules: "  - {id: r, title: t, kind: share_cap, metric: elements, cap: 0.5, source: s, status: verified}\n",
			inv:   []inventory.Element{el(t, "h1", "huawei", "ran", "4G"), el(t, "n1", "nokia", "ran", "4G")},
			at:    "2023-10-31",
		},
		{
			name:  "share_cap by distinct sites",
			rules: "  - {id: r, title: t, kind: share_cap, metric: sites, cap: 0.35, source: s, status: verified}\n",
			inv: []inventory.Element{
				el(t, "h1", "huawei", "ran", "4G", "site=A"), el(t, "h2", "huawei", "ran", "4G", "site=A"),
				el(t, "n1", "nokia", "ran", "4G", "site=A"), el(t, "n2", "nokia", "ran", "4G", "site=B"),
				el(t, "n3", "nokia", "ran", "4G", "site=C"), el(t, "n4", "nokia", "ran", "4G", "site=D"),
				el(t, "h3", "huawei", "ran", "4G"), // no site: not counted in the sites metric
			},
			at: "2024-01-01",
		},
		{
			name:  "share_cap by sites, above",
			rules: "  - {id: r, title: t, kind: share_cap, metric: sites, cap: 0.35, source: s, status: verified}\n",
			inv: []inventory.Element{
				el(t, "h1", "huawei", "ran", "4G", "site=A"), el(t, "h2", "huawei", "ran", "4G", "site=B"),
				el(t, "n1", "nokia", "ran", "4G", "site=A"), el(t, "n2", "nokia", "ran", "4G", "site=C"),
			},
			at:   "2024-01-01",
			want: []want{{rule: "r", due: true, elements: []string{"h1", "h2"}, share: 0.666667}},
		},
		{
			name:  "share_cap by traffic",
			rules: "  - {id: r, title: t, kind: share_cap, metric: traffic, cap: 0.35, source: s, status: verified}\n",
			inv: []inventory.Element{
				el(t, "h1", "huawei", "ran", "4G", "traffic=0.3"), el(t, "h2", "huawei", "ran", "4G", "traffic=0.1"),
				el(t, "n1", "nokia", "ran", "4G", "traffic=0.6"),
			},
			at:   "2024-01-01",
			want: []want{{rule: "r", due: true, elements: []string{"h1", "h2"}, share: 0.4}},
		},
		{
			name:  "share_cap by premises, under the cap",
			rules: "  - {id: r, title: t, kind: share_cap, metric: premises, cap: 0.35, source: s, status: verified}\n",
			inv: []inventory.Element{
				el(t, "h1", "huawei", "access-fixed", "FTTP", "premises=35"),
				el(t, "n1", "nokia", "access-fixed", "FTTP", "premises=65"),
			},
			at: "2024-01-01",
		},
		{
			name: "require_evidence: scheme and covered version",
			rules: "  - {id: r, title: t, kind: require_evidence, evidence: [NESAS-CCS-GI, CC], scope: 'domain == \"core-5g\"', " +
				"deadline: 2026-01-01, source: s, status: verified}\n",
			inv: []inventory.Element{
				el(t, "ok", "nokia", "core-5g", "5G", "sw=23.1", "evidence=NESAS CCS-GI:r1:23.1|23.2"),
				el(t, "any-version", "nokia", "core-5g", "5G", "sw=9", "evidence=cc:r2:"),
				el(t, "wrong-version", "ericsson", "core-5g", "5G", "sw=24.0", "evidence=NESAS-CCS-GI:r3:23.1"),
				el(t, "no-version", "ericsson", "core-5g", "5G", "evidence=NESAS-CCS-GI:r3:23.1"),
				el(t, "wrong-scheme", "huawei", "core-5g", "5G", "sw=1", "evidence=SCAS:r4:1"),
				el(t, "none", "huawei", "core-5g", "5G"),
				el(t, "out-of-scope", "huawei", "ran", "5G"),
			},
			at:   "2025-12-31",
			want: []want{{rule: "r", due: false, daysLeft: 1, elements: []string{"no-version", "none", "wrong-scheme", "wrong-version"}}},
		},
		{
			name: "support_locality, all vendors",
			rules: "  - {id: r, title: t, kind: support_locality, allowed_locations: [SE], scope: 'domain in [\"ran\", \"core-5g\"]', " +
				"deadline: 2025-01-01, source: s, status: verified}\n",
			inv: []inventory.Element{
				el(t, "se", "ericsson", "ran", "5G", "support=SE"),
				el(t, "lower", "ericsson", "ran", "5G", "support=se"),
				el(t, "cn", "huawei", "ran", "5G", "support=CN"),
				el(t, "unknown", "nokia", "core-5g", "5G"),
				el(t, "oos", "nokia", "transport", "", "support=CN"),
			},
			at:   "2025-01-01",
			want: []want{{rule: "r", due: true, elements: []string{"cn", "unknown"}}},
		},
		{
			name: "designation by criteria (or name), managed services",
			rules: "  - {id: r, title: t, kind: forbid, vendors: [zte], vendor_criteria: 'managed_by.lowerAscii() == \"huawei\"', " +
				"source: s, status: verified}\n",
			inv: []inventory.Element{
				el(t, "managed", "ericsson", "ran", "4G", "managed=Huawei"),
				el(t, "zte", "zte", "ran", "4G"),
				el(t, "huawei", "huawei", "ran", "4G"), // the pack's vendors do not apply: the rule names its own
			},
			at:   "2024-01-01",
			want: []want{{rule: "r", due: true, elements: []string{"managed", "zte"}}},
		},
		{
			name: "scope on a many-valued field (install date) and tags",
			rules: "  - {id: r, title: t, kind: require_evidence, evidence: [BMI-NOTIFICATION], " +
				"scope: 'tags.exists(t, t == \"kritis\") && install_date >= timestamp(\"2021-05-28T00:00:00Z\")', source: s, status: verified}\n",
			inv: []inventory.Element{
				el(t, "old", "nokia", "core-5g", "5G", "tag=kritis", "installed=2021-05-27"),
				el(t, "new", "nokia", "core-5g", "5G", "tag=kritis", "installed=2021-05-28"),
				el(t, "notified", "nokia", "core-5g", "5G", "tag=kritis", "installed=2022-01-01", "evidence=bmi-notification:n1:"),
				el(t, "untagged", "nokia", "core-5g", "5G", "installed=2022-01-01"),
				el(t, "undated", "nokia", "core-5g", "5G", "tag=kritis"),
			},
			at:   "2024-01-01",
			want: []want{{rule: "r", due: true, elements: []string{"new"}}},
		},
		{
			name: "results sorted by deadline then rule",
			rules: "  - {id: z-late, title: t, kind: remove_by, deadline: 2030-01-01, source: s, status: verified}\n" +
				"  - {id: b-early, title: t, kind: remove_by, deadline: 2025-01-01, source: s, status: verified}\n" +
				"  - {id: a-early, title: t, kind: remove_by, deadline: 2025-01-01, source: s, status: verified}\n" +
				"  - {id: m-none, title: t, kind: forbid, source: s, status: verified}\n",
			inv: []inventory.Element{el(t, "x", "huawei", "ran", "4G")},
			at:  "2026-01-01",
			want: []want{
				{rule: "m-none", due: true, elements: []string{"x"}},
				{rule: "a-early", due: true, daysLeft: -365, elements: []string{"x"}},
				{rule: "b-early", due: true, daysLeft: -365, elements: []string{"x"}},
				{rule: "z-late", due: false, daysLeft: 1461, elements: []string{"x"}},
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			eng := mustEngine(t, mustPack(t, tc.rules))
			res := eng.Evaluate(&inventory.Inventory{Elements: tc.inv}, day(t, tc.at))
			var got []want
			for _, v := range res.Violations {
				got = append(got, want{rule: v.RuleID, due: v.Due, daysLeft: v.DaysLeft, elements: v.Elements, share: v.Share})
				if v.Message == "" || v.Source == "" || v.Status == "" {
					t.Errorf("violation %s lacks message, source or status: %+v", v.RuleID, v)
				}
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("violations:\n got %+v\nwant %+v\nwarnings: %v", got, tc.want, res.Warnings)
			}
		})
	}
}

func TestNoNewInstallWarnsUndated(t *testing.T) {
	eng := mustEngine(t, mustPack(t, "  - {id: r, title: t, kind: no_new_install, deadline: 2022-10-13, source: s, status: verified}\n"))
	res := eng.Evaluate(&inventory.Inventory{Elements: []inventory.Element{el(t, "u", "huawei", "ran", "5G")}}, day(t, "2024-01-01"))
	if len(res.Violations) != 0 || len(res.Warnings) != 1 || !strings.Contains(res.Warnings[0], "no install or purchase date") {
		t.Fatalf("want one warning about the missing date, got %+v %v", res.Violations, res.Warnings)
	}
}

func TestEvalErrorIsWarning(t *testing.T) {
	// The cost of a comprehension over a huge tag list exceeds the limit.
	eng := mustEngine(t, mustPack(t, "  - {id: r, title: t, kind: forbid, scope: 'tags.all(a, tags.all(b, a != b || a == b))', source: s, status: verified}\n"))
	tags := make([]string, 2000)
	for i := range tags {
		tags[i] = strings.Repeat("x", i%7) + string(rune('a'+i%26))
	}
	e := el(t, "big", "huawei", "ran", "4G")
	e.Tags = tags
	res := eng.Evaluate(&inventory.Inventory{Elements: []inventory.Element{e}}, day(t, "2024-01-01"))
	if len(res.Violations) != 0 {
		t.Errorf("an element whose scope failed counted as in scope: %+v", res.Violations)
	}
	if len(res.Warnings) != 1 || !strings.Contains(res.Warnings[0], "rule r: expression failed") {
		t.Errorf("want a warning naming the rule, got %v", res.Warnings)
	}
}

func TestInScopeDesignated(t *testing.T) {
	p := mustPack(t, ""+
		"  - {id: core, title: t, kind: remove_by, deadline: 2023-12-31, scope: 'domain in [\"core-5g\", \"core-epc\"]', source: s, status: verified}\n"+
		"  - {id: evid, title: t, kind: require_evidence, evidence: [CC], scope: 'install_date >= timestamp(\"2026-01-01T00:00:00Z\") && domain == \"core-5g\"', source: s, status: verified}\n")
	eng := mustEngine(t, p)
	core, evid := eng.Rule("core"), eng.Rule("evid")
	a := el(t, "a", "huawei", "core-5g", "5G", "installed=2026-02-01")
	b := el(t, "b", "Huawei", "ran", "5G", "installed=2020-02-01")
	c := el(t, "c", "nokia", "core-5g", "5G", "installed=2025-12-31")
	for _, tc := range []struct {
		r            *Rule
		e            *inventory.Element
		in, designed bool
	}{
		{core, &a, true, true}, {core, &b, false, true}, {core, &c, true, false},
		{evid, &a, true, true}, {evid, &b, false, true}, {evid, &c, false, true},
	} {
		if got := eng.InScope(tc.r, tc.e); got != tc.in {
			t.Errorf("InScope(%s, %s) = %v", tc.r.ID, tc.e.ID, got)
		}
		if got := eng.Designated(tc.r, tc.e); got != tc.designed {
			t.Errorf("Designated(%s, %s) = %v", tc.r.ID, tc.e.ID, got)
		}
	}
	if eng.InScope(&Rule{ID: "stranger"}, &a) {
		t.Error("InScope is true for a rule the engine does not hold")
	}
}

// TestSplitMatchesWhole checks that evaluating a scope split into its
// few- and many-valued parts gives the answer of the whole expression.
func TestSplitMatchesWhole(t *testing.T) {
	exprs := []string{
		`domain == "core-5g" && install_date >= timestamp("2026-01-01T00:00:00Z")`,
		`install_date >= timestamp("2026-01-01T00:00:00Z") || domain == "ran"`,
		`tags.exists(t, t == "x") && site.startsWith("s1") && generation.startsWith("5G")`,
		`traffic_share > 0.2 && (domain == "ran" || id == "e3")`,
		`premises_served >= 10 && !sanctions_affected && evidence.size() == 0`,
	}
	els := []inventory.Element{
		el(t, "e1", "huawei", "core-5g", "5G", "installed=2026-01-01", "site=s10", "tag=x", "traffic=0.3"),
		el(t, "e2", "huawei", "core-5g", "4G", "installed=2025-12-31", "site=s2", "premises=12"),
		el(t, "e3", "nokia", "ran", "5G-SA", "site=s1", "tag=x", "traffic=0.1", "sanctions=true"),
		el(t, "e4", "nokia", "ran", "5G-SA", "site=s1", "tag=y", "traffic=0.25", "premises=10", "evidence=CC:r:"),
	}
	for _, src := range exprs {
		whole, iss := compileExpr(src)
		if iss != nil {
			t.Fatalf("%s: %v", src, iss)
		}
		few, many, iss := compileSplit(src)
		if iss != nil {
			t.Fatalf("%s: %v", src, iss)
		}
		for i := range els {
			w, _ := whole.eval(&els[i])
			got := true
			if few != nil {
				got, _ = few.eval(&els[i])
			}
			if got && many != nil {
				got, _ = many.eval(&els[i])
			}
			if got != w {
				t.Errorf("%s on %s: split %v, whole %v", src, els[i].ID, got, w)
			}
		}
	}
}

func TestEvaluateGolden(t *testing.T) {
	packs, err := LoadPacks("all")
	if err != nil {
		t.Fatal(err)
	}
	if err := ApplyOverrides(packs, filepath.Join("testdata", "overrides", "ok.yaml")); err != nil {
		t.Fatal(err)
	}
	eng := mustEngine(t, packs...)
	b, err := os.ReadFile(filepath.Join("testdata", "evaluate", "inventory.json"))
	if err != nil {
		t.Fatal(err)
	}
	var inv inventory.Inventory
	if err := json.Unmarshal(b, &inv); err != nil {
		t.Fatal(err)
	}
	for _, at := range []string{"2023-06-30", "2027-12-31"} {
		t.Run(at, func(t *testing.T) {
			res := eng.Evaluate(&inv, day(t, at))
			got, err := json.MarshalIndent(res, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, '\n')
			again, _ := json.MarshalIndent(mustEngine(t, packs...).Evaluate(&inv, day(t, at)), "", "  ")
			if !bytes.Equal(got[:len(got)-1], again) {
				t.Fatal("two evaluations of the same input differ")
			}
			golden := filepath.Join("testdata", "evaluate", at+".golden.json")
			if *update {
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("%s differs from the evaluation (run go test -update to accept):\n%s", golden, got)
			}
		})
	}
}

func TestCompileRejectsDuplicateRuleIDs(t *testing.T) {
	a := mustPack(t, "  - {id: same, title: t, kind: forbid, source: s, status: verified}\n")
	b := mustPack(t, "  - {id: same, title: t, kind: forbid, source: s, status: verified}\n")
	b.ID = "other"
	if _, err := Compile([]*Pack{a, b}); err == nil || !strings.Contains(err.Error(), `"same"`) {
		t.Fatalf("want a duplicate rule ID error, got %v", err)
	}
}
