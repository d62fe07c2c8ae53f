package report

import (
	"bytes"
	"regexp"
	"strings"
	"testing"

	cdx "github.com/CycloneDX/cyclonedx-go"

	"github.com/netvet/netvet/internal/firmware"
)

func decodeBOM(t *testing.T, out []byte) *cdx.BOM {
	t.Helper()
	var bom cdx.BOM
	if err := cdx.NewBOMDecoder(bytes.NewReader(out), cdx.BOMFileFormatJSON).Decode(&bom); err != nil {
		t.Fatalf("decode: %v", err)
	}
	return &bom
}

func props(ps *[]cdx.Property) map[string][]string {
	m := map[string][]string{}
	if ps != nil {
		for _, p := range *ps {
			m[p.Name] = append(m[p.Name], p.Value)
		}
	}
	return m
}

func TestCycloneDXSchema(t *testing.T) {
	s := loadSchema(t, "bom-1.6.schema.json", "spdx.schema.json", "jsf-0.82.schema.json")
	for _, fx := range fixtures {
		t.Run(fx.name, func(t *testing.T) {
			validate(t, s, render(t, fx.make(), CycloneDX, Options{}))
		})
	}
	t.Run("hostile", func(t *testing.T) {
		validate(t, s, render(t, hostileReport(), CycloneDX, Options{}))
	})
}

