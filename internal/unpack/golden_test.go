package unpack_test

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/netvet/netvet/examples"
	"github.com/netvet/netvet/internal/firmware/format/all"
	"github.com/netvet/netvet/internal/unpack"
)

var update = flag.Bool("update", false, "rewrite golden files")

// TestDemoManifestGolden pins the manifest of the bundled example image:
// any change in what is extracted, or in the manifest's shape or order,
// shows up here. Rewrite with: go test ./internal/unpack -run Golden -update
func TestDemoManifestGolden(t *testing.T) {
	dir := t.TempDir()
	img := filepath.Join(dir, examples.DemoFirmwareName)
	if err := os.WriteFile(img, examples.DemoFirmware, 0o644); err != nil {
		t.Fatal(err)
	}
	m, err := unpack.Unpack(context.Background(), img, filepath.Join(dir, "out"),
		unpack.Options{Registry: all.Registry(), Limits: unpack.DefaultLimits(), Version: "test"})
	if err != nil {
		t.Fatal(err)
	}
	var got bytes.Buffer
	if err := m.WriteJSON(&got); err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "demo-manifest.golden.json")
	if *update {
		if err := os.WriteFile(golden, got.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (create it with -update)", err)
	}
	if !bytes.Equal(got.Bytes(), want) {
		t.Errorf("manifest differs from %s; if the change is intended, rerun with -update and review the diff", golden)
	}
}
