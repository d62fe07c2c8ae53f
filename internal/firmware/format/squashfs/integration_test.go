//go:build integration

package squashfs

import (
	"bytes"
	"context"
	"io/fs"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/netvet/netvet/internal/firmware"
	"github.com/netvet/netvet/internal/firmware/fwtest"
)

// TestMksquashfsRoundTrip builds images from a source tree with every
// compressor and compares the extracted tree with the source bit for bit.
func TestMksquashfsRoundTrip(t *testing.T) {
	mk, err := exec.LookPath("mksquashfs")
	if err != nil {
		t.Skip("mksquashfs not in PATH")
	}
	src := filepath.Join(t.TempDir(), "src")
	r := rand.New(rand.NewSource(7))
	files := map[string][]byte{
		"a.txt":                 []byte("alpha\n"),
		"dir/b.bin":             randBytes(r, 300000), // many blocks, incompressible
		"dir/zeros":             make([]byte, 200000), // sparse blocks
		"dir/sub/c":             bytes.Repeat([]byte("compressible "), 20000),
		"dir/sub/deeper/empty":  {},
		"exact-block":           randBytes(r, 131072),
		"name with spaces.conf": []byte("x=1\n"),
	}
	modes := map[string]fs.FileMode{"a.txt": 0o600, "dir/b.bin": 0o755, "exact-block": 0o444}
	for name, data := range files {
		p := filepath.Join(src, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		m := fs.FileMode(0o644)
		if v, ok := modes[name]; ok {
			m = v
		}
		if err := os.WriteFile(p, data, m); err != nil {
			t.Fatal(err)
		}
		os.Chmod(p, m)
	}
	for i := 0; i < 300; i++ { // a directory big enough for several headers
		p := filepath.Join(src, "many", "f"+string(rune('a'+i%26))+string(rune('a'+i/26)))
		os.MkdirAll(filepath.Dir(p), 0o755)
		os.WriteFile(p, []byte(p), 0o644)
	}
	// Duplicate files: mksquashfs stores their blocks and fragment tails
	// once, so the reader meets the same blocks again and again.
	dup := randBytes(r, 3*131072+777)
	small := bytes.Repeat([]byte("dup tail "), 50)
	for i := 0; i < 6; i++ {
		p := filepath.Join(src, "dups", "copy"+string(rune('0'+i)))
		os.MkdirAll(filepath.Dir(p), 0o755)
		os.WriteFile(p, dup, 0o644)
		os.WriteFile(p+".small", small, 0o644)
	}
	os.Symlink("dir/sub/c", filepath.Join(src, "link"))
	os.Symlink("/absolute/target", filepath.Join(src, "dir", "abs"))
	os.Link(filepath.Join(src, "a.txt"), filepath.Join(src, "dir", "hard"))

	for _, comp := range []string{"gzip", "xz", "lzma", "lzo", "lz4", "zstd",
		"xz -Xbcj x86", "gzip -b 1048576 -always-use-fragments", "zstd -b 4096"} {
		t.Run(comp, func(t *testing.T) {
			img := filepath.Join(t.TempDir(), "img.sqfs")
			args := append([]string{src, img, "-comp"}, strings.Fields(comp)...)
			args = append(args, "-noappend", "-quiet", "-no-progress")
			out, err := exec.Command(mk, args...).CombinedOutput()
			if err != nil {
				t.Fatalf("mksquashfs: %v\n%s", err, out)
			}
			b, err := os.ReadFile(img)
			if err != nil {
				t.Fatal(err)
			}
			s, _, err := fwtest.Run(context.Background(), New(), b, 1<<30)
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range s.Failed {
				t.Errorf("failed %s: %v", f.Path, f.Err)
			}
			compareTree(t, src, s)
		})
	}
}

func randBytes(r *rand.Rand, n int) []byte {
	b := make([]byte, n)
	r.Read(b)
	return b
}

func compareTree(t *testing.T, src string, s *fwtest.MemSink) {
	t.Helper()
	seen := map[string]bool{}
	firstOf := map[uint64]string{}
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == src {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		rel = filepath.ToSlash(rel)
		seen[rel] = true
		it, ok := s.Get(rel)
		if !ok {
			t.Errorf("%s: missing", rel)
			return nil
		}
		fi, _ := os.Lstat(p)
		if it.Mode.Perm() != fi.Mode().Perm() {
			t.Errorf("%s: mode %v, want %v", rel, it.Mode.Perm(), fi.Mode().Perm())
		}
		switch {
		case fi.Mode()&fs.ModeSymlink != 0:
			want, _ := os.Readlink(p)
			if it.Type != firmware.TypeSymlink || it.LinkTarget != want {
				t.Errorf("%s: %v -> %q, want symlink -> %q", rel, it.Type, it.LinkTarget, want)
			}
		case fi.IsDir():
			if it.Type != firmware.TypeDir {
				t.Errorf("%s: type %v", rel, it.Type)
			}
		default:
			ino := inodeOf(fi)
			if first, ok := firstOf[ino]; ok {
				if it.Type != firmware.TypeHardlink || it.LinkTarget != first {
					t.Errorf("%s: %v -> %q, want hard link to %q", rel, it.Type, it.LinkTarget, first)
				}
				return nil
			}
			if it.Type == firmware.TypeHardlink {
				// The image may list the other name first.
				firstOf[ino] = it.LinkTarget
				return nil
			}
			firstOf[ino] = rel
			want, _ := os.ReadFile(p)
			if it.Type != firmware.TypeFile || !bytes.Equal(it.Data, want) {
				t.Errorf("%s: content differs (%d bytes, want %d)", rel, len(it.Data), len(want))
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range s.Paths() {
		if !seen[p] {
			t.Errorf("%s: extracted but not in the source", p)
		}
	}
}
