package vuln

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/anchore/grype/grype"
	"github.com/anchore/grype/grype/match"
	"github.com/anchore/grype/grype/matcher"
	"github.com/anchore/grype/grype/matcher/dpkg"
	"github.com/anchore/grype/grype/matcher/java"
	"github.com/anchore/grype/grype/matcher/rpm"
	"github.com/anchore/grype/grype/matcher/stock"
	grypePkg "github.com/anchore/grype/grype/pkg"
	"github.com/anchore/grype/grype/version"
	"github.com/anchore/grype/grype/vulnerability"

	"github.com/netvet/netvet/internal/firmware"
)

// matchers is grype's default matcher set configured for offline use:
// CPE matching on for the stock matcher (binaries, opkg, kernels), off for
// distribution packages (their feeds know the backports NVD ranges do
// not), and no look-ups on Maven Central.
func matchers() []match.Matcher {
	return matcher.NewDefaultMatchers(matcher.Config{
		Stock: stock.MatcherConfig{UseCPEs: true},
		Java:  java.MatcherConfig{ExternalSearchConfig: java.ExternalSearchConfig{SearchMavenUpstream: false}},
		Dpkg:  dpkg.MatcherConfig{MissingEpochStrategy: version.MissingEpochStrategyZero},
		Rpm:   rpm.MatcherConfig{MissingEpochStrategy: version.MissingEpochStrategyAuto},
	})
}

// Match returns the known vulnerabilities of the components, sorted by
// vulnerability ID then component ID, one entry per (vulnerability,
// component). Components without a usable name, version, or (for
// CPE-matched ecosystems) CPE are not matched; that is not an error. When
// the matcher fails on some components, the vulnerabilities of the others
// are returned with an error wrapping ErrPartial that names them.
func (db *DB) Match(ctx context.Context, comps []firmware.Component) ([]firmware.Vulnerability, error) {
	db.mu.Lock()
	defer db.mu.Unlock()
	if db.closed {
		return nil, fmt.Errorf("vuln: database %s is closed", db.dir)
	}
	byID := map[grypePkg.ID]prepared{}
	var pkgs []grypePkg.Package
	for i, c := range comps {
		p := prepare(c, i)
		if p.skip != "" {
			continue
		}
		if _, dup := byID[p.pkg.ID]; dup {
			p.pkg.ID = grypePkg.ID(fmt.Sprintf("%s#%d", p.pkg.ID, i))
		}
		byID[p.pkg.ID] = p
		pkgs = append(pkgs, p.pkg)
	}
	if len(pkgs) == 0 {
		return []firmware.Vulnerability{}, nil
	}

	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var found []match.Match
	var failed []error
	ms, err := db.find(ctx, pkgs)
	// grype logs a cancellation between packages rather than returning it.
	if cerr := ctx.Err(); cerr != nil {
		return nil, cerr
	}
	switch {
	case err == nil:
		found = ms
	case ctx.Err() != nil:
		return nil, ctx.Err()
	default:
		// One package broke the run: match them one by one so that the
		// others still get their results.
		for _, p := range pkgs {
			ms, err := db.find(ctx, []grypePkg.Package{p})
			if err != nil {
				if ctx.Err() != nil {
					return nil, ctx.Err()
				}
				failed = append(failed, fmt.Errorf("component %s (%s %s): %w", byID[p.ID].comp.ID, p.Name, p.Version, err))
				continue
			}
			found = append(found, ms...)
		}
	}

	c := converter{db: db, related: map[string]*vulnerability.Metadata{}}
	merged := map[[2]string]*firmware.Vulnerability{}
	for _, m := range found {
		p, ok := byID[m.Package.ID]
		if !ok {
			continue
		}
		v := c.convert(m, p)
		key := [2]string{v.ID, v.Component}
		if prev, ok := merged[key]; ok {
			mergeInto(prev, v)
			continue
		}
		merged[key] = &v
	}
	out := make([]firmware.Vulnerability, 0, len(merged))
	for _, v := range merged {
		out = append(out, *v)
	}
	SortVulnerabilities(out)
	if len(failed) > 0 {
		return out, fmt.Errorf("vuln: %w: %w", ErrPartial, errors.Join(failed...))
	}
	return out, nil
}

