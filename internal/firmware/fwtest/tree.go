package fwtest

import (
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/netvet/netvet/internal/firmware"
)

// TreeImage is the image name of trees built by FS and FSFromDir; the
// one filesystem in them is at TreeImage + "/rootfs".
const TreeImage = "test.bin"

// FSEntry describes one object of a test tree.
type FSEntry struct {
	Path string // absolute path inside the filesystem, e.g. "/etc/passwd"
	Data string // content of a regular file
	// Mode holds permission bits plus fs.ModeSetuid/Setgid/Sticky; 0 means
	// 0644 for files, 0755 for dirs and 0777 for symlinks.
	Mode fs.FileMode
	UID  int64
	GID  int64
	Type firmware.EntryType // TypeFile unless set
	Link string             // symlink or hard link target
}

// FileEntry is a shorthand for a regular file entry.
func FileEntry(p, data string, mode fs.FileMode) FSEntry {
	return FSEntry{Path: p, Data: data, Mode: mode}
}

// SymlinkEntry is a shorthand for a symlink entry.
func SymlinkEntry(p, target string) FSEntry {
	return FSEntry{Path: p, Type: firmware.TypeSymlink, Link: target}
}

// FS builds an analysable tree holding one filesystem with the given
// entries. Regular files are written under a temporary folder; modes,
// owners and links are recorded as given (nothing needs root).
// Parent directories are added as needed.
func FS(t testing.TB, entries ...FSEntry) *firmware.Tree {
	t.Helper()
	dir := t.TempDir()
	root := &firmware.Root{Path: TreeImage + "/rootfs", Format: "squashfs"}
	var files []*firmware.File
	seen := map[string]bool{}
	addDir := func(p string) {}
	addDir = func(p string) {
		if p == "/" || p == "." || seen[p] {
			return
		}
		addDir(path.Dir(p))
		seen[p] = true
		files = append(files, &firmware.File{
			Path: root.Path + p, FSPath: p, Root: root, Type: firmware.TypeDir,
			Mode: 0o755, Disk: "rootfs" + p,
		})
		if err := os.MkdirAll(filepath.Join(dir, "rootfs", filepath.FromSlash(p)), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, e := range entries {
		p := path.Clean("/" + e.Path)
		addDir(path.Dir(p))
		f := &firmware.File{
			Path: root.Path + p, FSPath: p, Root: root, Type: e.Type, Mode: e.Mode,
			UID: e.UID, GID: e.GID, LinkTarget: e.Link,
		}
		switch e.Type {
		case firmware.TypeFile:
			if f.Mode == 0 {
				f.Mode = 0o644
			}
			disk := filepath.Join(dir, "rootfs", filepath.FromSlash(p))
			if err := os.MkdirAll(filepath.Dir(disk), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(disk, []byte(e.Data), 0o644); err != nil {
				t.Fatal(err)
			}
			f.Disk = "rootfs" + p
			f.Size = int64(len(e.Data))
			sum := sha256.Sum256([]byte(e.Data))
			f.SHA256 = hex.EncodeToString(sum[:])
		case firmware.TypeDir:
			if f.Mode == 0 {
				f.Mode = 0o755
			}
			f.Disk = "rootfs" + p
			seen[p] = true
			if err := os.MkdirAll(filepath.Join(dir, "rootfs", filepath.FromSlash(p)), 0o755); err != nil {
				t.Fatal(err)
			}
		case firmware.TypeSymlink:
			if f.Mode == 0 {
				f.Mode = 0o777
			}
		}
		files = append(files, f)
	}
	tr, err := firmware.NewTree(dir, "", files)
	if err != nil {
		t.Fatal(err)
	}
	tr.ImageName = TreeImage
	t.Cleanup(func() { tr.Close() })
	return tr
}

// FSFromDir builds an analysable tree from a real folder, taken as one
// filesystem. Modes and owners come from the folder (Lstat).
func FSFromDir(t testing.TB, src string) *firmware.Tree {
	t.Helper()
	var entries []FSEntry
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if rel == "." {
			return nil
		}
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		e := FSEntry{Path: "/" + filepath.ToSlash(rel), Mode: fi.Mode() & (fs.ModePerm | fs.ModeSetuid | fs.ModeSetgid | fs.ModeSticky)}
		if st, ok := fi.Sys().(*syscall.Stat_t); ok {
			e.UID, e.GID = int64(st.Uid), int64(st.Gid)
		}
		switch {
		case fi.IsDir():
			e.Type = firmware.TypeDir
		case fi.Mode()&fs.ModeSymlink != 0:
			e.Type = firmware.TypeSymlink
			e.Link, _ = os.Readlink(p)
		case fi.Mode().IsRegular():
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			e.Data = string(b)
		default:
			return nil
		}
		entries = append(entries, e)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return FS(t, entries...)
}
