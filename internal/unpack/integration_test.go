//go:build integration

package unpack_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/netvet/netvet/internal/firmware/format/all"
	"github.com/netvet/netvet/internal/unpack"
)

// srcTree builds a small rootfs with the features backdoor analysis needs:
// setuid and setgid files, other owners, symlinks (relative, absolute,
// dangling), a hard link, nested folders and a larger binary-ish file.
func srcTree(t *testing.T) string {
	t.Helper()
	d := filepath.Join(t.TempDir(), "rootfs")
	files := map[string]string{
		"etc/passwd":          "root:x:0:0:root:/root:/bin/sh\n",
		"etc/init.d/rcS":      "#!/bin/sh\n/usr/sbin/telnetd -l /bin/sh\n",
		"bin/busybox":         strings.Repeat("\x7fELF busybox body ", 5000),
		"usr/lib/libfoo.so.1": strings.Repeat("library bytes 0123456789", 3000),
		"www/index.html":      "<html></html>\n",
		"empty":               "",
	}
	for p, c := range files {
		full := filepath.Join(d, p)
		os.MkdirAll(filepath.Dir(full), 0o755)
		if err := os.WriteFile(full, []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	os.Chmod(filepath.Join(d, "bin/busybox"), 0o4755)
	os.Chmod(filepath.Join(d, "etc/init.d/rcS"), 0o755)
	os.Chmod(filepath.Join(d, "www/index.html"), 0o2640)
	os.Symlink("busybox", filepath.Join(d, "bin/sh"))
	os.Symlink("/bin/busybox", filepath.Join(d, "bin/telnetd"))
	os.Symlink("../nowhere", filepath.Join(d, "dangling"))
	os.Link(filepath.Join(d, "usr/lib/libfoo.so.1"), filepath.Join(d, "usr/lib/libfoo-hard.so"))
	if os.Geteuid() == 0 {
		os.Chown(filepath.Join(d, "www/index.html"), 33, 33)
	}
	return d
}

type srcEntry struct {
	mode   fs.FileMode
	sha    string
	target string
	uid    int
	gid    int
}

func walkSrc(t *testing.T, root string) map[string]srcEntry {
	out := map[string]srcEntry{}
	filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == root {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		fi, _ := os.Lstat(p)
		st := fi.Sys().(*syscall.Stat_t)
		e := srcEntry{mode: fi.Mode(), uid: int(st.Uid), gid: int(st.Gid)}
		switch {
		case fi.Mode()&fs.ModeSymlink != 0:
			e.target, _ = os.Readlink(p)
		case fi.Mode().IsRegular():
			b, _ := os.ReadFile(p)
			s := sha256.Sum256(b)
			e.sha = hex.EncodeToString(s[:])
		}
		out[filepath.ToSlash(rel)] = e
		return nil
	})
	return out
}

func modeString(m fs.FileMode) string {
	v := uint32(m.Perm())
	if m&fs.ModeSetuid != 0 {
		v |= 0o4000
	}
	if m&fs.ModeSetgid != 0 {
		v |= 0o2000
	}
	if m&fs.ModeSticky != 0 {
		v |= 0o1000
	}
	return fmt.Sprintf("%04o", v)
}

func need(t *testing.T, tools ...string) {
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not installed", tool)
		}
	}
}

func sh(t *testing.T, dir string, cmd string) {
	t.Helper()
	c := exec.Command("sh", "-c", cmd)
	c.Dir = dir
	c.Env = append(os.Environ(), "SOURCE_DATE_EPOCH=1700000000", "PATH="+os.Getenv("PATH")+":/usr/sbin:/sbin")
	if out, err := c.CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", cmd, err, out)
	}
}

