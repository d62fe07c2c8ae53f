//go:build integration

package ubifs

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/netvet/netvet/internal/firmware"
	"github.com/netvet/netvet/internal/firmware/format/ubi"
	"github.com/netvet/netvet/internal/firmware/fwtest"
)

// makeTree writes a source tree exercising the file kinds mkfs.ubifs
// copies without privileges.
func makeTree(t *testing.T, root string) {
	t.Helper()
	rng := rand.New(rand.NewSource(1))
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	write := func(p string, b []byte, mode fs.FileMode) {
		must(os.MkdirAll(filepath.Dir(filepath.Join(root, p)), 0o755))
		must(os.WriteFile(filepath.Join(root, p), b, 0o600))
		must(os.Chmod(filepath.Join(root, p), mode))
	}
	random := make([]byte, 70000)
	rng.Read(random)
	text := bytes.Repeat([]byte("the quick brown fox jumps over the lazy dog\n"), 3000)
	write("etc/motd", []byte("welcome\n"), 0o644)
	write("etc/big.txt", text, 0o644)
	write("bin/random", random, 0o755)
	write("bin/suid", []byte("s"), 0o4755|fs.ModeSetuid)
	write("bin/sgid", []byte("g"), 0o2755|fs.ModeSetgid)
	write("empty-file", nil, 0o600)
	write("exact-block", bytes.Repeat([]byte{7}, 4096), 0o640)
	for i := 0; i < 40; i++ {
		write(fmt.Sprintf("many/f%03d", i), []byte(fmt.Sprint(i)), 0o644)
	}
	write("a/b/c/d/e/deep", []byte("deep"), 0o644)
	must(os.MkdirAll(filepath.Join(root, "emptydir"), 0o755))
	must(os.Chmod(filepath.Join(root, "many"), 0o1777|fs.ModeSticky))
	must(os.Symlink("../etc/motd", filepath.Join(root, "bin/motd")))
	must(os.Symlink("/does/not/exist", filepath.Join(root, "dangling")))
	must(os.Link(filepath.Join(root, "etc/big.txt"), filepath.Join(root, "etc/big.hard")))
	// Hole in the middle of a file.
	f, err := os.Create(filepath.Join(root, "sparse"))
	must(err)
	_, err = f.WriteAt([]byte("tail"), 50000)
	must(err)
	must(f.Close())
}

