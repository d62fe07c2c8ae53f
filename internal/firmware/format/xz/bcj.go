package xz

import (
	"encoding/binary"
	"io"
)

// Branch/call/jump filters convert the relative addresses of branch
// instructions to absolute ones when compressing; decoding converts them
// back. Each converter works in place on b, whose first byte is at stream
// position pos, and returns how many leading bytes it is done with; the rest
// (a partial instruction) is offered again with more data, or passes
// unchanged at the end of the stream.
type converter interface {
	convert(pos uint32, b []byte) int
}

// newConverter returns the converter for an xz filter ID.
func newConverter(id int64) (converter, string, bool) {
	switch id {
	case 0x04:
		return &x86Conv{}, "x86", true
	case 0x05:
		return convFunc(powerpcConvert), "PowerPC", true
	case 0x07:
		return convFunc(armConvert), "ARM", true
	case 0x08:
		return convFunc(armThumbConvert), "ARM-Thumb", true
	case 0x09:
		return convFunc(sparcConvert), "SPARC", true
	}
	return nil, "", false
}

type convFunc func(pos uint32, b []byte) int

func (f convFunc) convert(pos uint32, b []byte) int { return f(pos, b) }

// armConvert: BL instructions (little-endian, condition "always", opcode
// byte 0xEB) hold a 24-bit word offset relative to the instruction + 8.
func armConvert(pos uint32, b []byte) int {
	i := 0
	for ; i+4 <= len(b); i += 4 {
		if b[i+3] != 0xeb {
			continue
		}
		v := (uint32(b[i+2])<<16 | uint32(b[i+1])<<8 | uint32(b[i])) << 2
		v = (v - (pos + uint32(i) + 8)) >> 2
		b[i], b[i+1], b[i+2] = byte(v), byte(v>>8), byte(v>>16)
	}
	return i
}

// armThumbConvert: the two halves of a Thumb BL pair (0xF0-0xF7 then
// 0xF8-0xFF in the high bytes) hold a 22-bit half-word offset relative to
// the instruction + 4.
func armThumbConvert(pos uint32, b []byte) int {
	i := 0
	for ; i+4 <= len(b); i += 2 {
		if b[i+1]&0xf8 != 0xf0 || b[i+3]&0xf8 != 0xf8 {
			continue
		}
		v := (uint32(b[i+1]&7)<<19 | uint32(b[i])<<11 | uint32(b[i+3]&7)<<8 | uint32(b[i+2])) << 1
		v = (v - (pos + uint32(i) + 4)) >> 1
		b[i+1] = 0xf0 | byte(v>>19)&7
		b[i] = byte(v >> 11)
		b[i+3] = 0xf8 | byte(v>>8)&7
		b[i+2] = byte(v)
		i += 2
	}
	return i
}

// powerpcConvert: big-endian "bl" (primary opcode 18, AA=0, LK=1) holds a
// 24-bit word offset relative to the instruction.
func powerpcConvert(pos uint32, b []byte) int {
	i := 0
	for ; i+4 <= len(b); i += 4 {
		if b[i]>>2 != 0x12 || b[i+3]&3 != 1 {
			continue
		}
		v := binary.BigEndian.Uint32(b[i:]) & 0x03fffffc
		v -= pos + uint32(i)
		binary.BigEndian.PutUint32(b[i:], 0x48000000|v&0x03ffffff|1)
	}
	return i
}

// sparcConvert: "call" instructions whose 30-bit displacement is small
// enough to be sign-extended from 22 bits.
func sparcConvert(pos uint32, b []byte) int {
	i := 0
	for ; i+4 <= len(b); i += 4 {
		if !(b[i] == 0x40 && b[i+1]&0xc0 == 0) && !(b[i] == 0x7f && b[i+1]&0xc0 == 0xc0) {
			continue
		}
		v := binary.BigEndian.Uint32(b[i:]) << 2
		v = (v - (pos + uint32(i))) >> 2
		v = (0-(v>>22)&1)<<22&0x3fffffff | v&0x3fffff | 0x40000000
		binary.BigEndian.PutUint32(b[i:], v)
	}
	return i
}

// x86Conv converts the 32-bit operands of E8 (call) and E9 (jmp) whose
// high byte is 0x00 or 0xFF, skipping operands that look like the tail of
// a previous candidate (tracked in mask, one bit per preceding byte).
type x86Conv struct {
	mask    uint32
	last    uint32 // stream position of the last E8/E9 seen
	started bool
}

func msByte(c byte) bool { return c == 0 || c == 0xff }

func (x *x86Conv) convert(pos uint32, b []byte) int {
	allowed := [8]bool{true, true, true, false, true, false, false, false}
	bitNum := [8]uint32{0, 1, 2, 2, 3, 3, 3, 3}
	if !x.started {
		x.started = true
		x.last = pos - 5
	}
	i := 0
	for ; i+5 <= len(b); i++ {
		if b[i]&0xfe != 0xe8 {
			continue
		}
		here := pos + uint32(i)
		if d := here - x.last; d > 5 {
			x.mask = 0
		} else {
			for k := uint32(0); k < d; k++ {
				x.mask = (x.mask & 0x77) << 1
			}
		}
		x.last = here
		hi := b[i+4]
		if msByte(hi) && allowed[(x.mask>>1)&7] && x.mask>>1 < 0x10 {
			src := binary.LittleEndian.Uint32(b[i+1:])
			var dst uint32
			for {
				dst = src - (here + 5)
				if x.mask == 0 {
					break
				}
				n := bitNum[x.mask>>1]
				if !msByte(byte(dst >> (24 - n*8))) {
					break
				}
				src = dst ^ (1<<(32-n*8) - 1)
			}
			dst &= 0x01ffffff
			if dst&0x01000000 != 0 {
				dst |= 0xff000000
			}
			binary.LittleEndian.PutUint32(b[i+1:], dst)
			i += 4
			x.mask = 0
		} else {
			x.mask |= 1
			if msByte(hi) {
				x.mask |= 0x10
			}
		}
	}
	return i
}

// bcjReader applies a converter to the data read from r.
type bcjReader struct {
	r    io.Reader
	c    converter
	pos  uint32
	buf  []byte
	head int // buf[head:done] is converted and not yet read
	done int
	end  int // buf[done:end] waits for more data
	eof  bool
}

func newBCJReader(r io.Reader, c converter, start uint32) *bcjReader {
	return &bcjReader{r: r, c: c, pos: start, buf: make([]byte, 64<<10)}
}

func (f *bcjReader) Read(p []byte) (int, error) {
	for f.head == f.done {
		if f.eof {
			if f.done == f.end {
				return 0, io.EOF
			}
			f.done = f.end // a partial instruction at the end passes as is
			break
		}
		copy(f.buf, f.buf[f.done:f.end])
		f.end -= f.done
		f.head, f.done = 0, 0
		n, err := f.r.Read(f.buf[f.end:])
		f.end += n
		if err == io.EOF {
			f.eof = true
		} else if err != nil {
			return 0, err
		}
		k := f.c.convert(f.pos, f.buf[:f.end])
		f.done = k
		f.pos += uint32(k)
	}
	n := copy(p, f.buf[f.head:f.done])
	f.head += n
	return n, nil
}
