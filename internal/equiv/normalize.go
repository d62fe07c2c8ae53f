package equiv

import (
	"bytes"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"unicode/utf8"
)

// mask is a run of bytes in one file that a normalisation may ignore.
type mask struct {
	off, n int
	class  string
}

func (m mask) end() int { return m.off + m.n }

// Date patterns. Each is strict: a month or weekday name, a four-digit
// year starting 19 or 20, hours below 30 and minutes and seconds below 60.
const (
	reMonth = `(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)`
	reDay   = `(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)`
	reHMS   = `[0-2][0-9]:[0-5][0-9]:[0-5][0-9]`
	reYear  = `(?:19|20)[0-9][0-9]`
)

var (
	// date(1), ctime(3) and the Linux kernel's UTS_VERSION:
	// "Sun Mar  1 10:00:00 UTC 2026".
	reCtime = regexp.MustCompile(reDay + ` ` + reMonth + ` [ 0-3]?[0-9] ` + reHMS + `(?: [A-Z]{2,5})? ` + reYear)
	// RFC 2822 / RFC 1123: "Sun, 01 Mar 2026 10:00:00 +0000".
	reRFC2822 = regexp.MustCompile(reDay + `, [0-3]?[0-9] ` + reMonth + ` ` + reYear + ` ` + reHMS + `(?: (?:[+-][0-9]{4}|GMT|UTC|UT|[A-Z]{3}))?`)
	// C's __DATE__, optionally followed by __TIME__: "Mar  1 2026 10:00:00".
	reCDate = regexp.MustCompile(reMonth + ` [ 1-3][0-9] ` + reYear + `(?:(?: | at |, | - )` + reHMS + `)?`)
	// ISO 8601 / RFC 3339 timestamps with a time: "2026-03-01T10:00:00Z".
	reISO = regexp.MustCompile(reYear + `-[01][0-9]-[0-3][0-9][T ]` + reHMS + `(?:\.[0-9]{1,9})?(?:Z|[+-][0-2][0-9]:?[0-5][0-9]| ?UTC)?`)
	// A date after a word that says it is the build date; only the date is
	// masked (submatch 1).
	reKeyword = regexp.MustCompile(`(?i:built on|build date|build time|builddate|buildtime|build_date|build_time|build-date|build-time|build timestamp|build_timestamp|compiled on|compiled at|compile date|compile time)[ \t]{0,3}[:=]?[ \t]{0,3}"?` +
		`([0-9]{4}[-/.][01][0-9][-/.][0-3][0-9](?:[ T_-]?[0-2][0-9]:?[0-5][0-9](?::?[0-5][0-9])?)?|(?:19|20)[0-9]{6}(?:[-_.]?[0-2][0-9][0-5][0-9](?:[0-5][0-9])?)?|1[0-9]{9})`)
	// __TIME__ stored as its own C string: "\x0010:00:00\x00".
	reCTime = regexp.MustCompile(`\x00(` + reHMS + `)\x00`)
	// The user@host of the Linux kernel banner (submatch 1).
	reBanner = regexp.MustCompile(`Linux version [!-~]{1,64} \(([A-Za-z0-9._-]{1,64}@[A-Za-z0-9._-]{1,64})\)`)
	// Absolute paths under the usual build roots.
	reBuildPath = regexp.MustCompile(`/(?:home|builds?|tmp|var/lib/jenkins/workspace|workspace|root|usr/src|opt|srv)/[A-Za-z0-9._+@%=,~/-]{1,1000}`)
)

// maskOptions says which normalisations may apply to a file.
type maskOptions struct {
	// paths is set for ELF files: it enables build-path masks and lone
	// __TIME__ strings.
	paths bool
	// skip lists byte ranges where no pattern may match (ELF code and
	// header tables).
	skip [][2]int
	// fixed are masks found by parsing (ELF build IDs).
	fixed []mask
}