// compareTree checks that every object of the source tree was extracted
// with the same type, permission bits, content and link target.
func compareTree(t *testing.T, root string, s *fwtest.MemSink) {
	t.Helper()
	seen := map[string]bool{}
	inodes := map[uint64]string{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == root {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		rel = filepath.ToSlash(rel)
		seen[rel] = true
		it, ok := s.Get(rel)
		if !ok {
			t.Errorf("%s: not extracted", rel)
			return nil
		}
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		wantMode := fi.Mode() & (fs.ModePerm | fs.ModeSetuid | fs.ModeSetgid | fs.ModeSticky)
		switch {
		case fi.Mode().IsDir():
			if it.Type != firmware.TypeDir {
				t.Errorf("%s: type %v, want dir", rel, it.Type)
			}
		case fi.Mode()&fs.ModeSymlink != 0:
			target, _ := os.Readlink(p)
			if it.Type != firmware.TypeSymlink || it.LinkTarget != target {
				t.Errorf("%s: %v -> %q, want symlink -> %q", rel, it.Type, it.LinkTarget, target)
			}
			return nil
		default:
			want, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			ino := inodeOf(fi)
			if first, ok := inodes[ino]; ok {
				if it.Type != firmware.TypeHardlink || it.LinkTarget != first {
					t.Errorf("%s: %v -> %q, want hard link to %q", rel, it.Type, it.LinkTarget, first)
				}
				return nil
			}
			inodes[ino] = rel
			if it.Type == firmware.TypeHardlink {
				// The walk order may differ from the reader's: follow it.
				tgt, _ := s.Get(it.LinkTarget)
				it = tgt
				inodes[ino] = it.Path
			}
			if it.Type != firmware.TypeFile || !bytes.Equal(it.Data, want) {
				t.Errorf("%s: %v with %d bytes, want file with %d bytes", rel, it.Type, len(it.Data), len(want))
			}
		}
		if it.Mode != wantMode {
			t.Errorf("%s: mode %v, want %v", rel, it.Mode, wantMode)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range s.Items {
		if !seen[it.Path] {
			t.Errorf("%s: extracted but not in the source", it.Path)
		}
	}
	if len(s.Failed) > 0 {
		t.Errorf("failures: %+v", s.Failed)
	}
}

func TestIntegrationMkfsUbifs(t *testing.T) {
	if _, err := exec.LookPath("mkfs.ubifs"); err != nil {
		t.Skip("mkfs.ubifs not in PATH")
	}
	root := filepath.Join(t.TempDir(), "root")
	makeTree(t, root)
	for _, comp := range []string{"lzo", "zlib", "zstd", "none", "favor_lzo"} {
		for _, geo := range [][]string{{"-m", "1", "-e", "16256"}, {"-m", "2048", "-e", "126976"}} {
			t.Run(comp+"-m"+geo[1], func(t *testing.T) {
				img := filepath.Join(t.TempDir(), "fs.img")
				args := append(append([]string{}, geo...), "-c", "200", "-x", comp, "-r", root, img)
				if out, err := exec.Command("mkfs.ubifs", args...).CombinedOutput(); err != nil {
					t.Fatalf("mkfs.ubifs: %v\n%s", err, out)
				}
				b, err := os.ReadFile(img)
				if err != nil {
					t.Fatal(err)
				}
				s, n, err := fwtest.Run(context.Background(), New(), b, 1<<28)
				if err != nil {
					t.Fatal(err)
				}
				if n != int64(len(b)) {
					t.Errorf("length %d, want %d", n, len(b))
				}
				compareTree(t, root, s)
			})
		}
	}
}

// TestIntegrationUBI builds a UBIFS image, wraps it in a UBI image with
// ubinize, reads the volume back with the UBI reader and the tree with
// this reader.
func TestIntegrationUBI(t *testing.T) {
	for _, tool := range []string{"mkfs.ubifs", "ubinize"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skip(tool + " not in PATH")
		}
	}
	root := filepath.Join(t.TempDir(), "root")
	makeTree(t, root)
	for _, g := range []struct {
		name                 string
		minIO, leb, peb, sub string
	}{
		{"nor-64k", "1", "65408", "64KiB", "1"},
		{"nand-128k", "2048", "126976", "128KiB", "2048"},
		{"nand-128k-subpage", "2048", "129024", "128KiB", "512"},
	} {
		t.Run(g.name, func(t *testing.T) {
			dir := t.TempDir()
			fsImg := filepath.Join(dir, "fs.img")
			if out, err := exec.Command("mkfs.ubifs", "-m", g.minIO, "-e", g.leb, "-c", "100", "-x", "zstd", "-r", root, fsImg).CombinedOutput(); err != nil {
				t.Fatalf("mkfs.ubifs: %v\n%s", err, out)
			}
			ini := filepath.Join(dir, "ubi.ini")
			cfg := fmt.Sprintf("[data]\nmode=ubi\nimage=%s\nvol_id=0\nvol_type=dynamic\nvol_name=data\nvol_flags=autoresize\n", fsImg)
			if err := os.WriteFile(ini, []byte(cfg), 0o644); err != nil {
				t.Fatal(err)
			}
			ubiImg := filepath.Join(dir, "ubi.img")
			if out, err := exec.Command("ubinize", "-o", ubiImg, "-p", g.peb, "-m", g.minIO, "-s", g.sub, ini).CombinedOutput(); err != nil {
				t.Fatalf("ubinize: %v\n%s", err, out)
			}
			b, err := os.ReadFile(ubiImg)
			if err != nil {
				t.Fatal(err)
			}
			vs, n, err := fwtest.Run(context.Background(), ubi.New(), b, 1<<28)
			if err != nil {
				t.Fatal(err)
			}
			if n != int64(len(b)) {
				t.Errorf("UBI length %d, want %d", n, len(b))
			}
			vol, ok := vs.Get("data")
			if !ok {
				t.Fatalf("volume missing: %v", vs.Paths())
			}
			s, _, err := fwtest.Run(context.Background(), New(), vol.Data, 1<<28)
			if err != nil {
				t.Fatal(err)
			}
			compareTree(t, root, s)
		})
	}
}

// BenchmarkIntegrationLarge extracts a 64 MiB tree (2048 files of 32 KiB,
// half random, half text) built with mkfs.ubifs -x lzo.
func BenchmarkIntegrationLarge(b *testing.B) {
	if _, err := exec.LookPath("mkfs.ubifs"); err != nil {
		b.Skip("mkfs.ubifs not in PATH")
	}
	dir := b.TempDir()
	root := filepath.Join(dir, "root")
	rng := rand.New(rand.NewSource(4))
	text := bytes.Repeat([]byte("lorem ipsum dolor sit amet "), 1300)[:32768]
	for i := 0; i < 2048; i++ {
		p := filepath.Join(root, fmt.Sprintf("d%02d", i%32), fmt.Sprintf("f%04d", i))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			b.Fatal(err)
		}
		data := text
		if i%2 == 0 {
			data = make([]byte, 32768)
			rng.Read(data)
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			b.Fatal(err)
		}
	}
	img := filepath.Join(dir, "fs.img")
	if out, err := exec.Command("mkfs.ubifs", "-m", "2048", "-e", "126976", "-c", "1000", "-x", "lzo", "-r", root, img).CombinedOutput(); err != nil {
		b.Fatalf("mkfs.ubifs: %v\n%s", err, out)
	}
	data, err := os.ReadFile(img)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(64 << 20)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		s := fwtest.NewMemSink(1 << 30)
		if _, err := New().Extract(context.Background(), bytes.NewReader(data), int64(len(data)), s); err != nil {
			b.Fatal(err)
		}
		if len(s.Items) != 2048+32 {
			b.Fatalf("%d items", len(s.Items))
		}
	}
}

