package elfcheck

import (
	"debug/elf"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/netvet/netvet/internal/safeio"
)

// dtMIPSSymtabNo is DT_MIPS_SYMTABNO: the number of .dynsym entries.
const dtMIPSSymtabNo = 0x70000011

// reader reads the parts of an ELF file the loader uses: PT_DYNAMIC and
// the tables it points at, addressed through the PT_LOAD mapping. This
// works on files without section headers (OpenWrt's sstrip removes them).
type reader struct {
	r     io.ReaderAt
	size  int64
	order binary.ByteOrder
	class int
	loads []*elf.Prog
}

// offset maps a virtual address to a file offset through the PT_LOAD
// segments.
func (rd *reader) offset(vaddr uint64) (int64, bool) {
	for _, l := range rd.loads {
		if vaddr >= l.Vaddr && vaddr-l.Vaddr < l.Filesz {
			off := l.Off + (vaddr - l.Vaddr)
			if off >= l.Off && off < uint64(rd.size) {
				return int64(off), true
			}
		}
	}
	return 0, false
}

func (rd *reader) word(b []byte) uint64 {
	if rd.class == 64 {
		return rd.order.Uint64(b)
	}
	return uint64(rd.order.Uint32(b))
}

// strtab is a string table, read whole when small, else name by name.
type strtab struct {
	rd   *reader
	off  int64 // file offset of the table
	size int64
	data []byte
}

func newStrtab(rd *reader, off, size int64) *strtab {
	if off < 0 || off >= rd.size {
		return nil
	}
	size = min(size, rd.size-off)
	st := &strtab{rd: rd, off: off, size: size}
	if size <= maxStrtab {
		if b, err := safeio.ReadAt(rd.r, rd.size, off, size, maxStrtab); err == nil {
			st.data = b
		}
	}
	return st
}

// name returns the NUL-terminated string at idx.
func (s *strtab) name(idx uint64) (string, bool) {
	if s == nil || idx >= uint64(s.size) {
		return "", false
	}
	if s.data != nil {
		return cstring(s.data[idx:]), true
	}
	n := min(int64(maxName), s.size-int64(idx))
	b, err := safeio.ReadAt(s.rd.r, s.rd.size, s.off+int64(idx), n, maxName)
	if err != nil {
		return "", false
	}
	return cstring(b), true
}

// fileOff returns the file offset of the string at idx, -1 when idx is
// outside the table.
func (s *strtab) fileOff(idx uint64) int64 {
	if s == nil || idx >= uint64(s.size) {
		return -1
	}
	return s.off + int64(idx)
}

// dynSection returns the SHT_DYNAMIC section, if section headers were read.
func dynSection(f *elf.File) *elf.Section {
	for _, s := range f.Sections {
		if s.Type == elf.SHT_DYNAMIC {
			return s
		}
	}
	return nil
}

func sectionByType(f *elf.File, t elf.SectionType, name string) *elf.Section {
	for _, s := range f.Sections {
		if s.Type == t && (name == "" || s.Name == name) {
			return s
		}
	}
	return nil
}

// dynEntries holds what readDynamic collects from the dynamic section.
type dynEntries struct {
	strtab, strsz, symtab, syment, hash, gnuHash, symtabNo uint64
	hasStrtab, hasStrsz, hasSymtab, hasHash, hasGNUHash    bool
	hasSymtabNo                                            bool
	needed                                                 []uint64
	rpath, runpath, soname                                 uint64
	hasRPath, hasRunPath, hasSOName                        bool
}

