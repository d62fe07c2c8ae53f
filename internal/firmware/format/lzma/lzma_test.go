package lzma

import (
	"bytes"
	"math/rand/v2"
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
	rng := rand.New(rand.NewPCG(3, 4))
	hits := 0
	for i := 0; i < 2000; i++ {
		b := make([]byte, 8192)
		for j := range b {
			b[j] = byte(rng.Uint32())
		}
		copy(b, []byte{0x5d, 0, 0, 0x80, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0})
		if New().Identify(bytes.NewReader(b), int64(len(b))) {
			hits++
		}
	}
	if hits > 0 {
		t.Errorf("%d of 2000 random blobs identified", hits)
	}
}

func FuzzExtract(f *testing.F) {
	seeds := fwtest.Fixtures(f, "plain.lzma", "lp2.lzma", "dict48k.lzma")
	seeds = append(seeds, knownSize(f, []byte("hello hello hello hello hello hello hello hello hello hello hello hello hello")))
	fwtest.FuzzExtract(f, New, seeds...)
}
