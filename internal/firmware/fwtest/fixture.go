package fwtest

import (
	"bytes"
	"compress/gzip"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/netvet/netvet/internal/firmware"
)

// Fixture returns the content of testdata/name, gunzipped when the name
// ends in ".gz". It fails the test when the file cannot be read.
func Fixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(name, ".gz") {
		return b
	}
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	out, err := io.ReadAll(zr)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return out
}

// Fixtures returns Fixture of each name, in order.
func Fixtures(t testing.TB, names ...string) [][]byte {
	t.Helper()
	out := make([][]byte, len(names))
	for i, n := range names {
		out[i] = Fixture(t, n)
	}
	return out
}

// ExtractWhole runs f over img into a MemSink of the given budget, as
// Run does, failing the test when extraction fails or does not cover all
// of img.
func ExtractWhole(t testing.TB, f firmware.Format, img []byte, budget int64) *MemSink {
	t.Helper()
	s, n, err := Run(t.Context(), f, img, budget)
	if err != nil {
		t.Fatal(err)
	}
	if n != int64(len(img)) {
		t.Errorf("Extract covered %d bytes, image is %d", n, len(img))
	}
	return s
}
