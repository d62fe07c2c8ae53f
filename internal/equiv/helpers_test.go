package equiv

import (
	"archive/tar"
	"bytes"
	"context"
	"debug/elf"
	"encoding/binary"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/netvet/netvet/internal/firmware/format/all"
	"github.com/netvet/netvet/internal/unpack"
)

// tEntry is one object of a test archive.
type tEntry struct {
	path  string
	data  string
	mode  int64
	typ   byte // tar type flag; 0 = regular file
	link  string
	mtime time.Time
	uid   int
}

var epoch = time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)

// mkTar writes the entries as a USTAR archive, in the given order. Entries
// without a time get mtime.
func mkTar(t testing.TB, mtime time.Time, ents ...tEntry) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range ents {
		h := &tar.Header{Name: e.path, Mode: e.mode, ModTime: e.mtime, Uid: e.uid, Format: tar.FormatUSTAR}
		if h.ModTime.IsZero() {
			h.ModTime = mtime
		}
		switch {
		case e.typ == tar.TypeSymlink || e.typ == tar.TypeLink:
			h.Typeflag, h.Linkname = e.typ, e.link
		case e.typ == tar.TypeDir:
			h.Typeflag = tar.TypeDir
		default:
			h.Typeflag, h.Size = tar.TypeReg, int64(len(e.data))
		}
		if h.Mode == 0 {
			h.Mode = 0o644
			if h.Typeflag == tar.TypeDir {
				h.Mode = 0o755
			}
			if h.Typeflag == tar.TypeSymlink {
				h.Mode = 0o777
			}
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if h.Typeflag == tar.TypeReg {
			if _, err := tw.Write([]byte(e.data)); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// baseRootfs is a small router root file system.
func baseRootfs() []tEntry {
	return []tEntry{
		{path: "etc/", typ: tar.TypeDir},
		{path: "etc/passwd", data: "root:x:0:0:root:/root:/bin/sh\ndaemon:*:1:1:daemon:/var:/bin/false\n"},
		{path: "etc/shadow", data: "root:$6$saltsalt$0123456789abcdefghijABCDEFGHIJ:19000:0:99999:7:::\n", mode: 0o600},
		{path: "etc/init.d/", typ: tar.TypeDir},
		{path: "etc/init.d/rcS", data: "#!/bin/sh\n/usr/sbin/dropbear -p 22\n/usr/sbin/httpd -p 80\n", mode: 0o755},
		{path: "etc/version", data: "Router firmware 1.2.3\nBuilt on 2026-03-01 10:00:00\n"},
		{path: "root/", typ: tar.TypeDir},
		{path: "root/.ssh/", typ: tar.TypeDir},
		{path: "root/.ssh/authorized_keys", data: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIE1BbUFhQXRoZUtleU9mVGhlVmVuZG9yU3VwcG9ydDE support@vendor\n", mode: 0o600},
		{path: "bin/", typ: tar.TypeDir},
		{path: "bin/busybox", data: string(mkELF(elfSpec{text: codeBytes(4096, 1), rodata: []byte("BusyBox v1.36.1 (Mar  1 2026 10:00:00 UTC)\x00usage: %s\x00"), buildID: bytes.Repeat([]byte{0xab}, 20)})), mode: 0o755},
		{path: "bin/sh", typ: tar.TypeSymlink, link: "busybox"},
		{path: "usr/", typ: tar.TypeDir},
		{path: "usr/sbin/", typ: tar.TypeDir},
		{path: "usr/sbin/dropbear", data: string(mkELF(elfSpec{text: codeBytes(3000, 2), rodata: []byte("Dropbear sshd v2022.83\x00"), buildID: bytes.Repeat([]byte{0xcd}, 20)})), mode: 0o755},
		{path: "www/", typ: tar.TypeDir},
		{path: "www/index.html", data: strings.Repeat("<p>router status page</p>\n", 20)},
	}
}

// codeBytes returns n bytes that look like code, varied enough for TLSH.
func codeBytes(n int, seed byte) []byte {
	b := make([]byte, n)
	x := uint32(seed)*2654435761 + 1
	for i := range b {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		b[i] = byte(x)
	}
	return b
}

// replace returns ents with the entry at p replaced by e (or removed when
// e.path is empty), or e appended when p is new.
func replace(ents []tEntry, p string, e tEntry) []tEntry {
	out := make([]tEntry, 0, len(ents)+1)
	found := false
	for _, x := range ents {
		if x.path == p {
			found = true
			if e.path != "" {
				out = append(out, e)
			}
			continue
		}
		out = append(out, x)
	}
	if !found && e.path != "" {
		out = append(out, e)
	}
	return out
}

func entry(ents []tEntry, p string) tEntry {
	for _, e := range ents {
		if e.path == p {
			return e
		}
	}
	panic("no entry " + p)
}

// elfSpec describes a small ELF64 executable built by mkELF.
type elfSpec struct {
	text, rodata, data, debugStr []byte
	buildID                      []byte
	imports                      []string
}

// mkELF writes a little-endian x86-64 ET_EXEC file with the sections of
// spec, a section header table and a PT_LOAD program header.
func mkELF(spec elfSpec) []byte {
	le := binary.LittleEndian
	type sec struct {
		name      string
		typ       elf.SectionType
		flags     elf.SectionFlag
		data      []byte
		link      uint32
		entsize   uint64
		off, addr uint64
		nameOff   uint32
	}
	secs := []*sec{{name: ""}}
	add := func(s *sec) int { secs = append(secs, s); return len(secs) - 1 }
	add(&sec{name: ".text", typ: elf.SHT_PROGBITS, flags: elf.SHF_ALLOC | elf.SHF_EXECINSTR, data: spec.text})
	if spec.rodata != nil {
		add(&sec{name: ".rodata", typ: elf.SHT_PROGBITS, flags: elf.SHF_ALLOC, data: spec.rodata})
	}
	if spec.data != nil {
		add(&sec{name: ".data", typ: elf.SHT_PROGBITS, flags: elf.SHF_ALLOC | elf.SHF_WRITE, data: spec.data})
	}
	if spec.buildID != nil {
		var n []byte
		n = le.AppendUint32(n, 4)
		n = le.AppendUint32(n, uint32(len(spec.buildID)))
		n = le.AppendUint32(n, 3)
		n = append(n, "GNU\x00"...)
		n = append(n, spec.buildID...)
		add(&sec{name: ".note.gnu.build-id", typ: elf.SHT_NOTE, flags: elf.SHF_ALLOC, data: n})
	}
	if len(spec.imports) > 0 {
		str := []byte{0}
		sym := make([]byte, 24) // the null symbol
		for _, name := range spec.imports {
			off := uint32(len(str))
			str = append(str, name...)
			str = append(str, 0)
			e := make([]byte, 24)
			le.PutUint32(e[0:], off)
			e[4] = byte(elf.STB_GLOBAL)<<4 | byte(elf.STT_FUNC)
			sym = append(sym, e...) // st_shndx 0: undefined
		}
		dynstr := add(&sec{name: ".dynstr", typ: elf.SHT_STRTAB, flags: elf.SHF_ALLOC, data: str})
		add(&sec{name: ".dynsym", typ: elf.SHT_DYNSYM, flags: elf.SHF_ALLOC, data: sym, link: uint32(dynstr), entsize: 24})
	}
	if spec.debugStr != nil {
		add(&sec{name: ".debug_str", typ: elf.SHT_PROGBITS, data: spec.debugStr})
	}
	shstr := []byte{0}
	for _, s := range secs[1:] {
		s.nameOff = uint32(len(shstr))
		shstr = append(shstr, s.name...)
		shstr = append(shstr, 0)
	}
	shstrIdx := len(secs)
	shstrName := uint32(len(shstr))
	shstr = append(shstr, ".shstrtab\x00"...)
	add(&sec{name: ".shstrtab", typ: elf.SHT_STRTAB, data: shstr, nameOff: shstrName})
	const ehsize, phsize = 64, 56
	pos := uint64(ehsize + phsize)
	const base = 0x400000
	for _, s := range secs[1:] {
		pos = (pos + 15) &^ 15
		s.off = pos
		if s.flags&elf.SHF_ALLOC != 0 {
			s.addr = base + pos
		}
		pos += uint64(len(s.data))
	}
	shoff := (pos + 7) &^ 7
	out := make([]byte, shoff+uint64(64*len(secs)))
	copy(out, elf.ELFMAG)
	out[4], out[5], out[6] = byte(elf.ELFCLASS64), byte(elf.ELFDATA2LSB), byte(elf.EV_CURRENT)
	le.PutUint16(out[16:], uint16(elf.ET_EXEC))
	le.PutUint16(out[18:], uint16(elf.EM_X86_64))
	le.PutUint32(out[20:], 1)
	le.PutUint64(out[24:], secs[1].addr) // entry: start of .text
	le.PutUint64(out[32:], ehsize)       // phoff
	le.PutUint64(out[40:], shoff)
	le.PutUint16(out[52:], ehsize)
	le.PutUint16(out[54:], phsize)
	le.PutUint16(out[56:], 1)
	le.PutUint16(out[58:], 64)
	le.PutUint16(out[60:], uint16(len(secs)))
	le.PutUint16(out[62:], uint16(shstrIdx))
	ph := out[ehsize:]
	le.PutUint32(ph[0:], uint32(elf.PT_LOAD))
	le.PutUint32(ph[4:], uint32(elf.PF_R|elf.PF_X))
	le.PutUint64(ph[16:], base)
	le.PutUint64(ph[24:], base)
	le.PutUint64(ph[32:], pos)
	le.PutUint64(ph[40:], pos)
	le.PutUint64(ph[48:], 0x1000)
	for i, s := range secs {
		copy(out[s.off:], s.data)
		sh := out[shoff+uint64(64*i):]
		if i == 0 {
			continue
		}
		le.PutUint32(sh[0:], s.nameOff)
		le.PutUint32(sh[4:], uint32(s.typ))
		le.PutUint64(sh[8:], uint64(s.flags))
		le.PutUint64(sh[16:], s.addr)
		le.PutUint64(sh[24:], s.off)
		le.PutUint64(sh[32:], uint64(len(s.data)))
		le.PutUint32(sh[40:], s.link)
		if s.typ == elf.SHT_DYNSYM {
			le.PutUint32(sh[44:], 1)
		}
		le.PutUint64(sh[48:], 1)
		le.PutUint64(sh[56:], s.entsize)
	}
	return out
}

// sectionOffset returns the file offset of a section of an ELF file.
func sectionOffset(t testing.TB, b []byte, name string) int {
	t.Helper()
	f, err := elf.NewFile(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	s := f.Section(name)
	if s == nil {
		t.Fatalf("no section %s", name)
	}
	return int(s.Offset)
}

// diffBytes writes two images and compares them.
func diffBytes(t testing.TB, a, b []byte) *Report {
	t.Helper()
	dir := t.TempDir()
	pa, pb := filepath.Join(dir, "a.bin"), filepath.Join(dir, "b.bin")
	if err := os.WriteFile(pa, a, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(pb, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return diffFiles(t, pa, pb)
}

func diffFiles(t testing.TB, pa, pb string) *Report {
	t.Helper()
	rep, err := Diff(context.Background(), pa, pb, openOpts(), Options{Version: "test"})
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

func openOpts() OpenOptions {
	return OpenOptions{Registry: all.Registry(), Limits: unpack.DefaultLimits(), Workers: 1}
}

// change returns the change for fs path p (or manifest path suffix).
func change(rep *Report, p string) *Change {
	for i := range rep.Changes {
		c := &rep.Changes[i]
		if c.FSPath == p || (c.FSPath == "" && strings.HasSuffix(c.Path, p)) {
			return c
		}
	}
	return nil
}

// differing lists the fs paths (or manifest paths) that differ.
func differing(rep *Report) []string {
	var out []string
	for _, c := range rep.Changes {
		if c.Status.differs() {
			out = append(out, c.name())
		}
	}
	sort.Strings(out)
	return out
}

func rules(rep *Report) map[string][]string {
	m := map[string][]string{}
	for _, f := range rep.Findings {
		m[f.Rule] = append(m[f.Rule], f.FSPath)
	}
	return m
}

func norms(rep *Report) []string {
	var out []string
	for _, n := range rep.Normalisations {
		out = append(out, n.Name)
	}
	return out
}

func writeFile(p string, b []byte) error { return os.WriteFile(p, b, 0o644) }

func removeFile(t testing.TB, p string) {
	t.Helper()
	if err := os.Remove(p); err != nil {
		t.Fatal(err)
	}
}

type unpackNode = unpack.Node
