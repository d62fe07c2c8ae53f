package lzma

import "encoding/binary"

// applyFilter undoes one BCJ or delta filter over a whole block in place.
// Trailing bytes a BCJ filter cannot decide on are left as they are, as the
// encoder did.
func applyFilter(f filterSpec, b []byte) {
	switch f.id {
	case filterDelta:
		var st deltaState
		st.dist = f.dist
		st.decode(b)
	case filterX86:
		var st x86State
		st.decode(b, f.start)
	default:
		bcjFuncs[f.id](b, f.start)
	}
}

// bcjFuncs maps the stateless BCJ filters to their decoders. Each converts
// absolute branch targets in b (at stream offset pos) back to relative ones
// and returns how many leading bytes are final.
var bcjFuncs = map[byte]func(b []byte, pos uint32) int{
	filterPowerPC:  powerpcDecode,
	filterIA64:     ia64Decode,
	filterARM:      armDecode,
	filterARMThumb: armThumbDecode,
	filterSPARC:    sparcDecode,
	filterARM64:    arm64Decode,
}

// deltaState undoes the delta filter: each byte was stored as the difference
// from the byte dist positions earlier.
type deltaState struct {
	dist int
	hist [256]byte
	pos  uint8
}

func (s *deltaState) decode(b []byte) {
	dist := uint8(s.dist)
	for i := range b {
		v := b[i] + s.hist[uint8(s.pos-dist)]
		s.hist[s.pos] = v
		s.pos++
		b[i] = v
	}
}

// x86State undoes the x86 BCJ filter, which rewrote the 32-bit operands of
// E8 (call) and E9 (jmp) opcodes whose top byte is 00 or FF from relative to
// absolute addresses. prevMask remembers which of the three bytes before the
// current position held E8/E9 candidates.
type x86State struct {
	prevMask uint32
}

func x86Plausible(b byte) bool { return b == 0 || b == 0xFF }

func (s *x86State) decode(b []byte, pos uint32) int {
	// Indexed by the mask of recent candidate opcodes: whether a conversion
	// is still allowed, and which operand byte decides it.
	allowed := [8]bool{true, true, true, false, true, false, false, false}
	byteOf := [8]uint32{0, 1, 2, 2, 3, 3, 3, 3}
	if len(b) < 5 {
		return 0
	}
	end := len(b) - 4
	mask := s.prevMask
	last := -1 // previous candidate; -1 is the byte just before b
	i := 0
	for ; i < end; i++ {
		if b[i]&0xFE != 0xE8 {
			continue
		}
		gap := i - last
		if gap > 3 {
			mask = 0
		} else {
			mask = (mask << uint(gap-1)) & 7
			if mask != 0 {
				c := b[i+4-int(byteOf[mask])]
				if !allowed[mask] || x86Plausible(c) {
					last = i
					mask = mask<<1 | 1
					continue
				}
			}
		}
		last = i
		if !x86Plausible(b[i+4]) {
			mask = mask<<1 | 1
			continue
		}
		src := binary.LittleEndian.Uint32(b[i+1:])
		var dest uint32
		for {
			dest = src - (pos + uint32(i) + 5)
			if mask == 0 {
				break
			}
			j := byteOf[mask] * 8
			if !x86Plausible(byte(dest >> (24 - j))) {
				break
			}
			src = dest ^ (1<<(32-j) - 1)
		}
		dest &= 0x01FFFFFF
		dest |= 0 - dest&0x01000000
		binary.LittleEndian.PutUint32(b[i+1:], dest)
		i += 4
	}
	if gap := i - last; gap > 3 {
		s.prevMask = 0
	} else {
		s.prevMask = mask << uint(gap-1)
	}
	return i
}

func powerpcDecode(b []byte, pos uint32) int {
	i := 0
	for ; i+4 <= len(b); i += 4 {
		v := binary.BigEndian.Uint32(b[i:])
		if v&0xFC000003 != 0x48000001 {
			continue
		}
		dest := (v & 0x03FFFFFC) - (pos + uint32(i))
		binary.BigEndian.PutUint32(b[i:], 0x48000001|dest&0x03FFFFFC)
	}
	return i
}