var uuidURN = regexp.MustCompile(`^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

func TestCycloneDX(t *testing.T) {
	r := fullReport()
	bom := decodeBOM(t, render(t, r, CycloneDX, Options{}))
	if bom.SpecVersion != cdx.SpecVersion1_6 || bom.BOMFormat != "CycloneDX" || bom.Version != 1 {
		t.Errorf("spec %v format %s version %d", bom.SpecVersion, bom.BOMFormat, bom.Version)
	}
	if !uuidURN.MatchString(bom.SerialNumber) {
		t.Errorf("serial %q is not a version 5 urn:uuid", bom.SerialNumber)
	}
	// Same scan, same serial; another database, another serial.
	if again := decodeBOM(t, render(t, fullReport(), CycloneDX, Options{})); again.SerialNumber != bom.SerialNumber {
		t.Error("serial number changes between runs")
	}
	r2 := fullReport()
	r2.Database.Checksum = "sha256:other"
	if other := decodeBOM(t, render(t, r2, CycloneDX, Options{})); other.SerialNumber == bom.SerialNumber {
		t.Error("serial number ignores the database")
	}

	m := bom.Metadata
	if m == nil || m.Component == nil {
		t.Fatal("no metadata.component")
	}
	if m.Timestamp != "" {
		t.Errorf("timestamp %q without Options.Created", m.Timestamp)
	}
	img := m.Component
	if img.Type != cdx.ComponentTypeFirmware || img.Name != "demo-router.bin" || img.Hashes == nil ||
		(*img.Hashes)[0] != (cdx.Hash{Algorithm: cdx.HashAlgoSHA256, Value: r.Image.SHA256}) {
		t.Errorf("image component %+v", img)
	}
	if tools := m.Tools; tools == nil || tools.Components == nil || (*tools.Components)[0].Name != "netvet" || (*tools.Components)[0].Version != "v0.9.0-test" {
		t.Errorf("tools %+v", tools)
	}
	// Findings ride on the image as numbered properties.
	ip := props(img.Properties)
	if ip["netvet:finding:2:rule"][0] != "NV-SVC-001" || ip["netvet:finding:2:offset"][0] != "31" ||
		ip["netvet:finding:2:evidence"][0] != r.Findings[2].Evidence || ip["netvet:finding:1:disposition:status"][0] != "accepted" {
		t.Errorf("finding properties %v", ip)
	}
	if _, ok := ip["netvet:finding:6:rule"]; ok || len(ip["netvet:finding:5:rule"]) != 1 {
		t.Error("wrong number of findings in properties")
	}
	mp := props(m.Properties)
	if mp["netvet:verdict"][0] != "fail" || mp["netvet:database:built"][0] != "2025-11-30T04:05:06Z" || len(mp["netvet:note"]) != 1 {
		t.Errorf("metadata properties %v", mp)
	}

	// Components.
	if bom.Components == nil || len(*bom.Components) != len(r.Components) {
		t.Fatalf("components %v", bom.Components)
	}
	byRef := map[string]cdx.Component{}
	for _, c := range *bom.Components {
		byRef[c.BOMRef] = c
	}
	bb := byRef["pkg:generic/busybox@1.33.1?package-id=1a2b"]
	if bb.Name != "busybox" || bb.Version != "1.33.1" || bb.PackageURL != "pkg:generic/busybox@1.33.1" ||
		bb.CPE != "cpe:2.3:a:busybox:busybox:1.33.1:*:*:*:*:*:*:*" || bb.Type != cdx.ComponentTypeApplication {
		t.Errorf("busybox %+v", bb)
	}
	if got := props(bb.Properties)["netvet:cpe"]; len(got) != 1 || got[0] != "cpe:2.3:a:busybox_project:busybox:1.33.1:*:*:*:*:*:*:*" {
		t.Errorf("second CPE as property: %v", got)
	}
	if bb.Licenses == nil || (*bb.Licenses)[0].License.ID != "GPL-2.0-only" {
		t.Errorf("busybox licences %+v", bb.Licenses)
	}
	if bb.Evidence == nil || bb.Evidence.Occurrences == nil {
		t.Fatal("busybox has no evidence")
	}
	occ := (*bb.Evidence.Occurrences)[0]
	if occ.Location != "demo-router.bin/0x0.chk/kernel/partition-1/bin/busybox" || occ.Offset == nil || *occ.Offset != 0x2f3a0 ||
		occ.AdditionalContext != "BusyBox v1.33.1 (2024-01-01 00:00:00 UTC)" {
		t.Errorf("occurrence %+v", occ)
	}
	if id := bb.Evidence.Identity; id == nil || id.Identities == nil || (*id.Identities)[0].Field != cdx.EvidenceIdentityFieldTypePURL {
		t.Errorf("identity %+v", id)
	}
	if got := props(bb.Properties)["netvet:location:0:fs_path"]; len(got) != 1 || got[0] != "/bin/busybox" {
		t.Errorf("fs_path property %v", got)
	}
	kernel := byRef["pkg:generic/linux@4.14.221?package-id=7a8b"]
	if kernel.Type != cdx.ComponentTypeOS || (*kernel.Evidence.Occurrences)[0].Location != "demo-router.bin/0x0.chk/kernel/0x40.lzma" {
		t.Errorf("kernel %+v", kernel)
	}
	if db := byRef["pkg:opkg/dropbear@2020.81?package-id=3c4d"]; db.Supplier == nil || db.Supplier.Name != "OpenWrt" ||
		props(db.Properties)["netvet:end_of_life"][0] != "2022-11-14" {
		t.Errorf("dropbear %+v", db)
	}

	// Vulnerabilities with ratings, affects and VEX analysis.
	if bom.Vulnerabilities == nil || len(*bom.Vulnerabilities) != len(r.Vulnerabilities) {
		t.Fatalf("vulnerabilities %v", bom.Vulnerabilities)
	}
	vs := map[string]cdx.Vulnerability{}
	for _, v := range *bom.Vulnerabilities {
		vs[v.ID] = v
		if v.Affects == nil || len(*v.Affects) != 1 || byRef[(*v.Affects)[0].Ref].Name == "" {
			t.Errorf("%s: affects %+v does not point at a component", v.ID, v.Affects)
		}
	}
	ssl := vs["CVE-2016-2105"]
	if ssl.Ratings == nil || len(*ssl.Ratings) != 2 {
		t.Fatalf("CVE-2016-2105 ratings %+v", ssl.Ratings)
	}
	if rt := (*ssl.Ratings)[1]; rt.Method != cdx.ScoringMethodCVSSv3 || *rt.Score != 7.5 || rt.Severity != cdx.SeverityHigh ||
		rt.Vector != "CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H" {
		t.Errorf("CVSS 3.0 rating %+v", rt)
	}
	if rt := (*ssl.Ratings)[0]; rt.Method != cdx.ScoringMethodCVSSv2 || rt.Severity != cdx.SeverityMedium {
		t.Errorf("CVSS 2 rating %+v", rt)
	}
	if ssl.Analysis != nil || ssl.Recommendation != "Upgrade openssl to 1.0.2h." || props(ssl.Properties)["netvet:known_exploited"][0] != "true" {
		t.Errorf("CVE-2016-2105 %+v", ssl)
	}
	if ssl.References == nil || (*ssl.References)[0].ID != "GHSA-xxxx-openssl-2105" {
		t.Errorf("aliases %+v", ssl.References)
	}
	for _, tc := range []struct {
		id      string
		state   cdx.ImpactAnalysisState
		just    cdx.ImpactAnalysisJustification
		resp    []cdx.ImpactAnalysisResponse
		status  cdx.VulnerabilityStatus
		details string
	}{
		{"CVE-2023-48795", cdx.IASNotAffected, cdx.IAJCodeNotReachable, nil, cdx.VulnerabilityStatusNotAffected, "chacha20-poly1305"},
		{"CVE-2022-48174", cdx.IASExploitable, "", []cdx.ImpactAnalysisResponse{cdx.IARWillNotFix}, cdx.VulnerabilityStatusAffected, "ash is not reachable"},
		{"GHSA-abcd-efgh-ijkl", cdx.IASInTriage, "", nil, cdx.VulnerabilityStatusAffected, "source: vex/netvet.openvex.json"},
	} {
		v := vs[tc.id]
		a := v.Analysis
		if a == nil {
			t.Errorf("%s: no analysis", tc.id)
			continue
		}
		var resp []cdx.ImpactAnalysisResponse
		if a.Response != nil {
			resp = *a.Response
		}
		if a.State != tc.state || a.Justification != tc.just || !equalSlices(resp, tc.resp) || !strings.Contains(a.Detail, tc.details) {
			t.Errorf("%s: analysis %+v", tc.id, a)
		}
		if st := (*(*v.Affects)[0].Range)[0].Status; st != tc.status {
			t.Errorf("%s: affected status %s, want %s", tc.id, st, tc.status)
		}
	}
	if gh := vs["GHSA-abcd-efgh-ijkl"]; gh.Ratings == nil || (*gh.Ratings)[0].Severity != cdx.SeverityLow || (*gh.Ratings)[0].Score != nil {
		t.Errorf("GHSA without CVSS: ratings %+v", gh.Ratings)
	}
}

func equalSlices[T comparable](a, b []T) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestCycloneDXDuplicateIDs: components that share an ID (a pipeline
// bug) must not give a BOM with duplicate bom-refs.
func TestCycloneDXDuplicateIDs(t *testing.T) {
	r := fullReport()
	r.Components = append(r.Components, r.Components[0])
	r.Components = append(r.Components, firmware.Component{Name: "noid", Type: "gadget"})
	out := render(t, r, CycloneDX, Options{})
	validate(t, loadSchema(t, "bom-1.6.schema.json", "spdx.schema.json", "jsf-0.82.schema.json"), out)
	bom := decodeBOM(t, out)
	seen := map[string]bool{}
	for _, c := range *bom.Components {
		if c.BOMRef != "" && seen[c.BOMRef] {
			t.Errorf("bom-ref %s twice", c.BOMRef)
		}
		seen[c.BOMRef] = true
	}
	last := (*bom.Components)[len(*bom.Components)-1]
	if last.Type != cdx.ComponentTypeLibrary || props(last.Properties)["netvet:type"][0] != "gadget" {
		t.Errorf("unknown type: %+v", last)
	}
}

func TestCDXLicenses(t *testing.T) {
	for _, tc := range []struct {
		in   []string
		want string
	}{
		{nil, "null"},
		{[]string{"MIT"}, `[{"license":{"id":"MIT"}}]`},
		{[]string{"mit"}, `[{"license":{"id":"MIT"}}]`},
		{[]string{"GPL-2.0-only", "BSD-3-Clause"}, `[{"license":{"id":"GPL-2.0-only"}},{"license":{"id":"BSD-3-Clause"}}]`},
		{[]string{"MIT OR Apache-2.0"}, `[{"expression":"MIT OR Apache-2.0"}]`},
		{[]string{"MIT OR Apache-2.0", "Zlib"}, `[{"expression":"(MIT OR Apache-2.0) AND Zlib"}]`},
		{[]string{"GPLv2+"}, `[{"license":{"name":"GPLv2+"}}]`},
		{[]string{"MIT OR Apache-2.0", "Vendor EULA"}, `[{"license":{"name":"MIT OR Apache-2.0"}},{"license":{"name":"Vendor EULA"}}]`},
	} {
		if got := mustJSON(cdxLicenses(tc.in)); got != tc.want {
			t.Errorf("cdxLicenses(%q) = %s, want %s", tc.in, got, tc.want)
		}
	}
}
