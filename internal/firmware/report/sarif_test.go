package report

import (
	"encoding/json"
	"testing"

	"github.com/owenrumney/go-sarif/v2/sarif"

	"github.com/netvet/netvet/internal/firmware"
)

func TestSARIFSchema(t *testing.T) {
	s := loadSchema(t, "sarif-schema-2.1.0.json")
	for _, fx := range fixtures {
		t.Run(fx.name, func(t *testing.T) {
			validate(t, s, render(t, fx.make(), SARIF, Options{}))
		})
	}
	t.Run("hostile", func(t *testing.T) {
		validate(t, s, render(t, hostileReport(), SARIF, Options{}))
	})
}

func TestSARIF(t *testing.T) {
	r := fullReport()
	out := render(t, r, SARIF, Options{})
	rep, err := sarif.FromBytes(out)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Version != "2.1.0" || len(rep.Runs) != 1 {
		t.Fatalf("version %s, %d runs; want 2.1.0 and one run", rep.Version, len(rep.Runs))
	}
	run := rep.Runs[0]
	d := run.Tool.Driver
	if d.Name != "netvet" || d.Version == nil || *d.Version != "0.9.0-test" {
		t.Errorf("driver %s %v", d.Name, d.Version)
	}
	rules := map[string]*sarif.ReportingDescriptor{}
	for _, rl := range d.Rules {
		if rules[rl.ID] != nil {
			t.Errorf("rule %s listed twice", rl.ID)
		}
		rules[rl.ID] = rl
	}
	// Every finding rule (NV-HYG-001 is missing from r.Rules and must be
	// made from its finding) and every vulnerability ID.
	for _, id := range []string{"NV-ACCT-001", "NV-ACCT-004", "NV-HYG-001", "NV-KEY-001", "NV-SEC-002", "NV-SVC-001",
		"CVE-2016-2105", "CVE-2022-48174", "CVE-2023-48795", "GHSA-abcd-efgh-ijkl"} {
		if rules[id] == nil {
			t.Errorf("no rule %s", id)
		}
	}
	if len(rules) != 10 {
		t.Errorf("%d rules, want 10", len(rules))
	}
	for _, tc := range []struct {
		id, level, sev, help, full string
	}{
		{"NV-ACCT-001", "error", "9.5", "https://cwe.mitre.org/data/definitions/258.html", "Anyone who reaches a login service gets in as this account."},
		{"NV-KEY-001", "error", "8.0", "https://cwe.mitre.org/data/definitions/321.html", ""}, // first reference is not a URL
		{"NV-SEC-002", "warning", "5.5", "", ""},
		{"NV-HYG-001", "note", "3.0", "https://endoflife.date/dropbear", "No more security fixes upstream."},
		{"NV-ACCT-004", "note", "", "", ""},
		{"CVE-2022-48174", "error", "9.8", "https://bugs.busybox.net/show_bug.cgi?id=15216", ""},
		{"GHSA-abcd-efgh-ijkl", "note", "3.0", "https://github.com/advisories/GHSA-abcd-efgh-ijkl", ""},
	} {
		rl := rules[tc.id]
		if rl == nil {
			continue
		}
		if rl.DefaultConfiguration == nil || rl.DefaultConfiguration.Level != tc.level {
			t.Errorf("%s: level %+v, want %s", tc.id, rl.DefaultConfiguration, tc.level)
		}
		if got, _ := rl.Properties["security-severity"].(string); got != tc.sev {
			t.Errorf("%s: security-severity %q, want %q", tc.id, got, tc.sev)
		}
		if got := deref(rl.HelpURI); got != tc.help {
			t.Errorf("%s: helpUri %q, want %q", tc.id, got, tc.help)
		}
		if tc.full != "" && (rl.FullDescription == nil || deref(rl.FullDescription.Text) != tc.full) {
			t.Errorf("%s: fullDescription %+v, want the rationale", tc.id, rl.FullDescription)
		}
	}

	if got, want := len(run.Results), len(r.Findings)+len(r.Vulnerabilities); got != want {
		t.Fatalf("%d results, want %d", got, want)
	}
	for i, res := range run.Results {
		id := deref(res.RuleID)
		if res.RuleIndex == nil || int(*res.RuleIndex) >= len(d.Rules) || d.Rules[*res.RuleIndex].ID != id {
			t.Errorf("result %d (%s): ruleIndex %v does not point at its rule", i, id, res.RuleIndex)
		}
		if len(res.Locations) == 0 {
			t.Errorf("result %d (%s): no location", i, id)
		}
	}

	// Findings: location, region and message as the finding says.
	byRule := map[string]*sarif.Result{}
	for _, res := range run.Results[:len(r.Findings)] {
		byRule[deref(res.RuleID)] = res
	}
	shadow := byRule["NV-ACCT-001"]
	pl := shadow.Locations[0].PhysicalLocation
	if deref(pl.ArtifactLocation.URI) != "demo-router.bin/0x0.chk/kernel/partition-1/etc/shadow" || deref(shadow.Locations[0].Message.Text) != "/etc/shadow" ||
		pl.Region == nil || deref(pl.Region.ByteOffset) != 0 || deref(pl.Region.StartLine) != 1 {
		t.Errorf("NV-ACCT-001 location %s %+v", deref(pl.ArtifactLocation.URI), pl.Region)
	}
	if got := deref(shadow.Message.Text); got != "Account with an empty password: root::0:0:99999:7:::" {
		t.Errorf("message %q", got)
	}
	if deref(shadow.Level) != "error" || shadow.Suppressions != nil {
		t.Errorf("NV-ACCT-001: level %s, suppressions %v", deref(shadow.Level), shadow.Suppressions)
	}
	// A whole-file finding has no region; a carved blob has no fs_path.
	if pl := byRule["NV-KEY-001"].Locations[0].PhysicalLocation; pl.Region != nil {
		t.Errorf("whole-file finding has region %+v", pl.Region)
	}
	blob := byRule["NV-SEC-002"].Locations[0].PhysicalLocation
	if deref(blob.ArtifactLocation.URI) != "demo-router.bin/0x0.chk/kernel/0x40.lzma.carved/blob/0x2000.bin" || deref(blob.Region.ByteOffset) != 0x2000 {
		t.Errorf("carved finding at %s %+v", deref(blob.ArtifactLocation.URI), blob.Region)
	}
	// The dispositioned finding is suppressed, externally, with the why.
	key := byRule["NV-KEY-001"]
	if len(key.Suppressions) != 1 {
		t.Fatalf("NV-KEY-001: %d suppressions, want 1", len(key.Suppressions))
	}
	sp := key.Suppressions[0]
	if sp.Kind != "external" || deref(sp.Status) != "accepted" ||
		deref(sp.Justification) != "accepted: regenerated on first boot: the init script replaces the key before dropbear starts" ||
		deref(sp.Location.PhysicalLocation.ArtifactLocation.URI) != "vex/netvet.openvex.json" {
		t.Errorf("suppression %s %s %q", sp.Kind, deref(sp.Status), deref(sp.Justification))
	}

	// Vulnerabilities: at their component's location; the one under
	// investigation is under review, the not-affected one accepted.
	vulns := map[string]*sarif.Result{}
	for _, res := range run.Results[len(r.Findings):] {
		vulns[deref(res.RuleID)] = res
	}
	ssl := vulns["CVE-2016-2105"]
	if pl := ssl.Locations[0].PhysicalLocation; deref(pl.ArtifactLocation.URI) != "demo-router.bin/0x0.chk/kernel/partition-1/usr/lib/opkg/status" || deref(pl.Region.ByteOffset) != 4096 {
		t.Errorf("CVE-2016-2105 at %s", deref(pl.ArtifactLocation.URI))
	}
	if ssl.Suppressions != nil || deref(ssl.Level) != "error" {
		t.Errorf("CVE-2016-2105: level %s, suppressions %v", deref(ssl.Level), ssl.Suppressions)
	}
	for id, status := range map[string]string{"CVE-2023-48795": "accepted", "CVE-2022-48174": "accepted", "GHSA-abcd-efgh-ijkl": "underReview"} {
		if s := vulns[id].Suppressions; len(s) != 1 || deref(s[0].Status) != status {
			t.Errorf("%s: suppressions %v, want one %s", id, s, status)
		}
	}

	// Notes and failures are notifications; a failed analyser marks the
	// run unsuccessful.
	inv := run.Invocations[0]
	if inv.ExecutionSuccessful == nil || *inv.ExecutionSuccessful || len(inv.ToolExecutionNotifications) != 3 {
		t.Errorf("invocation %+v", inv)
	}
}

