package labelled

import (
	"bytes"
	"encoding/binary"
)

const (
	elfMIPS = 8
	elfARM  = 40
)

// elfSpec describes a minimal 32-bit ELF executable: program headers only,
// the requested protections, and the strings a real binary would carry.
type elfSpec struct {
	machine   uint16
	bigEndian bool
	nx        bool // PT_GNU_STACK without execute
	pie       bool // ET_DYN with an interpreter
	relro     bool // PT_GNU_RELRO
	strings   []string
}

// elfImage writes the ELF file. The layout is: header, program headers,
// interpreter path, then the strings, all in one loadable segment.
func elfImage(s elfSpec) []byte {
	var bo binary.ByteOrder = binary.LittleEndian
	if s.bigEndian {
		bo = binary.BigEndian
	}
	interp := []byte("/lib/ld-musl-mips-sf.so.1\x00")
	var body bytes.Buffer
	for _, str := range s.strings {
		body.WriteString(str)
		body.WriteByte(0)
	}
	type phdr struct{ typ, off, vaddr, filesz, memsz, flags, align uint32 }
	const base = 0x400000
	nph := 2
	if s.pie {
		nph++
	}
	if s.relro {
		nph++
	}
	hdrEnd := uint32(52 + 32*nph)
	interpOff := hdrEnd
	bodyOff := interpOff + uint32(len(interp))
	total := bodyOff + uint32(body.Len())
	phs := []phdr{{typ: 1, off: 0, vaddr: base, filesz: total, memsz: total, flags: 5, align: 0x1000}}
	if s.pie {
		phs = append([]phdr{{typ: 3, off: interpOff, vaddr: base + interpOff, filesz: uint32(len(interp)), memsz: uint32(len(interp)), flags: 4, align: 1}}, phs...)
	}
	stack := uint32(6)
	if !s.nx {
		stack = 7
	}
	phs = append(phs, phdr{typ: 0x6474e551, flags: stack, align: 16})
	if s.relro {
		phs = append(phs, phdr{typ: 0x6474e552, off: bodyOff, vaddr: base + bodyOff, filesz: 0, memsz: 0, flags: 4, align: 1})
	}
	var b bytes.Buffer
	ident := []byte{0x7f, 'E', 'L', 'F', 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0}
	if s.bigEndian {
		ident[5] = 2
	}
	b.Write(ident)
	etype := uint16(2)
	if s.pie {
		etype = 3
	}
	w16 := func(v uint16) { binary.Write(&b, bo, v) }
	w32 := func(v uint32) { binary.Write(&b, bo, v) }
	w16(etype)
	w16(s.machine)
	w32(1)             // version
	w32(base + hdrEnd) // entry
	w32(52)            // phoff
	w32(0)             // shoff
	w32(0)             // flags
	w16(52)            // ehsize
	w16(32)            // phentsize
	w16(uint16(len(phs)))
	w16(40) // shentsize
	w16(0)  // shnum
	w16(0)  // shstrndx
	for _, p := range phs {
		for _, v := range []uint32{p.typ, p.off, p.vaddr, p.vaddr, p.filesz, p.memsz, p.flags, p.align} {
			w32(v)
		}
	}
	b.Write(interp)
	b.Write(body.Bytes())
	return b.Bytes()
}
