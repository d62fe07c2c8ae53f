// Package gzip reads gzip streams (RFC 1952), including streams made of
// several concatenated members, which decompress to one blob.
package gzip

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"

	kgzip "github.com/klauspost/compress/gzip"

	"github.com/netvet/netvet/internal/firmware"
	"github.com/netvet/netvet/internal/safeio"
)

// ErrTruncated reports a stream that ends, or turns corrupt, before its trailer.
var ErrTruncated = errors.New("gzip: truncated or corrupt stream")

// identifyWindow is how much input Identify reads for its trial decode.
const identifyWindow = 4 << 10

var magic = []byte{0x1f, 0x8b, 0x08}

type format struct{}

var _ firmware.Format = format{}

// New returns the gzip format.
func New() firmware.Format { return format{} }

func (format) Info() firmware.Info {
	return firmware.Info{
		Name:        "gzip",
		Description: "gzip compressed stream (RFC 1952)",
		Kind:        firmware.KindCompression,
		Signatures:  []firmware.Signature{{Magic: magic}},
		Variants:    []string{"deflate", "multi-member", "FNAME", "FHCRC", "FEXTRA", "FCOMMENT"},
	}
}

// headerOK checks the fixed part of a member header.
func headerOK(h []byte) bool {
	return len(h) >= 10 && bytes.Equal(h[:3], magic) && h[3]&0xe0 == 0
}

func (format) Identify(src io.ReaderAt, size int64) bool {
	n := min(size, identifyWindow)
	if n < 18 {
		return false
	}
	var h [10]byte
	if _, err := src.ReadAt(h[:], 0); err != nil || !headerOK(h[:]) {
		return false
	}
	b, err := safeio.ReadAt(src, size, 0, n, identifyWindow)
	if err != nil {
		return false
	}
	z, err := kgzip.NewReader(bytes.NewReader(b))
	if err != nil {
		return false
	}
	z.Multistream(false)
	return trial(z, make([]byte, 16<<10)) == nil
}

// trial reads r until buf is full or the stream ends; a cut-off input is
// fine (the window is short), anything else is not.
func trial(r io.Reader, buf []byte) error {
	for off := 0; off < len(buf); {
		n, err := r.Read(buf[off:])
		off += n
		switch {
		case err == nil:
		case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
			return nil
		default:
			return err
		}
	}
	return nil
}

func (format) Extract(ctx context.Context, src io.ReaderAt, size int64, dst firmware.Sink) (int64, error) {
	bc := safeio.NewByteCounter(src, size)
	z, err := kgzip.NewReader(bc)
	if err != nil {
		return 0, fmt.Errorf("gzip: member header at offset 0: %w", err)
	}
	z.Multistream(false)
	m := &members{ctx: ctx, src: src, size: size, bc: bc, z: z}
	e := firmware.Entry{
		Path:    z.Header.Name,
		Type:    firmware.TypeFile,
		Mode:    0o644,
		ModTime: z.Header.ModTime,
		Offset:  0,
	}
	if err := dst.Put(ctx, e, m); err != nil {
		return m.end, err
	}
	if m.err != nil {
		return bc.N, fmt.Errorf("%w: member at offset %#x: %w", ErrTruncated, m.start, m.err)
	}
	return m.end, nil
}

// members reads the members of a gzip stream one after the other as one
// stream of data. A decoding error ends the data (so the sink keeps what
// came before it) and is kept in err.
type members struct {
	ctx   context.Context
	src   io.ReaderAt
	size  int64
	bc    *safeio.ByteCounter
	z     *kgzip.Reader
	start int64 // offset of the current member
	end   int64 // end of the last complete member
	done  bool
	err   error
}

func (m *members) Read(p []byte) (int, error) {
	for !m.done {
		if err := m.ctx.Err(); err != nil {
			return 0, err
		}
		n, err := m.z.Read(p)
		switch {
		case err == nil:
			return n, nil
		case err == io.EOF:
			m.end = m.bc.N
			m.done = !m.next()
			if n > 0 || len(p) == 0 {
				return n, nil
			}
		default:
			m.err = err
			m.done = true
			return n, nil
		}
	}
	return 0, io.EOF
}

// next starts the member that follows the last one, if the bytes there are
// a valid gzip member header.
func (m *members) next() bool {
	var h [10]byte
	if m.end >= m.size || m.size-m.end < 18 {
		return false
	}
	if _, err := m.src.ReadAt(h[:], m.end); err != nil || !headerOK(h[:]) {
		return false
	}
	if err := m.z.Reset(m.bc); err != nil {
		return false
	}
	m.z.Multistream(false)
	m.start = m.end
	return true
}
