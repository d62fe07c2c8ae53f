//go:build integration

package iso9660

import (
	"path/filepath"
	"testing"

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
			fwtest.RequireTools(t, tool.cmd[0])
			dir := t.TempDir()
			src := filepath.Join(dir, "src")
			tree := fwtest.StandardTree(t, src)
			tree.File("usr/big.bin", tree.Random(600000), 0o644)
			img := filepath.Join(dir, "fs.iso")
			fwtest.RunTool(t, tool.cmd[0], append(append([]string(nil), tool.cmd[1:]...), "-o", img, src)...)
			b := fwtest.ReadFile(t, img)
			s := fwtest.ExtractWhole(t, New(), b, 64<<20)
			fwtest.CompareTree(t, s, src, fwtest.CompareOptions{ModTime: true, Owners: true})
		})
	}
}
