package fwtest

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
)

// RequireTools skips the test unless every named program is in PATH.
func RequireTools(t testing.TB, names ...string) {
	t.Helper()
	for _, n := range names {
		if _, err := exec.LookPath(n); err != nil {
			t.Skip(n + " not in PATH")
		}
	}
}

// RunTool runs a program and fails the test, showing its output, when
// it does not exit 0.
func RunTool(t testing.TB, name string, args ...string) {
	t.Helper()
	if out, err := exec.Command(name, args...).CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", name, err, out)
	}
}

// ReadFile returns the content of the file at p.
func ReadFile(t testing.TB, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Tree writes a source tree under Root for an integration test, failing
// the test on any error. Parent directories are made 0755 as needed;
// modes are set with chmod, so the umask does not change them.
type Tree struct {
	Root string
	t    testing.TB
	rng  *rand.Rand
}

// NewTree returns a Tree rooted at root, which it creates.
func NewTree(t testing.TB, root string) *Tree {
	t.Helper()
	tr := &Tree{Root: root, t: t, rng: rand.New(rand.NewPCG(1, 2))}
	tr.must(os.MkdirAll(root, 0o755))
	return tr
}

func (tr *Tree) must(err error) {
	tr.t.Helper()
	if err != nil {
		tr.t.Fatal(err)
	}
}

func (tr *Tree) path(p string) string {
	tr.t.Helper()
	full := filepath.Join(tr.Root, filepath.FromSlash(p))
	tr.must(os.MkdirAll(filepath.Dir(full), 0o755))
	return full
}

// Random returns n bytes from the tree's seeded generator.
func (tr *Tree) Random(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(tr.rng.Uint32())
	}
	return b
}

// IntN returns a number in [0,n) from the tree's seeded generator.
func (tr *Tree) IntN(n int) int { return tr.rng.IntN(n) }

// Dir makes directory p with mode m.
func (tr *Tree) Dir(p string, m fs.FileMode) {
	tr.t.Helper()
	full := tr.path(p)
	tr.must(os.MkdirAll(full, 0o755))
	tr.must(os.Chmod(full, m))
}

// File writes file p with content b and mode m.
func (tr *Tree) File(p string, b []byte, m fs.FileMode) {
	tr.t.Helper()
	full := tr.path(p)
	tr.must(os.WriteFile(full, b, 0o600))
	tr.must(os.Chmod(full, m))
}

// Sparse writes file p of size bytes, holding data at each offset of
// parts and holes elsewhere.
func (tr *Tree) Sparse(p string, size int64, parts map[int64]string) {
	tr.t.Helper()
	f, err := os.Create(tr.path(p))
	tr.must(err)
	for off, s := range parts {
		_, err := f.WriteAt([]byte(s), off)
		tr.must(err)
	}
	tr.must(f.Truncate(size))
	tr.must(f.Close())
}

// Symlink makes p a symbolic link to target.
func (tr *Tree) Symlink(p, target string) {
	tr.t.Helper()
	tr.must(os.Symlink(target, tr.path(p)))
}

// Hardlink makes p another name of the existing file old.
func (tr *Tree) Hardlink(p, old string) {
	tr.t.Helper()
	tr.must(os.Link(filepath.Join(tr.Root, filepath.FromSlash(old)), tr.path(p)))
}

// StandardTree writes the tree the filesystem integration tests share
// under root: nested and empty directories, setuid, setgid and sticky
// bits, empty, small, page-sized, multi-block, incompressible,
// compressible, duplicate and sparse files, relative, absolute, long and
// dangling symlinks, a hard link, and (when run as root) a file owned
// by 1234:123. Tests add what their format needs
// more of through the returned Tree.
func StandardTree(t testing.TB, root string) *Tree {
	t.Helper()
	tr := NewTree(t, root)
	tr.Dir("etc/init.d", 0o755)
	tr.Dir("usr/share/doc/pkg", 0o755)
	tr.Dir("empty", 0o700)
	tr.Dir("a/b/c", 0o755)
	tr.Dir("sticky", 0o777|fs.ModeSticky)
	tr.Dir("setgid", 0o750|fs.ModeSetgid)
	tr.File("etc/passwd", []byte("root:x:0:0:root:/root:/bin/sh\n"), 0o644)
	tr.File("etc/init.d/rcS", []byte("#!/bin/sh\nmount -a\n"), 0o755)
	tr.File("usr/share/doc/pkg/random.bin", tr.Random(70000), 0o640)
	tr.File("empty.txt", nil, 0o600)
	for i := 0; i < 40; i++ {
		tr.File(fmt.Sprintf("usr/file%02d.dat", i), tr.Random(tr.IntN(5000)), 0o644)
	}
	tr.File("a/0mid", bytes.Repeat([]byte("mid-size file "), 400), 0o644)
	tr.File("a/b/random", tr.Random(70000), 0o755|fs.ModeSetuid)
	tr.File("a/b/c/text", bytes.Repeat([]byte("integration text "), 7000), 0o711|fs.ModeSetgid)
	tr.File("page", bytes.Repeat([]byte{0x5a}, 4096), 0o644)
	tr.File("sticky/note", []byte("n"), 0o644)
	tr.File("dup1", []byte("same content"), 0o644)
	tr.File("dup2", []byte("same content"), 0o644)
	tr.File("a/zeros", append(append([]byte("start"), make([]byte, 20000)...), "end"...), 0o644)
	tr.Sparse("sparse", 50004, map[int64]string{50000: "tail"})
	tr.Symlink("usr/passwd.link", "../etc/passwd")
	tr.Symlink("usr/long.link", "/"+strings.Repeat("long/", 20)+"target")
	tr.Symlink("dangling", "/does/not/exist")
	tr.Hardlink("etc/passwd.bak", "etc/passwd")
	tr.File("etc/owned", []byte("owned\n"), 0o640)
	if os.Geteuid() == 0 {
		// Small IDs, so that formats with 16-bit owners and 8-bit
		// groups keep them.
		tr.must(os.Lchown(filepath.Join(root, "etc/owned"), 1234, 123))
	}
	return tr
}

