package elfcheck

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/netvet/netvet/internal/safeio"
)

// Limits on what Inspect reads from one file. Every size taken from the
// file is checked against the file's size and against these caps before
// anything is allocated.
const (
	maxInterp     = 4 << 10  // PT_INTERP string
	maxDynamic    = 1 << 20  // PT_DYNAMIC segment (65,536 entries of 16 bytes)
	maxStrtab     = 16 << 20 // string table read whole; larger ones are read name by name
	maxName       = 256      // longest symbol name read from a lazily read string table
	maxSymbols    = 1 << 21  // symbols examined in one table
	maxHashWalk   = 1 << 21  // GNU hash chain entries followed
	maxHashBucket = 1 << 22  // GNU hash buckets
	symChunk      = 64 << 10 // symbol table bytes read at a time
)

// ErrNotELF is returned by Inspect for data that does not start with the
// ELF magic.
var ErrNotELF = errors.New("elfcheck: not an ELF file")

// Import is an imported (undefined) dynamic symbol and where its name is.
type Import struct {
	Name string
	// Offset is the file offset of the name in the dynamic string table
	// (DT_STRTAB + st_name); -1 when the table is not mapped by the file.
	Offset int64
}

// Segment is a program header entry and the file offset of the entry
// itself (e_phoff + index × e_phentsize), where a reader checks its flags.
type Segment struct {
	Index    int
	HdrOff   int64
	Flags    elf.ProgFlag
	Vaddr    uint64
	FileSize uint64
}

// Profile is what Inspect learns about one ELF file.
type Profile struct {
	Class   int    // 32 or 64
	Endian  string // little or big
	Machine string
	// Type is exec, dyn, rel, core or other.
	Type   string
	Interp string
	// GNUStack is the PT_GNU_STACK entry, nil when the file has none.
	GNUStack *Segment
	// RWX lists PT_LOAD segments that are both writable and executable.
	RWX []Segment
	// Relro is PT_GNU_RELRO present; BindNow is DT_BIND_NOW, DF_BIND_NOW
	// or DF_1_NOW; BindNowTag says which was seen first.
	Relro      bool
	BindNow    bool
	BindNowTag string
	// Debug is DT_DEBUG present (the linker adds it to executables only);
	// FlagPIE is DF_1_PIE.
	Debug   bool
	FlagPIE bool
	SOName  string
	Needed  []string
	RPath   string
	RunPath string
	// HasRPath and HasRunPath say whether the tags are present;
	// RPathOff and RunPathOff are the file offsets of the path strings.
	HasRPath, HasRunPath bool
	RPathOff, RunPathOff int64
	// Dynamic is whether the file has a dynamic section the reader could
	// parse.
	Dynamic bool
	// DynSyms counts the dynamic symbols examined.
	DynSyms int
	// Imports lists every imported function and object name, sorted, with
	// the file offset of its name.
	Imports []Import
	// Canary and FortifyImports come from the dynamic and static symbols.
	Canary   bool
	CanaryBy string
	// FortifyImports lists imported *_chk functions.
	FortifyImports []string
	// DefinesChk is set when the file defines (exports) *_chk functions:
	// a C library.
	DefinesChk bool
	// Sections is whether section headers were read; SymtabSyms is the
	// number of entries of SHT_SYMTAB (0: stripped).
	Sections   bool
	Symtab     bool
	SymtabSyms int
	// Kernel marks a Linux kernel image or module (sections __ksymtab,
	// .modinfo): not a user-space program.
	Kernel bool
	// Notes record what could not be read, for the reader of a finding.
	Notes []string
}

// NX reports the non-executable stack as Debian's checksec does: a
// PT_GNU_STACK entry without the execute flag. A file without one counts
// as executable stack.
func (p *Profile) NX() bool { return p.GNUStack != nil && p.GNUStack.Flags&elf.PF_X == 0 }

