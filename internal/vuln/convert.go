package vuln

import (
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/anchore/grype/grype/distro"
	grypePkg "github.com/anchore/grype/grype/pkg"
	"github.com/anchore/packageurl-go"
	"github.com/anchore/syft/syft/cpe"
	syftPkg "github.com/anchore/syft/syft/pkg"

	"github.com/netvet/netvet/internal/firmware"
)

// Limits on what one component may carry into the matcher. Component
// names, versions and CPEs come from strings found in the image, so they
// are bounded before grype parses them.
const (
	maxNameLen    = 256
	maxVersionLen = 128
	maxCPELen     = 512
	maxCPEs       = 32
)

// How a component is matched.
const (
	strategyCPE    = "cpe"    // stock matcher, NVD CPE ranges, upstream version
	strategyDistro = "distro" // distribution feed (deb, apk, rpm with a known distro)
	strategyEco    = "eco"    // grype's ecosystem matcher for the package type
)

// prepared is a component ready for the matcher, or the reason it is not.
type prepared struct {
	comp     firmware.Component
	pkg      grypePkg.Package
	strategy string
	skip     string // why the component cannot be matched; empty when it can
}

// prepare turns a component into the package grype matches. Ecosystems:
//
//   - binary, linux-kernel, linux-kernel-module: by CPE, version as found.
//   - opkg: by CPE, with the OpenWrt release suffix removed ("1.36.1-1" is
//     busybox 1.36.1); opkg has no distribution feed in the database.
//   - deb, apk, rpm with a distro qualifier in the purl
//     (pkg:deb/debian/openssl@3.0.11-1~deb12u2?distro=debian-12): by that
//     distribution's feed, which knows its backported fixes. Without a
//     known distro there is no feed to ask, so they fall back to CPE
//     matching on the upstream version, like opkg.
//   - anything else (python, go-module, npm, java-archive, ...): grype's
//     matcher for the ecosystem.
func prepare(c firmware.Component, index int) prepared {
	p := prepared{comp: c}
	name := strings.TrimSpace(c.Name)
	ver := strings.TrimSpace(c.Version)
	switch {
	case name == "":
		p.skip = "no name"
		return p
	case ver == "":
		p.skip = "no version"
		return p
	case len(name) > maxNameLen || !printable(name):
		p.skip = "name is not a short printable string"
		return p
	case len(ver) > maxVersionLen || !printable(ver):
		p.skip = "version is not a short printable string"
		return p
	}
	id := c.ID
	if id == "" {
		id = fmt.Sprintf("component-%d", index)
	}
	gp := grypePkg.Package{
		ID:       grypePkg.ID(id),
		Name:     name,
		Version:  ver,
		PURL:     boundedPURL(c.PURL),
		Licenses: []string{},
	}
	eco := strings.ToLower(strings.TrimSpace(c.Ecosystem))
	var purl packageurl.PackageURL
	if gp.PURL != "" {
		if pu, err := packageurl.FromString(gp.PURL); err == nil {
			purl = pu
		}
	}
	cpes := parseCPEs(c.CPEs)
	upstreamCPE := func() {
		gp.Type = syftPkg.BinaryPkg
		gp.Version = UpstreamVersion(ver)
		gp.CPEs = withVersion(cpes, ver, gp.Version)
		p.strategy = strategyCPE
	}
	switch eco {
	case "binary", "":
		gp.Type = syftPkg.BinaryPkg
		gp.CPEs = cpes
		p.strategy = strategyCPE
	case "linux-kernel":
		gp.Type = syftPkg.LinuxKernelPkg
		gp.CPEs = cpes
		p.strategy = strategyCPE
	case "linux-kernel-module":
		gp.Type = syftPkg.LinuxKernelModulePkg
		gp.CPEs = cpes
		p.strategy = strategyCPE
	case "opkg", "ipk":
		upstreamCPE()
	case "deb", "apk", "rpm":
		d := distroFromPURL(purl)
		if d == nil {
			upstreamCPE()
			break
		}
		gp.Type = syftPkg.TypeByName(eco)
		if eco == "apk" {
			gp.Type = syftPkg.ApkPkg
		}
		gp.Distro = d
		gp.CPEs = cpes
		if eco != "rpm" { // an rpm's upstream is a source-rpm file name, not a package name
			gp.Upstreams = upstreamsFromPURL(name, purl)
		}
		p.strategy = strategyDistro
	default:
		t := syftPkg.TypeByName(eco)
		if t == syftPkg.UnknownPkg {
			for _, k := range syftPkg.AllPkgs {
				if string(k) == eco {
					t = k
				}
			}
		}
		if t == syftPkg.UnknownPkg && gp.PURL != "" {
			t = syftPkg.TypeFromPURL(gp.PURL)
		}
		if t == syftPkg.UnknownPkg {
			// Unknown ecosystem: CPEs are the only common language.
			gp.Type = syftPkg.BinaryPkg
			gp.CPEs = cpes
			p.strategy = strategyCPE
			break
		}
		gp.Type = t
		gp.Language = syftPkg.LanguageByName(string(t))
		if gp.Language == syftPkg.UnknownLanguage && gp.PURL != "" {
			gp.Language = syftPkg.LanguageFromPURL(gp.PURL)
		}
		gp.CPEs = cpes
		p.strategy = strategyEco
	}
	if p.strategy == strategyCPE && len(gp.CPEs) == 0 {
		p.skip = "no CPE to match by (binary and opkg components are matched by CPE)"
		return p
	}
	p.pkg = gp
	return p
}

