//go:build integration

package cramfs

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

// makeTree writes a source tree with files of several sizes (up to
// multi-block, incompressible and sparse), special permission bits and
// symlinks.
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
		"a/0mid":      bytes.Repeat([]byte("mid-size file "), 400),
		"a/b/random":  func() []byte { b := make([]byte, 70000); r.Read(b); return b }(),
		"a/b/c/text":  bytes.Repeat([]byte("cramfs integration text "), 5000),
		"a/sparse":    append(append([]byte("start"), make([]byte, 20000)...), "end"...),
		"page":        bytes.Repeat([]byte{0x5a}, 4096),
		"sticky/note": []byte("n"),
		"dup1":        []byte("same content"),
		"dup2":        []byte("same content"),
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
	return root
}

func modeOf(fi fs.FileInfo) fs.FileMode {
	return fi.Mode() & (fs.ModePerm | fs.ModeSetuid | fs.ModeSetgid | fs.ModeSticky)
}

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
			if it.Type != firmware.TypeFile || !bytes.Equal(it.Data, want) {
				t.Errorf("%s: %v, content differs (%d bytes, want %d)", rel, it.Type, len(it.Data), len(want))
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

func TestMkfsCramfs(t *testing.T) {
	if _, err := exec.LookPath("mkfs.cramfs"); err != nil {
		t.Skip("mkfs.cramfs not in PATH")
	}
	root := makeTree(t)
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"le", []string{"-N", "little"}},
		{"be", []string{"-N", "big"}},
		{"pad", []string{"-p"}},
		{"holes-be", []string{"-z", "-N", "big"}},
		{"block-8k", []string{"-b", "8192"}},
		{"block-64k-be", []string{"-b", "65536", "-N", "big"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			img := filepath.Join(t.TempDir(), "img")
			args := append(append([]string{}, tc.args...), root, img)
			if out, err := exec.Command("mkfs.cramfs", args...).CombinedOutput(); err != nil {
				t.Fatalf("mkfs.cramfs: %v\n%s", err, out)
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
		})
	}
	t.Run("cramfsswap", func(t *testing.T) {
		if _, err := exec.LookPath("cramfsswap"); err != nil {
			t.Skip("cramfsswap not in PATH")
		}
		dir := t.TempDir()
		le, be := filepath.Join(dir, "le"), filepath.Join(dir, "be")
		if out, err := exec.Command("mkfs.cramfs", "-N", "little", root, le).CombinedOutput(); err != nil {
			t.Fatalf("mkfs.cramfs: %v\n%s", err, out)
		}
		if out, err := exec.Command("cramfsswap", le, be).CombinedOutput(); err != nil {
			t.Fatalf("cramfsswap: %v\n%s", err, out)
		}
		b, _ := os.ReadFile(be)
		if binaryBE := b[0] == 0x28; !binaryBE {
			t.Fatalf("cramfsswap did not write a big-endian image")
		}
		s, _, err := fwtest.Run(t.Context(), New(), b, 1<<28)
		if err != nil {
			t.Fatal(err)
		}
		compareTree(t, root, s)
	})
}
