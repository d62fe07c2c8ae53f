package accounts

import (
	"crypto/des"
	"encoding/binary"
	"math/rand/v2"
	"os/exec"
	"strings"
	"testing"
)

// Vectors computed with Python's crypt module (glibc/libxcrypt) on Debian
// bookworm, e.g. python3 -c 'import crypt; print(crypt.crypt("admin", "$1$vendor$"))'.
var cryptVectors = []struct {
	pw, hash string
}{
	{"admin", "abOV.DfJmdnYw"},
	{"", "zz6dpSdr.LHZw"},
	{"passwordlonger", "./xZjzHv5vzVE"}, // DES uses the first 8 characters only
	{"xc3511", "9ZcMM8636mPI2"},
	{"Ã©tÃ©", "AbWcxQyvEOUxo"}, // 8-bit bytes lose their top bit
	{"admin", "$1$vendor$1klMbQRFdDgIA7oWcOaOf/"},
	{"", "$1$saltsalt$5Jhcit4zN9UlGiA0txPkO0"},
	{strings.Repeat("a", 40), "$1$x$DHmq9bsdPDY1rhlu8Qzct."},
	{"password", "$1$12345678$o2n/JiO/h5VviOInWJ4OQ/"},
	{"admin", "$5$saltstring$P.bW6F1RP1HA7OPm5SRVZIGro4q5xJxWEWq0LwuJu6."},
	{"", "$5$s$u9jS/E6rlpZoj8KCMVhpLKJh2MrO5hc9UBdfKCcvVU7"},
	{"Hello world!", "$5$rounds=1000$saltstringsaltst$cSv7nWzgUjd5.cVg4yn64CGOTkcQl1wXTNvW1OSLbZ0"},
	{"admin", "$6$saltstring$fHceV9ICtFDKaXXFnb7RiJaYuNyEyWoJ8Ktgcrejn6JFd2OtH.E7Ezpt83F1/uVFqUvO2sik9QpwGkOkMuBTf/"},
	{strings.Repeat("x", 100), "$6$rounds=1400$anotherlongsalts$BaMvyw440I21ozRaSVReppofjrlnjLm72zKf4/LMvD3AO8dSH.3nmJgq4q7zMhJWiFIPPy/0y4Uwap7YC1Uub0"},
	{"support", "$6$a$yVr26VCi6nD7bl.O2OAvOU.q.QlLQBkISJSNKvfo9NoLQ8FG8sSdJ3e5T6AZGveaynys09kvfViB6gON/7sYd1"},
	{"admin", "$2b$04$abcdefghijklmnopqrstuuQe66hACgXZ.ImKMvPGdqru0gQrWJ8Ju"},
	{"admin", "$2y$05$012345678901234567890uhaehoi5V2attA/fgjtrWczCAdWxEo/6"},
	// Test vectors of Drepper's SHA-crypt specification (the salts longer
	// than 16 characters are truncated as glibc does).
	{"Hello world!", "$5$saltstring$5B8vYYiY.CVt1RlTTf8KbXBH3hsxY/GNooZaBBGWEc5"},
	{"Hello world!", "$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1"},
	{"Hello world!", "$5$rounds=10000$saltstringsaltstring$3xv.VbSHBb41AL9AvLeujZkZRBAwqFMz2.opqey6IcA"},
	{"This is just a test", "$6$rounds=5000$toolongsaltstring$lQ8jolhgVRVhY4b5pZKaysCLi0QBxGoNeKQzQ3glMhwllF7oGDZxUhx1yxdYcz/e1JSbq3y6JMxxl8audkUEm0"},
}

func TestCryptVectors(t *testing.T) {
	for _, v := range cryptVectors {
		h, err := parseCryptHash(v.hash)
		if err != nil {
			t.Errorf("%s: %v", v.hash, err)
			continue
		}
		if !h.Supported() {
			t.Errorf("%s: not supported", v.hash)
			continue
		}
		if !h.verify([]byte(v.pw)) {
			t.Errorf("%s: %q does not verify", v.hash, v.pw)
		}
		if wrong := "x" + v.pw; h.verify([]byte(wrong)) {
			t.Errorf("%s: %q verifies", v.hash, wrong)
		}
		if !strings.HasPrefix(v.hash, h.Keep) || strings.Contains(h.Keep, h.Sum) {
			t.Errorf("%s: kept part %q", v.hash, h.Keep)
		}
	}
	// DES ignores everything after the eighth character.
	h, _ := parseCryptHash("./xZjzHv5vzVE")
	if !h.verify([]byte("password")) {
		t.Error("DES: 8-character prefix does not verify")
	}
}

// TestDESBlock checks the block cipher against crypto/des: with no salt
// the crypt(3) cipher is plain DES.
func TestDESBlock(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 200; i++ {
		key, pt := r.Uint64(), r.Uint64()
		var kb, pb, want [8]byte
		binary.BigEndian.PutUint64(kb[:], key)
		binary.BigEndian.PutUint64(pb[:], pt)
		c, err := des.NewCipher(kb[:])
		if err != nil {
			t.Fatal(err)
		}
		c.Encrypt(want[:], pb[:])
		ks := desSubkeys(key)
		e := desE
		if got := desEncrypt(pt, &ks, &e); got != binary.BigEndian.Uint64(want[:]) {
			t.Fatalf("key %016x block %016x: got %016x, want %x", key, pt, got, want)
		}
	}
}

