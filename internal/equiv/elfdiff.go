package equiv

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"fmt"
	"sort"
	"strings"
)

// elfInfo is what the comparison needs from an ELF file.
type elfInfo struct {
	sections []elfSection
	// skip are the ranges where no text pattern may be masked: code and
	// the header tables.
	skip [][2]int
	// ids are the build ID descriptors.
	ids []mask
	// headers are the ELF header and program header table.
	ehdr, phdrs [2]int
	imports     []string
	// program: an executable (ET_EXEC, or ET_DYN with an interpreter),
	// not a shared library.
	program bool
}

type elfSection struct {
	name        string
	typ         elf.SectionType
	flags       elf.SectionFlag
	addr        uint64
	off, size   uint64
	nobits      bool
	outOfBounds bool
}

// Section counts and note walks are bounded: a file claims what it likes.
const (
	maxELFSections = 4096
	maxNotes       = 256
)

var elfMagic = []byte("\x7fELF")

func isELF(b []byte) bool { return bytes.HasPrefix(b, elfMagic) }

// parseELF reads an ELF file held in memory. debug/elf reads only within
// the slice it is given; a panic inside it (malformed input) becomes an
// error.
func parseELF(data []byte) (info *elfInfo, err error) {
	defer func() {
		if r := recover(); r != nil {
			info, err = nil, fmt.Errorf("malformed ELF: %v", r)
		}
	}()
	if !isELF(data) {
		return nil, fmt.Errorf("not an ELF file")
	}
	if err := precheckELF(data); err != nil {
		return nil, err
	}
	f, err := elf.NewFile(bytes.NewReader(data))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	info = &elfInfo{program: f.Type == elf.ET_EXEC}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP && f.Type == elf.ET_DYN {
			info.program = true
		}
	}
	size := uint64(len(data))
	ehsize, phoff, phentsize, phnum, shoff, shentsize, shnum := elfTables(data, f.Class, f.ByteOrder)
	info.ehdr = [2]int{0, int(min(ehsize, size))}
	info.skip = append(info.skip, info.ehdr)
	if phoff < size && phnum > 0 {
		end := min(phoff+phentsize*phnum, size)
		info.phdrs = [2]int{int(phoff), int(end)}
		info.skip = append(info.skip, info.phdrs)
	}
	if shoff < size && shnum > 0 {
		info.skip = append(info.skip, [2]int{int(shoff), int(min(shoff+shentsize*shnum, size))})
	}
	if len(f.Sections) > maxELFSections {
		return nil, fmt.Errorf("malformed ELF: %d sections", len(f.Sections))
	}
	for _, s := range f.Sections {
		if s.Type == elf.SHT_NULL {
			continue
		}
		es := elfSection{name: s.Name, typ: s.Type, flags: s.Flags, addr: s.Addr, off: s.Offset, size: s.FileSize, nobits: s.Type == elf.SHT_NOBITS}
		if es.nobits {
			es.size = s.Size
		}
		if !es.nobits && (es.off > size || es.size > size-es.off) {
			es.outOfBounds = true
		}
		info.sections = append(info.sections, es)
		if es.nobits || es.outOfBounds {
			continue
		}
		if s.Flags&elf.SHF_EXECINSTR != 0 {
			info.skip = append(info.skip, [2]int{int(es.off), int(es.off + es.size)})
		}
		if s.Type == elf.SHT_NOTE {
			info.ids = append(info.ids, buildIDNotes(data[es.off:es.off+es.size], int(es.off), f.ByteOrder)...)
		}
	}
	if len(f.Sections) == 0 {
		// No section headers: code and notes from the program headers.
		for _, p := range f.Progs {
			if p.Off > size || p.Filesz > size-p.Off {
				continue
			}
			if p.Type == elf.PT_LOAD && p.Flags&elf.PF_X != 0 {
				info.skip = append(info.skip, [2]int{int(p.Off), int(p.Off + p.Filesz)})
			}
			if p.Type == elf.PT_NOTE {
				info.ids = append(info.ids, buildIDNotes(data[p.Off:p.Off+p.Filesz], int(p.Off), f.ByteOrder)...)
			}
		}
	}
	// Undefined dynamic symbols are what the file imports. debug/elf
	// decompresses a compressed table to the size its header claims: the
	// symbol and version tables are read only when none is compressed.
	compressed := false
	for _, s := range f.Sections {
		switch s.Type {
		case elf.SHT_DYNSYM, elf.SHT_SYMTAB, elf.SHT_STRTAB, elf.SHT_GNU_VERNEED, elf.SHT_GNU_VERSYM, elf.SHT_GNU_VERDEF:
			compressed = compressed || s.Flags&elf.SHF_COMPRESSED != 0
		}
	}
	if syms, err := f.DynamicSymbols(); !compressed && err == nil {
		seen := map[string]bool{}
		for _, s := range syms {
			if s.Section == elf.SHN_UNDEF && s.Name != "" && !seen[s.Name] {
				seen[s.Name] = true
				info.imports = append(info.imports, s.Name)
			}
		}
		sort.Strings(info.imports)
	}
	return info, nil
}