func (db *DB) find(ctx context.Context, pkgs []grypePkg.Package) ([]match.Match, error) {
	vm := grype.VulnerabilityMatcher{
		VulnerabilityProvider: db.provider,
		Matchers:              matchers(),
		NormalizeByCVE:        true,
	}
	ms, _, err := vm.FindMatchesContext(ctx, pkgs, grypePkg.Context{})
	if err != nil {
		return nil, err
	}
	if ms == nil {
		return nil, nil
	}
	return ms.Sorted(), nil
}

// SortVulnerabilities orders vulnerabilities by ID, then component ID.
func SortVulnerabilities(vs []firmware.Vulnerability) {
	sort.SliceStable(vs, func(i, j int) bool {
		if vs[i].ID != vs[j].ID {
			return vs[i].ID < vs[j].ID
		}
		return vs[i].Component < vs[j].Component
	})
}

type converter struct {
	db      *DB
	related map[string]*vulnerability.Metadata // NVD records by CVE, for distro records without scores
}

func (c *converter) convert(m match.Match, p prepared) firmware.Vulnerability {
	vl := m.Vulnerability
	v := firmware.Vulnerability{
		ID:               vl.ID,
		Component:        p.comp.ID,
		ComponentName:    p.comp.Name,
		ComponentVersion: p.comp.Version,
		FixState:         string(vl.Fix.State),
	}
	if v.Component == "" {
		v.Component = string(p.pkg.ID)
	}
	if v.FixState == "" {
		v.FixState = string(vulnerability.FixStateUnknown)
	}
	v.FixedIn = uniqueSorted(vl.Fix.Versions)
	var aliases []string
	for _, r := range vl.RelatedVulnerabilities {
		if r.ID != "" && r.ID != v.ID {
			aliases = append(aliases, r.ID)
		}
	}
	v.Aliases = uniqueSorted(aliases)

	meta := vl.Metadata
	if meta == nil {
		if md, err := c.db.provider.VulnerabilityMetadata(vl.Reference); err == nil { //nolint:staticcheck // the reference path is the only one for records without inline metadata
			meta = md
		}
	}
	var nvd *vulnerability.Metadata
	if meta == nil || !strings.HasPrefix(meta.Namespace, "nvd:") {
		nvd = c.nvdRecord(vl)
	}
	sev := firmware.SeverityUnknown
	var cvss []firmware.CVSS
	for _, md := range []*vulnerability.Metadata{meta, nvd} {
		if md == nil {
			continue
		}
		if sev == firmware.SeverityUnknown {
			sev = severityOf(md.Severity)
		}
		if v.Description == "" {
			v.Description = strings.TrimSpace(md.Description)
		}
		if md.DataSource != "" {
			v.URLs = append(v.URLs, md.DataSource)
		}
		v.URLs = append(v.URLs, md.URLs...)
		for _, s := range md.Cvss {
			cvss = append(cvss, firmware.CVSS{Version: s.Version, Vector: s.Vector, Score: s.Metrics.BaseScore, Source: s.Source})
		}
		if len(md.KnownExploited) > 0 {
			v.KEV = true
		}
		for _, e := range md.EPSS {
			if e.EPSS > v.EPSS && !math.IsNaN(e.EPSS) {
				v.EPSS = e.EPSS
			}
		}
	}
	v.CVSS = uniqueCVSS(cvss)
	if sev == firmware.SeverityUnknown {
		sev = severityFromCVSS(v.CVSS)
	}
	v.Severity = sev
	v.URLs = uniqueKeepOrder(v.URLs)

	v.MatchType, v.MatchedOn, v.Constraint = describeMatch(m)
	if v.Constraint == "" && vl.Constraint != nil {
		v.Constraint = cleanConstraint(vl.Constraint.String())
	}
	if v.MatchType == string(match.CPEMatch) {
		v.Constraint, v.FixedIn = narrow(v.Constraint, v.FixedIn, p.pkg.Version)
	}
	return v
}

