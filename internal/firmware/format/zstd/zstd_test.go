package zstd

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"

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
	p := readFixture(t, "plain.zst")
	cases := []struct {
		name    string
		in      []byte
		want    []byte
		wantLen int64
		wantErr bool
		noIdent bool
	}{
		{name: "level 19 with checksum", in: p, want: plain},
		{name: "no checksum", in: readFixture(t, "nocheck.zst"), want: plain},
		{name: "two frames and a skippable frame", in: readFixture(t, "multi.zst"), want: plain},
		{name: "leading skippable frame", in: readFixture(t, "skipfirst.zst"), want: plain},
		{name: "empty", in: readFixture(t, "empty.zst"), want: []byte{}},
		{name: "trailing data", in: append(append([]byte(nil), p...), "\x00\x00junk"...), want: plain, wantLen: int64(len(p))},
		{name: "truncated", in: p[:len(p)-300], wantErr: true},
		{name: "bad checksum", in: func() []byte { b := append([]byte(nil), p...); b[len(b)-1]++; return b }(), wantErr: true},
		{name: "skippable only", in: []byte("\x50\x2a\x4d\x18\x04\x00\x00\x00abcd"), noIdent: true},
		{name: "reserved bit", in: func() []byte { b := append([]byte(nil), p...); b[4] |= 8; return b }(), noIdent: true},
		{name: "block size past end", in: []byte("\x28\xb5\x2f\xfd\x20\x05\x04\xff\x00"), wantErr: true},
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
			if n < 0 || n > int64(len(tc.in)) {
				t.Fatalf("length %d out of range", n)
			}
			if tc.wantErr {
				if !errors.Is(err, ErrTruncated) && !errors.Is(err, ErrHeader) {
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
	for _, name := range []string{"plain.zst", "nocheck.zst", "multi.zst", "skipfirst.zst", "empty.zst"} {
		f.Add(readFixture(f, name))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		fwtest.Fuzz(t.Context(), New(), b)
	})
}
