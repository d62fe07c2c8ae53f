package equiv

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/netvet/netvet/internal/firmware/format/chk"
	"github.com/netvet/netvet/internal/firmware/format/hwnp"
	"github.com/netvet/netvet/internal/firmware/format/seama"
	"github.com/netvet/netvet/internal/firmware/format/tplink"
	"github.com/netvet/netvet/internal/firmware/format/trx"
	"github.com/netvet/netvet/internal/firmware/format/uimage"
)

func gz(t testing.TB, data []byte, level int, name string, mtime time.Time) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, level)
	if err != nil {
		t.Fatal(err)
	}
	zw.Name, zw.ModTime = name, mtime
	zw.Write(data)
	zw.Close()
	return buf.Bytes()
}

func withBuildID(e tEntry, id byte) tEntry {
	b := []byte(e.data)
	off := bytes.Index(b, []byte("GNU\x00")) + 4
	copy(b[off:off+20], bytes.Repeat([]byte{id}, 20))
	e.data = string(b)
	return e
}

// TestPairs builds pairs of images from one root file system and checks
// the verdict, the normalisations, the objects that differ and the
// security findings.
func TestPairs(t *testing.T) {
	base := baseRootfs()
	later := epoch.Add(36 * time.Hour)
	reversed := slices.Clone(base)
	slices.Reverse(reversed)
	manpage := []byte(strings.Repeat("NAME\n  busybox - the swiss army knife\n", 200))
	busy := entry(base, "bin/busybox")
	textOff := sectionOffset(t, []byte(busy.data), ".text")
	flipped := []byte(busy.data)
	flipped[textOff+100] ^= 0xff
	setuid := entry(base, "usr/sbin/dropbear")
	setuid.mode = 0o4755
	rebuilt := withBuildID(entry(base, "bin/busybox"), 0x11)
	rebuilt.data = strings.Replace(rebuilt.data, "Mar  1 2026 10:00:00", "Mar  2 2026 11:30:00", 1)

	cases := []struct {
		name      string
		a, b      []byte
		verdict   Verdict
		norms     []string
		differing []string
		rules     map[string][]string
		check     func(t *testing.T, rep *Report)
	}{
		{
			name: "same image", a: mkTar(t, epoch, base...), b: mkTar(t, epoch, base...),
			verdict: VerdictIdentical,
		},
		{
			name: "timestamps", a: mkTar(t, epoch, base...), b: mkTar(t, later, base...),
			verdict: VerdictEquivalent, norms: []string{NormMTime},
			check: func(t *testing.T, rep *Report) {
				c := change(rep, "/etc/passwd")
				if c == nil || c.Status != StatusEquivalent || len(c.Metadata) != 1 || c.Metadata[0].Field != "mtime" {
					t.Errorf("/etc/passwd: %+v", c)
				}
			},
		},
		{
			name: "file order", a: mkTar(t, epoch, base...), b: mkTar(t, epoch, reversed...),
			verdict: VerdictEquivalent, norms: []string{NormFileOrder},
			check: func(t *testing.T, rep *Report) {
				c := change(rep, "b.bin")
				if c == nil || c.Format != "tar" || !slices.Contains(c.Normalisations, NormFileOrder) {
					t.Errorf("archive: %+v", c)
				}
			},
		},
		{
			name: "hard link roles swap",
			a: mkTar(t, epoch, append(slices.Clone(base), tEntry{path: "bin/ls", data: "ls program", mode: 0o755},
				tEntry{path: "bin/dir", typ: tar.TypeLink, link: "bin/ls", mode: 0o755})...),
			b: mkTar(t, epoch, append(slices.Clone(base), tEntry{path: "bin/dir", data: "ls program", mode: 0o755},
				tEntry{path: "bin/ls", typ: tar.TypeLink, link: "bin/dir", mode: 0o755})...),
			verdict: VerdictEquivalent, norms: []string{NormFileOrder},
		},
		{
			name: "hard link to another file",
			a: mkTar(t, epoch, append(slices.Clone(base), tEntry{path: "bin/ls", data: "ls program", mode: 0o755},
				tEntry{path: "bin/dir", typ: tar.TypeLink, link: "bin/ls", mode: 0o755}, tEntry{path: "bin/vdir", data: "ls program", mode: 0o755})...),
			b: mkTar(t, epoch, append(slices.Clone(base), tEntry{path: "bin/ls", data: "ls program", mode: 0o755},
				tEntry{path: "bin/dir", typ: tar.TypeLink, link: "bin/ls", mode: 0o755}, tEntry{path: "bin/vdir", typ: tar.TypeLink, link: "bin/ls", mode: 0o755})...),
			verdict: VerdictDifferent, differing: []string{"/bin/dir", "/bin/vdir"},
		},
		{
			name:    "compression level inside",
			a:       mkTar(t, epoch, append(slices.Clone(base), tEntry{path: "usr/share/man.gz", data: string(gz(t, manpage, 9, "", time.Time{}))})...),
			b:       mkTar(t, epoch, append(slices.Clone(base), tEntry{path: "usr/share/man.gz", data: string(gz(t, manpage, 1, "", time.Time{}))})...),
			verdict: VerdictEquivalent, norms: []string{NormCompression},
		},
		{
			name: "gzip header",
			a:    mkTar(t, epoch, append(slices.Clone(base), tEntry{path: "usr/share/man.gz", data: string(gz(t, manpage, 9, "man", epoch))})...),
			b:    mkTar(t, epoch, append(slices.Clone(base), tEntry{path: "usr/share/man.gz", data: string(gz(t, manpage, 9, "man.1", later))})...),
			// The decompressed file takes its time from the gzip header.
			verdict: VerdictEquivalent, norms: []string{NormMTime, NormGzipHeader},
			check: func(t *testing.T, rep *Report) {
				c := change(rep, "/usr/share/man.gz")
				if c == nil || len(c.Spans) != 2 || c.Spans[0].OffsetB != 4 || c.Spans[1].Field != "gzip FNAME" {
					t.Errorf("man.gz: %+v", c)
				}
			},
		},
		{
			name:    "build id and build date",
			a:       mkTar(t, epoch, base...),
			b:       mkTar(t, epoch, replace(base, "bin/busybox", rebuilt)...),
			verdict: VerdictEquivalent, norms: []string{NormBuildID, NormBuildDate},
			check: func(t *testing.T, rep *Report) {
				c := change(rep, "/bin/busybox")
				if c == nil || len(c.Spans) != 2 {
					t.Fatalf("busybox: %+v", c)
				}
				note := sectionOffset(t, []byte(rebuilt.data), ".note.gnu.build-id")
				for _, sp := range c.Spans {
					switch sp.Normalisation {
					case NormBuildID:
						if sp.OffsetB != int64(note+16) || sp.LengthB != 20 || sp.B != strings.Repeat("11", 20) {
							t.Errorf("build id span %+v (note at %#x)", sp, note)
						}
					case NormBuildDate:
						if sp.A != "Mar  1 2026 10:00:00" || sp.B != "Mar  2 2026 11:30:00" {
							t.Errorf("date span %+v", sp)
						}
					}
				}
			},
		},
		{
			name: "build folder in debug strings",
			a: mkTar(t, epoch, append(slices.Clone(base), tEntry{path: "usr/bin/tool", mode: 0o755, data: string(mkELF(elfSpec{text: codeBytes(900, 5),
				debugStr: []byte("main\x00/home/alice/proj/fw/src\x00GNU C17 12.2.0 -O2\x00"), buildID: bytes.Repeat([]byte{1}, 20)}))})...),
			b: mkTar(t, epoch, append(slices.Clone(base), tEntry{path: "usr/bin/tool", mode: 0o755, data: string(mkELF(elfSpec{text: codeBytes(900, 5),
				debugStr: []byte("main\x00/builds/ci-00077/fw/src\x00GNU C17 12.2.0 -O2\x00"), buildID: bytes.Repeat([]byte{2}, 20)}))})...),
			verdict: VerdictEquivalent, norms: []string{NormBuildID, NormBuildPath},
			check: func(t *testing.T, rep *Report) {
				c := change(rep, "/usr/bin/tool")
				for _, sp := range c.Spans {
					if sp.Normalisation == NormBuildPath && (sp.A != "/home/alice/proj/fw/src" || sp.B != "/builds/ci-00077/fw/src") {
						t.Errorf("span %+v", sp)
					}
				}
			},
		},
		{
			name: "source file name in debug strings",
			a: mkTar(t, epoch, append(slices.Clone(base), tEntry{path: "usr/bin/tool", mode: 0o755, data: string(mkELF(elfSpec{text: codeBytes(900, 5),
				debugStr: []byte("main\x00/home/alice/fw/src/good.c\x00")}))})...),
			b: mkTar(t, epoch, append(slices.Clone(base), tEntry{path: "usr/bin/tool", mode: 0o755, data: string(mkELF(elfSpec{text: codeBytes(900, 5),
				debugStr: []byte("main\x00/home/alice/fw/src/evil.c\x00")}))})...),
			verdict: VerdictDifferent, differing: []string{"/usr/bin/tool"},
			check: func(t *testing.T, rep *Report) {
				c := change(rep, "/usr/bin/tool")
				if c.ELF == nil || !slices.Equal(c.ELF.Changed, []string{"other"}) || c.ELF.Sections[0].Name != ".debug_str" {
					t.Errorf("ELF %+v", c.ELF)
				}
			},
		},
		{
			name:    "build date in a text file",
			a:       mkTar(t, epoch, base...),
			b:       mkTar(t, epoch, replace(base, "etc/version", tEntry{path: "etc/version", data: "Router firmware 1.2.3\nBuilt on 2026-03-02 11:00:00\n"})...),
			verdict: VerdictEquivalent, norms: []string{NormBuildDate},
		},
		{
			name:      "one byte of code",
			a:         mkTar(t, epoch, base...),
			b:         mkTar(t, epoch, replace(base, "bin/busybox", tEntry{path: "bin/busybox", data: string(flipped), mode: 0o755})...),
			verdict:   VerdictDifferent,
			differing: []string{"/bin/busybox"},
			check: func(t *testing.T, rep *Report) {
				c := change(rep, "/bin/busybox")
				if c.Offset != int64(textOff+100) {
					t.Errorf("offset %#x, want %#x", c.Offset, textOff+100)
				}
				if c.ELF == nil || !slices.Equal(c.ELF.Changed, []string{"code"}) || len(c.ELF.Sections) != 1 {
					t.Fatalf("ELF diff %+v", c.ELF)
				}
				if s := c.ELF.Sections[0]; s.Name != ".text" || s.BytesDiffer != 1 || s.FirstDiff != 100 {
					t.Errorf(".text diff %+v", s)
				}
				if c.TLSH == nil || c.TLSH.Distance == nil || *c.TLSH.Distance > 30 {
					t.Errorf("TLSH %+v", c.TLSH)
				}
			},
		},
		{
			name:      "added init script",
			a:         mkTar(t, epoch, base...),
			b:         mkTar(t, epoch, append(slices.Clone(base), tEntry{path: "etc/init.d/S99debug", data: "#!/bin/sh\n# debug access\n/usr/sbin/telnetd -l /bin/sh -p 2323 &\n", mode: 0o755})...),
			verdict:   VerdictDifferent,
			differing: []string{"/etc/init.d/S99debug"},
			rules:     map[string][]string{"NV-EQV-002": {"/etc/init.d/S99debug"}},
			check: func(t *testing.T, rep *Report) {
				f := rep.Findings[0]
				if f.Line != 3 || f.Offset != 25 || !strings.Contains(f.Evidence, "telnetd -l /bin/sh") {
					t.Errorf("finding %+v", f)
				}
				if c := change(rep, "/etc/init.d/S99debug"); !strings.Contains(c.Diff, "+/usr/sbin/telnetd") {
					t.Errorf("diff %q", c.Diff)
				}
			},
		},
		{
			name:      "changed init script",
			a:         mkTar(t, epoch, base...),
			b:         mkTar(t, epoch, replace(base, "etc/init.d/rcS", tEntry{path: "etc/init.d/rcS", data: "#!/bin/sh\n/usr/sbin/dropbear -p 22\n/usr/sbin/telnetd -l /bin/sh\n/usr/sbin/httpd -p 80\n", mode: 0o755})...),
			verdict:   VerdictDifferent,
			differing: []string{"/etc/init.d/rcS"},
			rules:     map[string][]string{"NV-EQV-002": {"/etc/init.d/rcS"}},
			check: func(t *testing.T, rep *Report) {
				c := change(rep, "/etc/init.d/rcS")
				want := "--- a/etc/init.d/rcS\n+++ b/etc/init.d/rcS\n@@ -1,3 +1,4 @@\n #!/bin/sh\n /usr/sbin/dropbear -p 22\n+/usr/sbin/telnetd -l /bin/sh\n /usr/sbin/httpd -p 80\n"
				if c.Diff != want {
					t.Errorf("diff:\n%s\nwant:\n%s", c.Diff, want)
				}
				if f := rep.Findings[0]; f.Line != 3 || f.Offset != 35 {
					t.Errorf("finding %+v", f)
				}
			},
		},
		{
			name:      "new setuid bit",
			a:         mkTar(t, epoch, base...),
			b:         mkTar(t, epoch, replace(base, "usr/sbin/dropbear", setuid)...),
			verdict:   VerdictDifferent,
			differing: []string{"/usr/sbin/dropbear"},
			rules:     map[string][]string{"NV-EQV-001": {"/usr/sbin/dropbear"}},
			check: func(t *testing.T, rep *Report) {
				c := change(rep, "/usr/sbin/dropbear")
				if len(c.Metadata) != 1 || c.Metadata[0] != (MetaChange{"mode", "0755", "4755"}) || c.Offset != -1 {
					t.Errorf("dropbear %+v", c)
				}
			},
		},
		{
			name: "changed authorized_keys",
			a:    mkTar(t, epoch, base...),
			b: mkTar(t, epoch, replace(base, "root/.ssh/authorized_keys", tEntry{path: "root/.ssh/authorized_keys", mode: 0o600,
				data: entry(base, "root/.ssh/authorized_keys").data + "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAAAgQC7 maint@elsewhere\n"})...),
			verdict:   VerdictDifferent,
			differing: []string{"/root/.ssh/authorized_keys"},
			rules:     map[string][]string{"NV-EQV-004": {"/root/.ssh/authorized_keys"}},
			check: func(t *testing.T, rep *Report) {
				f := rep.Findings[0]
				if f.Line != 2 || !strings.Contains(f.Evidence, "ssh-rsa SHA256:") || !strings.Contains(f.Evidence, "maint@elsewhere") {
					t.Errorf("finding %+v", f)
				}
			},
		},
		{
			name:      "new account, hash redacted",
			a:         mkTar(t, epoch, base...),
			b:         mkTar(t, epoch, replace(base, "etc/shadow", tEntry{path: "etc/shadow", mode: 0o600, data: entry(base, "etc/shadow").data + "support:$1$abcdefgh$XyZXyZXyZXyZXyZXyZXyZ.:19000:0:99999:7:::\n"})...),
			verdict:   VerdictDifferent,
			differing: []string{"/etc/shadow"},
			rules:     map[string][]string{"NV-EQV-005": {"/etc/shadow"}},
			check: func(t *testing.T, rep *Report) {
				c := change(rep, "/etc/shadow")
				if strings.Contains(c.Diff, "XyZXyZ") || strings.Contains(rep.Findings[0].Evidence, "XyZXyZ") || strings.Contains(c.Diff, "0123456789abc") {
					t.Errorf("hash not redacted:\n%s\n%s", c.Diff, rep.Findings[0].Evidence)
				}
				if !strings.Contains(c.Diff, "+support:$1$") {
					t.Errorf("diff %q", c.Diff)
				}
			},
		},
		{
			name:      "new daemon link and listening program",
			a:         mkTar(t, epoch, base...),
			b:         mkTar(t, epoch, append(slices.Clone(base), tEntry{path: "usr/sbin/telnetd", typ: tar.TypeSymlink, link: "../../bin/busybox"}, tEntry{path: "usr/bin/helper", mode: 0o755, data: string(mkELF(elfSpec{text: codeBytes(500, 7), imports: []string{"socket", "bind", "listen", "accept", "read"}}))})...),
			verdict:   VerdictDifferent,
			differing: []string{"/usr/bin", "/usr/bin/helper", "/usr/sbin/telnetd"},
			rules:     map[string][]string{"NV-EQV-003": {"/usr/bin/helper", "/usr/sbin/telnetd"}},
		},
		{
			// tar extracts the last of two entries with one name.
			name:      "second entry for a name",
			a:         mkTar(t, epoch, base...),
			b:         mkTar(t, epoch, append(slices.Clone(base), tEntry{path: "etc/passwd", data: "root::0:0:root:/root:/bin/sh\n"})...),
			verdict:   VerdictDifferent,
			differing: []string{"/etc/passwd"},
			rules:     map[string][]string{"NV-EQV-005": {"/etc/passwd"}},
			check: func(t *testing.T, rep *Report) {
				if c := change(rep, "/etc/passwd"); c.Status != StatusAdded {
					t.Errorf("passwd %+v", c)
				}
			},
		},
		{
			name:      "removed file and changed link",
			a:         mkTar(t, epoch, base...),
			b:         mkTar(t, epoch, replace(replace(base, "www/index.html", tEntry{}), "bin/sh", tEntry{path: "bin/sh", typ: tar.TypeSymlink, link: "/tmp/sh"})...),
			verdict:   VerdictDifferent,
			differing: []string{"/bin/sh", "/www/index.html"},
			check: func(t *testing.T, rep *Report) {
				if c := change(rep, "/www/index.html"); c.Status != StatusRemoved {
					t.Errorf("index.html %+v", c)
				}
				if c := change(rep, "/bin/sh"); c.Metadata[0] != (MetaChange{"link_target", "busybox", "/tmp/sh"}) {
					t.Errorf("sh %+v", c)
				}
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rep := diffBytes(t, tc.a, tc.b)
			if rep.Verdict != tc.verdict {
				t.Fatalf("verdict %s, want %s\n%s", rep.Verdict, tc.verdict, dump(rep))
			}
			if got := norms(rep); !slices.Equal(got, tc.norms) {
				t.Errorf("normalisations %v, want %v\n%s", got, tc.norms, dump(rep))
			}
			if got := differing(rep); !slices.Equal(got, tc.differing) {
				t.Errorf("differing %v, want %v\n%s", got, tc.differing, dump(rep))
			}
			if rep.Differences != len(tc.differing) {
				t.Errorf("differences %d, want %d", rep.Differences, len(tc.differing))
			}
			got := rules(rep)
			if len(got) != len(tc.rules) {
				t.Errorf("findings %v, want %v", got, tc.rules)
			}
			for r, paths := range tc.rules {
				if !slices.Equal(got[r], paths) {
					t.Errorf("%s: %v, want %v", r, got[r], paths)
				}
			}
			for _, f := range rep.Findings {
				if f.Path == "" || f.FSPath == "" || f.Evidence == "" || f.Rationale == "" || f.Analyzer != "equiv" {
					t.Errorf("finding without evidence: %+v", f)
				}
			}
			if tc.check != nil {
				tc.check(t, rep)
			}
		})
	}
}

