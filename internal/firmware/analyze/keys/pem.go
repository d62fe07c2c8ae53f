package keys

import (
	"bytes"
	"context"
	"crypto"
	"crypto/dsa"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"strings"
)

const (
	beginMarker = "-----BEGIN "
	puttyMarker = "PuTTY-User-Key-File-"
	// scanOverlap is how far a chunk is read past its end, so that a
	// marker and its label that cross the boundary are seen whole.
	scanOverlap = 128
	// maxLabel bounds a PEM label ("ENCRYPTED PRIVATE KEY" is 21).
	maxLabel = 64
	// maxBlock bounds one PEM block or PuTTY file read after a marker.
	maxBlock = 64 << 10
	// firstRead is the first, cheap read of a block; most blocks fit.
	firstRead = 8 << 10
	// maxKeyDER bounds the DER of a private key handed to the parsers:
	// 16384-bit RSA in PKCS#8 is about 9.4 KiB, and a larger modulus
	// would only cost time to validate.
	maxKeyDER = 12 << 10
)

// hit is a marker found in a file.
type hit struct {
	Off   int64
	Line  int // 1-based line of the marker, counting "\n" from the start
	PuTTY bool
	Label string // PEM label, e.g. "RSA PRIVATE KEY"
}

// scanMarkers reads r in chunks of chunk bytes and calls fn for every PEM
// BEGIN line with a well-formed label and every PuTTY header, in file
// order, until fn returns false. Memory is one chunk plus the overlap.
func scanMarkers(ctx context.Context, r io.ReaderAt, size int64, chunk int, fn func(hit) bool) error {
	if chunk <= 0 {
		return errors.New("keys: chunk size must be positive")
	}
	buf := make([]byte, min(int64(chunk), size)+scanOverlap)
	lines := 0
	for start := int64(0); start < size; start += int64(chunk) {
		if err := ctx.Err(); err != nil {
			return err
		}
		n, err := readAt(r, buf[:min(int64(len(buf)), size-start)], start)
		if err != nil {
			return err
		}
		data := buf[:n]
		limit := min(chunk, n)
		cursor, counted := 0, lines
		// The next position of each marker, found again only once passed.
		nextBegin, nextPuTTY := indexFrom(data, 0, beginMarker), indexFrom(data, 0, puttyMarker)
		for {
			idx, putty := nextBegin, false
			if nextPuTTY >= 0 && (idx < 0 || nextPuTTY < idx) {
				idx, putty = nextPuTTY, true
			}
			if idx < 0 || idx >= limit {
				break
			}
			if putty {
				nextPuTTY = indexFrom(data, idx+1, puttyMarker)
			} else {
				nextBegin = indexFrom(data, idx+1, beginMarker)
			}
			h := hit{Off: start + int64(idx), PuTTY: putty}
			if !putty {
				label, ok := pemLabel(data[idx+len(beginMarker):])
				if !ok {
					continue
				}
				h.Label = label
			}
			counted += bytes.Count(data[cursor:idx], []byte{'\n'})
			cursor = idx
			h.Line = counted + 1
			if !fn(h) {
				return nil
			}
		}
		lines += bytes.Count(data[:limit], []byte{'\n'})
	}
	return nil
}

// readAt fills buf from off; a short read at the end of the data is not
// an error, and the count says how much was read.
func readAt(r io.ReaderAt, buf []byte, off int64) (int, error) {
	n, err := r.ReadAt(buf, off)
	if err != nil && !errors.Is(err, io.EOF) {
		return n, fmt.Errorf("read %d bytes at offset %d: %w", len(buf), off, err)
	}
	return n, nil
}

func indexFrom(data []byte, from int, marker string) int {
	if from >= len(data) {
		return -1
	}
	i := bytes.Index(data[from:], []byte(marker))
	if i < 0 {
		return -1
	}
	return from + i
}

// pemLabel reads "LABEL-----" at the start of b: upper-case letters,
// digits and single spaces, at most maxLabel bytes.
func pemLabel(b []byte) (string, bool) {
	for i := 0; i < len(b) && i <= maxLabel; i++ {
		c := b[i]
		switch {
		case c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == ' ' && i > 0 && b[i-1] != ' ':
		case c == '-':
			if i == 0 || b[i-1] == ' ' || !bytes.HasPrefix(b[i:], []byte("-----")) {
				return "", false
			}
			return string(b[:i]), true
		default:
			return "", false
		}
	}
	return "", false
}

// interesting lists the PEM labels this analyser reads.
var interesting = map[string]bool{
	"RSA PRIVATE KEY": true, "EC PRIVATE KEY": true, "DSA PRIVATE KEY": true,
	"PRIVATE KEY": true, "ENCRYPTED PRIVATE KEY": true, "OPENSSH PRIVATE KEY": true,
	"CERTIFICATE": true, "X509 CERTIFICATE": true, "TRUSTED CERTIFICATE": true,
}

