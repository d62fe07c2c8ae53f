// Package payload streams what formats extract into a sink: the payloads
// of firmware containers, read once while the checksum the container
// records is verified, and the output of decoders, whose errors end the
// data without losing what was decoded.
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

// Stream hands a decoder's output to a sink. A decoding error ends the
// data (the sink sees io.EOF and keeps what was decoded) and is kept in
// Err for the format to report; a cancelled context is passed through.
type Stream struct {
	Ctx context.Context
	R   io.Reader
	Err error
	eof bool
}

// Read implements io.Reader.
func (s *Stream) Read(p []byte) (int, error) {
	if s.Err != nil || s.eof {
		return 0, io.EOF
	}
	if err := s.Ctx.Err(); err != nil {
		return 0, err
	}
	n, err := s.R.Read(p)
	switch {
	case err == io.EOF:
		s.eof = true
	case err != nil:
		s.Err = err
	}
	if n == 0 && (s.eof || s.Err != nil) {
		return 0, io.EOF
	}
	return n, nil
}

// CtxReader stops reading its input once Ctx is done.
type CtxReader struct {
	Ctx context.Context
	R   io.Reader
}

// Read implements io.Reader.
func (c *CtxReader) Read(p []byte) (int, error) {
	if err := c.Ctx.Err(); err != nil {
		return 0, err
	}
	return c.R.Read(p)
}

// Done reports whether the decoder reached the end of its data.
func (s *Stream) Done() bool { return s.eof }
