package sbom

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/netvet/netvet/internal/firmware"
	"github.com/netvet/netvet/internal/sbom/detect"
)

// The component-hygiene rules.
var (
	RuleMultipleVersions = firmware.Rule{
		ID: "NV-SBOM-001", Title: "multiple versions of a component", Severity: firmware.SeverityMedium,
		Rationale: "Several versions of one library or program in one image mean some copies miss the fixes of the newest, and an update of the package leaves the others behind.",
	}
	RuleCopies = firmware.Rule{
		ID: "NV-SBOM-002", Title: "several copies of a library", Severity: firmware.SeverityLow,
		Rationale: "A library built into several files (static linking, vendored copies) is not fixed by updating its shared copy; each file must be rebuilt.",
	}
	RuleEndOfLife = firmware.Rule{
		ID: "NV-SBOM-003", Title: "component past upstream end of life", Severity: firmware.SeverityMedium,
		Rationale:  "Upstream no longer fixes vulnerabilities in this release branch; new flaws stay open unless the vendor backports fixes, which must be shown.",
		References: []string{"https://endoflife.date/"},
	}
)

// Rules lists the rules Hygiene reports, sorted by ID.
func Rules() []firmware.Rule {
	return []firmware.Rule{RuleMultipleVersions, RuleCopies, RuleEndOfLife}
}

// AnalyzerName is the analyzer name Hygiene's findings carry.
const AnalyzerName = "sbom"

// highAfter is how long past its end of life a component's finding is
// raised from medium to high.
const highAfter = 365 * 24 * time.Hour

// maxListed bounds the locations or versions named in one finding's
// evidence; the rest are counted.
const maxListed = 10

// Hygiene reports on a component list: several versions of one product
// (NV-SBOM-001), several files carrying one product (NV-SBOM-002), and
// versions past upstream end of life at now (NV-SBOM-003). It also sets
// EndOfLife on the components of cs that are past it.
//
// Products are grouped by canonical name, so that an opkg package
// (libopenssl3 3.0.13-1), a binary (libcrypto.so.3 with OpenSSL 3.0.13)
// and a static copy count as one product, and versions are compared as
// upstream releases (3.0.13-1 and 3.0.13 are one version). Copies are
// counted for libraries only: the distinct files a library was found in by
// content or file name (the "binary" ecosystem), such as libcrypto.so and
// a daemon that links OpenSSL statically. Package database entries are
// not copies, and neither are the several programs of one project
// (dropbear and dbclient, smbd and nmbd), which its package updates
// together. Kernel modules are not grouped: each is its own product.
func Hygiene(cs []firmware.Component, now time.Time) []firmware.Finding {
	type group struct {
		versions map[string][]*firmware.Component // upstream version -> components
		copies   map[string]firmware.Location     // path -> first location
		version  map[string]string                // path -> version found there
	}
	groups := map[string]*group{}
	var names []string
	var out []firmware.Finding
	type eolKey struct{ prod, version string }
	eol := map[eolKey][]*firmware.Component{}
	var eolOrder []eolKey
	for i := range cs {
		c := &cs[i]
		setEndOfLife(c, now)
		if c.EndOfLife != "" {
			k := eolKey{detect.ProductName(c.Name, c.Ecosystem), detect.UpstreamVersion(c.Version)}
			if _, ok := eol[k]; !ok {
				eolOrder = append(eolOrder, k)
			}
			eol[k] = append(eol[k], c)
		}
		if c.Ecosystem == "linux-kernel-module" {
			continue
		}
		prod := detect.ProductName(c.Name, c.Ecosystem)
		g := groups[prod]
		if g == nil {
			g = &group{versions: map[string][]*firmware.Component{}, copies: map[string]firmware.Location{}, version: map[string]string{}}
			groups[prod] = g
			names = append(names, prod)
		}
		up := detect.UpstreamVersion(c.Version)
		if up != "" {
			g.versions[up] = append(g.versions[up], c)
		}
		if c.Ecosystem == "binary" && c.Type == "library" {
			for _, l := range c.Locations {
				if _, dup := g.copies[l.Path]; !dup {
					g.copies[l.Path] = l
					g.version[l.Path] = c.Version
				}
			}
		}
	}
	for _, k := range eolOrder {
		sortEvidence(eol[k])
		out = append(out, eolFinding(eol[k], now))
	}
	sort.Strings(names)
	for _, prod := range names {
		g := groups[prod]
		if len(g.versions) > 1 {
			out = append(out, versionsFinding(prod, g.versions))
		}
		if len(g.copies) > 1 {
			out = append(out, copiesFinding(prod, g.copies, g.version))
		}
	}
	firmware.SortFindings(out)
	return out
}