// endsAt reports whether the range c has the upper bound "< v".
func endsAt(c, v string) bool {
	for _, term := range strings.Split(c, ",") {
		if strings.TrimSpace(term) == "< "+v {
			return true
		}
	}
	return false
}

// narrow keeps, of an NVD record's several ranges ("a||b||c"), the ones
// the version falls in, and the fixed versions those ranges end at: a
// reader of OpenSSL 3.0.13 wants "< 3.0.15", not every branch's fix.
func narrow(constraint string, fixed []string, ver string) (string, []string) {
	parts := strings.Split(constraint, "||")
	if len(parts) < 2 || ver == "" {
		return constraint, fixed
	}
	v := version.New(ver, version.UnknownFormat)
	var keep []string
	for _, part := range parts {
		part = cleanConstraint(part)
		c, err := version.GetConstraint(part, version.UnknownFormat)
		if err != nil {
			return constraint, fixed
		}
		if ok, err := c.Satisfied(v); err == nil && ok {
			keep = append(keep, part)
		}
	}
	if len(keep) == 0 {
		return constraint, fixed
	}
	var fix []string
	for _, f := range fixed {
		for _, k := range keep {
			if endsAt(k, f) {
				fix = append(fix, f)
				break
			}
		}
	}
	return strings.Join(keep, " || "), fix
}

// nvdRecord finds the NVD record of a CVE matched through another source
// (a distribution feed often has no score of its own).
func (c *converter) nvdRecord(vl vulnerability.Vulnerability) *vulnerability.Metadata {
	ids := []string{vl.ID}
	for _, r := range vl.RelatedVulnerabilities {
		if strings.HasPrefix(r.Namespace, "nvd:") {
			ids = append(ids, r.ID)
		}
	}
	for _, id := range ids {
		if !strings.HasPrefix(strings.ToUpper(id), "CVE-") {
			continue
		}
		if md, ok := c.related[id]; ok {
			if md != nil {
				return md
			}
			continue
		}
		md, err := c.db.provider.VulnerabilityMetadata(vulnerability.Reference{ID: id, Namespace: "nvd:cpe"}) //nolint:staticcheck // see convert
		if err != nil || md == nil || (md.Severity == "" || strings.EqualFold(md.Severity, "unknown")) && len(md.Cvss) == 0 {
			md = nil
		}
		c.related[id] = md
		if md != nil {
			return md
		}
	}
	return nil
}

// describeMatch gives the strongest way the match was made: its type, what
// was searched ("cpe:2.3:a:busybox:busybox:1.36.1:..." or "debian 12:
// openssl 3.0.11-1~deb12u2") and the affected range it fell in.
func describeMatch(m match.Match) (typ, on, constraint string) {
	ds := append(match.Details(nil), m.Details...)
	if len(ds) == 0 {
		return "", "", ""
	}
	sort.Stable(ds)
	d := ds[0]
	typ = string(d.Type)
	switch s := d.SearchedBy.(type) {
	case match.CPEParameters:
		if len(s.CPEs) > 0 {
			on = s.CPEs[0]
		}
	case match.DistroParameters:
		on = strings.TrimSpace(fmt.Sprintf("%s %s: %s %s", s.Distro.Type, s.Distro.Version, s.Package.Name, s.Package.Version))
	case match.EcosystemParameters:
		on = strings.TrimSpace(fmt.Sprintf("%s: %s %s", s.Language, s.Package.Name, s.Package.Version))
	}
	switch f := d.Found.(type) {
	case match.CPEResult:
		constraint = f.VersionConstraint
	case match.DistroResult:
		constraint = f.VersionConstraint
	case match.EcosystemResult:
		constraint = f.VersionConstraint
	}
	return typ, on, cleanConstraint(constraint)
}

// cleanConstraint drops grype's "(unknown)" format tag, which says only
// that NVD ranges carry no version scheme.
func cleanConstraint(s string) string {
	return strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(s), "(unknown)"))
}

