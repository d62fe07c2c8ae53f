//go:build integration

package iso9660

import (
	"bytes"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/netvet/netvet/internal/firmware"
	"github.com/netvet/netvet/internal/firmware/fwtest"
)

func TestIntegrationMkisofs(t *testing.T) {
	tools := []struct {
		name string
		cmd  []string
	}{
		{"genisoimage", []string{"genisoimage", "-quiet", "-R", "-J"}},
		{"xorriso", []string{"xorriso", "-as", "mkisofs", "-quiet", "-R"}},
	}
	for _, tool := range tools {
		t.Run(tool.name, func(t *testing.T) {
			if _, err := exec.LookPath(tool.cmd[0]); err != nil {
				t.Skip(tool.cmd[0] + " not in PATH")
			}
			dir := t.TempDir()
			src := filepath.Join(dir, "src")
			makeTree(t, src, true)
			img := filepath.Join(dir, "fs.iso")
			args := append(append([]string(nil), tool.cmd[1:]...), "-o", img, src)
			if out, err := exec.Command(tool.cmd[0], args...).CombinedOutput(); err != nil {
				t.Fatalf("%s: %v\n%s", tool.name, err, out)
			}
			b, err := os.ReadFile(img)
			if err != nil {
				t.Fatal(err)
			}
			s, n, err := fwtest.Run(t.Context(), New(), b, 64<<20)
			if err != nil {
				t.Fatal(err)
			}
			if n != int64(len(b)) {
				t.Errorf("length %d, want %d", n, len(b))
			}
			compareTree(t, src, s, func(m fs.FileMode, _ bool) fs.FileMode {
				return m & (fs.ModePerm | fs.ModeSetuid | fs.ModeSetgid | fs.ModeSticky)
			})
		})
	}
}

// makeTree builds a source tree under dir and returns it.
func makeTree(t *testing.T, dir string, big bool) {
	t.Helper()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	data := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(rng.IntN(256))
		}
		return b
	}
	must(os.MkdirAll(filepath.Join(dir, "etc/init.d"), 0o755))
	must(os.MkdirAll(filepath.Join(dir, "usr/share/doc/pkg"), 0o755))
	must(os.MkdirAll(filepath.Join(dir, "empty"), 0o700))
	must(os.WriteFile(filepath.Join(dir, "etc/passwd"), []byte("root:x:0:0:root:/root:/bin/sh\n"), 0o644))
	must(os.WriteFile(filepath.Join(dir, "etc/init.d/rcS"), []byte("#!/bin/sh\nmount -a\n"), 0o755))
	must(os.WriteFile(filepath.Join(dir, "usr/share/doc/pkg/random.bin"), data(70000), 0o640))
	must(os.WriteFile(filepath.Join(dir, "empty.txt"), nil, 0o600))
	for i := 0; i < 40; i++ {
		must(os.WriteFile(filepath.Join(dir, "usr", fmt.Sprintf("file%02d.dat", i)), data(rng.IntN(5000)), 0o644))
	}
	if big {
		must(os.WriteFile(filepath.Join(dir, "usr/big.bin"), data(600000), 0o644))
	}
	must(os.Symlink("../etc/passwd", filepath.Join(dir, "usr/passwd.link")))
	must(os.Symlink("/"+strings.Repeat("long/", 20)+"target", filepath.Join(dir, "usr/long.link")))
}

// compareTree checks that every object under dir was extracted with the
// same type, permission bits, content and link target. perm maps the
// source mode to what the format can record. skip names extra
// top-level entries the format adds.
func compareTree(t *testing.T, dir string, s *fwtest.MemSink, perm func(fs.FileMode, bool) fs.FileMode, skip ...string) {
	t.Helper()
	for _, f := range s.Failed {
		t.Errorf("failed %q: %v", f.Path, f.Err)
	}
	want := map[string]bool{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == dir {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		rel = filepath.ToSlash(rel)
		want[rel] = true
		it, ok := s.Get(rel)
		if !ok {
			t.Errorf("%s: not extracted", rel)
			return nil
		}
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		switch {
		case fi.Mode()&fs.ModeSymlink != 0:
			target, _ := os.Readlink(p)
			if it.Type != firmware.TypeSymlink || it.LinkTarget != target {
				t.Errorf("%s: %v -> %q, want symlink -> %q", rel, it.Type, it.LinkTarget, target)
			}
			return nil
		case fi.IsDir():
			if it.Type != firmware.TypeDir {
				t.Errorf("%s: %v, want dir", rel, it.Type)
			}
		default:
			b, _ := os.ReadFile(p)
			if it.Type != firmware.TypeFile || !bytes.Equal(it.Data, b) {
				t.Errorf("%s: %v with %d bytes, want file of %d bytes", rel, it.Type, len(it.Data), len(b))
			}
		}
		if m := perm(fi.Mode(), fi.IsDir()); it.Mode != m {
			t.Errorf("%s: mode %v, want %v", rel, it.Mode, m)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range s.Items {
		if want[it.Path] {
			continue
		}
		extra := true
		for _, k := range skip {
			if it.Path == k || strings.HasPrefix(it.Path, k+"/") {
				extra = false
			}
		}
		if extra {
			t.Errorf("%s: extracted but not in the source", it.Path)
		}
	}
}
