package lzma

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"hash/crc64"
)

// .xz container constants (see the .xz file format specification).
var (
	xzMagic       = []byte{0xFD, '7', 'z', 'X', 'Z', 0x00}
	xzFooterMagic = []byte{'Y', 'Z'}
	crc64Table    = crc64.MakeTable(crc64.ECMA)
)

const (
	streamHeaderSize = 12
	streamFooterSize = 12
	maxFilters       = 4

	checkNone   = 0x00
	checkCRC32  = 0x01
	checkCRC64  = 0x04
	checkSHA256 = 0x0A

	filterDelta    = 0x03
	filterX86      = 0x04
	filterPowerPC  = 0x05
	filterIA64     = 0x06
	filterARM      = 0x07
	filterARMThumb = 0x08
	filterSPARC    = 0x09
	filterARM64    = 0x0A
	filterLZMA2    = 0x21

	maxVLI = 1<<63 - 1
)

// checkSize returns the size of the check field for a check ID.
func checkSize(id byte) int {
	if id == 0 {
		return 0
	}
	return 4 << ((id - 1) / 3)
}

// readVLI decodes a variable-length integer from b: seven bits a byte, least
// significant first, at most nine bytes, no redundant trailing zero byte.
func readVLI(b []byte) (uint64, int, error) {
	var v uint64
	for i := 0; i < 9; i++ {
		if i >= len(b) {
			return 0, 0, errTruncated
		}
		c := b[i]
		v |= uint64(c&0x7F) << (7 * i)
		if c&0x80 == 0 {
			if c == 0 && i > 0 {
				return 0, 0, corrupt("non-minimal variable-length integer")
			}
			return v, i + 1, nil
		}
	}
	return 0, 0, corrupt("variable-length integer too long")
}

// streamFlags parses and verifies the 12-byte stream header and returns the
// check ID.
func parseStreamHeader(h []byte) (byte, error) {
	if len(h) < streamHeaderSize {
		return 0, errTruncated
	}
	if !bytes.Equal(h[:6], xzMagic) {
		return 0, fmt.Errorf("%w: not an xz stream (bad magic)", ErrCorrupt)
	}
	if crc32.ChecksumIEEE(h[6:8]) != binary.LittleEndian.Uint32(h[8:12]) {
		return 0, fmt.Errorf("%w: stream header CRC32", ErrChecksum)
	}
	if h[6] != 0 || h[7] > 0x0F {
		return 0, fmt.Errorf("%w: stream flags %#x %#x", ErrUnsupported, h[6], h[7])
	}
	switch h[7] {
	case checkNone, checkCRC32, checkCRC64, checkSHA256:
	default:
		return 0, fmt.Errorf("%w: check type %#x", ErrUnsupported, h[7])
	}
	return h[7], nil
}

// parseStreamFooter verifies a stream footer against the header flags and
// returns the index size it declares.
func parseStreamFooter(f []byte, check byte) (int64, error) {
	if len(f) < streamFooterSize {
		return 0, errTruncated
	}
	if !bytes.Equal(f[10:12], xzFooterMagic) {
		return 0, corrupt("bad stream footer magic")
	}
	if crc32.ChecksumIEEE(f[4:10]) != binary.LittleEndian.Uint32(f[0:4]) {
		return 0, fmt.Errorf("%w: stream footer CRC32", ErrChecksum)
	}
	if f[8] != 0 || f[9] != check {
		return 0, corrupt("stream footer flags differ from header")
	}
	return (int64(binary.LittleEndian.Uint32(f[4:8])) + 1) * 4, nil
}

// filterSpec is one non-LZMA2 filter of a block's chain.
type filterSpec struct {
	id    byte
	start uint32 // BCJ start offset
	dist  int    // delta distance
}

// blockHeader is a parsed block header.
type blockHeader struct {
	size         int   // header size in bytes
	compressed   int64 // -1 if absent
	uncompressed int64 // -1 if absent
	dict         int   // LZMA2 dictionary size
	nf           int   // number of filters before LZMA2
	filters      [maxFilters - 1]filterSpec
}

// headerSizeOf returns the block header size from its first byte, or 0 for
// the index indicator.
func headerSizeOf(b byte) int { return (int(b) + 1) * 4 }

