package squashfs

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/anchore/go-lzo"
	"github.com/klauspost/compress/zlib"
	"github.com/klauspost/compress/zstd"
	"github.com/pierrec/lz4/v4"
	"github.com/ulikunitz/xz/lzma"
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

// codec decompresses whole blocks. It is safe for concurrent use.
type codec struct {
	id   uint16
	zstd *zstd.Decoder
}

func newCodec(id uint16) (*codec, error) {
	c := &codec{id: id}
	switch id {
	case compGzip, compLZMA, compLZO, compXZ, compLZ4, compAuto:
	case compZstd:
		d, err := zstdDecoder()
		if err != nil {
			return nil, err
		}
		c.zstd = d
	default:
		return nil, fmt.Errorf("%w: compressor id %d", ErrUnsupported, id)
	}
	return c, nil
}

// A single zstd decoder is shared: DecodeAll is safe for concurrent use and
// keeps its own pool of block decoders.
var (
	zstdOnce sync.Once
	zstdDec  *zstd.Decoder
	zstdErr  error
)

func zstdDecoder() (*zstd.Decoder, error) {
	zstdOnce.Do(func() {
		zstdDec, zstdErr = zstd.NewReader(nil,
			zstd.WithDecoderConcurrency(0),
			zstd.WithDecoderMaxMemory(maxBlockSize+1),
			zstd.WithDecoderMaxWindow(maxBlockSize*2))
	})
	return zstdDec, zstdErr
}

// zlibPool keeps zlib readers for reuse through zlib.Resetter.
var zlibPool sync.Pool

// bytesReaderPool avoids one allocation per block.
var bytesReaderPool = sync.Pool{New: func() any { return new(bytes.Reader) }}

// decode decompresses src into dst[:cap(dst)] and returns the filled part.
// It fails when the output would exceed cap(dst).
func (c *codec) decode(dst, src []byte) ([]byte, error) {
	dst = dst[:cap(dst)]
	switch c.id {
	case compGzip:
		return decodeZlib(dst, src)
	case compAuto:
		if looksZlib(src) {
			return decodeZlib(dst, src)
		}
		return decodeLZMA(dst, src)
	case compXZ:
		return decodeXZ(dst, src)
	case compLZMA:
		return decodeLZMA(dst, src)
	case compLZO:
		n, err := lzo.Decompress(src, dst)
		if err != nil {
			return nil, fmt.Errorf("squashfs: lzo: %w", err)
		}
		if n < 0 || n > len(dst) {
			return nil, errOverflow
		}
		return dst[:n], nil
	case compLZ4:
		n, err := lz4.UncompressBlock(src, dst)
		if err != nil {
			return nil, fmt.Errorf("squashfs: lz4: %w", err)
		}
		return dst[:n], nil
	case compZstd:
		out, err := c.zstd.DecodeAll(src, dst[:0])
		if err != nil {
			return nil, fmt.Errorf("squashfs: zstd: %w", err)
		}
		if len(out) > len(dst) {
			return nil, errOverflow
		}
		return out, nil
	}
	return nil, fmt.Errorf("%w: compressor id %d", ErrUnsupported, c.id)
}

// looksZlib reports whether b starts with a valid zlib header.
func looksZlib(b []byte) bool {
	if len(b) < 2 {
		return false
	}
	return b[0]&0x0f == 8 && b[0]>>4 <= 7 && (uint16(b[0])<<8|uint16(b[1]))%31 == 0
}

func decodeZlib(dst, src []byte) ([]byte, error) {
	br := bytesReaderPool.Get().(*bytes.Reader)
	br.Reset(src)
	defer bytesReaderPool.Put(br)
	var r io.ReadCloser
	if v := zlibPool.Get(); v != nil {
		r = v.(io.ReadCloser)
		if err := r.(zlib.Resetter).Reset(br, nil); err != nil {
			return nil, fmt.Errorf("squashfs: zlib: %w", err)
		}
	} else {
		var err error
		if r, err = zlib.NewReader(br); err != nil {
			return nil, fmt.Errorf("squashfs: zlib: %w", err)
		}
	}
	out, err := readInto(dst, r)
	if err != nil {
		return nil, fmt.Errorf("squashfs: zlib: %w", err)
	}
	zlibPool.Put(r)
	return out, nil
}

