//go:build integration

package cramfs

import (
	"path/filepath"
	"testing"

	"github.com/netvet/netvet/internal/firmware/fwtest"
)

func TestMkfsCramfs(t *testing.T) {
	fwtest.RequireTools(t, "mkfs.cramfs")
	root := filepath.Join(t.TempDir(), "root")
	fwtest.StandardTree(t, root)
	// cramfs keeps no timestamps, and each name of a hard-linked file
	// is a file of its own (sharing its data).
	opts := fwtest.CompareOptions{HardLinksAsFiles: true, Owners: true}
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"le", []string{"-N", "little"}},
		{"be", []string{"-N", "big"}},
		{"pad", []string{"-p"}},
		{"holes-be", []string{"-z", "-N", "big"}},
		{"block-8k", []string{"-b", "8192"}},
		{"block-64k-be", []string{"-b", "65536", "-N", "big"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			img := filepath.Join(t.TempDir(), "img")
			fwtest.RunTool(t, "mkfs.cramfs", append(append([]string{}, tc.args...), root, img)...)
			b := fwtest.ReadFile(t, img)
			s := fwtest.ExtractWhole(t, New(), b, 1<<28)
			fwtest.CompareTree(t, s, root, opts)
		})
	}
	t.Run("cramfsswap", func(t *testing.T) {
		fwtest.RequireTools(t, "cramfsswap")
		dir := t.TempDir()
		le, be := filepath.Join(dir, "le"), filepath.Join(dir, "be")
		fwtest.RunTool(t, "mkfs.cramfs", "-N", "little", root, le)
		fwtest.RunTool(t, "cramfsswap", le, be)
		b := fwtest.ReadFile(t, be)
		if binaryBE := b[0] == 0x28; !binaryBE {
			t.Fatalf("cramfsswap did not write a big-endian image")
		}
		s, _, err := fwtest.Run(t.Context(), New(), b, 1<<28)
		if err != nil {
			t.Fatal(err)
		}
		fwtest.CompareTree(t, s, root, opts)
	})
}
