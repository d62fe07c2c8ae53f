package ubifs

import (
	"bytes"
	"fmt"
	"io"

	lzo "github.com/anchore/go-lzo"
	"github.com/klauspost/compress/flate"
	"github.com/klauspost/compress/zlib"
	"github.com/klauspost/compress/zstd"
)

// decompressor decodes data node payloads into a caller buffer. It keeps
// one zstd decoder and one inflater per extraction.
type decompressor struct {
	zd  *zstd.Decoder
	fl  io.ReadCloser
	buf []byte
}

func (d *decompressor) close() {
	if d.zd != nil {
		d.zd.Close()
	}
	if d.fl != nil {
		d.fl.Close()
	}
}

// decompress fills out exactly from src compressed with ctype.
func (d *decompressor) decompress(ctype uint16, src, out []byte) (err error) {
	switch ctype {
	case comprNone:
		if len(src) < len(out) {
			return fmt.Errorf("%w: %d stored bytes for a %d-byte block", ErrCompress, len(src), len(out))
		}
		copy(out, src)
		return nil
	case comprLZO:
		defer func() {
			if p := recover(); p != nil {
				err = fmt.Errorf("%w: lzo: %v", ErrCompress, p)
			}
		}()
		n, lerr := lzo.Decompress(src, out)
		if lerr != nil {
			return fmt.Errorf("%w: lzo: %v", ErrCompress, lerr)
		}
		if n != len(out) {
			return fmt.Errorf("%w: lzo: %d bytes for a %d-byte block", ErrCompress, n, len(out))
		}
		return nil
	case comprZlib:
		// The kernel and mkfs.ubifs store raw deflate (no zlib header);
		// a stream with the header is accepted as a fallback.
		if err := d.inflate(src, out); err == nil {
			return nil
		} else if zr, zerr := zlib.NewReader(bytes.NewReader(src)); zerr == nil {
			_, rerr := io.ReadFull(zr, out)
			zr.Close()
			if rerr == nil {
				return nil
			}
			return err
		} else {
			return err
		}
	case comprZstd:
		if d.zd == nil {
			zd, err := zstd.NewReader(nil,
				zstd.WithDecoderConcurrency(1),
				zstd.WithDecoderMaxMemory(1<<20),
				zstd.WithDecoderMaxWindow(1<<20),
				zstd.WithDecodeAllCapLimit(true))
			if err != nil {
				return fmt.Errorf("%w: zstd: %v", ErrCompress, err)
			}
			d.zd = zd
		}
		if cap(d.buf) < blockSize {
			d.buf = make([]byte, 0, blockSize)
		}
		got, err := d.zd.DecodeAll(src, d.buf[:0])
		if err != nil {
			return fmt.Errorf("%w: zstd: %v", ErrCompress, err)
		}
		if len(got) != len(out) {
			return fmt.Errorf("%w: zstd: %d bytes for a %d-byte block", ErrCompress, len(got), len(out))
		}
		copy(out, got)
		return nil
	}
	return fmt.Errorf("%w: unknown compression type %d", ErrCompress, ctype)
}

func (d *decompressor) inflate(src, out []byte) error {
	if d.fl == nil {
		d.fl = flate.NewReader(bytes.NewReader(src))
	} else if err := d.fl.(flate.Resetter).Reset(bytes.NewReader(src), nil); err != nil {
		return fmt.Errorf("%w: deflate: %v", ErrCompress, err)
	}
	if _, err := io.ReadFull(d.fl, out); err != nil {
		return fmt.Errorf("%w: deflate: %v", ErrCompress, err)
	}
	return nil
}