func dump(rep *Report) string {
	var buf bytes.Buffer
	Write(&buf, rep, "text")
	return buf.String()
}

// TestContainers wraps a kernel and a root file system in uImage and TRX
// containers: a new timestamp is equivalent, a new entry point is not.
func TestContainers(t *testing.T) {
	kernel := append([]byte("Linux version 5.10.1 (builder@build-17) (gcc 12) #1 SMP Sun Mar 1 10:00:00 UTC 2026\n"), codeBytes(8000, 9)...)
	rootfs := mkTar(t, epoch, baseRootfs()...)
	build := func(kernel []byte, tm time.Time, entry uint32) []byte {
		h := uimage.Header{Name: "Linux-5.10.1", Time: tm, Load: 0x80008000, Entry: entry, OS: uimage.OSLinux, Arch: uimage.ArchARM, Type: uimage.TypeKernel, Comp: uimage.CompNone}
		return trx.Build([][]byte{uimage.Build(h, kernel), rootfs})
	}
	rebuilt := bytes.Replace(kernel, []byte("builder@build-17) (gcc 12) #1 SMP Sun Mar 1"), []byte("jenkins@ci-0042) (gcc 12) #1 SMP Mon Mar 2"), 1)
	cases := []struct {
		name    string
		a, b    []byte
		verdict Verdict
		norms   []string
		diff    []string
	}{
		{"timestamp", build(kernel, epoch, 0x80008000), build(kernel, epoch.Add(time.Hour), 0x80008000), VerdictEquivalent, []string{NormMTime, NormContainerSum}, nil},
		{"kernel banner", build(kernel, epoch, 0x80008000), build(rebuilt, epoch, 0x80008000), VerdictEquivalent, []string{NormContainerSum, NormContainerLen, NormBuildDate, NormBuildHost}, nil},
		{"entry point", build(kernel, epoch, 0x80008000), build(kernel, epoch, 0x80000000), VerdictDifferent, nil, []string{"partition-0"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rep := diffBytes(t, tc.a, tc.b)
			if rep.Verdict != tc.verdict || !slices.Equal(norms(rep), tc.norms) {
				t.Fatalf("verdict %s %v, want %s %v\n%s", rep.Verdict, norms(rep), tc.verdict, tc.norms, dump(rep))
			}
			var got []string
			for _, c := range rep.Changes {
				if c.Status.differs() {
					got = append(got, c.Path[strings.LastIndex(c.Path, "/")+1:])
				}
			}
			if !slices.Equal(got, tc.diff) {
				t.Errorf("differing %v, want %v\n%s", got, tc.diff, dump(rep))
			}
			if tc.name == "entry point" {
				c := rep.Changes[0]
				if c.Offset != 22 { // ih_ep at 20: 80 00 80 00 → 80 00 00 00
					t.Errorf("offset %d, want 22", c.Offset)
				}
			}
		})
	}
}

