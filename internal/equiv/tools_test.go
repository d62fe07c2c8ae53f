package equiv

import (
	"archive/tar"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// These tests build images with Debian's tools: mksquashfs
// (squashfs-tools) and gcc. They are skipped when a tool is missing.

func need(t *testing.T, tool string) {
	t.Helper()
	if _, err := exec.LookPath(tool); err != nil {
		t.Skipf("%s not installed (Debian package %s)", tool, map[string]string{"mksquashfs": "squashfs-tools", "gcc": "gcc"}[tool])
	}
}

func run(t *testing.T, dir string, env []string, name string, args ...string) {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
}

// writeTree writes a root file system folder from test entries.
func writeTree(t *testing.T, dir string, ents []tEntry) {
	t.Helper()
	for _, e := range ents {
		p := filepath.Join(dir, filepath.FromSlash(e.path))
		switch e.typ {
		case tar.TypeDir:
			os.MkdirAll(p, 0o755)
		case tar.TypeSymlink:
			os.MkdirAll(filepath.Dir(p), 0o755)
			if err := os.Symlink(e.link, p); err != nil {
				t.Fatal(err)
			}
		default:
			os.MkdirAll(filepath.Dir(p), 0o755)
			mode := os.FileMode(e.mode & 0o777)
			if mode == 0 {
				mode = 0o644
			}
			if err := os.WriteFile(p, []byte(e.data), mode); err != nil {
				t.Fatal(err)
			}
			os.Chmod(p, mode)
		}
	}
}

// sqfs builds a SquashFS image of dir with the given extra options.
func sqfs(t *testing.T, dir, out string, opts ...string) string {
	t.Helper()
	args := append([]string{dir, out, "-noappend", "-quiet", "-no-progress", "-all-root", "-b", "4096",
		"-mkfs-time", "1772359200", "-all-time", "1772359200"}, opts...)
	run(t, "", nil, "mksquashfs", args...)
	return out
}

// squashRootfs is the base root file system plus files larger than a
// block, so that their data order shows in the image.
func squashRootfs() []tEntry {
	ents := baseRootfs()
	for i := range 6 {
		ents = append(ents, tEntry{path: fmt.Sprintf("usr/lib/lib%d.so", i), data: string(codeBytes(10000+i*100, byte(10+i)))})
	}
	return ents
}

func TestSquashFSPairs(t *testing.T) {
	need(t, "mksquashfs")
	base := squashRootfs()
	dir := t.TempDir()
	src := filepath.Join(dir, "rootfs")
	writeTree(t, src, base)
	sortFile := filepath.Join(dir, "sort")
	var prio []string
	for i := range 6 {
		prio = append(prio, fmt.Sprintf("usr/lib/lib%d.so %d", i, 100*i))
	}
	os.WriteFile(sortFile, []byte(strings.Join(prio, "\n")+"\n"), 0o644)

	// B: the changes the lab must see.
	srcB := filepath.Join(dir, "rootfsB")
	busy := entry(base, "bin/busybox")
	code := []byte(busy.data)
	code[sectionOffset(t, code, ".text")+7] ^= 1
	changed := replace(base, "bin/busybox", tEntry{path: "bin/busybox", data: string(code), mode: 0o755})
	changed = replace(changed, "root/.ssh/authorized_keys", tEntry{path: "root/.ssh/authorized_keys", mode: 0o600,
		data: "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAAAgQC7 someone@else\n"})
	changed = append(changed, tEntry{path: "etc/init.d/S99telnet", data: "#!/bin/sh\ntelnetd -l /bin/sh\n", mode: 0o755})
	writeTree(t, srcB, changed)

	cases := []struct {
		name      string
		a, b      []string // mksquashfs options
		srcB      string
		verdict   Verdict
		norms     []string
		differing []string
		rules     []string
	}{
		{"timestamps", []string{"-comp", "gzip"}, []string{"-comp", "gzip", "-mkfs-time", "1800000000", "-all-time", "1800000000"}, src,
			VerdictEquivalent, []string{NormMTime}, nil, nil},
		{"compressor", []string{"-comp", "gzip"}, []string{"-comp", "xz"}, src, VerdictEquivalent, []string{NormCompression}, nil, nil},
		{"compression level", []string{"-comp", "gzip"}, []string{"-comp", "gzip", "-Xcompression-level", "1"}, src, VerdictEquivalent, []string{NormCompression}, nil, nil},
		{"file order", []string{"-comp", "gzip", "-no-fragments"}, []string{"-comp", "gzip", "-no-fragments", "-sort", sortFile}, src, VerdictEquivalent, []string{NormFileOrder}, nil, nil},
		{"changes", []string{"-comp", "xz"}, []string{"-comp", "xz", "-p", "usr/sbin/dropbear m 4755 0 0"}, srcB, VerdictDifferent, nil,
			[]string{"/bin/busybox", "/etc/init.d/S99telnet", "/root/.ssh/authorized_keys", "/usr/sbin/dropbear"},
			[]string{"NV-EQV-001", "NV-EQV-002", "NV-EQV-004"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := t.TempDir()
			pa := sqfs(t, src, filepath.Join(d, "a.sqfs"), tc.a...)
			pb := sqfs(t, tc.srcB, filepath.Join(d, "b.sqfs"), tc.b...)
			rep := diffFiles(t, pa, pb)
			if rep.Verdict != tc.verdict || !slices.Equal(norms(rep), tc.norms) || !slices.Equal(differing(rep), tc.differing) {
				t.Fatalf("verdict %s %v %v, want %s %v %v\n%s", rep.Verdict, norms(rep), differing(rep), tc.verdict, tc.norms, tc.differing, dump(rep))
			}
			var got []string
			for r := range rules(rep) {
				got = append(got, r)
			}
			slices.Sort(got)
			if !slices.Equal(got, tc.rules) {
				t.Errorf("rules %v, want %v", got, tc.rules)
			}
			if tc.name == "changes" {
				c := change(rep, "/bin/busybox")
				if c.ELF == nil || !slices.Equal(c.ELF.Changed, []string{"code"}) {
					t.Errorf("busybox ELF diff %+v", c.ELF)
				}
			}
		})
	}
}

// gcc compiles src in dir/src with the environment and flags given and
// returns the program.
func gcc(t *testing.T, dir, src string, env []string, flags ...string) []byte {
	t.Helper()
	srcDir := filepath.Join(dir, "src")
	os.MkdirAll(srcDir, 0o755)
	os.WriteFile(filepath.Join(srcDir, "prog.c"), []byte(src), 0o644)
	run(t, srcDir, env, "gcc", append(flags, "-o", "prog", "prog.c")...)
	b, err := os.ReadFile(filepath.Join(srcDir, "prog"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestGCCPairs(t *testing.T) {
	need(t, "gcc")
	const dated = "#include <stdio.h>\nint main(void) { puts(\"prog 1.0 built \" __DATE__ \" \" __TIME__); return 0; }\n"
	const server = "#include <sys/socket.h>\n#include <netinet/in.h>\n#include <unistd.h>\n" +
		"int main(void) { int s = socket(AF_INET, SOCK_STREAM, 0); struct sockaddr_in a = {0}; a.sin_family = AF_INET; a.sin_port = htons(4444);\n" +
		"bind(s, (struct sockaddr *)&a, sizeof a); listen(s, 1); int c = accept(s, 0, 0); dup2(c, 0); return 0; }\n"
	base := baseRootfs()
	image := func(prog []byte, path string) []byte {
		return mkTar(t, epoch, append(slices.Clone(base), tEntry{path: path, data: string(prog), mode: 0o755})...)
	}
	t.Run("build date and build id", func(t *testing.T) {
		d := t.TempDir()
		a := gcc(t, d, dated, []string{"SOURCE_DATE_EPOCH=1772359200"}, "-O2")
		b := gcc(t, d, dated, []string{"SOURCE_DATE_EPOCH=1772451000"}, "-O2")
		if bytes.Equal(a, b) {
			t.Skip("gcc ignores SOURCE_DATE_EPOCH")
		}
		rep := diffBytes(t, image(a, "usr/bin/prog"), image(b, "usr/bin/prog"))
		want := []string{NormBuildDate}
		if bytes.Contains(a, []byte("GNU\x00")) {
			want = []string{NormBuildID, NormBuildDate}
		}
		if rep.Verdict != VerdictEquivalent || !slices.Equal(norms(rep), want) {
			t.Fatalf("%s %v, want equivalent %v\n%s", rep.Verdict, norms(rep), want, dump(rep))
		}
	})
	t.Run("build path", func(t *testing.T) {
		root := t.TempDir()
		a := gcc(t, filepath.Join(root, "aa"), "int main(void) { return 0; }\n", nil, "-g", "-O0")
		b := gcc(t, filepath.Join(root, "bb"), "int main(void) { return 0; }\n", nil, "-g", "-O0")
		if bytes.Equal(a, b) {
			t.Skip("gcc wrote no build folder")
		}
		rep := diffBytes(t, image(a, "usr/bin/prog"), image(b, "usr/bin/prog"))
		// The assembler may also lay out its string tables in another
		// order (they are hashed): same-length masks cannot undo that.
		// Then the file differs, but only in debug sections.
		switch rep.Verdict {
		case VerdictEquivalent:
			if !slices.Contains(norms(rep), NormBuildPath) {
				t.Fatalf("equivalent without build-path: %v\n%s", norms(rep), dump(rep))
			}
		case VerdictDifferent:
			c := change(rep, "/usr/bin/prog")
			if c == nil || c.ELF == nil || !slices.Equal(c.ELF.Changed, []string{"other"}) {
				t.Fatalf("want only debug sections changed\n%s", dump(rep))
			}
			for _, s := range c.ELF.Sections {
				if !strings.HasPrefix(s.Name, ".debug_") {
					t.Errorf("section %s changed", s.Name)
				}
			}
		default:
			t.Fatalf("verdict %s\n%s", rep.Verdict, dump(rep))
		}
	})
	t.Run("one byte of code", func(t *testing.T) {
		d := t.TempDir()
		a := gcc(t, d, dated, []string{"SOURCE_DATE_EPOCH=1772359200"}, "-O2")
		b := bytes.Clone(a)
		b[sectionOffset(t, b, ".text")+3] ^= 0x40
		rep := diffBytes(t, image(a, "usr/bin/prog"), image(b, "usr/bin/prog"))
		c := change(rep, "/usr/bin/prog")
		if rep.Verdict != VerdictDifferent || c == nil || c.ELF == nil || !slices.Equal(c.ELF.Changed, []string{"code"}) {
			t.Fatalf("%s\n%s", rep.Verdict, dump(rep))
		}
	})
	t.Run("added listening program", func(t *testing.T) {
		d := t.TempDir()
		prog := gcc(t, d, server, nil, "-O2")
		rep := diffBytes(t, mkTar(t, epoch, base...), image(prog, "usr/bin/updater"))
		r := rules(rep)
		if !slices.Equal(r["NV-EQV-003"], []string{"/usr/bin/updater"}) {
			t.Fatalf("findings %v\n%s", r, dump(rep))
		}
	})
}
