package lzma

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/ulikunitz/xz"
	ulzma "github.com/ulikunitz/xz/lzma"
)

// realData returns up to n bytes of shared libraries from the build host,
// or nil when there are none.
func realData(tb testing.TB, n int) []byte {
	tb.Helper()
	paths, _ := filepath.Glob("/usr/lib/x86_64-linux-gnu/*.so*")
	var out []byte
	for _, p := range paths {
		if len(out) >= n {
			break
		}
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		out = append(out, b[:min(len(b), n-len(out), 1<<20)]...)
	}
	return out
}

// mixedData interleaves compressible text, random bytes (LZMA2 stores those
// in uncompressed chunks) and long runs.
func mixedData(seed uint64, n int) []byte {
	r := rand.New(rand.NewPCG(seed, 7))
	var b []byte
	words := []string{"alpha ", "beta ", "gamma ", "delta\n", "epsilon ", "0x1F ", "{}"}
	for len(b) < n {
		switch r.IntN(4) {
		case 0:
			for k := r.IntN(200000); k > 0; k-- {
				b = append(b, byte(r.Uint32()))
			}
		case 1:
			for k := r.IntN(30000); k > 0; k-- {
				b = append(b, words[r.IntN(len(words))]...)
			}
		case 2:
			b = append(b, bytes.Repeat([]byte{byte(r.IntN(256))}, r.IntN(5000))...)
		default:
			if len(b) > 10 {
				s := r.IntN(len(b))
				b = append(b, b[s:min(len(b), s+r.IntN(70000))]...)
			}
		}
	}
	return b[:n]
}

func xzCLI(t *testing.T, data []byte, args ...string) []byte {
	t.Helper()
	if _, err := exec.LookPath("xz"); err != nil {
		t.Skip("xz not installed")
	}
	cmd := exec.Command("xz", append([]string{"-c", "-q", "-T1"}, args...)...)
	cmd.Stdin = bytes.NewReader(data)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("xz %v: %v", args, err)
	}
	return out
}

// checkXZ decodes comp with both entry points and compares with want.
func checkXZ(t *testing.T, comp, want []byte, maxDict int) {
	t.Helper()
	dst := make([]byte, len(want))
	n, err := DecodeXZ(dst, comp)
	if err != nil || !bytes.Equal(dst[:n], want) {
		t.Fatalf("DecodeXZ: n=%d/%d err=%v equal=%v", n, len(want), err, bytes.Equal(dst[:n], want))
	}
	zr, err := NewXZReader(bytes.NewReader(comp), maxDict)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(zr)
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("XZReader: %d/%d bytes err=%v", len(got), len(want), err)
	}
	if zr.Consumed() != int64(len(comp)) {
		t.Fatalf("Consumed = %d, want %d", zr.Consumed(), len(comp))
	}
}

func TestXZCLIDifferential(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: compresses megabytes with the xz CLI")
	}
	real := realData(t, 3<<19)
	mixed := mixedData(1, 3<<19)
	for _, tc := range []struct {
		name string
		data []byte
		args []string
	}{
		{"real-6", real, []string{"-6"}},
		{"real-smalldict", real, []string{"--lzma2=preset=6,dict=64KiB"}},
		{"real-x86", real, []string{"--x86", "--lzma2=preset=2,dict=256KiB"}},
		{"real-blocks", real, []string{"-1", "--block-size=100000", "--check=sha256"}},
		{"mixed-6", mixed, []string{"-6"}},
		{"mixed-0-smalldict", mixed, []string{"--lzma2=preset=0,dict=4KiB"}},
		{"mixed-delta", mixed, []string{"--delta=dist=7", "--lzma2=preset=1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if len(tc.data) == 0 {
				t.Skip("no data")
			}
			comp := xzCLI(t, tc.data, tc.args...)
			checkXZ(t, comp, tc.data, 1<<26)
		})
	}
	t.Run("lzma-alone", func(t *testing.T) {
		for _, data := range [][]byte{real, mixed} {
			comp := xzCLI(t, data, "--format=lzma", "--lzma1=preset=6,dict=128KiB")
			dst := make([]byte, len(data))
			n, err := DecodeLZMA(dst, comp)
			if err != nil || !bytes.Equal(dst[:n], data) {
				t.Fatalf("DecodeLZMA: n=%d err=%v", n, err)
			}
			zr, err := NewLZMAReader(bytes.NewReader(comp), 1<<20)
			if err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(zr)
			if err != nil || !bytes.Equal(got, data) {
				t.Fatalf("LZMAReader: %d bytes err=%v", len(got), err)
			}
			if zr.Consumed() != int64(len(comp)) {
				t.Fatalf("Consumed = %d, want %d", zr.Consumed(), len(comp))
			}
		}
	})
}

