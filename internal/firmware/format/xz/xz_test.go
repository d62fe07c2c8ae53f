package xz

import (
	"bytes"
	"context"
	"errors"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"testing"

	uxz "github.com/ulikunitz/xz"

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
	full := func(name string) []byte { return readFixture(t, name) }
	c64 := full("crc64.xz")
	cases := []struct {
		name    string
		in      []byte
		want    []byte
		wantLen int64
		wantErr error
		noIdent bool
	}{
		{name: "crc64", in: c64, want: plain},
		{name: "crc32", in: full("crc32.xz"), want: plain},
		{name: "none", in: full("none.xz"), want: plain},
		{name: "sha256", in: full("sha256.xz"), want: plain},
		{name: "blocks", in: full("blocks.xz"), want: plain},
		{name: "concatenated with padding", in: full("concat.xz"), want: plain},
		{name: "empty", in: full("empty.xz"), want: []byte{}},
		{name: "trailing data", in: append(append([]byte(nil), c64...), "\x00\x00\x00\x00junk"...), want: plain, wantLen: int64(len(c64))},
		{name: "truncated", in: c64[:len(c64)/2], wantErr: ErrTruncated},
		{name: "truncated footer", in: c64[:len(c64)-3], wantErr: ErrTruncated},
		{name: "bad check", in: func() []byte { b := append([]byte(nil), c64...); b[len(b)-30]++; return b }(), wantErr: ErrTruncated},
		{name: "delta filter", in: full("delta.xz"), wantErr: ErrUnsupported},
		{name: "bad header crc", in: func() []byte { b := append([]byte(nil), c64...); b[8]++; return b }(), noIdent: true},
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
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("err = %v, want %v", err, tc.wantErr)
				}
				if n < 0 || n > int64(len(tc.in)) {
					t.Fatalf("length %d out of range", n)
				}
				if len(s.Items) == 1 && !bytes.HasPrefix(plain, s.Items[0].Data) {
					t.Errorf("partial content is not a prefix of the original")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(s.Items) != 1 || s.Items[0].Type != firmware.TypeFile {
				t.Fatalf("items %+v", s.Items)
			}
			if got := s.Items[0].Data; !bytes.Equal(got, tc.want) {
				t.Errorf("content: %d bytes, want %d", len(got), len(tc.want))
			}
			wantLen := tc.wantLen
			if wantLen == 0 {
				wantLen = int64(len(tc.in))
			}
			if n != wantLen {
				t.Errorf("length %d, want %d", n, wantLen)
			}
		})
	}
}

func TestBranchFilters(t *testing.T) {
	raw := readFixture(t, "bcj.raw")
	for _, f := range []string{"x86", "x86-start", "powerpc", "arm", "armthumb", "sparc"} {
		t.Run(f, func(t *testing.T) {
			in := readFixture(t, "bcj-"+f+".xz")
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
	b := append([]byte(nil), readFixture(t, "crc64.xz")...)
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
	plain := readFixture(b, "plain.txt")
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
		n := &countSink{}
		if _, err := New().Extract(b.Context(), bytes.NewReader(in), int64(len(in)), n); err != nil {
			b.Fatal(err)
		}
		out = n.n
	}
	b.SetBytes(out)
}

type countSink struct{ n int64 }

func (c *countSink) Put(_ context.Context, _ firmware.Entry, r io.Reader) error {
	n, err := io.Copy(io.Discard, r)
	c.n += n
	return err
}
func (*countSink) Fail(firmware.Entry, error) {}

func FuzzExtract(f *testing.F) {
	for _, name := range []string{"crc64.xz", "crc32.xz", "none.xz", "sha256.xz", "blocks.xz", "concat.xz", "empty.xz", "bcj-x86.xz", "bcj-armthumb.xz"} {
		f.Add(readFixture(f, name))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		fwtest.Fuzz(t.Context(), New(), b)
	})
}

func crc32IEEE(b []byte) uint32 { return crc32.ChecksumIEEE(b) }
