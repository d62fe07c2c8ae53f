package xz

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"runtime"
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
		{Name: "bad block check", In: badBlockCheck(c64), Want: plain, Err: ErrChecksum, Partial: fwtest.MustPutAll},
		{Name: "truncated in block", In: c64[:len(c64)/2], Want: plain, Err: ErrTruncated, Partial: fwtest.MustPut},
		{Name: "concatenated, trailing padding", In: append(append([]byte(nil), full("concat.xz")...), make([]byte, 64)...), Want: plain, Len: int64(len(full("concat.xz")))},
		{Name: "concatenated, trailing magic", In: cat(full("concat.xz"), []byte("\xfd7zXZ\x00junk")), Want: plain, Len: int64(len(full("concat.xz")))},
		{Name: "concatenated, padding, bad header", In: cat(full("concat.xz"), make([]byte, 8), []byte("\xfd7zXZ\x00\x04junkjunk")), Want: plain, Len: int64(len(full("concat.xz")))},
		{Name: "concatenated, cut magic", In: cat(c64, make([]byte, 4), magic[:6]), Want: plain, Len: int64(len(c64))},
		{Name: "second stream truncated", In: cat(c64, make([]byte, 4), c64[:40]), Want: append(append([]byte(nil), plain...), plain...), Err: ErrTruncated, Partial: fwtest.MustPutSome},
		{Name: "second stream bad footer", In: cat(c64, c64[:len(c64)-1]), Want: append(append([]byte(nil), plain...), plain...), Err: ErrTruncated, Partial: fwtest.MustPutAll},
		{Name: "reserved check type", In: func() []byte { b := append([]byte(nil), c64...); b[7] = 2; fixStreamHeaderCRC(b); return b }(), Err: ErrUnsupported},
		{Name: "bad header crc", In: func() []byte { b := append([]byte(nil), c64...); b[8]++; return b }(), NoIdent: true},
	})
}

func TestBranchFilters(t *testing.T) {
	raw := fwtest.Fixture(t, "bcj.raw")
	for _, f := range []string{"bcj-x86", "bcj-x86-start", "bcj-powerpc", "bcj-ia64", "bcj-arm", "bcj-armthumb", "bcj-sparc", "bcj-arm64", "delta"} {
		t.Run(f, func(t *testing.T) {
			in := fwtest.Fixture(t, f+".xz")
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

// TestUnsupportedFilter: a block using the RISC-V filter (ID 0x0b), which
// the decoder does not implement, is reported as unsupported.
func TestUnsupportedFilter(t *testing.T) {
	b := append([]byte(nil), fwtest.Fixture(t, "bcj-x86.xz")...)
	// Block header: size byte, flags, first filter ID (x86 = 0x04).
	if b[12+2] != 0x04 {
		t.Skip("unexpected block header layout")
	}
	b[12+2] = 0x0b
	fixHeaderCRC(b[12:])
	s, n, err := fwtest.Run(t.Context(), New(), b, 1<<20)
	if !errors.Is(err, ErrUnsupported) {
		t.Fatalf("err = %v, want ErrUnsupported", err)
	}
	if n < 0 || n > int64(len(b)) {
		t.Errorf("length %d out of range", n)
	}
	if len(s.Items) == 1 && len(s.Items[0].Data) != 0 {
		t.Errorf("put %d bytes from an unsupported block", len(s.Items[0].Data))
	}
}

// TestIdentifyNoAlloc: Identify runs at every signature match, so it must
// not allocate.
func TestIdentifyNoAlloc(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are meaningless under the race detector")
	}
	in := fwtest.Fixture(t, "crc64.xz")
	src := bytes.NewReader(in)
	New().Identify(src, int64(len(in))) // fill the pool
	if a := testing.AllocsPerRun(100, func() { New().Identify(src, int64(len(in))) }); a != 0 {
		t.Errorf("%v allocations per Identify", a)
	}
}

// TestLargeDictionaryCheap: a block may claim the largest dictionary
// accepted; a short stream must not cost that much memory.
func TestLargeDictionaryCheap(t *testing.T) {
	b := append([]byte(nil), fwtest.Fixture(t, "crc64.xz")...)
	if b[12+2] != 0x21 {
		t.Skip("unexpected block header layout")
	}
	b[12+4] = 30 // 128 MiB, the cap
	fixHeaderCRC(b[12:])
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	s, n, err := fwtest.Run(t.Context(), New(), b, 1<<20)
	runtime.ReadMemStats(&after)
	if err != nil || n != int64(len(b)) || len(s.Items) != 1 {
		t.Fatalf("n=%d err=%v items=%d", n, err, len(s.Items))
	}
	if d := after.TotalAlloc - before.TotalAlloc; d > 16<<20 {
		t.Errorf("allocated %d bytes for a %d-byte stream", d, len(b))
	}
}

// TestCancel: a cancelled context stops extraction with its error.
func TestCancel(t *testing.T) {
	fwtest.CheckCancel(t, New(), fwtest.Fixture(t, "blocks.xz"))
}

// badBlockCheck returns b (one block, CRC64) with the block's check
// altered: the check is the 8 bytes before the index.
func badBlockCheck(b []byte) []byte {
	b = append([]byte(nil), b...)
	// Footer 12 bytes; index of one record: indicator, count, two
	// integers, padding, CRC32 = a multiple of 4 ending 12 bytes from the end.
	backward := int(binary.LittleEndian.Uint32(b[len(b)-8:]))
	idx := len(b) - 12 - (backward+1)*4
	b[idx-1] ^= 0x55
	return b
}

func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

func fixStreamHeaderCRC(b []byte) {
	binary.LittleEndian.PutUint32(b[8:12], crc32.ChecksumIEEE(b[6:8]))
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
	fwtest.FuzzExtract(f, New, fwtest.Fixtures(f, "crc64.xz", "crc32.xz", "none.xz", "sha256.xz", "blocks.xz", "concat.xz", "empty.xz", "bcj-x86.xz", "bcj-armthumb.xz", "bcj-arm64.xz", "delta.xz")...)
}

func crc32IEEE(b []byte) uint32 { return crc32.ChecksumIEEE(b) }
