package accounts

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// maxLine bounds one line of an account file; longer lines are skipped.
const maxLine = 4096

// line is one line of a text file with its place in the file.
type line struct {
	Text   string // without the line ending
	No     int    // 1-based
	Offset int64  // byte offset of the line's first byte
}

// splitLines cuts data into lines, dropping a trailing "\r". A last line
// without a newline counts.
func splitLines(data []byte) []line {
	var out []line
	no := 0
	for off := 0; off < len(data); {
		no++
		end := off
		for end < len(data) && data[end] != '\n' {
			end++
		}
		text := string(data[off:end])
		out = append(out, line{Text: strings.TrimSuffix(text, "\r"), No: no, Offset: int64(off)})
		off = end + 1
	}
	return out
}

// skipLine reports lines that hold no entry: blank, comments, NIS
// include lines.
func skipLine(s string) bool {
	t := strings.TrimSpace(s)
	return t == "" || t[0] == '#' || t[0] == '+' || t[0] == '-'
}

// passwdEntry is one line of a passwd(5) file.
type passwdEntry struct {
	Name     string
	Password string // "x" when the hash is in shadow
	UID, GID int64
	Gecos    string
	Home     string
	Shell    string
	fields   []string
}

var errFields = errors.New("wrong number of fields")

// parsePasswdLine reads name:password:uid:gid:gecos:home:shell.
func parsePasswdLine(s string) (passwdEntry, error) {
	if len(s) > maxLine {
		return passwdEntry{}, fmt.Errorf("line of %d bytes, limit %d", len(s), maxLine)
	}
	f := strings.Split(s, ":")
	if len(f) != 7 {
		return passwdEntry{}, fmt.Errorf("%d fields, want 7: %w", len(f), errFields)
	}
	if f[0] == "" {
		return passwdEntry{}, errors.New("empty user name")
	}
	uid, err := strconv.ParseInt(f[2], 10, 64)
	if err != nil || uid < 0 {
		return passwdEntry{}, fmt.Errorf("uid %q is not a number", f[2])
	}
	gid, err := strconv.ParseInt(f[3], 10, 64)
	if err != nil || gid < 0 {
		return passwdEntry{}, fmt.Errorf("gid %q is not a number", f[3])
	}
	return passwdEntry{Name: f[0], Password: f[1], UID: uid, GID: gid, Gecos: f[4], Home: f[5], Shell: f[6], fields: f}, nil
}

// shadowEntry is one line of a shadow(5) file; only the name and hash
// matter here.
type shadowEntry struct {
	Name   string
	Hash   string
	fields []string
}

// parseShadowLine reads name:hash:lastchange:min:max:warn:inactive:expire:.
// Busybox and old systems write fewer fields; at least name and hash
// must be present, and the third field, when present, must be a day
// number or empty (that tells a shadow line from other colon lines).
func parseShadowLine(s string) (shadowEntry, error) {
	if len(s) > maxLine {
		return shadowEntry{}, fmt.Errorf("line of %d bytes, limit %d", len(s), maxLine)
	}
	f := strings.Split(s, ":")
	if len(f) < 2 || len(f) > 9 {
		return shadowEntry{}, fmt.Errorf("%d fields, want 2 to 9: %w", len(f), errFields)
	}
	if f[0] == "" {
		return shadowEntry{}, errors.New("empty user name")
	}
	if len(f) > 2 && f[2] != "" {
		if _, err := strconv.ParseInt(f[2], 10, 64); err != nil {
			return shadowEntry{}, fmt.Errorf("last change %q is not a day number", f[2])
		}
	}
	return shadowEntry{Name: f[0], Hash: f[1], fields: f}, nil
}

// groupEntry is one line of a group(5) file.
type groupEntry struct {
	Name     string
	Password string
	GID      int64
	Members  []string
	fields   []string
}

// parseGroupLine reads name:password:gid:members.
func parseGroupLine(s string) (groupEntry, error) {
	if len(s) > maxLine {
		return groupEntry{}, fmt.Errorf("line of %d bytes, limit %d", len(s), maxLine)
	}
	f := strings.Split(s, ":")
	if len(f) != 4 {
		return groupEntry{}, fmt.Errorf("%d fields, want 4: %w", len(f), errFields)
	}
	if f[0] == "" {
		return groupEntry{}, errors.New("empty group name")
	}
	gid, err := strconv.ParseInt(f[2], 10, 64)
	if err != nil || gid < 0 {
		return groupEntry{}, fmt.Errorf("gid %q is not a number", f[2])
	}
	var members []string
	if f[3] != "" {
		members = strings.Split(f[3], ",")
	}
	return groupEntry{Name: f[0], Password: f[1], GID: gid, Members: members, fields: f}, nil
}

// locked reports a password field that no password can match: "*", "!",
// "!!", "*LK*", "!" prefixed hashes, "x" left in shadow, and the like.
func locked(pw string) bool {
	if pw == "" {
		return false
	}
	switch pw[0] {
	case '!', '*':
		return true
	}
	return pw == "x" || pw == "NP" || pw == "LK"
}

// redactHash hides the hash in a password field, keeping the algorithm,
// its parameters and the salt so that the reader can recompute it.
// Empty and locked fields are not secret and are kept.
func redactHash(pw string) string {
	if pw == "" {
		return pw
	}
	// A locked field keeps its marker ("!", "*", "!!"); a hash after the
	// marker is redacted like any other.
	marker := len(pw) - len(strings.TrimLeft(pw, "!*"))
	if marker > 0 {
		rest := pw[marker:]
		if len(rest) < 8 {
			return pw
		}
		return pw[:marker] + redactHash(rest)
	}
	if len(pw) < 8 && locked(pw) {
		return pw
	}
	keep := 0
	if h, err := parseCryptHash(pw); err == nil || h.Keep != "" {
		keep = len(h.Keep)
	} else if len(pw) >= 8 {
		keep = 2
	}
	return pw[:keep] + strings.Repeat("*", len(pw)-keep)
}

// redactedLine rebuilds a colon-separated line with its second field
// (the password) redacted.
func redactedLine(fields []string) string {
	if len(fields) < 2 {
		return strings.Join(fields, ":")
	}
	out := append([]string(nil), fields...)
	out[1] = redactHash(out[1])
	return strings.Join(out, ":")
}
