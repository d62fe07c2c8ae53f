package vex

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	govex "github.com/openvex/go-vex/pkg/vex"

	"github.com/netvet/netvet/internal/firmware"
)

const imageSHA = "5b0f4c5cbd3b1a7d1fb0a4e6c9a1b0d2e3f4a5b6c7d8e9f00112233445566778"

var comps = []firmware.Component{
	{ID: "busybox-opkg", Name: "busybox", Version: "1.36.1-1", Ecosystem: "opkg",
		PURL: "pkg:opkg/busybox@1.36.1-1?arch=mipsel_24kc", CPEs: []string{"cpe:2.3:a:busybox:busybox:1.36.1:*:*:*:*:*:*:*"},
		Locations: []firmware.Location{{Path: "demo-router.bin/rootfs/usr/lib/opkg/status", FSPath: "/usr/lib/opkg/status"}}},
	{ID: "busybox-bin", Name: "busybox", Version: "1.36.1", Ecosystem: "binary",
		PURL: "pkg:generic/busybox@1.36.1", CPEs: []string{"cpe:2.3:a:busybox:busybox:*:*:*:*:*:*:*:*"},
		Locations: []firmware.Location{{Path: "demo-router.bin/rootfs/bin/busybox", FSPath: "/bin/busybox"}}},
	{ID: "dropbear-bin", Name: "dropbear", Version: "2022.83", Ecosystem: "binary",
		PURL: "pkg:generic/dropbear@2022.83", CPEs: []string{"cpe:2.3:a:dropbear_ssh_project:dropbear_ssh:*:*:*:*:*:*:*:*"},
		Locations: []firmware.Location{{Path: "demo-router.bin/rootfs/usr/sbin/dropbear", FSPath: "/usr/sbin/dropbear"}}},
	{ID: "openssl-lib", Name: "openssl", Version: "1.0.1e", Ecosystem: "binary", PURL: "pkg:generic/openssl@1.0.1e"},
}

var vulns = []firmware.Vulnerability{
	{ID: "CVE-2014-0160", Component: "openssl-lib", Severity: firmware.SeverityHigh},
	{ID: "CVE-2022-48174", Component: "busybox-bin", Severity: firmware.SeverityCritical},
	{ID: "CVE-2022-48174", Component: "busybox-opkg", Severity: firmware.SeverityCritical},
	{ID: "CVE-2023-42366", Component: "busybox-bin", Severity: firmware.SeverityMedium},
	{ID: "CVE-2023-42366", Component: "busybox-opkg", Severity: firmware.SeverityMedium},
	{ID: "CVE-2023-48795", Component: "dropbear-bin", Severity: firmware.SeverityMedium},
	{ID: "CVE-2024-5535", Component: "openssl-lib", Severity: firmware.SeverityCritical},
}

var findings = []firmware.Finding{
	{Rule: "NV-KEY-002", Path: "demo-router.bin/rootfs/etc/dropbear/dropbear_rsa_host_key", FSPath: "/etc/dropbear/dropbear_rsa_host_key", Offset: -1},
	{Rule: "NV-KEY-002", Path: "demo-router.bin/rootfs/etc/ssl/private/server.key", FSPath: "/etc/ssl/private/server.key", Offset: -1},
	{Rule: "NV-SVC-001", Path: "demo-router.bin/rootfs/etc/inittab", FSPath: "/etc/inittab", Offset: 120, Line: 7},
	{Rule: "NV-SVC-001", Path: "demo-router.bin/rootfs/etc/init.d/telnet", FSPath: "/etc/init.d/telnet", Offset: 0, Line: 3},
	{Rule: "NV-FS-001", Path: "demo-router.bin/rootfs/bin/busybox", FSPath: "/bin/busybox", Offset: -1},
}

type want struct{ status, justification, source string }

func dispositions(t *testing.T, vs []firmware.Vulnerability) map[string]want {
	t.Helper()
	m := map[string]want{}
	for _, v := range vs {
		if v.Disposition != nil {
			m[v.ID+"@"+v.Component] = want{v.Disposition.Status, v.Disposition.Justification, v.Disposition.Source}
		}
	}
	return m
}

