package bzip2

import (
	"bytes"
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
	one := readFixture(t, "plain.bz2")
	multi := readFixture(t, "multi.bz2")
	cases := []struct {
		name    string
		in      []byte
		want    []byte
		wantLen int64
		wantErr bool
		noIdent bool
	}{
		{name: "single", in: one, want: plain, wantLen: int64(len(one))},
		{name: "multi-stream", in: multi, want: plain, wantLen: int64(len(multi))},
		{name: "empty", in: readFixture(t, "empty.bz2"), want: []byte{}, wantLen: 14},
		{name: "trailing data", in: append(append([]byte(nil), one...), "\xff\xff\xff\xffjunk"...), want: plain, wantLen: int64(len(one))},
		{name: "trailing zeros", in: append(append([]byte(nil), multi...), make([]byte, 100)...), want: plain, wantLen: int64(len(multi))},
		{name: "truncated", in: one[:len(one)/2], wantErr: true},
		{name: "truncated second stream", in: multi[:len(multi)-200], wantErr: true},
		{name: "bad magic", in: []byte("BZh9AAAAAAAAAAAAAAAAAAAAAA"), noIdent: true},
		{name: "bad level", in: append([]byte("BZh0"), one[4:]...), noIdent: true},
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
			if n < 0 || n > int64(len(tc.in)) {
				t.Fatalf("length %d out of range", n)
			}
			if len(s.Items) != 1 || s.Items[0].Type != firmware.TypeFile {
				t.Fatalf("items %+v", s.Items)
			}
			got := s.Items[0].Data
			if tc.wantErr {
				if !bytes.HasPrefix(plain, got) {
					t.Errorf("partial content is not a prefix of the original")
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

func FuzzExtract(f *testing.F) {
	for _, name := range []string{"plain.bz2", "multi.bz2", "empty.bz2"} {
		f.Add(readFixture(f, name))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		fwtest.Fuzz(t.Context(), New(), b)
	})
}
