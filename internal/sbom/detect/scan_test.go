package detect

import (
	"bytes"
	"context"
	"testing"
)

// A version string across the boundary of two read windows is found, at
// its true offset; so is one at the very end of the file.
func TestScanWindowBoundaries(t *testing.T) {
	banner := "BusyBox v1.36.1 (2023-11-14 10:00:00 UTC) multi-call binary."
	buf := make([]byte, BufferSize)
	for _, at := range []int{window - span - 3, window - span, window - 10, window + 5, 3*window - span - 1, 3*window - 20} {
		content := make([]byte, 4*window)
		copy(content, "\x7fELF")
		copy(content[at:], banner)
		content = content[:min(len(content), at+len(banner)+1)]
		res, err := Scan(context.Background(), bytes.NewReader(content), File{Name: "busybox", InFS: true}, int64(len(content)), buf)
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Hits) != 1 || res.Hits[0].Offset != int64(at) || res.Hits[0].Evidence != banner {
			t.Errorf("banner at %d: got %+v", at, res.Hits)
		}
	}
}