// precheckELF refuses a file whose section name table is compressed:
// debug/elf would inflate it to whatever size its header claims before
// returning.
func precheckELF(d []byte) error {
	if len(d) < 64 || (d[4] != byte(elf.ELFCLASS32) && d[4] != byte(elf.ELFCLASS64)) {
		return nil // debug/elf rejects it
	}
	var bo binary.ByteOrder = binary.LittleEndian
	if d[5] == byte(elf.ELFDATA2MSB) {
		bo = binary.BigEndian
	}
	_, _, _, _, shoff, shentsize, shnum := elfTables(d, elf.Class(d[4]), bo)
	var shstrndx uint64
	if d[4] == byte(elf.ELFCLASS64) {
		shstrndx = uint64(bo.Uint16(d[62:]))
	} else {
		shstrndx = uint64(bo.Uint16(d[50:]))
	}
	size := uint64(len(d))
	entry := func(i uint64) []byte {
		if shentsize < 40 || shoff > size || i >= size || shentsize*(i+1) > size-shoff {
			return nil
		}
		return d[shoff+shentsize*i : shoff+shentsize*(i+1)]
	}
	if shstrndx == uint64(elf.SHN_XINDEX) {
		e := entry(0)
		if e == nil {
			return nil
		}
		shstrndx = uint64(bo.Uint32(e[24:])) // sh_link of section 0
		if d[4] == byte(elf.ELFCLASS64) {
			shstrndx = uint64(bo.Uint32(e[40:]))
		}
	}
	if shstrndx == 0 || (shnum != 0 && shstrndx >= shnum) {
		return nil
	}
	e := entry(shstrndx)
	if e == nil {
		return nil
	}
	var flags uint64
	if d[4] == byte(elf.ELFCLASS64) {
		flags = bo.Uint64(e[8:])
	} else {
		flags = uint64(bo.Uint32(e[8:]))
	}
	if flags&uint64(elf.SHF_COMPRESSED) != 0 {
		return fmt.Errorf("malformed ELF: compressed section name table")
	}
	return nil
}

// elfTables reads the header fields debug/elf does not export.
func elfTables(d []byte, class elf.Class, bo binary.ByteOrder) (ehsize, phoff, phentsize, phnum, shoff, shentsize, shnum uint64) {
	if class == elf.ELFCLASS64 && len(d) >= 64 {
		return uint64(bo.Uint16(d[52:])), bo.Uint64(d[32:]), uint64(bo.Uint16(d[54:])), uint64(bo.Uint16(d[56:])),
			bo.Uint64(d[40:]), uint64(bo.Uint16(d[58:])), uint64(bo.Uint16(d[60:]))
	}
	if class == elf.ELFCLASS32 && len(d) >= 52 {
		return uint64(bo.Uint16(d[40:])), uint64(bo.Uint32(d[28:])), uint64(bo.Uint16(d[42:])), uint64(bo.Uint16(d[44:])),
			uint64(bo.Uint32(d[32:])), uint64(bo.Uint16(d[46:])), uint64(bo.Uint16(d[48:]))
	}
	return uint64(min(len(d), 64)), 0, 0, 0, 0, 0, 0
}

// buildIDNotes walks the notes in b and returns the descriptors of GNU
// build ID notes (NT_GNU_BUILD_ID = 3, name "GNU") and Go build ID notes
// (type 4, name "Go"), at their offsets in the file.
func buildIDNotes(b []byte, base int, bo binary.ByteOrder) []mask {
	var out []mask
	pos := 0
	for i := 0; i < maxNotes && pos+12 <= len(b); i++ {
		namesz, descsz, typ := int(bo.Uint32(b[pos:])), int(bo.Uint32(b[pos+4:])), bo.Uint32(b[pos+8:])
		if namesz < 0 || descsz < 0 || namesz > len(b) || descsz > len(b) {
			return out
		}
		nameOff := pos + 12
		descOff := nameOff + align4(namesz)
		next := descOff + align4(descsz)
		if descOff > len(b) || descOff+descsz > len(b) || next < pos {
			return out
		}
		name := string(bytes.TrimRight(b[nameOff:nameOff+namesz], "\x00"))
		if descsz > 0 && ((name == "GNU" && typ == 3) || (name == "Go" && typ == 4)) {
			out = append(out, mask{off: base + descOff, n: descsz, class: NormBuildID})
		}
		pos = next
	}
	return out
}

func align4(n int) int { return (n + 3) &^ 3 }

