// Package tplink reads the classic TP-Link firmware header (as written by
// mktplinkfw, header version 1, and mktplinkfw2, versions 2 and 3): a
// 512-byte big-endian header with vendor or version strings, hardware ID,
// a salted MD5 over the image, and kernel, rootfs and bootloader offsets
// and lengths.
package tplink

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"io"

	"github.com/netvet/netvet/internal/firmware/format/internal/payload"

	"github.com/netvet/netvet/internal/firmware"
	"github.com/netvet/netvet/internal/safeio"
)

// HeaderSize is the size of the header.
const HeaderSize = 0x200

const (
	v1Base = 0x4c // offset of md5sum1 in a v1 header
	v2Base = 0x40 // offset of md5sum1 in a v2/v3 header
)

// The salts that stand in for the MD5 field while the digest is computed.
// Two generations of tools use slightly different constants; images made
// with a bootloader use the "boot" salt.
var (
	saltNormal = [][16]byte{
		{0xdc, 0xd7, 0x3a, 0xa5, 0xc3, 0x95, 0x98, 0xfb, 0xdd, 0xf9, 0xe7, 0xf4, 0x0e, 0xae, 0x47, 0x38},
		{0xdc, 0xd7, 0x3a, 0xa5, 0xc3, 0x95, 0x98, 0xfb, 0xdc, 0xf9, 0xe7, 0xf4, 0x0e, 0xae, 0x47, 0x37},
	}
	saltBoot = [][16]byte{
		{0x8c, 0xef, 0x33, 0x5b, 0xd5, 0xc5, 0xce, 0xfa, 0xa7, 0x9c, 0x28, 0xda, 0xb2, 0xe9, 0x0f, 0x42},
		{0x8c, 0xef, 0x33, 0x5f, 0xd5, 0xc5, 0xce, 0xfa, 0xac, 0x9c, 0x28, 0xda, 0xb2, 0xe9, 0x0f, 0x42},
	}
)

var (
	// ErrHeader reports a header that is not a valid TP-Link header.
	ErrHeader = errors.New("tplink: invalid header")
	// ErrTruncated reports parts past the end of the input.
	ErrTruncated = errors.New("tplink: data extends past end of input")
	// ErrMD5 reports a digest mismatch.
	ErrMD5 = errors.New("tplink: md5 mismatch")
	// ErrUnverified reports that the digest could not be checked.
	ErrUnverified = errors.New("tplink: md5 not verified")
)

// Header is a decoded header.
type Header struct {
	Version   uint32 // 1, 2 or 3
	Vendor    string // v1 only
	FWVersion string
	HWID      uint32
	HWRev     uint32
	MD5       [16]byte
	KernelLA  uint32
	KernelEP  uint32
	FWLength  uint32
	KernelOfs uint32
	KernelLen uint32
	RootfsOfs uint32
	RootfsLen uint32
	BootOfs   uint32
	BootLen   uint32
	md5Off    int64
}

func cstr(b []byte) (string, bool) {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		b = b[:i]
	}
	for _, c := range b {
		if c < 0x20 || c > 0x7e {
			return "", false
		}
	}
	return string(b), true
}

// ParseHeader reads and checks the header at the start of r.
func ParseHeader(r io.ReaderAt, size int64) (Header, error) {
	b, err := safeio.ReadAt(r, size, 0, HeaderSize, HeaderSize)
	if err != nil {
		return Header{}, fmt.Errorf("%w: %w", ErrHeader, err)
	}
	be := binary.BigEndian
	var h Header
	// The version word is written as a big-endian 0x0v000000.
	switch v := be.Uint32(b); v {
	case 0x01000000:
		h.Version = 1
	case 0x02000000, 0x03000000:
		h.Version = v >> 24
	default:
		return Header{}, fmt.Errorf("%w: version word 0x%08x", ErrHeader, v)
	}
	var ok bool
	base := v1Base
	if h.Version == 1 {
		if h.Vendor, ok = cstr(b[4:28]); !ok || h.Vendor == "" {
			return Header{}, fmt.Errorf("%w: vendor name", ErrHeader)
		}
		if h.FWVersion, ok = cstr(b[28:64]); !ok {
			return Header{}, fmt.Errorf("%w: version string", ErrHeader)
		}
		h.HWID, h.HWRev = be.Uint32(b[64:]), be.Uint32(b[68:])
	} else {
		base = v2Base
		if h.FWVersion, ok = cstr(b[4:52]); !ok {
			return Header{}, fmt.Errorf("%w: version string", ErrHeader)
		}
		if be.Uint16(b[0x8c:]) != 0x55aa {
			return Header{}, fmt.Errorf("%w: v%d marker 0x55aa missing", ErrHeader, h.Version)
		}
		h.HWID, h.HWRev = be.Uint32(b[0x34:]), be.Uint32(b[0x38:])
	}
	h.md5Off = int64(base)
	copy(h.MD5[:], b[base:])
	f := func(o int) uint32 { return be.Uint32(b[base+o:]) }
	h.KernelLA, h.KernelEP, h.FWLength = f(0x28), f(0x2c), f(0x30)
	h.KernelOfs, h.KernelLen = f(0x34), f(0x38)
	h.RootfsOfs, h.RootfsLen = f(0x3c), f(0x40)
	h.BootOfs, h.BootLen = f(0x44), f(0x48)
	if h.FWLength < HeaderSize {
		return Header{}, fmt.Errorf("%w: firmware length %d", ErrHeader, h.FWLength)
	}
	if h.KernelLen == 0 || h.KernelOfs < HeaderSize {
		return Header{}, fmt.Errorf("%w: kernel at 0x%x, %d bytes", ErrHeader, h.KernelOfs, h.KernelLen)
	}
	for _, p := range h.parts() {
		if p.off < HeaderSize || p.off+p.n > int64(h.FWLength) {
			return Header{}, fmt.Errorf("%w: %s at 0x%x, %d bytes, outside firmware length %d", ErrHeader, p.name, p.off, p.n, h.FWLength)
		}
	}
	if h.RootfsLen > 0 {
		ks, ke := int64(h.KernelOfs), int64(h.KernelOfs)+int64(h.KernelLen)
		rs, re := int64(h.RootfsOfs), int64(h.RootfsOfs)+int64(h.RootfsLen)
		if rs < ke && ks < re {
			return Header{}, fmt.Errorf("%w: rootfs at 0x%x overlaps kernel at 0x%x", ErrHeader, rs, ks)
		}
	}
	return h, nil
}

