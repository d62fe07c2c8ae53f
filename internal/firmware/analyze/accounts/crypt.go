package accounts

import (
	"crypto/md5"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"errors"
	"fmt"
	"hash"
	"strconv"
	"strings"

	"golang.org/x/crypto/bcrypt"
)

// algorithm is a crypt(3) hash family.
type algorithm uint8

const (
	algUnknown      algorithm = iota
	algDES                    // traditional 13-character DES crypt
	algBSDi                   // "_" extended DES
	algMD5                    // $1$
	algNT                     // $3$
	algSHA256                 // $5$
	algSHA512                 // $6$
	algBcrypt                 // $2$, $2a$, $2b$, $2x$, $2y$
	algSunMD5                 // $md5
	algSHA1                   // $sha1$ (NetBSD)
	algScrypt                 // $7$
	algYescrypt               // $y$
	algGostYescrypt           // $gy$
)

var algNames = map[algorithm]string{
	algUnknown: "unrecognised", algDES: "DES crypt", algBSDi: "BSDi extended DES",
	algMD5: "MD5-crypt ($1$)", algNT: "NT hash ($3$)", algSHA256: "SHA-256-crypt ($5$)",
	algSHA512: "SHA-512-crypt ($6$)", algBcrypt: "bcrypt ($2*$)", algSunMD5: "Sun MD5 ($md5)",
	algSHA1: "SHA-1-crypt ($sha1$)", algScrypt: "scrypt ($7$)", algYescrypt: "yescrypt ($y$)",
	algGostYescrypt: "GOST yescrypt ($gy$)",
}

func (a algorithm) String() string { return algNames[a] }

// crypt64 is the alphabet of crypt(3) encodings.
const crypt64 = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

func isCrypt64(s string) bool {
	for i := 0; i < len(s); i++ {
		if strings.IndexByte(crypt64, s[i]) < 0 {
			return false
		}
	}
	return true
}

// cryptHash is a parsed password hash.
type cryptHash struct {
	Raw string
	Alg algorithm
	// Salt is the salt the algorithm uses (truncated as the C library
	// would), empty for algorithms this package does not compute.
	Salt string
	// Rounds is the SHA-crypt round count or the bcrypt cost; 0 when the
	// algorithm has none.
	Rounds int
	// Keep is the leading part of Raw that is shown in evidence: the
	// algorithm ID, parameters and salt, never the hash itself.
	Keep string
	// Sum is the encoded hash that verification compares.
	Sum string
}

// Supported reports whether verify can test passwords against the hash.
func (h cryptHash) Supported() bool {
	switch h.Alg {
	case algDES, algMD5, algSHA256, algSHA512, algBcrypt:
		return true
	}
	return false
}

var errNotHash = errors.New("not a crypt(3) hash")

const (
	shaRoundsDefault = 5000
	shaRoundsMin     = 1000
	shaRoundsMax     = 999999999
)

// parseCryptHash recognises a crypt(3) hash. It never fails on a known
// prefix it does not compute (yescrypt, ...): those come back with their
// algorithm and Supported() false. Anything else gives errNotHash with
// Alg algUnknown.
func parseCryptHash(s string) (cryptHash, error) {
	h := cryptHash{Raw: s}
	switch {
	case len(s) == 13 && isCrypt64(s):
		h.Alg, h.Salt, h.Keep, h.Sum = algDES, s[:2], s[:2], s[2:]
		return h, nil
	case len(s) == 20 && s[0] == '_' && isCrypt64(s[1:]):
		h.Alg, h.Keep = algBSDi, s[:9]
		return h, nil
	case strings.HasPrefix(s, "$1$"):
		return checked(parseMD5(h))
	case strings.HasPrefix(s, "$5$"), strings.HasPrefix(s, "$6$"):
		return checked(parseSHA(h))
	case strings.HasPrefix(s, "$2"):
		return checked(parseBcrypt(h))
	}
	for _, p := range []struct {
		prefix string
		alg    algorithm
	}{{"$y$", algYescrypt}, {"$gy$", algGostYescrypt}, {"$7$", algScrypt}, {"$sha1$", algSHA1}, {"$md5", algSunMD5}, {"$3$", algNT}} {
		if strings.HasPrefix(s, p.prefix) {
			h.Alg = p.alg
			if i := strings.LastIndexByte(s, '$'); i >= len(p.prefix)-1 {
				h.Keep = s[:i+1]
			} else {
				h.Keep = p.prefix
			}
			return h, nil
		}
	}
	return h, errNotHash
}

