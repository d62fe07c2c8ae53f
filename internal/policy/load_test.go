package policy

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/netvet/netvet/policies"
)

// packHead is lines 1-7 of every lint case; rules start on line 8.
const packHead = `format: 1
id: t
name: Test pack
jurisdiction: Nowhere
version: "1"
vendors: [huawei]
rules:
`

// okRule is a valid rule on lines 8-12.
const okRule = `  - id: r1
    title: A rule
    kind: forbid
    source: An instrument
    status: verified
`

func writePack(t *testing.T, body string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "p.yaml")
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestLintErrors(t *testing.T) {
	type loc struct {
		line, col int
		field     string
		msg       string // substring
	}
	cases := []struct {
		name string
		body string // the whole file
		want []loc
	}{
		{"unknown field", packHead + okRule + "    scop: domain == \"ran\"\n",
			[]loc{{13, 5, "rules[0].scop", `unknown field (did you mean "scope"?)`}}},
		{"unknown pack field", "formatt: 1\n" + packHead[len("format: 1\n"):] + okRule,
			[]loc{{1, 1, "formatt", "unknown field"}, {1, 1, "format", "required field is missing"}}},
		{"duplicate field", packHead + okRule + "    kind: forbid\n",
			[]loc{{13, 5, "rules[0].kind", "duplicate field"}}},
		{"wrong type: list wanted", packHead + okRule + "    vendors: huawei\n",
			[]loc{{13, 14, "rules[0].vendors", "want a list"}}},
		{"wrong type: text wanted", packHead + okRule + "    notes: {a: b}\n",
			[]loc{{13, 12, "rules[0].notes", "want text"}}},
		{"wrong type: bool wanted", packHead + okRule + "    proposal: maybe\n",
			[]loc{{13, 15, "rules[0].proposal", "want true or false"}}},
		{"rules not a list", packHead + "  id: x\n",
			[]loc{{8, 3, "rules", "want a list of rules"}}},
		{"bad kind", packHead + strings.Replace(okRule, "kind: forbid", "kind: ban", 1),
			[]loc{{10, 11, "rules[0].kind", `unknown kind "ban"`}}},
		{"bad metric", packHead + strings.Replace(okRule, "kind: forbid", "kind: share_cap", 1) + "    metric: bytes\n    cap: 0.35\n",
			[]loc{{13, 13, "rules[0].metric", `unknown metric "bytes"`}}},
		{"metric on a forbid rule", packHead + okRule + "    metric: sites\n",
			[]loc{{13, 13, "rules[0].metric", "applies only to share_cap rules"}}},
		{"bad status", packHead + strings.Replace(okRule, "status: verified", "status: confirmed", 1),
			[]loc{{12, 13, "rules[0].status", `unknown status "confirmed"`}}},
		{"cap above 1", packHead + strings.Replace(okRule, "kind: forbid", "kind: share_cap", 1) + "    metric: sites\n    cap: 1.5\n",
			[]loc{{14, 10, "rules[0].cap", "outside 0..1"}}},
		{"cap below 0", packHead + strings.Replace(okRule, "kind: forbid", "kind: share_cap", 1) + "    metric: sites\n    cap: -0.1\n",
			[]loc{{14, 10, "rules[0].cap", "outside 0..1"}}},
		{"cap as percent", packHead + strings.Replace(okRule, "kind: forbid", "kind: share_cap", 1) + "    metric: sites\n    cap: 35%\n",
			[]loc{{14, 10, "rules[0].cap", "write 35% as 0.35"}}},
		{"share_cap without cap and metric", packHead + strings.Replace(okRule, "kind: forbid", "kind: share_cap", 1),
			[]loc{{8, 5, "rules[0].metric", "required for a share_cap rule"}, {8, 5, "rules[0].cap", "required for a share_cap rule"}}},
		{"bad date", packHead + strings.Replace(okRule, "kind: forbid", "kind: remove_by", 1) + "    deadline: 2027-13-01\n",
			[]loc{{13, 15, "rules[0].deadline", "is not a date"}}},
		{"date in another format", packHead + strings.Replace(okRule, "kind: forbid", "kind: remove_by", 1) + "    deadline: 31/12/2027\n",
			[]loc{{13, 15, "rules[0].deadline", "want YYYY-MM-DD"}}},
		{"remove_by without deadline", packHead + strings.Replace(okRule, "kind: forbid", "kind: remove_by", 1),
			[]loc{{8, 5, "rules[0].deadline", "required for a remove_by rule"}}},
		{"CEL syntax error", packHead + okRule + "    scope: domain == \"ran\" &&\n",
			[]loc{{13, 30, "rules[0].scope", "CEL: Syntax error"}}},
		{"CEL not boolean", packHead + okRule + "    scope: domain\n",
			[]loc{{13, 12, "rules[0].scope", "want bool"}}},
		{"CEL unknown variable", packHead + okRule + "    scope: colour == \"red\"\n",
			[]loc{{13, 12, "rules[0].scope", "undeclared reference to 'colour'"}}},
		{"CEL reserved word function", packHead + okRule + "    scope: function == \"olt\"\n",
			[]loc{{13, 12, "rules[0].scope", `"network_function"`}}},
		{"CEL in a quoted scalar", packHead + okRule + "    scope: \"domain == 1\"\n",
			[]loc{{13, 20, "rules[0].scope", "no matching overload"}}},
		{"CEL criteria not boolean", packHead + okRule + "    vendor_criteria: tags\n",
			[]loc{{13, 22, "rules[0].vendor_criteria", "want bool"}}},
		{"CEL too long", packHead + okRule + "    scope: " + strings.Repeat("domain == \"ran\" || ", 300) + "true\n",
			[]loc{{13, 12, "rules[0].scope", "the limit is 4096"}}},
		{"CEL nested too deep", packHead + okRule + "    scope: " + strings.Repeat("(", 200) + "true" + strings.Repeat(")", 200) + "\n",
			[]loc{{13, 12, "rules[0].scope", "CEL:"}}},
		{"missing rule fields", packHead + "  - id: r1\n    kind: forbid\n",
			[]loc{{8, 5, "rules[0].title", "required"}, {8, 5, "rules[0].source", "required"}, {8, 5, "rules[0].status", "required"}}},
		{"missing pack fields", "format: 1\nid: t\nvendors: [huawei]\nrules:\n" + okRule,
			[]loc{{1, 1, "name", "required"}, {1, 1, "jurisdiction", "required"}, {1, 1, "version", "required"}}},
		{"no designated vendors", strings.Replace(packHead, "vendors: [huawei]\n", "", 1) + okRule,
			[]loc{{7, 5, "rules[0].vendors", "needs designated vendors"}}},
		{"vendor not normalised", packHead + okRule + "    vendors: [\"Huawei Technologies Co., Ltd.\"]\n",
			[]loc{{13, 15, "rules[0].vendors[0]", "not a normalised vendor name"}}},
		{"bad country", packHead + strings.Replace(okRule, "kind: forbid", "kind: support_locality", 1) + "    allowed_locations: [Sweden]\n",
			[]loc{{13, 25, "rules[0].allowed_locations[0]", "ISO 3166"}}},
		{"bad source_url", packHead + okRule + "    source_url: javascript:alert(1)\n",
			[]loc{{13, 17, "rules[0].source_url", "not an http(s) URL"}}},
		{"duplicate rule IDs", packHead + okRule + okRule,
			[]loc{{13, 9, "rules[1].id", `duplicate rule ID "r1" (first used at line 8)`}}},
		{"bad rule ID", packHead + strings.Replace(okRule, "id: r1", "id: Rule One", 1),
			[]loc{{8, 9, "rules[0].id", "not a valid rule ID"}}},
		{"unsupported format", "format: 2\n" + packHead[len("format: 1\n"):] + okRule,
			[]loc{{1, 9, "format", "unsupported pack format"}}},
		{"YAML syntax", packHead + okRule + "    title: [unclosed\n",
			[]loc{{12, 0, "", "YAML: did not find expected ',' or ']'"}}},
		{"YAML alias", packHead + okRule + "    notes: &n hello\n  - id: r2\n    title: *n\n    kind: forbid\n    source: s\n    status: verified\n",
			[]loc{{15, 12, "", "aliases are not allowed"}}},
		{"two documents", packHead + okRule + "---\nid: again\n",
			[]loc{{13, 1, "", "more than one YAML document"}}},
		{"empty", "", []loc{{1, 1, "", "empty file"}}},
		{"not a mapping", "- a\n- b\n", []loc{{1, 1, "", "want a mapping"}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := writePack(t, tc.body)
			errs := Lint(path)
			if len(errs) != len(tc.want) {
				t.Fatalf("want %d errors, got %d:\n%v\nfile:\n%s", len(tc.want), len(errs), LintErrors(errs), tc.body)
			}
			for i, w := range tc.want {
				e := errs[i]
				if e.File != path || e.Line != w.line || (w.col != 0 && e.Column != w.col) || e.Field != w.field || !strings.Contains(e.Msg, w.msg) {
					t.Errorf("error %d:\n got %s:%d:%d: field %q: %s\nwant line %d column %d field %q message containing %q",
						i, e.File, e.Line, e.Column, e.Field, e.Msg, w.line, w.col, w.field, w.msg)
				}
				if !strings.HasPrefix(e.Error(), fmt.Sprintf("%s:%d:%d: ", path, e.Line, e.Column)) {
					t.Errorf("Error() = %q, want file:line:column: first", e.Error())
				}
			}
			if _, err := LoadPack(path); err == nil {
				t.Error("LoadPack accepted a pack that Lint rejects")
			} else {
				var le LintErrors
				if !errors.As(err, &le) || len(le) != len(errs) {
					t.Errorf("LoadPack error is not the lint errors: %v", err)
				}
			}
		})
	}
}