// readDynamic reads PT_DYNAMIC (or the SHT_DYNAMIC section when there is
// no program header for it) and the dynamic symbols.
func readDynamic(rd *reader, f *elf.File, dyn *elf.Prog, p *Profile) error {
	var off, n uint64
	switch {
	case dyn != nil:
		off, n = dyn.Off, dyn.Filesz
	default:
		s := dynSection(f)
		off, n = s.Offset, s.Size
	}
	if off >= uint64(rd.size) {
		return fmt.Errorf("dynamic section at offset %d beyond end of file (%d bytes)", off, rd.size)
	}
	n = min(n, uint64(rd.size)-off, maxDynamic)
	b, err := safeio.ReadAt(rd.r, rd.size, int64(off), int64(n), maxDynamic)
	if err != nil {
		return fmt.Errorf("dynamic section: %w", err)
	}
	ws := rd.class / 8
	var d dynEntries
	for i := 0; i+2*ws <= len(b); i += 2 * ws {
		tag, val := elf.DynTag(rd.word(b[i:])), rd.word(b[i+ws:])
		if tag == elf.DT_NULL {
			break
		}
		switch tag {
		case elf.DT_NEEDED:
			if len(d.needed) < 4096 {
				d.needed = append(d.needed, val)
			}
		case elf.DT_RPATH:
			d.rpath, d.hasRPath = val, true
		case elf.DT_RUNPATH:
			d.runpath, d.hasRunPath = val, true
		case elf.DT_SONAME:
			d.soname, d.hasSOName = val, true
		case elf.DT_STRTAB:
			d.strtab, d.hasStrtab = val, true
		case elf.DT_STRSZ:
			d.strsz, d.hasStrsz = val, true
		case elf.DT_SYMTAB:
			d.symtab, d.hasSymtab = val, true
		case elf.DT_SYMENT:
			d.syment = val
		case elf.DT_HASH:
			d.hash, d.hasHash = val, true
		case elf.DT_GNU_HASH:
			d.gnuHash, d.hasGNUHash = val, true
		case elf.DT_BIND_NOW:
			p.setBindNow("DT_BIND_NOW")
		case elf.DT_FLAGS:
			if elf.DynFlag(val)&elf.DF_BIND_NOW != 0 {
				p.setBindNow("DT_FLAGS DF_BIND_NOW")
			}
		case elf.DT_FLAGS_1:
			if elf.DynFlag1(val)&elf.DF_1_NOW != 0 {
				p.setBindNow("DT_FLAGS_1 DF_1_NOW")
			}
			if elf.DynFlag1(val)&elf.DF_1_PIE != 0 {
				p.FlagPIE = true
			}
		case elf.DT_DEBUG:
			p.Debug = true
		case dtMIPSSymtabNo:
			if f.Machine == elf.EM_MIPS {
				d.symtabNo, d.hasSymtabNo = val, true
			}
		}
	}
	p.Dynamic = true

	st := dynStrtab(rd, f, &d)
	if st == nil {
		if len(d.needed) > 0 || d.hasRPath || d.hasRunPath {
			return errors.New("dynamic string table not found in the file")
		}
	}
	for _, v := range d.needed {
		if s, ok := st.name(v); ok {
			p.Needed = append(p.Needed, s)
		}
	}
	p.HasRPath, p.HasRunPath = d.hasRPath, d.hasRunPath
	if d.hasRPath {
		p.RPath, _ = st.name(d.rpath)
		p.RPathOff = st.fileOff(d.rpath)
	}
	if d.hasRunPath {
		p.RunPath, _ = st.name(d.runpath)
		p.RunPathOff = st.fileOff(d.runpath)
	}
	if d.hasSOName {
		p.SOName, _ = st.name(d.soname)
	}
	if st == nil {
		return nil
	}
	return readDynSyms(rd, f, &d, st, p)
}

func (p *Profile) setBindNow(tag string) {
	if !p.BindNow {
		p.BindNow, p.BindNowTag = true, tag
	}
}

// dynStrtab locates the dynamic string table: DT_STRTAB through the load
// mapping, or the .dynstr section.
func dynStrtab(rd *reader, f *elf.File, d *dynEntries) *strtab {
	if d.hasStrtab {
		if off, ok := rd.offset(d.strtab); ok {
			size := int64(rd.size) - off
			if d.hasStrsz && d.strsz < uint64(size) {
				size = int64(d.strsz)
			}
			return newStrtab(rd, off, size)
		}
	}
	if s := sectionByType(f, elf.SHT_STRTAB, ".dynstr"); s != nil && s.Offset < uint64(rd.size) {
		return newStrtab(rd, int64(s.Offset), int64(min(s.Size, uint64(rd.size)-s.Offset)))
	}
	return nil
}

