package report

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	cdx "github.com/CycloneDX/cyclonedx-go"
	"github.com/github/go-spdx/v2/spdxexp"

	"github.com/netvet/netvet/internal/firmware"
)

// propPrefix starts every CycloneDX property netvet writes.
// netvet:finding:N:FIELD and netvet:location:N:FIELD number their items
// from 0 in report order.
const propPrefix = "netvet:"

// cdxTypes are the CycloneDX 1.6 component types.
var cdxTypes = map[string]cdx.ComponentType{
	"application": cdx.ComponentTypeApplication, "framework": cdx.ComponentTypeFramework,
	"library": cdx.ComponentTypeLibrary, "container": cdx.ComponentTypeContainer,
	"platform": cdx.ComponentTypePlatform, "operating-system": cdx.ComponentTypeOS,
	"device": cdx.ComponentTypeDevice, "device-driver": cdx.ComponentTypeDeviceDriver,
	"firmware": cdx.ComponentTypeFirmware, "file": cdx.ComponentTypeFile,
	"machine-learning-model": cdx.ComponentTypeMachineLearningModel, "data": cdx.ComponentTypeData,
	"cryptographic-asset": cdx.ComponentTypeCryptographicAsset,
}

func prop(props *[]cdx.Property, name, value string) {
	if value != "" {
		*props = append(*props, cdx.Property{Name: propPrefix + name, Value: value})
	}
}

func nonEmpty[T any](s []T) *[]T {
	if len(s) == 0 {
		return nil
	}
	return &s
}

func writeCycloneDX(w io.Writer, r *firmware.ScanReport, opts Options) error {
	bom := cdx.NewBOM()
	bom.SerialNumber = "urn:uuid:" + uuidV5(nsURL, documentName("cyclonedx", r))
	bom.Version = 1

	// The image is the BOM's subject.
	imageRef := "image"
	if r.Image.SHA256 != "" {
		imageRef = "image:sha256:" + r.Image.SHA256
	}
	imageName := r.Image.Name
	if imageName == "" {
		imageName = "image"
	}
	image := &cdx.Component{BOMRef: imageRef, Type: cdx.ComponentTypeFirmware, Name: imageName}
	if isSHA256(r.Image.SHA256) {
		image.Hashes = &[]cdx.Hash{{Algorithm: cdx.HashAlgoSHA256, Value: r.Image.SHA256}}
	}
	var iprops []cdx.Property
	prop(&iprops, "size", strconv.FormatInt(r.Image.Size, 10))
	for i := range r.Findings {
		findingProps(&iprops, i, &r.Findings[i])
	}
	image.Properties = nonEmpty(iprops)

	tool := cdx.Component{Type: cdx.ComponentTypeApplication, Name: toolName(r), Version: r.Version}
	meta := &cdx.Metadata{
		Tools:     &cdx.ToolsChoice{Components: &[]cdx.Component{tool}},
		Component: image,
	}
	if !opts.Created.IsZero() {
		meta.Timestamp = opts.Created.UTC().Format(time.RFC3339)
	}
	var mprops []cdx.Property
	prop(&mprops, "verdict", r.Summary.Verdict)
	if db := r.Database; db != nil {
		prop(&mprops, "database:schema_version", db.SchemaVersion)
		prop(&mprops, "database:built", db.Built)
		prop(&mprops, "database:checksum", db.Checksum)
	}
	for _, n := range r.Notes {
		prop(&mprops, "note", n)
	}
	for _, v := range r.VEX {
		prop(&mprops, "vex", v)
	}
	prop(&mprops, "unpack:complete", strconv.FormatBool(r.Unpack.Complete))
	for _, e := range r.Unpack.Errors {
		prop(&mprops, "unpack:error", e)
	}
	for _, a := range r.Analyzers {
		if a.Error != "" {
			prop(&mprops, "analyzer_error", a.Name+": "+a.Error)
		}
	}
	meta.Properties = nonEmpty(mprops)
	bom.Metadata = meta

	comps := make([]cdx.Component, 0, len(r.Components))
	refs := make([]string, 0, len(r.Components))
	seen := map[string]bool{imageRef: true}
	for i := range r.Components {
		c := cdxComponent(&r.Components[i])
		// bom-refs must be unique: a repeated or empty ID gets none rather
		// than a second owner.
		if c.BOMRef == "" || seen[c.BOMRef] {
			c.BOMRef = ""
		} else {
			seen[c.BOMRef] = true
			refs = append(refs, c.BOMRef)
		}
		comps = append(comps, c)
	}
	bom.Components = &comps
	bom.Dependencies = &[]cdx.Dependency{{Ref: imageRef, Dependencies: nonEmpty(refs)}}

	vulns := make([]cdx.Vulnerability, 0, len(r.Vulnerabilities))
	for i := range r.Vulnerabilities {
		vulns = append(vulns, cdxVulnerability(&r.Vulnerabilities[i], seen))
	}
	bom.Vulnerabilities = nonEmpty(vulns)

	enc := cdx.NewBOMEncoder(w, cdx.BOMFileFormatJSON)
	enc.SetPretty(true)
	enc.SetEscapeHTML(false)
	return enc.EncodeVersion(bom, cdx.SpecVersion1_6)
}

