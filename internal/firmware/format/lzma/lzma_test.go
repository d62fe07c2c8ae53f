package lzma

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	ulzma "github.com/ulikunitz/xz/lzma"

	"github.com/netvet/netvet/internal/firmware"
	"github.com/netvet/netvet/internal/firmware/fwtest"
)

func readFixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

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
	plain := readFixture(t, "plain.txt")
	p9 := readFixture(t, "plain.lzma")
	ks := knownSize(t, plain)
	cases := []struct {
		name    string
		in      []byte
		wantLen int64
		wantErr bool
		noIdent bool
	}{
		{name: "xz format=lzma", in: p9, wantLen: int64(len(p9))},
		{name: "lc0 lp2", in: readFixture(t, "lp2.lzma"), wantLen: int64(len(readFixture(t, "lp2.lzma")))},
		{name: "dict 48k", in: readFixture(t, "dict48k.lzma"), wantLen: int64(len(readFixture(t, "dict48k.lzma")))},
		{name: "known size", in: ks, wantLen: int64(len(ks))},
		{name: "known size, trailing data", in: append(append([]byte(nil), ks...), "\xff\xff\xffjunk"...), wantLen: int64(len(ks))},
		{name: "end marker, trailing data", in: append(append([]byte(nil), p9...), make([]byte, 64)...), wantLen: int64(len(p9))},
		{name: "truncated", in: p9[:len(p9)/2], wantErr: true},
		{name: "size beyond ratio", in: func() []byte { b := append([]byte(nil), ks...); b[12] = 0x10; return b }(), noIdent: true},
		{name: "odd dictionary", in: func() []byte { b := append([]byte(nil), p9...); b[1] = 0x01; return b }(), noIdent: true},
		{name: "uncommon props", in: func() []byte { b := append([]byte(nil), p9...); b[0] = 0x5f; return b }(), noIdent: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s, n, err := fwtest.Run(t.Context(), New(), tc.in, 1<<24)
			if tc.noIdent {
				if err == nil {
					t.Fatal("identified, want rejection")
				}
				return
			}
			if tc.wantErr {
				if !errors.Is(err, ErrTruncated) {
					t.Fatalf("err = %v, want ErrTruncated", err)
				}
				// The decoder hands out data in large pieces, so a short
				// truncated stream may yield nothing.
				if len(s.Items) != 1 || !bytes.HasPrefix(plain, s.Items[0].Data) {
					t.Errorf("want a prefix of the content put")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(s.Items) != 1 || s.Items[0].Type != firmware.TypeFile {
				t.Fatalf("items %+v", s.Items)
			}
			if !bytes.Equal(s.Items[0].Data, plain) {
				t.Errorf("content: %d bytes, want %d", len(s.Items[0].Data), len(plain))
			}
			if n != tc.wantLen {
				t.Errorf("length %d, want %d", n, tc.wantLen)
			}
		})
	}
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
	for _, name := range []string{"plain.lzma", "lp2.lzma", "dict48k.lzma"} {
		f.Add(readFixture(f, name))
	}
	f.Add(knownSize(f, []byte("hello hello hello hello hello hello hello hello hello hello hello hello hello")))
	f.Fuzz(func(t *testing.T, b []byte) {
		fwtest.Fuzz(t.Context(), New(), b)
	})
}
