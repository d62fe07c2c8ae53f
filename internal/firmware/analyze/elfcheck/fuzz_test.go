package elfcheck

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// hostile returns ELF files built to break readers: sizes and counts far
// beyond the file, tables pointing outside it, loops in hash chains.
func hostile(t testing.TB) map[string][]byte {
	t.Helper()
	base := readFixture(t, "x86_64-hard")
	mips := readFixture(t, "mips-server")
	out := map[string][]byte{
		"magic only":     []byte("\x7fELF"),
		"bad class":      append([]byte("\x7fELF\x07\x01\x01"), make([]byte, 60)...),
		"bad data":       append([]byte("\x7fELF\x02\x07\x01"), make([]byte, 60)...),
		"header only 64": base[:64],
		"half file":      base[:len(base)/2],
		"mips half":      mips[:len(mips)/2],
	}
	patch := func(name string, b []byte, off int, v uint64, size int, order binary.ByteOrder) {
		m := bytes.Clone(b)
		switch size {
		case 2:
			order.PutUint16(m[off:], uint16(v))
		case 4:
			order.PutUint32(m[off:], uint32(v))
		case 8:
			order.PutUint64(m[off:], v)
		}
		out[name] = m
	}
	le, be := binary.LittleEndian, binary.BigEndian
	patch("phnum 0xffff", base, 56, 0xffff, 2, le)
	patch("phoff huge", base, 32, 1<<62, 8, le)
	patch("shnum 0xffff", base, 60, 0xffff, 2, le)
	patch("shoff huge", base, 40, 1<<62, 8, le)
	patch("shstrndx bad", base, 62, 0xfffe, 2, le)
	patch("mips phnum 0xffff", mips, 44, 0xffff, 2, be)
	patch("mips shoff past end", mips, 32, uint64(len(mips)-4), 4, be)

	// Program header fields: PT_DYNAMIC size, PT_INTERP size, a dynamic
	// table whose DT_STRSZ, DT_HASH and DT_GNU_HASH point anywhere.
	f, h := parseHdr(t, base)
	for i, p := range f.Progs {
		ph := int(h.phoff) + i*h.phentsize
		switch p.Type {
		case elf.PT_DYNAMIC:
			patch("dynamic filesz huge", base, ph+32, 1<<40, 8, le)
			patch("dynamic offset past end", base, ph+8, uint64(len(base)+100), 8, le)
			ws := 8
			for off := int(p.Off); off+16 <= int(p.Off+p.Filesz); off += 16 {
				switch elf.DynTag(le.Uint64(base[off:])) {
				case elf.DT_STRSZ:
					patch("strsz huge", base, off+ws, 1<<50, 8, le)
				case elf.DT_GNU_HASH:
					patch("gnu hash past end", base, off+ws, uint64(len(base)-8), 8, le)
				case elf.DT_SYMTAB:
					patch("symtab unmapped", base, off+ws, 1<<40, 8, le)
				case elf.DT_STRTAB:
					patch("strtab unmapped", base, off+ws, 1<<40, 8, le)
				case elf.DT_SYMENT:
					patch("syment huge", base, off+ws, 1<<30, 8, le)
				}
			}
		case elf.PT_INTERP:
			patch("interp filesz huge", base, ph+32, 1<<40, 8, le)
		case elf.PT_LOAD:
			patch("load filesz huge", base, ph+32, 1<<62, 8, le)
		}
	}
	return out
}

func TestHostile(t *testing.T) {
	for name, b := range hostile(t) {
		t.Run(name, func(t *testing.T) {
			start := time.Now()
			p, err := Inspect(bytes.NewReader(b), int64(len(b)))
			if d := time.Since(start); d > 2*time.Second {
				t.Errorf("took %v", d)
			}
			if err == nil && p == nil {
				t.Fatal("nil profile without error")
			}
			if err != nil && strings.Contains(err.Error(), "malformed ELF (") {
				t.Fatalf("recovered panic: %v", err)
			}
			// Broken section headers must not stop the program view.
			if strings.HasPrefix(name, "sh") || strings.Contains(name, "shoff") {
				if err != nil || !p.Dynamic || len(p.Notes) == 0 {
					t.Errorf("profile %+v, %v", p, err)
				}
			}
			if p != nil {
				checkProfile(t, p, int64(len(b)))
			}
		})
	}
}

// checkProfile asserts what must hold for any profile of any input.
func checkProfile(t *testing.T, p *Profile, size int64) {
	t.Helper()
	for _, imp := range p.Imports {
		if imp.Offset >= size {
			t.Errorf("import %q at offset %d beyond %d", imp.Name, imp.Offset, size)
		}
	}
	if p.RPathOff >= size || p.RunPathOff >= size {
		t.Errorf("search path offsets %d/%d beyond %d", p.RPathOff, p.RunPathOff, size)
	}
	if s := p.GNUStack; s != nil && s.HdrOff >= size {
		t.Errorf("PT_GNU_STACK header offset %d beyond %d", s.HdrOff, size)
	}
	if p.Class != 32 && p.Class != 64 {
		t.Errorf("class %d", p.Class)
	}
	_ = p.Binary(nil)
}

func FuzzInspect(f *testing.F) {
	for _, name := range []string{"x86_64-hard", "mips-server", "armel-lib.so", "powerpc-static", "aarch64-weak"} {
		f.Add(readFixture(f, name))
	}
	for _, b := range hostile(f) {
		f.Add(b)
	}
	if m, _ := filepath.Glob(filepath.Join("testdata", "bin", "*-static")); len(m) > 0 {
		for _, p := range m {
			f.Add(readFixture(f, filepath.Base(p)))
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := Inspect(bytes.NewReader(b), int64(len(b)))
		if err != nil && strings.Contains(err.Error(), "malformed ELF (") {
			// A recovered panic keeps a scan going, but is a defect to fix.
			t.Fatal(err)
		}
		if err == nil {
			checkProfile(t, p, int64(len(b)))
		}
	})
}