// ExecStack reports whether the kernel maps the stack executable for this
// program: PT_GNU_STACK asks for it, or the entry is missing on an
// architecture whose Linux kernel then defaults to an executable stack
// (32-bit ARM, MIPS, 32-bit PowerPC, x86 and x86-64 before Linux 5.8).
// AArch64, RISC-V, 64-bit PowerPC, s390x and LoongArch default to a
// non-executable stack.
func (p *Profile) ExecStack() bool {
	if p.GNUStack != nil {
		return p.GNUStack.Flags&elf.PF_X != 0
	}
	switch p.Machine {
	case "AArch64", "RISC-V", "s390", "LoongArch":
		return false
	case "PowerPC64":
		return false
	}
	return true
}

// RELRO is none, partial or full.
func (p *Profile) RELRO() string {
	switch {
	case !p.Relro:
		return "none"
	case p.BindNow:
		return "full"
	}
	return "partial"
}

// PIE reports a position-independent executable: ET_DYN marked DF_1_PIE,
// or ET_DYN with DT_DEBUG (which linkers add to executables and not to
// shared libraries; older linkers do not set DF_1_PIE).
func (p *Profile) PIE() bool { return p.Type == "dyn" && (p.FlagPIE || p.Debug) }

// Program reports whether the file is an executable program rather than
// a shared library, a relocatable object or a core dump.
func (p *Profile) Program() bool { return p.Type == "exec" || p.PIE() }

// Static reports a program with no program interpreter and no DT_NEEDED.
func (p *Profile) Static() bool { return p.Program() && p.Interp == "" && len(p.Needed) == 0 }

// Stripped reports the lack of a .symtab (SHT_SYMTAB) with entries.
func (p *Profile) Stripped() bool { return p.SymtabSyms == 0 }

// Fortify reports imported FORTIFY_SOURCE (*_chk) functions.
func (p *Profile) Fortify() bool { return len(p.FortifyImports) > 0 }

// imported reports whether name is imported.
func (p *Profile) imported(name string) bool {
	i := sort.Search(len(p.Imports), func(i int) bool { return p.Imports[i].Name >= name })
	return i < len(p.Imports) && p.Imports[i].Name == name
}

// importOffset returns the offset of an imported name, -1 if absent.
func (p *Profile) importOffset(name string) int64 {
	i := sort.Search(len(p.Imports), func(i int) bool { return p.Imports[i].Name >= name })
	if i < len(p.Imports) && p.Imports[i].Name == name {
		return p.Imports[i].Offset
	}
	return -1
}

