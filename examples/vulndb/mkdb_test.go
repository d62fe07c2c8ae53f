//go:build mkdemodb

// Rebuild demo-vulndb.tar.zst, the small vulnerability database `netvet
// demo` matches against:
//
//	go test -tags mkdemodb -run BuildDemoDB ./examples/vulndb
//
// It is a real grype v6 database, built with grype's own builder from the
// NVD, Debian, KEV and EPSS records in internal/vuln/testdata/vulndb (see
// the README there for their sources).
package vulndb_test

import (
	"archive/tar"
	"bytes"
	"os"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"github.com/anchore/grype/grype/db/v6/testdb"
	"github.com/klauspost/compress/zstd"
)

func TestBuildDemoDB(t *testing.T) {
	in, out := t.TempDir(), t.TempDir()
	if err := os.CopyFS(in, os.DirFS(filepath.Join("..", "..", "internal", "vuln", "testdata", "vulndb"))); err != nil {
		t.Fatal(err)
	}
	built := time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC)
	testdb.BuildFromFlatFileDir(t, built, out, in, "**/*.json")
	entries, err := os.ReadDir(out)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		if e.Type().IsRegular() {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	var tb bytes.Buffer
	tw := tar.NewWriter(&tb)
	for _, n := range names {
		b, err := os.ReadFile(filepath.Join(out, n))
		if err != nil {
			t.Fatal(err)
		}
		if err := tw.WriteHeader(&tar.Header{Name: n, Mode: 0o644, Size: int64(len(b)), ModTime: built, Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		tw.Write(b)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	zw, err := zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedBestCompression))
	if err != nil {
		t.Fatal(err)
	}
	z := zw.EncodeAll(tb.Bytes(), nil)
	if err := os.WriteFile("demo-vulndb.tar.zst", z, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("demo-vulndb.tar.zst: %d bytes (%v)", len(z), names)
}
