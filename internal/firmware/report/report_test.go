package report

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/netvet/netvet/internal/firmware"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/golden")

// goldenExt is the file extension of each format's golden files.
var goldenExt = map[string]string{
	Text: "txt", JSON: "json", SARIF: "sarif", CycloneDX: "cdx.json", SPDX: "spdx.json", HTML: "html",
}

func render(t testing.TB, r *firmware.ScanReport, format string, opts Options) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := Write(&b, r, format, opts); err != nil {
		t.Fatalf("%s: %v", format, err)
	}
	return b.Bytes()
}

func TestFormats(t *testing.T) {
	got := Formats()
	if len(got) != len(goldenExt) || got[0] != Text {
		t.Fatalf("Formats() = %v, want text first and %d formats", got, len(goldenExt))
	}
	for _, f := range got {
		if _, ok := goldenExt[f]; !ok {
			t.Errorf("format %q has no golden file extension (add it to the tests)", f)
		}
	}
}

// TestGolden compares every format of every fixture with its golden file.
// Run `go test ./internal/firmware/report -update` to rewrite them after
// a deliberate change, and read the diff.
func TestGolden(t *testing.T) {
	for _, fx := range fixtures {
		for _, format := range Formats() {
			t.Run(fx.name+"/"+format, func(t *testing.T) {
				got := render(t, fx.make(), format, Options{})
				path := filepath.Join("testdata", "golden", fx.name+"."+goldenExt[format])
				if *update {
					if err := os.WriteFile(path, got, 0o644); err != nil {
						t.Fatal(err)
					}
					return
				}
				want, err := os.ReadFile(path)
				if err != nil {
					t.Fatalf("%v (run with -update to create it)", err)
				}
				if !bytes.Equal(got, want) {
					t.Errorf("output differs from %s (run with -update to accept); got:\n%s", path, got)
				}
			})
		}
	}
}

// TestDeterministic renders each format twice from fresh reports and
// wants the same bytes, and checks Write leaves the report alone.
func TestDeterministic(t *testing.T) {
	for _, fx := range fixtures {
		for _, format := range Formats() {
			t.Run(fx.name+"/"+format, func(t *testing.T) {
				r := fx.make()
				a := render(t, r, format, Options{Color: true})
				if !reflect.DeepEqual(r, fx.make()) {
					t.Fatalf("Write modified the report")
				}
				for range 3 {
					if b := render(t, fx.make(), format, Options{Color: true}); !bytes.Equal(a, b) {
						t.Fatalf("two renderings differ")
					}
				}
			})
		}
	}
}

func TestWriteErrors(t *testing.T) {
	var b bytes.Buffer
	err := Write(&b, fullReport(), "yaml", Options{})
	if err == nil || !strings.Contains(err.Error(), `"yaml"`) || !strings.Contains(err.Error(), "cyclonedx") {
		t.Errorf("unknown format: err = %v, want one naming the format and the choices", err)
	}
	if b.Len() != 0 {
		t.Errorf("unknown format wrote %d bytes", b.Len())
	}
	if err := Write(&b, nil, Text, Options{}); err == nil {
		t.Error("nil report: no error")
	}
	// The default format is text.
	def, txt := render(t, fullReport(), "", Options{}), render(t, fullReport(), Text, Options{})
	if !bytes.Equal(def, txt) {
		t.Error(`format "" is not text`)
	}
	// A failing writer's error comes back.
	boom := errors.New("disk full")
	for _, f := range Formats() {
		if err := Write(failWriter{boom}, fullReport(), f, Options{}); !errors.Is(err, boom) {
			t.Errorf("%s: err = %v, want the writer's", f, err)
		}
	}
}

type failWriter struct{ err error }

func (w failWriter) Write([]byte) (int, error) { return 0, w.err }

