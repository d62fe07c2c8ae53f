package lzma

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"hash/crc64"
	"io"
)

// inBufSize is the streaming input buffer: an LZMA2 chunk (at most 64 KiB of
// compressed data) plus slack.
const inBufSize = 1<<16 + 1024

// inBuf buffers the compressed input and counts the bytes taken from it.
type inBuf struct {
	r        io.Reader
	buf      []byte
	p, n     int   // buf[p:n] is buffered and unused
	consumed int64 // bytes used by the decoder
	err      error // sticky read error (io.EOF at end)
}

func newInBuf(r io.Reader) *inBuf {
	return &inBuf{r: r, buf: make([]byte, inBufSize)}
}

// fill tries to buffer at least want bytes (want <= len(buf)); it stops
// early only at end of input or on a read error.
func (b *inBuf) fill(want int) {
	if b.n-b.p >= want {
		return
	}
	if b.p > 0 {
		b.n = copy(b.buf, b.buf[b.p:b.n])
		b.p = 0
	}
	for b.n < want && b.err == nil {
		k, err := b.r.Read(b.buf[b.n:])
		b.n += k
		if err != nil {
			b.err = err
		} else if k == 0 {
			b.err = io.ErrNoProgress
		}
	}
}

// eofErr converts the sticky error for a read that needed more bytes.
func (b *inBuf) eofErr() error {
	if b.err == nil || b.err == io.EOF {
		return errTruncated
	}
	return b.err
}

// next returns the next n bytes (n <= len(buf)), valid until the next call.
func (b *inBuf) next(n int) ([]byte, error) {
	b.fill(n)
	if b.n-b.p < n {
		return nil, b.eofErr()
	}
	s := b.buf[b.p : b.p+n]
	b.p += n
	b.consumed += int64(n)
	return s, nil
}

// peek returns up to n buffered bytes without using them.
func (b *inBuf) peek(n int) []byte {
	b.fill(n)
	return b.buf[b.p:min(b.n, b.p+n)]
}

func (b *inBuf) skip(n int) {
	b.p += n
	b.consumed += int64(n)
}

// readFull copies len(dst) bytes into dst.
func (b *inBuf) readFull(dst []byte) error {
	for len(dst) > 0 {
		if b.p == b.n {
			b.fill(1)
			if b.p == b.n {
				return b.eofErr()
			}
		}
		k := copy(dst, b.buf[b.p:b.n])
		b.skip(k)
		dst = dst[k:]
	}
	return nil
}

// outWindow is the streaming dictionary: a linear buffer that grows with
// the output and, once it holds the dictionary plus some slack, slides to
// keep the last dictionary-size bytes.
type outWindow struct {
	window
	r      int // next byte to hand to the reader
	target int // preferred buffer size (smaller when the output size is known)
	full   int // largest buffer size: dictionary plus slack
}

// setDict prepares the window for a new dictionary size (the caller has
// checked it against its cap). hint, if positive, is the expected output
// size, which bounds the buffer unless the data turns out longer.
func (o *outWindow) setDict(size int, hint int64) {
	o.size = max(size, minDict)
	o.full = o.size + max(o.size/2, 1<<18)
	o.target = o.full
	if hint >= 0 && hint < int64(o.target) {
		o.target = max(int(hint), 1)
	}
}

// dictReset starts a new dictionary; all output must have been read.
func (o *outWindow) dictReset() {
	o.pos, o.r = 0, 0
	o.reset()
}

// room makes space for more output once everything has been read.
func (o *outWindow) room() {
	if o.pos < len(o.buf) {
		return
	}
	keep := min(o.size, o.pos-max(o.start, 0))
	shift := o.pos - keep
	if len(o.buf) < o.full && (len(o.buf) < o.target || shift == 0) {
		n := max(2*len(o.buf), 1<<16)
		if len(o.buf) < o.target {
			n = min(n, o.target)
		}
		nb := make([]byte, min(n, o.full))
		copy(nb, o.buf[:o.pos])
		o.buf = nb
		return
	}
	copy(o.buf, o.buf[shift:o.pos])
	o.pos -= shift
	o.r -= shift
	o.start = max(o.start-shift, 0)
	o.base -= shift
}