// TestIntegrationAuthenticated reads a signed image with hashed index
// branches (the hashes and signature are not checked).
func TestIntegrationAuthenticated(t *testing.T) {
	for _, tool := range []string{"mkfs.ubifs", "openssl"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skip(tool + " not in PATH")
		}
	}
	dir := t.TempDir()
	root := filepath.Join(dir, "root")
	makeTree(t, root)
	key, cert := filepath.Join(dir, "key.pem"), filepath.Join(dir, "cert.pem")
	if out, err := exec.Command("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
		"-keyout", key, "-out", cert, "-days", "1", "-subj", "/CN=netvet-test").CombinedOutput(); err != nil {
		t.Skipf("openssl: %v\n%s", err, out)
	}
	img := filepath.Join(dir, "fs.img")
	if out, err := exec.Command("mkfs.ubifs", "-m", "1", "-e", "16256", "-c", "200", "-x", "lzo",
		"--hash-algo=sha256", "--auth-key="+key, "--auth-cert="+cert, "-r", root, img).CombinedOutput(); err != nil {
		t.Fatalf("mkfs.ubifs: %v\n%s", err, out)
	}
	b, err := os.ReadFile(img)
	if err != nil {
		t.Fatal(err)
	}
	s, _, err := fwtest.Run(context.Background(), New(), b, 1<<28)
	if err != nil {
		t.Fatal(err)
	}
	compareTree(t, root, s)
}
