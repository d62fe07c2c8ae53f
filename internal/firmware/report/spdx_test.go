package report

import (
	"bytes"
	"encoding/json"
	"regexp"
	"strings"
	"testing"

	spdxjson "github.com/spdx/tools-golang/json"
	"github.com/spdx/tools-golang/spdx/v2/v2_3"

	"github.com/netvet/netvet/internal/firmware"
)

func TestSPDXSchema(t *testing.T) {
	s := loadSchema(t, "spdx-schema-2.3.json")
	for _, fx := range fixtures {
		t.Run(fx.name, func(t *testing.T) {
			validate(t, s, render(t, fx.make(), SPDX, Options{}))
		})
	}
	t.Run("hostile", func(t *testing.T) {
		validate(t, s, render(t, hostileReport(), SPDX, Options{}))
	})
}

var spdxIDRe = regexp.MustCompile(`^SPDXRef-[A-Za-z0-9.-]+$`)

func TestSPDX(t *testing.T) {
	r := fullReport()
	out := render(t, r, SPDX, Options{})

	// The SPDX reference library reads it.
	var doc v2_3.Document
	if err := spdxjson.ReadInto(bytes.NewReader(out), &doc); err != nil {
		t.Fatalf("tools-golang cannot read the document: %v", err)
	}
	if doc.SPDXVersion != "SPDX-2.3" || doc.DataLicense != "CC0-1.0" || doc.DocumentName != "demo-router.bin" {
		t.Errorf("document %s %s %s", doc.SPDXVersion, doc.DataLicense, doc.DocumentName)
	}
	if !strings.HasPrefix(doc.DocumentNamespace, "https://netvet.dev/spdx/"+r.Image.SHA256+"-") {
		t.Errorf("namespace %s", doc.DocumentNamespace)
	}
	if doc.CreationInfo == nil || doc.CreationInfo.Created != "1970-01-01T00:00:00Z" ||
		len(doc.CreationInfo.Creators) != 1 || doc.CreationInfo.Creators[0].Creator != "netvet-v0.9.0-test" {
		t.Errorf("creation info %+v", doc.CreationInfo)
	}
	if got, want := len(doc.Packages), 1+len(r.Components); got != want {
		t.Fatalf("%d packages, want %d", got, want)
	}
	img := doc.Packages[0]
	if img.PackageName != "demo-router.bin" || img.PrimaryPackagePurpose != "FIRMWARE" || len(img.PackageChecksums) != 1 ||
		img.PackageChecksums[0].Value != r.Image.SHA256 || img.FilesAnalyzed {
		t.Errorf("image package %+v", img)
	}
	ids := map[string]*v2_3.Package{}
	for _, p := range doc.Packages {
		id := "SPDXRef-" + string(p.PackageSPDXIdentifier)
		if !spdxIDRe.MatchString(id) || ids[id] != nil {
			t.Errorf("bad or repeated SPDXID %q", id)
		}
		ids[id] = p
	}
	bb := ids["SPDXRef-Package-pkg-generic-busybox-1.33.1-package-id-1a2b"]
	if bb == nil {
		t.Fatalf("no busybox package among %v", keys(ids))
	}
	refs := map[string][]string{}
	for _, e := range bb.PackageExternalReferences {
		refs[e.Category+"/"+e.RefType] = append(refs[e.Category+"/"+e.RefType], e.Locator)
	}
	if bb.PackageVersion != "1.33.1" || bb.PackageLicenseDeclared != "GPL-2.0-only" || bb.PrimaryPackagePurpose != "APPLICATION" ||
		len(refs["PACKAGE-MANAGER/purl"]) != 1 || refs["PACKAGE-MANAGER/purl"][0] != "pkg:generic/busybox@1.33.1" ||
		len(refs["SECURITY/cpe23Type"]) != 2 || len(refs["SECURITY/advisory"]) != 1 {
		t.Errorf("busybox %+v refs %v", bb, refs)
	}
	foo := ids["SPDXRef-Package-pkg-opkg-libfoo-3.2-package-id-5e6f"]
	if foo == nil || foo.PackageLicenseDeclared != "(MIT OR Apache-2.0) AND LicenseRef-Vendor-Proprietary-Licence-v2" {
		t.Errorf("libfoo licence %+v", foo)
	}
	if len(doc.OtherLicenses) != 1 || doc.OtherLicenses[0].LicenseIdentifier != "LicenseRef-Vendor-Proprietary-Licence-v2" ||
		doc.OtherLicenses[0].ExtractedText != "Vendor Proprietary Licence v2" {
		t.Errorf("extracted licences %+v", doc.OtherLicenses)
	}
	if db := ids["SPDXRef-Package-pkg-opkg-dropbear-2020.81-package-id-3c4d"]; db == nil || db.PackageSupplier == nil ||
		db.PackageSupplier.Supplier != "OpenWrt" || db.PackageSupplier.SupplierType != "Organization" {
		t.Errorf("dropbear supplier %+v", db)
	}

	// One DESCRIBES of the image, one CONTAINS per component.
	describes, contains := 0, map[string]bool{}
	for _, rel := range doc.Relationships {
		a, b := "SPDXRef-"+string(rel.RefA.ElementRefID), "SPDXRef-"+string(rel.RefB.ElementRefID)
		switch rel.Relationship {
		case "DESCRIBES":
			describes++
			if a != "SPDXRef-DOCUMENT" || b != "SPDXRef-Package-image" {
				t.Errorf("DESCRIBES %s -> %s", a, b)
			}
		case "CONTAINS":
			if a != "SPDXRef-Package-image" || ids[b] == nil {
				t.Errorf("CONTAINS %s -> %s", a, b)
			}
			contains[b] = true
		default:
			t.Errorf("relationship %s", rel.Relationship)
		}
	}
	if describes != 1 || len(contains) != len(r.Components) {
		t.Errorf("%d DESCRIBES, %d CONTAINS", describes, len(contains))
	}
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// TestSPDXIDs: IDs that sanitise to the same string, or to nothing, still
// give unique, valid SPDXIDs, and licence refs stay unique.
func TestSPDXIDs(t *testing.T) {
	r := emptyReport()
	r.Components = []firmware.Component{
		{ID: "pkg:a/b@1", Name: "b", Licenses: []string{"Foo Licence", "Foo/Licence"}},
		{ID: "pkg:a-b@1", Name: "b2", Licenses: []string{"Foo Licence"}},
		{ID: "image", Name: "image"},
		{ID: "%%%", Name: "", Version: ""},
		{ID: "pkg:a/b@1", Name: "dup"},
	}
	out := render(t, r, SPDX, Options{})
	validate(t, loadSchema(t, "spdx-schema-2.3.json"), out)
	var doc spdxDocument
	if err := json.Unmarshal(out, &doc); err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, p := range doc.Packages {
		if !spdxIDRe.MatchString(p.SPDXID) || seen[p.SPDXID] {
			t.Errorf("SPDXID %q invalid or repeated", p.SPDXID)
		}
		seen[p.SPDXID] = true
	}
	if len(doc.Extracted) != 2 || doc.Extracted[0].LicenseID == doc.Extracted[1].LicenseID {
		t.Errorf("extracted %+v", doc.Extracted)
	}
	if got := doc.Packages[1].LicenseDeclared; got != "LicenseRef-Foo-Licence AND LicenseRef-Foo-Licence-2" {
		t.Errorf("declared %q", got)
	}
	if got := doc.Packages[2].LicenseDeclared; got != "LicenseRef-Foo-Licence" {
		t.Errorf("declared %q", got)
	}
}
