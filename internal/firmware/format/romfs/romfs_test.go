package romfs

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/netvet/netvet/internal/firmware"
	"github.com/netvet/netvet/internal/firmware/fwtest"
)

func load(t testing.TB) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/romfs.img")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func bigConf() []byte {
	var b bytes.Buffer
	for i := 0; i < 300; i++ {
		fmt.Fprintf(&b, "config line %04d\n", i)
	}
	return b.Bytes()
}

func TestExtract(t *testing.T) {
	img := load(t)
	s, n, err := fwtest.Run(t.Context(), New(), img, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	if n != 0x1810 {
		t.Errorf("length %#x, want 0x1810", n)
	}
	for _, f := range s.Failed {
		t.Errorf("failed %q: %v", f.Path, f.Err)
	}
	files := map[string]string{
		"hello.txt":      "hello, romfs\n",
		"bin/run.sh":     "#!/bin/sh\necho hi\n",
		"etc/big.conf":   string(bigConf()),
		"etc/init.d/rcS": "x",
		"empty.txt":      "",
	}
	for p, want := range files {
		it, ok := s.Get(p)
		if !ok {
			t.Errorf("%s missing", p)
			continue
		}
		// hello.txt and etc/hello.hard: whichever comes first holds data.
		if it.Type == firmware.TypeHardlink {
			it, _ = s.Get(it.LinkTarget)
		}
		if string(it.Data) != want {
			t.Errorf("%s: content %q, want %q", p, it.Data, want)
		}
	}
	checks := []struct {
		path     string
		typ      firmware.EntryType
		mode     fs.FileMode
		link     string
		maj, min uint32
	}{
		{"bin", firmware.TypeDir, 0o755, "", 0, 0},
		{"empty", firmware.TypeDir, 0o755, "", 0, 0},
		{"bin/run.sh", firmware.TypeFile, 0o755, "", 0, 0},
		{"etc/big.conf", firmware.TypeFile, 0o644, "", 0, 0},
		{"etc/link", firmware.TypeSymlink, 0o777, "../hello.txt", 0, 0},
		{"bin/abs", firmware.TypeSymlink, 0o777, "/very/long/target/path/that/goes/on/and/on", 0, 0},
		{"dev/console", firmware.TypeCharDevice, 0o644, "", 5, 1},
		{"dev/mtdblock0", firmware.TypeBlockDevice, 0o644, "", 31, 0},
		{"dev/initctl", firmware.TypeFIFO, 0o644, "", 0, 0},
	}
	for _, c := range checks {
		it, ok := s.Get(c.path)
		if !ok {
			t.Errorf("%s missing", c.path)
			continue
		}
		e := it.Entry
		if e.Type != c.typ || e.Mode != c.mode || e.LinkTarget != c.link || e.DevMajor != c.maj || e.DevMinor != c.min || e.UID != 0 || e.GID != 0 {
			t.Errorf("%s: got %v %v %q %d,%d", c.path, e.Type, e.Mode, e.LinkTarget, e.DevMajor, e.DevMinor)
		}
	}
	// Exactly one of the two names is the file, the other a hard link to it.
	a, _ := s.Get("hello.txt")
	b, _ := s.Get("etc/hello.hard")
	switch {
	case a.Type == firmware.TypeFile && b.Type == firmware.TypeHardlink && b.LinkTarget == "hello.txt":
	case b.Type == firmware.TypeFile && a.Type == firmware.TypeHardlink && a.LinkTarget == "etc/hello.hard":
	default:
		t.Errorf("hard link pair: %+v / %+v", a.Entry, b.Entry)
	}
	seen := map[string]bool{}
	for _, it := range s.Items {
		if it.Type == firmware.TypeHardlink && !seen[it.LinkTarget] {
			t.Errorf("%s: hard link before its target %s", it.Path, it.LinkTarget)
		}
		if i := strings.LastIndex(it.Path, "/"); i > 0 && !seen[it.Path[:i]] {
			t.Errorf("%s put before its directory", it.Path)
		}
		seen[it.Path] = true
	}
}

func TestIdentify(t *testing.T) {
	img := load(t)
	cases := []struct {
		name string
		b    []byte
		want bool
	}{
		{"image", img, true},
		{"empty", nil, false},
		{"magic only", []byte(magic), false},
		{"short", img[:40], false},
		{"tiny size", set32(img, 8, 16), false},
		{"root not dir", set32(img, 0x20, 0x42), false},
		{"unterminated name", append([]byte(magic+"\x00\x00\x10\x00\x00\x00\x00\x00"), bytes.Repeat([]byte("a"), 2000)...), false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := New().Identify(bytes.NewReader(c.b), int64(len(c.b))); got != c.want {
				t.Errorf("Identify = %v, want %v", got, c.want)
			}
		})
	}
}