func TestLintReportsAllErrors(t *testing.T) {
	body := packHead + `  - id: r1
    title: A rule
    kind: ban
    source: An instrument
    status: sure
  - id: r2
    title: Another
    kind: share_cap
    metric: elements
    cap: 2
    scope: domain = "ran"
    source: s
    status: verified
  - id: r1
    title: Third
    kind: remove_by
    deadline: tomorrow
    source: s
    status: verified
`
	errs := Lint(writePack(t, body))
	var got []string
	for _, e := range errs {
		got = append(got, fmt.Sprintf("%d:%s", e.Line, e.Field))
	}
	want := []string{"10:rules[0].kind", "12:rules[0].status", "17:rules[1].cap", "18:rules[1].scope", "18:rules[1].scope", "24:rules[2].deadline", "21:rules[2].id"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("got  %v\nwant %v\n%v", got, want, LintErrors(errs))
	}
}

func TestLintHostile(t *testing.T) {
	t.Run("too large", func(t *testing.T) {
		body := packHead + okRule + "    notes: \"" + strings.Repeat("x", MaxPackSize) + "\"\n"
		errs := Lint(writePack(t, body))
		if len(errs) != 1 || !strings.Contains(errs[0].Msg, "larger than") {
			t.Fatalf("got %v", errs)
		}
	})
	t.Run("alias bomb", func(t *testing.T) {
		var b strings.Builder
		b.WriteString("a: &a [x, x, x, x, x, x, x, x, x, x]\n")
		for i := 1; i < 12; i++ {
			fmt.Fprintf(&b, "%c: &%c [*%c, *%c, *%c, *%c, *%c, *%c, *%c, *%c, *%c, *%c]\n", 'a'+i, 'a'+i, 'a'+i-1, 'a'+i-1, 'a'+i-1, 'a'+i-1, 'a'+i-1, 'a'+i-1, 'a'+i-1, 'a'+i-1, 'a'+i-1, 'a'+i-1)
		}
		errs := Lint(writePack(t, b.String()))
		if len(errs) == 0 || !strings.Contains(LintErrors(errs).Error(), "aliases are not allowed") {
			t.Fatalf("got %v", errs)
		}
	})
	t.Run("many nodes", func(t *testing.T) {
		body := packHead + okRule + "    vendors: [" + strings.Repeat("a, ", maxYAMLNodes) + "a]\n"
		errs := Lint(writePack(t, body))
		if len(errs) != 1 || !strings.Contains(errs[0].Msg, "YAML nodes") {
			t.Fatalf("got %v", errs)
		}
	})
	t.Run("deep nesting", func(t *testing.T) {
		body := "a: " + strings.Repeat("[", 5000) + strings.Repeat("]", 5000) + "\n"
		errs := Lint(writePack(t, body))
		if len(errs) == 0 {
			t.Fatal("deeply nested YAML accepted")
		}
	})
	t.Run("missing file", func(t *testing.T) {
		errs := Lint(filepath.Join(t.TempDir(), "nope.yaml"))
		if len(errs) != 1 || !strings.Contains(errs[0].Msg, "no such file") {
			t.Fatalf("got %v", errs)
		}
	})
	t.Run("directory", func(t *testing.T) {
		errs := Lint(t.TempDir())
		if len(errs) != 1 || !strings.Contains(errs[0].Msg, "directory") {
			t.Fatalf("got %v", errs)
		}
	})
}