// sectionClass sorts a section into code, rodata, data or other.
func sectionClass(s elfSection) string {
	n := s.name
	switch {
	case n == ".text" || strings.HasPrefix(n, ".text.") || n == ".init" || n == ".fini" || strings.HasPrefix(n, ".plt") || s.flags&elf.SHF_EXECINSTR != 0:
		return "code"
	case strings.HasPrefix(n, ".rodata"):
		return "rodata"
	case strings.HasPrefix(n, ".data") || strings.HasPrefix(n, ".bss") || n == ".tdata" || n == ".tbss" || strings.HasPrefix(n, ".got"):
		return "data"
	}
	return "other"
}

var classOrder = map[string]int{"header": 0, "code": 1, "rodata": 2, "data": 3, "other": 4}

// diffELF compares the sections of two ELF files by name. The inputs are
// copies with the masks applied, so normalised bytes do not show.
func diffELF(a, b []byte, ea, eb *elfInfo) *ELFDiff {
	d := &ELFDiff{Changed: []string{}, Sections: []SectionDiff{}}
	changed := map[string]bool{}
	add := func(sd SectionDiff) {
		d.Sections = append(d.Sections, sd)
		changed[sd.Class] = true
	}
	// The ELF header (entry point, flags) and program headers.
	for _, h := range []struct {
		name   string
		ra, rb [2]int
	}{{"[ELF header]", ea.ehdr, eb.ehdr}, {"[program headers]", ea.phdrs, eb.phdrs}} {
		xa, xb := a[h.ra[0]:h.ra[1]], b[h.rb[0]:h.rb[1]]
		if !bytes.Equal(xa, xb) {
			sd := SectionDiff{Name: h.name, Class: "header", Status: "changed", SizeA: uint64(len(xa)), SizeB: uint64(len(xb)), OffsetB: uint64(h.rb[0]), FirstDiff: firstDiff(xa, xb)}
			if len(xa) == len(xb) {
				sd.BytesDiffer = countDiff(xa, xb)
			}
			add(sd)
		}
	}
	type keyed struct {
		key string
		s   elfSection
	}
	index := func(ss []elfSection) map[string]elfSection {
		m := map[string]elfSection{}
		seen := map[string]int{}
		for _, s := range ss {
			k := s.name
			if n := seen[s.name]; n > 0 {
				k = fmt.Sprintf("%s#%d", s.name, n+1)
			}
			seen[s.name]++
			m[k] = s
		}
		return m
	}
	ma, mb := index(ea.sections), index(eb.sections)
	var keys []string
	for k := range ma {
		keys = append(keys, k)
	}
	for k := range mb {
		if _, ok := ma[k]; !ok {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		sa, okA := ma[k]
		sb, okB := mb[k]
		switch {
		case !okA:
			add(SectionDiff{Name: k, Class: sectionClass(sb), Status: "added", SizeB: sb.size, OffsetB: sb.off, Addr: sb.addr, FirstDiff: -1})
		case !okB:
			add(SectionDiff{Name: k, Class: sectionClass(sa), Status: "removed", SizeA: sa.size, FirstDiff: -1})
		case sa.nobits || sb.nobits || sa.outOfBounds || sb.outOfBounds:
			if sa.size != sb.size || sa.nobits != sb.nobits {
				add(SectionDiff{Name: k, Class: sectionClass(sb), Status: "resized", SizeA: sa.size, SizeB: sb.size, OffsetB: sb.off, Addr: sb.addr, FirstDiff: -1})
			}
		default:
			xa, xb := a[sa.off:sa.off+sa.size], b[sb.off:sb.off+sb.size]
			if bytes.Equal(xa, xb) {
				continue
			}
			sd := SectionDiff{Name: k, Class: sectionClass(sb), Status: "changed", SizeA: sa.size, SizeB: sb.size, OffsetB: sb.off, Addr: sb.addr, FirstDiff: firstDiff(xa, xb)}
			if sa.size == sb.size {
				sd.BytesDiffer = countDiff(xa, xb)
			} else {
				sd.Status = "resized"
			}
			add(sd)
		}
	}
	sort.SliceStable(d.Sections, func(i, j int) bool {
		ci, cj := classOrder[d.Sections[i].Class], classOrder[d.Sections[j].Class]
		if ci != cj {
			return ci < cj
		}
		return d.Sections[i].Name < d.Sections[j].Name
	})
	for _, c := range []string{"header", "code", "rodata", "data", "other"} {
		if changed[c] {
			d.Changed = append(d.Changed, c)
		}
	}
	return d
}

func countDiff(a, b []byte) int64 {
	var n int64
	for i := range a {
		if a[i] != b[i] {
			n++
		}
	}
	return n
}

// applyMasks returns a copy of b with every masked byte set to zero.
func applyMasks(b []byte, ms []mask) []byte {
	c := bytes.Clone(b)
	for _, m := range ms {
		clear(c[m.off:m.end()])
	}
	return c
}

// listens reports whether the imports include the calls a network server
// needs to accept connections.
func listens(imports []string) bool {
	has := map[string]bool{}
	for _, s := range imports {
		has[strings.TrimPrefix(s, "__")] = true
	}
	return has["socket"] && has["bind"] && has["listen"]
}