type part struct {
	name   string
	off, n int64
}

// parts lists the payloads the header declares. A bootloader with offset
// 0 is taken to sit right after the header, as in vendor "boot" images.
func (h Header) parts() []part {
	ps := []part{{"kernel", int64(h.KernelOfs), int64(h.KernelLen)}}
	if h.RootfsLen > 0 {
		ps = append(ps, part{"rootfs", int64(h.RootfsOfs), int64(h.RootfsLen)})
	}
	if h.BootLen > 0 {
		off := int64(h.BootOfs)
		if off == 0 {
			off = HeaderSize
		}
		ps = append(ps, part{"bootloader", off, int64(h.BootLen)})
	}
	return ps
}

type format struct{}

// New returns the TP-Link format.
func New() firmware.Format { return format{} }

var _ firmware.Format = format{}

func (format) Info() firmware.Info {
	return firmware.Info{
		Name:        "tplink",
		Description: "TP-Link firmware header (mktplinkfw v1, mktplinkfw2 v2/v3)",
		Kind:        firmware.KindContainer,
		Signatures: []firmware.Signature{
			{Magic: []byte("\x01\x00\x00\x00TP-LINK Technologies")},
			{Magic: []byte("\x01\x00\x00\x00OpenWrt")},
			{Magic: []byte{0x55, 0xaa}, Offset: 0x8c},
		},
		Variants: []string{"v1", "v2", "v3 (signature not checked)", "salted md5 verified"},
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
	end := int64(HeaderSize)
	for _, p := range h.parts() {
		if err := ctx.Err(); err != nil {
			return 0, err
		}
		e := firmware.Entry{Path: p.name, Type: firmware.TypeFile, Mode: 0o644, Offset: p.off, Size: p.n}
		if p.off+p.n > size {
			dst.Fail(e, fmt.Errorf("%w: %s: %d bytes at offset 0x%x, %d available", ErrTruncated, p.name, p.n, p.off, size))
			continue
		}
		end = max(end, p.off+p.n)
		if err := dst.Put(ctx, e, io.NewSectionReader(src, p.off, p.n)); err != nil {
			return 0, err
		}
	}
	whole := firmware.Entry{Path: "", Type: firmware.TypeFile, Offset: 0, Size: int64(h.FWLength)}
	if int64(h.FWLength) > size {
		if end == HeaderSize {
			return 0, fmt.Errorf("%w: no part fits in %d bytes", ErrTruncated, size)
		}
		dst.Fail(whole, fmt.Errorf("%w: image is %d bytes, header declares %d", ErrUnverified, size, h.FWLength))
		return end, nil
	}
	salts := saltNormal
	if h.BootLen != 0 {
		salts = saltBoot
	}
	ok, err := checkMD5(ctx, src, h, salts)
	if err != nil {
		return 0, err
	}
	if !ok {
		dst.Fail(whole, fmt.Errorf("%w: header %x", ErrMD5, h.MD5))
	}
	return int64(h.FWLength), nil
}

// checkMD5 hashes the image with the digest field replaced by each salt in
// turn (in one pass) and reports whether one of them gives the stored digest.
func checkMD5(ctx context.Context, src io.ReaderAt, h Header, salts [][16]byte) (bool, error) {
	hs := make([]hash.Hash, len(salts))
	ws := make([]io.Writer, len(salts))
	for i := range hs {
		hs[i] = md5.New()
		ws[i] = hs[i]
	}
	w := io.MultiWriter(ws...)
	if err := payload.HashRange(ctx, "tplink", w, src, 0, h.md5Off); err != nil {
		return false, err
	}
	for i, s := range salts {
		hs[i].Write(s[:])
	}
	rest := h.md5Off + 16
	if err := payload.HashRange(ctx, "tplink", w, src, rest, int64(h.FWLength)-rest); err != nil {
		return false, err
	}
	for _, x := range hs {
		var got [16]byte
		x.Sum(got[:0])
		if got == h.MD5 {
			return true, nil
		}
	}
	return false, nil
}
