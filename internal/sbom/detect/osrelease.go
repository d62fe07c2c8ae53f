package detect

import (
	"bytes"
	"strings"
)

// OSRelease is what a filesystem's os-release file says about the
// distribution, with the byte offset of each field's line.
type OSRelease struct {
	Fields  map[string]string // ID, VERSION_ID, NAME, ...
	Offsets map[string]int64
}

// MaxOSRelease bounds the os-release file read.
const MaxOSRelease = 64 << 10

// ParseOSRelease reads the KEY=value lines of an os-release file
// (os-release(5)): values may be quoted with ' or " and use backslash
// escapes inside double quotes. Malformed lines are skipped.
func ParseOSRelease(data []byte) (map[string]string, map[string]int64) {
	fields := map[string]string{}
	offsets := map[string]int64{}
	for off := 0; off < len(data) && len(fields) < 256; {
		end := bytes.IndexByte(data[off:], '\n')
		next := len(data)
		if end >= 0 {
			next = off + end + 1
			end = off + end
		} else {
			end = len(data)
		}
		l := strings.TrimSpace(string(data[off:end]))
		start := off
		off = next
		if l == "" || l[0] == '#' {
			continue
		}
		eq := strings.IndexByte(l, '=')
		if eq <= 0 {
			continue
		}
		k := l[:eq]
		if !validEnvName(k) {
			continue
		}
		if _, dup := fields[k]; dup {
			continue
		}
		v, ok := unquoteShell(l[eq+1:])
		if !ok {
			continue
		}
		fields[k] = v
		offsets[k] = int64(start)
	}
	return fields, offsets
}

func validEnvName(k string) bool {
	if len(k) > 64 {
		return false
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		if !(c == '_' || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9' && i > 0)) {
			return false
		}
	}
	return true
}

// unquoteShell undoes the quoting os-release(5) allows.
func unquoteShell(v string) (string, bool) {
	if len(v) > maxFieldValue {
		return "", false
	}
	if v == "" {
		return "", true
	}
	switch v[0] {
	case '\'':
		if len(v) < 2 || v[len(v)-1] != '\'' {
			return "", false
		}
		return v[1 : len(v)-1], true
	case '"':
		if len(v) < 2 || v[len(v)-1] != '"' {
			return "", false
		}
		inner := v[1 : len(v)-1]
		var sb strings.Builder
		for i := 0; i < len(inner); i++ {
			c := inner[i]
			if c == '\\' && i+1 < len(inner) {
				i++
				c = inner[i]
			}
			sb.WriteByte(c)
		}
		return sb.String(), true
	}
	if strings.ContainsAny(v, " \t\"'`$\\") {
		return "", false
	}
	return v, true
}

// Distro is the purl "distro" qualifier for a release, in the form syft
// and grype use for Debian ("debian-12"): ID-VERSION_ID.
func (o *OSRelease) Distro() string {
	if o == nil {
		return ""
	}
	id, ver := o.ID(), Token(o.Fields["VERSION_ID"])
	switch {
	case id == "":
		return ""
	case ver == "":
		return id
	}
	return id + "-" + ver
}

// ID returns the lower-case distribution ID, "" if none or not a plain
// token.
func (o *OSRelease) ID() string {
	if o == nil {
		return ""
	}
	return Token(strings.ToLower(o.Fields["ID"]))
}

// Token returns s if it is a plain token (letters, digits, ".-_+", at
// most 64 bytes), else "": values from the image that go into package
// URLs and names must not carry separators.
func Token(s string) string {
	if len(s) > 64 {
		return ""
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c == '.' || c == '-' || c == '_' || c == '+' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || isDigit(c)) {
			return ""
		}
	}
	return s
}
