// Package xz reads .xz streams. The container (stream header, blocks,
// index, footer, stream padding) is walked here, LZMA2 data is decoded with
// github.com/ulikunitz/xz/lzma, and the branch filters (BCJ for x86,
// PowerPC, ARM, ARM-Thumb, SPARC) are undone here. Concatenated streams
// decompress to one blob.
package xz

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"hash/crc64"
	"io"

	"github.com/ulikunitz/xz/lzma"

	"github.com/netvet/netvet/internal/firmware"
	"github.com/netvet/netvet/internal/safeio"
)

var (
	// ErrHeader reports a bad stream header, block header, index or footer.
	ErrHeader = errors.New("xz: bad header")
	// ErrTruncated reports a stream that ends, or turns corrupt, before its footer.
	ErrTruncated = errors.New("xz: truncated or corrupt stream")
	// ErrUnsupported reports a filter other than LZMA2 and the branch
	// filters (delta, IA-64, ARM64, RISC-V) or a dictionary over the cap.
	ErrUnsupported = errors.New("xz: unsupported")
	// ErrChecksum reports a block whose check does not match its data.
	ErrChecksum = errors.New("xz: checksum mismatch")
)

// maxDict caps the LZMA2 dictionary, which the decoder allocates whole:
// xz -9 uses 64 MiB.
const maxDict = 128 << 20

// maxStreamPadding bounds the zero bytes looked through for another stream.
const maxStreamPadding = 64 << 10

var (
	magic       = []byte{0xfd, '7', 'z', 'X', 'Z', 0}
	footerMagic = []byte{'Y', 'Z'}
	crc64Table  = crc64.MakeTable(crc64.ECMA)
)

type format struct{}

var _ firmware.Format = format{}

// New returns the xz format.
func New() firmware.Format { return format{} }

func (format) Info() firmware.Info {
	return firmware.Info{
		Name:        "xz",
		Description: "xz compressed stream",
		Kind:        firmware.KindCompression,
		Signatures:  []firmware.Signature{{Magic: magic}},
		Variants:    []string{"LZMA2", "BCJ x86, PowerPC, ARM, ARM-Thumb, SPARC", "check none/CRC32/CRC64/SHA-256", "multi-block", "concatenated streams with padding"},
	}
}

// checkSize returns the size of the check field for a check type, or -1
// for a reserved type.
func checkSize(t byte) int {
	switch {
	case t == 0:
		return 0
	case t <= 3:
		return 4
	case t <= 6:
		return 8
	case t <= 9:
		return 16
	case t <= 12:
		return 32
	default:
		return 64
	}
}

// parseStreamHeader checks the 12-byte stream header and returns its check type.
func parseStreamHeader(h []byte) (byte, bool) {
	if len(h) < 12 || !bytes.Equal(h[:6], magic) || h[6] != 0 || h[7]&0xf0 != 0 {
		return 0, false
	}
	if crc32.ChecksumIEEE(h[6:8]) != binary.LittleEndian.Uint32(h[8:12]) {
		return 0, false
	}
	return h[7], true
}

func (format) Identify(src io.ReaderAt, size int64) bool {
	if size < 32 {
		return false
	}
	var h [12]byte
	if _, err := src.ReadAt(h[:], 0); err != nil {
		return false
	}
	_, ok := parseStreamHeader(h[:])
	return ok
}

func (format) Extract(ctx context.Context, src io.ReaderAt, size int64, dst firmware.Sink) (int64, error) {
	bc := safeio.NewByteCounter(src, size)
	x := &reader{ctx: ctx, src: src, size: size, bc: bc}
	if err := x.startStream(); err != nil {
		return 0, err
	}
	e := firmware.Entry{Type: firmware.TypeFile, Mode: 0o644, Offset: 0}
	if err := dst.Put(ctx, e, x); err != nil {
		return x.end, err
	}
	if x.err != nil {
		return bc.N, fmt.Errorf("%w: stream at offset %#x: %w", ErrTruncated, x.streamStart, x.err)
	}
	return x.end, nil
}