// checked clears a partly filled hash on error, so that a failed parse
// is never mistaken for a supported one.
func checked(h cryptHash, err error) (cryptHash, error) {
	if err != nil {
		return cryptHash{Raw: h.Raw}, err
	}
	return h, nil
}

func parseMD5(h cryptHash) (cryptHash, error) {
	rest := h.Raw[3:]
	i := strings.IndexByte(rest, '$')
	if i < 0 {
		return h, fmt.Errorf("MD5-crypt hash without a salt terminator: %w", errNotHash)
	}
	salt, sum := rest[:i], rest[i+1:]
	if len(salt) > 8 {
		salt = salt[:8]
	}
	if len(sum) != 22 || !isCrypt64(sum) {
		return h, fmt.Errorf("MD5-crypt hash of %d characters, want 22: %w", len(sum), errNotHash)
	}
	h.Alg, h.Salt, h.Sum, h.Keep = algMD5, salt, sum, h.Raw[:3+i+1]
	return h, nil
}

func parseSHA(h cryptHash) (cryptHash, error) {
	h.Alg, h.Rounds = algSHA256, shaRoundsDefault
	want := 43
	if h.Raw[1] == '6' {
		h.Alg, want = algSHA512, 86
	}
	rest := h.Raw[3:]
	if strings.HasPrefix(rest, "rounds=") {
		i := strings.IndexByte(rest, '$')
		if i < 0 {
			return h, fmt.Errorf("rounds parameter without a terminator: %w", errNotHash)
		}
		n, err := strconv.ParseUint(rest[len("rounds="):i], 10, 64)
		if err != nil {
			return h, fmt.Errorf("bad rounds parameter %q: %w", rest[:i], errNotHash)
		}
		switch {
		case n < shaRoundsMin:
			h.Rounds = shaRoundsMin
		case n > shaRoundsMax:
			h.Rounds = shaRoundsMax
		default:
			h.Rounds = int(n)
		}
		rest = rest[i+1:]
	}
	i := strings.IndexByte(rest, '$')
	if i < 0 {
		return h, fmt.Errorf("SHA-crypt hash without a salt terminator: %w", errNotHash)
	}
	salt, sum := rest[:i], rest[i+1:]
	if len(salt) > 16 {
		salt = salt[:16]
	}
	if len(sum) != want || !isCrypt64(sum) {
		return h, fmt.Errorf("SHA-crypt hash of %d characters, want %d: %w", len(sum), want, errNotHash)
	}
	h.Salt, h.Sum, h.Keep = salt, sum, h.Raw[:len(h.Raw)-len(sum)]
	return h, nil
}

func parseBcrypt(h cryptHash) (cryptHash, error) {
	// $2$cc$ or $2x$cc$ followed by 22 salt and 31 hash characters.
	s := h.Raw
	n := 3
	if len(s) > 3 && s[3] == '$' {
		if s[2] != 'a' && s[2] != 'b' && s[2] != 'x' && s[2] != 'y' {
			return h, fmt.Errorf("bcrypt variant %q: %w", s[:4], errNotHash)
		}
		n = 4
	} else if len(s) < 3 || s[2] != '$' {
		return h, fmt.Errorf("bcrypt prefix: %w", errNotHash)
	}
	if len(s) != n+3+53 || s[n+2] != '$' {
		return h, fmt.Errorf("bcrypt hash of %d characters: %w", len(s), errNotHash)
	}
	cost, err := strconv.Atoi(s[n : n+2])
	if err != nil || cost < bcrypt.MinCost || cost > bcrypt.MaxCost {
		return h, fmt.Errorf("bcrypt cost %q: %w", s[n:n+2], errNotHash)
	}
	body := s[n+3:]
	if !isCrypt64(body) {
		return h, fmt.Errorf("bcrypt hash with characters outside its alphabet: %w", errNotHash)
	}
	h.Alg, h.Rounds, h.Salt, h.Sum = algBcrypt, cost, body[:22], body[22:]
	h.Keep = s[:n+3+22]
	return h, nil
}