// readDynSyms walks the dynamic symbol table.
func readDynSyms(rd *reader, f *elf.File, d *dynEntries, st *strtab, p *Profile) error {
	entsize := symEntsize(rd.class, d.syment)
	var symOff int64 = -1
	if d.hasSymtab {
		if off, ok := rd.offset(d.symtab); ok {
			symOff = off
		}
	}
	sec := sectionByType(f, elf.SHT_DYNSYM, "")
	if symOff < 0 && sec != nil && sec.Offset < uint64(rd.size) {
		symOff = int64(sec.Offset)
	}
	if symOff < 0 {
		if d.hasSymtab {
			return errors.New("dynamic symbol table not mapped by any PT_LOAD")
		}
		return nil
	}
	count, guessed, err := dynSymCount(rd, d, sec, symOff, st, entsize)
	if err != nil {
		return err
	}
	return rd.symbols(symOff, count, entsize, func(nameIdx uint64, shndx uint16) bool {
		name, ok := st.name(nameIdx)
		if guessed && !ok {
			return false
		}
		p.DynSyms++
		if !ok || name == "" {
			return true
		}
		undefined := elf.SectionIndex(shndx) == elf.SHN_UNDEF
		if !p.Canary && isCanary(name) {
			p.Canary, p.CanaryBy = true, name
		}
		if strings.HasSuffix(name, "_chk") {
			if undefined {
				p.FortifyImports = append(p.FortifyImports, name)
			} else {
				p.DefinesChk = true
			}
		}
		if undefined {
			p.Imports = append(p.Imports, Import{Name: name, Offset: st.fileOff(nameIdx)})
		}
		return true
	})
}

func isCanary(name string) bool {
	return strings.Contains(name, "__stack_chk_fail") || strings.Contains(name, "__stack_chk_guard") ||
		strings.Contains(name, "__intel_security_cookie")
}

func symEntsize(class int, syment uint64) int {
	min := 16
	if class == 64 {
		min = 24
	}
	if syment >= uint64(min) && syment <= 256 {
		return int(syment)
	}
	return min
}

// dynSymCount finds how many dynamic symbols there are. Exact sources
// first: DT_HASH's nchain, the .dynsym section (when it is the table
// DT_SYMTAB points at), DT_MIPS_SYMTABNO, the GNU hash table when it
// hashes any symbol. A GNU hash table that hashes none (a program that
// exports nothing) only says how many symbols come before the hashed ones
// at least; the distance to the string table, which the GNU linker puts
// right after the symbols, then gives the count, and guessed is set so
// that the walk stops at the first entry that is not a symbol.
func dynSymCount(rd *reader, d *dynEntries, sec *elf.Section, symOff int64, st *strtab, entsize int) (n int, guessed bool, err error) {
	limit := func(n uint64) int {
		return int(min(n, uint64(maxSymbols), uint64(rd.size-symOff)/uint64(entsize)))
	}
	if d.hasHash {
		if off, ok := rd.offset(d.hash); ok {
			if b, err := safeio.ReadAt(rd.r, rd.size, off, 8, 8); err == nil {
				return limit(uint64(rd.order.Uint32(b[4:]))), false, nil
			}
		}
	}
	if sec != nil && sec.Entsize > 0 && int64(sec.Offset) == symOff {
		return limit(sec.Size / sec.Entsize), false, nil
	}
	if d.hasSymtabNo {
		return limit(d.symtabNo), false, nil
	}
	var distance uint64
	if st != nil && st.off > symOff {
		distance = uint64(st.off-symOff) / uint64(entsize)
	}
	if d.hasGNUHash {
		if off, ok := rd.offset(d.gnuHash); ok {
			if n, exact, err := gnuHashCount(rd, off); err == nil {
				if exact || distance <= n {
					return limit(n), false, nil
				}
				return limit(distance), true, nil
			}
		}
	}
	if distance > 0 {
		return limit(distance), true, nil
	}
	return 0, false, errors.New("dynamic symbol count unknown (no DT_HASH, DT_GNU_HASH or .dynsym)")
}