func TestOpenVEXVulns(t *testing.T) {
	p := filepath.Join("testdata", "router.openvex.json")
	s, err := Load(p)
	if err != nil {
		t.Fatal(err)
	}
	if s.Len() != 5 || !reflect.DeepEqual(s.Sources(), []string{p}) {
		t.Fatalf("loaded %d statements from %v", s.Len(), s.Sources())
	}
	in := append([]firmware.Vulnerability(nil), vulns...)
	out := s.ApplyVulns(in, comps)
	if len(out) != len(vulns) {
		t.Fatalf("%d vulnerabilities out of %d: dispositions must never drop items", len(out), len(vulns))
	}
	if !reflect.DeepEqual(in, vulns) {
		t.Fatal("ApplyVulns changed its input")
	}
	got := dispositions(t, out)
	wantM := map[string]want{
		// purl with a qualifier: only the opkg package, not the busybox binary.
		"CVE-2023-42366@busybox-opkg": {"not_affected", "vulnerable_code_not_present", p + "#/statements/0"},
		// subcomponent named by CPE; the component's CPE has version "*", its version is 2022.83.
		"CVE-2023-48795@dropbear-bin": {"mitigated", "inline_mitigations_already_exist", p + "#/statements/1"},
		// vulnerability named by an NVD IRI; purl without qualifiers matches the opkg package.
		"CVE-2022-48174@busybox-opkg": {"accepted", "", p + "#/statements/2"},
	}
	if !reflect.DeepEqual(got, wantM) {
		t.Errorf("dispositions:\n got %v\nwant %v", got, wantM)
	}
	for _, v := range out {
		if v.ID == "CVE-2023-48795" && !strings.Contains(v.Disposition.Statement, "aes128-ctr") {
			t.Errorf("statement text %q", v.Disposition.Statement)
		}
		if v.ID == "CVE-2022-48174" && v.Component == "busybox-opkg" && !v.Disposition.Suppresses() {
			t.Error("an accepted risk must not count towards --fail-on")
		}
	}
}

func TestOpenVEXFindings(t *testing.T) {
	p := filepath.Join("testdata", "router.openvex.json")
	s, err := Load(p)
	if err != nil {
		t.Fatal(err)
	}
	out := s.ApplyFindings(findings)
	if len(out) != len(findings) {
		t.Fatalf("%d findings out of %d", len(out), len(findings))
	}
	got := map[string]string{}
	for _, f := range out {
		if f.Disposition != nil {
			got[f.Rule+" "+f.FSPath] = f.Disposition.Status
		}
	}
	wantM := map[string]string{
		"NV-SVC-001 /etc/inittab":                        "mitigated",
		"NV-KEY-002 /etc/dropbear/dropbear_rsa_host_key": "under_investigation",
	}
	if !reflect.DeepEqual(got, wantM) {
		t.Errorf("got %v, want %v", got, wantM)
	}
	for _, f := range findings {
		if f.Disposition != nil {
			t.Fatal("ApplyFindings changed its input")
		}
	}
}

func TestCycloneDX(t *testing.T) {
	p := filepath.Join("testdata", "router.cdx.json")
	s, err := Load(p)
	if err != nil {
		t.Fatal(err)
	}
	if s.Len() != 4 {
		t.Fatalf("%d statements, want 4 (a vulnerability without analysis is none)", s.Len())
	}
	// Without knowing the image, the statement about "image" (by hash)
	// applies to nothing.
	got := dispositions(t, s.ApplyVulns(vulns, comps))
	wantM := map[string]want{
		"CVE-2023-48795@dropbear-bin": {"mitigated", "protected_at_perimeter", p + "#/vulnerabilities/0"},
		"CVE-2014-0160@openssl-lib":   {"accepted", "", p + "#/vulnerabilities/1"},
	}
	if !reflect.DeepEqual(got, wantM) {
		t.Errorf("no image:\n got %v\nwant %v", got, wantM)
	}
	s.SetImage(firmware.ImageRef{Name: "demo-router.bin", SHA256: strings.ToUpper(imageSHA)})
	got = dispositions(t, s.ApplyVulns(vulns, comps))
	wantM["CVE-2024-5535@openssl-lib"] = want{"under_investigation", "", p + "#/vulnerabilities/2"}
	if !reflect.DeepEqual(got, wantM) {
		t.Errorf("with the image:\n got %v\nwant %v", got, wantM)
	}
	s.SetImage(firmware.ImageRef{Name: "other.bin", SHA256: strings.Repeat("0", 64)})
	if d := dispositions(t, s.ApplyVulns(vulns, comps)); d["CVE-2024-5535@openssl-lib"].status != "" {
		t.Error("a statement about another image applied")
	}
	fs := s.ApplyFindings(findings)
	for _, f := range fs {
		switch {
		case f.Rule == "NV-SVC-001" && f.FSPath == "/etc/inittab":
			if f.Disposition == nil || f.Disposition.Status != "false_positive" || !f.Disposition.Suppresses() {
				t.Errorf("inittab finding: %+v", f.Disposition)
			}
		case f.Disposition != nil:
			t.Errorf("unexpected disposition on %s %s", f.Rule, f.FSPath)
		}
	}
	for _, v := range s.ApplyVulns(vulns, comps) {
		if v.ID == "CVE-2014-0160" && v.Disposition.Statement != "The library is linked only by the unused TR-069 client; the device is decommissioned in June. (response: will_not_fix)" {
			t.Errorf("statement %q", v.Disposition.Statement)
		}
	}
}

