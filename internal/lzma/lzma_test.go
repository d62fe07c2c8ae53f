package lzma

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/iotest"
)

// fixture is a compressed file from testdata and the data it decodes to.
type fixture struct {
	name string
	comp []byte
	want []byte
}

// loadFixtures reads testdata/NAME.VARIANT.{xz,lzma}, each decoding to
// testdata/NAME.bin.
func loadFixtures(t testing.TB, ext string) []fixture {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join("testdata", "*."+ext))
	if err != nil || len(paths) == 0 {
		t.Fatalf("no %s fixtures: %v", ext, err)
	}
	var fs []fixture
	for _, p := range paths {
		base := filepath.Base(p)
		comp, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		want, err := os.ReadFile(filepath.Join("testdata", strings.SplitN(base, ".", 2)[0]+".bin"))
		if err != nil {
			t.Fatal(err)
		}
		fs = append(fs, fixture{base, comp, want})
	}
	return fs
}

func TestDecodeXZFixtures(t *testing.T) {
	for _, f := range loadFixtures(t, "xz") {
		t.Run(f.name, func(t *testing.T) {
			dst := make([]byte, len(f.want)+100)
			n, err := DecodeXZ(dst, f.comp)
			if err != nil {
				t.Fatalf("DecodeXZ: %v", err)
			}
			if !bytes.Equal(dst[:n], f.want) {
				t.Fatalf("DecodeXZ: output differs (%d bytes, want %d)", n, len(f.want))
			}
			// Exact-size destination works; one byte less fails cleanly.
			dst = make([]byte, len(f.want))
			if n, err := DecodeXZ(dst, f.comp); err != nil || n != len(f.want) {
				t.Fatalf("exact dst: n=%d err=%v", n, err)
			}
			if len(f.want) > 0 {
				if _, err := DecodeXZ(dst[:len(dst)-1], f.comp); !errors.Is(err, ErrShortBuffer) {
					t.Fatalf("short dst: err=%v, want ErrShortBuffer", err)
				}
			}
		})
	}
}

func TestDecodeLZMAFixtures(t *testing.T) {
	for _, f := range loadFixtures(t, "lzma") {
		t.Run(f.name, func(t *testing.T) {
			for _, extra := range []int{0, 100} {
				dst := make([]byte, len(f.want)+extra)
				n, err := DecodeLZMA(dst, f.comp)
				if err != nil {
					t.Fatalf("DecodeLZMA (dst +%d): %v", extra, err)
				}
				if !bytes.Equal(dst[:n], f.want) {
					t.Fatalf("DecodeLZMA: output differs (%d bytes, want %d)", n, len(f.want))
				}
			}
			if len(f.want) > 0 {
				dst := make([]byte, len(f.want)-1)
				if _, err := DecodeLZMA(dst, f.comp); !errors.Is(err, ErrShortBuffer) {
					t.Fatalf("short dst: err=%v, want ErrShortBuffer", err)
				}
			}
		})
	}
}

var _ = io.EOF

// readAllSmall reads r with a small buffer, as a cautious caller would.
func readAllSmall(r io.Reader, chunk int) ([]byte, error) {
	var out bytes.Buffer
	buf := make([]byte, chunk)
	for {
		n, err := r.Read(buf)
		out.Write(buf[:n])
		if err == io.EOF {
			return out.Bytes(), nil
		}
		if err != nil {
			return out.Bytes(), err
		}
	}
}

func TestXZReaderFixtures(t *testing.T) {
	for _, f := range loadFixtures(t, "xz") {
		t.Run(f.name, func(t *testing.T) {
			for _, tc := range []struct {
				name  string
				wrap  func(io.Reader) io.Reader
				chunk int
			}{
				{"plain", func(r io.Reader) io.Reader { return r }, 32 << 10},
				{"onebyte", iotest.OneByteReader, 7},
				{"half", iotest.HalfReader, 1000},
			} {
				// Trailing non-xz data must be left alone.
				src := append(append([]byte{}, f.comp...), "JUNK!"...)
				zr, err := NewXZReader(tc.wrap(bytes.NewReader(src)), 1<<26)
				if err != nil {
					t.Fatalf("%s: NewXZReader: %v", tc.name, err)
				}
				got, err := readAllSmall(zr, tc.chunk)
				if err != nil {
					t.Fatalf("%s: read: %v", tc.name, err)
				}
				if !bytes.Equal(got, f.want) {
					t.Fatalf("%s: output differs (%d bytes, want %d)", tc.name, len(got), len(f.want))
				}
				if zr.Consumed() != int64(len(f.comp)) {
					t.Fatalf("%s: Consumed = %d, want %d", tc.name, zr.Consumed(), len(f.comp))
				}
			}
		})
	}
}

func TestLZMAReaderFixtures(t *testing.T) {
	for _, f := range loadFixtures(t, "lzma") {
		t.Run(f.name, func(t *testing.T) {
			for _, wrap := range []func(io.Reader) io.Reader{
				func(r io.Reader) io.Reader { return r }, iotest.OneByteReader, iotest.DataErrReader,
			} {
				zr, err := NewLZMAReader(wrap(bytes.NewReader(f.comp)), 1<<26)
				if err != nil {
					t.Fatalf("NewLZMAReader: %v", err)
				}
				got, err := readAllSmall(zr, 333)
				if err != nil {
					t.Fatalf("read: %v", err)
				}
				if !bytes.Equal(got, f.want) {
					t.Fatalf("output differs (%d bytes, want %d)", len(got), len(f.want))
				}
				if zr.Consumed() != int64(len(f.comp)) {
					t.Fatalf("Consumed = %d, want %d", zr.Consumed(), len(f.comp))
				}
			}
		})
	}
}

func TestZeroLengthRead(t *testing.T) {
	comp, _ := os.ReadFile("testdata/code.x86.xz")
	zr, err := NewXZReader(bytes.NewReader(comp), 1<<26)
	if err != nil {
		t.Fatal(err)
	}
	if n, err := zr.Read(nil); n != 0 || err != nil {
		t.Fatalf("Read(nil) = %d, %v", n, err)
	}
	lr, err := NewLZMAReader(bytes.NewReader(mustRead(t, "testdata/text.alone.lzma")), 1<<26)
	if err != nil {
		t.Fatal(err)
	}
	if n, err := lr.Read(nil); n != 0 || err != nil {
		t.Fatalf("Read(nil) = %d, %v", n, err)
	}
}

func mustRead(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
