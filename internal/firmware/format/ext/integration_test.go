//go:build integration

package ext

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/netvet/netvet/internal/firmware/fwtest"
)

func TestIntegrationMke2fs(t *testing.T) {
	fwtest.RequireTools(t, "mke2fs")
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
			tree := fwtest.StandardTree(t, src)
			tree.File("usr/big.bin", tree.Random(600000), 0o644)
			if c.many {
				// Enough entries for several directory blocks, which
				// e2fsck -D then indexes.
				for i := 0; i < 400; i++ {
					name := fmt.Sprintf("entry-with-a-longish-name-%04d", i)
					tree.File("many/"+name, []byte(name), 0o644)
				}
			}
			img := filepath.Join(dir, "fs.img")
			args := append([]string{"-q", "-F", "-E", "root_owner=0:0", "-d", src}, c.args...)
			fwtest.RunTool(t, "mke2fs", append(args, img, "16M")...)
			if c.index {
				// e2fsck exits 1 when it changed the filesystem.
				out, err := exec.Command("e2fsck", "-fyD", img).CombinedOutput()
				if ee, ok := err.(*exec.ExitError); err != nil && (!ok || ee.ExitCode() > 1) {
					t.Fatalf("e2fsck: %v\n%s", err, out)
				}
			}
			b := fwtest.ReadFile(t, img)
			s := fwtest.ExtractWhole(t, New(), b, 64<<20) // all 16 MiB
			if c.many {
				// The last files must sit in a group past the first
				// metagroup for the meta_bg cases to mean anything.
				it, _ := s.Get("many/entry-with-a-longish-name-0399")
				t.Logf("last inode at byte %d of %d", it.Offset, len(b))
			}
			fwtest.CompareTree(t, s, src, fwtest.CompareOptions{
				Extra:   []string{"lost+found"},
				ModTime: true,
				Owners:  true,
			})
		})
	}
}
