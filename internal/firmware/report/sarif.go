package report

import (
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"slices"
	"strings"

	"github.com/owenrumney/go-sarif/v2/sarif"

	"github.com/netvet/netvet/internal/firmware"
)

// sarifSchema is the schema URI written into SARIF output: the OASIS
// errata01 schema, whose id it is.
const sarifSchema = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"

// informationURI is where netvet lives.
const informationURI = "https://github.com/netvet/netvet"

// sarifLevel maps a severity to a SARIF level.
func sarifLevel(s firmware.Severity) string {
	switch s {
	case firmware.SeverityCritical, firmware.SeverityHigh:
		return "error"
	case firmware.SeverityMedium:
		return "warning"
	}
	return "note"
}

// securitySeverity is the GitHub code-scanning score of a severity: above
// 9.0 critical, 7.0 to 8.9 high, 4.0 to 6.9 medium, 0.1 to 3.9 low. Info and
// unknown get none, so that GitHub falls back to the level ("note").
func securitySeverity(s firmware.Severity) string {
	switch s {
	case firmware.SeverityCritical:
		return "9.5"
	case firmware.SeverityHigh:
		return "8.0"
	case firmware.SeverityMedium:
		return "5.5"
	case firmware.SeverityLow:
		return "3.0"
	}
	return ""
}

// vulnSecuritySeverity is the highest CVSS score of v when it has one,
// else the score of its severity.
func vulnSecuritySeverity(v *firmware.Vulnerability) string {
	if s := maxScore(v); s >= 0.1 && s <= 10 {
		return fmt.Sprintf("%.1f", s)
	}
	return securitySeverity(v.Severity)
}

// sarifURI turns a path from the image into a relative URI reference:
// leading slashes dropped (an absolute path would not combine with a base
// URI), each segment percent-escaped, and "./" in front when the first
// segment holds a colon (it would read as a scheme).
func sarifURI(p string) string {
	p = strings.TrimLeft(p, "/")
	segs := strings.Split(p, "/")
	for i, s := range segs {
		segs[i] = url.PathEscape(s)
	}
	u := strings.Join(segs, "/")
	if first, _, _ := strings.Cut(u, "/"); strings.Contains(first, ":") {
		u = "./" + u
	}
	return u
}

// sarifVersion drops the "v" of "v1.2.3": SARIF consumers compare tool
// versions that start with a number.
func sarifVersion(v string) string {
	if len(v) > 1 && v[0] == 'v' && v[1] >= '0' && v[1] <= '9' {
		return v[1:]
	}
	return v
}

func ptr[T any](v T) *T { return &v }

func text(s string) *sarif.MultiformatMessageString { return &sarif.MultiformatMessageString{Text: &s} }

