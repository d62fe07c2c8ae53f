package vex

import (
	"net/url"
	"path"
	"regexp"
	"strings"

	"github.com/package-url/packageurl-go"

	"github.com/netvet/netvet/internal/firmware"
)

type identKind uint8

const (
	identRef  identKind = iota + 1 // a BOM reference or a manifest path
	identPURL                      // pkg:...
	identCPE                       // cpe:2.3:... or cpe:/...
	identFile                      // file:///etc/inittab: a path inside the image's filesystems
	identHash                      // sha256:<hex>: the image itself
)

// ident is one way of naming a product or a subcomponent.
type ident struct {
	kind    identKind
	raw     string
	purl    packageurl.PackageURL
	cpe     []string // the 11 attributes of a CPE 2.3 name, lower case
	pattern string   // file path or manifest path, may hold shell globs
}

var hexSHA256 = regexp.MustCompile(`^[0-9a-f]{64}$`)

// classify reads an identifier by its prefix: pkg: (package URL),
// cpe:2.3: and cpe:/ (CPE), file: (a file in the image), sha256:<hex>
// (the image), urn:cdx:…#ref (a CycloneDX BOM link: the part after #).
// Anything else is a BOM reference (a netvet component ID) or a manifest
// path.
func classify(s string) ident {
	s = strings.TrimSpace(s)
	low := strings.ToLower(s)
	switch {
	case strings.HasPrefix(low, "pkg:"):
		if p, err := packageurl.FromString(s); err == nil {
			return ident{kind: identPURL, raw: s, purl: p}
		}
	case strings.HasPrefix(low, "cpe:2.3:"):
		if f := splitCPE23(s); f != nil {
			return ident{kind: identCPE, raw: s, cpe: f}
		}
	case strings.HasPrefix(low, "cpe:/"):
		if f := cpe22(s); f != nil {
			return ident{kind: identCPE, raw: s, cpe: f}
		}
	case strings.HasPrefix(low, "file:"):
		u, err := url.Parse(s)
		if err == nil && u.Path != "" && (u.Host == "" || u.Host == "localhost") {
			return ident{kind: identFile, raw: s, pattern: path.Clean("/" + u.Path)}
		}
	case strings.HasPrefix(low, "sha256:"):
		h := strings.TrimPrefix(low, "sha256:")
		if hexSHA256.MatchString(h) {
			return ident{kind: identHash, raw: h}
		}
	case strings.HasPrefix(low, "urn:cdx:"):
		if i := strings.IndexByte(s, '#'); i >= 0 && i+1 < len(s) {
			ref, err := url.PathUnescape(s[i+1:])
			if err != nil {
				ref = s[i+1:]
			}
			return ident{kind: identRef, raw: ref, pattern: ref}
		}
	}
	return ident{kind: identRef, raw: s, pattern: s}
}

// splitCPE23 splits a formatted CPE 2.3 name into its 11 attributes,
// honouring backslash escapes; nil if it is not one.
func splitCPE23(s string) []string {
	var fields []string
	var cur strings.Builder
	esc := false
	for _, r := range s {
		switch {
		case esc:
			cur.WriteRune(r)
			esc = false
		case r == '\\':
			cur.WriteRune(r)
			esc = true
		case r == ':':
			fields = append(fields, cur.String())
			cur.Reset()
		default:
			cur.WriteRune(r)
		}
		if len(fields) > 13 {
			return nil
		}
	}
	fields = append(fields, cur.String())
	if len(fields) != 13 || !strings.EqualFold(fields[0], "cpe") || fields[1] != "2.3" {
		return nil
	}
	out := make([]string, 11)
	for i, f := range fields[2:] {
		out[i] = strings.ToLower(f)
	}
	return out
}

// cpe22 reads a CPE 2.2 URI (cpe:/a:vendor:product:version:update:edition:lang).
func cpe22(s string) []string {
	parts := strings.Split(s[len("cpe:/"):], ":")
	if len(parts) < 2 || len(parts) > 7 || len(parts[0]) != 1 {
		return nil
	}
	out := []string{"*", "*", "*", "*", "*", "*", "*", "*", "*", "*", "*"}
	for i, p := range parts {
		if p == "" {
			continue
		}
		if u, err := url.PathUnescape(p); err == nil {
			p = u
		}
		out[i] = strings.ToLower(p)
	}
	return out
}

// tri is a three-way answer: the set may not know which image it is
// applied to.
type tri uint8

const (
	unknown tri = iota
	yes
	no
)

// imageMatch says whether a product names the scanned image by SHA-256.
func (s *Set) imageMatch(p product) tri {
	hashes := append([]string(nil), p.sha256...)
	for _, id := range p.ids {
		if id.kind == identHash {
			hashes = append(hashes, id.raw)
		}
	}
	if s.image == nil || s.image.SHA256 == "" || len(hashes) == 0 {
		return unknown
	}
	for _, h := range hashes {
		if h == s.image.SHA256 {
			return yes
		}
	}
	return no
}

