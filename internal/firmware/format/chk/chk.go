// Package chk reads Netgear CHK firmware containers: a big-endian header
// with magic 0x2A23245E, the header length, region and version bytes, the
// checksums and lengths of the kernel and rootfs, an image and a header
// checksum, and the board ID string; then the kernel and the rootfs.
package chk

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/netvet/netvet/internal/firmware/format/internal/payload"

	"github.com/netvet/netvet/internal/firmware"
	"github.com/netvet/netvet/internal/safeio"
)

const (
	magic      = 0x2A23245E
	fixedSize  = 40
	maxBoardID = 128
)

var (
	// ErrHeader reports a header that is not a valid CHK header.
	ErrHeader = errors.New("chk: invalid header")
	// ErrTruncated reports lengths past the end of the input.
	ErrTruncated = errors.New("chk: image extends past end of input")
	// ErrChecksum reports a checksum mismatch.
	ErrChecksum = errors.New("chk: checksum mismatch")
)

// Header is a decoded CHK header.
type Header struct {
	HeaderLen    uint32
	Region       uint8    // 1 worldwide, 2 North America
	Version      [7]uint8 // A.B.C.D_E.F.G
	KernelSum    uint32
	RootfsSum    uint32
	KernelLen    uint32
	RootfsLen    uint32
	ImageSum     uint32
	HeaderSum    uint32
	BoardID      string
	computedHSum uint32
}

// VersionString formats the version bytes as Netgear names releases.
func (h Header) VersionString() string {
	v := h.Version
	return fmt.Sprintf("%d.%d.%d.%d_%d.%d.%d", v[0], v[1], v[2], v[3], v[4], v[5], v[6])
}

// Checksum is Netgear's two-sum checksum, fed with Write.
type Checksum struct{ c0, c1 uint32 }

// Write adds p to the checksum. It never fails.
func (c *Checksum) Write(p []byte) (int, error) {
	c0, c1 := c.c0, c.c1
	for _, b := range p {
		c0 += uint32(b)
		c1 += c0
	}
	c.c0, c.c1 = c0, c1
	return len(p), nil
}

// Sum32 folds both sums to 16 bits each and returns c1<<16 | c0.
func (c *Checksum) Sum32() uint32 {
	fold := func(x uint32) uint32 {
		b := x&0xffff + x>>16
		return (b>>16 + b) & 0xffff
	}
	return fold(c.c1)<<16 | fold(c.c0)
}

// ParseHeader reads and checks the header at the start of r.
func ParseHeader(r io.ReaderAt, size int64) (Header, error) {
	b, err := safeio.ReadAt(r, size, 0, fixedSize, fixedSize)
	if err != nil {
		return Header{}, fmt.Errorf("%w: %w", ErrHeader, err)
	}
	be := binary.BigEndian
	if be.Uint32(b) != magic {
		return Header{}, fmt.Errorf("%w: bad magic", ErrHeader)
	}
	h := Header{HeaderLen: be.Uint32(b[4:]), Region: b[8],
		KernelSum: be.Uint32(b[16:]), RootfsSum: be.Uint32(b[20:]),
		KernelLen: be.Uint32(b[24:]), RootfsLen: be.Uint32(b[28:]),
		ImageSum: be.Uint32(b[32:]), HeaderSum: be.Uint32(b[36:])}
	copy(h.Version[:], b[9:16])
	if h.HeaderLen <= fixedSize || h.HeaderLen > fixedSize+maxBoardID {
		return Header{}, fmt.Errorf("%w: header length %d", ErrHeader, h.HeaderLen)
	}
	if h.KernelLen == 0 {
		return Header{}, fmt.Errorf("%w: empty kernel", ErrHeader)
	}
	id, err := safeio.ReadAt(r, size, fixedSize, int64(h.HeaderLen)-fixedSize, maxBoardID)
	if err != nil {
		return Header{}, fmt.Errorf("%w: board id: %w", ErrHeader, err)
	}
	// Some writers NUL-pad the board ID inside the declared length.
	s := strings.TrimRight(string(id), "\x00")
	if s == "" {
		return Header{}, fmt.Errorf("%w: empty board id", ErrHeader)
	}
	for _, c := range []byte(s) {
		if c < 0x20 || c > 0x7e {
			return Header{}, fmt.Errorf("%w: board id not printable", ErrHeader)
		}
	}
	h.BoardID = s
	var c Checksum
	clear(b[36:40])
	c.Write(b)
	c.Write(id)
	h.computedHSum = c.Sum32()
	return h, nil
}

type format struct{}

// New returns the Netgear CHK format.
func New() firmware.Format { return format{} }

var _ firmware.Format = format{}

func (format) Info() firmware.Info {
	return firmware.Info{
		Name:        "chk",
		Description: "Netgear CHK firmware container",
		Kind:        firmware.KindContainer,
		Signatures:  []firmware.Signature{{Magic: []byte{0x2A, 0x23, 0x24, 0x5E}}},
		Variants:    []string{"kernel + optional rootfs", "header, kernel, rootfs and image checksums verified"},
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
	hl, kl, rl := int64(h.HeaderLen), int64(h.KernelLen), int64(h.RootfsLen)
	total := hl + kl + rl
	if total > size {
		return 0, fmt.Errorf("%w: header %d + kernel %d + rootfs %d bytes, %d available", ErrTruncated, hl, kl, rl, size)
	}
	if h.computedHSum != h.HeaderSum {
		dst.Fail(firmware.Entry{Path: "", Type: firmware.TypeFile, Offset: 0, Size: hl},
			fmt.Errorf("%w: header checksum 0x%08x, computed 0x%08x", ErrChecksum, h.HeaderSum, h.computedHSum))
	}
	var whole Checksum
	parts := []struct {
		name   string
		off, n int64
		stored uint32
	}{{"kernel", hl, kl, h.KernelSum}, {"rootfs", hl + kl, rl, h.RootfsSum}}
	for _, p := range parts {
		if p.name == "rootfs" && p.n == 0 {
			continue
		}
		e := firmware.Entry{Path: p.name, Type: firmware.TypeFile, Mode: 0o644, Offset: p.off, Size: p.n}
		var c Checksum
		if err := payload.PutHashed(ctx, "chk", dst, src, e, io.MultiWriter(&c, &whole)); err != nil {
			return 0, err
		}
		if got := c.Sum32(); got != p.stored {
			dst.Fail(e, fmt.Errorf("%w: %s checksum 0x%08x, computed 0x%08x", ErrChecksum, p.name, p.stored, got))
		}
	}
	if got := whole.Sum32(); got != h.ImageSum {
		dst.Fail(firmware.Entry{Path: "", Type: firmware.TypeFile, Offset: hl, Size: kl + rl},
			fmt.Errorf("%w: image checksum 0x%08x, computed 0x%08x", ErrChecksum, h.ImageSum, got))
	}
	return total, nil
}