// readBlock reads the PEM block whose BEGIN line is at off, up to and
// including its END line. It reads firstRead bytes, then up to maxBlock
// if the END line was not in the first read.
func readBlock(r io.ReaderAt, size, off int64, label string) ([]byte, error) {
	end := []byte("-----END " + label + "-----")
	for _, n := range []int64{firstRead, maxBlock} {
		buf := make([]byte, min(n, size-off))
		m, err := readAt(r, buf, off)
		if err != nil {
			return nil, err
		}
		buf = buf[:m]
		if i := bytes.Index(buf, end); i >= 0 {
			return buf[:i+len(end)], nil
		}
		if int64(m) < n {
			break // the file ends before n bytes
		}
	}
	return nil, fmt.Errorf("no END line within %d bytes", maxBlock)
}

// decodePEM decodes one block. A block written into JSON or a C string
// has its line breaks as the two characters \n; those are undone.
func decodePEM(seg []byte) (*pem.Block, error) {
	if b, _ := pem.Decode(seg); b != nil {
		return b, nil
	}
	if bytes.Contains(seg, []byte(`\n`)) {
		s := bytes.ReplaceAll(seg, []byte(`\r\n`), []byte("\n"))
		s = bytes.ReplaceAll(s, []byte(`\n`), []byte("\n"))
		if b, _ := pem.Decode(s); b != nil {
			return b, nil
		}
	}
	return nil, errors.New("PEM block does not decode")
}

// parseCertBlock parses a certificate block.
func parseCertBlock(b *pem.Block) (*x509.Certificate, error) {
	der := b.Bytes
	if b.Type == "TRUSTED CERTIFICATE" {
		// OpenSSL's trusted form: the certificate, then trust settings.
		var raw asn1.RawValue
		if _, err := asn1.Unmarshal(der, &raw); err != nil {
			return nil, err
		}
		der = raw.FullBytes
	}
	return x509.ParseCertificate(der)
}

// parseKeyBlock parses a private key block of any of the PEM forms.
func parseKeyBlock(b *pem.Block) (privKey, error) {
	if b.Type == "OPENSSH PRIVATE KEY" {
		return parseOpenSSH(b.Bytes)
	}
	if len(b.Bytes) > maxKeyDER {
		return privKey{}, fmt.Errorf("%d bytes of DER, more than any supported key (%d)", len(b.Bytes), maxKeyDER)
	}
	legacy := map[string]struct{ algo, format string }{
		"RSA PRIVATE KEY": {"RSA", "PKCS#1 PEM"},
		"EC PRIVATE KEY":  {"ECDSA", "SEC 1 PEM"},
		"DSA PRIVATE KEY": {"DSA", "OpenSSL DSA PEM"},
	}
	if l, ok := legacy[b.Type]; ok && strings.Contains(b.Headers["Proc-Type"], "ENCRYPTED") {
		cipher, _, _ := strings.Cut(b.Headers["DEK-Info"], ",")
		return privKey{Pub: pubKey{Algo: l.algo}, Format: l.format, Encrypted: true, Cipher: printable(cipher)}, nil
	}
	switch b.Type {
	case "RSA PRIVATE KEY":
		pub, err := parseRSAPrivate(b.Bytes)
		if err != nil {
			return privKey{}, err
		}
		return fromPublic(pub, "PKCS#1 PEM"), nil
	case "EC PRIVATE KEY":
		k, err := x509.ParseECPrivateKey(b.Bytes)
		if err != nil {
			return privKey{}, err
		}
		return fromPublic(&k.PublicKey, "SEC 1 PEM"), nil
	case "DSA PRIVATE KEY":
		var k struct {
			Version       int
			P, Q, G, Y, X *big.Int
		}
		if _, err := asn1.Unmarshal(b.Bytes, &k); err != nil {
			return privKey{}, err
		}
		pub, err := dsaPublic(k.P, k.Q, k.G, k.X)
		if err != nil {
			return privKey{}, err
		}
		if pub.Y.Cmp(k.Y) != 0 {
			return privKey{}, errors.New("DSA key whose y is not g^x mod p")
		}
		return fromPublic(pub, "OpenSSL DSA PEM"), nil
	case "PRIVATE KEY":
		pub, err := parsePKCS8(b.Bytes)
		if err != nil {
			return privKey{}, err
		}
		return fromPublic(pub, "PKCS#8 PEM"), nil
	case "ENCRYPTED PRIVATE KEY":
		var e struct {
			Algo pkix.AlgorithmIdentifier
			Data []byte
		}
		if _, err := asn1.Unmarshal(b.Bytes, &e); err != nil {
			return privKey{}, err
		}
		return privKey{Pub: pubKey{Algo: "unknown algorithm"}, Format: "encrypted PKCS#8 PEM", Encrypted: true, Cipher: oidName(e.Algo.Algorithm)}, nil
	}
	return privKey{}, fmt.Errorf("label %q is not a private key", b.Type)
}

var (
	oidDSA = asn1.ObjectIdentifier{1, 2, 840, 10040, 4, 1}
	oidRSA = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 1}
)

// maxRSABits bounds the RSA modulus read.
const maxRSABits = 16384