func TestJSONRoundTrip(t *testing.T) {
	for _, fx := range fixtures {
		t.Run(fx.name, func(t *testing.T) {
			out := render(t, fx.make(), JSON, Options{})
			var back firmware.ScanReport
			if err := json.Unmarshal(out, &back); err != nil {
				t.Fatal(err)
			}
			if want := normalised(fx.make()); !reflect.DeepEqual(&back, want) {
				t.Errorf("round trip differs:\n got %+v\nwant %+v", back, *want)
			}
			// Arrays are never null; database is null only when skipped.
			var raw map[string]any
			if err := json.Unmarshal(out, &raw); err != nil {
				t.Fatal(err)
			}
			for _, k := range []string{"analyzers", "components", "vulnerabilities", "findings", "binaries", "rules"} {
				if _, ok := raw[k].([]any); !ok {
					t.Errorf("%s = %v, want an array", k, raw[k])
				}
			}
			if (raw["database"] == nil) != (fx.make().Database == nil) {
				t.Errorf("database = %v", raw["database"])
			}
			if fx.name == "full" && !bytes.Contains(out, []byte(`<script>alert(\"x\")</script>`)) {
				t.Error("evidence is not written as it is (HTML escaping on?)")
			}
		})
	}
}

func TestUUIDv5(t *testing.T) {
	// RFC 9562 and Python's uuid module: uuid5(NAMESPACE_DNS, "python.org").
	dns := [16]byte{0x6b, 0xa7, 0xb8, 0x10, 0x9d, 0xad, 0x11, 0xd1, 0x80, 0xb4, 0x00, 0xc0, 0x4f, 0xd4, 0x30, 0xc8}
	if got, want := uuidV5(dns, "python.org"), "886313e1-3b8a-5372-9b90-0c9aee199e5d"; got != want {
		t.Errorf("uuidV5 = %s, want %s", got, want)
	}
}

func TestDocumentName(t *testing.T) {
	a := documentName("cyclonedx", fullReport())
	if a != documentName("cyclonedx", fullReport()) {
		t.Fatal("not stable")
	}
	for name, change := range map[string]func(r *firmware.ScanReport){
		"image":    func(r *firmware.ScanReport) { r.Image.SHA256 = strings.Repeat("0", 64) },
		"version":  func(r *firmware.ScanReport) { r.Version = "v1.0.0" },
		"database": func(r *firmware.ScanReport) { r.Database.Built = "2026-01-01T00:00:00Z" },
		"no db":    func(r *firmware.ScanReport) { r.Database = nil },
		"vex":      func(r *firmware.ScanReport) { r.VEX = nil },
	} {
		r := fullReport()
		change(r)
		if documentName("cyclonedx", r) == a {
			t.Errorf("%s: changing it keeps the document name", name)
		}
	}
	// The findings themselves do not change the identity.
	r := fullReport()
	r.Findings = r.Findings[:1]
	if documentName("cyclonedx", r) != a {
		t.Error("findings change the document name")
	}
}

func TestCreated(t *testing.T) {
	at := time.Date(2025, 12, 1, 10, 0, 0, 0, time.FixedZone("CET", 3600))
	spdx := render(t, fullReport(), SPDX, Options{Created: at})
	if !bytes.Contains(spdx, []byte(`"created": "2025-12-01T09:00:00Z"`)) {
		t.Errorf("SPDX created is not the given time in UTC:\n%s", spdx[:400])
	}
	cdx := render(t, fullReport(), CycloneDX, Options{Created: at})
	if !bytes.Contains(cdx, []byte(`"timestamp": "2025-12-01T09:00:00Z"`)) {
		t.Error("CycloneDX has no metadata.timestamp")
	}
	if bytes.Contains(render(t, fullReport(), CycloneDX, Options{}), []byte(`"timestamp"`)) {
		t.Error("CycloneDX has a timestamp although none was given")
	}
}

func TestHumanBytes(t *testing.T) {
	for _, tc := range []struct {
		n    int64
		want string
	}{{0, "0 B"}, {1023, "1023 B"}, {1024, "1.0 KiB"}, {4194304, "4.0 MiB"}, {12345678, "11.8 MiB"}, {1 << 62, "4.0 EiB"}} {
		if got := humanBytes(tc.n); got != tc.want {
			t.Errorf("humanBytes(%d) = %q, want %q", tc.n, got, tc.want)
		}
	}
}

func TestWebURL(t *testing.T) {
	for s, want := range map[string]bool{
		"https://cwe.mitre.org/data/definitions/258.html": true,
		"http://example.com/a?b=c":                        true,
		"CWE-321":                                         false,
		"javascript:alert(1)":                             false,
		"https://exa mple.com/":                           false,
		"https:///path":                                   false,
		"":                                                false,
		"file:///etc/passwd":                              false,
	} {
		if got := webURL(s); got != want {
			t.Errorf("webURL(%q) = %v, want %v", s, got, want)
		}
	}
}
