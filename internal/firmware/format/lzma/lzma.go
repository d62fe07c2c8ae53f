// Package lzma reads the legacy .lzma ("LZMA alone") format: a 13-byte
// header (properties, dictionary size, uncompressed size or -1) followed by
// raw LZMA data, as written by xz --format=lzma and lzma-utils and used for
// Linux kernels and many router firmwares.
package lzma

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/bits"
	"strings"

	ulzma "github.com/ulikunitz/xz/lzma"

	"github.com/netvet/netvet/internal/firmware"
	"github.com/netvet/netvet/internal/safeio"
)

// ErrTruncated reports a stream that ends, or turns corrupt, early.
var ErrTruncated = errors.New("lzma: truncated or corrupt stream")

const (
	headerLen      = 13
	minDict        = 4 << 10
	maxDict        = 256 << 20
	identifyWindow = 4 << 10
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

func (format) Identify(src io.ReaderAt, size int64) bool {
	n := min(size, identifyWindow)
	if n < headerLen+5 {
		return false
	}
	var hb [headerLen + 1]byte
	if _, err := src.ReadAt(hb[:], 0); err != nil {
		return false
	}
	h, ok := parseHeader(hb[:], size)
	// The range coder's first byte is always zero.
	if !ok || hb[headerLen] != 0 {
		return false
	}
	b, err := safeio.ReadAt(src, size, 0, n, identifyWindow)
	if err != nil {
		return false
	}
	// Trial decode of what the window holds; the dictionary need not be
	// larger than the trial's output.
	hdr := append([]byte(nil), b[:headerLen]...)
	binary.LittleEndian.PutUint32(hdr[1:5], min(h.dict, 64<<10))
	r, err := ulzma.ReaderConfig{DictCap: maxDict}.NewReader(io.MultiReader(bytes.NewReader(hdr), bytes.NewReader(b[headerLen:])))
	if err != nil {
		return false
	}
	buf := make([]byte, 32<<10)
	got := 0
	for got < len(buf) {
		k, err := r.Read(buf[got:])
		got += k
		switch {
		case err == nil:
		case err == io.EOF:
			return got > 0 || h.usize <= 0
		case errors.Is(err, io.ErrUnexpectedEOF) || strings.HasSuffix(err.Error(), "unexpected EOF"):
			// The window (or a short blob) ended inside the stream:
			// random data fails long before that.
			return true
		default:
			return false
		}
	}
	return true
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
	bc := safeio.NewByteCounter(io.NewSectionReader(src, headerLen, size-headerLen), size-headerLen)
	r, err := ulzma.ReaderConfig{DictCap: maxDict}.NewReader(io.MultiReader(bytes.NewReader(hb[:]), bc))
	if err != nil {
		return 0, fmt.Errorf("lzma: %w", err)
	}
	s := &stream{ctx: ctx, r: r}
	e := firmware.Entry{Type: firmware.TypeFile, Mode: 0o644, Offset: 0, Size: max(h.usize, 0)}
	if err := dst.Put(ctx, e, s); err != nil {
		return 0, err
	}
	if s.err != nil {
		return headerLen + bc.N, fmt.Errorf("%w: %w", ErrTruncated, s.err)
	}
	return headerLen + bc.N, nil
}

// stream ends the data at the first decoding error, keeping the error.
type stream struct {
	ctx context.Context
	r   io.Reader
	err error
}

func (s *stream) Read(p []byte) (int, error) {
	if s.err != nil {
		return 0, io.EOF
	}
	if err := s.ctx.Err(); err != nil {
		return 0, err
	}
	n, err := s.r.Read(p)
	if err != nil && err != io.EOF {
		s.err = err
		err = nil
		if n == 0 {
			err = io.EOF
		}
	}
	return n, err
}
