package keys

import (
	"crypto/dsa"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"math/big"
	"strings"
)

// maxMPInt bounds an SSH multiple-precision integer: 16384-bit RSA is the
// largest key any SSH implementation makes.
const maxMPInt = 16384/8 + 1

var errShort = errors.New("data ends inside a field")

// wire reads the SSH binary encoding (RFC 4251 section 5). Every length
// is checked against the bytes that are left: nothing is allocated from
// a length read from the data.
type wire struct {
	b   []byte
	off int
}

func (w *wire) left() int { return len(w.b) - w.off }

func (w *wire) uint32() (uint32, error) {
	if w.left() < 4 {
		return 0, errShort
	}
	v := binary.BigEndian.Uint32(w.b[w.off:])
	w.off += 4
	return v, nil
}

func (w *wire) bytes() ([]byte, error) {
	n, err := w.uint32()
	if err != nil {
		return nil, err
	}
	if uint64(n) > uint64(w.left()) {
		return nil, fmt.Errorf("field of %d bytes with %d left: %w", n, w.left(), errShort)
	}
	s := w.b[w.off : w.off+int(n)]
	w.off += int(n)
	return s, nil
}

func (w *wire) string() (string, error) {
	b, err := w.bytes()
	return string(b), err
}

// mpint reads a non-negative multiple-precision integer.
func (w *wire) mpint() (*big.Int, error) {
	b, err := w.bytes()
	if err != nil {
		return nil, err
	}
	if len(b) > maxMPInt {
		return nil, fmt.Errorf("integer of %d bytes, limit %d", len(b), maxMPInt)
	}
	if len(b) > 0 && b[0]&0x80 != 0 {
		return nil, errors.New("negative integer")
	}
	return new(big.Int).SetBytes(b), nil
}

// builder writes the SSH binary encoding.
type builder []byte

func (b *builder) string(s []byte) {
	*b = binary.BigEndian.AppendUint32(*b, uint32(len(s)))
	*b = append(*b, s...)
}

func (b *builder) mpint(v *big.Int) {
	s := v.Bytes()
	if len(s) > 0 && s[0]&0x80 != 0 {
		s = append([]byte{0}, s...)
	}
	b.string(s)
}

// sshFingerprint is the SHA-256 fingerprint ssh-keygen -l prints.
func sshFingerprint(blob []byte) string {
	sum := sha256.Sum256(blob)
	return "SHA256:" + base64.RawStdEncoding.EncodeToString(sum[:])
}

// pubKey describes a public key for evidence.
type pubKey struct {
	Algo string // "RSA", "DSA", "ECDSA P-256", "Ed25519", ...
	Bits int    // 0 when not known
	// SSHType is the SSH key type name ("ssh-rsa"); empty when the key
	// has no SSH form.
	SSHType string
	// SSHFP is the ssh-keygen SHA-256 fingerprint; empty when the key
	// has no SSH form.
	SSHFP string
	// RSA and DSA hold the key for weakness checks.
	RSAModulus *big.Int
}

func (p pubKey) String() string {
	if p.Bits > 0 {
		return fmt.Sprintf("%s %d-bit", p.Algo, p.Bits)
	}
	return p.Algo
}

// weak reports keys below today's minimum: RSA under 2048 bits and every
// DSA key (FIPS 186-5 withdrew DSA; OpenSSH disabled it in 7.0).
func (p pubKey) weak() string {
	switch {
	case p.Algo == "RSA" && p.Bits > 0 && p.Bits < 2048:
		return fmt.Sprintf("RSA key of %d bits, below 2048", p.Bits)
	case p.Algo == "DSA":
		return fmt.Sprintf("DSA key (%d bits): withdrawn by FIPS 186-5 and disabled by OpenSSH since 7.0", p.Bits)
	}
	return ""
}

var sshCurves = map[string]struct {
	name  string
	curve ecdh.Curve
	bits  int
}{
	"nistp256": {"ECDSA P-256", ecdh.P256(), 256},
	"nistp384": {"ECDSA P-384", ecdh.P384(), 384},
	"nistp521": {"ECDSA P-521", ecdh.P521(), 521},
}