// verify reports whether pw hashes to h.
func (h cryptHash) verify(pw []byte) bool {
	var got string
	switch h.Alg {
	case algDES:
		got = desCrypt(pw, h.Salt)[2:]
	case algMD5:
		got = md5Crypt(pw, []byte(h.Salt))
	case algSHA256:
		got = shaCrypt(sha256.New, pw, []byte(h.Salt), h.Rounds)
	case algSHA512:
		got = shaCrypt(sha512.New, pw, []byte(h.Salt), h.Rounds)
	case algBcrypt:
		if len(pw) > 72 {
			return false
		}
		return bcrypt.CompareHashAndPassword([]byte(h.Raw), pw) == nil
	default:
		return false
	}
	return subtle.ConstantTimeCompare([]byte(got), []byte(h.Sum)) == 1
}

// to64 appends n characters encoding v, six bits at a time from the
// least significant end, as crypt(3) does.
func to64(b []byte, v uint32, n int) []byte {
	for ; n > 0; n-- {
		b = append(b, crypt64[v&0x3f])
		v >>= 6
	}
	return b
}

// md5Crypt computes the encoded part of an MD5-crypt hash (Poul-Henning
// Kamp's algorithm, FreeBSD 2.0 and every Linux libc since).
func md5Crypt(pw, salt []byte) string {
	const magic = "$1$"
	alt := md5.New()
	alt.Write(pw)
	alt.Write(salt)
	alt.Write(pw)
	altSum := alt.Sum(nil)

	ctx := md5.New()
	ctx.Write(pw)
	ctx.Write([]byte(magic))
	ctx.Write(salt)
	for n := len(pw); n > 0; n -= 16 {
		ctx.Write(altSum[:min(n, 16)])
	}
	for i := len(pw); i != 0; i >>= 1 {
		if i&1 != 0 {
			ctx.Write([]byte{0})
		} else {
			ctx.Write(pw[:1])
		}
	}
	final := ctx.Sum(nil)

	for i := 0; i < 1000; i++ {
		c := md5.New()
		if i&1 != 0 {
			c.Write(pw)
		} else {
			c.Write(final)
		}
		if i%3 != 0 {
			c.Write(salt)
		}
		if i%7 != 0 {
			c.Write(pw)
		}
		if i&1 != 0 {
			c.Write(final)
		} else {
			c.Write(pw)
		}
		final = c.Sum(final[:0])
	}
	f := func(a, b, c int) uint32 { return uint32(final[a])<<16 | uint32(final[b])<<8 | uint32(final[c]) }
	out := make([]byte, 0, 22)
	out = to64(out, f(0, 6, 12), 4)
	out = to64(out, f(1, 7, 13), 4)
	out = to64(out, f(2, 8, 14), 4)
	out = to64(out, f(3, 9, 15), 4)
	out = to64(out, f(4, 10, 5), 4)
	out = to64(out, uint32(final[11]), 2)
	return string(out)
}

// Byte orders of the SHA-crypt encodings, three bytes per group.
var (
	sha256Order = [][3]int{{0, 10, 20}, {21, 1, 11}, {12, 22, 2}, {3, 13, 23}, {24, 4, 14},
		{15, 25, 5}, {6, 16, 26}, {27, 7, 17}, {18, 28, 8}, {9, 19, 29}}
	sha512Order = [][3]int{{0, 21, 42}, {22, 43, 1}, {44, 2, 23}, {3, 24, 45}, {25, 46, 4},
		{47, 5, 26}, {6, 27, 48}, {28, 49, 7}, {50, 8, 29}, {9, 30, 51}, {31, 52, 10},
		{53, 11, 32}, {12, 33, 54}, {34, 55, 13}, {56, 14, 35}, {15, 36, 57}, {37, 58, 16},
		{59, 17, 38}, {18, 39, 60}, {40, 61, 19}, {62, 20, 41}}
)

