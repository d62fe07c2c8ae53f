// Package xz reads .xz streams. Decoding (blocks, LZMA2, the branch and
// delta filters, checks, index, footer, stream padding) is done by
// internal/lzma; this package confirms the stream header at a candidate
// offset and measures how much of the blob the stream occupies.
// Concatenated streams decompress to one blob.
package xz

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"sync"

	"github.com/netvet/netvet/internal/firmware/format/internal/payload"

	"github.com/netvet/netvet/internal/firmware"
	"github.com/netvet/netvet/internal/lzma"
)

var (
	// ErrHeader reports a bad stream header, block header, index or footer.
	ErrHeader = errors.New("xz: bad header")
	// ErrTruncated reports a stream that ends, or turns corrupt, before its footer.
	ErrTruncated = errors.New("xz: truncated or corrupt stream")
	// ErrUnsupported reports a filter internal/lzma does not decode (RISC-V),
	// a reserved check type, or a dictionary over the cap.
	ErrUnsupported = errors.New("xz: unsupported")
	// ErrChecksum reports a block, index or header whose check does not
	// match its data.
	ErrChecksum = errors.New("xz: checksum mismatch")
)

// maxDict caps the LZMA2 dictionary a block may ask for: xz -9 uses 64 MiB.
// The decoder's buffer grows with the output, so a block that claims a
// large dictionary but holds little data costs little.
const maxDict = 128 << 20

// maxTrim bounds the zero bytes looked through, backwards from the end of
// the data, to leave trailing stream padding out of the length.
const maxTrim = 1 << 20

var magic = []byte{0xfd, '7', 'z', 'X', 'Z', 0}

type format struct{}

var _ firmware.Format = format{}

// New returns the xz format.
func New() firmware.Format { return format{} }

func (format) Info() firmware.Info { return info }

// info is built once: the driver asks for it at every candidate.
var info = firmware.Info{
	Name:        "xz",
	Description: "xz compressed stream",
	Kind:        firmware.KindCompression,
	Signatures:  []firmware.Signature{{Magic: magic}},
	Variants: []string{
		"LZMA2",
		"BCJ x86, PowerPC, IA-64, ARM, ARM-Thumb, SPARC, ARM64 (with start offset)",
		"delta",
		"check none/CRC32/CRC64/SHA-256",
		"multi-block",
		"concatenated streams with padding",
	},
}

// validStreamHeader checks the 12-byte stream header: magic, reserved flag
// bits and the CRC32 of the flags.
func validStreamHeader(h []byte) bool {
	if len(h) < 12 || !bytes.Equal(h[:6], magic) || h[6] != 0 || h[7]&0xf0 != 0 {
		return false
	}
	return crc32.ChecksumIEEE(h[6:8]) == binary.LittleEndian.Uint32(h[8:12])
}

// headerBufs recycles the Identify buffer, which would otherwise escape to
// the heap through the io.ReaderAt call.
var headerBufs = sync.Pool{New: func() any { return new([12]byte) }}

func (format) Identify(src io.ReaderAt, size int64) bool {
	// Header, one empty index and footer: 32 bytes at least.
	if size < 32 {
		return false
	}
	h := headerBufs.Get().(*[12]byte)
	defer headerBufs.Put(h)
	if n, err := src.ReadAt(h[:], 0); n < len(h) && err != nil {
		return false
	}
	return validStreamHeader(h[:])
}

