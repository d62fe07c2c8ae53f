package lzma

import (
	"bytes"
	"encoding/binary"
	"math/rand/v2"
	"os"
	"runtime"
	"testing"

	ulzma "github.com/ulikunitz/xz/lzma"

	"github.com/netvet/netvet/internal/firmware/fwtest"
)

// knownSize compresses data with the size in the header and no end marker,
// as lzma-utils and many firmware build systems do.
func knownSize(t testing.TB, data []byte) []byte {
	var buf bytes.Buffer
	w, err := ulzma.WriterConfig{Size: int64(len(data)), DictCap: 1 << 20}.NewWriter(&buf)
	if err != nil {
		t.Fatal(err)
	}
	w.Write(data)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestExtract(t *testing.T) {
	plain := fwtest.Fixture(t, "plain.txt")
	p9 := fwtest.Fixture(t, "plain.lzma")
	ks := knownSize(t, plain)
	fwtest.RunStreamCases(t, New, 1<<24, []fwtest.StreamCase{
		{Name: "xz format=lzma", In: p9, Want: plain},
		{Name: "lc0 lp2", In: fwtest.Fixture(t, "lp2.lzma"), Want: plain},
		{Name: "dict 48k", In: fwtest.Fixture(t, "dict48k.lzma"), Want: plain},
		{Name: "known size", In: ks, Want: plain},
		{Name: "known size, trailing data", In: append(append([]byte(nil), ks...), "\xff\xff\xffjunk"...), Want: plain, Len: int64(len(ks))},
		{Name: "end marker, trailing data", In: append(append([]byte(nil), p9...), make([]byte, 64)...), Want: plain, Len: int64(len(p9))},
		{Name: "truncated", In: p9[:len(p9)/2], Want: plain, Err: ErrTruncated, Partial: fwtest.MustPut},
		{Name: "size beyond ratio", In: func() []byte { b := append([]byte(nil), ks...); b[12] = 0x10; return b }(), NoIdent: true},
		{Name: "odd dictionary", In: func() []byte { b := append([]byte(nil), p9...); b[1] = 0x01; return b }(), NoIdent: true},
		{Name: "uncommon props", In: func() []byte { b := append([]byte(nil), p9...); b[0] = 0x5f; return b }(), NoIdent: true},
	})
}

// TestWeakMagic: random bytes behind a plausible header must not pass.
func TestWeakMagic(t *testing.T) {
	hits := 0
	for i := 0; i < 2000; i++ {
		b := randomBehindHeader(uint64(i), 8192)
		if New().Identify(bytes.NewReader(b), int64(len(b))) {
			hits++
		}
	}
	if hits > 0 {
		t.Errorf("%d of 2000 random blobs identified", hits)
	}
}

// randomBehindHeader returns n bytes: a plausible header (default
// properties, 8 MiB dictionary, unknown size, zero first byte) and random
// data.
func randomBehindHeader(seed uint64, n int) []byte {
	rng := rand.New(rand.NewPCG(3, seed))
	b := make([]byte, n)
	for j := range b {
		b[j] = byte(rng.Uint32())
	}
	copy(b, []byte{0x5d, 0, 0, 0x80, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0})
	return b
}

// TestIdentifyNoAlloc: Identify runs at every signature match, so it must
// not allocate, whether it accepts or rejects. Rejecting random data is
// allowed the allocations of the error internal/lzma builds for corrupt
// data (fmt.Errorf); NETVET_KNOWN_BUGS=1 asks for none there either.
func TestIdentifyNoAlloc(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are meaningless under the race detector")
	}
	rejectAllocs := 3.0
	if os.Getenv("NETVET_KNOWN_BUGS") != "" {
		rejectAllocs = 0
	}
	for _, tc := range []struct {
		name string
		in   []byte
		max  float64
	}{
		{"stream", fwtest.Fixture(t, "plain.lzma"), 0},
		{"known size", knownSize(t, fwtest.Fixture(t, "plain.txt")), 0},
		{"random", randomBehindHeader(1, 8192), rejectAllocs},
	} {
		src := bytes.NewReader(tc.in)
		New().Identify(src, int64(len(tc.in))) // fill the pool
		if a := testing.AllocsPerRun(100, func() { New().Identify(src, int64(len(tc.in))) }); a > tc.max {
			t.Errorf("%s: %v allocations per Identify, want at most %v", tc.name, a, tc.max)
		}
	}
}

// withEOS compresses data with its size in the header and an end marker.
func withEOS(t testing.TB, data []byte) []byte {
	var buf bytes.Buffer
	w, err := ulzma.WriterConfig{Size: int64(len(data)), EOSMarker: true, DictCap: 1 << 20}.NewWriter(&buf)
	if err != nil {
		t.Fatal(err)
	}
	w.Write(data)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestIdentifyKnownSize covers the trial decode's handling of a declared
// size: within the window, beyond the trial output, and contradicted by
// an end marker.
func TestIdentifyKnownSize(t *testing.T) {
	plain := fwtest.Fixture(t, "plain.txt")
	eos := withEOS(t, plain[:2000])
	for _, tc := range []struct {
		name string
		in   []byte
		want bool
	}{
		{"whole stream in window", knownSize(t, plain[:2000]), true},
		{"output beyond trial", knownSize(t, plain), true},
		{"size and end marker", eos, true},
		{"end marker before size", func() []byte { b := append([]byte(nil), eos...); b[6]++; return b }(), false},
	} {
		if got := New().Identify(bytes.NewReader(tc.in), int64(len(tc.in))); got != tc.want {
			t.Errorf("%s: Identify = %v, want %v", tc.name, got, tc.want)
		}
	}
	// Extract takes the end marker after the declared size into the length.
	fwtest.RunStreamCases(t, New, 1<<20, []fwtest.StreamCase{
		{Name: "size and end marker, trailing data", In: append(append([]byte(nil), eos...), "junk"...), Want: plain[:2000], Len: int64(len(eos))},
	})
}

// TestCancel: a cancelled context stops extraction with its error.
func TestCancel(t *testing.T) {
	fwtest.CheckCancel(t, New(), fwtest.Fixture(t, "plain.lzma"))
}

// TestLargeDictionaryCheap: a header may claim the largest dictionary
// accepted; a short stream must not cost that much memory.
func TestLargeDictionaryCheap(t *testing.T) {
	b := append([]byte(nil), fwtest.Fixture(t, "plain.lzma")...)
	binary.LittleEndian.PutUint32(b[1:5], maxDict)
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

// TestHugeDictionary: a dictionary over the cap is refused by Identify and
// by Extract, before anything is allocated.
func TestHugeDictionary(t *testing.T) {
	b := append([]byte(nil), fwtest.Fixture(t, "plain.lzma")...)
	binary.LittleEndian.PutUint32(b[1:5], 1<<30)
	if New().Identify(bytes.NewReader(b), int64(len(b))) {
		t.Error("identified")
	}
	if _, err := New().Extract(t.Context(), bytes.NewReader(b), int64(len(b)), fwtest.NewMemSink(1<<20)); err == nil {
		t.Error("extracted")
	}
}

func FuzzExtract(f *testing.F) {
	seeds := fwtest.Fixtures(f, "plain.lzma", "lp2.lzma", "dict48k.lzma")
	seeds = append(seeds, knownSize(f, []byte("hello hello hello hello hello hello hello hello hello hello hello hello hello")))
	fwtest.FuzzExtract(f, New, seeds...)
}
