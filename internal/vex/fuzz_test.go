package vex

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/netvet/netvet/internal/firmware"
)

var validStatus = map[string]bool{
	StatusNotAffected: true, StatusAffected: true, StatusFixed: true, StatusUnderInvestigation: true,
	StatusMitigated: true, StatusAccepted: true, StatusFalsePositive: true,
}

// fuzzApply parses data and, when it parses, applies it: the result must
// keep every item and set only known statuses with a source.
func fuzzApply(t *testing.T, data []byte) {
	s, err := Parse("f.json", data)
	if err != nil {
		return
	}
	s.SetImage(firmware.ImageRef{SHA256: imageSHA})
	vs := s.ApplyVulns(vulns, comps)
	fs := s.ApplyFindings(findings)
	if len(vs) != len(vulns) || len(fs) != len(findings) {
		t.Fatalf("items dropped: %d/%d vulns, %d/%d findings", len(vs), len(vulns), len(fs), len(findings))
	}
	for _, v := range vs {
		if d := v.Disposition; d != nil && (!validStatus[d.Status] || d.Source == "") {
			t.Fatalf("disposition %+v", d)
		}
	}
	for _, f := range fs {
		if d := f.Disposition; d != nil && (!validStatus[d.Status] || d.Source == "") {
			t.Fatalf("disposition %+v", d)
		}
	}
}

func seed(f *testing.F, name string) {
	if b, err := os.ReadFile(filepath.Join("testdata", name)); err == nil {
		f.Add(b)
	}
}

func FuzzParseOpenVEX(f *testing.F) {
	seed(f, "router.openvex.json")
	f.Add(doc(`{"vulnerability":"CVE-1","products":["pkg:generic/a@1"],"status":"fixed"}`))
	f.Add(doc(`{"vulnerability":{"name":"NV-SVC-001"},"products":[{"@id":"file:///etc/**","subcomponents":[{"@id":"x"}]}],"status":"not_affected","justification":"component_not_present"}`))
	f.Add(doc(`{"vulnerability":{"name":"CVE-1"},"products":[{"hashes":{"sha-256":"` + imageSHA + `"}}],"status":"affected","action_statement":"Risk accepted"}`))
	f.Fuzz(fuzzApply)
}

func FuzzParseCycloneDX(f *testing.F) {
	seed(f, "router.cdx.json")
	f.Add([]byte(`{"bomFormat":"CycloneDX","specVersion":"1.4","vulnerabilities":[{"id":"CVE-1","analysis":{"state":"resolved"},"affects":[{"ref":"a"}]}],"components":[{"bom-ref":"a","purl":"pkg:generic/a@1","cpe":"cpe:2.3:a:a:a:1:*:*:*:*:*:*:*"}]}`))
	f.Add([]byte(`{"bomFormat":"CycloneDX","specVersion":"1.6","vulnerabilities":[{"id":"NV-SVC-001","analysis":{"state":"not_affected","justification":"protected_at_runtime"},"affects":[{"ref":"urn:cdx:x/1#file"}]}]}`))
	f.Fuzz(fuzzApply)
}