func (format) Extract(ctx context.Context, src io.ReaderAt, size int64, dst firmware.Sink) (int64, error) {
	in := &payload.CtxReader{Ctx: ctx, R: io.NewSectionReader(src, 0, size)}
	z, err := lzma.NewXZReader(in, maxDict)
	if err != nil {
		if err := ctx.Err(); err != nil {
			return 0, err
		}
		sentinel := ErrHeader
		if errors.Is(err, lzma.ErrUnsupported) {
			sentinel = ErrUnsupported
		}
		return 0, fmt.Errorf("%w: stream header: %w", sentinel, err)
	}
	s := &payload.Stream{Ctx: ctx, R: z}
	e := firmware.Entry{Type: firmware.TypeFile, Mode: 0o644, Offset: 0}
	if err := dst.Put(ctx, e, s); err != nil {
		return z.Consumed(), err
	}
	if s.Err != nil {
		if err := ctx.Err(); err != nil {
			return z.Consumed(), err
		}
		if p, ok := bogusNextHeader(src, size, z.Consumed()); ok {
			return trimPadding(ctx, src, p)
		}
		return z.Consumed(), fmt.Errorf("%w: at offset %#x: %w", ErrTruncated, z.Consumed(), classifyWrap(s.Err))
	}
	if !s.Done() {
		// The sink stopped reading early without an error: the length of
		// the stream is unknown.
		return 0, nil
	}
	end, err := trimPadding(ctx, src, z.Consumed())
	if err != nil {
		return z.Consumed(), err
	}
	return end, nil
}

// bogusNextHeader reports whether the decoder failed only on the xz magic
// of something after a complete stream that is not a valid stream header
// (by chance, or a stream cut to a few bytes), and if so where that magic
// starts. internal/lzma starts another stream at the magic alone and fails
// on it; the streams before it are complete and their data was all read, so
// the carve ends there, as it would at any other non-stream bytes.
func bogusNextHeader(src io.ReaderAt, size, consumed int64) (int64, bool) {
	var h [12]byte
	for _, p := range []int64{consumed, consumed - 12} {
		if p < 32 || p+int64(len(magic)) > size {
			continue
		}
		n, err := src.ReadAt(h[:min(int64(len(h)), size-p)], p)
		if n < len(magic) || (err != nil && err != io.EOF) || !bytes.Equal(h[:len(magic)], magic) {
			continue
		}
		if n == len(h) && validStreamHeader(h[:]) {
			return 0, false
		}
		// The last non-zero bytes before p must be a stream footer's "YZ".
		var t [4]byte
		for q := p; q >= 4 && q > p-maxTrim; q -= 4 {
			if _, err := src.ReadAt(t[:], q-4); err != nil {
				return 0, false
			}
			if t != [4]byte{} {
				return p, t[2] == 'Y' && t[3] == 'Z'
			}
		}
	}
	return 0, false
}

// classify maps an internal/lzma error to this package's sentinel, or def.
func classify(err, def error) error {
	switch {
	case errors.Is(err, lzma.ErrUnsupported), errors.Is(err, lzma.ErrDictTooLarge):
		return ErrUnsupported
	case errors.Is(err, lzma.ErrChecksum):
		return ErrChecksum
	default:
		return def
	}
}

// classifyWrap adds this package's specific sentinel, if any, to err.
func classifyWrap(err error) error {
	if c := classify(err, nil); c != nil {
		return fmt.Errorf("%w: %w", c, err)
	}
	return err
}

// trimPadding returns end less the stream padding that follows the last
// stream's footer: zeros there are left to the carver (they are usually
// flash padding), as they are when no further stream follows. The footer
// ends in "YZ", so the last non-zero byte before end is its last byte.
func trimPadding(ctx context.Context, src io.ReaderAt, end int64) (int64, error) {
	var buf [4096]byte
	limit := max(end-maxTrim, 0)
	for pos := end; pos > limit; {
		if err := ctx.Err(); err != nil {
			return 0, err
		}
		n := min(int64(len(buf)), pos-limit)
		b := buf[:n]
		if k, err := src.ReadAt(b, pos-n); k < len(b) && err != nil {
			return 0, fmt.Errorf("%w: reading back from offset %#x: %w", ErrTruncated, pos, err)
		}
		for i := len(b) - 1; i >= 0; i-- {
			if b[i] != 0 {
				return pos - n + int64(i) + 1, nil
			}
		}
		pos -= n
	}
	return end, nil
}