func writeSARIF(w io.Writer, r *firmware.ScanReport) error {
	rep, err := sarif.New(sarif.Version210, false)
	if err != nil {
		return err
	}
	rep.Schema = sarifSchema
	driver := &sarif.ToolComponent{
		Name:           toolName(r),
		InformationURI: ptr(informationURI),
		Rules:          []*sarif.ReportingDescriptor{},
	}
	if r.Version != "" {
		driver.Version = ptr(sarifVersion(r.Version))
	}
	run := sarif.NewRun(sarif.Tool{Driver: driver})

	// The image is the one artifact analysed.
	image := r.Image.Name
	if image == "" {
		image = "image"
	}
	art := &sarif.Artifact{
		Location: &sarif.ArtifactLocation{URI: ptr(sarifURI(image))},
		Length:   int(r.Image.Size),
		Roles:    []string{"analysisTarget"},
	}
	if isSHA256(r.Image.SHA256) {
		art.Hashes = map[string]string{"sha-256": r.Image.SHA256}
	}
	run.Artifacts = []*sarif.Artifact{art}
	run.Properties = sarif.Properties{
		"image":   r.Image.Name,
		"sha256":  r.Image.SHA256,
		"verdict": r.Summary.Verdict,
	}

	// Rules: those of the findings (from the report, or from the findings
	// themselves when the report lacks one), then one per vulnerability ID.
	index := map[string]int{}
	addRule := func(d *sarif.ReportingDescriptor) {
		if _, dup := index[d.ID]; dup {
			return
		}
		index[d.ID] = len(driver.Rules)
		driver.Rules = append(driver.Rules, d)
	}
	rules := slices.Clone(r.Rules)
	known := map[string]bool{}
	for _, rl := range rules {
		known[rl.ID] = true
	}
	for _, f := range r.Findings {
		if !known[f.Rule] {
			known[f.Rule] = true
			rules = append(rules, firmware.Rule{ID: f.Rule, Title: f.Title, Severity: f.Severity, Rationale: f.Rationale, References: f.References})
		}
	}
	slices.SortStableFunc(rules, func(a, b firmware.Rule) int { return strings.Compare(a.ID, b.ID) })
	for _, rl := range rules {
		addRule(findingRule(rl))
	}
	var vulnRules []*sarif.ReportingDescriptor
	seen := map[string]bool{}
	for i := range r.Vulnerabilities {
		v := &r.Vulnerabilities[i]
		if !seen[v.ID] && !known[v.ID] {
			seen[v.ID] = true
			vulnRules = append(vulnRules, vulnRule(v))
		}
	}
	slices.SortStableFunc(vulnRules, func(a, b *sarif.ReportingDescriptor) int { return strings.Compare(a.ID, b.ID) })
	for _, d := range vulnRules {
		addRule(d)
	}

	// Results.
	for i := range r.Findings {
		res := findingResult(&r.Findings[i])
		res.RuleIndex = ptr(uint(index[*res.RuleID]))
		run.Results = append(run.Results, res)
	}
	comps := componentIndex(r)
	for i := range r.Vulnerabilities {
		res := vulnResult(&r.Vulnerabilities[i], comps, image)
		res.RuleIndex = ptr(uint(index[*res.RuleID]))
		run.Results = append(run.Results, res)
	}

	// The invocation: notes, analyser failures and unpack errors.
	inv := &sarif.Invocation{ExecutionSuccessful: ptr(true)}
	for _, n := range r.Notes {
		inv.ToolExecutionNotifications = append(inv.ToolExecutionNotifications,
			&sarif.Notification{Level: "warning", Message: &sarif.Message{Text: ptr(n)}})
	}
	for _, a := range r.Analyzers {
		if a.Error != "" {
			inv.ExecutionSuccessful = ptr(false)
			inv.ToolExecutionNotifications = append(inv.ToolExecutionNotifications,
				&sarif.Notification{Level: "error", Message: &sarif.Message{Text: ptr("analyser " + a.Name + ": " + a.Error)}})
		}
	}
	for _, e := range r.Unpack.Errors {
		inv.ToolExecutionNotifications = append(inv.ToolExecutionNotifications,
			&sarif.Notification{Level: "warning", Message: &sarif.Message{Text: ptr("unpack: " + e)}})
	}
	run.Invocations = []*sarif.Invocation{inv}
	rep.AddRun(run)

	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(rep)
}

func findingRule(rl firmware.Rule) *sarif.ReportingDescriptor {
	title := rl.Title
	if title == "" {
		title = rl.ID
	}
	d := &sarif.ReportingDescriptor{
		ID:                   rl.ID,
		ShortDescription:     text(title),
		DefaultConfiguration: &sarif.ReportingConfiguration{Level: sarifLevel(rl.Severity)},
	}
	if rl.Rationale != "" {
		d.FullDescription = text(rl.Rationale)
	}
	help := rl.Rationale
	if len(rl.References) > 0 {
		help = strings.TrimSpace(help + "\n\nReferences:\n" + strings.Join(rl.References, "\n"))
	}
	if help != "" {
		d.Help = text(help)
	}
	if u := firstWebURL(rl.References); u != "" {
		d.HelpURI = ptr(u)
	}
	props := sarif.Properties{
		"tags":     []string{"security", "firmware"},
		"severity": rl.Severity.String(),
	}
	if s := securitySeverity(rl.Severity); s != "" {
		props["security-severity"] = s
	}
	d.Properties = props
	return d
}