func doc(statements string) []byte {
	return []byte(`{"@context":"https://openvex.dev/ns/v0.2.0","@id":"x","author":"t","timestamp":"2026-03-01T00:00:00Z","version":1,"statements":[` + statements + `]}`)
}

func TestPrecedence(t *testing.T) {
	v := []firmware.Vulnerability{{ID: "CVE-2023-48795", Component: "dropbear-bin"}}
	cases := []struct {
		name string
		docs [][]byte
		want string
	}{
		{"newer statement wins", [][]byte{
			doc(`{"vulnerability":{"name":"CVE-2023-48795"},"status":"affected","action_statement":"update","timestamp":"2026-03-05T00:00:00Z"},
			     {"vulnerability":{"name":"CVE-2023-48795"},"status":"fixed","timestamp":"2026-03-04T00:00:00Z"}`),
		}, "affected"},
		{"same time: the more specific wins", [][]byte{
			doc(`{"vulnerability":{"name":"CVE-2023-48795"},"products":[{"@id":"pkg:generic/dropbear@2022.83"}],"status":"fixed"},
			     {"vulnerability":{"name":"CVE-2023-48795"},"status":"under_investigation"}`),
		}, "fixed"},
		{"same time, same specificity: the last loaded wins", [][]byte{
			doc(`{"vulnerability":{"name":"CVE-2023-48795"},"status":"under_investigation"}`),
			doc(`{"vulnerability":{"name":"CVE-2023-48795"},"status":"fixed"}`),
		}, "fixed"},
		{"statement time falls back to the document's", [][]byte{
			doc(`{"vulnerability":{"name":"CVE-2023-48795"},"status":"fixed","timestamp":"2026-02-01T00:00:00Z"}`),
			doc(`{"vulnerability":{"name":"CVE-2023-48795"},"status":"under_investigation"}`),
		}, "under_investigation"},
		{"no product matches", [][]byte{
			doc(`{"vulnerability":{"name":"CVE-2023-48795"},"products":[{"@id":"pkg:generic/dropbear@2024.84"}],"status":"fixed"}`),
		}, ""},
		{"alias", [][]byte{
			doc(`{"vulnerability":{"name":"GHSA-45x7-px36-x8w8","aliases":["cve-2023-48795"]},"status":"fixed"}`),
		}, "fixed"},
		{"v0.0.1 plain strings", [][]byte{
			[]byte(`{"@context":"https://openvex.dev/ns/v0.0.1","@id":"x","author":"a","timestamp":"2023-01-08T18:02:03.647787998-06:00","version":"1",
			 "statements":[{"vulnerability":"CVE-2023-48795","products":["pkg:generic/dropbear@2022.83"],"status":"fixed"}]}`),
		}, "fixed"},
		{"product by BOM reference", [][]byte{
			doc(`{"vulnerability":{"name":"CVE-2023-48795"},"products":[{"@id":"dropbear-bin"}],"status":"fixed"}`),
		}, "fixed"},
		{"product by file the component was found in", [][]byte{
			doc(`{"vulnerability":{"name":"CVE-2023-48795"},"products":[{"@id":"file:///usr/sbin/*"}],"status":"fixed"}`),
		}, "fixed"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var paths []string
			for i, d := range tc.docs {
				p := filepath.Join(t.TempDir(), "d"+string(rune('0'+i))+".json")
				os.WriteFile(p, d, 0o644)
				paths = append(paths, p)
			}
			s, err := Load(paths...)
			if err != nil {
				t.Fatal(err)
			}
			out := s.ApplyVulns(v, comps)
			got := ""
			if out[0].Disposition != nil {
				got = out[0].Disposition.Status
			}
			if got != tc.want {
				t.Errorf("status %q, want %q", got, tc.want)
			}
		})
	}
}

