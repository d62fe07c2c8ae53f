package lzma

import (
	"bytes"
	"errors"
	"io"
	"testing"
)

// fuzzOut bounds the output of each fuzz input.
const fuzzOut = 1 << 16

func seedFuzz(f *testing.F, ext string) {
	for _, fx := range loadFixtures(f, ext) {
		f.Add(fx.comp)
	}
}

// drain reads r to the end or to the output cap.
func drain(r io.Reader) ([]byte, error) {
	return io.ReadAll(io.LimitReader(r, fuzzOut))
}

func FuzzDecodeXZ(f *testing.F) {
	seedFuzz(f, "xz")
	dst := make([]byte, fuzzOut)
	f.Fuzz(func(t *testing.T, b []byte) {
		n, err := DecodeXZ(dst, b)
		if n < 0 || n > len(dst) {
			t.Fatalf("n = %d", n)
		}
		// The streaming reader must agree on valid input.
		zr, rerr := NewXZReader(bytes.NewReader(b), 1<<30)
		if rerr != nil {
			if err == nil {
				t.Fatalf("one-shot ok, NewXZReader: %v", rerr)
			}
			return
		}
		got, rerr := drain(zr)
		if err == nil && !errors.Is(rerr, ErrDictTooLarge) {
			if rerr != nil || !bytes.Equal(got, dst[:n]) {
				t.Fatalf("one-shot ok (%d bytes), streaming %d bytes, err %v", n, len(got), rerr)
			}
			if zr.Consumed() > int64(len(b)) {
				t.Fatalf("Consumed %d > input %d", zr.Consumed(), len(b))
			}
		}
	})
}

func FuzzDecodeLZMA(f *testing.F) {
	seedFuzz(f, "lzma")
	dst := make([]byte, fuzzOut)
	f.Fuzz(func(t *testing.T, b []byte) {
		n, err := DecodeLZMA(dst, b)
		if n < 0 || n > len(dst) {
			t.Fatalf("n = %d", n)
		}
		zr, rerr := NewLZMAReader(bytes.NewReader(b), 1<<30)
		if rerr != nil {
			if err == nil && !errors.Is(rerr, ErrDictTooLarge) {
				t.Fatalf("one-shot ok, NewLZMAReader: %v", rerr)
			}
			return
		}
		got, rerr := drain(zr)
		if err == nil && (rerr != nil || !bytes.Equal(got, dst[:n])) {
			t.Fatalf("one-shot ok (%d bytes), streaming %d bytes, err %v", n, len(got), rerr)
		}
	})
}

func FuzzDecodeLZMA2(f *testing.F) {
	// Raw LZMA2: the xz fixtures' block data starts after the 12-byte stream
	// header and a block header.
	for _, fx := range loadFixtures(f, "xz") {
		if len(fx.comp) > 12 && fx.comp[12] != 0 {
			hs := headerSizeOf(fx.comp[12])
			if len(fx.comp) > 12+hs {
				f.Add(fx.comp[12+hs:], uint32(1<<16))
			}
		}
	}
	dst := make([]byte, fuzzOut)
	f.Fuzz(func(t *testing.T, b []byte, dict uint32) {
		lim := min(len(b)*8, len(dst))
		n, _ := DecodeLZMA2(dst[:lim], b, int(dict%(1<<26)))
		if n < 0 || n > lim {
			t.Fatalf("n = %d", n)
		}
	})
}
