package lzma

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"io"
	"os"
	"runtime"
	"testing"
)

// TestFilterFixturesConvert makes sure each filter fixture really exercises
// its filter: the raw LZMA2 output differs from the final data.
func TestFilterFixturesConvert(t *testing.T) {
	for _, name := range []string{"x86", "x86-start", "powerpc", "ia64", "arm", "armthumb", "sparc", "arm64", "delta", "delta1"} {
		comp, err := os.ReadFile("testdata/code." + name + ".xz")
		if err != nil {
			t.Fatal(err)
		}
		want, _ := os.ReadFile("testdata/code.bin")
		hs := headerSizeOf(comp[12])
		raw := make([]byte, len(want))
		n, err := DecodeLZMA2(raw, comp[12+hs:], 0)
		if err != nil || n != len(want) {
			t.Fatalf("%s: raw LZMA2: n=%d err=%v", name, n, err)
		}
		diff := 0
		for i := range raw {
			if raw[i] != want[i] {
				diff++
			}
		}
		if diff < 16 {
			t.Fatalf("%s: only %d bytes changed by the filter", name, diff)
		}
	}
}

func TestDictCap(t *testing.T) {
	comp, _ := os.ReadFile("testdata/text.p9.xz") // 64 MiB dictionary
	r, err := NewXZReader(bytes.NewReader(comp), 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Read(make([]byte, 10)); !errors.Is(err, ErrDictTooLarge) {
		t.Fatalf("err = %v, want ErrDictTooLarge", err)
	}
}

func TestHeaderSizesDoNotAllocate(t *testing.T) {
	// A .lzma header claiming a 4 GiB dictionary is refused under the cap.
	h := []byte{0x5D, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0, 0, 0}
	if _, err := NewLZMAReader(bytes.NewReader(h), 64<<20); !errors.Is(err, ErrDictTooLarge) {
		t.Fatalf("err = %v, want ErrDictTooLarge", err)
	}
	// Under a huge cap, a short stream allocates for its output, not for
	// the dictionary it claims.
	comp, _ := os.ReadFile("testdata/text.alone.lzma")
	big := append([]byte{}, comp...)
	binary.LittleEndian.PutUint32(big[1:5], 1<<30)
	var m0, m1 runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&m0)
	r, err := NewLZMAReader(bytes.NewReader(big), 1<<30)
	if err != nil {
		t.Fatal(err)
	}
	out, err := io.ReadAll(r)
	runtime.ReadMemStats(&m1)
	if err != nil || len(out) != 24576 {
		t.Fatalf("n=%d err=%v", len(out), err)
	}
	if a := m1.TotalAlloc - m0.TotalAlloc; a > 4<<20 {
		t.Fatalf("allocated %d bytes for a 24 KiB stream", a)
	}
}