// lzma2Stream decodes an LZMA2 chunk stream incrementally.
type lzma2Stream struct {
	in        *inBuf
	d         *decoder
	w         *outWindow
	needDict  bool
	needProps bool
	left      int  // unpacked bytes left in the current chunk
	raw       bool // current chunk is uncompressed
	chunk     []byte
	cip       int
	done      bool
	packed    int64 // compressed bytes used, end byte included
	maxPacked int64 // compressed size from the block header, or -1
}

// take accounts for n more compressed bytes, refusing to run past the
// block's declared compressed size.
func (s *lzma2Stream) take(n int) error {
	s.packed += int64(n)
	if s.maxPacked >= 0 && s.packed > s.maxPacked {
		return corrupt("block data longer than its compressed size")
	}
	return nil
}

func (s *lzma2Stream) reset(in *inBuf, d *decoder, w *outWindow, maxPacked int64) {
	*s = lzma2Stream{in: in, d: d, w: w, needDict: true, needProps: true, chunk: s.chunk, maxPacked: maxPacked}
}

// decodeMore produces output in the window; it returns io.EOF after the end
// byte.
func (s *lzma2Stream) decodeMore() error {
	w := s.w
	for s.left == 0 {
		if s.done {
			return io.EOF
		}
		if err := s.header(); err != nil {
			return err
		}
	}
	w.room()
	n := min(s.left, len(w.buf)-w.pos)
	if n <= 0 {
		return corrupt("internal: no room in window")
	}
	if s.raw {
		if err := s.in.readFull(w.buf[w.pos : w.pos+n]); err != nil {
			return err
		}
		w.pos += n
		s.left -= n
		return nil
	}
	w.limit = w.pos + n
	before := w.pos
	ip, err := s.d.run(&w.window, s.chunk, s.cip, true)
	s.cip = ip
	s.left -= w.pos - before
	if err != nil {
		if errors.Is(err, errTruncated) {
			return corrupt("LZMA2 chunk data ends early")
		}
		return err
	}
	if s.d.eos {
		return corrupt("end marker in LZMA2 chunk")
	}
	if s.left == 0 && (s.d.pending != 0 || s.cip != len(s.chunk) || s.d.code != 0) {
		return corrupt("LZMA2 chunk sizes do not match its data")
	}
	return nil
}

// header reads the next chunk header (and the compressed chunk).
func (s *lzma2Stream) header() error {
	if err := s.take(1); err != nil {
		return err
	}
	h, err := s.in.next(1)
	if err != nil {
		return err
	}
	c := h[0]
	if c == 0 {
		s.done = true
		return nil
	}
	if c >= 0xE0 || c == 1 {
		if s.w.r != s.w.pos {
			return corrupt("internal: dictionary reset with unread output")
		}
		s.needDict, s.needProps = false, true
		s.w.dictReset()
	} else if s.needDict {
		return corrupt("LZMA2 stream does not start with a dictionary reset")
	}
	if c < 0x80 {
		if c > 2 {
			return corrupt(fmt.Sprintf("invalid LZMA2 control byte %#x", c))
		}
		h, err := s.in.next(2)
		if err != nil {
			return err
		}
		s.left = int(h[0])<<8 | int(h[1]) + 1
		s.raw = true
		return s.take(2 + s.left)
	}
	if err := s.take(4); err != nil {
		return err
	}
	h, err = s.in.next(4)
	if err != nil {
		return err
	}
	unpacked := int(c&0x1F)<<16 | int(h[0])<<8 | int(h[1]) + 1
	packed := int(h[2])<<8 | int(h[3]) + 1
	if c >= 0xC0 {
		if err := s.take(1); err != nil {
			return err
		}
		h, err := s.in.next(1)
		if err != nil {
			return err
		}
		pr, err := parseProps(h[0])
		if err != nil {
			return err
		}
		s.needProps = false
		s.d.resetState(pr)
	} else if s.needProps {
		return corrupt("LZMA2 chunk without properties")
	} else if c >= 0xA0 {
		s.d.resetState(s.d.pr)
	}
	if cap(s.chunk) < 1<<16 {
		s.chunk = make([]byte, 0, 1<<16)
	}
	if err := s.take(packed); err != nil {
		return err
	}
	s.chunk = s.chunk[:packed]
	if err := s.in.readFull(s.chunk); err != nil {
		return err
	}
	if err := s.d.initRC(s.chunk); err != nil {
		if errors.Is(err, errTruncated) {
			return corrupt("LZMA2 chunk too short")
		}
		return err
	}
	s.cip = 5
	s.left = unpacked
	s.raw = false
	return nil
}