// repeatTo writes sum over and over until n bytes are written.
func repeatTo(w hash.Hash, sum []byte, n int) {
	for ; n > len(sum); n -= len(sum) {
		w.Write(sum)
	}
	w.Write(sum[:n])
}

// repeatBytes returns n bytes made of sum repeated.
func repeatBytes(sum []byte, n int) []byte {
	out := make([]byte, 0, n)
	for len(out) < n {
		out = append(out, sum[:min(len(sum), n-len(out))]...)
	}
	return out
}

// shaCrypt computes the encoded part of a SHA-256-crypt or SHA-512-crypt
// hash (Ulrich Drepper's specification, glibc 2.7 and later).
func shaCrypt(newHash func() hash.Hash, pw, salt []byte, rounds int) string {
	b := newHash()
	b.Write(pw)
	b.Write(salt)
	b.Write(pw)
	bSum := b.Sum(nil)

	a := newHash()
	a.Write(pw)
	a.Write(salt)
	repeatTo(a, bSum, len(pw))
	for i := len(pw); i > 0; i >>= 1 {
		if i&1 != 0 {
			a.Write(bSum)
		} else {
			a.Write(pw)
		}
	}
	aSum := a.Sum(nil)

	dp := newHash()
	for range len(pw) {
		dp.Write(pw)
	}
	p := repeatBytes(dp.Sum(nil), len(pw))

	ds := newHash()
	for range 16 + int(aSum[0]) {
		ds.Write(salt)
	}
	s := repeatBytes(ds.Sum(nil), len(salt))

	c := aSum
	h := newHash()
	for r := 0; r < rounds; r++ {
		h.Reset()
		if r&1 != 0 {
			h.Write(p)
		} else {
			h.Write(c)
		}
		if r%3 != 0 {
			h.Write(s)
		}
		if r%7 != 0 {
			h.Write(p)
		}
		if r&1 != 0 {
			h.Write(c)
		} else {
			h.Write(p)
		}
		c = h.Sum(c[:0])
	}

	f := func(g [3]int) uint32 { return uint32(c[g[0]])<<16 | uint32(c[g[1]])<<8 | uint32(c[g[2]]) }
	var out []byte
	if len(c) == sha256.Size {
		out = make([]byte, 0, 43)
		for _, g := range sha256Order {
			out = to64(out, f(g), 4)
		}
		out = to64(out, uint32(c[31])<<8|uint32(c[30]), 3)
	} else {
		out = make([]byte, 0, 86)
		for _, g := range sha512Order {
			out = to64(out, f(g), 4)
		}
		out = to64(out, uint32(c[63]), 2)
	}
	return string(out)
}

// desCrypt computes a traditional crypt(3) hash: the first eight
// characters of pw, seven bits each, key DES; a zero block is enciphered
// 25 times with the salt-perturbed expansion. salt must be two crypt64
// characters; the result is the salt and eleven characters.
func desCrypt(pw []byte, salt string) string {
	var key uint64
	for i := 0; i < 8; i++ {
		key <<= 8
		if i < len(pw) {
			key |= uint64(pw[i] << 1)
		}
	}
	e := desE
	sv := strings.IndexByte(crypt64, salt[0]) | strings.IndexByte(crypt64, salt[1])<<6
	for i := 0; i < 12; i++ {
		if sv>>i&1 != 0 {
			e[i], e[i+24] = e[i+24], e[i]
		}
	}
	ks := desSubkeys(key)
	var block uint64
	for i := 0; i < 25; i++ {
		block = desEncrypt(block, &ks, &e)
	}
	out := make([]byte, 0, 13)
	out = append(out, salt[0], salt[1])
	for i := 0; i < 10; i++ {
		out = append(out, crypt64[(block>>(58-6*uint(i)))&0x3f])
	}
	out = append(out, crypt64[(block&0xf)<<2])
	return string(out)
}
