// Package lz4 reads LZ4 streams: the frame format (concatenated frames and
// skippable frames, decoded with github.com/pierrec/lz4/v4) and the legacy
// format (magic 0x184C2102, 8 MiB blocks) used for Linux kernels and
// initramfs images.
package lz4

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/bits"

	plz4 "github.com/pierrec/lz4/v4"

	"github.com/netvet/netvet/internal/firmware"
)

var (
	// ErrHeader reports a frame, block or legacy header that breaks the format.
	ErrHeader = errors.New("lz4: bad header")
	// ErrTruncated reports a stream that ends, or turns corrupt, early.
	ErrTruncated = errors.New("lz4: truncated or corrupt stream")
)

const (
	frameMagic     = 0x184d2204
	legacyMagic    = 0x184c2102
	skippableMagic = 0x184d2a50 // low nibble free
	legacyBlock    = 8 << 20
	maxFrames      = 1 << 20
)

var legacyBound = int64(plz4.CompressBlockBound(legacyBlock))

type format struct{}

var _ firmware.Format = format{}

// New returns the lz4 format.
func New() firmware.Format { return format{} }

func (format) Info() firmware.Info {
	sigs := []firmware.Signature{
		{Magic: []byte{0x04, 0x22, 0x4d, 0x18}},
		{Magic: []byte{0x02, 0x21, 0x4c, 0x18}},
	}
	for i := byte(0); i < 16; i++ {
		sigs = append(sigs, firmware.Signature{Magic: []byte{0x50 + i, 0x2a, 0x4d, 0x18}})
	}
	return firmware.Info{
		Name:        "lz4",
		Description: "LZ4 compressed stream (frame or legacy format)",
		Kind:        firmware.KindCompression,
		Signatures:  sigs,
		Variants:    []string{"frame format", "concatenated and skippable frames", "block and content checksums", "legacy format (Linux kernel)"},
	}
}

type walker struct {
	src  io.ReaderAt
	size int64
}

func (w walker) read(off int64, b []byte) error {
	if off < 0 || off > w.size || int64(len(b)) > w.size-off {
		return io.ErrUnexpectedEOF
	}
	_, err := w.src.ReadAt(b, off)
	return err
}

func (w walker) u32(off int64) (uint32, error) {
	var b [4]byte
	if err := w.read(off, b[:]); err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint32(b[:]), nil
}

// frame returns the end of the frame at off and whether it holds data. With
// blocks false only the frame descriptor is checked.
func (w walker) frame(off int64, blocks bool) (end int64, data bool, err error) {
	m, err := w.u32(off)
	if err != nil {
		return off, false, err
	}
	if m&0xfffffff0 == skippableMagic {
		n, err := w.u32(off + 4)
		if err != nil || int64(n) > w.size-off-8 {
			return w.size, false, fmt.Errorf("skippable frame at %#x: %w", off, io.ErrUnexpectedEOF)
		}
		return off + 8 + int64(n), false, nil
	}
	if m != frameMagic {
		return off, false, fmt.Errorf("%w: no frame magic at %#x", ErrHeader, off)
	}
	var d [15]byte
	if err := w.read(off+4, d[:2]); err != nil {
		return off, true, err
	}
	flg, bd := d[0], d[1]
	if flg>>6 != 1 || flg&0x02 != 0 || bd&0x8f != 0 || bd>>4 < 4 {
		return off, true, fmt.Errorf("%w: frame descriptor at %#x", ErrHeader, off)
	}
	dl := 2
	if flg&0x08 != 0 {
		dl += 8
	}
	if flg&0x01 != 0 {
		dl += 4
	}
	if err := w.read(off+4, d[:dl+1]); err != nil {
		return off, true, err
	}
	if byte(xxh32Short(d[:dl])>>8) != d[dl] {
		return off, true, fmt.Errorf("%w: descriptor checksum at %#x", ErrHeader, off)
	}
	p := off + 4 + int64(dl) + 1
	if !blocks {
		return p, true, nil
	}
	maxBlock := int64(64) << (2 * (bd>>4 - 4)) << 10
	for {
		v, err := w.u32(p)
		if err != nil {
			return w.size, true, fmt.Errorf("block header at %#x: %w", p, io.ErrUnexpectedEOF)
		}
		p += 4
		if v == 0 {
			break
		}
		n := int64(v & 0x7fffffff)
		if n > maxBlock {
			return p, true, fmt.Errorf("%w: block of %d bytes at %#x", ErrHeader, n, p-4)
		}
		if flg&0x10 != 0 {
			n += 4
		}
		if n > w.size-p {
			return w.size, true, fmt.Errorf("block at %#x: %w", p-4, io.ErrUnexpectedEOF)
		}
		p += n
	}
	if flg&0x04 != 0 {
		if 4 > w.size-p {
			return w.size, true, fmt.Errorf("content checksum at %#x: %w", p, io.ErrUnexpectedEOF)
		}
		p += 4
	}
	return p, true, nil
}

func (format) Identify(src io.ReaderAt, size int64) bool {
	w := walker{src: src, size: size}
	m, err := w.u32(0)
	if err != nil {
		return false
	}
	if m == legacyMagic {
		n, err := w.u32(4)
		return err == nil && n > 0 && int64(n) <= legacyBound && int64(n) <= size-8
	}
	off := int64(0)
	for i := 0; i < 4; i++ {
		end, data, err := w.frame(off, false)
		if err != nil {
			return false
		}
		if data {
			return true
		}
		off = end
	}
	return false
}

