package equiv

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"slices"
	"strings"
	"testing"
)

func TestFindMasks(t *testing.T) {
	cases := []struct {
		name  string
		in    string
		paths bool
		want  []string // class:text
	}{
		{"C __DATE__ __TIME__", "v1.2 (Mar  1 2026 10:00:00)", false, []string{"build-date:Mar  1 2026 10:00:00"}},
		{"C __DATE__ alone", "built Mar 12 2026\x00", false, []string{"build-date:Mar 12 2026"}},
		{"__TIME__ as its own string", "\x00Mar  1 2026\x0010:00:00\x00", true, []string{"build-date:Mar  1 2026", "build-date:10:00:00"}},
		{"lone time outside ELF: kept", "\x00Mar  1 2026\x0010:00:00\x00", false, []string{"build-date:Mar  1 2026"}},
		{"kernel banner", "Linux version 5.10.1 (builder@build-17) (gcc 12) #1 SMP Sun Mar 1 10:00:00 UTC 2026\n", false,
			[]string{"build-host:builder@build-17", "build-date:Sun Mar 1 10:00:00 UTC 2026"}},
		{"date(1)", "Sun Mar  1 10:00:00 CET 2026", false, []string{"build-date:Sun Mar  1 10:00:00 CET 2026"}},
		{"RFC 2822", "Date: Sun, 01 Mar 2026 10:00:00 +0000\n", false, []string{"build-date:Sun, 01 Mar 2026 10:00:00 +0000"}},
		{"ISO 8601", "ts=2026-03-01T10:00:00Z;", false, []string{"build-date:2026-03-01T10:00:00Z"}},
		{"built on, date only", "Built on: 2026-03-01\n", false, []string{"build-date:2026-03-01"}},
		{"build date compact", "BUILD_DATE=20260301_1000\n", false, []string{"build-date:20260301_1000"}},
		{"epoch after keyword", "build time 1772359200\n", false, []string{"build-date:1772359200"}},
		{"no keyword, no time: kept", "release 2026-03-01\n", false, nil},
		{"bad month: kept", "Foo  1 2026 10:00:00", false, nil},
		{"hour 39: kept", "2026-03-01T39:00:00Z", false, nil},
		{"part of a longer number: kept", "12026-03-01T10:00:00", false, nil},
		{"build path", "\x00/home/alice/src/fw/main.c\x00", true, []string{"build-path:/home/alice/src/fw/main.c"}},
		{"build path off", "\x00/home/alice/src/fw/main.c\x00", false, nil},
		{"not a path start", "x/home/alice/src", true, nil},
		{"tmp path", "/tmp/tmp.Ab3dE6fGh1/build/x.o", true, []string{"build-path:/tmp/tmp.Ab3dE6fGh1/build/x.o"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			for _, m := range findMasks([]byte(tc.in), maskOptions{paths: tc.paths}) {
				got = append(got, m.class+":"+tc.in[m.off:m.end()])
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestFindMasksSkip(t *testing.T) {
	in := []byte("code Mar  1 2026 code | data Mar  1 2026 data")
	got := findMasks(in, maskOptions{skip: [][2]int{{0, 20}}})
	if len(got) != 1 || got[0].off != 29 {
		t.Errorf("masks %+v, want one at 29", got)
	}
}

func TestAlignedEqual(t *testing.T) {
	cases := []struct {
		name    string
		a, b    string
		paths   bool
		ok      bool
		classes []string
	}{
		{"same date", "x Mar  1 2026 y", "x Mar  1 2026 y", false, true, nil},
		{"other date", "x Mar  1 2026 y", "x Apr 30 2025 y", false, true, []string{NormBuildDate}},
		{"other date, other text", "x Mar  1 2026 y", "z Apr 30 2025 y", false, false, nil},
		{"date against garbage", "x Mar  1 2026 y", "x Mar  1 20XX y", false, false, nil},
		{"different lengths around masks", "Built on 2026-03-01 ok", "Built on 2026-03-01T10:00:00Z ok", false, true, []string{NormBuildDate}},
		{"build folder only", "\x00/home/alice/proj/fw/src/main.c\x00", "\x00/home/bob/fw/src/main.c\x00", true, true, []string{NormBuildPath}},
		{"file name differs", "\x00/home/alice/fw/src/good.c\x00", "\x00/home/bobby/fw/src/evil.c\x00", true, false, nil},
		{"not a build root", "\x00/home/alice/fw/a.c\x00", "\x00/opt/../etc/fw/a.c\x00", true, false, nil},
		{"tmp not random", "\x00/tmp/foo/x.c\x00", "\x00/tmp/bar/x.c\x00", true, false, nil},
		{"tmp random", "\x00/tmp/build1234/x.c\x00", "\x00/tmp/build9876/x.c\x00", true, true, []string{NormBuildPath}},
		{"extra mask on one side", "a 2026-03-01T10:00:00 b", "a 2026-03-01T10:00:00 b Mar  1 2026", false, false, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			o := maskOptions{paths: tc.paths}
			a, b := []byte(tc.a), []byte(tc.b)
			ok, pairs := alignedEqual(a, b, findMasks(a, o), findMasks(b, o))
			if ok != tc.ok {
				t.Fatalf("ok %v, want %v", ok, tc.ok)
			}
			if got := classesOf(pairs); ok && !slices.Equal(got, tc.classes) && !(len(got) == 0 && tc.classes == nil) {
				t.Errorf("classes %v, want %v", got, tc.classes)
			}
		})
	}
}

func TestUnifiedDiff(t *testing.T) {
	cases := []struct {
		name, a, b, want string
	}{
		{"insert", "a\nb\nc\n", "a\nb\nX\nc\n", "--- A\n+++ B\n@@ -1,3 +1,4 @@\n a\n b\n+X\n c\n"},
		{"delete", "a\nb\nc\n", "a\nc\n", "--- A\n+++ B\n@@ -1,3 +1,2 @@\n a\n-b\n c\n"},
		{"replace, no newline", "one\ntwo", "one\nTWO", "--- A\n+++ B\n@@ -1,2 +1,2 @@\n one\n-two\n\\ No newline at end of file\n+TWO\n\\ No newline at end of file\n"},
		{"two hunks", "1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n11\n12\n", "1\nX\n3\n4\n5\n6\n7\n8\n9\n10\nY\n12\n",
			"--- A\n+++ B\n@@ -1,5 +1,5 @@\n 1\n-2\n+X\n 3\n 4\n 5\n@@ -8,5 +8,5 @@\n 8\n 9\n 10\n-11\n+Y\n 12\n"},
		{"from nothing", "", "x\ny\n", "--- A\n+++ B\n@@ -0,0 +1,2 @@\n+x\n+y\n"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ta, tb := splitLines([]byte(tc.a)), splitLines([]byte(tc.b))
			id := func(_ int, s string) string { return s }
			got, _ := unified("A", "B", ta, tb, lineEdits(ta.lines, tb.lines), 100, id, id)
			if got != tc.want {
				t.Errorf("got:\n%s\nwant:\n%s", got, tc.want)
			}
		})
	}
}

// TestLineEditsLarge: beyond the edit bound the diff is one block, and
// still turns A into B.
func TestLineEditsLarge(t *testing.T) {
	var a, b []string
	for i := range 5000 {
		a = append(a, "a"+strings.Repeat("x", i%7))
		b = append(b, "b"+strings.Repeat("y", i%5))
	}
	checkEdits(t, a, b, lineEdits(a, b))
}

func checkEdits(t testing.TB, a, b []string, edits []edit) {
	t.Helper()
	var ra, rb []string
	for _, e := range edits {
		switch e.op {
		case ' ':
			if a[e.a] != b[e.b] {
				t.Fatalf("kept line differs: %q %q", a[e.a], b[e.b])
			}
			ra, rb = append(ra, a[e.a]), append(rb, b[e.b])
		case '-':
			ra = append(ra, a[e.a])
		case '+':
			rb = append(rb, b[e.b])
		}
	}
	if !slices.Equal(ra, a) || !slices.Equal(rb, b) {
		t.Fatalf("edit script does not rebuild the inputs")
	}
}

func TestRedaction(t *testing.T) {
	cases := []struct{ path, in, want string }{
		{"/etc/shadow", "root:$6$saltsalt$0123456789abcdefghij:19000:0:::", "root:$6$****************:19000:0:::"},
		{"/etc/shadow", "daemon:*:0:0:::", "daemon:*:0:0:::"},
		{"/etc/config/wireless", "\toption key 'SuperSecretWifi'", "\toption key 'Su*************'"},
		{"/etc/app.conf", "password=hunter22", "password=hu******"},
		{"/etc/snmpd.conf", "rocommunity public", "rocommunity pu****"},
		{"/etc/motd", "welcome", "welcome"},
	}
	for _, tc := range cases {
		t.Run(tc.in, func(t *testing.T) {
			tl := splitLines([]byte(tc.in))
			if got := redactor(tc.path, tl)(0, tc.in); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
	key := "x\n-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIA\n-----END EC PRIVATE KEY-----\n"
	tl := splitLines([]byte(key))
	if got := redactor("/etc/ssl/k.pem", tl)(2, tl.lines[2]); got != "[REDACTED]" {
		t.Errorf("key line: %q", got)
	}
}

func TestParseELF(t *testing.T) {
	b := mkELF(elfSpec{text: codeBytes(256, 1), rodata: []byte("hello\x00"), data: []byte{1, 2, 3, 4}, buildID: bytes.Repeat([]byte{7}, 20), imports: []string{"socket", "bind", "listen"}})
	e, err := parseELF(b)
	if err != nil {
		t.Fatal(err)
	}
	if !e.program || !listens(e.imports) {
		t.Errorf("program %v imports %v", e.program, e.imports)
	}
	note := sectionOffset(t, b, ".note.gnu.build-id")
	if len(e.ids) != 1 || e.ids[0].off != note+16 || e.ids[0].n != 20 {
		t.Errorf("build ids %+v, note at %d", e.ids, note)
	}
	text := sectionOffset(t, b, ".text")
	found := false
	for _, r := range e.skip {
		found = found || (r[0] == text && r[1] == text+256)
	}
	if !found {
		t.Errorf("code range not skipped: %v", e.skip)
	}
	// A compressed section name table claiming 1 TiB is refused before
	// debug/elf would inflate it.
	bomb := bytes.Clone(b)
	le := binary.LittleEndian
	shoff, shstrndx := le.Uint64(bomb[40:]), uint64(le.Uint16(bomb[62:]))
	sh := bomb[shoff+64*shstrndx:]
	le.PutUint64(sh[8:], uint64(0x800)) // SHF_COMPRESSED
	str := bomb[le.Uint64(sh[24:]):]
	le.PutUint32(str[0:], 1)     // ELFCOMPRESS_ZLIB
	le.PutUint64(str[8:], 1<<40) // ch_size
	if _, err := parseELF(bomb); err == nil || !strings.Contains(err.Error(), "compressed") {
		t.Errorf("compressed name table: %v", err)
	}
	// A truncated file: an error or a partial view, never a panic.
	for n := 0; n < len(b); n += 37 {
		parseELF(b[:n])
	}
}

func TestDiffELF(t *testing.T) {
	spec := elfSpec{text: codeBytes(256, 1), rodata: []byte("hello world\x00"), data: []byte{1, 2, 3, 4}}
	a := mkELF(spec)
	spec.rodata = []byte("hello World\x00")
	spec.data = []byte{1, 2, 3, 4, 5, 6, 7, 8}
	b := mkELF(spec)
	ea, _ := parseELF(a)
	eb, _ := parseELF(b)
	d := diffELF(a, b, ea, eb)
	if !slices.Equal(d.Changed, []string{"rodata", "data"}) {
		t.Errorf("changed %v", d.Changed)
	}
	var ro *SectionDiff
	for i := range d.Sections {
		if d.Sections[i].Name == ".rodata" {
			ro = &d.Sections[i]
		}
	}
	if ro == nil || ro.Status != "changed" || ro.BytesDiffer != 1 || ro.FirstDiff != 6 {
		t.Errorf(".rodata %+v", ro)
	}
}

func TestParseHeaders(t *testing.T) {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Name = "kernel.bin"
	zw.Write([]byte("x"))
	zw.Close()
	h, ok := parseGzipHeader(buf.Bytes())
	if !ok || h.nameOff != 10 || h.nameLen != 10 || h.headerLen != 21 {
		t.Errorf("gzip header %+v %v", h, ok)
	}
	if _, ok := parseGzipHeader([]byte{0x1f, 0x8b, 8, 0x08, 0, 0, 0, 0, 0, 3, 'a'}); ok {
		t.Error("unterminated name accepted")
	}
	sb := make([]byte, 96+2+8)
	binary.LittleEndian.PutUint32(sb, sqMagic)
	binary.LittleEndian.PutUint32(sb[8:], 1772359200)
	binary.LittleEndian.PutUint32(sb[12:], 131072)
	binary.LittleEndian.PutUint16(sb[20:], 1)
	binary.LittleEndian.PutUint16(sb[24:], sqCompOpts)
	binary.LittleEndian.PutUint16(sb[96:], 0x8000|8)
	binary.LittleEndian.PutUint32(sb[98:], 1)
	s, ok := parseSquashSuper(sb)
	if !ok || s.settings() != "gzip, 131072-byte blocks, options 0100000000000000 (level 1)" {
		t.Errorf("squashfs %q %v", s.settings(), ok)
	}
}

func TestAuthorizedKeys(t *testing.T) {
	in := "# keys\n" +
		"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIE1BbUFhQXRoZUtleU9mVGhlVmVuZG9yU3VwcG9ydDE support@vendor\n" +
		"command=\"/bin/backup\",no-pty ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAAAgQC7 backup\n" +
		"garbage line\n"
	ks := parseAuthorizedKeys([]byte(in))
	if len(ks) != 3 {
		t.Fatalf("%d keys", len(ks))
	}
	if ks[0].typ != "ssh-ed25519" || ks[0].line != 2 || !strings.HasPrefix(ks[0].fingerprint, "SHA256:") || ks[0].comment != "support@vendor" {
		t.Errorf("key 0 %+v", ks[0])
	}
	if ks[1].options != `command="/bin/backup",no-pty` || ks[1].typ != "ssh-rsa" {
		t.Errorf("key 1 %+v", ks[1])
	}
	if ks[2].typ != "unparsable" {
		t.Errorf("key 2 %+v", ks[2])
	}
}

func TestResidualSegments(t *testing.T) {
	kid := func(off, n int64) *node { return &node{m: &unpackNode{Offset: off, Size: n}} }
	got := residualSegments(100, []*node{kid(10, 20), kid(25, 10), kid(50, 100), kid(-1, 5)})
	want := []segment{{0, 10}, {35, 15}}
	if !slices.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
	if off, ok := toResidual(got, 36, 4); !ok || off != 11 {
		t.Errorf("toResidual %d %v", off, ok)
	}
	if toContainer(got, 11) != 36 {
		t.Errorf("toContainer %d", toContainer(got, 11))
	}
}