// CompareOptions say what a format cannot keep of a source tree.
type CompareOptions struct {
	// Mode maps the mode of a source file or directory to the one the
	// format records. nil keeps the permission, setuid, setgid and
	// sticky bits.
	Mode func(m fs.FileMode) fs.FileMode
	// HardLinksAsFiles: every name of a hard-linked file comes out as a
	// file of its own. Otherwise one name is the file and the others
	// are hard links to it.
	HardLinksAsFiles bool
	// Extra names top-level entries the format adds (lost+found); they
	// and everything below them are not compared.
	Extra []string
	// ModTime: the format keeps modification times (to the second).
	ModTime bool
	// Owners: the format keeps the owner and group IDs.
	Owners bool
}

// KeepMode is the default CompareOptions.Mode.
func KeepMode(m fs.FileMode) fs.FileMode {
	return m & (fs.ModePerm | fs.ModeSetuid | fs.ModeSetgid | fs.ModeSticky)
}

// CompareTree checks that s holds what the source tree at dir holds,
// object for object: type, content, link target and mode (as opts.Mode
// maps it), hard links, and no entry that is not in the source or is
// put twice. Nothing may have failed.
func CompareTree(t testing.TB, s *MemSink, dir string, opts CompareOptions) {
	t.Helper()
	NoFailures(t, s)
	mode := opts.Mode
	if mode == nil {
		mode = KeepMode
	}
	seen := map[string]bool{}
	firstName := map[uint64]string{} // hard-linked inode -> path of its file
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == dir {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
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
		if fi.Mode()&fs.ModeSymlink != 0 {
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			if it.Type != firmware.TypeSymlink || it.LinkTarget != target {
				t.Errorf("%s: %v -> %q, want symlink -> %q", rel, it.Type, it.LinkTarget, target)
			}
			return nil
		}
		if m := mode(fi.Mode()); it.Mode != m {
			t.Errorf("%s: mode %v, want %v", rel, it.Mode, m)
		}
		if opts.ModTime && it.ModTime.Unix() != fi.ModTime().Unix() {
			t.Errorf("%s: mtime %v, want %v", rel, it.ModTime, fi.ModTime())
		}
		if opts.Owners {
			if uid, gid, ok := owner(fi); ok && (it.UID != uid || it.GID != gid) {
				t.Errorf("%s: owner %d:%d, want %d:%d", rel, it.UID, it.GID, uid, gid)
			}
		}
		if fi.IsDir() {
			if it.Type != firmware.TypeDir {
				t.Errorf("%s: %v, want dir", rel, it.Type)
			}
			return nil
		}
		want, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if ino, n := inode(fi); n > 1 && !opts.HardLinksAsFiles {
			first, ok := firstName[ino]
			if !ok {
				// The first name the walk meets may come second in the
				// image: then it is a hard link to the file.
				first = rel
				if it.Type == firmware.TypeHardlink {
					first = it.LinkTarget
				}
				firstName[ino] = first
			}
			if rel != first {
				if it.Type != firmware.TypeHardlink || it.LinkTarget != first {
					t.Errorf("%s: %v -> %q, want hard link to %q", rel, it.Type, it.LinkTarget, first)
				}
				it, _ = s.Get(first)
			}
		}
		if it.Type != firmware.TypeFile || !bytes.Equal(it.Data, want) {
			t.Errorf("%s: %v with %d bytes, want file of %d bytes", rel, it.Type, len(it.Data), len(want))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	put := map[string]bool{}
	for _, it := range s.Items {
		if put[it.Path] {
			t.Errorf("%s: put more than once", it.Path)
		}
		put[it.Path] = true
		if !seen[it.Path] && !under(it.Path, opts.Extra) {
			t.Errorf("%s: extracted but not in the source", it.Path)
		}
	}
}

func under(p string, tops []string) bool {
	for _, k := range tops {
		if p == k || strings.HasPrefix(p, k+"/") {
			return true
		}
	}
	return false
}
