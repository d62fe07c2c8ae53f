package labelled

import (
	"os"
	"path/filepath"
	"testing"
)

// TestWriteImages writes the images for inspection when NETVET_LABELLED_OUT
// names a folder.
func TestWriteImages(t *testing.T) {
	out := os.Getenv("NETVET_LABELLED_OUT")
	if out == "" {
		t.Skip("set NETVET_LABELLED_OUT to write the images")
	}
	for seed := uint64(0); seed < 3; seed++ {
		for _, img := range []Image{Generate(seed), Control(seed)} {
			if err := os.WriteFile(filepath.Join(out, img.Name), img.Data, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
}
