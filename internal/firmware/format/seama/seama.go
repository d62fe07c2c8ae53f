// Package seama reads D-Link SEAMA firmware containers: a big-endian
// header with magic 0x5EA3A417, the metadata and image sizes, the MD5 of
// the image, NUL-separated key=value metadata, then the image. A sealed
// image is a SEAMA whose image is itself a SEAMA; layers are unwrapped.
package seama

import (
	"context"
	"crypto/md5"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"io"
	"strings"

	"github.com/netvet/netvet/internal/firmware/format/internal/payload"

	"github.com/netvet/netvet/internal/firmware"
	"github.com/netvet/netvet/internal/safeio"
)

const (
	magic      = 0x5EA3A417
	fixedSize  = 12
	digestSize = 16
	maxLayers  = 4
)

var (
	// ErrHeader reports a header that is not a valid SEAMA header.
	ErrHeader = errors.New("seama: invalid header")
	// ErrTruncated reports an image past the end of the input.
	ErrTruncated = errors.New("seama: image extends past end of input")
	// ErrDigest reports an MD5 mismatch.
	ErrDigest = errors.New("seama: md5 mismatch")
)

// Header is one decoded SEAMA header.
type Header struct {
	MetaSize uint16
	Size     uint32
	Digest   [16]byte // zero when Size is 0 (no digest stored)
	Meta     []string // key=value strings
	ImageOff int64    // offset of the image from the header start
}

// ParseHeader reads and checks the SEAMA header at off in r, within size.
func ParseHeader(r io.ReaderAt, size, off int64) (Header, error) {
	b, err := safeio.ReadAt(r, size, off, fixedSize, fixedSize)
	if err != nil {
		return Header{}, fmt.Errorf("%w: %w", ErrHeader, err)
	}
	be := binary.BigEndian
	if be.Uint32(b) != magic {
		return Header{}, fmt.Errorf("%w: bad magic", ErrHeader)
	}
	if be.Uint16(b[4:]) != 0 {
		return Header{}, fmt.Errorf("%w: reserved field set", ErrHeader)
	}
	h := Header{MetaSize: be.Uint16(b[6:]), Size: be.Uint32(b[8:])}
	pos := int64(fixedSize)
	if h.Size != 0 {
		d, err := safeio.ReadAt(r, size, off+pos, digestSize, digestSize)
		if err != nil {
			return Header{}, fmt.Errorf("%w: digest: %w", ErrHeader, err)
		}
		copy(h.Digest[:], d)
		pos += digestSize
	} else if h.MetaSize == 0 {
		return Header{}, fmt.Errorf("%w: neither metadata nor image", ErrHeader)
	}
	meta, err := safeio.ReadAt(r, size, off+pos, int64(h.MetaSize), 1<<16)
	if err != nil {
		return Header{}, fmt.Errorf("%w: metadata: %w", ErrHeader, err)
	}
	pos += int64(h.MetaSize)
	for _, f := range strings.Split(string(meta), "\x00") {
		if f == "" {
			continue
		}
		for _, c := range []byte(f) {
			if c < 0x20 || c > 0x7e {
				return Header{}, fmt.Errorf("%w: metadata not printable", ErrHeader)
			}
		}
		h.Meta = append(h.Meta, f)
	}
	if h.MetaSize > 0 && len(h.Meta) == 0 {
		return Header{}, fmt.Errorf("%w: empty metadata", ErrHeader)
	}
	h.ImageOff = pos
	return h, nil
}

// Value returns the value of key in the metadata.
func (h Header) Value(key string) (string, bool) {
	for _, kv := range h.Meta {
		if k, v, ok := strings.Cut(kv, "="); ok && k == key {
			return v, true
		}
	}
	return "", false
}

type format struct{}

// New returns the SEAMA format.
func New() firmware.Format { return format{} }

var _ firmware.Format = format{}

func (format) Info() firmware.Info {
	return firmware.Info{
		Name:        "seama",
		Description: "D-Link SEAMA firmware container",
		Kind:        firmware.KindContainer,
		Signatures:  []firmware.Signature{{Magic: []byte{0x5E, 0xA3, 0xA4, 0x17, 0, 0}}},
		Variants:    []string{"single image", "sealed (nested SEAMA)", "header only (no image)", "md5 verified"},
	}
}

func (format) Identify(src io.ReaderAt, size int64) bool {
	_, err := ParseHeader(src, size, 0)
	return err == nil
}

type layer struct {
	h        Header
	off, end int64 // image extent, relative to the container start
}

func (format) Extract(ctx context.Context, src io.ReaderAt, size int64, dst firmware.Sink) (int64, error) {
	var layers []layer
	off, end := int64(0), size
	for len(layers) < maxLayers {
		h, err := ParseHeader(src, end, off)
		if err != nil {
			if len(layers) == 0 {
				return 0, err
			}
			break // the image is not a SEAMA: it is the payload
		}
		img := off + h.ImageOff
		if int64(h.Size) > end-img {
			if len(layers) == 0 {
				return 0, fmt.Errorf("%w: %d image bytes at offset %d, %d available", ErrTruncated, h.Size, img, end-img)
			}
			break
		}
		layers = append(layers, layer{h: h, off: img, end: img + int64(h.Size)})
		if h.Size == 0 {
			break
		}
		off, end = img, img+int64(h.Size)
	}
	total := layers[0].end
	in := layers[len(layers)-1]
	if in.h.Size == 0 {
		// A header-only SEAMA (metadata without image): nothing to put.
		return total, nil
	}
	name := "image"
	for _, l := range layers {
		if v, ok := l.h.Value("type"); ok && safeName(v) {
			name = v
		}
	}
	e := firmware.Entry{Path: name, Type: firmware.TypeFile, Mode: 0o644, Offset: in.off, Size: in.end - in.off}
	sum := md5.New()
	if err := payload.PutHashed(ctx, "seama", dst, src, e, sum); err != nil {
		return 0, err
	}
	check := func(l layer, h hash.Hash, fe firmware.Entry) {
		var got [16]byte
		h.Sum(got[:0])
		if got != l.h.Digest {
			dst.Fail(fe, fmt.Errorf("%w: image at offset %d: header %x, computed %x", ErrDigest, l.off, l.h.Digest, got))
		}
	}
	check(in, sum, e)
	for i := len(layers) - 2; i >= 0; i-- {
		l := layers[i]
		h := md5.New()
		if err := payload.HashRange(ctx, "seama", h, src, l.off, l.end-l.off); err != nil {
			return 0, err
		}
		check(l, h, firmware.Entry{Path: "", Type: firmware.TypeFile, Offset: l.off, Size: l.end - l.off})
	}
	return total, nil
}

func safeName(s string) bool {
	if s == "" || len(s) > 32 || s == "." || s == ".." {
		return false
	}
	for _, c := range []byte(s) {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}
