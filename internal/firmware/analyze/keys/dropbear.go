package keys

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"fmt"
	"math/big"
)

// Dropbear stores private keys in its own binary form, not PEM: the SSH
// wire encoding of the key type, the public fields, then the private
// ones (dropbear's signkey.c, rsa.c, dss.c, ecdsa.c, ed25519.c):
//
//	ssh-rsa              string type, mpint e, n, d, p, q
//	ssh-dss              string type, mpint p, q, g, y, x
//	ecdsa-sha2-nistpNNN  string type, string curve, string Q, mpint d
//	ssh-ed25519          string type, string (32-byte seed || 32-byte public key)
//
// parseDropbear reads such a key and checks that its fields agree (n =
// p*q, y = g^x mod p, Q = d*G, the Ed25519 public key derives from the
// seed), so that random bytes are not taken for a key. It returns the
// public key and the SSH public key blob.

// maxDropbearKey bounds a dropbear key file: a 16384-bit RSA key is about
// 5 KiB.
const maxDropbearKey = 16 << 10

// maxDSABits bounds the DSA modulus whose consistency is checked.
const maxDSABits = 4096

// dropbearPrefixes are the first bytes of every dropbear key file.
var dropbearPrefixes = [][]byte{
	[]byte("\x00\x00\x00\x07ssh-rsa"),
	[]byte("\x00\x00\x00\x07ssh-dss"),
	[]byte("\x00\x00\x00\x13ecdsa-sha2-nistp"),
	[]byte("\x00\x00\x00\x0bssh-ed25519"),
}

// looksDropbear is the cheap test before parseDropbear.
func looksDropbear(prefix []byte) bool {
	for _, p := range dropbearPrefixes {
		if bytes.HasPrefix(prefix, p) {
			return true
		}
	}
	return false
}

func parseDropbear(b []byte) (pubKey, []byte, error) {
	if len(b) > maxDropbearKey {
		return pubKey{}, nil, fmt.Errorf("%d bytes, more than a dropbear key (%d)", len(b), maxDropbearKey)
	}
	w := &wire{b: b}
	typ, err := w.string()
	if err != nil {
		return pubKey{}, nil, fmt.Errorf("key type: %w", err)
	}
	var pubEnd int
	mp := func(name string) (*big.Int, error) {
		v, err := w.mpint()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		return v, nil
	}
	switch typ {
	case "ssh-rsa":
		var f [5]*big.Int
		for i, name := range []string{"e", "n", "d", "p", "q"} {
			if f[i], err = mp(name); err != nil {
				return pubKey{}, nil, err
			}
			if i == 1 {
				pubEnd = w.off
			}
		}
		e, n, d, p, q := f[0], f[1], f[2], f[3], f[4]
		if e.Sign() == 0 || d.Sign() == 0 || p.Cmp(big.NewInt(1)) <= 0 || q.Cmp(big.NewInt(1)) <= 0 {
			return pubKey{}, nil, errors.New("RSA key with a zero or unit field")
		}
		if new(big.Int).Mul(p, q).Cmp(n) != 0 {
			return pubKey{}, nil, errors.New("RSA key whose p*q is not n")
		}
		// e*d = 1 modulo lcm(p-1, q-1), whichever of the usual moduli
		// d was computed with.
		p1, q1 := new(big.Int).Sub(p, big.NewInt(1)), new(big.Int).Sub(q, big.NewInt(1))
		g := new(big.Int).GCD(nil, nil, p1, q1)
		lambda := new(big.Int).Div(new(big.Int).Mul(p1, q1), g)
		if new(big.Int).Mod(new(big.Int).Mul(e, d), lambda).Cmp(big.NewInt(1)) != 0 {
			return pubKey{}, nil, errors.New("RSA key whose d does not invert e")
		}
	case "ssh-dss":
		var f [5]*big.Int
		for i, name := range []string{"p", "q", "g", "y", "x"} {
			if f[i], err = mp(name); err != nil {
				return pubKey{}, nil, err
			}
			if i == 3 {
				pubEnd = w.off
			}
		}
		p, q, g, y, x := f[0], f[1], f[2], f[3], f[4]
		if p.BitLen() > maxDSABits || q.BitLen() > 512 {
			return pubKey{}, nil, fmt.Errorf("DSA key of %d/%d bits, beyond what is checked", p.BitLen(), q.BitLen())
		}
		if p.Sign() == 0 || q.Sign() == 0 || x.Sign() == 0 || x.Cmp(q) >= 0 || g.Cmp(big.NewInt(1)) <= 0 || g.Cmp(p) >= 0 {
			return pubKey{}, nil, errors.New("DSA key with fields out of range")
		}
		if new(big.Int).Exp(g, x, p).Cmp(y) != 0 {
			return pubKey{}, nil, errors.New("DSA key whose y is not g^x mod p")
		}
	case "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521":
		curve, err := w.string()
		if err != nil {
			return pubKey{}, nil, fmt.Errorf("curve: %w", err)
		}
		c, ok := sshCurves[curve]
		if !ok || typ[len("ecdsa-sha2-"):] != curve {
			return pubKey{}, nil, fmt.Errorf("key type %s with curve %q", typ, printable(curve))
		}
		q, err := w.bytes()
		if err != nil {
			return pubKey{}, nil, fmt.Errorf("point: %w", err)
		}
		pubEnd = w.off
		d, err := mp("private scalar")
		if err != nil {
			return pubKey{}, nil, err
		}
		size := (c.bits + 7) / 8
		if d.Sign() == 0 || len(d.Bytes()) > size {
			return pubKey{}, nil, errors.New("ECDSA private scalar out of range")
		}
		priv, err := c.curve.NewPrivateKey(d.FillBytes(make([]byte, size)))
		if err != nil {
			return pubKey{}, nil, fmt.Errorf("ECDSA private scalar: %w", err)
		}
		if !bytes.Equal(priv.PublicKey().Bytes(), q) {
			return pubKey{}, nil, errors.New("ECDSA key whose point is not d*G")
		}
	case "ssh-ed25519":
		k, err := w.bytes()
		if err != nil {
			return pubKey{}, nil, fmt.Errorf("key: %w", err)
		}
		if len(k) != ed25519.PrivateKeySize {
			return pubKey{}, nil, fmt.Errorf("Ed25519 key of %d bytes, want %d", len(k), ed25519.PrivateKeySize)
		}
		derived := ed25519.NewKeyFromSeed(k[:ed25519.SeedSize])
		if !bytes.Equal(derived[ed25519.SeedSize:], k[ed25519.SeedSize:]) {
			return pubKey{}, nil, errors.New("Ed25519 public key does not derive from the seed")
		}
		var blob builder
		blob.string([]byte(typ))
		blob.string(k[ed25519.SeedSize:])
		if w.left() != 0 {
			return pubKey{}, nil, fmt.Errorf("%d bytes after the key", w.left())
		}
		p, err := parseSSHPublicKey(blob)
		return p, blob, err
	default:
		return pubKey{}, nil, fmt.Errorf("unknown key type %q", printable(typ))
	}
	if w.left() != 0 {
		return pubKey{}, nil, fmt.Errorf("%d bytes after the key", w.left())
	}
	blob := b[:pubEnd]
	p, err := parseSSHPublicKey(blob)
	return p, blob, err
}
