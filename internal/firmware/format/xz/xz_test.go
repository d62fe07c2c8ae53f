package xz

import (
	"bytes"
	"errors"
	"hash/crc32"
	"testing"

	uxz "github.com/ulikunitz/xz"

	"github.com/netvet/netvet/internal/firmware/fwtest"
)

func TestExtract(t *testing.T) {
	plain := fwtest.Fixture(t, "plain.txt")
	full := func(name string) []byte { return fwtest.Fixture(t, name) }
	c64 := full("crc64.xz")
	fwtest.RunStreamCases(t, New, 1<<24, []fwtest.StreamCase{
		{Name: "crc64", In: c64, Want: plain},
		{Name: "crc32", In: full("crc32.xz"), Want: plain},
		{Name: "none", In: full("none.xz"), Want: plain},
		{Name: "sha256", In: full("sha256.xz"), Want: plain},
		{Name: "blocks", In: full("blocks.xz"), Want: plain},
		{Name: "concatenated with padding", In: full("concat.xz"), Want: plain},
		{Name: "empty", In: full("empty.xz"), Want: []byte{}},
		{Name: "trailing data", In: append(append([]byte(nil), c64...), "\x00\x00\x00\x00junk"...), Want: plain, Len: int64(len(c64))},
		{Name: "truncated", In: c64[:len(c64)/2], Want: plain, Err: ErrTruncated},
		{Name: "truncated footer", In: c64[:len(c64)-3], Want: plain, Err: ErrTruncated},
		{Name: "bad check", In: func() []byte { b := append([]byte(nil), c64...); b[len(b)-30]++; return b }(), Want: plain, Err: ErrTruncated},
		{Name: "delta filter", In: full("delta.xz"), Want: plain, Err: ErrUnsupported},
		{Name: "bad header crc", In: func() []byte { b := append([]byte(nil), c64...); b[8]++; return b }(), NoIdent: true},
	})
}

func TestBranchFilters(t *testing.T) {
	raw := fwtest.Fixture(t, "bcj.raw")
	for _, f := range []string{"x86", "x86-start", "powerpc", "arm", "armthumb", "sparc"} {
		t.Run(f, func(t *testing.T) {
			in := fwtest.Fixture(t, "bcj-"+f+".xz")
			s, n, err := fwtest.Run(t.Context(), New(), in, 1<<20)
			if err != nil {
				t.Fatal(err)
			}
			if n != int64(len(in)) {
				t.Errorf("length %d, want %d", n, len(in))
			}
			got := s.Items[0].Data
			if !bytes.Equal(got, raw) {
				i := 0
				for i < min(len(got), len(raw)) && got[i] == raw[i] {
					i++
				}
				t.Errorf("content differs from offset %d (%d bytes, want %d)", i, len(got), len(raw))
			}
		})
	}
}

// TestHugeDictionary checks that a block claiming a 3 GiB dictionary is
// refused before anything is allocated.
func TestHugeDictionary(t *testing.T) {
	b := append([]byte(nil), fwtest.Fixture(t, "crc64.xz")...)
	// Block header: size byte, flags, filter id 0x21, props size 1, dict byte.
	if b[12+2] != 0x21 {
		t.Skip("unexpected block header layout")
	}
	b[12+4] = 39 // 3 GiB
	fixHeaderCRC(b[12:])
	_, _, err := fwtest.Run(t.Context(), New(), b, 1<<20)
	if !errors.Is(err, ErrUnsupported) {
		t.Fatalf("err = %v, want ErrUnsupported", err)
	}
}

func fixHeaderCRC(h []byte) {
	hs := (int(h[0]) + 1) * 4
	c := crc32IEEE(h[:hs-4])
	h[hs-4], h[hs-3], h[hs-2], h[hs-1] = byte(c), byte(c>>8), byte(c>>16), byte(c>>24)
}

func BenchmarkExtract(b *testing.B) {
	plain := fwtest.Fixture(b, "plain.txt")
	var buf bytes.Buffer
	w, err := uxz.NewWriter(&buf)
	if err != nil {
		b.Fatal(err)
	}
	for i := 0; i < 160; i++ { // about 8 MB
		w.Write(plain)
	}
	w.Close()
	in := buf.Bytes()
	var out int64
	for b.Loop() {
		n := &fwtest.Discard{}
		if _, err := New().Extract(b.Context(), bytes.NewReader(in), int64(len(in)), n); err != nil {
			b.Fatal(err)
		}
		out = n.Bytes
	}
	b.SetBytes(out)
}

func FuzzExtract(f *testing.F) {
	fwtest.FuzzExtract(f, New, fwtest.Fixtures(f, "crc64.xz", "crc32.xz", "none.xz", "sha256.xz", "blocks.xz", "concat.xz", "empty.xz", "bcj-x86.xz", "bcj-armthumb.xz")...)
}

func crc32IEEE(b []byte) uint32 { return crc32.ChecksumIEEE(b) }