func TestHostile(t *testing.T) {
	text, _ := os.ReadFile("testdata/text.p6.xz")
	alone, _ := os.ReadFile("testdata/text.alone.lzma")
	mt, _ := os.ReadFile("testdata/text.mt.xz") // block headers hold sizes
	if mt[13] != 0xC0 {
		t.Fatalf("text.mt.xz: block flags %#x, want both sizes", mt[13])
	}
	mod := func(b []byte, f func([]byte)) []byte {
		c := append([]byte{}, b...)
		f(c)
		return c
	}
	// Block header CRC recomputed after an edit so the edit itself is tested.
	fixHdr := func(c []byte) {
		hs := headerSizeOf(c[12])
		binary.LittleEndian.PutUint32(c[12+hs-4:], crc32IEEE(c[12:12+hs-4]))
	}
	for _, tc := range []struct {
		name string
		xz   bool
		in   []byte
		want error
	}{
		{"empty", true, nil, io.ErrUnexpectedEOF},
		{"bad magic", true, mod(text, func(c []byte) { c[0] = 0 }), ErrCorrupt},
		{"header crc", true, mod(text, func(c []byte) { c[7] ^= 1 }), ErrChecksum},
		{"payload flip", true, mod(text, func(c []byte) { c[200] ^= 0x40 }), nil},
		{"check flip", true, mod(text, func(c []byte) { c[len(c)-12-8-8] ^= 1 }), nil},
		{"trailing garbage", true, append(append([]byte{}, text...), 1, 2, 3, 4), ErrCorrupt},
		{"odd padding", true, append(append([]byte{}, text...), 0, 0), ErrCorrupt},
		{"compressed size short", true, mod(mt, func(c []byte) { c[14]--; fixHdr(c) }), ErrCorrupt},
		{"compressed size long", true, mod(mt, func(c []byte) { c[14]++; fixHdr(c) }), nil},
		{"uncompressed size short", true, mod(mt, func(c []byte) { c[16]--; fixHdr(c) }), ErrCorrupt},
		{"uncompressed size long", true, mod(mt, func(c []byte) { c[16]++; fixHdr(c) }), ErrCorrupt},
		{"unknown filter", true, mod(text, func(c []byte) { c[14] = 0x22; fixHdr(c) }), ErrUnsupported},
		{"reserved block flag", true, mod(text, func(c []byte) { c[13] |= 0x10; fixHdr(c) }), ErrUnsupported},
		{"dict prop 41", true, mod(text, func(c []byte) { c[16] = 41; fixHdr(c) }), ErrCorrupt},
		{"lzma props", false, mod(alone, func(c []byte) { c[0] = 225 }), ErrCorrupt},
		{"lzma lc+lp>4", false, mod(alone, func(c []byte) { c[0] = 3 + 9*2 }), ErrUnsupported},
		{"lzma truncated", false, alone[:len(alone)-3], io.ErrUnexpectedEOF},
		{"lzma payload flip", false, mod(alone, func(c []byte) { c[100] ^= 0x10 }), nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dst := make([]byte, 1<<16)
			var err error
			if tc.xz {
				_, err = DecodeXZ(dst, tc.in)
			} else {
				_, err = DecodeLZMA(dst, tc.in)
			}
			if err == nil || tc.want != nil && !errors.Is(err, tc.want) {
				t.Fatalf("one-shot err = %v, want %v", err, tc.want)
			}
			var r io.Reader
			if tc.xz {
				r, err = NewXZReader(bytes.NewReader(tc.in), 1<<26)
			} else {
				r, err = NewLZMAReader(bytes.NewReader(tc.in), 1<<26)
			}
			if err == nil {
				_, err = io.ReadAll(r)
			}
			if tc.name == "trailing garbage" || tc.name == "odd padding" {
				// The reader stops at the end of the stream by design.
				if err != nil {
					t.Fatalf("reader err = %v", err)
				}
				return
			}
			if err == nil || tc.want != nil && !errors.Is(err, tc.want) {
				t.Fatalf("reader err = %v, want %v", err, tc.want)
			}
		})
	}
}

// TestLZMA2Chunks covers the chunk rules directly.
func TestLZMA2Chunks(t *testing.T) {
	dst := make([]byte, 64)
	for _, tc := range []struct {
		name string
		in   []byte
		n    int
		want error
	}{
		{"end only", []byte{0}, 0, nil},
		{"stored", []byte{1, 0, 2, 'a', 'b', 'c', 0}, 3, nil},
		{"stored twice", []byte{1, 0, 1, 'a', 'b', 2, 0, 0, 'c', 0}, 3, nil},
		{"no dict reset", []byte{2, 0, 0, 'a', 0}, 0, ErrCorrupt},
		{"bad control", []byte{3, 0}, 0, ErrCorrupt},
		{"lzma without props", []byte{1, 0, 0, 'a', 0x80, 0, 0, 0, 5, 0, 0, 0, 0, 0, 0}, 1, ErrCorrupt},
		{"truncated", []byte{1, 0, 9, 'a'}, 0, io.ErrUnexpectedEOF},
		{"no end", []byte{1, 0, 0, 'a'}, 1, io.ErrUnexpectedEOF},
		{"too big", []byte{1, 0, 64, 'a'}, 0, ErrShortBuffer},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := tc.in
			if tc.name == "too big" {
				in = append(append([]byte{}, in...), make([]byte, 70)...)
			}
			n, err := DecodeLZMA2(dst, in, 0)
			if tc.want == nil && err != nil || tc.want != nil && !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			if err == nil && n != tc.n {
				t.Fatalf("n = %d, want %d", n, tc.n)
			}
		})
	}
}

func crc32IEEE(b []byte) uint32 { return crc32.ChecksumIEEE(b) }

func TestOneShotDoesNotAllocate(t *testing.T) {
	comp, _ := os.ReadFile("testdata/text.check-sha256.xz")
	x86, _ := os.ReadFile("testdata/code.x86.xz")
	alone, _ := os.ReadFile("testdata/text.alone.lzma")
	dst := make([]byte, 32<<10)
	a := testing.AllocsPerRun(50, func() {
		if _, err := DecodeXZ(dst, comp); err != nil {
			t.Fatal(err)
		}
		if _, err := DecodeXZ(dst, x86); err != nil {
			t.Fatal(err)
		}
		if _, err := DecodeLZMA(dst, alone); err != nil {
			t.Fatal(err)
		}
	})
	if a > 0.5 {
		t.Fatalf("%.1f allocations per run", a)
	}
}
