//go:build integration

package romfs

import (
	"io/fs"
	"path/filepath"
	"testing"

	"github.com/netvet/netvet/internal/firmware/fwtest"
)

func TestIntegrationGenromfs(t *testing.T) {
	fwtest.RequireTools(t, "genromfs")
	dir := t.TempDir()
	src := filepath.Join(dir, "src")
	tree := fwtest.StandardTree(t, src)
	tree.File("usr/big.bin", tree.Random(600000), 0o644)
	img := filepath.Join(dir, "fs.img")
	fwtest.RunTool(t, "genromfs", "-f", img, "-d", src, "-V", "integration")
	b := fwtest.ReadFile(t, img)
	s, _, err := fwtest.Run(t.Context(), New(), b, 64<<20)
	if err != nil {
		t.Fatal(err)
	}
	// romfs keeps only the owner-executable bit.
	fwtest.CompareTree(t, s, src, fwtest.CompareOptions{Mode: func(m fs.FileMode) fs.FileMode {
		if m.IsDir() || m&0o100 != 0 {
			return 0o755
		}
		return 0o644
	}})
}
