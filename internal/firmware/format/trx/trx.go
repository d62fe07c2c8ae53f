// Package trx reads Broadcom TRX firmware containers: a little-endian
// header with magic "HDR0", the total length, a CRC32 over everything
// after the CRC field, flags and version, and up to three (v1) or four (v2)
// partition offsets.
package trx

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"

	"github.com/netvet/netvet/internal/firmware/format/internal/payload"

	"github.com/netvet/netvet/internal/firmware"
	"github.com/netvet/netvet/internal/safeio"
)

const (
	magic     = "HDR0"
	headerV1  = 28
	headerV2  = 32
	crcOffset = 12
)

var (
	// ErrHeader reports a header that is not a valid TRX header.
	ErrHeader = errors.New("trx: invalid header")
	// ErrTruncated reports a length past the end of the input.
	ErrTruncated = errors.New("trx: image extends past end of input")
	// ErrCRC reports an image whose CRC32 does not match the header.
	ErrCRC = errors.New("trx: crc32 mismatch")
)

// Header is a decoded TRX header.
type Header struct {
	Len     uint32
	CRC     uint32
	Flags   uint16
	Version uint16
	Offsets []uint32 // non-zero partition offsets, in header order
}

// parts returns the [start, end) of every partition.
func (h Header) parts() [][2]int64 {
	out := make([][2]int64, len(h.Offsets))
	for i, o := range h.Offsets {
		end := int64(h.Len)
		if i+1 < len(h.Offsets) {
			end = int64(h.Offsets[i+1])
		}
		out[i] = [2]int64{int64(o), end}
	}
	return out
}

// ParseHeader reads and checks the TRX header at the start of r: magic,
// version 1 or 2, a length covering the header, and partition offsets
// that are increasing, past the header and within the length. The length
// itself may exceed size (a truncated image).
func ParseHeader(r io.ReaderAt, size int64) (Header, error) {
	b, err := safeio.ReadAt(r, size, 0, headerV1, headerV1)
	if err != nil {
		return Header{}, fmt.Errorf("%w: %w", ErrHeader, err)
	}
	if string(b[:4]) != magic {
		return Header{}, fmt.Errorf("%w: bad magic", ErrHeader)
	}
	le := binary.LittleEndian
	h := Header{Len: le.Uint32(b[4:]), CRC: le.Uint32(b[8:])}
	fv := le.Uint32(b[12:])
	h.Flags, h.Version = uint16(fv), uint16(fv>>16)
	hsize, n := int64(headerV1), 3
	switch h.Version {
	case 1:
	case 2:
		hsize, n = headerV2, 4
		if b, err = safeio.ReadAt(r, size, 0, headerV2, headerV2); err != nil {
			return Header{}, fmt.Errorf("%w: %w", ErrHeader, err)
		}
	default:
		return Header{}, fmt.Errorf("%w: version %d", ErrHeader, h.Version)
	}
	if int64(h.Len) < hsize {
		return Header{}, fmt.Errorf("%w: length %d shorter than header", ErrHeader, h.Len)
	}
	prev := int64(0)
	for i := range n {
		o := le.Uint32(b[16+4*i:])
		if o == 0 {
			continue
		}
		if int64(o) < hsize || int64(o) <= prev || o > h.Len {
			return Header{}, fmt.Errorf("%w: partition %d offset 0x%x out of order or range", ErrHeader, i, o)
		}
		prev = int64(o)
		h.Offsets = append(h.Offsets, o)
	}
	if len(h.Offsets) == 0 {
		return Header{}, fmt.Errorf("%w: no partitions", ErrHeader)
	}
	return h, nil
}

type format struct{}

// New returns the TRX format.
func New() firmware.Format { return format{} }

var _ firmware.Format = format{}

func (format) Info() firmware.Info {
	return firmware.Info{
		Name:        "trx",
		Description: "Broadcom TRX firmware container",
		Kind:        firmware.KindContainer,
		Signatures:  []firmware.Signature{{Magic: []byte(magic)}},
		Variants:    []string{"v1 (3 partitions)", "v2 (4 partitions)", "crc32 verified"},
	}
}

func (format) Identify(src io.ReaderAt, size int64) bool {
	_, err := ParseHeader(src, size)
	return err == nil
}

func (format) Extract(ctx context.Context, src io.ReaderAt, size int64, dst firmware.Sink) (int64, error) {
	h, err := ParseHeader(src, size)
	if err != nil {
		return 0, err
	}
	total := int64(h.Len)
	if total > size {
		return 0, fmt.Errorf("%w: length %d, %d bytes available", ErrTruncated, total, size)
	}
	// The CRC covers bytes 12..len, header tail included, so hash the
	// header tail first and then the partitions as they stream out.
	crc := crc32.NewIEEE()
	first := int64(h.Offsets[0])
	if err := payload.HashRange(ctx, "trx", crc, src, crcOffset, first-crcOffset); err != nil {
		return 0, err
	}
	for i, p := range h.parts() {
		if err := ctx.Err(); err != nil {
			return 0, err
		}
		e := firmware.Entry{Path: fmt.Sprintf("partition-%d", i), Type: firmware.TypeFile,
			Mode: 0o644, Offset: p[0], Size: p[1] - p[0]}
		if err := payload.PutHashed(ctx, "trx", dst, src, e, crc); err != nil {
			return 0, err
		}
	}
	// Stored value is the raw register (no final inversion).
	if got := ^crc.Sum32(); got != h.CRC {
		dst.Fail(firmware.Entry{Path: "", Type: firmware.TypeFile, Offset: 0, Size: total},
			fmt.Errorf("%w: header 0x%08x, computed 0x%08x", ErrCRC, h.CRC, got))
	}
	return total, nil
}
