//go:build integration

package ext

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

func TestIntegrationMke2fs(t *testing.T) {
	if _, err := exec.LookPath("mke2fs"); err != nil {
		t.Skip("mke2fs not in PATH")
	}
	cases := []struct {
		name  string
		args  []string
		many  bool // add a directory of 400 files
		index bool // then index directories with e2fsck -D
	}{
		{"ext2-1k", []string{"-t", "ext2", "-b", "1024"}, false, false},
		{"ext3-1k", []string{"-t", "ext3", "-b", "1024"}, false, false},
		{"ext4-4k", []string{"-t", "ext4", "-b", "4096"}, false, false},
		{"ext4-1k-64bit", []string{"-t", "ext4", "-b", "1024", "-O", "64bit"}, false, false},
		{"ext4-inline", []string{"-t", "ext4", "-b", "4096", "-O", "inline_data"}, false, false},
		{"ext4-64k", []string{"-t", "ext4", "-b", "65536"}, false, false},
		// Small groups with few inodes each, so that meta_bg spans several
		// metagroups and inodes live in groups past the first metagroup.
		{"ext4-2k-metabg", []string{"-t", "ext4", "-b", "2048", "-g", "512", "-N", "512", "-O", "meta_bg,^resize_inode"}, true, false},
		{"ext4-1k-metabg-64bit", []string{"-t", "ext4", "-b", "1024", "-g", "256", "-N", "512", "-O", "meta_bg,^resize_inode,64bit"}, true, false},
		{"ext4-metabg-sparse2", []string{"-t", "ext4", "-b", "1024", "-g", "256", "-N", "512", "-O", "meta_bg,^resize_inode,sparse_super2"}, true, false},
		{"ext4-htree", []string{"-t", "ext4", "-b", "1024"}, true, true},
		{"ext2-htree", []string{"-t", "ext2", "-b", "1024", "-O", "dir_index"}, true, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			src := filepath.Join(dir, "src")
			makeTree(t, src, true)
			if c.many {
				// Enough entries for several directory blocks, which
				// e2fsck -D then indexes.
				if err := os.Mkdir(filepath.Join(src, "many"), 0o755); err != nil {
					t.Fatal(err)
				}
				for i := 0; i < 400; i++ {
					name := fmt.Sprintf("entry-with-a-longish-name-%04d", i)
					if err := os.WriteFile(filepath.Join(src, "many", name), []byte(name), 0o644); err != nil {
						t.Fatal(err)
					}
				}
			}
			img := filepath.Join(dir, "fs.img")
			args := append([]string{"-q", "-F", "-E", "root_owner=0:0", "-d", src}, c.args...)
			args = append(args, img, "16M")
			if out, err := exec.Command("mke2fs", args...).CombinedOutput(); err != nil {
				t.Fatalf("mke2fs: %v\n%s", err, out)
			}
			if c.index {
				// e2fsck exits 1 when it changed the filesystem.
				out, err := exec.Command("e2fsck", "-fyD", img).CombinedOutput()
				if ee, ok := err.(*exec.ExitError); err != nil && (!ok || ee.ExitCode() > 1) {
					t.Fatalf("e2fsck: %v\n%s", err, out)
				}
			}
			b, err := os.ReadFile(img)
			if err != nil {
				t.Fatal(err)
			}
			s, n, err := fwtest.Run(t.Context(), New(), b, 64<<20)
			if err != nil {
				t.Fatal(err)
			}
			if n != 16<<20 {
				t.Errorf("length %d", n)
			}
			if c.many {
				// The last files must sit in a group past the first
				// metagroup for the meta_bg cases to mean anything.
				it, _ := s.Get("many/entry-with-a-longish-name-0399")
				t.Logf("last inode at byte %d of %d", it.Offset, len(b))
			}
			compareTree(t, src, s, func(m fs.FileMode, _ bool) fs.FileMode {
				return m & (fs.ModePerm | fs.ModeSetuid | fs.ModeSetgid | fs.ModeSticky)
			}, "lost+found")
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

func inodeFlagsAt(t *testing.T, img []byte, off int64) uint32 {
	t.Helper()
	if off < 0 || off+36 > int64(len(img)) {
		t.Fatalf("inode offset %d", off)
	}
	return uint32(img[off+32]) | uint32(img[off+33])<<8 | uint32(img[off+34])<<16 | uint32(img[off+35])<<24
}