// TestVendorContainers: the same rebuild (other file times in the root
// file system) in each vendor container is equivalent, its checksums and
// lengths named; a changed byte in the header is not.
func TestVendorContainers(t *testing.T) {
	kernel := codeBytes(5000, 4)
	rootA := mkTar(t, epoch, baseRootfs()...)
	rootB := mkTar(t, epoch.Add(time.Hour), baseRootfs()...)
	hw := func(root []byte) []byte {
		return hwnp.Build("HG8245H|", []hwnp.BuildItem{{Name: "flash:kernel", Section: "KERNEL", Data: kernel}, {Name: "flash:rootfs", Section: "ROOTFS", Data: root}})
	}
	cases := []struct {
		name  string
		build func(root []byte) []byte
		field int // an offset in the header that is not a normalised field
	}{
		{"chk", func(root []byte) []byte { return chk.Build("U12H270T00_NETGEAR", kernel, root) }, 9},
		{"seama", func(root []byte) []byte {
			return seama.Build([]string{"dev=test"}, append(slices.Clone(kernel), root...))
		}, 30},
		{"tplink v1", func(root []byte) []byte { return tplink.Build(1, kernel, root) }, 30},
		{"tplink v2", func(root []byte) []byte { return tplink.Build(2, kernel, root) }, 0x35},
		{"hwnp", hw, 40},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a, b := tc.build(rootA), tc.build(rootB)
			rep := diffBytes(t, a, b)
			if rep.Verdict != VerdictEquivalent || !slices.Contains(norms(rep), NormContainerSum) || !slices.Contains(norms(rep), NormMTime) {
				t.Fatalf("%s %v\n%s", rep.Verdict, norms(rep), dump(rep))
			}
			b[tc.field] ^= 0x20
			rep = diffBytes(t, a, b)
			if rep.Verdict != VerdictDifferent || rep.Changes[0].Offset != int64(tc.field) {
				t.Fatalf("changed header byte %d: %s\n%s", tc.field, rep.Verdict, dump(rep))
			}
		})
	}
}