func versionsFinding(prod string, versions map[string][]*firmware.Component) firmware.Finding {
	vs := make([]string, 0, len(versions))
	for v := range versions {
		vs = append(vs, v)
	}
	sort.Slice(vs, func(i, j int) bool { return detect.CompareVersions(vs[i], vs[j]) < 0 })
	for _, v := range vs {
		sortEvidence(versions[v])
	}
	// The finding points at the oldest version's first location.
	oldest := versions[vs[0]][0]
	var parts []string
	for i, v := range vs {
		if i == maxListed {
			parts = append(parts, fmt.Sprintf("and %d more", len(vs)-maxListed))
			break
		}
		parts = append(parts, v+" in "+describeWhere(versions[v]))
	}
	loc := firstLocation(oldest)
	fd := RuleMultipleVersions.Finding(nil, loc.Offset, fmt.Sprintf("%d versions of %s: %s", len(vs), prod, strings.Join(parts, "; ")))
	fd.Title = "multiple versions of " + prod
	fd.Path, fd.FSPath = loc.Path, loc.FSPath
	fd.Analyzer = AnalyzerName
	return fd
}

// describeWhere names the first location of each component of one version.
func describeWhere(cs []*firmware.Component) string {
	var ws []string
	for _, c := range cs {
		l := firstLocation(c)
		w := l.FSPath
		if w == "" {
			w = l.Path
		}
		w += " (" + c.Ecosystem
		if n := len(c.Locations); n > 1 {
			w += fmt.Sprintf(", %d files", n)
		}
		w += ")"
		ws = append(ws, w)
	}
	sort.Strings(ws)
	if len(ws) > maxListed {
		ws = append(ws[:maxListed], fmt.Sprintf("and %d more", len(ws)-maxListed))
	}
	return strings.Join(ws, ", ")
}

func copiesFinding(prod string, copies map[string]firmware.Location, version map[string]string) firmware.Finding {
	paths := make([]string, 0, len(copies))
	for p := range copies {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	var parts []string
	for i, p := range paths {
		if i == maxListed {
			parts = append(parts, fmt.Sprintf("and %d more", len(paths)-maxListed))
			break
		}
		l := copies[p]
		w := l.FSPath
		if w == "" {
			w = l.Path
		}
		if l.Offset >= 0 {
			w += fmt.Sprintf(" @0x%x", l.Offset)
		}
		if v := version[p]; v != "" {
			w += " (" + v + ")"
		}
		parts = append(parts, w)
	}
	first := copies[paths[0]]
	fd := RuleCopies.Finding(nil, first.Offset, fmt.Sprintf("%s found in %d files: %s", prod, len(paths), strings.Join(parts, ", ")))
	fd.Title = fmt.Sprintf("%d copies of %s", len(paths), prod)
	fd.Path, fd.FSPath = first.Path, first.FSPath
	fd.Analyzer = AnalyzerName
	return fd
}

// eolFinding reports one product version past its end of life, found as
// the components cs (a package entry and the binaries, say).
func eolFinding(cs []*firmware.Component, now time.Time) firmware.Finding {
	c := cs[0]
	prod := detect.ProductName(c.Name, c.Ecosystem)
	r, _ := detect.EndOfLife(prod, c.Version)
	loc := firstLocation(c)
	when := "ended " + r.Date
	if r.Bound {
		when = "branch not in the calendar; support ended no later than " + r.Date
	}
	ev := fmt.Sprintf("%s %s: release branch %s, upstream support %s; seen in %s; source: %s",
		prod, detect.UpstreamVersion(c.Version), r.Branch, when, describeWhere(cs), r.Source)
	fd := RuleEndOfLife.Finding(nil, loc.Offset, ev)
	fd.Title = fmt.Sprintf("%s %s is past upstream end of life", prod, detect.UpstreamVersion(c.Version))
	fd.Path, fd.FSPath = loc.Path, loc.FSPath
	fd.Analyzer = AnalyzerName
	if t, err := time.Parse(time.DateOnly, r.Date); err == nil && now.Sub(t) > highAfter {
		fd.Severity = firmware.SeverityHigh
	}
	return fd
}

// sortEvidence puts the components found inside files (with the offset
// of a version string) before package database entries, then orders by
// first location, so that a finding points at the strongest evidence.
func sortEvidence(cs []*firmware.Component) {
	rank := func(c *firmware.Component) int {
		switch c.Ecosystem {
		case "binary", "linux-kernel":
			return 0
		}
		return 1
	}
	sort.SliceStable(cs, func(i, j int) bool {
		if ri, rj := rank(cs[i]), rank(cs[j]); ri != rj {
			return ri < rj
		}
		return firstLocation(cs[i]).Path < firstLocation(cs[j]).Path
	})
}

func firstLocation(c *firmware.Component) firmware.Location {
	if len(c.Locations) == 0 {
		return firmware.Location{Offset: -1}
	}
	return c.Locations[0]
}
