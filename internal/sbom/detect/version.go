package detect

import (
	"regexp"
	"strings"
)

// MaxVersionLen bounds every version string this package handles: longer
// ones come from broken or hostile metadata and are cut.
const MaxVersionLen = 128

var (
	epochRe    = regexp.MustCompile(`^[0-9]{1,9}:`)
	snapshotRe = regexp.MustCompile(`^[0-9]{4}-[0-9]{2}-[0-9]{2}`)
	upstreamRe = regexp.MustCompile(`^([0-9]+(?:\.[0-9]+)*(?:[a-z]+[0-9]*)?)(?:$|[-~+_])`)
)

// UpstreamVersion returns the upstream release a packaged version stands
// for: the epoch and the distribution's revision are removed
// ("1:1.35.0-4+deb12u1" and "1.35.0-1" give "1.35.0"; "5.15.137-1-7e1b8f"
// gives "5.15.137"). It returns "" when the version names no release,
// such as a dated git snapshot ("2023-09-08-e5ccbfc6-6"), because no CPE
// version range can be checked against it.
func UpstreamVersion(v string) string {
	v = strings.TrimSpace(v)
	if len(v) > MaxVersionLen {
		return ""
	}
	v = epochRe.ReplaceAllString(v, "")
	if snapshotRe.MatchString(v) {
		return ""
	}
	m := upstreamRe.FindStringSubmatch(v)
	if m == nil {
		return ""
	}
	return m[1]
}

// CompareVersions orders two version strings naturally: runs of digits
// compare as numbers, other runs as text, a number after a text run, and
// a longer string after its prefix ("1.10" > "1.9", "1.0.2k" > "1.0.2",
// as OpenSSL's letter releases are; pre-release suffixes such as "rc1"
// are not told apart). It returns -1, 0 or 1.
func CompareVersions(a, b string) int {
	for a != "" && b != "" {
		ra, restA := versionRun(a)
		rb, restB := versionRun(b)
		da, db := isDigit(ra[0]), isDigit(rb[0])
		var c int
		switch {
		case da && db:
			c = compareNumeric(ra, rb)
		case da:
			c = 1 // a number sorts after a suffix: 1.0 > 1.rc
		case db:
			c = -1
		default:
			c = strings.Compare(ra, rb)
		}
		if c != 0 {
			return c
		}
		a, b = restA, restB
	}
	switch {
	case a == "" && b == "":
		return 0
	case a == "":
		return -1
	}
	return 1
}

// versionRun splits off the leading run of digits or of non-digits.
func versionRun(s string) (string, string) {
	d := isDigit(s[0])
	i := 1
	for i < len(s) && isDigit(s[i]) == d {
		i++
	}
	return s[:i], s[i:]
}

func compareNumeric(a, b string) int {
	a = strings.TrimLeft(a, "0")
	b = strings.TrimLeft(b, "0")
	if len(a) != len(b) {
		if len(a) < len(b) {
			return -1
		}
		return 1
	}
	return strings.Compare(a, b)
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// branchOf returns the first n dot-separated numeric fields of version
// ("4.14.180", 2 gives "4.14"), or "" when it has fewer.
func branchOf(version string, n int) string {
	parts := strings.SplitN(version, ".", n+1)
	if len(parts) < n {
		return ""
	}
	for i := 0; i < n; i++ {
		p := parts[i]
		if i == n-1 {
			// the last field may carry a suffix: "1.0.2k" -> "2k"
			j := 0
			for j < len(p) && isDigit(p[j]) {
				j++
			}
			p = p[:j]
			parts[i] = p
		}
		if p == "" {
			return ""
		}
		for k := 0; k < len(p); k++ {
			if !isDigit(p[k]) {
				return ""
			}
		}
	}
	return strings.Join(parts[:n], ".")
}