func set32(b []byte, off int, v uint32) []byte {
	c := bytes.Clone(b)
	binary.BigEndian.PutUint32(c[off:], v)
	return c
}

// headerOf finds the header of the entry called name.
func headerOf(t *testing.T, img []byte, name string) int {
	t.Helper()
	for off := 0x20; off+16 < len(img); off += 16 {
		if bytes.HasPrefix(img[off+16:], append([]byte(name), 0)) {
			return off
		}
	}
	t.Fatalf("%s: no header", name)
	return 0
}

func failedWith(s *fwtest.MemSink, want error) bool {
	for _, f := range s.Failed {
		if errors.Is(f.Err, want) {
			return true
		}
	}
	return false
}

func TestHostile(t *testing.T) {
	img := load(t)
	t.Run("checksum", func(t *testing.T) {
		b := set32(img, 12, 0)
		s, _, err := fwtest.Run(t.Context(), New(), b, 1<<20)
		if err != nil {
			t.Fatal(err)
		}
		if !failedWith(s, ErrChecksum) {
			t.Error("checksum mismatch not reported")
		}
		if _, ok := s.Get("etc/big.conf"); !ok {
			t.Error("extraction did not go on after the checksum mismatch")
		}
	})
	t.Run("truncated", func(t *testing.T) {
		for _, n := range []int{0x30, 0x100, 0x400, 0x1000} {
			b := img[:n]
			s := fwtest.NewMemSink(1 << 20)
			_, err := New().Extract(t.Context(), bytes.NewReader(b), int64(len(b)), s)
			if err == nil && len(s.Failed) == 0 {
				t.Errorf("%d bytes: no error and nothing failed", n)
			}
		}
	})
	t.Run("size past EOF", func(t *testing.T) {
		off := headerOf(t, img, "big.conf")
		b := set32(img, off+8, 0x7fffffff)
		s, _, err := fwtest.Run(t.Context(), New(), b, 1<<20)
		if err != nil {
			t.Fatal(err)
		}
		if !failedWith(s, ErrCorrupt) {
			t.Error("oversized file not reported")
		}
	})
	t.Run("next loop", func(t *testing.T) {
		off := headerOf(t, img, "rcS")
		b := bytes.Clone(img)
		// Point rcS's next at itself, keeping its type bits.
		v := binary.BigEndian.Uint32(b[off:])
		binary.BigEndian.PutUint32(b[off:], uint32(off)|v&15)
		s, _, err := fwtest.Run(t.Context(), New(), b, 1<<20)
		if err != nil {
			t.Fatal(err)
		}
		if !failedWith(s, ErrLoop) {
			t.Error("loop not reported")
		}
	})
	t.Run("dir spec loop", func(t *testing.T) {
		// etc/init.d's first entry becomes the root's first header.
		off := headerOf(t, img, "init.d")
		b := set32(img, off+4, 0x20)
		s, _, err := fwtest.Run(t.Context(), New(), b, 1<<20)
		if err != nil {
			t.Fatal(err)
		}
		if !failedWith(s, ErrLoop) {
			t.Error("loop not reported")
		}
	})
	t.Run("hardlink loop", func(t *testing.T) {
		off := headerOf(t, img, "hello.hard")
		b := bytes.Clone(img)
		if b[off+3]&7 != tHardlink {
			off = headerOf(t, img, "hello.txt")
		}
		binary.BigEndian.PutUint32(b[off+4:], uint32(off))
		s, _, err := fwtest.Run(t.Context(), New(), b, 1<<20)
		if err != nil {
			t.Fatal(err)
		}
		if !failedWith(s, ErrLoop) {
			t.Error("loop not reported")
		}
	})
}

func TestCancel(t *testing.T) {
	img := load(t)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := New().Extract(ctx, bytes.NewReader(img), int64(len(img)), fwtest.NewMemSink(1<<20)); !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v", err)
	}
}

func FuzzExtract(f *testing.F) {
	f.Add(load(f))
	f.Fuzz(func(t *testing.T, b []byte) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		fwtest.Fuzz(ctx, New(), b)
	})
}