func findingProps(props *[]cdx.Property, i int, f *firmware.Finding) {
	p := fmt.Sprintf("finding:%d:", i)
	prop(props, p+"rule", f.Rule)
	prop(props, p+"severity", f.Severity.String())
	prop(props, p+"title", f.Title)
	prop(props, p+"path", f.Path)
	prop(props, p+"fs_path", f.FSPath)
	prop(props, p+"offset", strconv.FormatInt(f.Offset, 10))
	if f.Line > 0 {
		prop(props, p+"line", strconv.Itoa(f.Line))
	}
	prop(props, p+"evidence", f.Evidence)
	prop(props, p+"analyzer", f.Analyzer)
	if d := f.Disposition; d != nil {
		prop(props, p+"disposition:status", d.Status)
		prop(props, p+"disposition:justification", d.Justification)
		prop(props, p+"disposition:statement", d.Statement)
		prop(props, p+"disposition:source", d.Source)
	}
}

func cdxComponent(c *firmware.Component) cdx.Component {
	out := cdx.Component{
		BOMRef:     c.ID,
		Type:       cdx.ComponentTypeLibrary,
		Name:       c.Name,
		Version:    c.Version,
		PackageURL: c.PURL,
	}
	var props []cdx.Property
	if t, ok := cdxTypes[c.Type]; ok {
		out.Type = t
	} else {
		prop(&props, "type", c.Type)
	}
	if c.Supplier != "" {
		out.Supplier = &cdx.OrganizationalEntity{Name: c.Supplier}
	}
	if len(c.CPEs) > 0 {
		out.CPE = c.CPEs[0]
		for _, cpe := range c.CPEs[1:] {
			prop(&props, "cpe", cpe)
		}
	}
	out.Licenses = cdxLicenses(c.Licenses)
	prop(&props, "ecosystem", c.Ecosystem)
	prop(&props, "found_by", c.FoundBy)
	prop(&props, "end_of_life", c.EndOfLife)

	// Evidence: what identified the component, and where it was seen.
	ev := &cdx.Evidence{}
	field, value := cdx.EvidenceIdentityFieldTypeName, c.Name
	switch {
	case c.PURL != "":
		field, value = cdx.EvidenceIdentityFieldTypePURL, c.PURL
	case len(c.CPEs) > 0:
		field, value = cdx.EvidenceIdentityFieldTypeCPE, c.CPEs[0]
	}
	if value != "" {
		ev.Identity = &cdx.EvidenceIdentityChoice{Identities: &[]cdx.EvidenceIdentity{{Field: field, ConcludedValue: value}}}
	}
	var occ []cdx.EvidenceOccurrence
	for i, l := range c.Locations {
		o := cdx.EvidenceOccurrence{Location: l.Path, AdditionalContext: l.Evidence}
		if o.Location == "" {
			o.Location = l.FSPath
		}
		if o.Location == "" {
			continue // CycloneDX requires a location
		}
		if l.Offset >= 0 {
			o.Offset = ptr(int(l.Offset))
		}
		occ = append(occ, o)
		prop(&props, fmt.Sprintf("location:%d:fs_path", i), l.FSPath)
	}
	ev.Occurrences = nonEmpty(occ)
	if ev.Identity != nil || ev.Occurrences != nil {
		out.Evidence = ev
	}
	out.Properties = nonEmpty(props)
	return out
}

// cdxLicenses maps licence strings: SPDX identifiers become license.id,
// other names license.name; when any is an SPDX expression and all are
// valid SPDX, they become one expression (CycloneDX allows either a list
// of licences or exactly one expression).
func cdxLicenses(ls []string) *cdx.Licenses {
	if len(ls) == 0 {
		return nil
	}
	anyExpr, allValid := false, true
	for _, l := range ls {
		if isExpression(l) {
			anyExpr = true
		}
		if ok, _ := spdxexp.ValidateLicenses([]string{l}); !ok {
			allValid = false
		}
	}
	if anyExpr && allValid {
		return &cdx.Licenses{{Expression: joinExpressions(ls)}}
	}
	out := make(cdx.Licenses, 0, len(ls))
	for _, l := range ls {
		if ok, id := spdxexp.ActiveLicense(l); ok {
			out = append(out, cdx.LicenseChoice{License: &cdx.License{ID: id}})
		} else if l != "" {
			out = append(out, cdx.LicenseChoice{License: &cdx.License{Name: l}})
		}
	}
	if len(out) == 0 {
		return nil
	}
	return &out
}