// gnuHashCount returns one past the highest symbol index reachable from a
// DT_GNU_HASH table; exact is false when the table hashes no symbol and
// the count is only the index of the first hashed one.
func gnuHashCount(rd *reader, off int64) (n uint64, exact bool, err error) {
	h, err := safeio.ReadAt(rd.r, rd.size, off, 16, 16)
	if err != nil {
		return 0, false, err
	}
	nbuckets, symoffset, bloomSize := uint64(rd.order.Uint32(h)), uint64(rd.order.Uint32(h[4:])), uint64(rd.order.Uint32(h[8:]))
	if nbuckets == 0 || nbuckets > maxHashBucket || bloomSize > maxHashBucket {
		return 0, false, fmt.Errorf("GNU hash table with %d buckets and %d bloom words", nbuckets, bloomSize)
	}
	bucketsOff := off + 16 + int64(bloomSize)*int64(rd.class/8)
	b, err := safeio.ReadAt(rd.r, rd.size, bucketsOff, int64(nbuckets)*4, maxHashBucket*4)
	if err != nil {
		return 0, false, err
	}
	var top uint64
	for i := 0; i+4 <= len(b); i += 4 {
		top = max(top, uint64(rd.order.Uint32(b[i:])))
	}
	if top < symoffset {
		return symoffset, false, nil
	}
	chainOff := bucketsOff + int64(nbuckets)*4
	var buf [256]byte
	for idx, steps := top, 0; steps < maxHashWalk; steps++ {
		pos := chainOff + int64(idx-symoffset)*4
		if pos < 0 || pos+4 > rd.size {
			return 0, false, errors.New("GNU hash chain runs past the end of the file")
		}
		n, _ := rd.r.ReadAt(buf[:min(int64(len(buf)), rd.size-pos)], pos)
		for i := 0; i+4 <= n; i += 4 {
			if rd.order.Uint32(buf[i:])&1 != 0 {
				return idx + 1, true, nil
			}
			idx++
			steps++
		}
		if n < 4 {
			return 0, false, io.ErrUnexpectedEOF
		}
	}
	return 0, false, errors.New("GNU hash chain too long")
}

// symbols calls fn for count entries of a symbol table at off, skipping
// the null entry at index 0. fn returns false to stop.
func (rd *reader) symbols(off int64, count, entsize int, fn func(nameIdx uint64, shndx uint16) bool) error {
	if count <= 1 || off < 0 || off >= rd.size {
		return nil
	}
	count = min(count, maxSymbols, int((rd.size-off)/int64(entsize)))
	per := max(1, symChunk/entsize)
	for i := 1; i < count; {
		n := min(per, count-i)
		b, err := safeio.ReadAt(rd.r, rd.size, off+int64(i)*int64(entsize), int64(n*entsize), symChunk+int64(entsize))
		if err != nil {
			return fmt.Errorf("symbol table: %w", err)
		}
		for j := 0; j < n; j++ {
			e := b[j*entsize:]
			var shndx uint16
			if rd.class == 64 {
				shndx = rd.order.Uint16(e[6:])
			} else {
				shndx = rd.order.Uint16(e[14:])
			}
			if !fn(uint64(rd.order.Uint32(e)), shndx) {
				return nil
			}
		}
		i += n
	}
	return nil
}

// scanSymtab looks for the stack protector in .symtab, as checksec's
// `readelf -s` does for statically linked programs.
func scanSymtab(rd *reader, f *elf.File, p *Profile) error {
	for _, s := range f.Sections {
		if s.Type != elf.SHT_SYMTAB || s.Entsize == 0 {
			continue
		}
		if s.Link == 0 || int(s.Link) >= len(f.Sections) {
			return fmt.Errorf("string table link %d out of range", s.Link)
		}
		ss := f.Sections[s.Link]
		if ss.Offset >= uint64(rd.size) || s.Offset >= uint64(rd.size) {
			return errors.New("table beyond end of file")
		}
		st := newStrtab(rd, int64(ss.Offset), int64(min(ss.Size, uint64(rd.size)-ss.Offset)))
		entsize := symEntsize(rd.class, s.Entsize)
		count := int(min(s.Size/uint64(entsize), maxSymbols))
		err := rd.symbols(int64(s.Offset), count, entsize, func(nameIdx uint64, _ uint16) bool {
			if name, ok := st.name(nameIdx); ok && isCanary(name) {
				p.Canary, p.CanaryBy = true, name
				return false
			}
			return true
		})
		if err != nil || p.Canary {
			return err
		}
	}
	return nil
}