func TestFindingProducts(t *testing.T) {
	cases := []struct {
		product string
		want    []string // FSPaths of NV-SVC-001 findings that get a disposition
	}{
		{`{"@id":"file:///etc/inittab"}`, []string{"/etc/inittab"}},
		{`{"@id":"file:/etc/init.d/*"}`, []string{"/etc/init.d/telnet"}},
		{`{"@id":"file:///etc/**"}`, []string{"/etc/inittab", "/etc/init.d/telnet"}},
		{`{"@id":"demo-router.bin/rootfs/etc/inittab"}`, []string{"/etc/inittab"}},
		{`{"@id":"demo-router.bin/*/etc/init.d/*"}`, []string{"/etc/init.d/telnet"}},
		{`{"@id":"file:///etc/passwd"}`, nil},
		{`{"@id":"pkg:generic/busybox@1.36.1"}`, nil},
		{`{"hashes":{"sha-256":"` + imageSHA + `"}}`, []string{"/etc/inittab", "/etc/init.d/telnet"}},
		{`{"hashes":{"sha-256":"` + strings.Repeat("1", 64) + `"},"subcomponents":[{"@id":"file:///etc/inittab"}]}`, nil},
		{`{"@id":"sha256:` + imageSHA + `","subcomponents":[{"@id":"file:///etc/inittab"}]}`, []string{"/etc/inittab"}},
	}
	for _, tc := range cases {
		t.Run(tc.product, func(t *testing.T) {
			s, err := Parse("t.json", doc(`{"vulnerability":{"name":"NV-SVC-001"},"products":[`+tc.product+`],"status":"not_affected","justification":"component_not_present"}`))
			if err != nil {
				t.Fatal(err)
			}
			s.SetImage(firmware.ImageRef{SHA256: imageSHA})
			var got []string
			for _, f := range s.ApplyFindings(findings) {
				if f.Disposition != nil {
					if f.Rule != "NV-SVC-001" {
						t.Errorf("rule %s got a disposition", f.Rule)
					}
					got = append(got, f.FSPath)
				}
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	cases := []struct {
		name, data, want string
	}{
		{"syntax", "{\n  \"statements\": [\n    {,}\n  ]\n}", "line 3, column 6: invalid JSON"},
		{"type", `{"statements": [{"vulnerability": {"name": 42}}]}`, "$.statements[0].vulnerability.name: a JSON number where string was expected"},
		{"top-level type", "{\n \"statements\": [],\n \"timestamp\": 7}", "line 3, column 15: timestamp: a JSON number where string was expected"},
		{"product type", string(doc(`{"vulnerability":{"name":"CVE-1"},"status":"fixed","products":[{"identifiers":{"purl":1}}]}`)), "$.statements[0].products[0].identifiers: a JSON number"},
		{"subcomponent nesting", string(doc(`{"vulnerability":{"name":"CVE-1"},"status":"fixed","products":[{"@id":"a","subcomponents":[{"@id":"b","subcomponents":["c"]}]}]}`)), "has no subcomponents of its own"},
		{"not vex", `{"hello": "world"}`, "neither an OpenVEX document"},
		{"unknown status", string(doc(`{"vulnerability":{"name":"CVE-1"},"status":"probably_fine"}`)), `$.statements[0].status: "probably_fine" is not an OpenVEX status`},
		{"no status", string(doc(`{"vulnerability":{"name":"CVE-1"}}`)), "$.statements[0]: no status"},
		{"not_affected without justification", string(doc(`{"vulnerability":{"name":"CVE-1"},"status":"not_affected"}`)), "needs a justification or an impact_statement"},
		{"bad justification", string(doc(`{"vulnerability":{"name":"CVE-1"},"status":"not_affected","justification":"trust_me"}`)), `justification: "trust_me" is not an OpenVEX justification`},
		{"justification on affected", string(doc(`{"vulnerability":{"name":"CVE-1"},"status":"affected","action_statement":"x","justification":"component_not_present"}`)), "only a not_affected statement"},
		{"affected without action", string(doc(`{"vulnerability":{"name":"CVE-1"},"status":"affected"}`)), "needs an action_statement"},
		{"no vulnerability", string(doc(`{"status":"fixed"}`)), "$.statements[0].vulnerability: no name"},
		{"bad time", string(doc(`{"vulnerability":{"name":"CVE-1"},"status":"fixed","timestamp":"yesterday"}`)), `$.statements[0].timestamp: "yesterday" is not an RFC 3339 time`},
		{"bad purl", string(doc(`{"vulnerability":{"name":"CVE-1"},"status":"fixed","products":[{"identifiers":{"purl":"busybox"}}]}`)), "$.statements[0].products[0].identifiers.purl"},
		{"bad hash", string(doc(`{"vulnerability":{"name":"CVE-1"},"status":"fixed","products":[{"hashes":{"sha-256":"xyz"}}]}`)), "hashes.sha-256"},
		{"empty product", string(doc(`{"vulnerability":{"name":"CVE-1"},"status":"fixed","products":[{}]}`)), "$.statements[0].products[0]: no @id"},
		{"empty subcomponent", string(doc(`{"vulnerability":{"name":"CVE-1"},"status":"fixed","products":[{"@id":"x","subcomponents":[{}]}]}`)), "subcomponents[0]: no @id"},
		{"cdx old", `{"bomFormat":"CycloneDX","specVersion":"1.3","components":[]}`, "1.4 or later"},
		{"cdx state", `{"bomFormat":"CycloneDX","specVersion":"1.5","vulnerabilities":[{"id":"CVE-1","analysis":{"state":"meh"}}]}`, `$.vulnerabilities[0].analysis.state: "meh"`},
		{"cdx justification", `{"bomFormat":"CycloneDX","specVersion":"1.5","vulnerabilities":[{"id":"CVE-1","analysis":{"state":"not_affected","justification":"nope"}}]}`, "analysis.justification"},
		{"cdx not_affected bare", `{"bomFormat":"CycloneDX","specVersion":"1.5","vulnerabilities":[{"id":"CVE-1","analysis":{"state":"not_affected"}}]}`, "needs a justification or a detail"},
		{"cdx response", `{"bomFormat":"CycloneDX","specVersion":"1.6","vulnerabilities":[{"id":"CVE-1","analysis":{"state":"exploitable","response":["pray"]}}]}`, "analysis.response[0]"},
		{"cdx empty ref", `{"bomFormat":"CycloneDX","specVersion":"1.6","vulnerabilities":[{"id":"CVE-1","analysis":{"state":"in_triage"},"affects":[{"ref":""}]}]}`, "affects[0].ref: empty"},
		{"cdx bad purl", `{"bomFormat":"CycloneDX","specVersion":"1.6","components":[{"bom-ref":"a","purl":"nope"}]}`, "$.components[0].purl"},
		{"cdx nested too deep", `{"bomFormat":"CycloneDX","specVersion":"1.6","components":[` + strings.Repeat(`{"components":[`, 40) + strings.Repeat(`]}`, 40) + `]}`, "nested more than 32 deep"},
		{"cdx metadata time", `{"bomFormat":"CycloneDX","specVersion":"1.6","metadata":{"timestamp":"01/02/2026"}}`, "$.metadata.timestamp"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("bad.json", []byte(tc.data))
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "bad.json") {
				t.Fatalf("err = %v, want it to start with the file and contain %q", err, tc.want)
			}
		})
	}
}

func TestLoadErrors(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join("testdata", "router.openvex.json")
	bad := filepath.Join(dir, "bad.json")
	os.WriteFile(bad, []byte(`{"statements": 1}`), 0o644)
	big := filepath.Join(dir, "big.json")
	f, _ := os.Create(big)
	f.Truncate(MaxFileSize + 1)
	f.Close()
	_, err := Load(good, bad, filepath.Join(dir, "missing.json"), big)
	if err == nil {
		t.Fatal("no error")
	}
	for _, w := range []string{"bad.json", "missing.json", "big.json: larger than"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not mention %q", err, w)
		}
	}
	if _, err := Parse("huge", make([]byte, MaxFileSize+1)); err == nil {
		t.Error("Parse accepted an oversized document")
	}
}

func TestNilAndEmptySet(t *testing.T) {
	var s *Set
	if out := s.ApplyVulns(vulns, comps); len(out) != len(vulns) {
		t.Error("nil set dropped vulnerabilities")
	}
	if out := s.ApplyFindings(findings); len(out) != len(findings) {
		t.Error("nil set dropped findings")
	}
	e, err := Load()
	if err != nil || e.Len() != 0 {
		t.Fatal(err)
	}
}

// TestGoVEXCompat reads a document written by the OpenVEX reference
// library.
func TestGoVEXCompat(t *testing.T) {
	ts := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	d := govex.New()
	d.Author = "netvet test"
	d.Timestamp = &ts
	d.Statements = []govex.Statement{
		{
			Vulnerability: govex.Vulnerability{Name: "CVE-2023-48795"},
			Products: []govex.Product{{
				Component:     govex.Component{ID: "pkg:generic/acme/router-fw@2.4.1", Hashes: map[govex.Algorithm]govex.Hash{govex.SHA256: govex.Hash(imageSHA)}},
				Subcomponents: []govex.Subcomponent{{Component: govex.Component{ID: "pkg:generic/dropbear@2022.83"}}},
			}},
			Status:          govex.StatusNotAffected,
			Justification:   govex.VulnerableCodeNotInExecutePath,
			ImpactStatement: "chacha20-poly1305 is disabled",
		},
		{
			Vulnerability:   govex.Vulnerability{Name: "CVE-2014-0160"},
			Products:        []govex.Product{{Component: govex.Component{Identifiers: map[govex.IdentifierType]string{govex.PURL: "pkg:generic/openssl@1.0.1e"}}}},
			Status:          govex.StatusAffected,
			ActionStatement: "Update to 1.0.1g or later",
		},
	}
	var buf bytes.Buffer
	if err := d.ToJSON(&buf); err != nil {
		t.Fatal(err)
	}
	s, err := Parse("govex.json", buf.Bytes())
	if err != nil {
		t.Fatalf("%v\n%s", err, buf.Bytes())
	}
	s.SetImage(firmware.ImageRef{SHA256: imageSHA})
	got := dispositions(t, s.ApplyVulns(vulns, comps))
	wantM := map[string]want{
		"CVE-2023-48795@dropbear-bin": {"not_affected", "vulnerable_code_not_in_execute_path", "govex.json#/statements/0"},
		"CVE-2014-0160@openssl-lib":   {"affected", "", "govex.json#/statements/1"},
	}
	if !reflect.DeepEqual(got, wantM) {
		t.Errorf("got %v, want %v", got, wantM)
	}
}

func TestIdentifiers(t *testing.T) {
	c := &firmware.Component{ID: "x", Name: "openssl", Version: "3.0.13", PURL: "pkg:deb/debian/openssl@3.0.13-1?arch=amd64&distro=debian-12",
		CPEs: []string{"cpe:2.3:a:openssl:openssl:*:*:*:*:*:*:*:*"}}
	cases := []struct {
		id   string
		want bool
	}{
		{"pkg:deb/debian/openssl", true},
		{"pkg:deb/debian/openssl@3.0.13-1", true},
		{"pkg:deb/debian/openssl@3.0.13-1?arch=amd64", true},
		{"pkg:deb/debian/openssl@3.0.13-1?arch=arm64", false},
		{"pkg:deb/ubuntu/openssl@3.0.13-1", false},
		{"pkg:rpm/debian/openssl@3.0.13-1", false},
		{"cpe:2.3:a:openssl:openssl:3.0.13:*:*:*:*:*:*:*", true},
		{"cpe:2.3:a:openssl:openssl:*:*:*:*:*:*:*:*", true},
		{"cpe:2.3:a:openssl:openssl:3.0.14:*:*:*:*:*:*:*", false},
		{"cpe:2.3:a:wolfssl:wolfssl:*:*:*:*:*:*:*:*", false},
		{"cpe:/a:openssl:openssl:3.0.13", true},
		{"cpe:/a:openssl:openssl:1.0.1", false},
		{"x", true},
		{"y", false},
	}
	for _, tc := range cases {
		if got := classify(tc.id).matchesComponent(c); got != tc.want {
			t.Errorf("%s matches = %v, want %v", tc.id, got, tc.want)
		}
	}
	if normID("https://nvd.nist.gov/vuln/detail/CVE-2014-0160/") != "CVE-2014-0160" || normID(" cve-2014-0160 ") != "CVE-2014-0160" {
		t.Error("normID")
	}
	if f := splitCPE23(`cpe:2.3:a:foo\:bar:baz:1.0:*:*:*:*:*:*:*`); f == nil || f[1] != `foo\:bar` {
		t.Errorf("escaped colon: %v", f)
	}
}
