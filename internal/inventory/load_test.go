package inventory

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite golden files")

const hdr = "id,vendor,domain,function,generation,plane,install_date,purchase_date,traffic_share,premises_served,sanctions_affected\n"

// want is one expected problem: line, column, a part of the reason, and
// whether it is a warning.
type want struct {
	line, col int
	reason    string
	warning   bool
}

func checkProblems(t *testing.T, inv *Inventory, ws []want) {
	t.Helper()
	if len(inv.Problems) != len(ws) {
		t.Fatalf("got %d problems, want %d: %v", len(inv.Problems), len(ws), inv.Problems)
	}
	for i, w := range ws {
		p := inv.Problems[i]
		if p.Line != w.line || p.Column != w.col || !strings.Contains(p.Reason, w.reason) || p.Warning != w.warning {
			t.Errorf("problem %d = %+v, want line %d col %d reason ~%q warning %v", i, p, w.line, w.col, w.reason, w.warning)
		}
	}
}

var csvCases = []struct {
	name     string
	in       string
	elements int
	skipped  int
	problems []want
}{
	{"ok", hdr + "a,Huawei,ran,gnb,5G-SA,user,2020-01-02,2019-12-01,0.5,,false\n", 1, 0, nil},
	{"bad date", hdr + "a,Huawei,ran,gnb,5G,user,2020-02-30,,,,\n", 0, 1, []want{{2, 26, "not a date", false}}},
	{"year out of range", hdr + "a,Huawei,ran,gnb,5G,user,1800-01-01,,,,\n", 0, 1, []want{{2, 26, "outside 1900..2199", false}}},
	{"bad purchase date", hdr + "a,Huawei,ran,gnb,5G,user,,yesterday,,,\n", 0, 1, []want{{2, 27, "not a date", false}}},
	{"bad number", hdr + "a,Huawei,ran,gnb,5G,user,,,lots,,\n", 0, 1, []want{{2, 28, "not a number", false}}},
	{"share above 1", hdr + "a,Huawei,ran,gnb,5G,user,,,1.01,,\n", 0, 1, []want{{2, 28, "outside 0..1", false}}},
	{"share negative", hdr + "a,Huawei,ran,gnb,5G,user,,,-0.1,,\n", 0, 1, []want{{2, 28, "outside 0..1", false}}},
	{"share NaN", hdr + "a,Huawei,ran,gnb,5G,user,,,NaN,,\n", 0, 1, []want{{2, 28, "outside 0..1", false}}},
	{"share percent", hdr + "a,Huawei,ran,gnb,5G,user,,,35%,,\n", 1, 0, nil},
	{"bad premises", hdr + "a,Huawei,access-fixed,olt,FTTP,user,,,,-5,\n", 0, 1, []want{{2, 40, "negative", false}}},
	{"bad bool", hdr + "a,Huawei,ran,gnb,5G,user,,,,,perhaps\n", 0, 1, []want{{2, 30, "not true or false", false}}},
	{"missing id", hdr + ",Huawei,ran,gnb,5G,user,,,,,\n", 0, 1, []want{{2, 1, "missing id", false}}},
	{"missing vendor", hdr + "a,,ran,gnb,5G,user,,,,,\n", 0, 1, []want{{2, 3, "missing vendor", false}}},
	{"missing domain", hdr + "a,ZTE,,gnb,5G,user,,,,,\n", 0, 1, []want{{2, 7, "missing domain", false}}},
	{"unknown domain", hdr + "a,ZTE,radio,gnb,5G,user,,,,,\n", 0, 1, []want{{2, 7, "unknown domain", false}}},
	{"function as domain", hdr + "a,ZTE,amf,,,,,,,,\n", 0, 1, []want{{2, 7, "is a function of core-5g", false}}},
	{"unknown function kept", hdr + "a,ZTE,ran,amf,5G,user,,,,,\n", 1, 0, []want{{2, 11, "belongs to core-5g", true}}},
	{"unknown generation kept", hdr + "a,ZTE,ran,gnb,6G,user,,,,,\n", 1, 0, []want{{2, 15, "generation", true}}},
	{"unknown plane kept", hdr + "a,ZTE,ran,gnb,5G,data-ish,,,,,\n", 1, 0, []want{{2, 18, "plane", true}}},
	{"duplicate id", hdr + "a,ZTE,ran,,,,,,,,\nb,ZTE,ran,,,,,,,,\na,Nokia,ran,,,,,,,,\n", 2, 1, []want{{4, 1, "duplicate id \"a\" (first at t.csv:2)", false}}},
	{"short row", hdr + "a,ZTE,ran\n", 0, 1, []want{{2, 7, "row has 3 fields", false}}},
	{"long row", hdr + "a,ZTE,ran,,,,,,,,,x\n", 0, 1, []want{{2, 19, "row has 12 fields", false}}},
	{"bare quote", hdr + "a,ZT\"E,ran,,,,,,,,\nb,ZTE,ran,,,,,,,,\n", 1, 1, []want{{2, 5, "bare \" in non-quoted-field", false}}},
	{"two problems one row", hdr + "a,ZTE,ran,gnb,5G,user,2020-99-01,,7,,\n", 0, 1, []want{{2, 23, "not a date", false}, {2, 35, "outside 0..1", false}}},
	{"quoted multiline", hdr + "\"a\nb\",ZTE,ran,,,,,,,,\nc,ZTE,nope,,,,,,,,\n", 1, 1, []want{{4, 7, "unknown domain", false}}},
	{"unknown column", "id,vendor,domain,colour\na,ZTE,ran,red\n", 1, 0, []want{{1, 18, "unknown column", true}}},
	{"synonyms and order", "Domain,SW_Version,Vendor,ID,Premises,Procurement_Date\nran,1.0,ZTE,a,3,2020-01-01\n", 1, 0, nil},
	{"BOM", "\ufeff" + hdr + "a,ZTE,ran,,,,,,,,\n", 1, 0, nil},
}

