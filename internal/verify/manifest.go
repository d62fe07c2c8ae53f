package verify

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// Digest algorithms a manifest, a provenance subject or a ledger may use.
const (
	SHA256 = "sha256"
	SHA384 = "sha384"
	SHA512 = "sha512"
)

// Limits on a checksum manifest.
const (
	MaxManifestSize    = 64 << 20 // bytes of the manifest file
	MaxManifestEntries = 1 << 20  // checksum lines kept
	maxLineLen         = 64 << 10
	maxProblems        = 100
)

// Entry is one checksum line of a manifest.
type Entry struct {
	// Name is the file name as the manifest wrote it, escapes decoded.
	Name      string `json:"name"`
	Algorithm string `json:"algorithm"`
	Digest    string `json:"digest"` // lowercase hex
	Line      int    `json:"line"`
}

// Manifest is a parsed checksum file: sha256sum/sha512sum output ("<hex>
// <name>", "<hex> *<name>", with coreutils' backslash escapes) or the BSD
// and --tag form ("SHA256 (<name>) = <hex>").
type Manifest struct {
	Entries []Entry
	// Problems are lines that were skipped, each "line N: why".
	Problems []string
	// MoreProblems counts problems beyond the first 100, not kept.
	MoreProblems int
}

// ErrNoEntries is returned for a manifest without a single checksum line.
var ErrNoEntries = errors.New("no checksum lines")

// ParseManifest reads a checksum manifest. Lines it cannot read are
// recorded as problems; it fails only when the file is too large or no
// line could be read.
func ParseManifest(data []byte) (*Manifest, error) {
	if len(data) > MaxManifestSize {
		return nil, fmt.Errorf("manifest of %d bytes is larger than the %d-byte limit", len(data), MaxManifestSize)
	}
	m := &Manifest{}
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	lineNo := 0
	for len(data) > 0 {
		lineNo++
		var line []byte
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			line, data = data[:i], data[i+1:]
		} else {
			line, data = data, nil
		}
		line = bytes.TrimSuffix(line, []byte("\r"))
		if len(bytes.TrimSpace(line)) == 0 || line[0] == '#' {
			continue
		}
		if len(line) > maxLineLen {
			m.problem(lineNo, "line longer than %d bytes", maxLineLen)
			continue
		}
		if !utf8.Valid(line) {
			m.problem(lineNo, "not UTF-8 text")
			continue
		}
		e, err := parseLine(string(line))
		if err != nil {
			m.problem(lineNo, "%v", err)
			continue
		}
		if len(m.Entries) >= MaxManifestEntries {
			m.problem(lineNo, "more than %d checksum lines: the rest is ignored", MaxManifestEntries)
			break
		}
		e.Line = lineNo
		m.Entries = append(m.Entries, e)
	}
	if len(m.Entries) == 0 {
		if len(m.Problems) > 0 {
			return m, fmt.Errorf("%w (%s)", ErrNoEntries, m.Problems[0])
		}
		return m, ErrNoEntries
	}
	return m, nil
}

func (m *Manifest) problem(line int, format string, args ...any) {
	if len(m.Problems) >= maxProblems {
		m.MoreProblems++
		return
	}
	m.Problems = append(m.Problems, fmt.Sprintf("line %d: %s", line, fmt.Sprintf(format, args...)))
}

// parseLine reads one non-empty line in the GNU or the BSD form.
func parseLine(line string) (Entry, error) {
	if e, ok, err := parseBSD(line); ok {
		return e, err
	}
	return parseGNU(line)
}

// bsdAlgorithms maps the tag of a BSD line to an algorithm; the weak ones
// map to "" and are refused.
var bsdAlgorithms = map[string]string{
	"SHA256": SHA256, "SHA2-256": SHA256, "SHA384": SHA384, "SHA2-384": SHA384,
	"SHA512": SHA512, "SHA2-512": SHA512,
	"MD5": "", "SHA1": "", "SHA224": "", "SHA2-224": "",
}

