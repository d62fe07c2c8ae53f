// Package lzma decodes LZMA, LZMA2 and .xz data without cgo.
//
// Two kinds of entry point exist. The one-shot functions (DecodeXZ,
// DecodeLZMA, DecodeLZMA2) decode a complete compressed buffer into a caller
// buffer whose size bounds the output; the output buffer itself serves as the
// dictionary, so nothing is copied and nothing is allocated per call. This is
// the path for block-based filesystems such as SquashFS. The streaming readers
// (NewXZReader, NewLZMAReader) decode streams of any length with a dictionary
// bounded by the caller.
//
// All input is treated as hostile: sizes from headers are checked against
// caps before use, truncated input yields an error wrapping
// io.ErrUnexpectedEOF, and corrupt input yields an error wrapping ErrCorrupt.
// The sizes recorded in LZMA2 chunk headers, .xz block headers and the .xz
// index are enforced, so corrupt data cannot decode into endless garbage.
//
// Supported in .xz: LZMA2; the BCJ filters x86, PowerPC, IA-64, ARM,
// ARM-Thumb, SPARC and ARM64 (with start offsets); the delta filter; chains
// of up to three such filters; checks none, CRC32, CRC64 and SHA-256. Not
// supported (ErrUnsupported): the RISC-V filter, which xz 5.6 added, and
// the check types the format reserves but no encoder writes. For .lzma,
// lc+lp must not exceed 4, as with liblzma.
//
// All functions are safe for concurrent use; decoder state is recycled
// through a sync.Pool, so the one-shot functions do not allocate in the
// steady state.
package lzma

import (
	"errors"
	"fmt"
	"io"
)

var (
	// ErrCorrupt reports compressed data that cannot have been produced by a
	// conforming encoder.
	ErrCorrupt = errors.New("lzma: corrupt input")
	// ErrUnsupported reports a valid but unsupported feature (filter, check).
	ErrUnsupported = errors.New("lzma: unsupported feature")
	// ErrShortBuffer reports output that does not fit in the destination.
	ErrShortBuffer = errors.New("lzma: output exceeds destination buffer")
	// ErrDictTooLarge reports a header asking for a dictionary above the
	// caller's limit.
	ErrDictTooLarge = errors.New("lzma: dictionary size exceeds limit")
	// ErrChecksum reports a check (CRC32, CRC64, SHA-256) mismatch.
	ErrChecksum = errors.New("lzma: checksum mismatch")
)

// errTruncated is returned when the input ends inside the compressed data.
var errTruncated = fmt.Errorf("lzma: truncated input: %w", io.ErrUnexpectedEOF)

// corrupt builds an ErrCorrupt error with a reason.
func corrupt(why string) error { return fmt.Errorf("%w: %s", ErrCorrupt, why) }

const (
	probInit  = 1 << 10 // probabilities are 11-bit fractions, start at 1/2
	moveBits  = 5
	topValue  = 1 << 24
	matchMin  = 2
	litStride = 0x400 // each literal coder has 0x300 probabilities, padded to a power of two
	maxLCLP   = 4     // lc+lp limit (LZMA2 requires it; liblzma applies it to .lzma too)

	// maxOpInput bounds the compressed bytes one LZMA operation (literal,
	// match, rep) can consume: one per decoded bit at most, and the longest
	// operation (a match with a 26-bit direct distance) decodes 48 bits.
	maxOpInput = 64

	// probUp, masked in for a 0 bit, turns the update p - p>>5 into
	// p + (2048-p)>>5 with an arithmetic shift: it is -(2048 - 31).
	probUp = 0xFFFFF81F
)

// lenProbs is the probability model of one length decoder.
type lenProbs struct {
	choice  uint16
	choice2 uint16
	low     [16][8]uint16 // indexed by pos state (pb <= 4)
	mid     [16][8]uint16
	high    [256]uint16
}