// parseBlockHeader parses a complete block header h (h[0] != 0).
func parseBlockHeader(h []byte) (blockHeader, error) {
	var bh blockHeader
	bh.size = len(h)
	n := len(h) - 4
	if crc32.ChecksumIEEE(h[:n]) != binary.LittleEndian.Uint32(h[n:]) {
		return bh, fmt.Errorf("%w: block header CRC32", ErrChecksum)
	}
	flags := h[1]
	if flags&0x3C != 0 {
		return bh, fmt.Errorf("%w: reserved block flags %#x", ErrUnsupported, flags)
	}
	p := h[2:n]
	bh.compressed, bh.uncompressed = -1, -1
	if flags&0x40 != 0 {
		v, k, err := readVLI(p)
		if err != nil {
			return bh, blockHdrErr(err)
		}
		if v == 0 || v > maxVLI {
			return bh, corrupt("invalid compressed size")
		}
		bh.compressed = int64(v)
		p = p[k:]
	}
	if flags&0x80 != 0 {
		v, k, err := readVLI(p)
		if err != nil {
			return bh, blockHdrErr(err)
		}
		if v > maxVLI {
			return bh, corrupt("invalid uncompressed size")
		}
		bh.uncompressed = int64(v)
		p = p[k:]
	}
	nf := int(flags&3) + 1
	for i := 0; i < nf; i++ {
		id, k, err := readVLI(p)
		if err != nil {
			return bh, blockHdrErr(err)
		}
		p = p[k:]
		psize, k, err := readVLI(p)
		if err != nil {
			return bh, blockHdrErr(err)
		}
		p = p[k:]
		if psize > uint64(len(p)) {
			return bh, corrupt("filter properties beyond block header")
		}
		prop := p[:psize]
		p = p[psize:]
		last := i == nf-1
		if id == filterLZMA2 {
			if !last || len(prop) != 1 {
				return bh, corrupt("misplaced LZMA2 filter or bad properties")
			}
			d, err := lzma2Dict(prop[0])
			if err != nil {
				return bh, err
			}
			bh.dict = d
			continue
		}
		if last {
			return bh, fmt.Errorf("%w: last filter %#x is not LZMA2", ErrUnsupported, id)
		}
		f := filterSpec{id: byte(id)}
		switch id {
		case filterDelta:
			if len(prop) != 1 {
				return bh, corrupt("delta filter properties")
			}
			f.dist = int(prop[0]) + 1
		case filterX86, filterPowerPC, filterIA64, filterARM, filterARMThumb, filterSPARC, filterARM64:
			switch len(prop) {
			case 0:
			case 4:
				f.start = binary.LittleEndian.Uint32(prop)
			default:
				return bh, corrupt("BCJ filter properties")
			}
		default:
			return bh, fmt.Errorf("%w: filter %#x", ErrUnsupported, id)
		}
		bh.filters[bh.nf] = f
		bh.nf++
	}
	for _, c := range p {
		if c != 0 {
			return bh, corrupt("non-zero block header padding")
		}
	}
	return bh, nil
}

func blockHdrErr(err error) error {
	if errors.Is(err, errTruncated) {
		return corrupt("block header fields overrun")
	}
	return err
}

// lzma2Dict decodes the LZMA2 dictionary size property.
func lzma2Dict(b byte) (int, error) {
	if b > 40 {
		return 0, corrupt("LZMA2 dictionary size property")
	}
	if b == 40 {
		return maxInt(0xFFFFFFFF), nil
	}
	return maxInt(uint64(2|b&1) << (b/2 + 11)), nil
}

// indexHash accumulates block records so the index can be compared with the
// blocks without storing a list: counts, sums and an order-dependent mix.
type indexHash struct {
	count        uint64
	unpadded     uint64
	uncompressed uint64
	mix          uint64
}

func (h *indexHash) add(unpadded, uncompressed uint64) {
	const k = 0x9E3779B97F4A7C15
	h.count++
	h.unpadded += unpadded
	h.uncompressed += uncompressed
	m := (h.mix ^ unpadded) * k
	m = (m<<31 | m>>33) ^ uncompressed
	h.mix = m * k
}

// parseIndex parses the index at idx[0] (the 0x00 indicator) whose total size
// is bounded by len(idx), verifies it against the blocks seen, and returns
// its size.
func parseIndex(idx []byte, blocks *indexHash) (int, error) {
	if len(idx) < 1 || idx[0] != 0 {
		return 0, corrupt("missing index")
	}
	p := 1
	n, k, err := readVLI(idx[p:])
	if err != nil {
		return 0, err
	}
	p += k
	if n != blocks.count {
		return 0, corrupt("index record count differs from blocks")
	}
	var got indexHash
	for i := uint64(0); i < n; i++ {
		u, k, err := readVLI(idx[p:])
		if err != nil {
			return 0, err
		}
		p += k
		c, k, err := readVLI(idx[p:])
		if err != nil {
			return 0, err
		}
		p += k
		got.add(u, c)
	}
	for p%4 != 0 {
		if p >= len(idx) {
			return 0, errTruncated
		}
		if idx[p] != 0 {
			return 0, corrupt("non-zero index padding")
		}
		p++
	}
	if len(idx)-p < 4 {
		return 0, errTruncated
	}
	if crc32.ChecksumIEEE(idx[:p]) != binary.LittleEndian.Uint32(idx[p:]) {
		return 0, fmt.Errorf("%w: index CRC32", ErrChecksum)
	}
	if got != *blocks {
		return 0, corrupt("index does not match blocks")
	}
	return p + 4, nil
}

// verifyCheck compares the check of data with want (len checkSize(id)).
func verifyCheck(id byte, data, want []byte) error {
	ok := true
	switch id {
	case checkCRC32:
		ok = crc32.ChecksumIEEE(data) == binary.LittleEndian.Uint32(want)
	case checkCRC64:
		ok = crc64.Checksum(data, crc64Table) == binary.LittleEndian.Uint64(want)
	case checkSHA256:
		s := sha256.Sum256(data)
		ok = bytes.Equal(s[:], want)
	}
	if !ok {
		return fmt.Errorf("%w: block check", ErrChecksum)
	}
	return nil
}