func TestParseCryptHash(t *testing.T) {
	cases := []struct {
		in        string
		alg       algorithm
		supported bool
		keep      string
		rounds    int
		err       bool
	}{
		{"abOV.DfJmdnYw", algDES, true, "ab", 0, false},
		{"$1$vendor$1klMbQRFdDgIA7oWcOaOf/", algMD5, true, "$1$vendor$", 0, false},
		{"$5$rounds=10$s$u9jS/E6rlpZoj8KCMVhpLKJh2MrO5hc9UBdfKCcvVU7", algSHA256, true, "$5$rounds=10$s$", 1000, false},
		{"$6$rounds=99999999999$s$" + strings.Repeat("a", 86), algSHA512, true, "$6$rounds=99999999999$s$", shaRoundsMax, false},
		{"$2b$10$" + strings.Repeat("a", 53), algBcrypt, true, "$2b$10$" + strings.Repeat("a", 22), 10, false},
		{"$2$10$" + strings.Repeat("a", 53), algBcrypt, true, "$2$10$" + strings.Repeat("a", 22), 10, false},
		{"$y$j9T$saltsaltsalt$7VoO/HtDEcM.KM8uU9NtM0d1fmLvzNbYjrDgg5MfJsB", algYescrypt, false, "$y$j9T$saltsaltsalt$", 0, false},
		{"$gy$j9T$salt$abc", algGostYescrypt, false, "$gy$j9T$salt$", 0, false},
		{"_J9..CCCCXBrJUJV154M", algBSDi, false, "_J9..CCCC", 0, false},
		{"$1$nosalt", algUnknown, false, "", 0, true},
		{"$1$s$short", algUnknown, false, "", 0, true},
		{"$5$rounds=x$s$abc", algUnknown, false, "", 0, true},
		{"$2q$10$" + strings.Repeat("a", 53), algUnknown, false, "", 0, true},
		{"$2b$99$" + strings.Repeat("a", 53), algUnknown, false, "", 0, true},
		{"admin", algUnknown, false, "", 0, true},
		{"abOV.DfJmdnY!", algUnknown, false, "", 0, true},
	}
	for _, c := range cases {
		h, err := parseCryptHash(c.in)
		if (err != nil) != c.err {
			t.Errorf("%s: err %v", c.in, err)
			continue
		}
		if err != nil {
			continue
		}
		if h.Alg != c.alg || h.Supported() != c.supported || h.Keep != c.keep || h.Rounds != c.rounds {
			t.Errorf("%s: got alg %v supported %v keep %q rounds %d", c.in, h.Alg, h.Supported(), h.Keep, h.Rounds)
		}
	}
}

// TestCryptAgainstTools checks the implementations against Debian's
// openssl passwd and mkpasswd (package whois) on random passwords and
// salts. Each tool is skipped when absent.
func TestCryptAgainstTools(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 9))
	word := func(n int) string {
		b := make([]byte, n)
		for i := range b {
			b[i] = crypt64[r.IntN(64)]
		}
		return string(b)
	}
	type tool struct {
		name string
		args func(pw, salt string) []string
		salt int
	}
	tools := []tool{
		{"openssl", func(pw, salt string) []string { return []string{"passwd", "-1", "-salt", salt, pw} }, 8},
		{"openssl", func(pw, salt string) []string { return []string{"passwd", "-5", "-salt", salt, pw} }, 16},
		{"openssl", func(pw, salt string) []string { return []string{"passwd", "-6", "-salt", salt, pw} }, 16},
		{"mkpasswd", func(pw, salt string) []string { return []string{"-m", "descrypt", "-S", salt, pw} }, 2},
		{"mkpasswd", func(pw, salt string) []string { return []string{"-m", "md5crypt", "-S", salt, pw} }, 8},
		{"mkpasswd", func(pw, salt string) []string { return []string{"-m", "sha256crypt", "-R", "1234", "-S", salt, pw} }, 16},
		{"mkpasswd", func(pw, salt string) []string { return []string{"-m", "sha512crypt", "-S", salt, pw} }, 16},
		{"mkpasswd", func(pw, salt string) []string { return []string{"-m", "bcrypt", "-R", "4", pw} }, 0},
	}
	for _, tl := range tools {
		if _, err := exec.LookPath(tl.name); err != nil {
			t.Logf("%s not installed (Debian package %s): skipped", tl.name, map[string]string{"openssl": "openssl", "mkpasswd": "whois"}[tl.name])
			continue
		}
		for i := 0; i < 6; i++ {
			pw := word(1 + r.IntN(20))
			salt := word(tl.salt)
			if tl.name == "openssl" {
				salt = word(max(tl.salt-r.IntN(3), 1)) // openssl takes shorter salts too
			}
			args := tl.args(pw, salt)
			out, err := exec.Command(tl.name, args...).Output()
			if err != nil {
				t.Fatalf("%s %v: %v", tl.name, args, err)
			}
			hash := strings.TrimSpace(string(out))
			h, err := parseCryptHash(hash)
			if err != nil || !h.Supported() {
				t.Fatalf("%s %v gave %q: %v", tl.name, args, hash, err)
			}
			if !h.verify([]byte(pw)) {
				t.Errorf("%s %v = %q: does not verify", tl.name, args, hash)
			}
			if wrong := "1" + pw; h.verify([]byte(wrong)) {
				t.Errorf("%s %v = %q: verifies %q", tl.name, args, hash, wrong)
			}
		}
	}
}
