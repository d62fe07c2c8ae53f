package report

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/github/go-spdx/v2/spdxexp"
	"github.com/github/go-spdx/v2/spdxexp/spdxlicenses"

	"github.com/netvet/netvet/internal/firmware"
)

// spdxEpoch is the creation time of an SPDX document when the caller gives
// none: SPDX requires one, and a clock would make the output differ from
// run to run.
const spdxEpoch = "1970-01-01T00:00:00Z"

const noAssertion = "NOASSERTION"

// The SPDX 2.3 JSON document, as far as netvet fills it.
type spdxDocument struct {
	SPDXVersion       string             `json:"spdxVersion"`
	DataLicense       string             `json:"dataLicense"`
	SPDXID            string             `json:"SPDXID"`
	Name              string             `json:"name"`
	DocumentNamespace string             `json:"documentNamespace"`
	CreationInfo      spdxCreationInfo   `json:"creationInfo"`
	Comment           string             `json:"comment,omitempty"`
	Packages          []spdxPackage      `json:"packages"`
	Extracted         []spdxExtracted    `json:"hasExtractedLicensingInfos,omitempty"`
	Relationships     []spdxRelationship `json:"relationships"`
}

type spdxCreationInfo struct {
	Created            string   `json:"created"`
	Creators           []string `json:"creators"`
	LicenseListVersion string   `json:"licenseListVersion,omitempty"`
	Comment            string   `json:"comment,omitempty"`
}

type spdxPackage struct {
	SPDXID                string            `json:"SPDXID"`
	Name                  string            `json:"name"`
	VersionInfo           string            `json:"versionInfo,omitempty"`
	Supplier              string            `json:"supplier,omitempty"`
	DownloadLocation      string            `json:"downloadLocation"`
	FilesAnalyzed         bool              `json:"filesAnalyzed"`
	Checksums             []spdxChecksum    `json:"checksums,omitempty"`
	SourceInfo            string            `json:"sourceInfo,omitempty"`
	LicenseConcluded      string            `json:"licenseConcluded"`
	LicenseDeclared       string            `json:"licenseDeclared"`
	CopyrightText         string            `json:"copyrightText"`
	Comment               string            `json:"comment,omitempty"`
	ExternalRefs          []spdxExternalRef `json:"externalRefs,omitempty"`
	PrimaryPackagePurpose string            `json:"primaryPackagePurpose,omitempty"`
}

type spdxChecksum struct {
	Algorithm string `json:"algorithm"`
	Value     string `json:"checksumValue"`
}

type spdxExternalRef struct {
	Category string `json:"referenceCategory"`
	Type     string `json:"referenceType"`
	Locator  string `json:"referenceLocator"`
	Comment  string `json:"comment,omitempty"`
}

type spdxExtracted struct {
	LicenseID     string `json:"licenseId"`
	ExtractedText string `json:"extractedText"`
	Name          string `json:"name,omitempty"`
}

type spdxRelationship struct {
	Element string `json:"spdxElementId"`
	Type    string `json:"relationshipType"`
	Related string `json:"relatedSpdxElement"`
}

// spdxPurpose maps a component type to an SPDX primary package purpose.
var spdxPurpose = map[string]string{
	"application": "APPLICATION", "framework": "FRAMEWORK", "library": "LIBRARY",
	"container": "CONTAINER", "operating-system": "OPERATING_SYSTEM", "device": "DEVICE",
	"device-driver": "LIBRARY", "firmware": "FIRMWARE", "file": "FILE",
}

// spdxIDPart keeps the characters an SPDX identifier allows (letters,
// digits, '.' and '-') and turns runs of the others into one '-'.
func spdxIDPart(s string) string {
	var b strings.Builder
	dash := false
	for _, c := range s {
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' {
			b.WriteRune(c)
			dash = false
		} else if !dash {
			b.WriteByte('-')
			dash = true
		}
	}
	return strings.Trim(b.String(), "-")
}

// spdxText keeps a free-text value on the safe side of the SPDX tag-value
// converters: no NUL.
func spdxText(s string) string { return strings.ReplaceAll(s, "\x00", "") }

