//go:build integration

package jffs2

import (
	"path/filepath"
	"testing"

	"github.com/netvet/netvet/internal/firmware/fwtest"
)

func TestMkfsJFFS2(t *testing.T) {
	fwtest.RequireTools(t, "mkfs.jffs2")
	root := filepath.Join(t.TempDir(), "root")
	fwtest.StandardTree(t, root)
	opts := fwtest.CompareOptions{ModTime: true, Owners: true}
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
			fwtest.RunTool(t, "mkfs.jffs2", append(append([]string{}, tc.args...), "-r", root, "-o", img)...)
			b := fwtest.ReadFile(t, img)
			s := fwtest.ExtractWhole(t, New(), b, 1<<28)
			fwtest.CompareTree(t, s, root, opts)
		})
	}
	t.Run("sumtool", func(t *testing.T) {
		fwtest.RequireTools(t, "sumtool")
		dir := t.TempDir()
		img, sum := filepath.Join(dir, "img"), filepath.Join(dir, "sum")
		fwtest.RunTool(t, "mkfs.jffs2", "-b", "-e", "0x10000", "-r", root, "-o", img)
		fwtest.RunTool(t, "sumtool", "-b", "-e", "0x10000", "-i", img, "-o", sum)
		b := fwtest.ReadFile(t, sum)
		s := fwtest.ExtractWhole(t, New(), b, 1<<28)
		fwtest.CompareTree(t, s, root, opts)
	})
}
