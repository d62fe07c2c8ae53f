package ubifs

import (
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/netvet/netvet/internal/firmware"
	"github.com/netvet/netvet/internal/firmware/fwtest"
)

func load(t testing.TB, name string) []byte {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func numbers() []byte {
	var b bytes.Buffer
	for i := 1; i <= 4000; i++ {
		b.WriteString(strconv.Itoa(i))
		b.WriteByte('\n')
	}
	return b.Bytes()
}

func noise() []byte {
	// Same generator as testdata/make.sh (awk uses doubles; the values stay exact below 2^53).
	out := make([]byte, 0, 9000)
	x := 7.0
	for i := 0; i < 9000; i++ {
		x = float64(int64(x*1103515245+12345) % 2147483648)
		out = append(out, byte(32+int64(x)%90))
	}
	return out
}

func TestExtract(t *testing.T) {
	sparse := make([]byte, 20000)
	copy(sparse[9000:], "middle")
	mtime := time.Unix(1700000000, 0).UTC()
	for _, comp := range []string{"lzo", "zlib", "zstd", "none"} {
		t.Run(comp, func(t *testing.T) {
			img := load(t, comp+".img.gz")
			s, n, err := fwtest.Run(context.Background(), New(), img, 1<<24)
			if err != nil {
				t.Fatal(err)
			}
			if n != int64(len(img)) {
				t.Errorf("length %d, want %d", n, len(img))
			}
			if len(s.Failed) != 0 {
				t.Errorf("failures: %+v", s.Failed)
			}
			files := map[string]string{
				"etc/motd":        "hello ubifs\n",
				"etc/numbers.txt": string(numbers()),
				"etc/empty":       "",
				"etc/init.d/rcS":  "#!/bin/sh\necho start\n",
				"bin/su":          "suid",
				"bin/sg":          "sgid",
				"etc/sparse":      string(sparse),
				"etc/owned":       "owned",
			}
			for p, want := range files {
				it, ok := s.Get(p)
				if !ok || it.Type != firmware.TypeFile {
					t.Errorf("%s: missing or not a file", p)
					continue
				}
				if string(it.Data) != want {
					t.Errorf("%s: content mismatch (%d bytes, want %d)", p, len(it.Data), len(want))
				}
			}
			if it, ok := s.Get("bin/noise"); !ok || len(it.Data) != 9000 {
				t.Errorf("bin/noise: missing or wrong size")
			}
			check := func(p string, typ firmware.EntryType, mode fs.FileMode) firmware.Entry {
				t.Helper()
				it, ok := s.Get(p)
				if !ok {
					t.Errorf("%s: missing", p)
					return firmware.Entry{}
				}
				if it.Type != typ || it.Mode != mode {
					t.Errorf("%s: type %v mode %v, want %v %v", p, it.Type, it.Mode, typ, mode)
				}
				return it.Entry
			}
			check("bin/su", firmware.TypeFile, 0o755|fs.ModeSetuid)
			check("bin/sg", firmware.TypeFile, 0o711|fs.ModeSetgid)
			check("tmp", firmware.TypeDir, 0o777|fs.ModeSticky)
			check("etc/init.d/rcS", firmware.TypeFile, 0o755)
			if e := check("etc/owned", firmware.TypeFile, 0o644); e.UID != 1000 || e.GID != 1001 {
				t.Errorf("etc/owned: uid/gid %d/%d", e.UID, e.GID)
			}
			if e := check("etc/motd", firmware.TypeFile, 0o644); !e.ModTime.Equal(mtime) || e.UID != 0 {
				t.Errorf("etc/motd: mtime %v uid %d", e.ModTime, e.UID)
			}
			if e := check("bin/motd-link", firmware.TypeSymlink, 0o777); e.LinkTarget != "../etc/motd" {
				t.Errorf("symlink target %q", e.LinkTarget)
			}
			if e := check("bin/abs-link", firmware.TypeSymlink, 0o777); e.LinkTarget != "/nonexistent/abs" {
				t.Errorf("symlink target %q", e.LinkTarget)
			}
			if e := check("etc/motd.hard", firmware.TypeHardlink, 0o644); e.LinkTarget != "etc/motd" {
				t.Errorf("hard link target %q", e.LinkTarget)
			}
			if e := check("dev/null", firmware.TypeCharDevice, 0o644); e.DevMajor != 1 || e.DevMinor != 3 {
				t.Errorf("dev/null: %d,%d", e.DevMajor, e.DevMinor)
			}
			if e := check("dev/sda1", firmware.TypeBlockDevice, 0o644); e.DevMajor != 8 || e.DevMinor != 1 {
				t.Errorf("dev/sda1: %d,%d", e.DevMajor, e.DevMinor)
			}
			if e := check("dev/big", firmware.TypeCharDevice, 0o644); e.DevMajor != 300 || e.DevMinor != 70000 {
				t.Errorf("dev/big: %d,%d", e.DevMajor, e.DevMinor)
			}
			check("dev/fifo", firmware.TypeFIFO, 0o644)
			check("empty", firmware.TypeDir, 0o755)
			// Directories come before their contents.
			seen := map[string]bool{}
			for _, it := range s.Items {
				if i := strings.LastIndexByte(it.Path, '/'); i > 0 && !seen[it.Path[:i]] {
					t.Errorf("%s put before its directory", it.Path)
				}
				seen[it.Path] = true
			}
		})
	}
}
