// Package payload streams the payloads of firmware containers into a sink
// while feeding the same bytes to the checksum the container records, so
// that a payload is read once and its checksum is verified even when the
// sink stops reading early.
package payload

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/netvet/netvet/internal/firmware"
)

// PutHashed streams e.Size bytes at e.Offset of src into dst as entry e,
// feeding every byte to w as well, including those the sink did not read.
// format names the caller in read errors.
func PutHashed(ctx context.Context, format string, dst firmware.Sink, src io.ReaderAt, e firmware.Entry, w io.Writer) error {
	sr := io.NewSectionReader(src, e.Offset, e.Size)
	if err := dst.Put(ctx, e, io.TeeReader(sr, w)); err != nil {
		return err
	}
	pos, _ := sr.Seek(0, io.SeekCurrent)
	return HashRange(ctx, format, w, src, e.Offset+pos, e.Size-pos)
}

// HashRange feeds n bytes at off of src to w in bounded chunks, checking ctx.
func HashRange(ctx context.Context, format string, w io.Writer, src io.ReaderAt, off, n int64) error {
	if n <= 0 {
		return nil
	}
	buf := make([]byte, min(n, 1<<20))
	for n > 0 {
		if err := ctx.Err(); err != nil {
			return err
		}
		k := min(n, int64(len(buf)))
		m, err := src.ReadAt(buf[:k], off)
		w.Write(buf[:m])
		if int64(m) < k {
			if err == nil || errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return fmt.Errorf("%s: read at offset %d: %w", format, off, err)
		}
		off += k
		n -= k
	}
	return nil
}
