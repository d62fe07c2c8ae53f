package equiv

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func FuzzMasks(f *testing.F) {
	for _, s := range []string{
		"v1.2 (Mar  1 2026 10:00:00)", "\x00Mar  1 2026\x0010:00:00\x00", "Linux version 5.10 (a@b) #1 SMP Sun Mar 1 10:00:00 UTC 2026",
		"Built on: 2026-03-01", "\x00/home/alice/src/fw/main.c\x00", "/tmp/tmp.Ab3dE6fGh1/x", "Sun, 01 Mar 2026 10:00:00 +0000",
	} {
		f.Add([]byte(s), []byte(strings.ReplaceAll(s, "1", "2")))
	}
	f.Fuzz(func(t *testing.T, a, b []byte) {
		o := maskOptions{paths: true, skip: [][2]int{{0, min(len(a), 3)}}}
		ma, mb := findMasks(a, o), findMasks(b, o)
		for i, m := range ma {
			if m.off < 0 || m.n <= 0 || m.end() > len(a) || (i > 0 && m.off < ma[i-1].end()) {
				t.Fatalf("bad mask %+v in %d bytes", m, len(a))
			}
		}
		if ok, pairs := alignedEqual(a, a, ma, ma); !ok || len(pairs) != 0 {
			t.Fatalf("a file differs from itself")
		}
		if ok, pairs := alignedEqual(a, b, ma, mb); ok {
			// Equal after masking: every byte outside the masks matched.
			if len(pairs) == 0 && !bytes.Equal(a, b) {
				t.Fatalf("equal without a masked difference but bytes differ")
			}
			spansOf(a, b, pairs, 0, 4)
		}
	})
}

func FuzzParseELF(f *testing.F) {
	f.Add(mkELF(elfSpec{text: codeBytes(64, 1), rodata: []byte("x\x00"), buildID: []byte("0123456789abcdefghij"), imports: []string{"socket", "bind", "listen"}}))
	f.Add(mkELF(elfSpec{text: codeBytes(16, 2), data: []byte{1}, debugStr: []byte("/home/a/b\x00")}))
	f.Add([]byte("\x7fELF\x02\x01\x01"))
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := parseELF(b)
		if err != nil {
			return
		}
		for _, r := range e.skip {
			if r[0] < 0 || r[1] > len(b) || r[0] > r[1] {
				t.Fatalf("skip range %v outside %d bytes", r, len(b))
			}
		}
		if d := diffELF(b, b, e, e); len(d.Sections) != 0 {
			t.Fatalf("a file differs from itself: %+v", d.Sections)
		}
		ms := findMasks(b, maskOptions{paths: true, skip: e.skip, fixed: e.ids})
		applyMasks(b, ms)
	})
}

func FuzzLineEdits(f *testing.F) {
	f.Add("a\nb\nc\n", "a\nX\nc\n")
	f.Add("", "x")
	f.Add("one\ntwo", "one\nTWO\nthree\n")
	f.Fuzz(func(t *testing.T, a, b string) {
		la, lb := splitLines([]byte(a)), splitLines([]byte(b))
		if len(la.lines) > 2000 || len(lb.lines) > 2000 {
			return
		}
		checkEdits(t, la.lines, lb.lines, lineEdits(la.lines, lb.lines))
		if es, ok := myers(la.lines, lb.lines, 3); ok {
			checkEdits(t, la.lines, lb.lines, es)
		}
		textDiff("a", "b", "/etc/shadow", []byte(a), []byte(b), 50)
	})
}

func FuzzHeaders(f *testing.F) {
	f.Add(gz(f, []byte("hello"), 9, "name", time.Unix(1772359200, 0)))
	f.Add([]byte("hsqs" + strings.Repeat("\x00", 100)))
	f.Add([]byte("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIE1B c\ncommand=\"x y\" ssh-rsa AAAA= d\n"))
	f.Add([]byte("root:$6$x$y:1:2:::\n-----BEGIN RSA PRIVATE KEY-----\nabc\n-----END RSA PRIVATE KEY-----\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		if h, ok := parseGzipHeader(b); ok {
			if h.headerLen > len(b) || (h.nameOff >= 0 && h.nameOff+h.nameLen > len(b)) {
				t.Fatalf("gzip header beyond input: %+v", h)
			}
		}
		if s, ok := parseSquashSuper(b); ok {
			_ = s.settings()
		}
		for _, format := range []string{"uimage", "trx", "chk", "seama", "tplink", "hwnp"} {
			for _, fl := range containerFields(format, b) {
				if fl.off < 0 || fl.n <= 0 {
					t.Fatalf("bad field %+v", fl)
				}
			}
		}
		for _, k := range parseAuthorizedKeys(b) {
			_ = k.String()
		}
		tl := splitLines(b)
		red := redactor("/etc/shadow", tl)
		for i, l := range tl.lines {
			red(i, l)
		}
	})
}

// FuzzDiff runs the whole comparison on two hostile images: unpack both,
// match, normalise, diff. It must never panic or hang.
func FuzzDiff(f *testing.F) {
	base := baseRootfs()
	a := mkTar(f, epoch, base...)
	f.Add(a, mkTar(f, epoch.Add(time.Hour), base...))
	f.Add(a, mkTar(f, epoch, replace(base, "etc/passwd", tEntry{path: "etc/passwd", data: "root::0:0::/:/bin/sh\n"})...))
	f.Add(gz(f, a, 1, "x", time.Time{}), a)
	f.Add([]byte("hsqs"), []byte("\x7fELF"))
	f.Fuzz(func(t *testing.T, a, b []byte) {
		if len(a) > 1<<16 || len(b) > 1<<16 {
			return
		}
		dir := t.TempDir()
		pa, pb := filepath.Join(dir, "a.bin"), filepath.Join(dir, "b.bin")
		os.WriteFile(pa, a, 0o644)
		os.WriteFile(pb, b, 0o644)
		o := openOpts()
		o.Limits.MaxTime = 20 * time.Second
		o.Limits.MaxTotalBytes = 64 << 20
		rep, err := Diff(context.Background(), pa, pb, o, Options{})
		if err != nil {
			return
		}
		if (rep.Verdict == VerdictIdentical) != bytes.Equal(a, b) {
			t.Fatalf("verdict %s for equal=%v", rep.Verdict, bytes.Equal(a, b))
		}
		var buf bytes.Buffer
		for _, format := range Formats {
			if err := Write(&buf, rep, format); err != nil {
				t.Fatal(err)
			}
		}
	})
}