// findMasks returns the spans of data that match a normalisation's
// pattern, sorted and without overlaps.
func findMasks(data []byte, opt maskOptions) []mask {
	var ms []mask
	add := func(off, n int, class string) {
		if n <= 0 {
			return
		}
		for _, r := range opt.skip {
			if off < r[1] && off+n > r[0] {
				return
			}
		}
		ms = append(ms, mask{off, n, class})
	}
	for _, re := range []*regexp.Regexp{reCtime, reRFC2822, reCDate, reISO} {
		for _, loc := range re.FindAllIndex(data, -1) {
			if loc[0] > 0 && isAlnum(data[loc[0]-1]) {
				continue
			}
			if loc[1] < len(data) && isDigit(data[loc[1]]) {
				continue
			}
			add(loc[0], loc[1]-loc[0], NormBuildDate)
		}
	}
	for _, loc := range reKeyword.FindAllSubmatchIndex(data, -1) {
		if loc[3] < len(data) && isDigit(data[loc[3]]) {
			continue
		}
		add(loc[2], loc[3]-loc[2], NormBuildDate)
	}
	if opt.paths {
		// A lone __TIME__ string: only where a compiler puts it.
		for _, loc := range reCTime.FindAllSubmatchIndex(data, -1) {
			add(loc[2], loc[3]-loc[2], NormBuildDate)
		}
	}
	for _, loc := range reBanner.FindAllSubmatchIndex(data, -1) {
		add(loc[2], loc[3]-loc[2], NormBuildHost)
	}
	if opt.paths {
		for _, loc := range reBuildPath.FindAllIndex(data, -1) {
			if loc[0] > 0 && isPathByte(data[loc[0]-1]) {
				continue
			}
			add(loc[0], loc[1]-loc[0], NormBuildPath)
		}
	}
	ms = append(ms, opt.fixed...)
	// Sort by offset, longest first, and drop overlaps: the first (the
	// longest at an offset) wins.
	sort.SliceStable(ms, func(i, j int) bool {
		if ms[i].off != ms[j].off {
			return ms[i].off < ms[j].off
		}
		return ms[i].n > ms[j].n
	})
	out := ms[:0]
	end := 0
	for _, m := range ms {
		if m.off < end || m.off < 0 || m.end() > len(data) {
			continue
		}
		out = append(out, m)
		end = m.end()
	}
	return out
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func isAlnum(c byte) bool {
	return isDigit(c) || (c|0x20 >= 'a' && c|0x20 <= 'z')
}

func isPathByte(c byte) bool {
	return isAlnum(c) || strings.IndexByte("._+@%=,~/-", c) >= 0
}

// maskPair is a mask of A aligned with a mask of B.
type maskPair struct{ a, b mask }

// alignedEqual compares a and b with their masks taken as opaque tokens:
// the bytes between masks must be equal, the masks must come in the same
// order with the same classes, and every masked pair whose bytes differ
// must be acceptable for its class. It returns the pairs whose bytes
// differ.
func alignedEqual(a, b []byte, ma, mb []mask) (bool, []maskPair) {
	if len(ma) != len(mb) {
		return false, nil
	}
	pa, pb := 0, 0
	var diff []maskPair
	for i := range ma {
		x, y := ma[i], mb[i]
		if x.class != y.class || !bytes.Equal(a[pa:x.off], b[pb:y.off]) {
			return false, nil
		}
		va, vb := a[x.off:x.end()], b[y.off:y.end()]
		if !bytes.Equal(va, vb) {
			if !acceptable(x.class, va, vb) {
				return false, nil
			}
			diff = append(diff, maskPair{x, y})
		}
		pa, pb = x.end(), y.end()
	}
	if !bytes.Equal(a[pa:], b[pb:]) {
		return false, nil
	}
	return true, diff
}

// acceptable checks a masked pair beyond its pattern. Build paths may
// differ only in their build folder: the rest of the path (from a '/'
// on) must be equal, and the folders must both be build roots.
func acceptable(class string, a, b []byte) bool {
	switch class {
	case NormBuildPath:
		pa, pb := splitBuildRoot(string(a), string(b))
		if len(pa) == len(a) || len(pb) == len(b) {
			// Nothing in common from a '/' on: the paths may differ only
			// if both are build roots and nothing more.
			return isBuildRoot(pa, true) && isBuildRoot(pb, true)
		}
		return isBuildRoot(pa, false) && isBuildRoot(pb, false)
	case NormBuildID:
		return len(a) == len(b)
	}
	return true
}

// splitBuildRoot strips the longest common suffix that starts at a '/'
// in both paths, and returns the differing prefixes.
func splitBuildRoot(a, b string) (string, string) {
	i, j := len(a), len(b)
	cut := 0 // length of the common suffix that starts at a '/'
	for i > 0 && j > 0 && a[i-1] == b[j-1] {
		i--
		j--
		if a[i] == '/' {
			cut = len(a) - i
		}
	}
	return a[:len(a)-cut], b[:len(b)-cut]
}

// isBuildRoot reports whether p is a build folder: one of the usual roots
// followed by at most four more components (the checkout or build
// folder), or with exact set, the root alone.
func isBuildRoot(p string, exact bool) bool {
	parts := strings.Split(strings.TrimPrefix(p, "/"), "/")
	if len(parts) < 1 || parts[0] == "" {
		return false
	}
	var need int
	switch parts[0] {
	case "home":
		if len(parts) < 2 || !isUserName(parts[1]) {
			return false
		}
		need = 2
	case "tmp":
		if len(parts) < 2 || !looksRandom(parts[1]) {
			return false
		}
		need = 2
	case "builds", "build", "workspace", "root", "opt", "srv":
		need = 1
	case "usr":
		if len(parts) < 2 || parts[1] != "src" {
			return false
		}
		need = 2
	case "var":
		if len(parts) < 4 || parts[1] != "lib" || parts[2] != "jenkins" || parts[3] != "workspace" {
			return false
		}
		need = 4
	default:
		return false
	}
	if len(parts) > need+4 || (exact && len(parts) != need) {
		return false
	}
	for _, s := range parts {
		if s == "" || s == "." || s == ".." {
			return false
		}
	}
	return true
}

func isUserName(s string) bool {
	if s == "" || len(s) > 32 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c == '_' || (i > 0 && (isDigit(c) || c == '.' || c == '-'))) {
			return false
		}
	}
	return true
}