// matchComponent scores how a product covers a component: 2 when one of
// its identifiers (or of its subcomponents) names the component, 1 when
// it names the scanned image as a whole, 0 when it does not apply.
func (s *Set) matchComponent(p product, c *firmware.Component) int {
	if len(p.subs) > 0 {
		if s.imageMatch(p) == no {
			return 0
		}
		for _, sub := range p.subs {
			if anyIdent(sub, func(id ident) bool { return id.matchesComponent(c) }) {
				return 2
			}
		}
		return 0
	}
	if anyIdent(p.ids, func(id ident) bool { return id.matchesComponent(c) }) {
		return 2
	}
	if s.imageMatch(p) == yes {
		return 1
	}
	return 0
}

// matchFinding is matchComponent for a finding: products name files.
func (s *Set) matchFinding(p product, f *firmware.Finding) int {
	if len(p.subs) > 0 {
		if s.imageMatch(p) == no {
			return 0
		}
		for _, sub := range p.subs {
			if anyIdent(sub, func(id ident) bool { return id.matchesFinding(f) }) {
				return 2
			}
		}
		return 0
	}
	if anyIdent(p.ids, func(id ident) bool { return id.matchesFinding(f) }) {
		return 2
	}
	if s.imageMatch(p) == yes {
		return 1
	}
	return 0
}

func anyIdent(ids []ident, f func(ident) bool) bool {
	for _, id := range ids {
		if f(id) {
			return true
		}
	}
	return false
}

func (id ident) matchesComponent(c *firmware.Component) bool {
	switch id.kind {
	case identPURL:
		return purlMatches(id.purl, c)
	case identCPE:
		for _, s := range c.CPEs {
			if cpeMatches(id.cpe, s, c.Version) {
				return true
			}
		}
	case identFile:
		for _, l := range c.Locations {
			if l.FSPath != "" && globMatch(id.pattern, l.FSPath) {
				return true
			}
		}
	case identRef:
		if id.raw == c.ID {
			return true
		}
		for _, l := range c.Locations {
			if globMatch(id.pattern, l.Path) {
				return true
			}
		}
	}
	return false
}

func (id ident) matchesFinding(f *firmware.Finding) bool {
	switch id.kind {
	case identFile:
		return f.FSPath != "" && globMatch(id.pattern, f.FSPath)
	case identRef:
		return f.Path != "" && globMatch(id.pattern, f.Path)
	}
	return false
}

// purlMatches: type, namespace and name equal (ignoring case), the
// product's version (if any) equal, and each of the product's qualifiers
// present with the same value. A component without a purl is compared by
// name and version.
func purlMatches(p packageurl.PackageURL, c *firmware.Component) bool {
	if c.PURL == "" {
		return strings.EqualFold(p.Name, c.Name) && (p.Version == "" || p.Version == c.Version)
	}
	cp, err := packageurl.FromString(c.PURL)
	if err != nil {
		return false
	}
	if !strings.EqualFold(p.Type, cp.Type) || !strings.EqualFold(p.Namespace, cp.Namespace) || !strings.EqualFold(p.Name, cp.Name) {
		return false
	}
	if p.Version != "" && p.Version != cp.Version {
		return false
	}
	if p.Subpath != "" && p.Subpath != cp.Subpath {
		return false
	}
	have := cp.Qualifiers.Map()
	for _, q := range p.Qualifiers {
		if have[q.Key] != q.Value {
			return false
		}
	}
	return true
}

// cpeMatches compares attribute by attribute: "*" or empty in the
// statement matches anything; the component's version attribute, when
// "*", stands for the component's version.
func cpeMatches(want []string, have, version string) bool {
	h := splitCPE23(have)
	if h == nil {
		return false
	}
	for i, w := range want {
		if w == "*" || w == "" {
			continue
		}
		v := h[i]
		if i == 3 && (v == "*" || v == "" || v == "-") {
			v = strings.ToLower(version)
		}
		if w != v {
			return false
		}
	}
	return true
}

// globMatch matches a path against a pattern: shell globs as in
// path.Match ('*' stays inside one path element), and a trailing "/**"
// for everything below a folder.
func globMatch(pattern, name string) bool {
	if pattern == name {
		return true
	}
	if dir, ok := strings.CutSuffix(pattern, "/**"); ok {
		return strings.HasPrefix(name, dir+"/") || globPrefix(dir, name)
	}
	ok, err := path.Match(pattern, name)
	return err == nil && ok
}

// globPrefix reports whether some leading folders of name match dir.
func globPrefix(dir, name string) bool {
	depth := strings.Count(dir, "/") + 1
	parts := strings.SplitN(name, "/", depth+1)
	if len(parts) <= depth {
		return false
	}
	ok, err := path.Match(dir, strings.Join(parts[:depth], "/"))
	return err == nil && ok
}