func armDecode(b []byte, pos uint32) int {
	i := 0
	for ; i+4 <= len(b); i += 4 {
		if b[i+3] != 0xEB {
			continue
		}
		v := (uint32(b[i]) | uint32(b[i+1])<<8 | uint32(b[i+2])<<16) << 2
		v = (v - (pos + uint32(i) + 8)) >> 2
		b[i], b[i+1], b[i+2] = byte(v), byte(v>>8), byte(v>>16)
	}
	return i
}

func armThumbDecode(b []byte, pos uint32) int {
	i := 0
	for ; i+4 <= len(b); i += 2 {
		if b[i+1]&0xF8 != 0xF0 || b[i+3]&0xF8 != 0xF8 {
			continue
		}
		v := (uint32(b[i+1]&7)<<19 | uint32(b[i])<<11 | uint32(b[i+3]&7)<<8 | uint32(b[i+2])) << 1
		v = (v - (pos + uint32(i) + 4)) >> 1
		b[i+1] = 0xF0 | byte(v>>19)&7
		b[i] = byte(v >> 11)
		b[i+3] = 0xF8 | byte(v>>8)&7
		b[i+2] = byte(v)
		i += 2
	}
	return i
}

func sparcDecode(b []byte, pos uint32) int {
	i := 0
	for ; i+4 <= len(b); i += 4 {
		if !(b[i] == 0x40 && b[i+1]&0xC0 == 0) && !(b[i] == 0x7F && b[i+1]&0xC0 == 0xC0) {
			continue
		}
		v := binary.BigEndian.Uint32(b[i:]) << 2
		v = (v - (pos + uint32(i))) >> 2
		v = (0-(v>>22)&1)<<22&0x3FFFFFFF | v&0x3FFFFF | 0x40000000
		binary.BigEndian.PutUint32(b[i:], v)
	}
	return i
}

func arm64Decode(b []byte, pos uint32) int {
	i := 0
	for ; i+4 <= len(b); i += 4 {
		v := binary.LittleEndian.Uint32(b[i:])
		pc := pos + uint32(i)
		if v>>26 == 0x25 {
			// BL: 26-bit word offset.
			v = 0x94000000 | (v-pc>>2)&0x03FFFFFF
			binary.LittleEndian.PutUint32(b[i:], v)
			continue
		}
		if v&0x9F000000 != 0x90000000 {
			continue
		}
		// ADRP: 21-bit page offset, converted only within +-512 MiB.
		src := v>>29&3 | v>>3&0x001FFFFC
		if (src+0x00020000)&0x001C0000 != 0 {
			continue
		}
		dest := src - pc>>12
		v &= 0x9000001F
		v |= (dest & 3) << 29
		v |= (dest & 0x0003FFFC) << 3
		v |= (0 - dest&0x00020000) & 0x00E00000
		binary.LittleEndian.PutUint32(b[i:], v)
	}
	return i
}

// ia64Slots says, for each bundle template, which of the three instruction
// slots may hold a branch.
var ia64Slots = [32]uint8{
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	4, 4, 6, 6, 0, 0, 7, 7, 4, 4, 0, 0, 4, 4, 0, 0,
}

func ia64Decode(b []byte, pos uint32) int {
	i := 0
	for ; i+16 <= len(b); i += 16 {
		mask := ia64Slots[b[i]&0x1F]
		for slot := uint32(0); slot < 3; slot++ {
			if mask>>slot&1 == 0 {
				continue
			}
			bitPos := 5 + 41*slot
			bytePos := int(bitPos >> 3)
			shift := bitPos & 7
			var instr uint64
			for j := 0; j < 6; j++ {
				instr |= uint64(b[i+j+bytePos]) << (8 * j)
			}
			norm := instr >> shift
			if norm>>37&0xF != 0x5 || norm>>9&7 != 0 {
				continue
			}
			addr := uint32(norm>>13) & 0xFFFFF
			addr |= uint32(norm>>36) & 1 << 20
			addr <<= 4
			addr -= pos + uint32(i)
			addr >>= 4
			norm &^= uint64(0x8FFFFF) << 13
			norm |= uint64(addr&0x0FFFFF) << 13
			norm |= uint64(addr&0x100000) << (36 - 20)
			instr &= 1<<shift - 1
			instr |= norm << shift
			for j := 0; j < 6; j++ {
				b[i+j+bytePos] = byte(instr >> (8 * j))
			}
		}
	}
	return i
}
