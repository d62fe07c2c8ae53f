package lz4

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"testing"

	plz4 "github.com/pierrec/lz4/v4"

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

// kernelLegacy builds a legacy stream the way the kernel build does
// (lz4 -l) and appends the 4-byte uncompressed size.
func kernelLegacy(t testing.TB, data []byte) []byte {
	out := binary.LittleEndian.AppendUint32(nil, legacyMagic)
	for len(data) > 0 {
		n := min(len(data), legacyBlock)
		buf := make([]byte, plz4.CompressBlockBound(n))
		k, err := plz4.CompressBlock(data[:n], buf, nil)
		if err != nil || k == 0 {
			t.Fatal("compress", err)
		}
		out = binary.LittleEndian.AppendUint32(out, uint32(k))
		out = append(out, buf[:k]...)
		data = data[n:]
	}
	return out
}

func TestExtract(t *testing.T) {
	plain := readFixture(t, "plain.txt")
	p := readFixture(t, "plain.lz4")
	leg := readFixture(t, "legacy.lz4")
	big := bytes.Repeat(plain, 200) // about 10 MB: two legacy blocks
	kl := kernelLegacy(t, big)
	cases := []struct {
		name    string
		in      []byte
		want    []byte
		wantLen int64
		wantErr bool
		noIdent bool
	}{
		{name: "frame", in: p, want: plain},
		{name: "content size and block checksums", in: readFixture(t, "checks.lz4"), want: plain},
		{name: "two frames and a skippable frame", in: readFixture(t, "multi.lz4"), want: plain},
		{name: "empty", in: readFixture(t, "empty.lz4"), want: []byte{}},
		{name: "legacy", in: leg, want: plain},
		{name: "legacy, kernel size appended", in: append(append([]byte(nil), kl...), 0x40, 0x0a, 0x98, 0x00), want: big, wantLen: int64(len(kl))},
		{name: "trailing data", in: append(append([]byte(nil), p...), "junk"...), want: plain, wantLen: int64(len(p))},
		{name: "truncated", in: p[:len(p)-300], wantErr: true},
		{name: "bad descriptor checksum", in: func() []byte { b := append([]byte(nil), p...); b[6]++; return b }(), noIdent: true},
		{name: "legacy block past end", in: []byte{0x02, 0x21, 0x4c, 0x18, 0xff, 0xff, 0, 0, 1, 2, 3}, noIdent: true},
		{name: "legacy corrupt block", in: []byte{0x02, 0x21, 0x4c, 0x18, 4, 0, 0, 0, 0xff, 0xff, 0xff, 0xff}, wantErr: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s, n, err := fwtest.Run(t.Context(), New(), tc.in, 1<<26)
			if tc.noIdent {
				if err == nil {
					t.Fatal("identified, want rejection")
				}
				return
			}
			if n < 0 || n > int64(len(tc.in)) {
				t.Fatalf("length %d out of range", n)
			}
			if tc.wantErr {
				if !errors.Is(err, ErrTruncated) {
					t.Fatalf("err = %v, want ErrTruncated", err)
				}
				for _, it := range s.Items {
					if !bytes.HasPrefix(plain, it.Data) {
						t.Errorf("partial content is not a prefix of the original")
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(s.Items) != 1 || s.Items[0].Type != firmware.TypeFile {
				t.Fatalf("items %+v", s.Items)
			}
			if !bytes.Equal(s.Items[0].Data, tc.want) {
				t.Errorf("content: %d bytes, want %d", len(s.Items[0].Data), len(tc.want))
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

func FuzzExtract(f *testing.F) {
	for _, name := range []string{"plain.lz4", "checks.lz4", "multi.lz4", "legacy.lz4", "empty.lz4"} {
		f.Add(readFixture(f, name))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		fwtest.Fuzz(t.Context(), New(), b)
	})
}
