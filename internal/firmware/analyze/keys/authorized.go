package keys

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
)

// authKey is one entry of an authorized_keys file.
type authKey struct {
	Options string
	Type    string // the key type written in the line
	Blob    []byte
	// BlobErr says why the key data is not base64; sshd skips such a
	// line, but it still shows what was meant to be installed.
	BlobErr error
	Comment string
}

// isKeyType tells a key type field from an options field.
func isKeyType(s string) bool {
	for _, p := range []string{"ssh-", "ecdsa-sha2-", "sk-ssh-", "sk-ecdsa-"} {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}

// maxAuthLine bounds an authorized_keys line (a 16384-bit RSA key with
// options fits in 8 KiB).
const maxAuthLine = 16 << 10

var errNoKey = errors.New("no key in line")

// parseAuthorizedLine reads "[options] type base64 [comment]" as sshd(8)
// describes it. Options may hold quoted strings with spaces and \"
// escapes. Blank and comment lines give errNoKey.
func parseAuthorizedLine(s string) (authKey, error) {
	if len(s) > maxAuthLine {
		return authKey{}, fmt.Errorf("line of %d bytes, limit %d", len(s), maxAuthLine)
	}
	s = strings.TrimSpace(s)
	if s == "" || s[0] == '#' {
		return authKey{}, errNoKey
	}
	var k authKey
	first, _, _ := strings.Cut(s, " ")
	if !isKeyType(strings.TrimSpace(first)) {
		end, err := optionsEnd(s)
		if err != nil {
			return authKey{}, err
		}
		k.Options, s = s[:end], strings.TrimLeft(s[end:], " \t")
	}
	fields := strings.Fields(s)
	if len(fields) < 2 {
		return authKey{}, errors.New("key type or key data missing")
	}
	if !isKeyType(fields[0]) {
		return authKey{}, fmt.Errorf("unknown key type %q", printable(fields[0]))
	}
	k.Type = fields[0]
	blob, err := base64.StdEncoding.DecodeString(fields[1])
	if err != nil {
		if blob, err = base64.RawStdEncoding.DecodeString(fields[1]); err != nil {
			k.BlobErr = fmt.Errorf("key data is not base64: %w", err)
		}
	}
	k.Blob = blob
	if len(fields) > 2 {
		k.Comment = strings.Join(fields[2:], " ")
	}
	return k, nil
}

// optionsEnd returns where the options field ends: the first space or
// tab outside double quotes.
func optionsEnd(s string) (int, error) {
	quoted := false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\\' && quoted && i+1 < len(s):
			i++
		case c == '"':
			quoted = !quoted
		case (c == ' ' || c == '\t') && !quoted:
			return i, nil
		}
	}
	if quoted {
		return 0, errors.New("unterminated quote in options")
	}
	return 0, errors.New("options without a key")
}