func severityOf(s string) firmware.Severity {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "critical":
		return firmware.SeverityCritical
	case "high", "important":
		return firmware.SeverityHigh
	case "medium", "moderate":
		return firmware.SeverityMedium
	case "low":
		return firmware.SeverityLow
	case "negligible", "unimportant":
		return firmware.SeverityInfo
	}
	return firmware.SeverityUnknown
}

// severityFromCVSS rates by the highest CVSS v3/v4 base score (v2 only
// when there is nothing newer), with the CVSS v3 qualitative scale.
func severityFromCVSS(cs []firmware.CVSS) firmware.Severity {
	best, bestV2 := -1.0, -1.0
	for _, c := range cs {
		if strings.HasPrefix(c.Version, "2") {
			bestV2 = math.Max(bestV2, c.Score)
			continue
		}
		best = math.Max(best, c.Score)
	}
	if best < 0 {
		best = bestV2
	}
	switch {
	case best >= 9.0:
		return firmware.SeverityCritical
	case best >= 7.0:
		return firmware.SeverityHigh
	case best >= 4.0:
		return firmware.SeverityMedium
	case best > 0:
		return firmware.SeverityLow
	case best == 0:
		return firmware.SeverityInfo
	}
	return firmware.SeverityUnknown
}

func uniqueCVSS(cs []firmware.CVSS) []firmware.CVSS {
	if len(cs) == 0 {
		return nil
	}
	seen := map[firmware.CVSS]bool{}
	var out []firmware.CVSS
	for _, c := range cs {
		if math.IsNaN(c.Score) || seen[c] {
			continue
		}
		seen[c] = true
		out = append(out, c)
	}
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Version != b.Version {
			return a.Version > b.Version // newest scheme first
		}
		if a.Source != b.Source {
			return a.Source < b.Source
		}
		return a.Vector < b.Vector
	})
	return out
}

func uniqueSorted(in []string) []string {
	if len(in) == 0 {
		return nil
	}
	seen := map[string]bool{}
	var out []string
	for _, s := range in {
		if s != "" && !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	sort.Strings(out)
	return out
}

func uniqueKeepOrder(in []string) []string {
	if len(in) == 0 {
		return nil
	}
	seen := map[string]bool{}
	var out []string
	for _, s := range in {
		if s != "" && !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

var matchRank = map[string]int{
	string(match.ExactDirectMatch):   0,
	string(match.ExactIndirectMatch): 1,
	string(match.CPEMatch):           2,
}

func rank(t string) int {
	if r, ok := matchRank[t]; ok {
		return r
	}
	return len(matchRank)
}

// mergeInto folds a second record of the same vulnerability on the same
// component (an NVD and a GitHub record, say) into the first.
func mergeInto(a *firmware.Vulnerability, b firmware.Vulnerability) {
	a.Aliases = uniqueSorted(append(a.Aliases, b.Aliases...))
	a.FixedIn = uniqueSorted(append(a.FixedIn, b.FixedIn...))
	a.CVSS = uniqueCVSS(append(a.CVSS, b.CVSS...))
	a.URLs = uniqueKeepOrder(append(a.URLs, b.URLs...))
	if b.Severity > a.Severity {
		a.Severity = b.Severity
	}
	if a.Description == "" {
		a.Description = b.Description
	}
	a.KEV = a.KEV || b.KEV
	a.EPSS = math.Max(a.EPSS, b.EPSS)
	if a.FixState != string(vulnerability.FixStateFixed) && b.FixState == string(vulnerability.FixStateFixed) {
		a.FixState = b.FixState
	}
	if rank(b.MatchType) < rank(a.MatchType) ||
		rank(b.MatchType) == rank(a.MatchType) && (b.MatchedOn+"\x00"+b.Constraint) < (a.MatchedOn+"\x00"+a.Constraint) {
		a.MatchType, a.MatchedOn, a.Constraint = b.MatchType, b.MatchedOn, b.Constraint
	}
}
