//go:build integration

package jffs2

import (
	"bytes"
	"io/fs"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/netvet/netvet/internal/firmware"
	"github.com/netvet/netvet/internal/firmware/fwtest"
)

// makeTree writes a source tree with files of several sizes, special
// permission bits, symlinks and a hard link.
func makeTree(t *testing.T) string {
	t.Helper()
	root := filepath.Join(t.TempDir(), "root")
	r := rand.New(rand.NewSource(7))
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	for _, d := range []string{"a/b/c", "etc", "sticky", "empty"} {
		must(os.MkdirAll(filepath.Join(root, d), 0o755))
	}
	files := map[string][]byte{
		"etc/passwd":  []byte("root:x:0:0:root:/root:/bin/sh\n"),
		"a/zero":      {},
		"a/b/random":  func() []byte { b := make([]byte, 70000); r.Read(b); return b }(),
		"a/b/c/text":  bytes.Repeat([]byte("jffs2 integration text "), 5000),
		"a/sparse":    append(append([]byte("start"), make([]byte, 20000)...), "end"...),
		"page":        bytes.Repeat([]byte{0x5a}, 4096),
		"sticky/note": []byte("n"),
	}
	for p, b := range files {
		must(os.WriteFile(filepath.Join(root, p), b, 0o644))
	}
	must(os.Chmod(filepath.Join(root, "a/b/random"), 0o755|fs.ModeSetuid))
	must(os.Chmod(filepath.Join(root, "a/b/c/text"), 0o711|fs.ModeSetgid))
	must(os.Chmod(filepath.Join(root, "sticky"), 0o777|fs.ModeSticky))
	must(os.Chmod(filepath.Join(root, "empty"), 0o700))
	must(os.Symlink("../etc/passwd", filepath.Join(root, "a/link")))
	must(os.Symlink("/nonexistent/abs", filepath.Join(root, "abs")))
	must(os.Link(filepath.Join(root, "etc/passwd"), filepath.Join(root, "etc/passwd.bak")))
	return root
}

func modeOf(fi fs.FileInfo) fs.FileMode {
	return fi.Mode() & (fs.ModePerm | fs.ModeSetuid | fs.ModeSetgid | fs.ModeSticky)
}

// compareTree checks the extracted entries against the source tree.
func compareTree(t *testing.T, root string, s *fwtest.MemSink) {
	t.Helper()
	n := 0
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == root {
			return err
		}
		n++
		rel, _ := filepath.Rel(root, p)
		rel = filepath.ToSlash(rel)
		it, ok := s.Get(rel)
		if !ok {
			t.Errorf("%s: not extracted", rel)
			return nil
		}
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		if it.Type != firmware.TypeSymlink && it.Mode != modeOf(fi) {
			t.Errorf("%s: mode %v, want %v", rel, it.Mode, modeOf(fi))
		}
		switch {
		case fi.Mode()&fs.ModeSymlink != 0:
			target, _ := os.Readlink(p)
			if it.Type != firmware.TypeSymlink || it.LinkTarget != target {
				t.Errorf("%s: %v %q, want symlink %q", rel, it.Type, it.LinkTarget, target)
			}
		case fi.IsDir():
			if it.Type != firmware.TypeDir {
				t.Errorf("%s: %v, want dir", rel, it.Type)
			}
		default:
			want, _ := os.ReadFile(p)
			data := it.Data
			if it.Type == firmware.TypeHardlink {
				first, ok := s.Get(it.LinkTarget)
				if !ok {
					t.Errorf("%s: hard link to missing %q", rel, it.LinkTarget)
					return nil
				}
				data = first.Data
			} else if it.Type != firmware.TypeFile {
				t.Errorf("%s: %v, want file", rel, it.Type)
			}
			if !bytes.Equal(data, want) {
				t.Errorf("%s: content differs (%d bytes, want %d)", rel, len(data), len(want))
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Items) != n {
		t.Errorf("extracted %d entries, source has %d: %v", len(s.Items), n, s.Paths())
	}
}

func TestMkfsJFFS2(t *testing.T) {
	if _, err := exec.LookPath("mkfs.jffs2"); err != nil {
		t.Skip("mkfs.jffs2 not in PATH")
	}
	root := makeTree(t)
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"le-zlib", []string{"-l"}},
		{"be-zlib", []string{"-b"}},
		{"le-rtime", []string{"-l", "-x", "zlib"}},
		{"be-lzo", []string{"-b", "-X", "lzo", "-x", "zlib", "-x", "rtime"}},
		{"le-none-128k", []string{"-l", "-e", "0x20000", "-x", "zlib", "-x", "rtime", "--pad=0x80000"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			img := filepath.Join(t.TempDir(), "img")
			args := append(append([]string{}, tc.args...), "-r", root, "-o", img)
			if out, err := exec.Command("mkfs.jffs2", args...).CombinedOutput(); err != nil {
				t.Fatalf("mkfs.jffs2: %v\n%s", err, out)
			}
			b, err := os.ReadFile(img)
			if err != nil {
				t.Fatal(err)
			}
			s, n, err := fwtest.Run(t.Context(), New(), b, 1<<28)
			if err != nil {
				t.Fatal(err)
			}
			if n != int64(len(b)) {
				t.Errorf("Extract returned %d, image is %d bytes", n, len(b))
			}
			if len(s.Failed) > 0 {
				t.Errorf("failures: %v", s.Failed[0].Err)
			}
			compareTree(t, root, s)
			if sb, ok := s.Get("a/b/random"); ok && sb.Mode&fs.ModeSetuid == 0 {
				t.Errorf("setuid bit lost")
			}
		})
	}
	t.Run("sumtool", func(t *testing.T) {
		if _, err := exec.LookPath("sumtool"); err != nil {
			t.Skip("sumtool not in PATH")
		}
		dir := t.TempDir()
		img, sum := filepath.Join(dir, "img"), filepath.Join(dir, "sum")
		if out, err := exec.Command("mkfs.jffs2", "-b", "-e", "0x10000", "-r", root, "-o", img).CombinedOutput(); err != nil {
			t.Fatalf("mkfs.jffs2: %v\n%s", err, out)
		}
		if out, err := exec.Command("sumtool", "-b", "-e", "0x10000", "-i", img, "-o", sum).CombinedOutput(); err != nil {
			t.Fatalf("sumtool: %v\n%s", err, out)
		}
		b, _ := os.ReadFile(sum)
		s, n, err := fwtest.Run(t.Context(), New(), b, 1<<28)
		if err != nil {
			t.Fatal(err)
		}
		if n != int64(len(b)) {
			t.Errorf("Extract returned %d, image is %d bytes", n, len(b))
		}
		compareTree(t, root, s)
	})
}