// LZMAReader decodes a legacy .lzma stream; see NewLZMAReader.
type LZMAReader struct {
	in      *inBuf
	d       *decoder
	w       outWindow
	size    uint64 // declared size, ^0 if unknown
	out     uint64 // bytes produced
	err     error
	started bool
}

// NewLZMAReader returns a reader decoding the .lzma ("LZMA alone") stream
// read from r. It refuses a header whose dictionary size exceeds maxDict
// (ErrDictTooLarge); the dictionary buffer grows with the output, so a
// short stream never allocates the full declared dictionary.
//
// r may be read past the end of the stream (input is buffered); Consumed
// reports the stream's exact length once Read has returned io.EOF.
func NewLZMAReader(r io.Reader, maxDict int) (*LZMAReader, error) {
	in := newInBuf(r)
	hb, err := in.next(aloneHeaderSize)
	if err != nil {
		return nil, err
	}
	h, err := parseAlone(hb)
	if err != nil {
		return nil, err
	}
	if uint64(h.dict) > uint64(max(maxDict, minDict)) {
		return nil, fmt.Errorf("%w: .lzma header asks for %d bytes, limit %d", ErrDictTooLarge, h.dict, maxDict)
	}
	z := &LZMAReader{in: in, d: getDecoder(), size: h.size}
	z.d.resetState(h.pr)
	hint := int64(-1)
	if h.size < 1<<62 {
		hint = int64(h.size)
	}
	z.w.setDict(int(h.dict), hint)
	z.w.dictReset()
	return z, nil
}

// Consumed returns the number of input bytes that belong to the stream so
// far: after io.EOF, the stream's exact length.
func (z *LZMAReader) Consumed() int64 { return z.in.consumed }

// Read implements io.Reader.
func (z *LZMAReader) Read(p []byte) (int, error) {
	for z.w.r == z.w.pos {
		if z.err != nil {
			return 0, z.err
		}
		z.err = z.decodeMore()
		if z.err == io.EOF && z.d != nil {
			putDecoder(z.d)
			z.d = nil
		}
	}
	n := copy(p, z.w.buf[z.w.r:z.w.pos])
	z.w.r += n
	return n, nil
}

func (z *LZMAReader) decodeMore() error {
	d, in := z.d, z.in
	if !z.started {
		b, err := in.next(5)
		if err != nil {
			return err
		}
		if err := d.initRC(b); err != nil {
			return err
		}
		z.started = true
	}
	if d.eos {
		return io.EOF
	}
	if z.out == z.size {
		// A known size may still be followed by an end marker: take it
		// when it is there, so that Consumed covers it.
		in.fill(maxOpInput)
		if ip, err := d.probeEnd(&z.w.window, in.buf[:in.n], in.p); err == nil {
			in.skip(ip - in.p)
		}
		d.eos = true
		return io.EOF
	}
	z.w.room()
	if z.w.pos == len(z.w.buf) {
		return corrupt("internal: no room in window")
	}
	z.w.limit = len(z.w.buf)
	if left := z.size - z.out; left < uint64(z.w.limit-z.w.pos) {
		z.w.limit = z.w.pos + int(left)
	}
	in.fill(2 * maxOpInput)
	final := in.err != nil
	before := z.w.pos
	ip, err := d.run(&z.w.window, in.buf[:in.n], in.p, final)
	z.out += uint64(z.w.pos - before)
	in.skip(min(ip, in.n) - in.p)
	if err != nil {
		if errors.Is(err, errTruncated) {
			return in.eofErr()
		}
		return err
	}
	if d.eos {
		if z.size != ^uint64(0) && z.out != z.size {
			return corrupt("end marker before declared size")
		}
		if d.pending != 0 {
			return corrupt("end marker inside a match")
		}
	}
	return nil
}