// reader walks the streams and blocks, yielding the decompressed data.
// A decoding error ends the data and is kept in err.
type reader struct {
	ctx         context.Context
	src         io.ReaderAt
	size        int64
	bc          *safeio.ByteCounter
	streamStart int64
	check       byte
	end         int64 // end of the last complete stream
	done        bool
	err         error

	// current block
	blk        io.Reader
	blkStart   int64
	blkHdrSize int64
	wantComp   int64 // -1 when not recorded
	wantUncomp int64
	uncomp     int64
	sum        hash.Hash
	records    [][2]int64 // unpadded size, uncompressed size per block
}

func (x *reader) Read(p []byte) (int, error) {
	for !x.done {
		if err := x.ctx.Err(); err != nil {
			return 0, err
		}
		if x.blk == nil {
			if err := x.nextBlock(); err != nil {
				x.fail(err)
			}
			continue
		}
		n, err := x.blk.Read(p)
		if n > 0 {
			x.uncomp += int64(n)
			if x.sum != nil {
				x.sum.Write(p[:n])
			}
		}
		if err == io.EOF {
			err = x.finishBlock()
		}
		if err != nil {
			x.fail(err)
		}
		if n > 0 {
			return n, nil
		}
	}
	return 0, io.EOF
}

func (x *reader) fail(err error) {
	if errors.Is(err, io.EOF) {
		err = io.ErrUnexpectedEOF
	}
	x.err = err
	x.done = true
}

func (x *reader) readFull(b []byte) error {
	_, err := io.ReadFull(x.bc, b)
	return err
}

func (x *reader) startStream() error {
	var h [12]byte
	x.streamStart = x.bc.N
	if err := x.readFull(h[:]); err != nil {
		return fmt.Errorf("%w: stream header at %#x: %w", ErrHeader, x.streamStart, err)
	}
	c, ok := parseStreamHeader(h[:])
	if !ok {
		return fmt.Errorf("%w: stream header at %#x", ErrHeader, x.streamStart)
	}
	x.check = c
	x.records = x.records[:0]
	return nil
}