func writeSPDX(w io.Writer, r *firmware.ScanReport, opts Options) error {
	created := spdxEpoch
	if !opts.Created.IsZero() {
		created = opts.Created.UTC().Format(time.RFC3339)
	}
	name := r.Image.Name
	if name == "" {
		name = "image"
	}
	tool := toolName(r)
	if r.Version != "" {
		tool += "-" + r.Version
	}
	doc := spdxDocument{
		SPDXVersion: "SPDX-2.3",
		DataLicense: "CC0-1.0",
		SPDXID:      "SPDXRef-DOCUMENT",
		Name:        spdxText(name),
		DocumentNamespace: "https://netvet.dev/spdx/" + spdxIDPart(r.Image.SHA256) + "-" +
			uuidV5(nsURL, documentName("spdx", r)),
		CreationInfo: spdxCreationInfo{
			Created:            created,
			Creators:           []string{"Tool: " + spdxText(tool)},
			LicenseListVersion: spdxlicenses.LicenseListVersion(),
		},
	}
	if opts.Created.IsZero() {
		doc.CreationInfo.Comment = "created is a fixed time, not the time of the scan: netvet output depends only on the image and the database"
	}

	const imageID = "SPDXRef-Package-image"
	image := spdxPackage{
		SPDXID: imageID, Name: spdxText(name),
		DownloadLocation: noAssertion, LicenseConcluded: noAssertion, LicenseDeclared: noAssertion,
		CopyrightText: noAssertion, PrimaryPackagePurpose: "FIRMWARE",
		Comment: fmt.Sprintf("firmware image, %d bytes, scanned by %s", r.Image.Size, spdxText(tool)),
	}
	if isSHA256(r.Image.SHA256) {
		image.Checksums = []spdxChecksum{{Algorithm: "SHA256", Value: r.Image.SHA256}}
	}
	doc.Packages = append(doc.Packages, image)
	doc.Relationships = append(doc.Relationships, spdxRelationship{"SPDXRef-DOCUMENT", "DESCRIBES", imageID})

	vulnsOf := map[string][]*firmware.Vulnerability{}
	for i := range r.Vulnerabilities {
		v := &r.Vulnerabilities[i]
		vulnsOf[v.Component] = append(vulnsOf[v.Component], v)
	}
	used := map[string]bool{imageID: true}
	lic := &spdxLicenseRefs{byText: map[string]string{}, used: map[string]bool{}}
	for i := range r.Components {
		c := &r.Components[i]
		id := "SPDXRef-Package-" + spdxIDPart(c.ID)
		if id == "SPDXRef-Package-" {
			id = "SPDXRef-Package-" + spdxIDPart(c.Name+"-"+c.Version)
		}
		base := id
		for n := 2; used[id]; n++ {
			id = fmt.Sprintf("%s-%d", base, n)
		}
		used[id] = true
		p := spdxPackage{
			SPDXID: id, Name: spdxText(c.Name), VersionInfo: spdxText(c.Version),
			DownloadLocation: noAssertion, LicenseConcluded: noAssertion,
			LicenseDeclared: lic.declared(c.Licenses), CopyrightText: noAssertion,
			PrimaryPackagePurpose: spdxPurpose[c.Type],
			Supplier:              noAssertion,
		}
		if p.Name == "" {
			p.Name = "unnamed"
		}
		if c.Supplier != "" {
			p.Supplier = "Organization: " + spdxText(strings.ReplaceAll(c.Supplier, "\n", " "))
		}
		var paths []string
		for _, l := range c.Locations {
			paths = append(paths, l.Path)
		}
		if len(paths) > 0 || c.FoundBy != "" {
			p.SourceInfo = spdxText(fmt.Sprintf("found by %s at %s", c.FoundBy, strings.Join(paths, ", ")))
		}
		if c.EndOfLife != "" {
			p.Comment = "upstream support ended " + spdxText(c.EndOfLife)
		}
		if c.PURL != "" && !strings.ContainsAny(c.PURL, " \t\r\n") {
			p.ExternalRefs = append(p.ExternalRefs, spdxExternalRef{"PACKAGE-MANAGER", "purl", c.PURL, ""})
		}
		for _, cpe := range c.CPEs {
			if strings.ContainsAny(cpe, " \t\r\n") {
				continue
			}
			switch {
			case strings.HasPrefix(cpe, "cpe:2.3:"):
				p.ExternalRefs = append(p.ExternalRefs, spdxExternalRef{"SECURITY", "cpe23Type", cpe, ""})
			case strings.HasPrefix(cpe, "cpe:/"):
				p.ExternalRefs = append(p.ExternalRefs, spdxExternalRef{"SECURITY", "cpe22Type", cpe, ""})
			}
		}
		for _, v := range vulnsOf[c.ID] {
			if u := advisoryURL(v); u != "" {
				p.ExternalRefs = append(p.ExternalRefs, spdxExternalRef{"SECURITY", "advisory", u,
					spdxText(fmt.Sprintf("%s (%s)", v.ID, v.Severity))})
			}
		}
		doc.Packages = append(doc.Packages, p)
		doc.Relationships = append(doc.Relationships, spdxRelationship{imageID, "CONTAINS", id})
	}
	doc.Extracted = lic.extracted

	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(doc)
}

// spdxLicenseRefs turns licence strings into an SPDX declared licence:
// SPDX identifiers and expressions as they are, anything else as a
// LicenseRef- with its text kept in hasExtractedLicensingInfos.
type spdxLicenseRefs struct {
	byText    map[string]string
	used      map[string]bool
	extracted []spdxExtracted
}

func (s *spdxLicenseRefs) declared(ls []string) string {
	var parts []string
	for _, l := range ls {
		l = strings.TrimSpace(l)
		if l == "" {
			continue
		}
		if ok, _ := spdxexp.ValidateLicenses([]string{l}); ok {
			if len(ls) > 1 && isExpression(l) {
				l = "(" + l + ")"
			}
			parts = append(parts, l)
			continue
		}
		parts = append(parts, s.ref(l))
	}
	if len(parts) == 0 {
		return noAssertion
	}
	return strings.Join(parts, " AND ")
}

func (s *spdxLicenseRefs) ref(text string) string {
	if id, ok := s.byText[text]; ok {
		return id
	}
	base := "LicenseRef-" + spdxIDPart(text)
	if base == "LicenseRef-" {
		base = "LicenseRef-unnamed"
	}
	id := base
	for n := 2; s.used[id]; n++ {
		id = fmt.Sprintf("%s-%d", base, n)
	}
	s.used[id] = true
	s.byText[text] = id
	s.extracted = append(s.extracted, spdxExtracted{LicenseID: id, ExtractedText: spdxText(text), Name: spdxText(text)})
	return id
}