// Interface guards.
var (
	_ io.Reader = (*XZReader)(nil)
	_ io.Reader = (*LZMAReader)(nil)
)

// XZReader decodes .xz streams; see NewXZReader.
type XZReader struct {
	in      *inBuf
	maxDict int
	d       *decoder
	w       outWindow
	l2      lzma2Stream
	err     error
	streams int

	// Current stream.
	check  byte
	flags  [2]byte
	hash   hash.Hash
	sum    []byte
	blocks indexHash

	// Current block.
	inBlock bool
	bh      blockHeader
	src     io.Reader // LZMA2 output through the block's filters
	chain   [maxFilters - 1]filterReader
	out     int64 // uncompressed bytes of the block so far
	start   int64 // consumed count at the start of the block's data
}

// NewXZReader returns a reader decoding the .xz data read from r: one or
// more streams, with stream padding between and after them. Blocks whose
// LZMA2 dictionary exceeds maxDict are refused with ErrDictTooLarge before
// any allocation; the dictionary buffer grows with the output.
//
// After the last stream, reading stops without error at anything that is
// neither stream padding nor another stream, so the reader can be used to
// carve an .xz stream out of a larger image: r may be read past the end of
// the data (input is buffered), and Consumed reports the exact length of
// the streams and their padding once Read has returned io.EOF.
func NewXZReader(r io.Reader, maxDict int) (*XZReader, error) {
	z := &XZReader{in: newInBuf(r), maxDict: maxDict, d: getDecoder()}
	if err := z.streamHeader(); err != nil {
		return nil, err
	}
	return z, nil
}

// Consumed returns the number of input bytes that belong to the .xz data so
// far: after io.EOF, the length of the streams and their padding.
func (z *XZReader) Consumed() int64 { return z.in.consumed }

func (z *XZReader) streamHeader() error {
	h, err := z.in.next(streamHeaderSize)
	if err != nil {
		return err
	}
	check, err := parseStreamHeader(h)
	if err != nil {
		return err
	}
	z.check = check
	copy(z.flags[:], h[6:8])
	z.blocks = indexHash{}
	switch check {
	case checkCRC32:
		z.hash = crc32.NewIEEE()
	case checkCRC64:
		z.hash = crc64.New(crc64Table)
	case checkSHA256:
		z.hash = sha256.New()
	default:
		z.hash = nil
	}
	z.streams++
	return nil
}

// Read implements io.Reader.
func (z *XZReader) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	for z.err == nil {
		if !z.inBlock {
			z.err = z.next()
			continue
		}
		n, err := z.src.Read(p)
		if n > 0 {
			if z.hash != nil {
				z.hash.Write(p[:n])
			}
			z.out += int64(n)
			if z.bh.uncompressed >= 0 && z.out > z.bh.uncompressed {
				z.err = corrupt("block longer than its header says")
				return 0, z.err
			}
			return n, nil
		}
		if err == io.EOF {
			z.err = z.endBlock()
		} else if err != nil {
			z.err = err
		}
	}
	if z.err == io.EOF && z.d != nil {
		putDecoder(z.d)
		z.d = nil
	}
	return 0, z.err
}

