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
	"github.com/ulikunitz/xz"
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
		br := bytesReaderPool.Get().(*bytes.Reader)
		br.Reset(src)
		defer bytesReaderPool.Put(br)
		r, err := xz.ReaderConfig{SingleStream: true, DictCap: maxBlockSize}.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("squashfs: xz: %w", err)
		}
		return readInto(dst, r)
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

func decodeLZMA(dst, src []byte) ([]byte, error) {
	// The legacy header is 5 property bytes and an 8-byte size.
	if len(src) < 13 {
		return nil, fmt.Errorf("squashfs: lzma: %w", io.ErrUnexpectedEOF)
	}
	br := bytesReaderPool.Get().(*bytes.Reader)
	br.Reset(src)
	defer bytesReaderPool.Put(br)
	r, err := lzma.ReaderConfig{DictCap: maxBlockSize}.NewReader(br)
	if err != nil {
		return nil, fmt.Errorf("squashfs: lzma: %w", err)
	}
	return readInto(dst, r)
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