func TestLoadCSV(t *testing.T) {
	for _, c := range csvCases {
		t.Run(c.name, func(t *testing.T) {
			inv, err := LoadCSV(strings.NewReader(c.in), "t.csv", LoadOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if len(inv.Elements) != c.elements || inv.Skipped != c.skipped {
				t.Errorf("elements %d skipped %d, want %d and %d; problems %v", len(inv.Elements), inv.Skipped, c.elements, c.skipped, inv.Problems)
			}
			checkProblems(t, inv, c.problems)
			// Strict: fails exactly when there is a problem, at the first one.
			_, err = LoadCSV(strings.NewReader(c.in), "t.csv", LoadOptions{Strict: true})
			var se *StrictError
			if len(c.problems) == 0 {
				if err != nil {
					t.Errorf("strict: %v", err)
				}
			} else if !errors.As(err, &se) || se.Problem.Line != c.problems[0].line || se.Problem.Column != c.problems[0].col {
				t.Errorf("strict: err %v, want a StrictError at %d:%d", err, c.problems[0].line, c.problems[0].col)
			}
		})
	}
}

func TestLoadCSVFatal(t *testing.T) {
	cases := []struct{ name, in, want string }{
		{"empty", "", "empty file"},
		{"no vendor column", "id,domain\na,ran\n", "required column(s) vendor"},
		{"duplicate column", "id,vendor,domain,sw_version,software_version\n", "column software_version given twice"},
		{"huge record", hdr + strings.Repeat("x", MaxLineBytes+10000) + "\n", "CSV record longer than"},
		{"huge quoted multiline record", hdr + "\"" + strings.Repeat("x\n", MaxLineBytes) + "\"\n", "CSV record longer than"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := LoadCSV(strings.NewReader(c.in), "t.csv", LoadOptions{})
			var le *LoadError
			if !errors.As(err, &le) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err %v, want a LoadError containing %q", err, c.want)
			}
		})
	}
}

