package jffs2

import (
	"context"
	"io"
	"os"
	"testing"

	"github.com/netvet/netvet/internal/firmware"
)

// discard is a sink that reads and drops file contents.
type discard struct{ n, bytes int64 }

func (d *discard) Put(ctx context.Context, e firmware.Entry, r io.Reader) error {
	d.n++
	if r != nil {
		n, _ := io.Copy(io.Discard, r)
		d.bytes += n
	}
	return ctx.Err()
}

func (d *discard) Fail(firmware.Entry, error) {}

// BenchmarkExtract extracts the image named by NETVET_BENCH_JFFS2
// (skipped when unset), e.g. one made from a large directory tree.
func BenchmarkExtract(b *testing.B) {
	p := os.Getenv("NETVET_BENCH_JFFS2")
	if p == "" {
		b.Skip("NETVET_BENCH_JFFS2 not set")
	}
	f, err := os.Open(p)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	fi, _ := f.Stat()
	b.SetBytes(fi.Size())
	for b.Loop() {
		d := &discard{}
		if _, err := New().Extract(b.Context(), f, fi.Size(), d); err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(d.n), "entries")
	}
}