// DecodeXZ decodes .xz data from src into dst and returns the number of bytes
// written. src holds one stream, or several concatenated streams separated
// by stream padding; anything else after them is an error. Every block and
// index check is verified. Output that would not fit in dst is an error
// wrapping ErrShortBuffer.
func DecodeXZ(dst, src []byte) (int, error) {
	d := getDecoder()
	defer putDecoder(d)
	pos, ip := 0, 0
	for {
		n, k, err := d.xzStream(dst, pos, src[ip:])
		pos += n
		if err != nil {
			return pos, err
		}
		ip += k
		for len(src)-ip >= 4 && binary.LittleEndian.Uint32(src[ip:]) == 0 {
			ip += 4
		}
		rest := src[ip:]
		switch {
		case len(rest) == 0:
			return pos, nil
		case len(rest) < 4 && allZero(rest):
			return pos, corrupt("stream padding not a multiple of four bytes")
		case len(rest) < len(xzMagic) && bytes.HasPrefix(xzMagic, rest):
			return pos, errTruncated
		case !bytes.HasPrefix(rest, xzMagic):
			return pos, corrupt("data after the last stream")
		}
	}
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// xzStream decodes one stream from src into dst[pos:], returning the bytes
// written and the stream's size.
func (d *decoder) xzStream(dst []byte, pos int, src []byte) (int, int, error) {
	check, err := parseStreamHeader(src)
	if err != nil {
		return 0, 0, err
	}
	cs := checkSize(check)
	ip := streamHeaderSize
	start := pos
	var blocks indexHash
	for {
		if ip >= len(src) {
			return pos - start, ip, errTruncated
		}
		if src[ip] == 0 {
			break
		}
		hs := headerSizeOf(src[ip])
		if len(src)-ip < hs {
			return pos - start, ip, errTruncated
		}
		bh, err := parseBlockHeader(src[ip : ip+hs])
		if err != nil {
			return pos - start, ip, err
		}
		ip += hs
		data := src[ip:]
		if bh.compressed >= 0 {
			if bh.compressed > int64(len(data)) {
				return pos - start, ip, errTruncated
			}
			data = data[:bh.compressed]
		}
		out := dst[pos:]
		if bh.uncompressed >= 0 {
			if bh.uncompressed > int64(len(out)) {
				return pos - start, ip, fmt.Errorf("%w: block declares %d bytes", ErrShortBuffer, bh.uncompressed)
			}
			out = out[:bh.uncompressed]
		}
		w := window{buf: out, size: bh.dict}
		used, err := d.lzma2(&w, data)
		if err != nil {
			if errors.Is(err, ErrShortBuffer) && bh.uncompressed >= 0 {
				err = corrupt("block longer than its header says")
			}
			if errors.Is(err, errTruncated) && bh.compressed >= 0 {
				// data was cut to the declared size, which the input holds.
				err = corrupt("block data longer than its compressed size")
			}
			return pos - start + w.pos, ip, err
		}
		if bh.compressed >= 0 && int64(used) != bh.compressed {
			return pos - start + w.pos, ip, corrupt("block compressed size differs from header")
		}
		if bh.uncompressed >= 0 && int64(w.pos) != bh.uncompressed {
			return pos - start + w.pos, ip, corrupt("block uncompressed size differs from header")
		}
		block := out[:w.pos]
		for i := bh.nf - 1; i >= 0; i-- {
			applyFilter(bh.filters[i], block)
		}
		ip += used
		unpadded := uint64(hs + used + cs)
		for used%4 != 0 {
			if ip >= len(src) {
				return pos - start, ip, errTruncated
			}
			if src[ip] != 0 {
				return pos - start, ip, corrupt("non-zero block padding")
			}
			ip++
			used++
		}
		if len(src)-ip < cs {
			return pos - start, ip, errTruncated
		}
		if err := verifyCheck(check, block, src[ip:ip+cs]); err != nil {
			return pos - start, ip, err
		}
		ip += cs
		pos += len(block)
		blocks.add(unpadded, uint64(len(block)))
	}
	n, err := parseIndex(src[ip:], &blocks)
	if err != nil {
		return pos - start, ip, err
	}
	ip += n
	isize, err := parseStreamFooter(src[ip:], check)
	if err != nil {
		return pos - start, ip, err
	}
	if isize != int64(n) {
		return pos - start, ip, corrupt("backward size differs from index size")
	}
	if !bytes.Equal(src[6:8], src[ip+8:ip+10]) {
		return pos - start, ip, corrupt("stream footer flags differ from header")
	}
	return pos - start, ip + streamFooterSize, nil
}

// maxInt converts v to int, saturating where int is 32 bits wide.
func maxInt(v uint64) int {
	if v > uint64(^uint(0)>>1) {
		return int(^uint(0) >> 1)
	}
	return int(v)
}
