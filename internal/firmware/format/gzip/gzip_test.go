package gzip

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/klauspost/compress/flate"
	kgzip "github.com/klauspost/compress/gzip"

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

// hcrcMember builds a member with FHCRC and FNAME set, which gzip(1) never writes.
func hcrcMember(t testing.TB, name string, data []byte) []byte {
	t.Helper()
	h := []byte{0x1f, 0x8b, 8, 0x02 | 0x08, 0, 0, 0, 0, 0, 3}
	h = append(h, name...)
	h = append(h, 0)
	h = binary.LittleEndian.AppendUint16(h, uint16(crc32.ChecksumIEEE(h)))
	var body bytes.Buffer
	fw, _ := flate.NewWriter(&body, 6)
	fw.Write(data)
	fw.Close()
	out := append(h, body.Bytes()...)
	out = binary.LittleEndian.AppendUint32(out, crc32.ChecksumIEEE(data))
	return binary.LittleEndian.AppendUint32(out, uint32(len(data)))
}

func TestExtract(t *testing.T) {
	plain := readFixture(t, "plain.txt")
	named := readFixture(t, "named.gz")
	hcrc := hcrcMember(t, "fw.bin", plain[:1000])
	badHcrc := append([]byte(nil), hcrc...)
	badHcrc[17]++ // header CRC byte
	trailing := append(append([]byte(nil), named...), []byte("\xff\xff\xff\xffnot gzip")...)
	twoThenJunk := append(append(append([]byte(nil), readFixture(t, "noname.gz")...), hcrc...), 0x1f, 0x8b, 8, 0, 0)
	cases := []struct {
		name     string
		in       []byte
		wantPath string
		want     []byte
		wantLen  int64
		wantErr  bool
		noIdent  bool
	}{
		{name: "named", in: named, wantPath: "plain.txt", want: plain, wantLen: int64(len(named))},
		{name: "noname", in: readFixture(t, "noname.gz"), want: plain, wantLen: int64(len(readFixture(t, "noname.gz")))},
		{name: "multi-member", in: readFixture(t, "multi.gz"), want: plain, wantLen: int64(len(readFixture(t, "multi.gz")))},
		{name: "empty", in: readFixture(t, "empty.gz"), want: []byte{}, wantLen: 20},
		{name: "fhcrc", in: hcrc, wantPath: "fw.bin", want: plain[:1000], wantLen: int64(len(hcrc))},
		{name: "bad header crc", in: badHcrc, noIdent: true},
		{name: "trailing data", in: trailing, wantPath: "plain.txt", want: plain, wantLen: int64(len(named))},
		{name: "two members then junk", in: twoThenJunk, want: append(append([]byte(nil), plain...), plain[:1000]...), wantLen: int64(len(twoThenJunk) - 5)},
		{name: "truncated", in: named[:len(named)/2], wantPath: "plain.txt", wantErr: true},
		{name: "bad crc", in: func() []byte { b := append([]byte(nil), named...); b[len(b)-6]++; return b }(), wantPath: "plain.txt", want: plain, wantErr: true},
		{name: "not gzip", in: []byte("\x1f\x8b\x08\x00garbage garbage garbage"), noIdent: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s, n, err := fwtest.Run(t.Context(), New(), tc.in, 1<<24)
			if tc.noIdent {
				if err == nil {
					t.Fatalf("identified, want rejection")
				}
				return
			}
			if tc.wantErr {
				if err == nil {
					t.Fatalf("no error")
				}
				if n < 0 || n > int64(len(tc.in)) {
					t.Fatalf("length %d out of range", n)
				}
			} else if err != nil {
				t.Fatal(err)
			}
			if len(s.Items) != 1 {
				t.Fatalf("got %d items, want 1 (failed %v)", len(s.Items), s.Failed)
			}
			it := s.Items[0]
			if it.Path != tc.wantPath || it.Type != firmware.TypeFile {
				t.Errorf("path %q type %v, want %q file", it.Path, it.Type, tc.wantPath)
			}
			if tc.want != nil && !bytes.Equal(it.Data, tc.want) {
				t.Errorf("content: got %d bytes, want %d", len(it.Data), len(tc.want))
			}
			if tc.wantErr {
				if len(it.Data) == 0 && tc.want == nil {
					t.Errorf("truncated stream put nothing")
				}
				return
			}
			if n != tc.wantLen {
				t.Errorf("length %d, want %d", n, tc.wantLen)
			}
		})
	}
}

func TestModTime(t *testing.T) {
	s, _, err := fwtest.Run(t.Context(), New(), readFixture(t, "named.gz"), 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	if got := s.Items[0].ModTime; !got.Equal(time.Unix(1700000000, 0)) {
		t.Errorf("mtime %v", got)
	}
}

func bomb(t testing.TB, n int) []byte {
	var buf bytes.Buffer
	w, _ := kgzip.NewWriterLevel(&buf, kgzip.BestSpeed)
	zero := make([]byte, 1<<20)
	for i := 0; i < n>>20; i++ {
		w.Write(zero)
	}
	w.Close()
	return buf.Bytes()
}

func TestBomb(t *testing.T) {
	b := bomb(t, 64<<20)
	var before runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	start := time.Now()
	_, _, err := fwtest.Run(t.Context(), New(), b, 1<<20)
	if !errors.Is(err, firmware.ErrLimit) {
		t.Fatalf("err = %v, want ErrLimit", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("took %v to hit the limit", d)
	}
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 32<<20 {
		t.Errorf("allocated %d bytes for a 1 MiB budget", grew)
	}
}

func TestCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, _, err := fwtest.Run(ctx, New(), readFixture(t, "named.gz"), 1<<20)
	if err == nil {
		t.Fatal("no error with a cancelled context")
	}
}

func BenchmarkExtract(b *testing.B) {
	plain := readFixture(b, "plain.txt")
	var buf bytes.Buffer
	w, _ := kgzip.NewWriterLevel(&buf, 6)
	for i := 0; i < 160; i++ { // about 8 MB
		w.Write(plain)
	}
	w.Close()
	in := buf.Bytes()
	b.SetBytes(int64(160 * len(plain)))
	for b.Loop() {
		_, err := New().Extract(b.Context(), bytes.NewReader(in), int64(len(in)), discard{})
		if err != nil {
			b.Fatal(err)
		}
	}
}

type discard struct{}

func (discard) Put(_ context.Context, _ firmware.Entry, r io.Reader) error {
	if r != nil {
		_, err := io.Copy(io.Discard, r)
		return err
	}
	return nil
}
func (discard) Fail(firmware.Entry, error) {}

func FuzzExtract(f *testing.F) {
	for _, name := range []string{"named.gz", "noname.gz", "multi.gz", "empty.gz"} {
		f.Add(readFixture(f, name))
	}
	f.Add(hcrcMember(f, "x", []byte("hello hello hello")))
	f.Fuzz(func(t *testing.T, b []byte) {
		fwtest.Fuzz(t.Context(), New(), b)
	})
}
