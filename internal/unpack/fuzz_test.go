package unpack

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/netvet/netvet/internal/firmware"
)

func FuzzCleanPath(f *testing.F) {
	for _, s := range []string{"a/b", "../x", "/etc/passwd", "a/../../b", "./a//b/", "..", ".", "", "a/..", "a\x00b", "..a/b..", "a/./../b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, p string) {
		c, err := cleanPath(p)
		if err != nil {
			return
		}
		if strings.HasPrefix(c, "/") || c == ".." || strings.HasPrefix(c, "../") || strings.Contains(c, "/../") || strings.HasSuffix(c, "/..") {
			t.Fatalf("cleanPath(%q) = %q escapes", p, c)
		}
		if filepath.IsAbs(c) {
			t.Fatalf("cleanPath(%q) = %q is absolute", p, c)
		}
	})
}

// FuzzUnpack runs the driver with the test formats over arbitrary bytes:
// no panic, nothing outside the output folder, a manifest every time.
func FuzzUnpack(f *testing.F) {
	f.Add(newBuilder("NVTC").entry(firmware.TypeFile, "a", 0o644, "", []byte("x")).bytes())
	f.Add(newBuilder("NVTC").entry(firmware.TypeSymlink, "l", 0o777, "../..", nil).entry(firmware.TypeFile, "l/x", 0o644, "", []byte("x")).bytes())
	f.Add(append([]byte("junkNVTF"), newBuilder("NVTF").entry(firmware.TypeHardlink, "h", 0, "../../etc/passwd", nil).bytes()...))
	f.Add([]byte("QUINE!"))
	f.Fuzz(func(t *testing.T, img []byte) {
		parent := t.TempDir()
		p := filepath.Join(parent, "fw.bin")
		os.WriteFile(p, img, 0o644)
		lim := DefaultLimits()
		lim.MaxTotalBytes = 8 << 20
		lim.MaxFiles = 2000
		m, err := Unpack(context.Background(), p, filepath.Join(parent, "out"), Options{Registry: testRegistry(), Limits: lim, Workers: 2})
		if m == nil {
			t.Fatalf("no manifest: %v", err)
		}
		ents, _ := os.ReadDir(parent)
		if len(ents) != 2 {
			t.Fatalf("written outside the output folder: %v", ents)
		}
	})
}
