// Package bzip2 reads bzip2 streams, including several concatenated
// streams, which decompress to one blob.
package bzip2

import (
	"bytes"
	"compress/bzip2"
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/netvet/netvet/internal/firmware"
	"github.com/netvet/netvet/internal/safeio"
)

// ErrTruncated reports a stream that ends, or turns corrupt, before its end marker.
var ErrTruncated = errors.New("bzip2: truncated or corrupt stream")

// errContinuation is what compress/bzip2 returns when bytes other than
// another stream follow a complete stream: for us, the normal end.
const errContinuation = bzip2.StructuralError("bad magic value in continuation file")

const identifyWindow = 4 << 10

// blockMagic is the 48-bit start of a block (BCD pi), which directly
// follows the 4-byte stream header "BZh1".."BZh9"; an empty stream has the
// end marker (sqrt pi) there instead.
var (
	blockMagic = []byte{0x31, 0x41, 0x59, 0x26, 0x53, 0x59}
	endMagic   = []byte{0x17, 0x72, 0x45, 0x38, 0x50, 0x90}
)

type format struct{}

var _ firmware.Format = format{}

// New returns the bzip2 format.
func New() firmware.Format { return format{} }

func (format) Info() firmware.Info {
	sigs := make([]firmware.Signature, 0, 9)
	for l := byte('1'); l <= '9'; l++ {
		sigs = append(sigs, firmware.Signature{Magic: append([]byte("BZh"), l, 0x31, 0x41, 0x59, 0x26, 0x53, 0x59)})
	}
	return firmware.Info{
		Name:        "bzip2",
		Description: "bzip2 compressed stream",
		Kind:        firmware.KindCompression,
		Signatures:  sigs,
		Variants:    []string{"block sizes 100k-900k", "concatenated streams"},
	}
}

func headerOK(h []byte) bool {
	return len(h) >= 10 && bytes.HasPrefix(h, []byte("BZh")) && h[3] >= '1' && h[3] <= '9' &&
		(bytes.Equal(h[4:10], blockMagic) || bytes.Equal(h[4:10], endMagic))
}

func (format) Identify(src io.ReaderAt, size int64) bool {
	n := min(size, identifyWindow)
	if n < 14 {
		return false
	}
	b, err := safeio.ReadAt(src, size, 0, n, identifyWindow)
	if err != nil || !headerOK(b) {
		return false
	}
	if bytes.Equal(b[4:10], endMagic) {
		return true // an empty stream: nothing to try
	}
	// A block's Huffman tables come first: decoding stops at the window
	// end unless they are broken.
	r := bzip2.NewReader(bytes.NewReader(b))
	buf := make([]byte, 4<<10)
	_, err = r.Read(buf)
	return err == nil || err == io.EOF || errors.Is(err, io.ErrUnexpectedEOF) || err == errContinuation
}

func (format) Extract(ctx context.Context, src io.ReaderAt, size int64, dst firmware.Sink) (int64, error) {
	var h [10]byte
	if _, err := src.ReadAt(h[:], 0); err != nil || !headerOK(h[:]) {
		return 0, errors.New("bzip2: bad stream header")
	}
	bc := safeio.NewByteCounter(src, size)
	s := &stream{ctx: ctx, bc: bc, r: bzip2.NewReader(bc)}
	e := firmware.Entry{Type: firmware.TypeFile, Mode: 0o644, Offset: 0}
	if err := dst.Put(ctx, e, s); err != nil {
		return 0, err
	}
	if s.err != nil {
		return bc.N, fmt.Errorf("%w: %w", ErrTruncated, s.err)
	}
	return s.end, nil
}

// stream reads the decompressed data. compress/bzip2 reads byte by byte
// from an io.ByteReader, so the count of bytes consumed is exact: at a clean
// end it is the stream end; when other data follows the last stream the
// decoder has read two bytes of it looking for "BZ".
type stream struct {
	ctx context.Context
	bc  *safeio.ByteCounter
	r   io.Reader
	end int64
	err error
	eof bool
}

func (s *stream) Read(p []byte) (int, error) {
	if s.eof {
		return 0, io.EOF
	}
	if err := s.ctx.Err(); err != nil {
		return 0, err
	}
	n, err := s.r.Read(p)
	switch {
	case err == nil:
		return n, nil
	case err == io.EOF:
		s.end = s.bc.N
	case err == errContinuation:
		s.end = s.bc.N - 2
	default:
		s.err = err
	}
	s.eof = true
	if n > 0 {
		return n, nil
	}
	return 0, io.EOF
}