// TestIntegrationFilesystems builds each filesystem from one source tree
// with the Debian tool, unpacks it with netvet, and compares the tree on
// disk and the manifest with the source bit for bit.
func TestIntegrationFilesystems(t *testing.T) {
	cases := []struct {
		name, file string
		tools      []string
		build      string
		owners     bool // the format keeps uid/gid
		hardlinks  bool // the format keeps hard links as such
		modes      bool // the format keeps full permission bits
	}{
		{"squashfs-xz", "fs.sqfs", []string{"mksquashfs"}, "mksquashfs rootfs fs.sqfs -comp xz -noappend -quiet -no-progress", true, true, true},
		{"squashfs-gzip", "fs.sqfs", []string{"mksquashfs"}, "mksquashfs rootfs fs.sqfs -comp gzip -noappend -quiet -no-progress", true, true, true},
		{"squashfs-zstd", "fs.sqfs", []string{"mksquashfs"}, "mksquashfs rootfs fs.sqfs -comp zstd -noappend -quiet -no-progress", true, true, true},
		{"ext4", "fs.ext4", []string{"mke2fs"}, "mke2fs -q -t ext4 -d rootfs fs.ext4 8M", true, true, true},
		{"ext2", "fs.ext2", []string{"mke2fs"}, "mke2fs -q -t ext2 -b 1024 -d rootfs fs.ext2 8M", true, true, true},
		{"jffs2-le", "fs.jffs2", []string{"mkfs.jffs2"}, "mkfs.jffs2 -l -e 65536 -r rootfs -o fs.jffs2", true, true, true},
		{"jffs2-be", "fs.jffs2", []string{"mkfs.jffs2"}, "mkfs.jffs2 -b -e 65536 -r rootfs -o fs.jffs2", true, true, true},
		{"ubi", "fs.ubi", []string{"mkfs.ubifs", "ubinize"},
			"mkfs.ubifs -m 2048 -e 126976 -c 64 -r rootfs -o fs.ubifs && printf '[rootfs]\\nmode=ubi\\nimage=fs.ubifs\\nvol_id=0\\nvol_type=dynamic\\nvol_name=rootfs\\nvol_flags=autoresize\\n' > ubi.ini && ubinize -o fs.ubi -m 2048 -p 128KiB ubi.ini", true, true, true},
		{"cramfs", "fs.cramfs", []string{"mkfs.cramfs"}, "mkfs.cramfs rootfs fs.cramfs", false, false, true},
		{"cpio-newc", "fs.cpio", []string{"cpio"}, "cd rootfs && find . | sort | cpio -o -H newc --quiet > ../fs.cpio", true, true, true},
		{"tar-gz", "fs.tar.gz", []string{"tar"}, "tar -C rootfs -czf fs.tar.gz .", true, true, true},
		{"iso9660-rr", "fs.iso", []string{"genisoimage"}, "genisoimage -quiet -R -o fs.iso rootfs", true, false, true},
		{"romfs", "fs.romfs", []string{"genromfs"}, "genromfs -f fs.romfs -d rootfs", false, false, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			need(t, tc.tools...)
			src := srcTree(t)
			work := filepath.Dir(src)
			sh(t, work, tc.build)
			want := walkSrc(t, src)
			out := filepath.Join(work, "out")
			m, err := unpack.Unpack(context.Background(), filepath.Join(work, tc.file), out,
				unpack.Options{Registry: all.Registry(), Limits: unpack.DefaultLimits()})
			if err != nil {
				t.Fatalf("unpack: %v", err)
			}
			// Find the filesystem's root: the node whose children include etc/passwd.
			prefix := ""
			for _, n := range m.Nodes {
				if strings.HasSuffix(n.Path, "/etc/passwd") && n.Type == "file" {
					prefix = strings.TrimSuffix(n.Path, "etc/passwd")
					break
				}
			}
			if prefix == "" {
				t.Fatalf("etc/passwd not found in manifest")
			}
			seen := map[string]bool{}
			for _, n := range m.Nodes {
				if !strings.HasPrefix(n.Path, prefix) {
					continue
				}
				rel := strings.TrimPrefix(n.Path, prefix)
				if rel == "" || strings.HasPrefix(rel, "0x") || rel == "lost+found" || strings.HasPrefix(rel, "rr_moved") {
					continue
				}
				w, ok := want[rel]
				if !ok {
					t.Errorf("%s: not in the source", rel)
					continue
				}
				seen[rel] = true
				if n.Error != "" {
					t.Errorf("%s: error %s", rel, n.Error)
				}
				switch {
				case w.mode&fs.ModeSymlink != 0:
					if n.Type != "symlink" || n.LinkTarget != w.target {
						t.Errorf("%s: symlink %s -> %q, want -> %q", rel, n.Type, n.LinkTarget, w.target)
					}
				case w.mode.IsRegular():
					if n.Type != "file" && n.Type != "hardlink" {
						t.Errorf("%s: type %s, want file", rel, n.Type)
					}
					if n.SHA256 != w.sha {
						t.Errorf("%s: sha256 differs", rel)
					}
					if n.DiskPath != "" {
						b, err := os.ReadFile(filepath.Join(out, n.DiskPath))
						s := sha256.Sum256(b)
						if err != nil || hex.EncodeToString(s[:]) != w.sha {
							t.Errorf("%s: content on disk differs (%v)", rel, err)
						}
					}
				case w.mode.IsDir():
					if n.Type != "dir" {
						t.Errorf("%s: type %s, want dir", rel, n.Type)
					}
				}
				if tc.modes && w.mode&fs.ModeSymlink == 0 && n.Mode != "" && n.Mode != modeString(w.mode) {
					t.Errorf("%s: mode %s, want %s", rel, n.Mode, modeString(w.mode))
				}
				if tc.owners && w.mode&fs.ModeSymlink == 0 && n.UID != nil && (*n.UID != int64(w.uid) || *n.GID != int64(w.gid)) {
					t.Errorf("%s: owner %d:%d, want %d:%d", rel, *n.UID, *n.GID, w.uid, w.gid)
				}
			}
			for rel := range want {
				if !seen[rel] {
					t.Errorf("%s: in the source, not extracted", rel)
				}
			}
		})
	}
}