// parseRSAPrivate reads the public part of a PKCS#1 RSA private key and
// checks that n = p*q. crypto/x509 would also run a private-key
// operation to validate the key, which costs seconds for a large
// modulus: too much for a block an adversary can repeat.
func parseRSAPrivate(der []byte) (*rsa.PublicKey, error) {
	var k struct {
		Version      int
		N, E, D      *big.Int
		P, Q         *big.Int
		Dp, Dq, Qinv *big.Int
		Other        asn1.RawValue `asn1:"optional"`
	}
	rest, err := asn1.Unmarshal(der, &k)
	if err != nil {
		return nil, fmt.Errorf("PKCS#1 key: %w", err)
	}
	if len(rest) != 0 {
		return nil, errors.New("PKCS#1 key: trailing data")
	}
	switch {
	case k.N == nil || k.E == nil || k.P == nil || k.Q == nil:
		return nil, errors.New("PKCS#1 key: missing field")
	case k.N.Sign() <= 0 || k.N.BitLen() > maxRSABits:
		return nil, fmt.Errorf("RSA modulus of %d bits", k.N.BitLen())
	case k.E.Sign() <= 0 || k.E.BitLen() > 31 || k.E.Int64() < 3:
		return nil, errors.New("RSA public exponent out of range")
	case k.P.Cmp(big.NewInt(1)) <= 0 || k.Q.Cmp(big.NewInt(1)) <= 0 || new(big.Int).Mul(k.P, k.Q).Cmp(k.N) != 0:
		return nil, errors.New("RSA key whose p*q is not n")
	}
	return &rsa.PublicKey{N: k.N, E: int(k.E.Int64())}, nil
}

// parsePKCS8 reads the public part of a PKCS#8 private key: RSA and DSA
// here, the others (ECDSA, Ed25519, X25519, which are cheap to check)
// through crypto/x509.
func parsePKCS8(der []byte) (any, error) {
	var p8 struct {
		Version int
		Algo    pkix.AlgorithmIdentifier
		Key     []byte
		Attrs   asn1.RawValue `asn1:"optional,tag:0"`
		Public  asn1.RawValue `asn1:"optional,tag:1"`
	}
	if _, err := asn1.Unmarshal(der, &p8); err != nil {
		return nil, fmt.Errorf("PKCS#8 key: %w", err)
	}
	switch {
	case p8.Algo.Algorithm.Equal(oidRSA):
		return parseRSAPrivate(p8.Key)
	case p8.Algo.Algorithm.Equal(oidDSA):
		return pkcs8DSA(p8.Algo, p8.Key)
	}
	k, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, err
	}
	s, ok := k.(interface{ Public() crypto.PublicKey })
	if !ok {
		return nil, fmt.Errorf("PKCS#8 key of type %T", k)
	}
	return s.Public(), nil
}

// pkcs8DSA reads a DSA key in PKCS#8, which crypto/x509 does not.
func pkcs8DSA(algo pkix.AlgorithmIdentifier, key []byte) (*dsa.PublicKey, error) {
	var params struct{ P, Q, G *big.Int }
	if _, err := asn1.Unmarshal(algo.Parameters.FullBytes, &params); err != nil {
		return nil, err
	}
	var x *big.Int
	if _, err := asn1.Unmarshal(key, &x); err != nil {
		return nil, err
	}
	return dsaPublic(params.P, params.Q, params.G, x)
}

// dsaPublic computes y = g^x mod p within the size checks.
func dsaPublic(p, q, g, x *big.Int) (*dsa.PublicKey, error) {
	if p == nil || q == nil || g == nil || x == nil || p.Sign() <= 0 || q.Sign() <= 0 || x.Sign() <= 0 || g.Sign() <= 0 {
		return nil, errors.New("DSA key with a missing or non-positive field")
	}
	if p.BitLen() > maxDSABits || q.BitLen() > 512 || x.Cmp(q) >= 0 || g.Cmp(p) >= 0 {
		return nil, errors.New("DSA key with fields out of range")
	}
	pub := &dsa.PublicKey{Parameters: dsa.Parameters{P: p, Q: q, G: g}}
	pub.Y = new(big.Int).Exp(g, x, p)
	return pub, nil
}

// fromPublic describes a private key by its public part.
func fromPublic(pub any, format string) privKey {
	k := privKey{Pub: describe(pub), Format: format}
	k.SPKI = spkiHash(pub)
	return k
}

// spkiHash is the hex SHA-256 of the DER SubjectPublicKeyInfo.
func spkiHash(pub any) string {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return ""
	}
	sum := sha256.Sum256(der)
	return hex.EncodeToString(sum[:])
}

var oidNames = map[string]string{
	"1.2.840.113549.1.5.13":   "PBES2",
	"1.2.840.113549.1.5.3":    "PBE-MD5-DES",
	"1.2.840.113549.1.5.10":   "PBE-SHA1-DES",
	"1.2.840.113549.1.12.1.3": "PBE-SHA1-3DES",
	"1.2.840.113549.1.12.1.6": "PBE-SHA1-RC2-40",
}

func oidName(o asn1.ObjectIdentifier) string {
	if n, ok := oidNames[o.String()]; ok {
		return n
	}
	return "OID " + o.String()
}
