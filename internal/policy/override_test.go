package policy

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestApplyOverrides(t *testing.T) {
	packs, err := LoadPacks("uk,us")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "ov.yaml")
	os.WriteFile(path, []byte(`uk-5g-remove:
  deadline: 2027-06-30
  note: board target
uk-fttp-cap:
  disabled: true
us-rip-replace:
  deadline: 2025-06-30
`), 0o644)
	if err := ApplyOverrides(packs, path); err != nil {
		t.Fatal(err)
	}
	eng := mustEngine(t, packs...)
	r := eng.Rule("uk-5g-remove")
	if r.Deadline.String() != "2027-06-30" || r.OriginalDeadline.String() != "2027-12-31" || r.OverrideNote != "board target" {
		t.Errorf("deadline override not applied: %+v", r)
	}
	if !eng.Rule("uk-fttp-cap").Disabled {
		t.Error("disable not applied")
	}
	if d := eng.Rule("us-rip-replace").Deadline.String(); d != "2025-06-30" {
		t.Errorf("deadline added to a rule without one: %q", d)
	}
	// A disabled rule gives no violation; the overridden deadline is used.
	inv := genInventory(2000, 7)
	res := eng.Evaluate(inv, day(t, "2027-07-01"))
	for _, v := range res.Violations {
		if v.RuleID == "uk-fttp-cap" {
			t.Error("disabled rule reported")
		}
		if v.RuleID == "uk-5g-remove" && (!v.Due || v.Note != "board target") {
			t.Errorf("overridden deadline not used: %+v", v)
		}
	}
	rows := Table(packs[0])
	for _, row := range rows {
		if row[0] == "uk-5g-remove" && row[5] != "2027-06-30 (was 2027-12-31)" {
			t.Errorf("table deadline %q", row[5])
		}
		if row[0] == "uk-fttp-cap" && !strings.Contains(row[6], "disabled") {
			t.Errorf("table status %q", row[6])
		}
	}
}

func TestOverrideErrors(t *testing.T) {
	packs, err := LoadPacks("uk")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		body      string
		line, col int
		field     string
		msg       string
	}{
		{"uk-5g-remov:\n  deadline: 2027-06-30\n", 1, 1, "uk-5g-remov", `no loaded pack has rule "uk-5g-remov" (did you mean "uk-5g-remove"?)`},
		{"uk-5g-remove:\n  deadline: soon\n", 2, 13, "uk-5g-remove.deadline", "not a date"},
		{"uk-5g-remove:\n  disabled: yes please\n", 2, 13, "uk-5g-remove.disabled", "want true or false"},
		{"uk-5g-remove:\n  dedline: 2027-06-30\n", 2, 3, "uk-5g-remove.dedline", `did you mean "deadline"?`},
		{"uk-5g-remove: {}\n", 1, 15, "uk-5g-remove", "needs a deadline, disabled or note"},
		{"- uk-5g-remove\n", 1, 1, "", "want a mapping"},
		{"uk-5g-remove:\n  note: a\nuk-5g-remove:\n  note: b\n", 3, 1, "uk-5g-remove", "duplicate rule ID"},
	} {
		path := filepath.Join(t.TempDir(), "ov.yaml")
		os.WriteFile(path, []byte(tc.body), 0o644)
		err := ApplyOverrides(packs, path)
		var le LintErrors
		if !errors.As(err, &le) {
			t.Errorf("%q: want LintErrors, got %v", tc.body, err)
			continue
		}
		e := le[0]
		if e.Line != tc.line || e.Column != tc.col || e.Field != tc.field || !strings.Contains(e.Msg, tc.msg) {
			t.Errorf("%q: got %v", tc.body, e)
		}
	}
}

func TestTable(t *testing.T) {
	p, err := LoadBuiltin("uk")
	if err != nil {
		t.Fatal(err)
	}
	rows := Table(p)
	if strings.Join(rows[0], "|") != "rule|kind|scope|vendors|limit|deadline|status|source" {
		t.Fatalf("header %v", rows[0])
	}
	if len(rows) != len(p.Rules)+1 {
		t.Fatalf("%d rows for %d rules", len(rows), len(p.Rules))
	}
	want := map[string][]string{
		"uk-fttp-cap":      {"uk-fttp-cap", "share_cap", `domain == "access-fixed" && (generation == "FTTP" || network_function in ["olt", "ont"])`, "huawei", "share <= 35% of premises served", "2023-10-31", "partial"},
		"uk-core-remove":   {"uk-core-remove", "remove_by", `domain in ["core-5g", "core-epc"] || (domain == "cloud-infra" && tags.exists(t, t == "hosts-core"))`, "huawei", "none by deadline", "2023-12-31", "verified"},
		"uk-5g-no-install": {"uk-5g-no-install", "no_new_install", `generation.startsWith("5G")`, "huawei", "no new installs from deadline", "2022-10-13", "verified"},
	}
	for _, row := range rows[1:] {
		if len(row) != len(rows[0]) {
			t.Fatalf("row %v has %d cells", row, len(row))
		}
		if w, ok := want[row[0]]; ok && strings.Join(row[:7], "|") != strings.Join(w, "|") {
			t.Errorf("row\n got %q\nwant %q", row[:7], w)
		}
		if !strings.Contains(row[7], "irection") && !strings.Contains(row[7], "NCSC") && !strings.Contains(row[7], "National Security") {
			t.Errorf("source cell %q", row[7])
		}
	}
	se, _ := LoadBuiltin("se")
	for _, row := range Table(se)[1:] {
		if row[0] == "se-central-in-sweden" && (row[3] != "(all vendors)" || row[4] != "support from: SE") {
			t.Errorf("row %q", row)
		}
	}
	ca, _ := LoadBuiltin("ca")
	if row := Table(ca)[1]; row[3] != `huawei, zte; or where managed_by.lowerAscii() in ["huawei", "zte"]` {
		t.Errorf("vendors cell %q", row[3])
	}
}