func (format) Extract(ctx context.Context, src io.ReaderAt, size int64, dst firmware.Sink) (int64, error) {
	w := walker{src: src, size: size}
	if m, err := w.u32(0); err == nil && m == legacyMagic {
		return extractLegacy(ctx, w, dst)
	}
	var frames [][2]int64
	var end int64
	var walkErr error
	for len(frames) < maxFrames && end < size {
		if err := ctx.Err(); err != nil {
			return 0, err
		}
		m, err := w.u32(end)
		if err != nil || (m != frameMagic && m&0xfffffff0 != skippableMagic) {
			break
		}
		next, data, err := w.frame(end, true)
		if data {
			frames = append(frames, [2]int64{end, max(next, end)})
		}
		if err != nil {
			walkErr = err
			end = max(next, end)
			break
		}
		end = next
	}
	if end == 0 {
		return 0, fmt.Errorf("%w: %w", ErrHeader, walkErr)
	}
	s := &frameReader{ctx: ctx, src: src, frames: frames}
	e := firmware.Entry{Type: firmware.TypeFile, Mode: 0o644, Offset: 0}
	if err := dst.Put(ctx, e, s); err != nil {
		return end, err
	}
	if err := errors.Join(s.err, walkErr); err != nil {
		return end, fmt.Errorf("%w: %w", ErrTruncated, err)
	}
	return end, nil
}

// frameReader decodes the data frames one after the other. A decoding
// error ends the data and is kept in err.
type frameReader struct {
	ctx    context.Context
	src    io.ReaderAt
	frames [][2]int64
	cur    io.Reader
	err    error
}

func (f *frameReader) Read(p []byte) (int, error) {
	for f.err == nil {
		if err := f.ctx.Err(); err != nil {
			return 0, err
		}
		if f.cur == nil {
			if len(f.frames) == 0 {
				return 0, io.EOF
			}
			fr := f.frames[0]
			f.frames = f.frames[1:]
			f.cur = plz4.NewReader(io.NewSectionReader(f.src, fr[0], fr[1]-fr[0]))
		}
		n, err := f.cur.Read(p)
		if err == io.EOF {
			f.cur = nil
		} else if err != nil {
			f.err = fmt.Errorf("frame: %w", err)
		}
		if n > 0 || len(p) == 0 {
			return n, nil
		}
	}
	return 0, io.EOF
}

// extractLegacy reads the legacy format: after the magic, blocks of a
// 4-byte compressed size and data, each decompressing to 8 MiB except the
// last. A repeated magic starts another stream. The stream ends after a
// short block, at the end of data, or at a size field that cannot be a
// block (kernels append their uncompressed size).
func extractLegacy(ctx context.Context, w walker, dst firmware.Sink) (int64, error) {
	l := &legacyReader{ctx: ctx, w: w, off: 4}
	e := firmware.Entry{Type: firmware.TypeFile, Mode: 0o644, Offset: 0}
	if err := dst.Put(ctx, e, l); err != nil {
		return l.off, err
	}
	if l.err != nil {
		return l.off, fmt.Errorf("%w: legacy block at %#x: %w", ErrTruncated, l.off, l.err)
	}
	return l.off, nil
}

type legacyReader struct {
	ctx    context.Context
	w      walker
	off    int64 // end of the last block decoded
	in     []byte
	out    []byte
	pend   []byte
	blocks int
	done   bool
	err    error
}

func (l *legacyReader) Read(p []byte) (int, error) {
	for len(l.pend) == 0 {
		if l.done {
			return 0, io.EOF
		}
		if err := l.ctx.Err(); err != nil {
			return 0, err
		}
		l.next()
	}
	n := copy(p, l.pend)
	l.pend = l.pend[n:]
	return n, nil
}

// next decodes one block into pend, or sets done.
func (l *legacyReader) next() {
	n, err := l.w.u32(l.off)
	if err != nil {
		l.done = true
		if l.blocks == 0 {
			l.err = io.ErrUnexpectedEOF
		}
		return
	}
	if n == legacyMagic && l.blocks > 0 {
		l.off += 4
		l.blocks = 0
		return
	}
	if n == 0 || int64(n) > legacyBound || int64(n) > l.w.size-l.off-4 {
		l.done = true
		if l.blocks == 0 {
			l.err = fmt.Errorf("%w: block size %d", ErrHeader, n)
		}
		return
	}
	if cap(l.in) < int(n) {
		l.in = make([]byte, n)
	}
	in := l.in[:n]
	if err := l.w.read(l.off+4, in); err != nil {
		l.done, l.err = true, err
		return
	}
	if l.out == nil {
		l.out = make([]byte, legacyBlock)
	}
	k, err := plz4.UncompressBlock(in, l.out)
	if err != nil {
		l.done = true
		if l.blocks == 0 {
			l.err = err
		}
		return
	}
	l.off += 4 + int64(n)
	l.blocks++
	l.pend = l.out[:k]
	if k < legacyBlock {
		// A short block is the last one of its stream; another stream may follow.
		if m, err := l.w.u32(l.off); err == nil && m == legacyMagic {
			l.off += 4
			l.blocks = 0
			return
		}
		l.done = true
	}
}

// xxh32Short is XXH32 with seed 0 for inputs shorter than 16 bytes, enough
// for the frame descriptor checksum.
func xxh32Short(b []byte) uint32 {
	const (
		p1 = 2654435761
		p2 = 2246822519
		p3 = 3266489917
		p4 = 668265263
		p5 = 374761393
	)
	h := uint32(p5) + uint32(len(b))
	for ; len(b) >= 4; b = b[4:] {
		h += binary.LittleEndian.Uint32(b) * p3
		h = bits.RotateLeft32(h, 17) * p4
	}
	for _, c := range b {
		h += uint32(c) * p5
		h = bits.RotateLeft32(h, 11) * p1
	}
	h ^= h >> 15
	h *= p2
	h ^= h >> 13
	h *= p3
	h ^= h >> 16
	return h
}