// TestShippedPacks lints every shipped pack and checks that each rule
// says where it comes from and how solid that is.
func TestShippedPacks(t *testing.T) {
	ids := Builtin()
	for _, want := range []string{"au", "ca", "de", "eu", "fr", "pt", "se", "uk", "us"} {
		if !strings.Contains(","+strings.Join(ids, ",")+",", ","+want+",") {
			t.Errorf("shipped pack %q is missing (have %v)", want, ids)
		}
	}
	for _, id := range ids {
		t.Run(id, func(t *testing.T) {
			path := filepath.Join("..", "..", "policies", id+".yaml")
			if errs := Lint(path); errs != nil {
				t.Fatalf("shipped pack does not lint clean:\n%v", LintErrors(errs))
			}
			embedded, err := fs.ReadFile(policies.FS, id+".yaml")
			if err != nil {
				t.Fatal(err)
			}
			onDisk, _ := os.ReadFile(path)
			if !bytes.Equal(embedded, onDisk) {
				t.Fatal("embedded pack differs from the file")
			}
			p, err := LoadBuiltin(id)
			if err != nil {
				t.Fatal(err)
			}
			if p.ID != id {
				t.Errorf("pack %s.yaml has ID %q", id, p.ID)
			}
			for _, r := range p.Rules {
				if strings.TrimSpace(r.Source) == "" || r.Status == "" {
					t.Errorf("rule %s has no source or status", r.ID)
				}
				if !strings.HasPrefix(r.ID, id+"-") {
					t.Errorf("rule %s: shipped rule IDs start with the pack ID", r.ID)
				}
				if r.Status != StatusVerified && strings.TrimSpace(r.Notes) == "" {
					t.Errorf("rule %s is %s but its notes do not say why", r.ID, r.Status)
				}
				if r.Proposal && r.Status == StatusVerified {
					t.Errorf("rule %s is a proposal marked verified", r.ID)
				}
			}
			if _, err := Compile([]*Pack{p}); err != nil {
				t.Fatal(err)
			}
		})
	}
	if _, err := LoadPacks("all"); err != nil {
		t.Fatalf("the shipped packs do not load together: %v", err)
	}
}