// next starts the next block, or reads the index, footer and what follows.
func (z *XZReader) next() error {
	b, err := z.in.next(1)
	if err != nil {
		return err
	}
	b0 := b[0] // b is invalidated by the next read
	if b0 == 0 {
		return z.endStream()
	}
	hs := headerSizeOf(b0)
	rest, err := z.in.next(hs - 1)
	if err != nil {
		return err
	}
	var h [1024]byte
	h[0] = b0
	copy(h[1:], rest)
	bh, err := parseBlockHeader(h[:hs])
	if err != nil {
		return err
	}
	if bh.dict > z.maxDict && bh.dict > minDict {
		return fmt.Errorf("%w: block asks for a %d-byte dictionary, limit %d", ErrDictTooLarge, bh.dict, z.maxDict)
	}
	z.bh = bh
	z.w.setDict(bh.dict, bh.uncompressed)
	z.l2.reset(z.in, z.d, &z.w, bh.compressed)
	z.src = (*lzma2Source)(&z.l2)
	for i := bh.nf - 1; i >= 0; i-- {
		z.chain[i].reset(z.src, bh.filters[i])
		z.src = &z.chain[i]
	}
	z.out = 0
	z.start = z.in.consumed
	z.inBlock = true
	return nil
}

// endBlock checks sizes, padding and the check of the finished block.
func (z *XZReader) endBlock() error {
	z.inBlock = false
	comp := z.in.consumed - z.start
	if z.bh.compressed >= 0 && comp != z.bh.compressed {
		return corrupt("block compressed size differs from header")
	}
	if z.bh.uncompressed >= 0 && z.out != z.bh.uncompressed {
		return corrupt("block uncompressed size differs from header")
	}
	if pad := int((4 - comp%4) % 4); pad > 0 {
		b, err := z.in.next(pad)
		if err != nil {
			return err
		}
		if !allZero(b) {
			return corrupt("non-zero block padding")
		}
	}
	cs := checkSize(z.check)
	b, err := z.in.next(cs)
	if err != nil {
		return err
	}
	if z.hash != nil {
		z.sum = z.hash.Sum(z.sum[:0])
		z.hash.Reset()
		if z.check != checkSHA256 {
			// CRC32 and CRC64 are stored little-endian; Sum is big-endian.
			for i, j := 0, len(z.sum)-1; i < j; i, j = i+1, j-1 {
				z.sum[i], z.sum[j] = z.sum[j], z.sum[i]
			}
		}
		if !bytes.Equal(z.sum, b) {
			return fmt.Errorf("%w: block check", ErrChecksum)
		}
	}
	z.blocks.add(uint64(int64(z.bh.size)+comp+int64(cs)), uint64(z.out))
	return nil
}

// maxIndexSize bounds the index a stream may have (the format allows 16 GiB;
// this is about 100 million blocks' worth of small records).
const maxIndexSize = 1 << 30