// decodeLZMA decodes the legacy LZMA format: 5 property bytes (lc/lp/pb and
// a dictionary size), an 8-byte uncompressed size, then the stream. The
// dictionary never needs to exceed one block, so a larger size in the
// header is lowered rather than allocated.
func decodeLZMA(dst, src []byte) ([]byte, error) {
	if len(src) < 13 {
		return nil, fmt.Errorf("squashfs: lzma: %w", io.ErrUnexpectedEOF)
	}
	var hdr [13]byte
	copy(hdr[:], src)
	if binary.LittleEndian.Uint32(hdr[1:]) > maxBlockSize {
		binary.LittleEndian.PutUint32(hdr[1:], maxBlockSize)
	}
	br := bytesReaderPool.Get().(*bytes.Reader)
	br.Reset(src[13:])
	defer bytesReaderPool.Put(br)
	r, err := lzma.ReaderConfig{DictCap: maxBlockSize}.NewReader(io.MultiReader(bytes.NewReader(hdr[:]), br))
	if err != nil {
		return nil, fmt.Errorf("squashfs: lzma: %w", err)
	}
	return readInto(dst, r)
}

var errXZFilter = errors.New("squashfs: xz: only a single LZMA2 filter is supported")

// decodeXZ decodes a single-block xz stream as mksquashfs writes it. The
// container is parsed here and the LZMA2 data handed to the decoder with a
// dictionary of at most one block; the index and checksums that follow the
// block are not needed to recover the data.
func decodeXZ(dst, src []byte) ([]byte, error) {
	const streamHeader = 12
	if len(src) < streamHeader+8 || string(src[:6]) != "\xfd7zXZ\x00" {
		return nil, errors.New("squashfs: xz: bad stream header")
	}
	p := src[streamHeader:]
	hsize := (int(p[0]) + 1) * 4
	if p[0] == 0 || hsize > len(p) {
		return nil, errors.New("squashfs: xz: bad block header")
	}
	h := p[1 : hsize-4]
	flags := h[0]
	h = h[1:]
	if flags&0x03 != 0 || flags&0x3c != 0 {
		return nil, errXZFilter
	}
	skipVarint := func() bool {
		for i := 0; i < 9 && len(h) > 0; i++ {
			c := h[0]
			h = h[1:]
			if c&0x80 == 0 {
				return true
			}
		}
		return false
	}
	if flags&0x40 != 0 && !skipVarint() {
		return nil, errors.New("squashfs: xz: bad block header")
	}
	if flags&0x80 != 0 && !skipVarint() {
		return nil, errors.New("squashfs: xz: bad block header")
	}
	if len(h) < 3 || h[0] != 0x21 || h[1] != 1 {
		return nil, errXZFilter
	}
	dict, err := lzma.DecodeDictCap(h[2])
	if err != nil {
		return nil, fmt.Errorf("squashfs: xz: %w", err)
	}
	dict = max(min(dict, maxBlockSize), lzma.MinDictCap)
	br := bytesReaderPool.Get().(*bytes.Reader)
	br.Reset(p[hsize:])
	defer bytesReaderPool.Put(br)
	r, err := lzma.Reader2Config{DictCap: int(dict)}.NewReader2(br)
	if err != nil {
		return nil, fmt.Errorf("squashfs: xz: %w", err)
	}
	out, err := readInto(dst, r)
	if err != nil {
		return nil, fmt.Errorf("squashfs: xz: %w", err)
	}
	return out, nil
}

// readInto reads r to EOF into dst and fails if r holds more than len(dst).
func readInto(dst []byte, r io.Reader) ([]byte, error) {
	n, stall := 0, 0
	for n < len(dst) {
		m, err := r.Read(dst[n:])
		n += m
		if err == io.EOF {
			return dst[:n], nil
		}
		if err != nil {
			return nil, err
		}
		if m == 0 {
			// A reader that makes no progress is treated as broken.
			stall++
			if stall > 100 {
				return nil, io.ErrNoProgress
			}
		}
	}
	var one [1]byte
	for i := 0; i < 100; i++ {
		m, err := r.Read(one[:])
		if m > 0 {
			return nil, errOverflow
		}
		if err == io.EOF {
			return dst[:n], nil
		}
		if err != nil {
			return nil, err
		}
	}
	return nil, io.ErrNoProgress
}