// isExpression reports whether l is a compound licence expression.
func isExpression(l string) bool {
	u := strings.ToUpper(l)
	return strings.Contains(u, " AND ") || strings.Contains(u, " OR ") || strings.Contains(u, " WITH ") || strings.ContainsAny(l, "()")
}

// joinExpressions joins valid SPDX licences into one expression, each
// compound part in parentheses.
func joinExpressions(ls []string) string {
	parts := make([]string, 0, len(ls))
	for _, l := range ls {
		l = strings.TrimSpace(l)
		if len(ls) > 1 && isExpression(l) {
			l = "(" + l + ")"
		}
		parts = append(parts, l)
	}
	return strings.Join(parts, " AND ")
}

// cdxState maps a disposition's status to a CycloneDX analysis state and,
// for risk that was accepted, a response.
func cdxState(status string) (cdx.ImpactAnalysisState, []cdx.ImpactAnalysisResponse) {
	switch status {
	case "not_affected", "mitigated":
		return cdx.IASNotAffected, nil
	case "affected", "exploitable":
		return cdx.IASExploitable, nil
	case "fixed", "resolved":
		return cdx.IASResolved, nil
	case "resolved_with_pedigree":
		return cdx.IASResolvedWithPedigree, nil
	case "under_investigation", "in_triage":
		return cdx.IASInTriage, nil
	case "false_positive":
		return cdx.IASFalsePositive, nil
	case "accepted":
		return cdx.IASExploitable, []cdx.ImpactAnalysisResponse{cdx.IARWillNotFix}
	}
	return "", nil
}

// cdxJustification maps OpenVEX and CycloneDX justifications to CycloneDX;
// "" when there is no equivalent (the text then goes to the detail).
func cdxJustification(j string) cdx.ImpactAnalysisJustification {
	switch j {
	case "component_not_present", "vulnerable_code_not_present", "code_not_present":
		return cdx.IAJCodeNotPresent
	case "vulnerable_code_not_in_execute_path", "code_not_reachable":
		return cdx.IAJCodeNotReachable
	case "vulnerable_code_cannot_be_controlled_by_adversary", "requires_environment":
		return cdx.IAJRequiresEnvironment
	case "inline_mitigations_already_exist", "protected_by_mitigating_control":
		return cdx.IAJProtectedByMitigatingControl
	case "requires_configuration":
		return cdx.IAJRequiresConfiguration
	case "requires_dependency":
		return cdx.IAJRequiresDependency
	case "protected_by_compiler":
		return cdx.IAJProtectedByCompiler
	case "protected_at_runtime":
		return cdx.IAJProtectedAtRuntime
	case "protected_at_perimeter":
		return cdx.IAJProtectedAtPerimeter
	}
	return ""
}

func cdxScoring(version string) cdx.ScoringMethod {
	switch strings.TrimPrefix(strings.ToLower(version), "v") {
	case "2", "2.0":
		return cdx.ScoringMethodCVSSv2
	case "3", "3.0":
		return cdx.ScoringMethodCVSSv3
	case "3.1":
		return cdx.ScoringMethodCVSSv31
	case "4", "4.0":
		return cdx.ScoringMethodCVSSv4
	}
	return cdx.ScoringMethodOther
}

// cdxSeverity is the qualitative CVSS severity of a score.
func cdxSeverity(score float64, method cdx.ScoringMethod) cdx.Severity {
	switch {
	case method == cdx.ScoringMethodCVSSv2:
		switch {
		case score >= 7:
			return cdx.SeverityHigh
		case score >= 4:
			return cdx.SeverityMedium
		}
		return cdx.SeverityLow
	case score >= 9:
		return cdx.SeverityCritical
	case score >= 7:
		return cdx.SeverityHigh
	case score >= 4:
		return cdx.SeverityMedium
	case score > 0:
		return cdx.SeverityLow
	}
	return cdx.SeverityNone
}