// endStream reads the index (its indicator already consumed), the footer
// and any padding, and starts the next stream if there is one.
func (z *XZReader) endStream() error {
	// The index is read in pieces: count, records, padding, CRC32.
	crc := crc32.Update(0, crc32.IEEETable, []byte{0})
	size := 1
	vli := func() (uint64, error) {
		h := z.in.peek(9)
		v, k, err := readVLI(h)
		if err != nil {
			if errors.Is(err, errTruncated) && len(h) == 9 {
				err = corrupt("index integer")
			} else if errors.Is(err, errTruncated) {
				err = z.in.eofErr()
			}
			return 0, err
		}
		crc = crc32.Update(crc, crc32.IEEETable, h[:k])
		z.in.skip(k)
		size += k
		return v, nil
	}
	n, err := vli()
	if err != nil {
		return err
	}
	if n != z.blocks.count {
		return corrupt("index record count differs from blocks")
	}
	var got indexHash
	for i := uint64(0); i < n; i++ {
		u, err := vli()
		if err != nil {
			return err
		}
		c, err := vli()
		if err != nil {
			return err
		}
		got.add(u, c)
		if size > maxIndexSize {
			return corrupt("index too large")
		}
	}
	if pad := (4 - size%4) % 4; pad > 0 {
		b, err := z.in.next(pad)
		if err != nil {
			return err
		}
		if !allZero(b) {
			return corrupt("non-zero index padding")
		}
		crc = crc32.Update(crc, crc32.IEEETable, b)
		size += pad
	}
	b, err := z.in.next(4)
	if err != nil {
		return err
	}
	if binary.LittleEndian.Uint32(b) != crc {
		return fmt.Errorf("%w: index CRC32", ErrChecksum)
	}
	if got != z.blocks {
		return corrupt("index does not match blocks")
	}
	size += 4
	f, err := z.in.next(streamFooterSize)
	if err != nil {
		return err
	}
	isize, err := parseStreamFooter(f, z.check)
	if err != nil {
		return err
	}
	if isize != int64(size) {
		return corrupt("backward size differs from index size")
	}
	if f[8] != z.flags[0] || f[9] != z.flags[1] {
		return corrupt("stream footer flags differ from header")
	}
	// Stream padding, then another stream, or the end.
	for {
		h := z.in.peek(4)
		if len(h) < 4 || binary.LittleEndian.Uint32(h) != 0 {
			break
		}
		z.in.skip(4)
	}
	// Another stream only if its whole header is valid: the magic alone,
	// followed by anything else, ends the .xz data here.
	if h := z.in.peek(streamHeaderSize); len(h) == streamHeaderSize && bytes.Equal(h[:len(xzMagic)], xzMagic) {
		if _, err := parseStreamHeader(h); err == nil {
			return z.streamHeader()
		}
	}
	if z.in.err != nil && z.in.err != io.EOF && z.in.n == z.in.p {
		return z.in.err
	}
	return io.EOF
}

// lzma2Source adapts lzma2Stream to io.Reader.
type lzma2Source lzma2Stream

func (s *lzma2Source) Read(p []byte) (int, error) {
	l := (*lzma2Stream)(s)
	w := l.w
	for w.r == w.pos {
		if err := l.decodeMore(); err != nil {
			return 0, err
		}
	}
	n := copy(p, w.buf[w.r:w.pos])
	w.r += n
	return n, nil
}

// filterReader undoes one BCJ or delta filter on a stream.
type filterReader struct {
	src   io.Reader
	f     filterSpec
	x86   x86State
	delta deltaState
	pos   uint32 // stream offset of buf[0], for BCJ
	buf   []byte
	r     int // buf[r:done] is ready
	done  int // buf[done:n] awaits more input before it can be converted
	n     int
	eof   bool
}

func (f *filterReader) reset(src io.Reader, spec filterSpec) {
	buf := f.buf
	if buf == nil {
		buf = make([]byte, 1<<16)
	}
	*f = filterReader{src: src, f: spec, buf: buf, pos: spec.start}
	f.delta.dist = spec.dist
}

func (f *filterReader) Read(p []byte) (int, error) {
	for f.r == f.done {
		if f.eof {
			return 0, io.EOF
		}
		// Keep the unconverted tail, read more, convert.
		f.pos += uint32(f.done)
		f.n = copy(f.buf, f.buf[f.done:f.n])
		f.r, f.done = 0, 0
		k, err := f.src.Read(f.buf[f.n:])
		if err != nil && err != io.EOF {
			return 0, err
		}
		if k == 0 && err == nil {
			continue
		}
		start := f.n
		f.n += k
		if err == io.EOF {
			f.eof = true
		}
		switch f.f.id {
		case filterDelta:
			f.delta.decode(f.buf[start:f.n])
			f.done = f.n
		case filterX86:
			f.done = f.x86.decode(f.buf[:f.n], f.pos)
		default:
			f.done = bcjFuncs[f.f.id](f.buf[:f.n], f.pos)
		}
		if f.eof {
			f.done = f.n
		}
	}
	n := copy(p, f.buf[f.r:f.done])
	f.r += n
	return n, nil
}