func vulnRule(v *firmware.Vulnerability) *sarif.ReportingDescriptor {
	short := v.ID
	if v.Description != "" {
		short = v.ID + ": " + firstSentence(v.Description, 200)
	}
	d := &sarif.ReportingDescriptor{
		ID:                   v.ID,
		ShortDescription:     text(short),
		DefaultConfiguration: &sarif.ReportingConfiguration{Level: sarifLevel(v.Severity)},
	}
	if v.Description != "" {
		d.FullDescription = text(v.Description)
	}
	help := v.Description
	if len(v.URLs) > 0 {
		help = strings.TrimSpace(help + "\n\nReferences:\n" + strings.Join(v.URLs, "\n"))
	}
	if help != "" {
		d.Help = text(help)
	}
	if u := advisoryURL(v); u != "" {
		d.HelpURI = ptr(u)
	}
	props := sarif.Properties{
		"tags":     []string{"security", "vulnerability"},
		"severity": v.Severity.String(),
	}
	if s := vulnSecuritySeverity(v); s != "" {
		props["security-severity"] = s
	}
	if len(v.Aliases) > 0 {
		props["aliases"] = v.Aliases
	}
	d.Properties = props
	return d
}

// firstSentence returns s up to its first ". " or line break, at most max
// runes.
func firstSentence(s string, max int) string {
	if i := strings.IndexAny(s, "\r\n"); i >= 0 {
		s = s[:i]
	}
	if i := strings.Index(s, ". "); i >= 0 {
		s = s[:i+1]
	}
	if r := []rune(s); len(r) > max {
		s = string(r[:max]) + "..."
	}
	return s
}

// physical builds a SARIF location for a file of the image. The URI is
// the manifest path (relative, and unique even when the image holds two
// filesystems with an /etc/passwd each); the path inside the filesystem
// is the location's message.
func physical(path, fsPath string, offset int64, line int) *sarif.Location {
	where := path
	if where == "" {
		where = fsPath
	}
	pl := &sarif.PhysicalLocation{ArtifactLocation: &sarif.ArtifactLocation{URI: ptr(sarifURI(where))}}
	if offset >= 0 || line > 0 {
		reg := &sarif.Region{}
		if offset >= 0 {
			reg.ByteOffset = ptr(int(offset))
		}
		if line > 0 {
			reg.StartLine = ptr(line)
		}
		pl.Region = reg
	}
	loc := &sarif.Location{PhysicalLocation: pl}
	if fsPath != "" && path != "" {
		loc.Message = &sarif.Message{Text: ptr(fsPath)}
	}
	return loc
}

func findingResult(f *firmware.Finding) *sarif.Result {
	msg := f.Title
	if msg == "" {
		msg = f.Rule
	}
	if f.Evidence != "" {
		msg += ": " + f.Evidence
	}
	res := &sarif.Result{
		RuleID:    ptr(f.Rule),
		Level:     ptr(sarifLevel(f.Severity)),
		Message:   sarif.Message{Text: ptr(msg)},
		Locations: []*sarif.Location{physical(f.Path, f.FSPath, f.Offset, f.Line)},
		PartialFingerprints: map[string]interface{}{
			"netvetFinding/v1": fingerprint(f.Rule, f.Path, fmt.Sprint(f.Offset), fmt.Sprint(f.Line), f.Evidence),
		},
	}
	props := sarif.Properties{
		"severity": f.Severity.String(),
		"path":     f.Path,
		"offset":   f.Offset,
		"evidence": f.Evidence,
	}
	if f.FSPath != "" {
		props["fs_path"] = f.FSPath
	}
	if f.Line > 0 {
		props["line"] = f.Line
	}
	if f.Analyzer != "" {
		props["analyzer"] = f.Analyzer
	}
	if d := f.Disposition; d != nil {
		props["disposition"] = d
	}
	res.Properties = props
	res.Suppressions = suppressions(f.Disposition, "finding", f.Rule, f.Path, fmt.Sprint(f.Offset), f.Evidence)
	return res
}