func cdxSeverityOf(s firmware.Severity) cdx.Severity {
	switch s {
	case firmware.SeverityCritical:
		return cdx.SeverityCritical
	case firmware.SeverityHigh:
		return cdx.SeverityHigh
	case firmware.SeverityMedium:
		return cdx.SeverityMedium
	case firmware.SeverityLow:
		return cdx.SeverityLow
	case firmware.SeverityInfo:
		return cdx.SeverityInfo
	}
	return cdx.SeverityUnknown
}

// vulnSource names where an ID is published, from its prefix.
func vulnSource(id string) *cdx.Source {
	switch {
	case strings.HasPrefix(id, "CVE-") && safeID(id):
		return &cdx.Source{Name: "NVD", URL: "https://nvd.nist.gov/vuln/detail/" + id}
	case strings.HasPrefix(id, "GHSA-") && safeID(id):
		return &cdx.Source{Name: "GitHub", URL: "https://github.com/advisories/" + id}
	}
	return nil
}

func cdxVulnerability(v *firmware.Vulnerability, refs map[string]bool) cdx.Vulnerability {
	out := cdx.Vulnerability{ID: v.ID, Source: vulnSource(v.ID), Description: v.Description}
	// Aliases are references when their source is known (CycloneDX
	// requires one), properties otherwise.
	var aliases []cdx.VulnerabilityReference
	var props []cdx.Property
	for _, a := range v.Aliases {
		if src := vulnSource(a); src != nil {
			aliases = append(aliases, cdx.VulnerabilityReference{ID: a, Source: src})
		} else {
			prop(&props, "alias", a)
		}
	}
	out.References = nonEmpty(aliases)

	var ratings []cdx.VulnerabilityRating
	for _, c := range v.CVSS {
		m := cdxScoring(c.Version)
		rt := cdx.VulnerabilityRating{Score: ptr(c.Score), Method: m, Vector: c.Vector, Severity: cdxSeverity(c.Score, m)}
		if c.Source != "" {
			rt.Source = &cdx.Source{Name: c.Source}
		}
		ratings = append(ratings, rt)
	}
	if len(ratings) == 0 {
		ratings = append(ratings, cdx.VulnerabilityRating{Severity: cdxSeverityOf(v.Severity)})
	}
	out.Ratings = &ratings

	var adv []cdx.Advisory
	for _, u := range v.URLs {
		if webURL(u) {
			adv = append(adv, cdx.Advisory{URL: u})
		}
	}
	out.Advisories = nonEmpty(adv)
	if len(v.FixedIn) > 0 {
		out.Recommendation = fmt.Sprintf("Upgrade %s to %s.", v.ComponentName, strings.Join(v.FixedIn, " or "))
	}

	status := cdx.VulnerabilityStatusAffected
	if d := v.Disposition; d != nil {
		state, resp := cdxState(d.Status)
		a := &cdx.VulnerabilityAnalysis{State: state, Justification: cdxJustification(d.Justification)}
		if d.Status == "mitigated" && a.Justification == "" {
			a.Justification = cdx.IAJProtectedByMitigatingControl
		}
		if len(resp) > 0 {
			a.Response = &resp
		}
		var detail []string
		if d.Statement != "" {
			detail = append(detail, d.Statement)
		}
		if state == "" {
			detail = append(detail, "status: "+d.Status)
		}
		if d.Justification != "" && a.Justification == "" {
			detail = append(detail, "justification: "+d.Justification)
		}
		if d.Source != "" {
			detail = append(detail, "source: "+d.Source)
		}
		a.Detail = strings.Join(detail, "; ")
		out.Analysis = a
		switch state {
		case cdx.IASNotAffected, cdx.IASFalsePositive, cdx.IASResolved, cdx.IASResolvedWithPedigree:
			status = cdx.VulnerabilityStatusNotAffected
		}
	}
	if refs[v.Component] {
		aff := cdx.Affects{Ref: v.Component}
		if v.ComponentVersion != "" {
			aff.Range = &[]cdx.AffectedVersions{{Version: v.ComponentVersion, Status: status}}
		}
		out.Affects = &[]cdx.Affects{aff}
	}

	prop(&props, "component", v.Component)
	prop(&props, "match_type", v.MatchType)
	prop(&props, "matched_on", v.MatchedOn)
	prop(&props, "constraint", v.Constraint)
	prop(&props, "fix_state", v.FixState)
	for _, f := range v.FixedIn {
		prop(&props, "fixed_in", f)
	}
	if v.KEV {
		prop(&props, "known_exploited", "true")
	}
	if v.EPSS > 0 {
		prop(&props, "epss", strconv.FormatFloat(v.EPSS, 'g', -1, 64))
	}
	out.Properties = nonEmpty(props)
	return out
}
