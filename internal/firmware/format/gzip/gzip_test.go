package gzip

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"runtime"
	"testing"
	"time"

	"github.com/klauspost/compress/flate"
	kgzip "github.com/klauspost/compress/gzip"

	"github.com/netvet/netvet/internal/firmware"
	"github.com/netvet/netvet/internal/firmware/fwtest"
)

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
	plain := fwtest.Fixture(t, "plain.txt")
	named := fwtest.ReadFile(t, "testdata/named.gz")
	hcrc := hcrcMember(t, "fw.bin", plain[:1000])
	badHcrc := append([]byte(nil), hcrc...)
	badHcrc[17]++ // header CRC byte
	trailing := append(append([]byte(nil), named...), []byte("\xff\xff\xff\xffnot gzip")...)
	twoThenJunk := append(append(append([]byte(nil), fwtest.ReadFile(t, "testdata/noname.gz")...), hcrc...), 0x1f, 0x8b, 8, 0, 0)
	fwtest.RunStreamCases(t, New, 1<<24, []fwtest.StreamCase{
		{Name: "named", In: named, Path: "plain.txt", Want: plain, Len: int64(len(named))},
		{Name: "noname", In: fwtest.ReadFile(t, "testdata/noname.gz"), Want: plain},
		{Name: "multi-member", In: fwtest.ReadFile(t, "testdata/multi.gz"), Want: plain},
		{Name: "empty", In: fwtest.ReadFile(t, "testdata/empty.gz"), Want: []byte{}, Len: 20},
		{Name: "fhcrc", In: hcrc, Path: "fw.bin", Want: plain[:1000], Len: int64(len(hcrc))},
		{Name: "bad header crc", In: badHcrc, NoIdent: true},
		{Name: "trailing data", In: trailing, Path: "plain.txt", Want: plain, Len: int64(len(named))},
		{Name: "two members then junk", In: twoThenJunk, Want: append(append([]byte(nil), plain...), plain[:1000]...), Len: int64(len(twoThenJunk) - 5)},
		{Name: "truncated", In: named[:len(named)/2], Path: "plain.txt", Want: plain, Err: fwtest.ErrAny, Partial: fwtest.MustPutSome},
		{Name: "bad crc", In: func() []byte { b := append([]byte(nil), named...); b[len(b)-6]++; return b }(), Path: "plain.txt", Want: plain, Err: fwtest.ErrAny, Partial: fwtest.MustPutAll},
		{Name: "not gzip", In: []byte("\x1f\x8b\x08\x00garbage garbage garbage"), NoIdent: true},
	})
}

func TestModTime(t *testing.T) {
	s, _, err := fwtest.Run(t.Context(), New(), fwtest.ReadFile(t, "testdata/named.gz"), 1<<20)
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
	_, _, err := fwtest.Run(ctx, New(), fwtest.ReadFile(t, "testdata/named.gz"), 1<<20)
	if err == nil {
		t.Fatal("no error with a cancelled context")
	}
}

func BenchmarkExtract(b *testing.B) {
	plain := fwtest.Fixture(b, "plain.txt")
	var buf bytes.Buffer
	w, _ := kgzip.NewWriterLevel(&buf, 6)
	for i := 0; i < 160; i++ { // about 8 MB
		w.Write(plain)
	}
	w.Close()
	in := buf.Bytes()
	b.SetBytes(int64(160 * len(plain)))
	for b.Loop() {
		_, err := New().Extract(b.Context(), bytes.NewReader(in), int64(len(in)), &fwtest.Discard{})
		if err != nil {
			b.Fatal(err)
		}
	}
}

func FuzzExtract(f *testing.F) {
	var seeds [][]byte
	for _, name := range []string{"named.gz", "noname.gz", "multi.gz", "empty.gz"} {
		// Read as they are: fwtest.Fixture would gunzip them.
		seeds = append(seeds, fwtest.ReadFile(f, "testdata/"+name))
	}
	fwtest.FuzzExtract(f, New, append(seeds, hcrcMember(f, "x", []byte("hello hello hello")))...)
}