func TestLoadCSVManyProblemsBounded(t *testing.T) {
	var b strings.Builder
	b.WriteString(hdr)
	for i := 0; i < MaxProblems+500; i++ {
		b.WriteString(",ZTE,ran,,,,,,,,\n")
	}
	inv, err := LoadCSV(strings.NewReader(b.String()), "t.csv", LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(inv.Problems) != MaxProblems || inv.MoreProblems != 500 || inv.Skipped != MaxProblems+500 {
		t.Errorf("problems %d more %d skipped %d", len(inv.Problems), inv.MoreProblems, inv.Skipped)
	}
}

// TestGolden loads testdata/small.csv and compares the JSON of the
// inventory with testdata/small.golden.json (rewrite with -update).
func TestGolden(t *testing.T) {
	for _, name := range []string{"small.csv", "small.json", "tmf639-v4.json", "tmf639-v5.json"} {
		t.Run(name, func(t *testing.T) {
			inv, err := Load(context.Background(), filepath.Join("testdata", name), LoadOptions{})
			if err != nil {
				t.Fatal(err)
			}
			inv.Source = name
			for i := range inv.Elements {
				inv.Elements[i].Origin = strings.TrimPrefix(inv.Elements[i].Origin, "testdata/")
			}
			for i := range inv.Problems {
				inv.Problems[i].Input = name
			}
			got, err := json.MarshalIndent(inv, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, '\n')
			golden := filepath.Join("testdata", name+".golden")
			if *update {
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			exp, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, exp) {
				t.Errorf("%s differs from %s (run go test -update):\n%s", name, golden, got)
			}
		})
	}
}

// The netvet JSON written for an inventory loads back to the same elements.
func TestJSONRoundTrip(t *testing.T) {
	inv, err := Load(context.Background(), "testdata/small.csv", LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(inv)
	back, err := LoadJSON(bytes.NewReader(b), "rt.json", LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(back.Problems) != 1 { // the one unknown-function warning
		t.Errorf("problems: %v", back.Problems)
	}
	for i := range inv.Elements {
		inv.Elements[i].Origin, back.Elements[i].Origin = "", ""
	}
	a, _ := json.Marshal(inv.Elements)
	c, _ := json.Marshal(back.Elements)
	if !bytes.Equal(a, c) {
		t.Errorf("round trip differs:\n%s\n%s", a, c)
	}
}

var jsonCases = []struct {
	name     string
	in       string
	elements int
	skipped  int
	problems []want
}{
	{"bare array", `[{"id":"a","vendor":"ZTE","domain":"ran"}]`, 1, 0, nil},
	{"elements member", `{"source":"x","elements":[{"id":"a","vendor":"ZTE","domain":"ran","tags":["x","y"],"evidence":[{"scheme":"NESAS","report_id":"r1"}]}]}`, 1, 0, nil},
	{"numbers as strings", `[{"id":7,"vendor":"ZTE","domain":"ran","traffic_share":"0.25","premises_served":"12"}]`, 1, 0, nil},
	{"bad date", "[\n {\"id\":\"a\",\"vendor\":\"ZTE\",\"domain\":\"ran\",\n  \"install_date\":\"2020-1-1\"}]", 0, 1, []want{{3, 18, "not a date", false}}},
	{"share out of range", "[{\"id\":\"a\",\"vendor\":\"ZTE\",\"domain\":\"ran\",\"traffic_share\":2}]", 0, 1, []want{{1, 58, "outside 0..1", false}}},
	{"object value", `[{"id":"a","vendor":{"n":1},"domain":"ran"}]`, 0, 1, []want{{1, 21, "want a string", false}, {1, 2, "missing vendor", false}}},
	{"bad tags", `[{"id":"a","vendor":"ZTE","domain":"ran","tags":[{}]}]`, 0, 1, []want{{1, 49, "list of strings", false}}},
	{"bad evidence", `[{"id":"a","vendor":"ZTE","domain":"ran","evidence":"x"}]`, 0, 1, []want{{1, 53, "scheme, report_id", false}}},
	{"not an object", "[1,\n{\"id\":\"a\",\"vendor\":\"ZTE\",\"domain\":\"ran\"}]", 1, 1, []want{{1, 2, "want an object", false}}},
	{"missing domain", "[{\"id\":\"a\",\"vendor\":\"ZTE\"}]", 0, 1, []want{{1, 2, "missing domain", false}}},
	{"duplicate", "[{\"id\":\"a\",\"vendor\":\"ZTE\",\"domain\":\"ran\"},\n{\"id\":\"a\",\"vendor\":\"ZTE\",\"domain\":\"ran\"}]", 1, 1, []want{{2, 7, "duplicate id", false}}},
	{"unknown function", `[{"id":"a","vendor":"ZTE","domain":"ran","function":"olt"}]`, 1, 0, []want{{1, 53, "belongs to access-fixed", true}}},
}

func TestLoadJSON(t *testing.T) {
	for _, c := range jsonCases {
		t.Run(c.name, func(t *testing.T) {
			inv, err := LoadJSON(strings.NewReader(c.in), "t.json", LoadOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if len(inv.Elements) != c.elements || inv.Skipped != c.skipped {
				t.Errorf("elements %d skipped %d, want %d and %d; problems %v", len(inv.Elements), inv.Skipped, c.elements, c.skipped, inv.Problems)
			}
			checkProblems(t, inv, c.problems)
		})
	}
}

func TestLoadJSONFatal(t *testing.T) {
	cases := []struct {
		name, in  string
		line, col int
		want      string
	}{
		{"empty", "", 0, 0, "empty input"},
		{"scalar", "42", 1, 3, "want an array or an object"},
		{"syntax", "[{\"id\":\"a\"},\n {\"id\" \"b\"}]", 2, 7, "invalid JSON"},
		{"truncated", "[{\"id\":\"a\",\"vendor\":\"ZTE\",\"domain\":\"ran\"},\n{\"id\":", 2, 7, "unexpected end"},
		{"no elements", `{"things":[]}`, 1, 1, `no "elements" member`},
		{"trailing", `[] []`, 1, 4, "data after the end"},
		{"huge element", `[{"id":"` + strings.Repeat("x", 2*MaxLineBytes) + `"}]`, 0, 0, "JSON value longer than"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := LoadJSON(strings.NewReader(c.in), "t.json", LoadOptions{})
			var le *LoadError
			if !errors.As(err, &le) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err %v, want a LoadError containing %q", err, c.want)
			}
			if c.line != 0 && (le.Problem.Line != c.line || le.Problem.Column != c.col) {
				t.Errorf("at %d:%d, want %d:%d (%v)", le.Problem.Line, le.Problem.Column, c.line, c.col, err)
			}
		})
	}
}

var tmfCases = []struct {
	name     string
	in       string
	elements int
	skipped  int
	problems []want
}{
	{"v4 array", `[{"id":"r1","name":"gNB 1","relatedParty":[{"id":"p1","name":"Huawei Technologies Co., Ltd.","role":"manufacturer"}],
"resourceSpecification":{"id":"s1","name":"BBU5900"},"resourceVersion":"V100R019",
"place":[{"id":"SITE-1","name":"London 1","role":"installationPlace"}],
"resourceCharacteristic":[{"name":"domain","value":"ran"},{"name":"function","value":"gnb"},{"name":"generation","value":"5G-NSA"},{"name":"siteSensitivity","value":"national-security"}]}]`, 1, 0, nil},
	{"v5 wrapped", `{"resource":[{"id":"r2","@type":"PhysicalResource","relatedParty":[{"role":"vendor","partyOrPartyRole":{"id":"o1","name":"ZTE Corporation"}}],
"versionNumber":"2.0","place":[{"role":"other","place":{"id":"P9","name":"Site 9"}}],"lifecycleState":"pendingRemoval","startOperatingDate":"2021-05-06T10:00:00Z",
"resourceCharacteristic":[{"name":"network_domain","value":"core-5g"},{"name":"nf","value":"amf"},{"name":"traffic_share","value":0.25},{"name":"tags","value":["a","b"]}]}]}`, 1, 0, nil},
	{"single resource", `{"id":"r3","relatedParty":[{"name":"Nokia","role":"manufacturer"}],"resourceCharacteristic":[{"name":"domain","value":"transport"}]}`, 1, 0, nil},
	{"no vendor", "[{\"id\":\"r4\",\"resourceCharacteristic\":[{\"name\":\"domain\",\"value\":\"ran\"}]}]", 0, 1, []want{{1, 2, "missing vendor", false}}},
	{"bad characteristic value", "[{\"id\":\"r5\",\"relatedParty\":[{\"name\":\"ZTE\",\"role\":\"manufacturer\"}],\n\"resourceCharacteristic\":[{\"name\":\"domain\",\"value\":\"ran\"},{\"name\":\"install_date\",\"value\":\"soon\"}]}]", 0, 1, []want{{2, 26, "not a date", false}}},
	{"type error", "[{\"id\":\"r6\",\n\"place\":\"nowhere\"}]", 0, 1, []want{{2, 9, "place", false}}},
}

func TestLoadTMF639(t *testing.T) {
	for _, c := range tmfCases {
		t.Run(c.name, func(t *testing.T) {
			inv, err := LoadTMF639(strings.NewReader(c.in), "t.json", LoadOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if len(inv.Elements) != c.elements || inv.Skipped != c.skipped {
				t.Errorf("elements %d skipped %d, want %d and %d; problems %v", len(inv.Elements), inv.Skipped, c.elements, c.skipped, inv.Problems)
			}
			checkProblems(t, inv, c.problems)
		})
	}
	inv, _ := LoadTMF639(strings.NewReader(tmfCases[1].in), "t.json", LoadOptions{})
	e := inv.Elements[0]
	if e.Vendor != "zte" || e.Site != "Site 9" || e.Domain != "core-5g" || e.Function != "amf" || e.SoftwareVersion != "2.0" ||
		e.InstallDate.String() != "2021-05-06" || e.TrafficShare != 0.25 || strings.Join(e.Tags, ",") != "a,b,lifecycle:pendingRemoval" {
		t.Errorf("v5 mapping: %+v", e)
	}
}

func TestSniff(t *testing.T) {
	cases := []struct{ ext, head, want string }{
		{".csv", "[", FormatCSV},
		{".json", `{"elements":[]}`, FormatJSON},
		{".json", `[{"id":"a","vendor":"x"}]`, FormatJSON},
		{".json", `[{"id":"a","resourceCharacteristic":[]}]`, FormatTMF639},
		{"", `{"resource":[]}`, FormatTMF639},
		{"", "id,vendor,domain\n", FormatCSV},
		{".txt", "  [ ]", FormatJSON},
	}
	for _, c := range cases {
		if got := Sniff(c.ext, []byte(c.head)); got != c.want {
			t.Errorf("Sniff(%q, %q) = %s, want %s", c.ext, c.head, got, c.want)
		}
	}
}

func TestLoadExamples(t *testing.T) {
	for _, p := range []string{"../../examples/exposure/operator.csv", "../../examples/exposure/operator-2026q4.csv"} {
		inv, err := Load(context.Background(), p, LoadOptions{Strict: true})
		if err != nil {
			t.Fatal(err)
		}
		if n := len(inv.Elements); n < 4500 || n > 5500 {
			t.Errorf("%s: %d elements", p, n)
		}
	}
}