// probs holds every adaptive probability of the LZMA model. Arrays are sized
// to powers of two so that masked indices need no bounds checks.
type probs struct {
	isMatch    [256]uint16 // state<<4 | posState
	isRep0Long [256]uint16
	isRep      [16]uint16
	isRepG0    [16]uint16
	isRepG1    [16]uint16
	isRepG2    [16]uint16
	slot       [4][64]uint16
	spec       [128]uint16 // distance bits of slots 4..13
	align      [16]uint16
	matchLen   lenProbs
	repLen     lenProbs
	lit        [litStride << maxLCLP]uint16
}

func fill(p []uint16) {
	for i := range p {
		p[i] = probInit
	}
}

func (l *lenProbs) reset() {
	l.choice, l.choice2 = probInit, probInit
	for i := range l.low {
		fill(l.low[i][:])
		fill(l.mid[i][:])
	}
	fill(l.high[:])
}

// props are the lc/lp/pb literal and position parameters.
type props struct{ lc, lp, pb uint32 }

// parseProps decodes the properties byte (pb*5+lp)*9+lc.
func parseProps(b byte) (props, error) {
	if b >= 9*5*5 {
		return props{}, corrupt("invalid properties byte")
	}
	v := uint32(b)
	p := props{lc: v % 9, lp: v / 9 % 5, pb: v / 45}
	if p.lc+p.lp > maxLCLP {
		return props{}, fmt.Errorf("%w: lc+lp = %d exceeds %d", ErrUnsupported, p.lc+p.lp, maxLCLP)
	}
	return p, nil
}

// window is the output buffer that doubles as the dictionary. buf[start:pos]
// is usable history; bytes are written at pos up to limit.
type window struct {
	buf   []byte
	pos   int // next byte to write
	limit int // decoding stops when pos reaches it
	start int // oldest byte that may be referenced (dictionary reset point)
	base  int // index of uncompressed stream position 0 (negative after slides)
	size  int // dictionary size: distances must be below it
}

// reset starts a new dictionary at the current position.
func (w *window) reset() {
	w.start = w.pos
	w.base = w.pos
}

// decoder is the LZMA decoder state: model, coder state, range coder.
type decoder struct {
	p       probs
	pr      props
	state   uint32
	rep     [4]uint32
	rng     uint32
	code    uint32
	pending int  // bytes of the current match still to be copied (at rep[0])
	eos     bool // end-of-stream marker seen
}

// resetState resets the model and coder state for new properties.
func (d *decoder) resetState(pr props) {
	d.pr = pr
	p := &d.p
	fill(p.isMatch[:])
	fill(p.isRep0Long[:])
	fill(p.isRep[:])
	fill(p.isRepG0[:])
	fill(p.isRepG1[:])
	fill(p.isRepG2[:])
	for i := range p.slot {
		fill(p.slot[i][:])
	}
	fill(p.spec[:])
	fill(p.align[:])
	p.matchLen.reset()
	p.repLen.reset()
	fill(p.lit[:litStride<<(pr.lc+pr.lp)])
	d.state = 0
	d.rep = [4]uint32{}
	d.pending = 0
	d.eos = false
}

// initRC starts the range coder on five bytes of input.
func (d *decoder) initRC(in []byte) error {
	if len(in) < 5 {
		return errTruncated
	}
	if in[0] != 0 {
		return corrupt("range coder does not start with zero")
	}
	d.rng = 0xFFFFFFFF
	d.code = uint32(in[1])<<24 | uint32(in[2])<<16 | uint32(in[3])<<8 | uint32(in[4])
	if d.code == d.rng {
		return corrupt("invalid range coder start")
	}
	return nil
}

// bit decodes one bit with adaptive probability *pp, then normalizes. The
// caller guarantees that in has a byte at ip (see run), which keeps this
// function small enough to be inlined.
func bit(pp *uint16, rng, code uint32, in []byte, ip int) (uint32, uint32, int, uint32) {
	pr := uint32(*pp)
	bound := (rng >> 11) * pr
	b := uint32(0)
	if code < bound {
		rng = bound
		pr += (2048 - pr) >> moveBits
	} else {
		rng -= bound
		code -= bound
		pr -= pr >> moveBits
		b = 1
	}
	*pp = uint16(pr)
	if rng < topValue {
		rng <<= 8
		code = code<<8 | uint32(in[ip])
		ip++
	}
	return rng, code, ip, b
}