// looksRandom accepts a mktemp-style name: tmp.XXXXXX, or at least six
// characters with a digit among them.
func looksRandom(s string) bool {
	if strings.HasPrefix(s, "tmp.") && len(s) >= 10 {
		return true
	}
	if len(s) < 6 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if isDigit(s[i]) {
			return true
		}
	}
	return false
}

// spansOf turns the differing masked pairs into report spans.
func spansOf(a, b []byte, pairs []maskPair, base int64, max int) ([]Span, int) {
	var out []Span
	for _, p := range pairs {
		if len(out) == max {
			return out, len(pairs) - max
		}
		out = append(out, Span{
			Normalisation: p.a.class,
			OffsetA:       base + int64(p.a.off), LengthA: int64(p.a.n),
			OffsetB: base + int64(p.b.off), LengthB: int64(p.b.n),
			A: printable(a[p.a.off:p.a.end()], p.a.class), B: printable(b[p.b.off:p.b.end()], p.b.class),
		})
	}
	return out, 0
}

// printable shows masked bytes for people: text as text, build IDs in hex,
// anything else escaped; at most 96 characters.
func printable(b []byte, class string) string {
	if class == NormBuildID || class == NormContainerSum || class == NormContainerLen || !utf8.Valid(b) {
		s := fmt.Sprintf("%x", b)
		if len(s) > 96 {
			s = s[:96] + "…"
		}
		return s
	}
	var sb strings.Builder
	for _, c := range b {
		if sb.Len() >= 96 {
			sb.WriteString("…")
			break
		}
		if c >= 0x20 && c < 0x7f && c != '\\' {
			sb.WriteByte(c)
		} else {
			fmt.Fprintf(&sb, "\\x%02x", c)
		}
	}
	return sb.String()
}

// classesOf returns the normalisations of the differing pairs, in report
// order.
func classesOf(pairs []maskPair) []string {
	set := map[string]bool{}
	for _, p := range pairs {
		set[p.a.class] = true
	}
	return sortedNorms(set)
}

func sortedNorms(set map[string]bool) []string {
	out := make([]string, 0, len(set))
	for n := range set {
		out = append(out, n)
	}
	sort.Slice(out, func(i, j int) bool { return normOrder(out[i]) < normOrder(out[j]) })
	return out
}

// firstDiff returns the first offset where a and b differ, -1 if equal.
func firstDiff(a, b []byte) int64 {
	n := min(len(a), len(b))
	for i := 0; i < n; i++ {
		if a[i] != b[i] {
			return int64(i)
		}
	}
	if len(a) != len(b) {
		return int64(n)
	}
	return -1
}
