package squashfs

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/anchore/go-lzo"
	"github.com/klauspost/compress/zlib"
	"github.com/klauspost/compress/zstd"
	"github.com/pierrec/lz4/v4"
)

// Compression ids as stored in a v4 superblock.
const (
	compGzip = 1
	compLZMA = 2
	compLZO  = 3
	compXZ   = 4
	compLZ4  = 5
	compZstd = 6
	// compAuto is used for v2/v3 images, which record no compressor:
	// zlib is the standard, LZMA is what many vendor kernels patched in.
	compAuto = 100
)

var compNames = map[uint16]string{
	compGzip: "gzip", compLZMA: "lzma", compLZO: "lzo", compXZ: "xz",
	compLZ4: "lz4", compZstd: "zstd", compAuto: "gzip/lzma",
}

// errOverflow reports a block that decompresses to more than it may.
var errOverflow = errors.New("squashfs: block decompresses past its size limit")

// decompressor decodes one whole compressed block from src into dst and
// returns the number of bytes written. It fails rather than write past
// len(dst). Every decompressor is safe for concurrent use: per-call state
// comes from pools.
type decompressor func(dst, src []byte) (int, error)

// codec decompresses whole blocks. It is safe for concurrent use.
type codec struct {
	id  uint16
	dec decompressor
}

func newCodec(id uint16) (*codec, error) {
	c := &codec{id: id}
	switch id {
	case compGzip:
		c.dec = decompressZlib
	case compAuto:
		c.dec = decompressAuto
	case compXZ:
		c.dec = decompressXZ
	case compLZMA:
		c.dec = decompressLZMA
	case compLZO:
		c.dec = decompressLZO
	case compLZ4:
		c.dec = decompressLZ4
	case compZstd:
		c.dec = decompressZstd
	default:
		return nil, fmt.Errorf("%w: compressor id %d", ErrUnsupported, id)
	}
	return c, nil
}

// decode decompresses src into dst[:cap(dst)] and returns the filled part.
// It fails when the output would exceed cap(dst).
func (c *codec) decode(dst, src []byte) ([]byte, error) {
	dst = dst[:cap(dst)]
	n, err := c.dec(dst, src)
	if err != nil {
		return nil, err
	}
	if n < 0 || n > len(dst) {
		return nil, errOverflow
	}
	return dst[:n], nil
}

// decompressAuto handles v2/v3 images, whose superblock names no
// compressor: each block is sniffed for a zlib header.
func decompressAuto(dst, src []byte) (int, error) {
	if looksZlib(src) {
		return decompressZlib(dst, src)
	}
	return decompressLZMA(dst, src)
}

// looksZlib reports whether b starts with a valid zlib header.
func looksZlib(b []byte) bool {
	if len(b) < 2 {
		return false
	}
	return b[0]&0x0f == 8 && b[0]>>4 <= 7 && (uint16(b[0])<<8|uint16(b[1]))%31 == 0
}

// zlibState is a reusable zlib reader with the bytes.Reader it reads from.
type zlibState struct {
	br bytes.Reader
	r  io.ReadCloser
}

var zlibPool sync.Pool

func decompressZlib(dst, src []byte) (int, error) {
	s, _ := zlibPool.Get().(*zlibState)
	if s == nil {
		s = new(zlibState)
	}
	s.br.Reset(src)
	var err error
	if s.r == nil {
		s.r, err = zlib.NewReader(&s.br)
	} else {
		err = s.r.(zlib.Resetter).Reset(&s.br, nil)
	}
	if err != nil {
		s.r = nil // a reader whose reset failed is not reused
		zlibPool.Put(s)
		return 0, fmt.Errorf("squashfs: zlib: %w", err)
	}
	n, err := readInto(dst, s.r)
	s.br.Reset(nil)
	zlibPool.Put(s)
	if err != nil {
		return 0, fmt.Errorf("squashfs: zlib: %w", err)
	}
	return n, nil
}

func decompressLZO(dst, src []byte) (int, error) {
	n, err := lzo.Decompress(src, dst)
	if err != nil {
		return 0, fmt.Errorf("squashfs: lzo: %w", err)
	}
	if n < 0 || n > len(dst) {
		return 0, errOverflow
	}
	return n, nil
}

func decompressLZ4(dst, src []byte) (int, error) {
	n, err := lz4.UncompressBlock(src, dst)
	if err != nil {
		return 0, fmt.Errorf("squashfs: lz4: %w", err)
	}
	return n, nil
}

// zstd decoders are kept in a small free list. Each is single-threaded
// (concurrency 1, low memory) so a worker never waits on another's call.
var zstdFree = make(chan *zstd.Decoder, 8)

func decompressZstd(dst, src []byte) (int, error) {
	var d *zstd.Decoder
	select {
	case d = <-zstdFree:
	default:
		var err error
		d, err = zstd.NewReader(nil,
			zstd.WithDecoderConcurrency(1),
			zstd.WithDecoderLowmem(true),
			zstd.WithDecoderMaxMemory(maxBlockSize+1),
			zstd.WithDecoderMaxWindow(maxBlockSize*2))
		if err != nil {
			return 0, fmt.Errorf("squashfs: zstd: %w", err)
		}
	}
	out, err := d.DecodeAll(src, dst[:0])
	select {
	case zstdFree <- d:
	default:
		d.Close()
	}
	if err != nil {
		return 0, fmt.Errorf("squashfs: zstd: %w", err)
	}
	if len(out) > len(dst) {
		return 0, errOverflow
	}
	if len(out) > 0 && &out[0] != &dst[0] {
		copy(dst, out)
	}
	return len(out), nil
}

// readInto reads r to EOF into dst and fails if r holds more than len(dst).
func readInto(dst []byte, r io.Reader) (int, error) {
	n, stall := 0, 0
	for n < len(dst) {
		m, err := r.Read(dst[n:])
		n += m
		if err == io.EOF {
			return n, nil
		}
		if err != nil {
			return 0, err
		}
		if m == 0 {
			// A reader that makes no progress is treated as broken.
			stall++
			if stall > 100 {
				return 0, io.ErrNoProgress
			}
		}
	}
	var one [1]byte
	for i := 0; i < 100; i++ {
		m, err := r.Read(one[:])
		if m > 0 {
			return 0, errOverflow
		}
		if err == io.EOF {
			return n, nil
		}
		if err != nil {
			return 0, err
		}
	}
	return 0, io.ErrNoProgress
}
