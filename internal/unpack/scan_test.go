package unpack

import (
	"bytes"
	"context"
	"math/rand"
	"testing"
)

// TestStreamScanMatchesWindow: scanning a file while it is written, in
// pieces of any size, finds exactly what scanning it afterwards finds,
// including magics split across two pieces.
func TestStreamScanMatchesWindow(t *testing.T) {
	s := newScanner(testRegistry().Formats())
	rng := rand.New(rand.NewSource(1))
	data := make([]byte, 3<<20)
	rng.Read(data)
	for _, off := range []int{0, 4090, 65535, 1<<20 - 2, 1<<20 + 7, 3<<20 - 4} {
		copy(data[off:], "NVTC")
	}
	copy(data[2<<20-3:], "QUINE!") // straddles the 1 MiB windows

	var want []int64
	buf := make([]byte, scanWindow+64<<10)
	for pos := int64(0); pos < int64(len(data)); {
		c, next, err := s.window(context.Background(), bytes.NewReader(data), int64(len(data)), pos, buf)
		if err != nil {
			t.Fatal(err)
		}
		for _, x := range c {
			want = append(want, x.start)
		}
		pos = next
	}
	if len(want) < 7 {
		t.Fatalf("window scan found %d candidates, want at least 7: %v", len(want), want)
	}
	for _, piece := range []int{1, 3, 7, 4096, 65536, 1 << 20} {
		ss := s.stream(1<<20, false)
		for i := 0; i < len(data); i += piece {
			ss.feed(data[i:min(i+piece, len(data))])
		}
		var got []int64
		for _, x := range ss.finish() {
			got = append(got, x.start)
		}
		if len(got) != len(want) {
			t.Fatalf("pieces of %d: %d candidates, want %d", piece, len(got), len(want))
		}
		for i := range got {
			if got[i] != want[i] {
				t.Fatalf("pieces of %d: candidate %d at %d, want %d", piece, i, got[i], want[i])
			}
		}
	}
}