// Inspect reads the hardening profile of the ELF file in r (size bytes).
// It never panics: a malformed file gives an error, and a file whose
// optional parts cannot be read gives a profile with Notes.
func Inspect(r io.ReaderAt, size int64) (p *Profile, err error) {
	defer func() {
		if v := recover(); v != nil {
			p, err = nil, fmt.Errorf("elfcheck: malformed ELF (%v)", v)
		}
	}()
	hdr, err := readHeader(r, size)
	if err != nil {
		return nil, err
	}
	f, err := elf.NewFile(io.NewSectionReader(r, 0, size))
	sections := true
	if err != nil {
		// Loaders ignore section headers; hostile or sstripped files break
		// them on purpose. Read the program view alone.
		f2, err2 := elf.NewFile(io.NewSectionReader(&noSections{r: r, hdr: hdr}, 0, size))
		if err2 != nil {
			return nil, fmt.Errorf("elfcheck: %w", err)
		}
		f, sections = f2, false
		note := "section headers unreadable (" + err.Error() + "); program headers used"
		defer func() {
			if p != nil {
				p.Notes = append(p.Notes, note)
			}
		}()
	}
	p = &Profile{
		Class:    32,
		Endian:   "little",
		Machine:  machineName(f.Machine),
		Type:     typeName(f.Type),
		Sections: sections && len(f.Sections) > 0,
		RPathOff: -1, RunPathOff: -1,
	}
	if f.Class == elf.ELFCLASS64 {
		p.Class = 64
	}
	if f.ByteOrder == binary.BigEndian {
		p.Endian = "big"
	}
	if p.Machine == "PowerPC" && p.Class == 64 {
		p.Machine = "PowerPC64"
	}
	rd := &reader{r: r, size: size, order: f.ByteOrder, class: p.Class}

	var dyn *elf.Prog
	for i, pr := range f.Progs {
		seg := Segment{Index: i, HdrOff: -1, Flags: pr.Flags, Vaddr: pr.Vaddr, FileSize: pr.Filesz}
		if hdr.phentsize > 0 {
			seg.HdrOff = int64(hdr.phoff) + int64(i)*int64(hdr.phentsize)
		}
		switch pr.Type {
		case elf.PT_GNU_STACK:
			if p.GNUStack == nil {
				s := seg
				p.GNUStack = &s
			}
		case elf.PT_GNU_RELRO:
			p.Relro = true
		case elf.PT_INTERP:
			if p.Interp == "" {
				b, err := safeio.ReadAt(r, size, int64(pr.Off), int64(min(pr.Filesz, maxInterp)), maxInterp)
				if err != nil {
					p.Notes = append(p.Notes, "PT_INTERP: "+err.Error())
				} else {
					p.Interp = cstring(b)
					if p.Interp == "" {
						p.Interp = "?"
					}
				}
			}
		case elf.PT_DYNAMIC:
			if dyn == nil {
				dyn = pr
			}
		case elf.PT_LOAD:
			if pr.Flags&elf.PF_W != 0 && pr.Flags&elf.PF_X != 0 {
				p.RWX = append(p.RWX, seg)
			}
			rd.loads = append(rd.loads, pr)
		}
	}
	if p.Sections {
		for _, s := range f.Sections {
			switch {
			case s.Type == elf.SHT_SYMTAB:
				p.Symtab = true
				if s.Entsize > 0 {
					p.SymtabSyms += int(min(s.Size/s.Entsize, maxSymbols))
				}
			case strings.HasPrefix(s.Name, "__ksymtab"), s.Name == ".modinfo":
				p.Kernel = true
			}
		}
		if p.SymtabSyms > 0 {
			// The entry at index 0 is the reserved null symbol.
			p.SymtabSyms--
		}
	}
	if dyn != nil || dynSection(f) != nil {
		if err := readDynamic(rd, f, dyn, p); err != nil {
			p.Notes = append(p.Notes, err.Error())
		}
	}
	if p.Symtab && p.SymtabSyms > 0 && !p.Canary {
		if err := scanSymtab(rd, f, p); err != nil {
			p.Notes = append(p.Notes, ".symtab: "+err.Error())
		}
	}
	sort.Slice(p.Imports, func(i, j int) bool { return p.Imports[i].Name < p.Imports[j].Name })
	p.Imports = dedupeImports(p.Imports)
	sort.Strings(p.FortifyImports)
	p.FortifyImports = dedupe(p.FortifyImports)
	return p, nil
}

// header is the part of the ELF header that debug/elf does not expose.
type header struct {
	phoff     uint64
	phentsize uint16
	class     int
	order     binary.ByteOrder
}

