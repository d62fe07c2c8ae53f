// Package zstd reads Zstandard streams: one or more frames, with skippable
// frames between them, decompressed with github.com/klauspost/compress/zstd.
// The extent is found by walking the frame and block headers.
package zstd

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/netvet/netvet/internal/firmware/format/internal/payload"

	kzstd "github.com/klauspost/compress/zstd"

	"github.com/netvet/netvet/internal/firmware"
)

var (
	// ErrHeader reports a frame or block header that breaks the format.
	ErrHeader = errors.New("zstd: bad header")
	// ErrTruncated reports a stream that ends, or turns corrupt, early.
	ErrTruncated = errors.New("zstd: truncated or corrupt stream")
)

const (
	frameMagic     = 0xfd2fb528
	skippableMagic = 0x184d2a50 // low nibble free
	maxBlock       = 128 << 10
	// maxWindow bounds the decoder's window (zstd --long and level 22 use 128 MiB).
	maxWindow = 128 << 20
	// maxFrames bounds the frames walked, so the walk is linear in size anyway.
	maxFrames = 1 << 20
)

type format struct{}

var _ firmware.Format = format{}

// New returns the zstd format.
func New() firmware.Format { return format{} }

func (format) Info() firmware.Info {
	sigs := []firmware.Signature{{Magic: []byte{0x28, 0xb5, 0x2f, 0xfd}}}
	for i := byte(0); i < 16; i++ {
		sigs = append(sigs, firmware.Signature{Magic: []byte{0x50 + i, 0x2a, 0x4d, 0x18}})
	}
	return firmware.Info{
		Name:        "zstd",
		Description: "Zstandard compressed stream",
		Kind:        firmware.KindCompression,
		Signatures:  sigs,
		Variants:    []string{"concatenated frames", "skippable frames", "content checksum"},
	}
}

// walker reads frame and block headers from src.
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

// frame returns the end of the frame (zstd or skippable) at off, whether it
// holds compressed data, and an error when its header is bad or it is cut
// short. With blocks false only the frame header is checked.
func (w walker) frame(off int64, blocks bool) (end int64, data bool, err error) {
	var h [18]byte
	if err := w.read(off, h[:8]); err != nil {
		return off, false, err
	}
	m := binary.LittleEndian.Uint32(h[:4])
	if m&0xfffffff0 == skippableMagic {
		n := int64(binary.LittleEndian.Uint32(h[4:8]))
		if n > w.size-off-8 {
			return w.size, false, fmt.Errorf("skippable frame at %#x: %w", off, io.ErrUnexpectedEOF)
		}
		return off + 8 + n, false, nil
	}
	if m != frameMagic {
		return off, false, fmt.Errorf("%w: no frame magic at %#x", ErrHeader, off)
	}
	fhd := h[4]
	if fhd&0x08 != 0 {
		return off, false, fmt.Errorf("%w: reserved bit set at %#x", ErrHeader, off)
	}
	single := fhd&0x20 != 0
	hl := int64(1)
	if !single {
		if h[5]>>3 > 41-10 { // window exponent beyond the format's limit
			return off, false, fmt.Errorf("%w: window descriptor at %#x", ErrHeader, off)
		}
		hl++
	}
	hl += [4]int64{0, 1, 2, 4}[fhd&3]
	fcs := [4]int64{0, 2, 4, 8}[fhd>>6]
	if fcs == 0 && single {
		fcs = 1
	}
	hl += fcs
	p := off + 4 + hl
	if !blocks {
		var bh [3]byte
		if err := w.read(p, bh[:]); err != nil {
			return p, true, err
		}
		if (bh[0]>>1)&3 == 3 {
			return p, true, fmt.Errorf("%w: reserved block type at %#x", ErrHeader, p)
		}
		return p, true, nil
	}
	for i := 0; ; i++ {
		var bh [3]byte
		if err := w.read(p, bh[:]); err != nil {
			return p, true, fmt.Errorf("block header at %#x: %w", p, io.ErrUnexpectedEOF)
		}
		v := uint32(bh[0]) | uint32(bh[1])<<8 | uint32(bh[2])<<16
		last, typ, bsize := v&1 != 0, (v>>1)&3, int64(v>>3)
		p += 3
		switch typ {
		case 1:
			p++
		case 3:
			return p, true, fmt.Errorf("%w: reserved block type at %#x", ErrHeader, p-3)
		default:
			if bsize > maxBlock {
				return p, true, fmt.Errorf("%w: block of %d bytes at %#x", ErrHeader, bsize, p-3)
			}
			p += bsize
		}
		if p > w.size {
			return w.size, true, fmt.Errorf("block at %#x: %w", p, io.ErrUnexpectedEOF)
		}
		if last {
			break
		}
		if i > int(w.size) { // cannot happen: every block takes 3 bytes
			return p, true, ErrHeader
		}
	}
	if fhd&0x04 != 0 {
		p += 4
		if p > w.size {
			return w.size, true, fmt.Errorf("checksum at %#x: %w", p-4, io.ErrUnexpectedEOF)
		}
	}
	return p, true, nil
}

func (format) Identify(src io.ReaderAt, size int64) bool {
	w := walker{src: src, size: size}
	off := int64(0)
	// Skippable frames may lead; a real frame must follow within a few.
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
	var end int64
	var walkErr error
	for i := 0; i < maxFrames && end < size; i++ {
		if err := ctx.Err(); err != nil {
			return 0, err
		}
		var h [4]byte
		if w.read(end, h[:]) != nil {
			break
		}
		m := binary.LittleEndian.Uint32(h[:])
		if m != frameMagic && m&0xfffffff0 != skippableMagic {
			break
		}
		next, _, err := w.frame(end, true)
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
	d, err := kzstd.NewReader(io.NewSectionReader(src, 0, end),
		kzstd.WithDecoderConcurrency(1), kzstd.WithDecoderLowmem(true),
		kzstd.WithDecoderMaxWindow(maxWindow), kzstd.WithDecoderMaxMemory(1<<62))
	if err != nil {
		return 0, fmt.Errorf("zstd: %w", err)
	}
	defer d.Close()
	s := &payload.Stream{Ctx: ctx, R: d}
	e := firmware.Entry{Type: firmware.TypeFile, Mode: 0o644, Offset: 0}
	if err := dst.Put(ctx, e, s); err != nil {
		return end, err
	}
	if err := errors.Join(s.Err, walkErr); err != nil {
		return end, fmt.Errorf("%w: %w", ErrTruncated, err)
	}
	return end, nil
}
