package zlib

import (
	"bytes"
	"math/rand/v2"
	"testing"

	kzlib "github.com/klauspost/compress/zlib"

	"github.com/netvet/netvet/internal/firmware/fwtest"
)

func TestExtract(t *testing.T) {
	plain := fwtest.Fixture(t, "plain.txt")
	l9 := fwtest.Fixture(t, "level9.zlib")
	fwtest.RunStreamCases(t, New, 1<<24, []fwtest.StreamCase{
		{Name: "level9", In: l9, Want: plain},
		{Name: "level1", In: fwtest.Fixture(t, "level1.zlib"), Want: plain},
		{Name: "window 8k", In: fwtest.Fixture(t, "window8k.zlib"), Want: plain},
		{Name: "empty", In: fwtest.Fixture(t, "empty.zlib"), Want: []byte{}, Len: 8},
		{Name: "trailing data", In: append(append([]byte(nil), l9...), "\x00\x00\xffjunk"...), Want: plain, Len: int64(len(l9))},
		{Name: "truncated", In: l9[:len(l9)-100], Want: plain, Err: fwtest.ErrAny, Partial: fwtest.MustPutSome},
		{Name: "bad adler", In: func() []byte { b := append([]byte(nil), l9...); b[len(b)-1]++; return b }(), Want: plain, Err: fwtest.ErrAny, Partial: fwtest.MustPutSome},
		{Name: "preset dictionary", In: []byte{0x78, 0xbb, 0, 0, 0, 1, 3, 0, 0, 0, 0, 1}, NoIdent: true},
		{Name: "text after magic", In: []byte("x\x9cthis is not a deflate stream at all, just text that follows"), NoIdent: true},
	})
}

// TestWeakMagic checks that random bytes behind a valid header are not taken
// for zlib: the driver tries every 0x78 0x9c in a blob.
func TestWeakMagic(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	hits := 0
	for i := 0; i < 2000; i++ {
		b := make([]byte, 8192)
		for j := range b {
			b[j] = byte(rng.Uint32())
		}
		b[0], b[1] = 0x78, 0x9c
		if New().Identify(bytes.NewReader(b), int64(len(b))) {
			hits++
		}
	}
	if hits > 0 {
		t.Errorf("%d of 2000 random blobs identified as zlib", hits)
	}
}

func TestSignaturesValid(t *testing.T) {
	sigs := New().Info().Signatures
	if len(sigs) != 12 {
		t.Errorf("%d signatures, want 12", len(sigs))
	}
	for _, s := range sigs {
		if !headerOK(s.Magic[0], s.Magic[1]) {
			t.Errorf("signature %x is not a valid header", s.Magic)
		}
	}
	var buf bytes.Buffer
	w := kzlib.NewWriter(&buf)
	w.Write([]byte("x"))
	w.Close()
	found := false
	for _, s := range sigs {
		found = found || bytes.HasPrefix(buf.Bytes(), s.Magic)
	}
	if !found {
		t.Errorf("default header %x not among signatures", buf.Bytes()[:2])
	}
}

func FuzzExtract(f *testing.F) {
	fwtest.FuzzExtract(f, New, fwtest.Fixtures(f, "level9.zlib", "level1.zlib", "window8k.zlib", "empty.zlib")...)
}