// TestSARIFVulnWithoutComponent: a vulnerability whose component is not in
// the report still gets a location (the image) and a valid document.
func TestSARIFVulnWithoutComponent(t *testing.T) {
	r := emptyReport()
	r.Vulnerabilities = []firmware.Vulnerability{{ID: "CVE-2024-0001", Severity: firmware.SeverityHigh, Component: "gone", ComponentName: "x"}}
	out := render(t, r, SARIF, Options{})
	validate(t, loadSchema(t, "sarif-schema-2.1.0.json"), out)
	rep, err := sarif.FromBytes(out)
	if err != nil {
		t.Fatal(err)
	}
	res := rep.Runs[0].Results[0]
	if len(res.Locations) != 1 || deref(res.Locations[0].PhysicalLocation.ArtifactLocation.URI) != "blank.bin" {
		t.Errorf("locations %s", mustJSON(res.Locations))
	}
}

func TestSARIFURI(t *testing.T) {
	for in, want := range map[string]string{
		"/etc/passwd":                  "etc/passwd",
		"//etc/passwd":                 "etc/passwd",
		"demo.bin/0x0.chk/etc/a b":     "demo.bin/0x0.chk/etc/a%20b",
		"/etc/x#y?z%":                  "etc/x%23y%3Fz%25",
		"c:/windows/x":                 "./c:/windows/x",
		"/a:b/c":                       "./a:b/c",
		"/<script>":                    "%3Cscript%3E",
		"/\u202eevil":                  "%E2%80%AEevil",
		"image.bin/squashfs@0x40/bin/": "image.bin/squashfs@0x40/bin/",
	} {
		if got := sarifURI(in); got != want {
			t.Errorf("sarifURI(%q) = %q, want %q", in, got, want)
		}
	}
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