// TestRootPairing: the same files in a plain tar and a gzip'd tar are
// matched by path although the file systems sit at different places.
func TestRootPairing(t *testing.T) {
	tarball := mkTar(t, epoch, baseRootfs()...)
	rep := diffBytes(t, tarball, gz(t, tarball, 6, "", time.Time{}))
	if len(rep.Roots) != 1 || rep.Roots[0].How != "overlap" || rep.Roots[0].Overlap != 1 {
		t.Fatalf("roots %+v", rep.Roots)
	}
	// The image changed format and holds the archive one level down;
	// every file inside is identical.
	if got := differing(rep); !slices.Equal(got, []string{"b.bin", "b.bin/decompressed"}) {
		t.Errorf("differing %v\n%s", got, dump(rep))
	}
	if rep.Summary.Identical < 15 {
		t.Errorf("summary %+v", rep.Summary)
	}
}

// TestFolders compares unpack folders: with the images beside them the
// comparison is complete; without, the bytes outside the extracted
// objects are unverified.
func TestFolders(t *testing.T) {
	kernel := codeBytes(3000, 3)
	rootfs := mkTar(t, epoch, baseRootfs()...)
	imgA := trx.Build([][]byte{kernel, rootfs})
	imgB := trx.Build([][]byte{kernel, mkTar(t, epoch.Add(time.Hour), baseRootfs()...)})
	dir := t.TempDir()
	write := func(name string, b []byte) string {
		p := dir + "/" + name
		if err := writeFile(p, b); err != nil {
			t.Fatal(err)
		}
		return p
	}
	pa, pb := write("a.bin", imgA), write("b.bin", imgB)
	for _, p := range []string{pa, pb} {
		s, err := Open(t.Context(), p, OpenOptions{Registry: openOpts().Registry, Limits: openOpts().Limits, Dir: p + ".out"})
		if err != nil {
			t.Fatal(err)
		}
		s.Close()
	}
	rep := diffFiles(t, pa+".out", pb+".out")
	if rep.Verdict != VerdictEquivalent {
		t.Fatalf("with images: %s\n%s", rep.Verdict, dump(rep))
	}
	removeFile(t, pa)
	removeFile(t, pb)
	rep = diffFiles(t, pa+".out", pb+".out")
	if rep.Verdict != VerdictIncomplete || rep.Summary.Unverified == 0 {
		t.Fatalf("without images: %s\n%s", rep.Verdict, dump(rep))
	}
}

