package lzma

import (
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
)

// decoders recycles decoder states (about 40 KiB each) between calls.
var decoders = sync.Pool{New: func() any { return new(decoder) }}

func getDecoder() *decoder  { return decoders.Get().(*decoder) }
func putDecoder(d *decoder) { decoders.Put(d) }

// minDict is the smallest dictionary a decoder assumes, as liblzma does.
const minDict = 4096

// DecodeLZMA2 decodes a raw LZMA2 chunk stream (up to and including its end
// byte) from src into dst and returns the number of bytes written. dictSize
// is the dictionary size from the container: match distances beyond it are
// rejected; zero or negative means only the output itself bounds them. Bytes
// after the end byte are ignored. Output that would not fit in dst is an
// error wrapping ErrShortBuffer.
func DecodeLZMA2(dst, src []byte, dictSize int) (int, error) {
	d := getDecoder()
	defer putDecoder(d)
	w := window{buf: dst, size: dictLimit(dictSize)}
	_, err := d.lzma2(&w, src)
	return w.pos, err
}

func dictLimit(n int) int {
	if n <= 0 {
		return int(^uint(0) >> 1)
	}
	return max(n, minDict)
}

// lzma2 decodes an LZMA2 chunk stream from src into w (one-shot) and returns
// the number of input bytes used, including the end byte.
func (d *decoder) lzma2(w *window, src []byte) (int, error) {
	ip := 0
	needDict, needProps := true, true
	for {
		if ip >= len(src) {
			return ip, errTruncated
		}
		c := src[ip]
		if c == 0 {
			return ip + 1, nil
		}
		if c >= 0xE0 || c == 1 {
			needDict, needProps = false, true
			w.reset()
		} else if needDict {
			return ip, corrupt("LZMA2 stream does not start with a dictionary reset")
		}
		if c < 0x80 {
			// Uncompressed chunk.
			if c > 2 {
				return ip, corrupt(fmt.Sprintf("invalid LZMA2 control byte %#x", c))
			}
			if len(src)-ip < 3 {
				return ip, errTruncated
			}
			n := int(src[ip+1])<<8 | int(src[ip+2]) + 1
			ip += 3
			if len(src)-ip < n {
				return ip, errTruncated
			}
			if n > len(w.buf)-w.pos {
				return ip, ErrShortBuffer
			}
			w.pos += copy(w.buf[w.pos:], src[ip:ip+n])
			ip += n
			continue
		}
		if len(src)-ip < 5 {
			return ip, errTruncated
		}
		unpacked := int(c&0x1F)<<16 | int(src[ip+1])<<8 | int(src[ip+2]) + 1
		packed := int(src[ip+3])<<8 | int(src[ip+4]) + 1
		ip += 5
		if c >= 0xC0 {
			if ip >= len(src) {
				return ip, errTruncated
			}
			pr, err := parseProps(src[ip])
			if err != nil {
				return ip, err
			}
			ip++
			needProps = false
			d.resetState(pr)
		} else if needProps {
			return ip, corrupt("LZMA2 chunk without properties")
		} else if c >= 0xA0 {
			d.resetState(d.pr)
		}
		if len(src)-ip < packed {
			return ip, errTruncated
		}
		if unpacked > len(w.buf)-w.pos {
			return ip, ErrShortBuffer
		}
		if err := d.chunk(w, src[ip:ip+packed], unpacked); err != nil {
			return ip, err
		}
		ip += packed
	}
}

// chunk decodes one complete LZMA chunk of LZMA2 (range coder restarted,
// exact sizes) into w.
func (d *decoder) chunk(w *window, in []byte, unpacked int) error {
	if err := d.initRC(in); err != nil {
		if errors.Is(err, errTruncated) {
			return corrupt("LZMA2 chunk too short")
		}
		return err
	}
	w.limit = w.pos + unpacked
	ip, err := d.run(w, in, 5, true)
	if err != nil {
		if errors.Is(err, errTruncated) {
			return corrupt("LZMA2 chunk data ends early")
		}
		return err
	}
	if d.eos {
		return corrupt("end marker in LZMA2 chunk")
	}
	if w.pos != w.limit || d.pending != 0 || ip != len(in) || d.code != 0 {
		return corrupt("LZMA2 chunk sizes do not match its data")
	}
	return nil
}

// alone is a parsed .lzma header.
type alone struct {
	pr   props
	dict uint32
	size uint64 // ^0: unknown, end marker required
}

const aloneHeaderSize = 13

func parseAlone(h []byte) (alone, error) {
	if len(h) < aloneHeaderSize {
		return alone{}, errTruncated
	}
	pr, err := parseProps(h[0])
	if err != nil {
		return alone{}, err
	}
	return alone{pr: pr, dict: binary.LittleEndian.Uint32(h[1:5]), size: binary.LittleEndian.Uint64(h[5:13])}, nil
}