func readHeader(r io.ReaderAt, size int64) (header, error) {
	var h header
	var b [64]byte
	n, _ := r.ReadAt(b[:], 0)
	if n < 16 || !bytes.Equal(b[:4], []byte(elf.ELFMAG)) {
		return h, ErrNotELF
	}
	switch elf.Data(b[elf.EI_DATA]) {
	case elf.ELFDATA2LSB:
		h.order = binary.LittleEndian
	case elf.ELFDATA2MSB:
		h.order = binary.BigEndian
	default:
		return h, fmt.Errorf("elfcheck: unknown ELF data encoding %d", b[elf.EI_DATA])
	}
	switch elf.Class(b[elf.EI_CLASS]) {
	case elf.ELFCLASS32:
		if n < 52 {
			return h, fmt.Errorf("elfcheck: ELF header truncated at %d bytes", n)
		}
		h.class, h.phoff, h.phentsize = 32, uint64(h.order.Uint32(b[28:])), h.order.Uint16(b[42:])
	case elf.ELFCLASS64:
		if n < 64 {
			return h, fmt.Errorf("elfcheck: ELF header truncated at %d bytes", n)
		}
		h.class, h.phoff, h.phentsize = 64, h.order.Uint64(b[32:]), h.order.Uint16(b[54:])
	default:
		return h, fmt.Errorf("elfcheck: unknown ELF class %d", b[elf.EI_CLASS])
	}
	return h, nil
}

// noSections presents the file with e_shoff, e_shnum and e_shstrndx set
// to zero, so that debug/elf reads the program headers of a file whose
// section headers are broken.
type noSections struct {
	r   io.ReaderAt
	hdr header
}

func (n *noSections) ReadAt(p []byte, off int64) (int, error) {
	c, err := n.r.ReadAt(p, off)
	var zero []int // header byte ranges to clear: e_shoff, e_shnum, e_shstrndx
	if n.hdr.class == 64 {
		zero = []int{40, 48, 60, 64}
	} else {
		zero = []int{32, 36, 48, 52}
	}
	for i := 0; i < len(zero); i += 2 {
		for o := zero[i]; o < zero[i+1]; o++ {
			if rel := int64(o) - off; rel >= 0 && rel < int64(c) {
				p[rel] = 0
			}
		}
	}
	return c, err
}

func machineName(m elf.Machine) string {
	switch m {
	case elf.EM_MIPS, elf.EM_MIPS_RS3_LE:
		return "MIPS"
	case elf.EM_ARM:
		return "ARM"
	case elf.EM_AARCH64:
		return "AArch64"
	case elf.EM_PPC:
		return "PowerPC"
	case elf.EM_PPC64:
		return "PowerPC64"
	case elf.EM_386:
		return "x86"
	case elf.EM_X86_64:
		return "x86-64"
	case elf.EM_RISCV:
		return "RISC-V"
	case elf.EM_SPARC, elf.EM_SPARC32PLUS, elf.EM_SPARCV9:
		return "SPARC"
	case elf.EM_SH:
		return "SuperH"
	case elf.EM_68K:
		return "m68k"
	case elf.EM_S390:
		return "s390"
	case elf.EM_LOONGARCH:
		return "LoongArch"
	case elf.EM_XTENSA:
		return "Xtensa"
	case elf.EM_ARC, elf.EM_ARC_COMPACT, elf.EM_ARC_COMPACT2:
		return "ARC"
	case elf.EM_MICROBLAZE:
		return "MicroBlaze"
	case elf.EM_ALTERA_NIOS2:
		return "Nios II"
	case elf.EM_OPENRISC:
		return "OpenRISC"
	case elf.EM_IA_64:
		return "IA-64"
	}
	return strings.TrimPrefix(m.String(), "EM_")
}

func typeName(t elf.Type) string {
	switch t {
	case elf.ET_EXEC:
		return "exec"
	case elf.ET_DYN:
		return "dyn"
	case elf.ET_REL:
		return "rel"
	case elf.ET_CORE:
		return "core"
	}
	return "other"
}

func cstring(b []byte) string {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		b = b[:i]
	}
	return string(b)
}

func dedupe(s []string) []string {
	out := s[:0]
	for i, v := range s {
		if i == 0 || v != s[i-1] {
			out = append(out, v)
		}
	}
	return out
}

func dedupeImports(s []Import) []Import {
	out := s[:0]
	for i, v := range s {
		if i == 0 || v.Name != s[i-1].Name {
			out = append(out, v)
		}
	}
	return out
}
