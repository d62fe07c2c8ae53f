package report

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/netvet/netvet/internal/exposure"
	"github.com/netvet/netvet/internal/inventory"
	"github.com/netvet/netvet/internal/policy"
)

const testPack = `format: 1
id: t
name: Test pack
jurisdiction: T
version: "1"
vendors: [huawei]
rules:
  - id: t-core-remove
    title: Remove Huawei from the core
    kind: remove_by
    scope: domain in ["core-5g", "core-epc"]
    deadline: 2023-12-31
    source: test
    status: verified
  - id: t-fttp-cap
    title: Huawei at most 35% of full fibre
    kind: share_cap
    metric: premises
    cap: 0.35
    scope: domain == "access-fixed"
    deadline: 2023-10-31
    source: test
    status: verified
  - id: t-5g-remove
    title: Remove Huawei from 5G
    kind: remove_by
    scope: generation.startsWith("5G")
    deadline: 2027-12-31
    source: test
    status: verified
`

const testCSV = `id,name,vendor,domain,function,generation,site,site_sensitivity,install_date,traffic_share,premises
c1,<b>core</b>,Huawei,core-5g,amf,5G-SA,DC1,,2020-01-01,0.3,
c2,,Ericsson,core-5g,smf,5G-SA,DC1,,2020-01-01,0.3,
r1,,Huawei,ran,gnb,5G-SA,"A ""&"" <script>",,2020-01-01,0.05,
f1,=1+1,Huawei,access-fixed,olt,FTTP,X1,national-security,2019-01-01,,500
f2,,Nokia,access-fixed,olt,FTTP,X2,,2019-01-01,,400
`

func testAssessment(t testing.TB, csv string) (*exposure.Assessment, *exposure.Plan) {
	t.Helper()
	p, err := policy.ParsePack("t.yaml", []byte(testPack))
	if err != nil {
		t.Fatal(err)
	}
	eng, err := policy.Compile([]*policy.Pack{p})
	if err != nil {
		t.Fatal(err)
	}
	inv, err := inventory.LoadCSV(strings.NewReader(csv), "t.csv", inventory.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	at, _ := inventory.ParseDate("2024-01-01")
	return exposure.Assess(inv, eng, at), exposure.MakePlan(inv, eng, at)
}

// TestAssessJSONStreamed checks that the streamed JSON is the same
// document, byte for byte, as the one encoding/json writes.
func TestAssessJSONStreamed(t *testing.T) {
	for _, csv := range []string{testCSV, "id,vendor,domain\n"} {
		a, _ := testAssessment(t, csv)
		var got, want bytes.Buffer
		if err := assessJSON(&got, a); err != nil {
			t.Fatal(err)
		}
		if err := writeJSON(&want, a); err != nil {
			t.Fatal(err)
		}
		if !json.Valid(got.Bytes()) {
			t.Fatalf("invalid JSON:\n%s", got.Bytes())
		}
		if got.String() != want.String() {
			t.Errorf("streamed JSON differs:\n%s\nwant:\n%s", got.Bytes(), want.Bytes())
		}
	}
}

func TestRenderers(t *testing.T) {
	a, p := testAssessment(t, testCSV)
	for _, f := range AssessFormats {
		var b bytes.Buffer
		if err := Assessment(&b, a, f); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		out := b.String()
		if f == HTML {
			if strings.Contains(out, "<script>") || strings.Contains(out, "<b>") {
				t.Errorf("html: input not escaped")
			}
			if strings.Contains(out, "http://") && !strings.Contains(out, `xmlns="http://www.w3.org/2000/svg"`) {
				t.Errorf("html: external reference")
			}
			for _, bad := range []string{"<link", "<img", "src="} {
				if strings.Contains(out, bad) {
					t.Errorf("html: external asset %q", bad)
				}
			}
		}
		if f == CSV && !strings.Contains(out, ",'=1+1,") {
			t.Errorf("csv: formula not neutralised:\n%s", out)
		}
		if f == Markdown && strings.Contains(out, "<script>") {
			t.Errorf("markdown: input not escaped")
		}
	}
	for _, f := range PlanFormats {
		var b bytes.Buffer
		if err := Plan(&b, p, f); err != nil {
			t.Fatalf("plan %s: %v", f, err)
		}
	}
	if err := Assessment(&bytes.Buffer{}, a, "xml"); err == nil {
		t.Error("xml accepted")
	}
}

func TestClean(t *testing.T) {
	for in, want := range map[string]string{
		"plain":          "plain",
		"a\x1b[31mred":   `a\u001b[31mred`,
		"bidi\u202eevil": `bidi\u202eevil`,
		"nl\nx":          `nl\u000ax`,
	} {
		if got := clean(in); got != want {
			t.Errorf("clean(%q) = %q, want %q", in, got, want)
		}
	}
	if got := clean(strings.Repeat("x", 500)); len([]rune(got)) != 201 {
		t.Errorf("long value not cut: %d runes", len([]rune(got)))
	}
}

func TestBar(t *testing.T) {
	for x, want := range map[float64]string{0: "", 1: strings.Repeat("█", 20), 0.5: strings.Repeat("█", 10), 2: strings.Repeat("█", 20), -1: ""} {
		if got := bar(x, 20); got != want {
			t.Errorf("bar(%v) = %q, want %q", x, got, want)
		}
	}
}

// FuzzRender feeds arbitrary inventories (as CSV) through the assessment
// and every renderer: no panic, valid JSON, escaped HTML.
func FuzzRender(f *testing.F) {
	f.Add(testCSV)
	f.Add("id,vendor,domain,site\nx,huawei,core-5g,<svg onload=alert(1)>\n")
	f.Add("id,vendor,domain,traffic_share,premises\na,\x1b[2J,ran,1e308,9223372036854775807\n")
	p, err := policy.ParsePack("t.yaml", []byte(testPack))
	if err != nil {
		f.Fatal(err)
	}
	eng, err := policy.Compile([]*policy.Pack{p})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, csv string) {
		if len(csv) > 1<<16 {
			return
		}
		inv, err := inventory.LoadCSV(strings.NewReader(csv), "f.csv", inventory.LoadOptions{})
		if err != nil {
			return
		}
		at, _ := inventory.ParseDate("2024-01-01")
		a := exposure.Assess(inv, eng, at)
		pl := exposure.MakePlan(inv, eng, at)
		for _, fm := range AssessFormats {
			var b bytes.Buffer
			if err := Assessment(&b, a, fm); err != nil {
				t.Fatalf("%s: %v", fm, err)
			}
			if fm == JSON && !json.Valid(b.Bytes()) {
				t.Fatalf("invalid JSON")
			}
			if fm == HTML && strings.Contains(strings.ToLower(b.String()), "<script") {
				t.Fatalf("unescaped script in HTML")
			}
		}
		for _, fm := range PlanFormats {
			if err := Plan(&bytes.Buffer{}, pl, fm); err != nil {
				t.Fatalf("plan %s: %v", fm, err)
			}
		}
		c := exposure.Diff(inv, inv, eng, at)
		for _, fm := range DiffFormats {
			if err := Diff(&bytes.Buffer{}, c, fm); err != nil {
				t.Fatalf("diff %s: %v", fm, err)
			}
		}
	})
}