func printable(s string) bool {
	for _, r := range s {
		if r < 0x20 || r == 0x7f || r == '\uFFFD' {
			return false
		}
	}
	return true
}

func boundedPURL(s string) string {
	s = strings.TrimSpace(s)
	if len(s) > 1024 || !printable(s) {
		return ""
	}
	return s
}

// parseCPEs keeps the valid CPE 2.3 strings, at most maxCPEs, deduplicated
// and sorted so that the same component always searches the same way.
func parseCPEs(in []string) []cpe.CPE {
	seen := map[string]bool{}
	var out []cpe.CPE
	for _, s := range in {
		s = strings.TrimSpace(s)
		if s == "" || len(s) > maxCPELen || !printable(s) || seen[s] {
			continue
		}
		c, err := cpe.New(s, cpe.DeclaredSource)
		if err != nil {
			continue
		}
		seen[s] = true
		out = append(out, c)
		if len(out) == maxCPEs {
			break
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Attributes.String() < out[j].Attributes.String() })
	return out
}

// withVersion rewrites each CPE's version for matching on the upstream
// version: a CPE that carries the packaged version ("1.36.1-1") or none
// gets the upstream one; a CPE with another explicit version keeps it.
func withVersion(cs []cpe.CPE, packaged, upstream string) []cpe.CPE {
	out := make([]cpe.CPE, 0, len(cs))
	for _, c := range cs {
		v := c.Attributes.Version
		switch {
		case v == "" || v == "*" || v == "-" || v == packaged:
			c.Attributes.Version = upstream
		default:
			c.Attributes.Version = UpstreamVersion(v)
		}
		out = append(out, c)
	}
	return out
}

var (
	// A release suffix: "-1", "-r3", "-1~deb12u2", "-2+b1", "-0ubuntu1.4".
	releaseSuffix = regexp.MustCompile(`-r?[0-9][0-9A-Za-z.+~]*$`)
	// A plain date version has no release to remove.
	dateVersion = regexp.MustCompile(`^[0-9]{4}-[0-9]{2}-[0-9]{2}$`)
	epochPrefix = regexp.MustCompile(`^[0-9]+:`)
)

// UpstreamVersion strips what packaging adds to an upstream version: an
// epoch ("1:") and the package release after the last hyphen ("-1",
// "-r2", "-1~deb12u2"), so that "1.36.1-1" becomes "1.36.1" and
// "2022.82-5" becomes "2022.82". A plain date ("2023-01-15") is kept, as
// is a version with no release. The result is what NVD's version ranges
// speak of.
func UpstreamVersion(v string) string {
	v = strings.TrimSpace(v)
	v = epochPrefix.ReplaceAllString(v, "")
	if dateVersion.MatchString(v) {
		return v
	}
	if i := strings.LastIndexByte(v, '-'); i > 0 && releaseSuffix.MatchString(v[i:]) {
		v = v[:i]
	}
	return v
}

// distroFromPURL reads the distro qualifier syft writes into deb, apk and
// rpm purls ("distro=debian-12", "distro=alpine-3.19.1"); nil when absent
// or not a distribution grype knows.
func distroFromPURL(p packageurl.PackageURL) *distro.Distro {
	for _, q := range p.Qualifiers {
		if q.Key != syftPkg.PURLQualifierDistro || q.Value == "" || len(q.Value) > 64 {
			continue
		}
		name, ver := distro.ParseDistroString(q.Value)
		if name == "" || ver == "" {
			return nil
		}
		d := distro.NewFromNameVersion(strings.ToLower(name), ver)
		if d == nil || !knownDistro(d.Type) {
			return nil
		}
		return d
	}
	return nil
}

// knownDistro reports whether grype has a distribution type of this name;
// a distro it does not know (openwrt) has no feed to match against.
func knownDistro(t distro.Type) bool {
	for _, k := range distro.All {
		if k == t {
			return true
		}
	}
	return false
}

// upstreamsFromPURL reads the source package from the purl's upstream
// qualifier ("upstream=openssl" on libssl3), which the distribution feeds
// are keyed by.
func upstreamsFromPURL(name string, p packageurl.PackageURL) []grypePkg.UpstreamPackage {
	var out []grypePkg.UpstreamPackage
	for _, q := range p.Qualifiers {
		if q.Key != syftPkg.PURLQualifierUpstream || q.Value == "" || len(q.Value) > 256 {
			continue
		}
		f := strings.SplitN(q.Value, "@", 2)
		if f[0] == "" || f[0] == name {
			continue
		}
		u := grypePkg.UpstreamPackage{Name: f[0]}
		if len(f) == 2 {
			u.Version = f[1]
		}
		out = append(out, u)
	}
	return out
}
