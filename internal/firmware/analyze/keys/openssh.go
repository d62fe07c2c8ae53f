package keys

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// privKey is a private key whose public part was read, or, for a key
// stored encrypted without its public part, only its format.
type privKey struct {
	Pub pubKey
	// SPKI is the hex SHA-256 of the DER SubjectPublicKeyInfo (what
	// "openssl pkey -pubout -outform DER | sha256sum" prints); empty when
	// not known.
	SPKI      string
	Format    string
	Encrypted bool
	Cipher    string // when encrypted
	Comment   string
}

const opensshMagic = "openssh-key-v1\x00"

// maxKeysPerFile bounds the key count of an OpenSSH key file (OpenSSH
// itself writes one).
const maxKeysPerFile = 16

// parseOpenSSH reads the body of an "OPENSSH PRIVATE KEY" PEM block
// (PROTOCOL.key in OpenSSH): magic, cipher, KDF, KDF options, key count,
// public keys, then the private section, encrypted unless the cipher is
// "none". The public key is read from the clear part, so encrypted keys
// are identified too.
func parseOpenSSH(b []byte) (privKey, error) {
	if !bytes.HasPrefix(b, []byte(opensshMagic)) {
		return privKey{}, errors.New("no openssh-key-v1 magic")
	}
	w := &wire{b: b, off: len(opensshMagic)}
	cipher, err := w.string()
	if err != nil {
		return privKey{}, fmt.Errorf("cipher name: %w", err)
	}
	if _, err := w.string(); err != nil {
		return privKey{}, fmt.Errorf("KDF name: %w", err)
	}
	if _, err := w.bytes(); err != nil {
		return privKey{}, fmt.Errorf("KDF options: %w", err)
	}
	n, err := w.uint32()
	if err != nil {
		return privKey{}, fmt.Errorf("key count: %w", err)
	}
	if n == 0 || n > maxKeysPerFile {
		return privKey{}, fmt.Errorf("key count %d", n)
	}
	var first []byte
	for i := uint32(0); i < n; i++ {
		pk, err := w.bytes()
		if err != nil {
			return privKey{}, fmt.Errorf("public key %d: %w", i+1, err)
		}
		if i == 0 {
			first = pk
		}
	}
	priv, err := w.bytes()
	if err != nil {
		return privKey{}, fmt.Errorf("private section: %w", err)
	}
	k := privKey{Format: "OpenSSH", Encrypted: cipher != "none"}
	if k.Encrypted {
		k.Cipher = printable(cipher)
	} else {
		// The clear private section starts with two equal check words,
		// then the key type and fields, then a comment.
		pw := &wire{b: priv}
		c1, err1 := pw.uint32()
		c2, err2 := pw.uint32()
		if err1 != nil || err2 != nil || c1 != c2 {
			return privKey{}, errors.New("private section check words differ")
		}
		k.Comment = opensshComment(pw)
	}
	if k.Pub, err = parseSSHPublicKey(first); err != nil {
		return k, fmt.Errorf("public key: %w", err)
	}
	return k, nil
}

// opensshFields is the layout of the clear private section of each key
// type: 's' a string, 'm' an mpint.
var opensshFields = map[string]string{
	"ssh-ed25519":         "ss",
	"ssh-rsa":             "mmmmmm",
	"ssh-dss":             "mmmmm",
	"ecdsa-sha2-nistp256": "ssm",
	"ecdsa-sha2-nistp384": "ssm",
	"ecdsa-sha2-nistp521": "ssm",
}

// opensshComment reads the first key of a clear private section and
// returns its comment; "" when the layout is unknown or broken.
func opensshComment(w *wire) string {
	typ, err := w.string()
	if err != nil {
		return ""
	}
	layout, ok := opensshFields[typ]
	if !ok {
		return ""
	}
	for _, f := range layout {
		if f == 'm' {
			_, err = w.mpint()
		} else {
			_, err = w.bytes()
		}
		if err != nil {
			return ""
		}
	}
	c, err := w.string()
	if err != nil {
		return ""
	}
	return c
}

// maxPPKLines bounds the base64 lines of a PuTTY key.
const maxPPKLines = 512

// parsePuTTY reads a PuTTY private key file (.ppk, versions 1 to 3) from
// its first line: the header names the algorithm and the encryption, and
// the public key is stored in clear.
func parsePuTTY(b []byte) (privKey, error) {
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 0, 4096), 64<<10)
	next := func() (string, string, error) {
		if !sc.Scan() {
			if err := sc.Err(); err != nil {
				return "", "", err
			}
			return "", "", errShort
		}
		line := strings.TrimRight(sc.Text(), "\r")
		name, value, ok := strings.Cut(line, ": ")
		if !ok {
			return "", "", fmt.Errorf("header line %q", printable(line))
		}
		return name, value, nil
	}
	name, algo, err := next()
	if err != nil {
		return privKey{}, err
	}
	version := strings.TrimPrefix(name, "PuTTY-User-Key-File-")
	if version == name || (version != "1" && version != "2" && version != "3") {
		return privKey{}, fmt.Errorf("header %q", printable(name))
	}
	k := privKey{Format: "PuTTY v" + version}
	for {
		name, value, err := next()
		if err != nil {
			return privKey{}, err
		}
		switch name {
		case "Encryption":
			if value != "none" {
				k.Encrypted, k.Cipher = true, printable(value)
			}
		case "Comment":
			k.Comment = value
		case "Public-Lines":
			n, err := strconv.Atoi(value)
			if err != nil || n <= 0 || n > maxPPKLines {
				return privKey{}, fmt.Errorf("Public-Lines %q", printable(value))
			}
			var enc strings.Builder
			for i := 0; i < n; i++ {
				if !sc.Scan() {
					return privKey{}, fmt.Errorf("public key line %d: %w", i+1, errShort)
				}
				enc.WriteString(strings.TrimSpace(sc.Text()))
			}
			blob, err := base64.StdEncoding.DecodeString(enc.String())
			if err != nil {
				return privKey{}, fmt.Errorf("public key: %w", err)
			}
			if k.Pub, err = parseSSHPublicKey(blob); err != nil {
				return k, fmt.Errorf("public key: %w", err)
			}
			if k.Pub.SSHType != algo {
				return k, fmt.Errorf("header says %q, key is %q", printable(algo), printable(k.Pub.SSHType))
			}
			return k, nil
		}
	}
}