// nextBlock reads a block header, or at the index indicator the index, the
// footer and what follows the stream.
func (x *reader) nextBlock() error {
	var b [1024]byte
	x.blkStart = x.bc.N
	if err := x.readFull(b[:1]); err != nil {
		return err
	}
	if b[0] == 0 {
		return x.finishStream()
	}
	hs := (int(b[0]) + 1) * 4
	if err := x.readFull(b[1:hs]); err != nil {
		return err
	}
	h := b[:hs]
	if crc32.ChecksumIEEE(h[:hs-4]) != binary.LittleEndian.Uint32(h[hs-4:]) {
		return fmt.Errorf("%w: block header CRC at %#x", ErrHeader, x.blkStart)
	}
	flags := h[1]
	if flags&0x3c != 0 {
		return fmt.Errorf("%w: reserved block flags %#x at %#x", ErrHeader, flags, x.blkStart)
	}
	r := bytes.NewReader(h[2 : hs-4])
	x.wantComp, x.wantUncomp = -1, -1
	var err error
	if flags&0x40 != 0 {
		if x.wantComp, err = varint(r); err != nil || x.wantComp == 0 {
			return fmt.Errorf("%w: block compressed size at %#x", ErrHeader, x.blkStart)
		}
	}
	if flags&0x80 != 0 {
		if x.wantUncomp, err = varint(r); err != nil {
			return fmt.Errorf("%w: block uncompressed size at %#x", ErrHeader, x.blkStart)
		}
	}
	nf := int(flags&3) + 1
	var dict int64 = -1
	type bcj struct {
		c     converter
		start uint32
	}
	var bcjs []bcj
	for i := 0; i < nf; i++ {
		id, err1 := varint(r)
		psize, err2 := varint(r)
		if err1 != nil || err2 != nil || psize > int64(r.Len()) {
			return fmt.Errorf("%w: filter flags at %#x", ErrHeader, x.blkStart)
		}
		props := make([]byte, psize)
		r.Read(props)
		if i < nf-1 {
			c, _, ok := newConverter(id)
			if !ok || (psize != 0 && psize != 4) {
				return fmt.Errorf("%w: filter %#x at %#x (LZMA2 with x86, PowerPC, ARM, ARM-Thumb or SPARC filters are supported)", ErrUnsupported, id, x.blkStart)
			}
			var start uint32
			if psize == 4 {
				start = binary.LittleEndian.Uint32(props)
			}
			bcjs = append(bcjs, bcj{c, start})
			continue
		}
		if id != 0x21 || psize != 1 {
			return fmt.Errorf("%w: filter %#x at %#x (the last filter must be LZMA2)", ErrUnsupported, id, x.blkStart)
		}
		if dict, err = lzma.DecodeDictCap(props[0]); err != nil {
			return fmt.Errorf("%w: LZMA2 dictionary at %#x: %w", ErrHeader, x.blkStart, err)
		}
	}
	for r.Len() > 0 {
		if c, _ := r.ReadByte(); c != 0 {
			return fmt.Errorf("%w: block header padding at %#x", ErrHeader, x.blkStart)
		}
	}
	if x.wantUncomp >= 0 && dict > x.wantUncomp {
		dict = max(x.wantUncomp, 4096)
	}
	if dict > maxDict {
		return fmt.Errorf("%w: LZMA2 dictionary of %d bytes at %#x (limit %d)", ErrUnsupported, dict, x.blkStart, maxDict)
	}
	lr, err := lzma.Reader2Config{DictCap: int(dict)}.NewReader2(x.bc)
	if err != nil {
		return fmt.Errorf("block at %#x: %w", x.blkStart, err)
	}
	x.blk = lr
	for i := len(bcjs) - 1; i >= 0; i-- {
		x.blk = newBCJReader(x.blk, bcjs[i].c, bcjs[i].start)
	}
	x.blkHdrSize = int64(hs)
	x.uncomp = 0
	switch x.check {
	case 1:
		x.sum = crc32.NewIEEE()
	case 4:
		x.sum = crc64.New(crc64Table)
	case 10:
		x.sum = sha256.New()
	default:
		x.sum = nil
	}
	return nil
}

// finishBlock checks the sizes, skips the padding and verifies the check.
func (x *reader) finishBlock() error {
	x.blk = nil
	comp := x.bc.N - x.blkStart - x.blkHdrSize
	if x.wantComp >= 0 && comp != x.wantComp {
		return fmt.Errorf("%w: block at %#x: compressed size %d, header says %d", ErrHeader, x.blkStart, comp, x.wantComp)
	}
	if x.wantUncomp >= 0 && x.uncomp != x.wantUncomp {
		return fmt.Errorf("%w: block at %#x: uncompressed size %d, header says %d", ErrHeader, x.blkStart, x.uncomp, x.wantUncomp)
	}
	var pad [4]byte
	if k := (x.bc.N - x.streamStart) % 4; k != 0 {
		if err := x.readFull(pad[:4-k]); err != nil {
			return err
		}
		if pad != [4]byte{} {
			return fmt.Errorf("%w: block padding at %#x", ErrHeader, x.blkStart)
		}
	}
	var got [64]byte
	cs := checkSize(x.check)
	if err := x.readFull(got[:cs]); err != nil {
		return err
	}
	if x.sum != nil {
		want := x.sum.Sum(nil)
		if x.check == 4 || x.check == 1 {
			// CRC32 and CRC64 are stored little-endian.
			for i, j := 0, len(want)-1; i < j; i, j = i+1, j-1 {
				want[i], want[j] = want[j], want[i]
			}
		}
		if !bytes.Equal(want, got[:cs]) {
			return fmt.Errorf("%w: block at %#x", ErrChecksum, x.blkStart)
		}
	}
	if len(x.records) >= 1<<20 {
		return fmt.Errorf("%w: more than %d blocks", ErrUnsupported, 1<<20)
	}
	x.records = append(x.records, [2]int64{comp + x.blkHdrSize + int64(cs), x.uncomp})
	return nil
}

