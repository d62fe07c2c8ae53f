// Package lzma reads the legacy .lzma ("LZMA alone") format: a 13-byte
// header (properties, dictionary size, uncompressed size or -1) followed by
// raw LZMA data, as written by xz --format=lzma and lzma-utils and used for
// Linux kernels and many router firmwares. Decoding is done by
// internal/lzma.
package lzma

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/bits"
	"sync"

	"github.com/netvet/netvet/internal/firmware/format/internal/payload"

	"github.com/netvet/netvet/internal/firmware"
	"github.com/netvet/netvet/internal/lzma"
)

// ErrTruncated reports a stream that ends, or turns corrupt, early.
var ErrTruncated = errors.New("lzma: truncated or corrupt stream")

const (
	headerLen      = 13
	minDict        = 4 << 10
	maxDict        = 256 << 20
	identifyWindow = 4 << 10
	// identifyOut is the output of Identify's trial decode: enough for
	// random data to hit an impossible match distance.
	identifyOut = 32 << 10
	// maxRatio bounds the declared uncompressed size against the input:
	// LZMA cannot expand much beyond this even on runs of zeros.
	maxRatio = 8192
)

// commonProps are the lc/lp/pb property bytes tools actually write:
// lc=3 lp=0 pb=2 (0x5d, the default), lc=4 (0x5e), lc=0 lp=2 pb=2 (0x6c, for
// 32-bit aligned data), lc=1 lp=2 pb=2 (0x6d), lc=0 lp=0 pb=0 (0x00).
var commonProps = []byte{0x5d, 0x5e, 0x6c, 0x6d, 0x00}

type format struct{}

var _ firmware.Format = format{}

// New returns the lzma format.
func New() firmware.Format { return format{} }

func (format) Info() firmware.Info { return info }

// info is built once: the driver asks for it at every candidate.
var info = firmware.Info{
	Name:        "lzma",
	Description: "LZMA alone (.lzma) compressed stream",
	Kind:        firmware.KindCompression,
	Signatures:  signatures(),
	Variants:    []string{"known uncompressed size", "unknown size with end marker"},
	Weak:        true,
}

// signatures are the properties byte followed by the dictionary size, for
// the usual properties and every dictionary size from 64 KiB to 256 MiB
// that encoders write (2^n and 2^n + 2^(n-1)). Two bytes alone ("5d 00")
// match every few hundred bytes of binary data; five bytes rarely do.
func signatures() []firmware.Signature {
	var sigs []firmware.Signature
	for _, p := range commonProps {
		if p == 0 {
			continue // too weak to search for
		}
		for n := 16; n <= 28; n++ {
			for _, d := range []uint32{1 << n, 1<<n + 1<<(n-1)} {
				if d > 256<<20 {
					continue
				}
				m := []byte{p, 0, 0, 0, 0}
				binary.LittleEndian.PutUint32(m[1:], d)
				sigs = append(sigs, firmware.Signature{Magic: m})
			}
		}
	}
	return sigs
}

// header is the parsed 13-byte header.
type header struct {
	props byte
	dict  uint32
	usize int64 // -1 when unknown
}

func parseHeader(b []byte, size int64) (header, bool) {
	h := header{props: b[0], dict: binary.LittleEndian.Uint32(b[1:5])}
	if bytes.IndexByte(commonProps, h.props) < 0 || !dictOK(h.dict) {
		return h, false
	}
	u := binary.LittleEndian.Uint64(b[5:13])
	if u == ^uint64(0) {
		h.usize = -1
		return h, true
	}
	avail := uint64(size - headerLen)
	if u == 0 || u > 1<<40 || u/maxRatio > avail {
		return h, false
	}
	h.usize = int64(u)
	return h, true
}

// dictOK accepts the sizes encoders write: 2^n or 2^n+2^(n-1) in range.
func dictOK(d uint32) bool {
	if d < minDict || d > maxDict {
		return false
	}
	if bits.OnesCount32(d) == 1 {
		return true
	}
	t := bits.TrailingZeros32(d)
	return d == 3<<t
}

// trial holds Identify's buffers, recycled so that Identify does not
// allocate: the driver calls it at every signature match in every blob.
type trial struct {
	in  [identifyWindow]byte
	out [identifyOut]byte
}

var trials = sync.Pool{New: func() any { return new(trial) }}

func (format) Identify(src io.ReaderAt, size int64) bool {
	n := int(min(size, identifyWindow))
	if n < headerLen+5 {
		return false
	}
	tr := trials.Get().(*trial)
	defer trials.Put(tr)
	b := tr.in[:n]
	if k, err := src.ReadAt(b, 0); k < n && err != nil {
		return false
	}
	h, ok := parseHeader(b, size)
	// The range coder's first byte is always zero.
	if !ok || b[headerLen] != 0 {
		return false
	}
	// Trial decode of what the window holds. A declared size beyond the
	// trial's output is replaced by "unknown", so that the decoder stops
	// when the output is full instead of refusing at once.
	if h.usize < 0 || h.usize > identifyOut {
		binary.LittleEndian.PutUint64(b[5:13], ^uint64(0))
	}
	got, err := lzma.DecodeLZMA(tr.out[:], b)
	switch {
	case err == nil:
		// The stream ended inside the window: an end marker must come at
		// the declared size, if there is one.
		return h.usize < 0 || int64(got) == h.usize
	case errors.Is(err, lzma.ErrShortBuffer), errors.Is(err, io.ErrUnexpectedEOF):
		// The output filled up, or the window (or a short blob) ended
		// inside the stream: random data fails long before that.
		return true
	default:
		return false
	}
}

func (format) Extract(ctx context.Context, src io.ReaderAt, size int64, dst firmware.Sink) (int64, error) {
	if size < headerLen {
		return 0, fmt.Errorf("%w: %d bytes", ErrTruncated, size)
	}
	var hb [headerLen]byte
	if _, err := src.ReadAt(hb[:], 0); err != nil {
		return 0, fmt.Errorf("lzma: header: %w", err)
	}
	h, ok := parseHeader(hb[:], size)
	if !ok {
		return 0, errors.New("lzma: implausible header")
	}
	in := &payload.CtxReader{Ctx: ctx, R: io.NewSectionReader(src, 0, size)}
	r, err := lzma.NewLZMAReader(in, maxDict)
	if err != nil {
		if err := ctx.Err(); err != nil {
			return 0, err
		}
		return 0, fmt.Errorf("lzma: header: %w", err)
	}
	s := &payload.Stream{Ctx: ctx, R: r}
	e := firmware.Entry{Type: firmware.TypeFile, Mode: 0o644, Offset: 0, Size: max(h.usize, 0)}
	if err := dst.Put(ctx, e, s); err != nil {
		return 0, err
	}
	if s.Err != nil {
		if err := ctx.Err(); err != nil {
			return r.Consumed(), err
		}
		return r.Consumed(), fmt.Errorf("%w: at offset %#x: %w", ErrTruncated, r.Consumed(), s.Err)
	}
	if !s.Done() {
		// The sink stopped reading early without an error: the length of
		// the stream is unknown.
		return 0, nil
	}
	return r.Consumed(), nil
}
