package accounts

import (
	"strings"
	"testing"
)

var lineSeeds = []string{
	"root:x:0:0:root:/root:/bin/sh",
	"root::0:0:root:/root:",
	"admin:" + hashXc3511DES + ":0:0::/:/bin/sh",
	"root:" + hashStrong512 + ":19000:0:99999:7:::",
	"root:*:19000::::::",
	"root:!" + hashUbntMD5 + ":19000::::::",
	"admin:" + hashSupportGrp + ":10:root,support",
	"a:b",
	":::::::",
	"+::::::",
	"root:x:-1:0:::",
	"root:x:99999999999999999999:0:::",
}

func FuzzAccountLines(f *testing.F) {
	for _, s := range lineSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, l := range splitLines([]byte(s)) {
			if strings.ContainsRune(l.Text, '\n') || l.Offset < 0 || int(l.Offset) > len(s) {
				t.Fatalf("bad line %+v", l)
			}
			if p, err := parsePasswdLine(l.Text); err == nil {
				if p.Name == "" || p.UID < 0 || p.GID < 0 || len(p.fields) != 7 {
					t.Fatalf("accepted %q as %+v", l.Text, p)
				}
				checkRedacted(t, p.fields)
			}
			if e, err := parseShadowLine(l.Text); err == nil {
				if e.Name == "" || len(e.fields) < 2 {
					t.Fatalf("accepted %q as %+v", l.Text, e)
				}
				checkRedacted(t, e.fields)
			}
			if g, err := parseGroupLine(l.Text); err == nil {
				if g.Name == "" || g.GID < 0 {
					t.Fatalf("accepted %q as %+v", l.Text, g)
				}
				checkRedacted(t, g.fields)
			}
		}
	})
}

// checkRedacted checks that a redacted line keeps every field but the
// password, and shows no recognised hash.
func checkRedacted(t *testing.T, fields []string) {
	r := redactedLine(fields)
	out := strings.Split(r, ":")
	if len(out) != len(fields) {
		t.Fatalf("redacted %q to %q", strings.Join(fields, ":"), r)
	}
	if h, err := parseCryptHash(strings.TrimLeft(fields[1], "!*")); err == nil && len(h.Sum) >= 8 && strings.Contains(out[1], h.Sum) {
		t.Fatalf("redacted line %q shows the hash", r)
	}
}

func FuzzCryptHash(f *testing.F) {
	for _, v := range cryptVectors {
		f.Add(v.hash, v.pw)
	}
	for _, h := range allHashes {
		f.Add(h, "admin")
	}
	f.Add("$5$rounds=999999999$x$"+strings.Repeat("a", 43), "x")
	f.Add("_J9..CCCCXBrJUJV154M", "")
	f.Fuzz(func(t *testing.T, s, pw string) {
		h, err := parseCryptHash(s)
		if !strings.HasPrefix(s, h.Keep) {
			t.Fatalf("%q: kept %q is not a prefix", s, h.Keep)
		}
		if err != nil {
			if h.Supported() {
				t.Fatalf("%q: error %v but supported", s, err)
			}
			return
		}
		if h.Supported() && testCost(h) <= 50_000_000 {
			h.verify([]byte(pw))
		}
		if rh := redactHash(s); len(rh) != len(s) || !strings.HasPrefix(rh, h.Keep) {
			t.Fatalf("%q redacted to %q", s, rh)
		}
	})
}