func TestLoadPacks(t *testing.T) {
	own := writePack(t, strings.Replace(packHead, "id: t", "id: mine", 1)+okRule)
	packs, err := LoadPacks("uk, DE ," + own)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, p := range packs {
		ids = append(ids, p.ID)
	}
	if strings.Join(ids, ",") != "uk,de,mine" {
		t.Errorf("got packs %v", ids)
	}
	for _, bad := range []struct{ spec, msg string }{
		{"xx", `no shipped pack "xx"`},
		{"uk,uk", `pack ID "uk" given twice`},
		{"", "no packs given"},
		{own + "," + strings.Replace(own, "p.yaml", "p.yaml", 1), "given twice"},
		{"../../etc/passwd.yaml", "no such file"},
	} {
		if _, err := LoadPacks(bad.spec); err == nil || !strings.Contains(err.Error(), bad.msg) {
			t.Errorf("LoadPacks(%q) = %v, want error containing %q", bad.spec, err, bad.msg)
		}
	}
}

func TestReadPack(t *testing.T) {
	if _, err := ReadPack("stdin", strings.NewReader(packHead+okRule)); err != nil {
		t.Fatal(err)
	}
	_, err := ReadPack("stdin", strings.NewReader(packHead+okRule+"    bogus: 1\n"))
	var le LintErrors
	if !errors.As(err, &le) || le[0].File != "stdin" || le[0].Line != 13 {
		t.Fatalf("got %v", err)
	}
}