func vulnResult(v *firmware.Vulnerability, comps map[string]*firmware.Component, image string) *sarif.Result {
	name := strings.TrimSpace(v.ComponentName + " " + v.ComponentVersion)
	msg := v.ID + " in " + name
	if len(v.FixedIn) > 0 {
		msg += " (fixed in " + strings.Join(v.FixedIn, ", ") + ")"
	} else if v.FixState != "" {
		msg += " (" + v.FixState + ")"
	}
	res := &sarif.Result{
		RuleID:  ptr(v.ID),
		Level:   ptr(sarifLevel(v.Severity)),
		Message: sarif.Message{Text: ptr(msg)},
		PartialFingerprints: map[string]interface{}{
			"netvetVulnerability/v1": fingerprint(v.ID, v.Component),
		},
	}
	if c := comps[v.Component]; c != nil {
		for _, l := range c.Locations {
			res.Locations = append(res.Locations, physical(l.Path, l.FSPath, l.Offset, 0))
		}
	}
	if len(res.Locations) == 0 {
		// Code-scanning tools want a location: the image as a whole.
		res.Locations = []*sarif.Location{physical(image, "", -1, 0)}
	}
	props := sarif.Properties{
		"severity":          v.Severity.String(),
		"component":         v.Component,
		"component_name":    v.ComponentName,
		"component_version": v.ComponentVersion,
		"match_type":        v.MatchType,
	}
	setIf := func(k, s string) {
		if s != "" {
			props[k] = s
		}
	}
	setIf("matched_on", v.MatchedOn)
	setIf("constraint", v.Constraint)
	setIf("fix_state", v.FixState)
	if len(v.FixedIn) > 0 {
		props["fixed_in"] = v.FixedIn
	}
	if len(v.CVSS) > 0 {
		props["cvss"] = v.CVSS
	}
	if v.KEV {
		props["known_exploited"] = true
	}
	if v.EPSS > 0 {
		props["epss"] = v.EPSS
	}
	if d := v.Disposition; d != nil {
		props["disposition"] = d
	}
	res.Properties = props
	res.Suppressions = suppressions(v.Disposition, "vulnerability", v.ID, v.Component)
	return res
}

// suppressions maps a disposition to SARIF: one external suppression,
// "accepted" when the disposition takes the item out of the verdict,
// "underReview" while it is under investigation; none otherwise (the item
// stands). Its location is the disposition document.
func suppressions(d *firmware.Disposition, key ...string) []*sarif.Suppression {
	if d == nil {
		return nil
	}
	var status string
	switch {
	case d.Suppresses():
		status = "accepted"
	case d.Status == "under_investigation" || d.Status == "in_triage":
		status = "underReview"
	default:
		return nil
	}
	just := d.Status
	if d.Justification != "" {
		just += ": " + d.Justification
	}
	if d.Statement != "" {
		just += ": " + d.Statement
	}
	src := d.Source
	if src == "" {
		src = "disposition"
	}
	return []*sarif.Suppression{{
		Kind:          "external",
		Status:        ptr(status),
		Guid:          ptr(uuidV5(nsURL, "https://netvet.dev/suppression?"+url.Values{"k": append(key, d.Source, d.Status)}.Encode())),
		Justification: ptr(just),
		Location:      &sarif.Location{PhysicalLocation: &sarif.PhysicalLocation{ArtifactLocation: &sarif.ArtifactLocation{URI: ptr(sarifURI(src))}}},
	}}
}