// TestUlikunitzDifferential encodes with github.com/ulikunitz/xz (known-size
// .lzma without end marker, which the xz CLI never writes) and decodes with
// both implementations.
func TestUlikunitzDifferential(t *testing.T) {
	for seed := uint64(1); seed <= 4; seed++ {
		data := mixedData(seed, 300000+int(seed)*77777)
		for _, eos := range []bool{false, true} {
			var buf bytes.Buffer
			cfg := ulzma.WriterConfig{DictCap: 1 << 16, Size: int64(len(data)), EOSMarker: eos,
				Properties: &ulzma.Properties{LC: int(seed % 4), LP: int(seed % 2), PB: int(seed % 5)}}
			w, err := cfg.NewWriter(&buf)
			if err != nil {
				t.Fatal(err)
			}
			w.Write(data)
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			dst := make([]byte, len(data))
			n, err := DecodeLZMA(dst, buf.Bytes())
			if err != nil || !bytes.Equal(dst[:n], data) {
				t.Fatalf("seed %d eos %v: DecodeLZMA n=%d err=%v", seed, eos, n, err)
			}
			zr, err := NewLZMAReader(bytes.NewReader(buf.Bytes()), 1<<16)
			if err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(zr)
			if err != nil || !bytes.Equal(got, data) {
				t.Fatalf("seed %d: LZMAReader %d bytes err=%v", seed, len(got), err)
			}
		}
		var buf bytes.Buffer
		w, err := xz.WriterConfig{DictCap: 1 << 20, BlockSize: 1 << 17}.NewWriter(&buf)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(data)
		w.Close()
		checkXZ(t, buf.Bytes(), data, 1<<20)
		// And ulikunitz agrees on what the stream holds.
		ur, err := xz.NewReader(bytes.NewReader(buf.Bytes()))
		if err != nil {
			t.Fatal(err)
		}
		ref, err := io.ReadAll(ur)
		if err != nil || !bytes.Equal(ref, data) {
			t.Fatalf("ulikunitz disagrees: %v", err)
		}
	}
}

// TestCorruptDifferential flips bytes in valid streams: decoding must never
// panic, and whenever both decoders accept a stream they agree.
func TestCorruptDifferential(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, f := range loadFixtures(t, "xz") {
		if len(f.comp) < 40 {
			continue
		}
		for k := 0; k < 30; k++ {
			c := append([]byte{}, f.comp...)
			for j := 1 + r.IntN(3); j > 0; j-- {
				c[r.IntN(len(c))] ^= byte(1 + r.IntN(255))
			}
			dst := make([]byte, len(f.want)+1000)
			n, err := DecodeXZ(dst, c)
			zr, err2 := NewXZReader(bytes.NewReader(c), 1<<20)
			var got []byte
			if err2 == nil {
				got, err2 = io.ReadAll(zr)
			}
			if (err == nil) != (err2 == nil) {
				t.Fatalf("%s: one-shot err %v, streaming err %v", f.name, err, err2)
			}
			if err == nil && !bytes.Equal(dst[:n], got) {
				t.Fatalf("%s: one-shot and streaming outputs differ", f.name)
			}
			ur, uerr := xz.NewReader(bytes.NewReader(c))
			if uerr == nil && err == nil {
				ref, uerr := io.ReadAll(ur)
				if uerr == nil && !bytes.Equal(ref, dst[:n]) {
					t.Fatalf("%s: accepted by both, outputs differ", f.name)
				}
			}
		}
	}
}

func TestTruncated(t *testing.T) {
	for _, f := range append(loadFixtures(t, "xz"), loadFixtures(t, "lzma")...) {
		isXZ := filepath.Ext(f.name) == ".xz"
		for cut := 0; cut < len(f.comp); cut += 1 + cut/8 {
			c := f.comp[:cut]
			dst := make([]byte, len(f.want))
			var err error
			if isXZ {
				_, err = DecodeXZ(dst, c)
			} else {
				_, err = DecodeLZMA(dst, c)
			}
			if err == nil {
				t.Fatalf("%s cut at %d: no error", f.name, cut)
			}
			var rerr error
			var r io.Reader
			if isXZ {
				r, rerr = NewXZReader(bytes.NewReader(c), 1<<26)
			} else {
				r, rerr = NewLZMAReader(bytes.NewReader(c), 1<<26)
			}
			if rerr == nil {
				_, rerr = io.ReadAll(r)
			}
			if rerr == nil {
				t.Fatalf("%s cut at %d: streaming: no error", f.name, cut)
			}
			if !errors.Is(rerr, io.ErrUnexpectedEOF) && !errors.Is(rerr, ErrCorrupt) {
				t.Fatalf("%s cut at %d: streaming error %v", f.name, cut, rerr)
			}
		}
	}
}
