// Package safeio has bounded readers for untrusted input: reads whose size
// comes from a header are checked against the data available and against a
// fixed cap before any allocation.
package safeio

import (
	"errors"
	"fmt"
	"io"
)

// ErrTooLarge reports a read larger than the caller's cap.
var ErrTooLarge = errors.New("safeio: size exceeds limit")

// ReadAt reads exactly n bytes at off from r, refusing n < 0, n > max, and
// ranges beyond size. It allocates at most n bytes, only after the checks.
func ReadAt(r io.ReaderAt, size, off, n, max int64) ([]byte, error) {
	if n < 0 || off < 0 {
		return nil, fmt.Errorf("safeio: negative offset %d or length %d", off, n)
	}
	if n > max {
		return nil, fmt.Errorf("%w: %d bytes at offset %d (limit %d)", ErrTooLarge, n, off, max)
	}
	if off > size || n > size-off {
		return nil, fmt.Errorf("safeio: %d bytes at offset %d beyond end of data (%d bytes): %w", n, off, size, io.ErrUnexpectedEOF)
	}
	buf := make([]byte, n)
	if _, err := r.ReadAt(buf, off); err != nil && !(errors.Is(err, io.EOF) && n == 0) {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return nil, fmt.Errorf("safeio: read %d bytes at offset %d: %w", n, off, err)
	}
	return buf, nil
}

// ReadAll reads r to the end, failing once more than max bytes are read.
func ReadAll(r io.Reader, max int64) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, max+1))
	if err != nil {
		return b, err
	}
	if int64(len(b)) > max {
		return nil, fmt.Errorf("%w: more than %d bytes", ErrTooLarge, max)
	}
	return b, nil
}

// CountingReader counts the bytes read through it.
type CountingReader struct {
	R io.Reader
	N int64
}

func (c *CountingReader) Read(p []byte) (int, error) {
	n, err := c.R.Read(p)
	c.N += int64(n)
	return n, err
}

// ByteCounter is an io.ByteReader and io.Reader over an io.ReaderAt that
// counts exactly the bytes consumed, so a decompressor that reads byte by
// byte (compress/flate) leaves N at the end of its stream.
type ByteCounter struct {
	src  io.ReaderAt
	size int64
	buf  []byte
	bpos int
	bend int
	base int64 // offset of buf[0] in src
	N    int64 // bytes consumed
}

// NewByteCounter reads src from offset 0 up to size.
func NewByteCounter(src io.ReaderAt, size int64) *ByteCounter {
	return &ByteCounter{src: src, size: size, buf: make([]byte, 64<<10)}
}

func (b *ByteCounter) fill() error {
	b.base += int64(b.bend)
	b.bpos, b.bend = 0, 0
	if b.base >= b.size {
		return io.EOF
	}
	n := int64(len(b.buf))
	if rem := b.size - b.base; rem < n {
		n = rem
	}
	m, err := b.src.ReadAt(b.buf[:n], b.base)
	b.bend = m
	if m > 0 {
		return nil
	}
	if err == nil {
		err = io.ErrUnexpectedEOF
	}
	return err
}

// ReadByte implements io.ByteReader.
func (b *ByteCounter) ReadByte() (byte, error) {
	if b.bpos >= b.bend {
		if err := b.fill(); err != nil {
			return 0, err
		}
	}
	c := b.buf[b.bpos]
	b.bpos++
	b.N++
	return c, nil
}

// Read implements io.Reader.
func (b *ByteCounter) Read(p []byte) (int, error) {
	if b.bpos >= b.bend {
		if err := b.fill(); err != nil {
			return 0, err
		}
	}
	n := copy(p, b.buf[b.bpos:b.bend])
	b.bpos += n
	b.N += int64(n)
	return n, nil
}
