package fwtest

import (
	"context"
	"io"
	"os"
	"testing"

	"github.com/netvet/netvet/internal/firmware"
)

// Discard is a sink that reads every file's content and drops it,
// counting entries, content bytes and entries that failed (a content
// read error counts as a failure, as in MemSink).
type Discard struct {
	Entries, Bytes, Failed int64
}

// Put implements firmware.Sink.
func (d *Discard) Put(ctx context.Context, e firmware.Entry, r io.Reader) error {
	d.Entries++
	if r != nil {
		n, err := io.Copy(io.Discard, r)
		d.Bytes += n
		if err != nil {
			d.Failed++
		}
	}
	return ctx.Err()
}

// Fail implements firmware.Sink.
func (d *Discard) Fail(firmware.Entry, error) { d.Failed++ }

// BenchExtract extracts the image named by the environment variable env
// into a Discard sink, reporting bytes per second and entries. It skips
// when env is unset, so that a large image stays out of the repository.
func BenchExtract(b *testing.B, f firmware.Format, env string) {
	p := os.Getenv(env)
	if p == "" {
		b.Skip(env + " not set")
	}
	file, err := os.Open(p)
	if err != nil {
		b.Fatal(err)
	}
	defer file.Close()
	fi, err := file.Stat()
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(fi.Size())
	for b.Loop() {
		d := &Discard{}
		if _, err := f.Extract(b.Context(), file, fi.Size(), d); err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(d.Entries), "entries")
	}
}
