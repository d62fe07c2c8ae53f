package romfs

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"testing"
	"time"

	"github.com/netvet/netvet/internal/firmware"
	"github.com/netvet/netvet/internal/firmware/fwtest"
)

func bigConf() []byte {
	var b bytes.Buffer
	for i := 0; i < 300; i++ {
		fmt.Fprintf(&b, "config line %04d\n", i)
	}
	return b.Bytes()
}

func TestExtract(t *testing.T) {
	img := fwtest.Fixture(t, "romfs.img")
	s, n, err := fwtest.Run(t.Context(), New(), img, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	if n != 0x1810 {
		t.Errorf("length %#x, want 0x1810", n)
	}
	fwtest.NoFailures(t, s)
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
	fwtest.CheckEntries(t, s, map[string]fwtest.Want{
		"bin":           {Type: firmware.TypeDir, Mode: 0o755},
		"empty":         {Type: firmware.TypeDir, Mode: 0o755},
		"bin/run.sh":    {Type: firmware.TypeFile, Mode: 0o755, Data: "#!/bin/sh\necho hi\n"},
		"etc/big.conf":  {Type: firmware.TypeFile, Mode: 0o644, Data: string(bigConf())},
		"etc/link":      {Type: firmware.TypeSymlink, Mode: 0o777, Link: "../hello.txt"},
		"bin/abs":       {Type: firmware.TypeSymlink, Mode: 0o777, Link: "/very/long/target/path/that/goes/on/and/on"},
		"dev/console":   {Type: firmware.TypeCharDevice, Mode: 0o644, Major: 5, Minor: 1},
		"dev/mtdblock0": {Type: firmware.TypeBlockDevice, Mode: 0o644, Major: 31},
		"dev/initctl":   {Type: firmware.TypeFIFO, Mode: 0o644},
	})
	// Exactly one of the two names is the file, the other a hard link to it.
	a, _ := s.Get("hello.txt")
	b, _ := s.Get("etc/hello.hard")
	switch {
	case a.Type == firmware.TypeFile && b.Type == firmware.TypeHardlink && b.LinkTarget == "hello.txt":
	case b.Type == firmware.TypeFile && a.Type == firmware.TypeHardlink && a.LinkTarget == "etc/hello.hard":
	default:
		t.Errorf("hard link pair: %+v / %+v", a.Entry, b.Entry)
	}
	fwtest.CheckOrder(t, s)
}

func TestIdentify(t *testing.T) {
	img := fwtest.Fixture(t, "romfs.img")
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

func TestHostile(t *testing.T) {
	img := fwtest.Fixture(t, "romfs.img")
	t.Run("checksum", func(t *testing.T) {
		b := set32(img, 12, 0)
		s, _, err := fwtest.Run(t.Context(), New(), b, 1<<20)
		if err != nil {
			t.Fatal(err)
		}
		if !fwtest.FailedWith(s, ErrChecksum) {
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
		if !fwtest.FailedWith(s, ErrCorrupt) {
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
		if !fwtest.FailedWith(s, ErrLoop) {
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
		if !fwtest.FailedWith(s, ErrLoop) {
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
		if !fwtest.FailedWith(s, ErrLoop) {
			t.Error("loop not reported")
		}
	})
}

func TestCancel(t *testing.T) {
	fwtest.CheckCancel(t, New(), fwtest.Fixture(t, "romfs.img"))
}

func FuzzExtract(f *testing.F) {
	fwtest.FuzzExtractWithin(f, 10*time.Second, New, fwtest.Fixture(f, "romfs.img"))
}