// parseSSHPublicKey reads a public key blob in SSH wire format (as in
// authorized_keys, OpenSSH and PuTTY key files). Certificates and key
// types it does not know are reported by type without a size; a known
// type with broken fields is an error.
func parseSSHPublicKey(blob []byte) (pubKey, error) {
	w := &wire{b: blob}
	typ, err := w.string()
	if err != nil {
		return pubKey{}, fmt.Errorf("key type: %w", err)
	}
	p := pubKey{SSHType: typ, SSHFP: sshFingerprint(blob)}
	switch typ {
	case "ssh-rsa":
		e, err := w.mpint()
		if err != nil {
			return p, fmt.Errorf("RSA exponent: %w", err)
		}
		n, err := w.mpint()
		if err != nil {
			return p, fmt.Errorf("RSA modulus: %w", err)
		}
		if e.Sign() == 0 || n.Sign() == 0 {
			return p, errors.New("RSA key with a zero field")
		}
		p.Algo, p.Bits, p.RSAModulus = "RSA", n.BitLen(), n
	case "ssh-dss":
		var f [4]*big.Int
		for i := range f {
			if f[i], err = w.mpint(); err != nil {
				return p, fmt.Errorf("DSA field %d: %w", i+1, err)
			}
		}
		p.Algo, p.Bits = "DSA", f[0].BitLen()
	case "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521",
		"sk-ecdsa-sha2-nistp256@openssh.com":
		curve, err := w.string()
		if err != nil {
			return p, fmt.Errorf("ECDSA curve: %w", err)
		}
		c, ok := sshCurves[curve]
		if !ok || (strings.HasPrefix(typ, "ecdsa-") && typ[len("ecdsa-sha2-"):] != curve) {
			return p, fmt.Errorf("ECDSA key type %s with curve %q", typ, curve)
		}
		q, err := w.bytes()
		if err != nil {
			return p, fmt.Errorf("ECDSA point: %w", err)
		}
		if _, err := c.curve.NewPublicKey(q); err != nil {
			return p, fmt.Errorf("ECDSA point: %w", err)
		}
		p.Algo, p.Bits = c.name, c.bits
		if strings.HasPrefix(typ, "sk-") {
			if _, err := w.string(); err != nil {
				return p, fmt.Errorf("security key application: %w", err)
			}
			p.Algo += " (security key)"
		}
	case "ssh-ed25519", "sk-ssh-ed25519@openssh.com":
		k, err := w.bytes()
		if err != nil {
			return p, fmt.Errorf("Ed25519 key: %w", err)
		}
		if len(k) != ed25519.PublicKeySize {
			return p, fmt.Errorf("Ed25519 key of %d bytes", len(k))
		}
		p.Algo, p.Bits = "Ed25519", 256
		if strings.HasPrefix(typ, "sk-") {
			if _, err := w.string(); err != nil {
				return p, fmt.Errorf("security key application: %w", err)
			}
			p.Algo += " (security key)"
		}
	default:
		if strings.HasSuffix(typ, "-cert-v01@openssh.com") {
			p.Algo = "OpenSSH certificate " + typ
			return p, nil
		}
		return p, fmt.Errorf("unknown key type %q", printable(typ))
	}
	if w.left() != 0 {
		return p, fmt.Errorf("%d bytes after the key", w.left())
	}
	return p, nil
}

// sshBlob encodes a Go public key in SSH wire format; nil for key types
// SSH has no form for.
func sshBlob(pub any) []byte {
	var b builder
	switch k := pub.(type) {
	case *rsa.PublicKey:
		b.string([]byte("ssh-rsa"))
		b.mpint(big.NewInt(int64(k.E)))
		b.mpint(k.N)
	case *dsa.PublicKey:
		b.string([]byte("ssh-dss"))
		b.mpint(k.P)
		b.mpint(k.Q)
		b.mpint(k.G)
		b.mpint(k.Y)
	case *ecdsa.PublicKey:
		var curve string
		switch k.Curve.Params().BitSize {
		case 256:
			curve = "nistp256"
		case 384:
			curve = "nistp384"
		case 521:
			curve = "nistp521"
		default:
			return nil
		}
		pt, err := k.ECDH()
		if err != nil {
			return nil
		}
		b.string([]byte("ecdsa-sha2-" + curve))
		b.string([]byte(curve))
		b.string(pt.Bytes())
	case ed25519.PublicKey:
		b.string([]byte("ssh-ed25519"))
		b.string(k)
	default:
		return nil
	}
	return b
}

// describe fills a pubKey from a Go public key.
func describe(pub any) pubKey {
	var p pubKey
	switch k := pub.(type) {
	case *rsa.PublicKey:
		p.Algo, p.Bits, p.RSAModulus = "RSA", k.N.BitLen(), k.N
	case *dsa.PublicKey:
		p.Algo, p.Bits = "DSA", k.P.BitLen()
	case *ecdsa.PublicKey:
		p.Algo, p.Bits = "ECDSA "+k.Curve.Params().Name, k.Curve.Params().BitSize
	case ed25519.PublicKey:
		p.Algo, p.Bits = "Ed25519", 256
	case *ecdh.PublicKey:
		p.Algo = "X25519"
		if k.Curve() == ecdh.X25519() {
			p.Bits = 256
		}
	case nil:
		p.Algo = "unknown algorithm"
	default:
		p.Algo = fmt.Sprintf("%T", pub)
	}
	if blob := sshBlob(pub); blob != nil {
		p.SSHFP = sshFingerprint(blob)
		w := &wire{b: blob}
		p.SSHType, _ = w.string()
	}
	return p
}

// printable cuts s to 40 bytes and replaces anything but printable ASCII,
// for error messages and evidence about hostile data.
func printable(s string) string {
	if len(s) > 40 {
		s = s[:40] + "..."
	}
	b := []byte(s)
	for i, c := range b {
		if c < 0x20 || c > 0x7e {
			b[i] = '.'
		}
	}
	return string(b)
}