// finishStream reads the index (its indicator byte is already read) and the
// footer, checks them against the blocks seen, then starts the next stream
// if one follows, after optional stream padding.
func (x *reader) finishStream() error {
	idxStart := x.bc.N - 1
	crc := crc32.NewIEEE()
	crc.Write([]byte{0})
	br := &hashByteReader{r: x.bc, h: crc}
	n, err := varint(br)
	if err != nil {
		return err
	}
	if n != int64(len(x.records)) {
		return fmt.Errorf("%w: index at %#x lists %d blocks, stream has %d", ErrHeader, idxStart, n, len(x.records))
	}
	for i := range n {
		u, err1 := varint(br)
		s, err2 := varint(br)
		if err := errors.Join(err1, err2); err != nil {
			return err
		}
		if u != x.records[i][0] || s != x.records[i][1] {
			return fmt.Errorf("%w: index record %d at %#x does not match its block", ErrHeader, i, idxStart)
		}
	}
	for (x.bc.N-x.streamStart)%4 != 0 {
		c, err := br.ReadByte()
		if err != nil {
			return err
		}
		if c != 0 {
			return fmt.Errorf("%w: index padding at %#x", ErrHeader, idxStart)
		}
	}
	idxSum := crc.Sum32()
	var f [16]byte
	if err := x.readFull(f[:]); err != nil {
		return err
	}
	idxSize := x.bc.N - 12 - idxStart
	if binary.LittleEndian.Uint32(f[:4]) != idxSum {
		return fmt.Errorf("%w: index CRC at %#x", ErrHeader, idxStart)
	}
	ft := f[4:]
	if crc32.ChecksumIEEE(ft[4:10]) != binary.LittleEndian.Uint32(ft[:4]) || !bytes.Equal(ft[10:12], footerMagic) ||
		ft[8] != 0 || ft[9] != x.check || (int64(binary.LittleEndian.Uint32(ft[4:8]))+1)*4 != idxSize {
		return fmt.Errorf("%w: stream footer at %#x", ErrHeader, x.bc.N-12)
	}
	x.end = x.bc.N
	// Stream padding (multiples of four zero bytes) then another stream?
	off := x.end
	var h [12]byte
	for off+12 <= x.size && off-x.end <= maxStreamPadding {
		if _, err := x.src.ReadAt(h[:], off); err != nil {
			break
		}
		if bytes.Equal(h[:4], []byte{0, 0, 0, 0}) {
			off += 4
			if err := x.ctx.Err(); err != nil {
				return err
			}
			continue
		}
		if _, ok := parseStreamHeader(h[:]); ok {
			if _, err := io.CopyN(io.Discard, x.bc, off-x.bc.N); err != nil {
				return err
			}
			return x.startStream()
		}
		break
	}
	x.done = true
	return nil
}

// varint reads an xz multibyte integer (at most 9 bytes, 63 bits).
func varint(r io.ByteReader) (int64, error) {
	var v uint64
	for i := 0; i < 9; i++ {
		c, err := r.ReadByte()
		if err != nil {
			return 0, err
		}
		v |= uint64(c&0x7f) << (7 * i)
		if c&0x80 == 0 {
			if i > 0 && c == 0 {
				return 0, fmt.Errorf("%w: non-minimal integer", ErrHeader)
			}
			return int64(v), nil
		}
	}
	return 0, fmt.Errorf("%w: integer too long", ErrHeader)
}

type hashByteReader struct {
	r io.ByteReader
	h hash.Hash32
}

func (b *hashByteReader) ReadByte() (byte, error) {
	c, err := b.r.ReadByte()
	if err == nil {
		b.h.Write([]byte{c})
	}
	return c, err
}
