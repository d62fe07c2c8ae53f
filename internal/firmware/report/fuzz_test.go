package report

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/netvet/netvet/internal/firmware"
)

// fuzzReport is fullReport with arbitrary text where an image or a
// database can put text, and arbitrary numbers where they can put numbers.
func fuzzReport(text, path, name, licence string, offset int64, line int) *firmware.ScanReport {
	r := fullReport()
	r.Image.Name, r.Image.SHA256 = name, licence
	r.Notes = append(r.Notes, text)
	r.VEX = []string{path}
	f0 := &r.Findings[0]
	f0.Evidence, f0.Path, f0.FSPath, f0.Offset, f0.Line, f0.Title = text, path, path, offset, line, text
	f0.Rule = name
	f0.References = []string{text, path}
	f0.Disposition = &firmware.Disposition{Status: text, Justification: text, Statement: text, Source: path}
	c := &r.Components[0]
	c.ID, c.Name, c.Version, c.PURL, c.Type, c.Ecosystem, c.Supplier = name, name, text, name, text, text, text
	c.CPEs = []string{text, name}
	c.Licenses = []string{licence, text}
	c.Locations = append(c.Locations, firmware.Location{Path: path, FSPath: path, Offset: offset, Evidence: text})
	v := &r.Vulnerabilities[0]
	v.ID, v.Component, v.Description = name, name, text
	v.Aliases, v.URLs, v.FixedIn = []string{text}, []string{path, text}, []string{text}
	v.CVSS = append(v.CVSS, firmware.CVSS{Version: text, Vector: text, Score: float64(line) / 3})
	v.Disposition = &firmware.Disposition{Status: licence, Justification: text, Statement: text, Source: path}
	r.Binaries[0].Path, r.Binaries[0].Imports = path, []string{text}
	return r
}

func fuzzSeeds(f *testing.F) {
	f.Add(hostile, "/etc/passwd", "busybox", "GPL-2.0-only", int64(0), 1, 10)
	f.Add("root::0:0:::", "", "", "", int64(-1), 0, 0)
	f.Add("\xff\xfe\x00", "a b/c:d#e?f%", "pkg:a/b@1", "MIT OR (Apache-2.0", int64(1<<40), -3, -1)
	f.Add("</code></td><td onclick=x>", "javascript:alert(1)", "<img src=x>", "LicenseRef-x", int64(-5), 1<<30, 3)
}

// FuzzRender renders every format of a report full of arbitrary text: no
// error, no panic, valid JSON, a terminal-safe text and an HTML page
// without markup from the input.
func FuzzRender(f *testing.F) {
	fuzzSeeds(f)
	f.Fuzz(func(t *testing.T, text, path, name, licence string, offset int64, line, top int) {
		r := fuzzReport(text, path, name, licence, offset, line)
		for _, format := range Formats() {
			var b bytes.Buffer
			if err := Write(&b, r, format, Options{Top: top}); err != nil {
				t.Fatalf("%s: %v", format, err)
			}
			out := b.Bytes()
			switch format {
			case JSON, SARIF, CycloneDX, SPDX:
				if !json.Valid(out) {
					t.Fatalf("%s: invalid JSON", format)
				}
			case Text:
				for _, r := range string(out) {
					if (r < 0x20 && r != '\n') || r == 0x7f || (r >= 0x80 && r < 0xa0) {
						t.Fatalf("text: control character %U", r)
					}
				}
			case HTML:
				checkTags(t, string(out))
				if bytes.ContainsAny(out, "\x00\x1b") {
					t.Fatal("html: control characters")
				}
			}
		}
	})
}

// FuzzStandards checks that the SARIF, CycloneDX and SPDX documents of a
// report full of arbitrary text still validate against their schemas.
func FuzzStandards(f *testing.F) {
	fuzzSeeds(f)
	f.Fuzz(func(t *testing.T, text, path, name, licence string, offset int64, line, _ int) {
		r := fuzzReport(text, path, name, licence, offset, line)
		for _, tc := range []struct {
			format, schema string
			others         []string
		}{
			{SARIF, "sarif-schema-2.1.0.json", nil},
			{CycloneDX, "bom-1.6.schema.json", []string{"spdx.schema.json", "jsf-0.82.schema.json"}},
			{SPDX, "spdx-schema-2.3.json", nil},
		} {
			validate(t, loadSchema(t, tc.schema, tc.others...), render(t, r, tc.format, Options{}))
		}
	})
}