// tree decodes an n-bit symbol, most significant bit first, with the
// probabilities p[1:1<<n] (len(p) == 1<<n). Bits are decoded without
// branches; the caller guarantees n bytes of input at ip.
func tree(p []uint16, n uint, rng, code uint32, in []byte, ip int) (uint32, uint32, int, uint32) {
	sym := uint32(1)
	mask := uint32(len(p) - 1)
	for range n {
		pp := &p[sym&mask]
		pr := uint32(*pp)
		bound := (rng >> 11) * pr
		m0 := uint32(int64(uint64(code)-uint64(bound)) >> 63)
		rng = (rng-bound)&^m0 | bound&m0
		code -= bound &^ m0
		*pp = uint16(int32(pr) - (int32(pr)+int32(m0&probUp))>>moveBits)
		sym = sym<<1 | (m0 + 1)
		if rng < topValue {
			rng <<= 8
			code = code<<8 | uint32(in[ip])
			ip++
		}
	}
	return rng, code, ip, sym - 1<<n
}

// reverseTree decodes an n-bit symbol, least significant bit first, with
// the probabilities p[off+1 : off+1<<n] (masked by len(p)-1, a power of two).
func reverseTree(p []uint16, off uint32, n uint32, rng, code uint32, in []byte, ip int) (uint32, uint32, int, uint32) {
	m := uint32(1)
	var sym uint32
	mask := uint32(len(p) - 1)
	for i := range n {
		pp := &p[(off+m)&mask]
		pr := uint32(*pp)
		bound := (rng >> 11) * pr
		m0 := uint32(int64(uint64(code)-uint64(bound)) >> 63)
		rng = (rng-bound)&^m0 | bound&m0
		code -= bound &^ m0
		*pp = uint16(int32(pr) - (int32(pr)+int32(m0&probUp))>>moveBits)
		b := m0 + 1
		m = m<<1 | b
		sym |= b << i
		if rng < topValue {
			rng <<= 8
			code = code<<8 | uint32(in[ip])
			ip++
		}
	}
	return rng, code, ip, sym
}

// State transitions after each kind of operation.
var (
	nextLit   = [16]uint8{0, 0, 0, 0, 1, 2, 3, 4, 5, 6, 4, 5}
	nextMatch = [16]uint8{7, 7, 7, 7, 7, 7, 7, 10, 10, 10, 10, 10}
	nextRep   = [16]uint8{8, 8, 8, 8, 8, 8, 8, 11, 11, 11, 11, 11}
	nextShort = [16]uint8{9, 9, 9, 9, 9, 9, 9, 11, 11, 11, 11, 11}
)

// copyMatch copies n bytes from distance dist+1 back to pos; the caller has
// checked the range. Overlapping copies repeat the pattern by doubling.
func copyMatch(buf []byte, pos, dist, n int) {
	src := pos - dist - 1
	if n <= dist+1 {
		copy(buf[pos:pos+n], buf[src:src+n])
		return
	}
	if dist == 0 {
		b := buf[src]
		s := buf[pos : pos+n]
		for i := range s {
			s[i] = b
		}
		return
	}
	end := pos + n
	for pos < end {
		pos += copy(buf[pos:end], buf[src:pos])
	}
}

