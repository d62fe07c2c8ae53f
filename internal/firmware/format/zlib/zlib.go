// Package zlib reads zlib streams (RFC 1950): a two-byte header, deflate
// data and an Adler-32 trailer.
package zlib

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/netvet/netvet/internal/firmware/format/internal/payload"

	kzlib "github.com/klauspost/compress/zlib"

	"github.com/netvet/netvet/internal/firmware"
	"github.com/netvet/netvet/internal/safeio"
)

// ErrTruncated reports a stream that ends, or turns corrupt, before its trailer.
var ErrTruncated = errors.New("zlib: truncated or corrupt stream")

const (
	identifyWindow = 4 << 10
	// minTrialOutput is how much a trial inflate must produce, unless the
	// stream ends cleanly first: the two-byte magic alone proves little.
	minTrialOutput = 64
)

type format struct{}

var _ firmware.Format = format{}

// New returns the zlib format.
func New() firmware.Format { return format{} }

// signatures lists every valid header with a 8, 16 or 32 KiB window and no
// preset dictionary.
func signatures() []firmware.Signature {
	var sigs []firmware.Signature
	for cinfo := byte(5); cinfo <= 7; cinfo++ {
		cmf := cinfo<<4 | 8
		for level := byte(0); level < 4; level++ {
			flg := level << 6
			flg += byte(31 - (uint16(cmf)<<8|uint16(flg))%31)
			if (uint16(cmf)<<8|uint16(flg))%31 != 0 || flg>>6 != level {
				continue
			}
			sigs = append(sigs, firmware.Signature{Magic: []byte{cmf, flg}})
		}
	}
	return sigs
}

func (format) Info() firmware.Info {
	return firmware.Info{
		Name:        "zlib",
		Description: "zlib compressed stream (RFC 1950)",
		Kind:        firmware.KindCompression,
		Signatures:  signatures(),
		Weak:        true,
		Variants:    []string{"deflate, no preset dictionary"},
	}
}

// headerOK checks the two header bytes: deflate, window at most 32 KiB,
// check bits valid, no preset dictionary.
func headerOK(cmf, flg byte) bool {
	return cmf&0x0f == 8 && cmf>>4 <= 7 && (uint16(cmf)<<8|uint16(flg))%31 == 0 && flg&0x20 == 0
}

func (format) Identify(src io.ReaderAt, size int64) bool {
	n := min(size, identifyWindow)
	var h [3]byte
	if n < 8 {
		return false
	}
	if _, err := src.ReadAt(h[:], 0); err != nil || !headerOK(h[0], h[1]) || h[2]&6 == 6 {
		return false // bad header, or the first block has the reserved type
	}
	t := trialPool.Get().(*trial)
	defer trialPool.Put(t)
	b := t.in[:n]
	if _, err := src.ReadAt(b, 0); err != nil && !errors.Is(err, io.EOF) {
		return false
	}
	t.br.Reset(b)
	var z io.Reader
	if t.z == nil {
		zr, err := kzlib.NewReader(&t.br)
		if err != nil {
			return false
		}
		t.z = zr
	} else if err := t.z.(kzlib.Resetter).Reset(&t.br, nil); err != nil {
		return false
	}
	z = t.z
	buf := t.out
	got := 0
	for got < len(buf) {
		k, err := z.Read(buf[got:])
		got += k
		switch {
		case err == nil:
		case err == io.EOF:
			return true // complete stream, checksum verified
		case errors.Is(err, io.ErrUnexpectedEOF):
			return got >= minTrialOutput && n < size
		default:
			return false
		}
	}
	return true
}

// trial is the reusable state of one Identify: the driver calls Identify
// at every two-byte zlib signature in every blob, so it must not allocate.
type trial struct {
	in  []byte
	out []byte
	br  bytes.Reader
	z   io.Reader
}

var trialPool = sync.Pool{New: func() any {
	return &trial{in: make([]byte, identifyWindow), out: make([]byte, 16<<10)}
}}

func (format) Extract(ctx context.Context, src io.ReaderAt, size int64, dst firmware.Sink) (int64, error) {
	bc := safeio.NewByteCounter(src, size)
	z, err := kzlib.NewReader(bc)
	if err != nil {
		return 0, fmt.Errorf("zlib: header: %w", err)
	}
	r := &payload.Stream{Ctx: ctx, R: z}
	e := firmware.Entry{Type: firmware.TypeFile, Mode: 0o644, Offset: 0}
	if err := dst.Put(ctx, e, r); err != nil {
		return 0, err
	}
	if r.Err != nil {
		return bc.N, fmt.Errorf("%w: %w", ErrTruncated, r.Err)
	}
	return bc.N, nil
}
