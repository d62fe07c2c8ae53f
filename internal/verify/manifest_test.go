package verify

import (
	"strings"
	"testing"
)

var (
	h256 = strings.Repeat("ab", 32)
	h384 = strings.Repeat("cd", 48)
	h512 = strings.Repeat("ef", 64)
)

var manifestCases = []struct {
	name     string
	in       string
	want     []Entry
	problems int
	err      bool
}{
	{"gnu text", h256 + "  fw.bin\n", []Entry{{Name: "fw.bin", Algorithm: SHA256, Digest: h256, Line: 1}}, 0, false},
	{"gnu binary", h256 + " *fw.bin\n", []Entry{{Name: "fw.bin", Algorithm: SHA256, Digest: h256, Line: 1}}, 0, false},
	{"one space", h256 + " fw.bin", []Entry{{Name: "fw.bin", Algorithm: SHA256, Digest: h256, Line: 1}}, 0, false},
	{"upper hex", strings.ToUpper(h256) + "  a", []Entry{{Name: "a", Algorithm: SHA256, Digest: h256, Line: 1}}, 0, false},
	{"sha512 and sha384", h512 + "  a\n" + h384 + "  b\n", []Entry{
		{Name: "a", Algorithm: SHA512, Digest: h512, Line: 1}, {Name: "b", Algorithm: SHA384, Digest: h384, Line: 2}}, 0, false},
	{"name with spaces", h256 + "  my fw image.bin\r\n", []Entry{{Name: "my fw image.bin", Algorithm: SHA256, Digest: h256, Line: 1}}, 0, false},
	{"escaped name", `\` + h256 + `  a\nb\\c`, []Entry{{Name: "a\nb\\c", Algorithm: SHA256, Digest: h256, Line: 1}}, 0, false},
	{"bsd", "SHA256 (rootfs/bin/sh) = " + h256 + "\n", []Entry{{Name: "rootfs/bin/sh", Algorithm: SHA256, Digest: h256, Line: 1}}, 0, false},
	{"bsd openssl", "SHA2-512(x (1).bin)= " + h512, []Entry{{Name: "x (1).bin", Algorithm: SHA512, Digest: h512, Line: 1}}, 0, false},
	{"bom comments blanks", "\xef\xbb\xbf# made by hand\n\n" + h256 + "  a\n", []Entry{{Name: "a", Algorithm: SHA256, Digest: h256, Line: 3}}, 0, false},
	{"md5 refused", strings.Repeat("a", 32) + "  a\n" + h256 + "  b\n", []Entry{{Name: "b", Algorithm: SHA256, Digest: h256, Line: 2}}, 1, false},
	{"bsd md5 refused", "MD5 (a) = " + strings.Repeat("a", 32) + "\n" + h256 + "  b", []Entry{{Name: "b", Algorithm: SHA256, Digest: h256, Line: 2}}, 1, false},
	{"bsd wrong length", "SHA256 (a) = " + h512 + "\n" + h256 + "  b", []Entry{{Name: "b", Algorithm: SHA256, Digest: h256, Line: 2}}, 1, false},
	{"not hex", strings.Repeat("z", 64) + "  a\n" + h256 + "  b", []Entry{{Name: "b", Algorithm: SHA256, Digest: h256, Line: 2}}, 1, false},
	{"bad escape", `\` + h256 + `  a\tb` + "\n" + h256 + "  b", []Entry{{Name: "b", Algorithm: SHA256, Digest: h256, Line: 2}}, 1, false},
	{"empty name", h256 + "  \n" + h256 + "  b", []Entry{{Name: "b", Algorithm: SHA256, Digest: h256, Line: 2}}, 1, false},
	{"nothing usable", "hello world\n", nil, 1, true},
	{"empty", "", nil, 0, true},
	{"invalid utf8", h256 + "  \xff\xfe\n", nil, 1, true},
}

func TestParseManifest(t *testing.T) {
	for _, tc := range manifestCases {
		t.Run(tc.name, func(t *testing.T) {
			m, err := ParseManifest([]byte(tc.in))
			if (err != nil) != tc.err {
				t.Fatalf("err = %v, want error %v", err, tc.err)
			}
			if m == nil {
				t.Fatal("nil manifest")
			}
			if len(m.Problems) != tc.problems {
				t.Errorf("problems = %q, want %d", m.Problems, tc.problems)
			}
			if len(m.Entries) != len(tc.want) {
				t.Fatalf("entries = %+v, want %+v", m.Entries, tc.want)
			}
			for i := range tc.want {
				if m.Entries[i] != tc.want[i] {
					t.Errorf("entry %d = %+v, want %+v", i, m.Entries[i], tc.want[i])
				}
			}
		})
	}
}

func TestParseManifestLimits(t *testing.T) {
	if _, err := ParseManifest(make([]byte, MaxManifestSize+1)); err == nil {
		t.Error("oversized manifest accepted")
	}
	long := h256 + "  " + strings.Repeat("a", maxLineLen) + "\n" + h256 + "  b\n"
	m, err := ParseManifest([]byte(long))
	if err != nil || len(m.Entries) != 1 || len(m.Problems) != 1 || !strings.Contains(m.Problems[0], "line 1") {
		t.Errorf("long line: %v %+v", err, m)
	}
	var b strings.Builder
	for range maxProblems + 5 {
		b.WriteString("junk\n")
	}
	b.WriteString(h256 + "  ok\n")
	m, err = ParseManifest([]byte(b.String()))
	if err != nil || len(m.Problems) != maxProblems || m.MoreProblems != 5 {
		t.Errorf("problem cap: %v problems=%d more=%d", err, len(m.Problems), m.MoreProblems)
	}
}

func FuzzParseManifest(f *testing.F) {
	for _, tc := range manifestCases {
		f.Add([]byte(tc.in))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := ParseManifest(b)
		if m == nil {
			if err == nil {
				t.Fatal("nil manifest without error")
			}
			return
		}
		for _, e := range m.Entries {
			if e.Name == "" || e.Line <= 0 {
				t.Fatalf("bad entry %+v", e)
			}
			switch {
			case e.Algorithm == SHA256 && len(e.Digest) == 64, e.Algorithm == SHA384 && len(e.Digest) == 96, e.Algorithm == SHA512 && len(e.Digest) == 128:
			default:
				t.Fatalf("bad digest %+v", e)
			}
			if strings.ToLower(e.Digest) != e.Digest {
				t.Fatalf("digest not lowercase: %q", e.Digest)
			}
		}
		if err == nil && len(m.Entries) == 0 {
			t.Fatal("no entries and no error")
		}
	})
}
