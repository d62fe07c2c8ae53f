package zlib

import (
	"bytes"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	kzlib "github.com/klauspost/compress/zlib"

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

func TestExtract(t *testing.T) {
	plain := readFixture(t, "plain.txt")
	l9 := readFixture(t, "level9.zlib")
	cases := []struct {
		name    string
		in      []byte
		want    []byte
		wantLen int64
		wantErr bool
		noIdent bool
	}{
		{name: "level9", in: l9, want: plain, wantLen: int64(len(l9))},
		{name: "level1", in: readFixture(t, "level1.zlib"), want: plain, wantLen: int64(len(readFixture(t, "level1.zlib")))},
		{name: "window 8k", in: readFixture(t, "window8k.zlib"), want: plain, wantLen: int64(len(readFixture(t, "window8k.zlib")))},
		{name: "empty", in: readFixture(t, "empty.zlib"), want: []byte{}, wantLen: 8},
		{name: "trailing data", in: append(append([]byte(nil), l9...), "\x00\x00\xffjunk"...), want: plain, wantLen: int64(len(l9))},
		{name: "truncated", in: l9[:len(l9)-100], wantErr: true},
		{name: "bad adler", in: func() []byte { b := append([]byte(nil), l9...); b[len(b)-1]++; return b }(), want: plain, wantErr: true},
		{name: "preset dictionary", in: []byte{0x78, 0xbb, 0, 0, 0, 1, 3, 0, 0, 0, 0, 1}, noIdent: true},
		{name: "text after magic", in: []byte("x\x9cthis is not a deflate stream at all, just text that follows"), noIdent: true},
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
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tc.wantErr)
			}
			if len(s.Items) != 1 || s.Items[0].Type != firmware.TypeFile || s.Items[0].Path != "" {
				t.Fatalf("items %+v", s.Items)
			}
			got := s.Items[0].Data
			if tc.wantErr {
				if len(got) == 0 || !bytes.HasPrefix(plain, got) {
					t.Errorf("partial content: %d bytes, not a prefix of the original", len(got))
				}
				return
			}
			if !bytes.Equal(got, tc.want) {
				t.Errorf("content: %d bytes, want %d", len(got), len(tc.want))
			}
			if n != tc.wantLen {
				t.Errorf("length %d, want %d", n, tc.wantLen)
			}
		})
	}
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
	for _, name := range []string{"level9.zlib", "level1.zlib", "window8k.zlib", "empty.zlib"} {
		f.Add(readFixture(f, name))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		fwtest.Fuzz(t.Context(), New(), b)
	})
}