// runRaw decodes LZMA operations into w until w.pos reaches w.limit, the end
// marker is read, or the input position passes inLimit. The caller
// guarantees len(in) >= inLimit+maxOpInput, so no operation started at or
// before inLimit can read past the end of in. It returns the new input
// position.
func (d *decoder) runRaw(w *window, in []byte, ip, inLimit int) (int, error) {
	buf := w.buf
	pos, limit := w.pos, w.limit
	if limit > len(buf) || pos > limit {
		return ip, corrupt("window limit")
	}
	// Finish a match cut short by the previous call's limit.
	if d.pending > 0 {
		n := d.pending
		if n > limit-pos {
			n = limit - pos
		}
		if uint64(d.rep[0]) >= uint64(pos-max(w.start, 0)) {
			return ip, corrupt("match distance beyond dictionary")
		}
		copyMatch(buf, pos, int(d.rep[0]), n)
		pos += n
		d.pending -= n
	}

	p := &d.p
	rng, code := d.rng, d.code
	state := d.state
	rep0, rep1, rep2, rep3 := d.rep[0], d.rep[1], d.rep[2], d.rep[3]
	lc := d.pr.lc & 15
	lpMask := uint32(1)<<d.pr.lp - 1
	pbMask := uint32(1)<<d.pr.pb - 1
	start, base, size := w.start, w.base, w.size
	if start < 0 {
		start = 0
	}
	var b uint32
	var err error

	for pos < limit && ip <= inLimit {
		posState := uint32(pos-base) & pbMask
		rng, code, ip, b = bit(&p.isMatch[(state<<4|posState)&0xff], rng, code, in, ip)
		if b == 0 {
			// Literal.
			prev := uint32(0)
			if pos > start {
				prev = uint32(buf[pos-1])
			}
			ls := (uint32(pos-base)&lpMask)<<lc | prev>>(8-lc)
			lit := (*[litStride]uint16)(p.lit[(ls&15)*litStride:])
			sym := uint32(1)
			if state < 7 {
				// Literal bits are hard to predict: decode them without
				// branches (m0 is all ones when the bit is 0).
				for sym < 0x100 {
					pp := &lit[sym&0x3ff]
					pr := uint32(*pp)
					bound := (rng >> 11) * pr
					m0 := uint32(int64(uint64(code)-uint64(bound)) >> 63)
					rng = (rng-bound)&^m0 | bound&m0
					code -= bound &^ m0
					*pp = uint16(int32(pr) - (int32(pr)+int32(m0&probUp))>>moveBits)
					sym = sym<<1 | (m0 + 1)
					if rng < topValue {
						rng <<= 8
						code = code<<8 | uint32(in[ip])
						ip++
					}
				}
			} else {
				if uint64(rep0) >= uint64(pos-start) {
					err = corrupt("match byte beyond dictionary")
					break
				}
				mb := uint32(buf[pos-int(rep0)-1])
				offs := uint32(0x100)
				for sym < 0x100 {
					mb <<= 1
					old := offs
					offs &= mb
					pp := &lit[(offs+old+sym)&0x3ff]
					pr := uint32(*pp)
					bound := (rng >> 11) * pr
					m0 := uint32(int64(uint64(code)-uint64(bound)) >> 63)
					rng = (rng-bound)&^m0 | bound&m0
					code -= bound &^ m0
					*pp = uint16(int32(pr) - (int32(pr)+int32(m0&probUp))>>moveBits)
					sym = sym<<1 | (m0 + 1)
					offs ^= old & m0
					if rng < topValue {
						rng <<= 8
						code = code<<8 | uint32(in[ip])
						ip++
					}
				}
			}
			buf[pos] = byte(sym)
			pos++
			state = uint32(nextLit[state&15])
			continue
		}

		var length uint32
		var lp *lenProbs
		newDist := false
		rng, code, ip, b = bit(&p.isRep[state&15], rng, code, in, ip)
		if b == 0 {
			// Simple match: new distance.
			rep3, rep2, rep1 = rep2, rep1, rep0
			state = uint32(nextMatch[state&15])
			lp = &p.matchLen
			newDist = true
		} else {
			rng, code, ip, b = bit(&p.isRepG0[state&15], rng, code, in, ip)
			if b == 0 {
				rng, code, ip, b = bit(&p.isRep0Long[(state<<4|posState)&0xff], rng, code, in, ip)
				if b == 0 {
					// Short rep: one byte at distance rep0.
					if uint64(rep0) >= uint64(pos-start) {
						err = corrupt("distance beyond dictionary")
						break
					}
					buf[pos] = buf[pos-int(rep0)-1]
					pos++
					state = uint32(nextShort[state&15])
					continue
				}
			} else {
				var dist uint32
				rng, code, ip, b = bit(&p.isRepG1[state&15], rng, code, in, ip)
				if b == 0 {
					dist = rep1
				} else {
					rng, code, ip, b = bit(&p.isRepG2[state&15], rng, code, in, ip)
					if b == 0 {
						dist = rep2
					} else {
						dist = rep3
						rep3 = rep2
					}
					rep2 = rep1
				}
				rep1 = rep0
				rep0 = dist
			}
			state = uint32(nextRep[state&15])
			lp = &p.repLen
		}

		// Length.
		rng, code, ip, b = bit(&lp.choice, rng, code, in, ip)
		if b == 0 {
			rng, code, ip, length = tree(lp.low[posState&15][:], 3, rng, code, in, ip)
		} else {
			rng, code, ip, b = bit(&lp.choice2, rng, code, in, ip)
			if b == 0 {
				rng, code, ip, length = tree(lp.mid[posState&15][:], 3, rng, code, in, ip)
				length += 8
			} else {
				rng, code, ip, length = tree(lp.high[:], 8, rng, code, in, ip)
				length += 16
			}
		}

		if newDist {
			// Distance of a simple match (state is now 7 or 10).
			ls := length
			if ls > 3 {
				ls = 3
			}
			var slot uint32
			rng, code, ip, slot = tree(p.slot[ls][:], 6, rng, code, in, ip)
			dist := slot
			if slot >= 4 {
				nd := slot>>1 - 1
				dist = (2 | slot&1) << nd
				if slot < 14 {
					// Reverse bit tree over the spec probabilities.
					var v uint32
					rng, code, ip, v = reverseTree(p.spec[:], dist-slot-1, nd, rng, code, in, ip)
					dist += v
				} else {
					// Direct bits with probability 1/2, then 4 align bits.
					var direct uint32
					for i := nd - 4; i > 0; i-- {
						rng >>= 1
						c := code - rng
						mask := uint32(int32(c) >> 31) // all ones if the bit is 0
						code = c + rng&mask
						direct = direct<<1 + mask + 1
						if rng < topValue {
							rng <<= 8
							code = code<<8 | uint32(in[ip])
							ip++
						}
					}
					dist += direct << 4
					var v uint32
					rng, code, ip, v = reverseTree(p.align[:], 0, 4, rng, code, in, ip)
					dist += v
					if dist == 0xFFFFFFFF {
						d.eos = true
						rep0 = dist
						break
					}
				}
			}
			rep0 = dist
		}

		n := int(length) + matchMin
		if uint64(rep0) >= uint64(pos-start) || uint64(rep0) >= uint64(size) {
			err = corrupt("match distance beyond dictionary")
			break
		}
		dist := int(rep0)
		if n > limit-pos {
			d.pending = n - (limit - pos)
			n = limit - pos
		}
		if n <= dist+1 {
			src := pos - dist - 1
			copy(buf[pos:pos+n], buf[src:src+n])
		} else {
			copyMatch(buf, pos, dist, n)
		}
		pos += n
	}

	w.pos = pos
	d.rng, d.code, d.state = rng, code, state
	d.rep = [4]uint32{rep0, rep1, rep2, rep3}
	return ip, err
}

// run decodes from in[ip:] into w as runRaw does. With final set, in holds
// all remaining input: its last bytes are decoded from a zero-padded copy,
// and reading past its end reports errTruncated. Without final, decoding
// stops up to maxOpInput bytes before the end so the caller can refill.
func (d *decoder) run(w *window, in []byte, ip int, final bool) (int, error) {
	var err error
	if len(in)-ip > maxOpInput {
		ip, err = d.runRaw(w, in, ip, len(in)-maxOpInput)
		if err != nil || !final || d.eos || w.pos >= w.limit {
			return ip, err
		}
	}
	if !final {
		return ip, nil
	}
	n := len(in) - ip
	if n < 0 {
		return ip, errTruncated
	}
	var tail [3 * maxOpInput]byte
	copy(tail[:], in[ip:])
	tip, err := d.runRaw(w, tail[:], 0, n)
	if tip > n {
		return len(in), errTruncated
	}
	return ip + tip, err
}
