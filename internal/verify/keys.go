package verify

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"os"

	"github.com/ProtonMail/go-crypto/openpgp"

	"github.com/netvet/netvet/internal/safeio"
)

// Limits on key, certificate and signature files.
const (
	maxKeyFile = 4 << 20
	maxSigFile = 16 << 20
)

// PublicKey is a PEM or DER public key given with --key.
type PublicKey struct {
	File string
	Key  crypto.PublicKey
	// ID is the hex SHA-256 of the key's DER SubjectPublicKeyInfo.
	ID string
}

// Keys are the keys the user supplied: OpenPGP key rings and plain public
// keys (for DSSE envelopes and key-signed Sigstore bundles).
type Keys struct {
	PGP    openpgp.EntityList
	Public []PublicKey
}

// LoadKeys reads each file as an OpenPGP key ring (armored or binary) or as
// PEM/DER public keys and certificates.
func LoadKeys(paths []string) (*Keys, error) {
	k := &Keys{}
	for _, p := range paths {
		data, err := readFileCapped(p, maxKeyFile)
		if err != nil {
			return nil, fmt.Errorf("--key %s: %w", p, err)
		}
		if err := k.add(p, data); err != nil {
			return nil, fmt.Errorf("--key %s: %w", p, err)
		}
	}
	return k, nil
}

func (k *Keys) add(name string, data []byte) error {
	if bytes.Contains(data, []byte("-----BEGIN PGP PRIVATE KEY BLOCK-----")) {
		return errors.New("an OpenPGP private key: give the public key (gpg --export)")
	}
	if bytes.Contains(data, []byte("-----BEGIN PGP PUBLIC KEY BLOCK-----")) {
		el, err := openpgp.ReadArmoredKeyRing(bytes.NewReader(data))
		if err != nil {
			return fmt.Errorf("OpenPGP key ring: %w", err)
		}
		k.PGP = append(k.PGP, el...)
		return nil
	}
	if bytes.Contains(data, []byte("-----BEGIN ")) {
		n, err := k.addPEM(name, data)
		if err != nil {
			return err
		}
		if n == 0 {
			return errors.New("no PUBLIC KEY or CERTIFICATE block in the PEM file")
		}
		return nil
	}
	if pub, err := x509.ParsePKIXPublicKey(data); err == nil {
		return k.addPublic(name, pub)
	}
	if c, err := x509.ParseCertificate(data); err == nil {
		return k.addPublic(name, c.PublicKey)
	}
	el, err := safeReadKeyRing(data)
	if err != nil {
		return fmt.Errorf("neither an OpenPGP key ring nor a PEM or DER public key: %w", err)
	}
	k.PGP = append(k.PGP, el...)
	return nil
}

func safeReadKeyRing(data []byte) (el openpgp.EntityList, err error) {
	defer func() {
		if r := recover(); r != nil {
			el, err = nil, fmt.Errorf("malformed OpenPGP data (%v)", r)
		}
	}()
	el, err = openpgp.ReadKeyRing(bytes.NewReader(data))
	if err == nil && len(el) == 0 {
		err = errors.New("no key")
	}
	return el, err
}

func (k *Keys) addPEM(name string, data []byte) (int, error) {
	n := 0
	for i := 0; i < 1024; i++ {
		var b *pem.Block
		b, data = pem.Decode(data)
		if b == nil {
			break
		}
		switch b.Type {
		case "PUBLIC KEY":
			pub, err := x509.ParsePKIXPublicKey(b.Bytes)
			if err != nil {
				return n, fmt.Errorf("PUBLIC KEY block %d: %w", i+1, err)
			}
			if err := k.addPublic(name, pub); err != nil {
				return n, err
			}
		case "RSA PUBLIC KEY":
			pub, err := x509.ParsePKCS1PublicKey(b.Bytes)
			if err != nil {
				return n, fmt.Errorf("RSA PUBLIC KEY block %d: %w", i+1, err)
			}
			if err := k.addPublic(name, pub); err != nil {
				return n, err
			}
		case "CERTIFICATE":
			c, err := x509.ParseCertificate(b.Bytes)
			if err != nil {
				return n, fmt.Errorf("CERTIFICATE block %d: %w", i+1, err)
			}
			if err := k.addPublic(name, c.PublicKey); err != nil {
				return n, err
			}
		case "PRIVATE KEY", "EC PRIVATE KEY", "RSA PRIVATE KEY", "ENCRYPTED PRIVATE KEY", "OPENSSH PRIVATE KEY":
			return n, errors.New("a private key: give the public key")
		default:
			continue
		}
		n++
	}
	return n, nil
}

func (k *Keys) addPublic(name string, pub crypto.PublicKey) error {
	switch pub.(type) {
	case *ecdsa.PublicKey, *rsa.PublicKey, ed25519.PublicKey:
	default:
		return fmt.Errorf("unsupported public key type %T (want ECDSA, RSA or Ed25519)", pub)
	}
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return err
	}
	sum := sha256.Sum256(der)
	k.Public = append(k.Public, PublicKey{File: name, Key: pub, ID: hex.EncodeToString(sum[:])})
	return nil
}

// LoadCAs reads trust anchors for CMS signatures: PEM certificates (any
// number per file) or one DER certificate per file.
func LoadCAs(paths []string) (*x509.CertPool, []*x509.Certificate, error) {
	pool := x509.NewCertPool()
	var all []*x509.Certificate
	for _, p := range paths {
		data, err := readFileCapped(p, maxKeyFile)
		if err != nil {
			return nil, nil, fmt.Errorf("--ca %s: %w", p, err)
		}
		var certs []*x509.Certificate
		if bytes.Contains(data, []byte("-----BEGIN ")) {
			rest := data
			for i := 0; i < 4096; i++ {
				var b *pem.Block
				b, rest = pem.Decode(rest)
				if b == nil {
					break
				}
				if b.Type != "CERTIFICATE" {
					continue
				}
				c, err := x509.ParseCertificate(b.Bytes)
				if err != nil {
					return nil, nil, fmt.Errorf("--ca %s: certificate %d: %w", p, i+1, err)
				}
				certs = append(certs, c)
			}
		} else if c, err := x509.ParseCertificate(data); err == nil {
			certs = append(certs, c)
		} else {
			return nil, nil, fmt.Errorf("--ca %s: neither PEM nor a DER certificate: %w", p, err)
		}
		if len(certs) == 0 {
			return nil, nil, fmt.Errorf("--ca %s: no CERTIFICATE in the file", p)
		}
		for _, c := range certs {
			pool.AddCert(c)
		}
		all = append(all, certs...)
	}
	return pool, all, nil
}

// readFileCapped reads a small input file, refusing one above max bytes.
func readFileCapped(path string, max int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, errors.New("not a regular file")
	}
	if st.Size() > max {
		return nil, fmt.Errorf("%d bytes, larger than the %d-byte limit", st.Size(), max)
	}
	return safeio.ReadAll(f, max)
}