// DecodeLZMA decodes a legacy .lzma ("LZMA alone") stream from src into dst
// and returns the number of bytes written. The 13-byte header holds the
// properties, the dictionary size and the uncompressed size (all ones when
// unknown: an end marker then ends the data). A known size larger than dst
// is an error wrapping ErrShortBuffer. Bytes after the data are ignored.
func DecodeLZMA(dst, src []byte) (int, error) {
	h, err := parseAlone(src)
	if err != nil {
		return 0, err
	}
	d := getDecoder()
	defer putDecoder(d)
	d.resetState(h.pr)
	w := window{buf: dst, size: max(maxInt(uint64(h.dict)), minDict)}
	in := src[aloneHeaderSize:]
	if err := d.initRC(in); err != nil {
		return 0, err
	}
	if h.size != ^uint64(0) {
		if h.size > uint64(len(dst)) {
			return 0, fmt.Errorf("%w: header declares %d bytes, buffer holds %d", ErrShortBuffer, h.size, len(dst))
		}
		w.limit = int(h.size)
		_, err := d.run(&w, in, 5, true)
		if err != nil {
			return w.pos, err
		}
		if w.pos != w.limit || d.pending != 0 {
			return w.pos, corrupt("end marker before declared size")
		}
		return w.pos, nil
	}
	w.limit = len(dst)
	ip, err := d.run(&w, in, 5, true)
	if err != nil {
		return w.pos, err
	}
	if d.eos {
		return w.pos, nil
	}
	if d.pending != 0 {
		return w.pos, ErrShortBuffer
	}
	// The output filled dst: only an end marker may follow.
	if _, err := d.probeEnd(&w, in, ip); err != nil {
		return w.pos, err
	}
	return w.pos, nil
}

// probeEnd decodes the operation at in[ip:] when the output is full and
// succeeds only if it is the end marker, returning the input position after
// it. It changes the model, so the decoder is done either way.
func (d *decoder) probeEnd(w *window, in []byte, ip int) (int, error) {
	var tail [3 * maxOpInput]byte
	if ip > len(in) {
		return ip, errTruncated
	}
	n := copy(tail[:maxOpInput], in[ip:])
	t := tail[:]
	rng, code, p := d.rng, d.code, &d.p
	var b uint32
	tip := 0
	posState := uint32(w.pos-w.base) & (1<<d.pr.pb - 1)
	rng, code, tip, b = bit(&p.isMatch[(d.state<<4|posState)&0xff], rng, code, t, tip)
	if b == 0 {
		return ip, ErrShortBuffer
	}
	rng, code, tip, b = bit(&p.isRep[d.state&15], rng, code, t, tip)
	if b != 0 {
		return ip, ErrShortBuffer
	}
	lp := &p.matchLen
	rng, code, tip, b = bit(&lp.choice, rng, code, t, tip)
	ls := uint32(3)
	if b == 0 {
		ls = 0
		sym := uint32(1)
		for sym < 8 {
			rng, code, tip, b = bit(&lp.low[posState&15][sym&7], rng, code, t, tip)
			sym = sym<<1 | b
		}
		ls = min(sym-8, 3)
	} else {
		rng, code, tip, b = bit(&lp.choice2, rng, code, t, tip)
		var tree []uint16
		if b == 0 {
			tree = lp.mid[posState&15][:]
		} else {
			tree = lp.high[:]
		}
		sym := uint32(1)
		for sym < uint32(len(tree)) {
			rng, code, tip, b = bit(&tree[sym], rng, code, t, tip)
			sym = sym<<1 | b
		}
	}
	slot := uint32(1)
	for slot < 64 {
		rng, code, tip, b = bit(&p.slot[ls][slot&63], rng, code, t, tip)
		slot = slot<<1 | b
	}
	if slot != 127 {
		return ip, ErrShortBuffer
	}
	for i := 0; i < 26; i++ {
		rng >>= 1
		if code < rng {
			return ip, ErrShortBuffer
		}
		code -= rng
		if rng < topValue {
			rng <<= 8
			code = code<<8 | uint32(t[tip])
			tip++
		}
	}
	m := uint32(1)
	for i := 0; i < 4; i++ {
		rng, code, tip, b = bit(&p.align[m&15], rng, code, t, tip)
		m = m<<1 | b
	}
	if m != 31 {
		return ip, ErrShortBuffer
	}
	if tip > n {
		return ip, errTruncated
	}
	d.eos = true
	d.rng, d.code = rng, code
	return ip + tip, nil
}