// TestJSONStable: the same inputs give byte-identical JSON.
func TestJSONStable(t *testing.T) {
	base := baseRootfs()
	a := mkTar(t, epoch, base...)
	b := mkTar(t, epoch.Add(time.Hour), append(slices.Clone(base), tEntry{path: "etc/init.d/S50x", data: "#!/bin/sh\nnc -l -p 4444 -e /bin/sh\n", mode: 0o755})...)
	dir := t.TempDir()
	pa, pb := dir+"/a.bin", dir+"/b.bin"
	writeFile(pa, a)
	writeFile(pb, b)
	var out [2][]byte
	for i := range out {
		var buf bytes.Buffer
		if err := Write(&buf, diffFiles(t, pa, pb), "json"); err != nil {
			t.Fatal(err)
		}
		out[i] = buf.Bytes()
	}
	if !bytes.Equal(out[0], out[1]) {
		t.Fatal("JSON differs between two runs")
	}
	var m map[string]any
	if err := json.Unmarshal(out[0], &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"verdict", "changes", "findings", "normalisations", "summary", "roots"} {
		if _, ok := m[k]; !ok {
			t.Errorf("JSON has no %q", k)
		}
	}
	for _, f := range []string{"text", "html"} {
		var buf bytes.Buffer
		if err := Write(&buf, diffBytes(t, a, b), f); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(buf.String(), "DIFFERENT") || !strings.Contains(buf.String(), "NV-EQV-002") {
			t.Errorf("%s output lacks the verdict or the finding:\n%s", f, buf.String())
		}
	}
}