// parseBSD reads "SHA256 (name) = hex"; ok is false when the line is not
// in that form at all.
func parseBSD(line string) (Entry, bool, error) {
	sp := strings.IndexAny(line, " (")
	if sp <= 0 {
		return Entry{}, false, nil
	}
	tag := line[:sp]
	alg, known := bsdAlgorithms[strings.ToUpper(tag)]
	if !known {
		return Entry{}, false, nil
	}
	rest := strings.TrimPrefix(line[sp:], " ")
	if !strings.HasPrefix(rest, "(") {
		return Entry{}, false, nil
	}
	end := strings.LastIndex(rest, ")")
	if end < 0 {
		return Entry{}, true, fmt.Errorf("%s line without a closing parenthesis", tag)
	}
	name := rest[1:end]
	tail := strings.TrimSpace(rest[end+1:])
	if !strings.HasPrefix(tail, "=") {
		return Entry{}, true, fmt.Errorf("%s line without \"= <digest>\"", tag)
	}
	hexd := strings.TrimSpace(tail[1:])
	if alg == "" {
		return Entry{}, true, fmt.Errorf("%s digests are not accepted: collisions can be made for them", tag)
	}
	d, a, err := digestOf(hexd)
	if err != nil {
		return Entry{}, true, err
	}
	if a != alg {
		return Entry{}, true, fmt.Errorf("%s line with a digest of %d hex digits", tag, len(hexd))
	}
	if name == "" {
		return Entry{}, true, errors.New("empty file name")
	}
	return Entry{Name: name, Algorithm: alg, Digest: d}, true, nil
}

// parseGNU reads "[\]<hex> <space|*><name>".
func parseGNU(line string) (Entry, error) {
	escaped := strings.HasPrefix(line, `\`)
	if escaped {
		line = line[1:]
	}
	sp := strings.IndexByte(line, ' ')
	if sp < 0 {
		return Entry{}, errors.New("not a checksum line (want \"<digest>  <name>\" or \"SHA256 (<name>) = <digest>\")")
	}
	d, alg, err := digestOf(line[:sp])
	if err != nil {
		return Entry{}, err
	}
	rest := line[sp+1:]
	if rest == "" {
		return Entry{}, errors.New("empty file name")
	}
	switch rest[0] {
	case ' ', '*':
		rest = rest[1:]
	default:
		// "<hex> <name>" with one space: written by some tools.
	}
	if rest == "" {
		return Entry{}, errors.New("empty file name")
	}
	name := rest
	if escaped {
		if name, err = unescapeName(rest); err != nil {
			return Entry{}, err
		}
	}
	return Entry{Name: name, Algorithm: alg, Digest: d}, nil
}

// unescapeName decodes coreutils' escapes in a name: \\, \n and \r.
func unescapeName(s string) (string, error) {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' {
			b.WriteByte(c)
			continue
		}
		if i+1 >= len(s) {
			return "", errors.New("name ends with a lone backslash")
		}
		i++
		switch s[i] {
		case '\\':
			b.WriteByte('\\')
		case 'n':
			b.WriteByte('\n')
		case 'r':
			b.WriteByte('\r')
		default:
			return "", fmt.Errorf("unknown escape \\%c in name", s[i])
		}
	}
	return b.String(), nil
}

// digestOf checks a hex digest and names its algorithm by its length.
func digestOf(h string) (string, string, error) {
	for i := 0; i < len(h); i++ {
		c := h[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return "", "", fmt.Errorf("digest %q is not hexadecimal", shorten(h, 20))
		}
	}
	var alg string
	switch len(h) {
	case 64:
		alg = SHA256
	case 96:
		alg = SHA384
	case 128:
		alg = SHA512
	case 32, 40:
		return "", "", fmt.Errorf("a digest of %d hex digits (MD5 or SHA-1) is not accepted: collisions can be made for it", len(h))
	default:
		return "", "", fmt.Errorf("a digest of %d hex digits is not SHA-256, SHA-384 or SHA-512", len(h))
	}
	return strings.ToLower(h), alg, nil
}

// shorten cuts s to at most n runes for a message.
func shorten(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n]) + "…"
}
