package elfcheck

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"testing"
)

// Helpers that patch well-formed fixtures (trusted test input).

type hdrInfo struct {
	class     int
	order     binary.ByteOrder
	phoff     uint64
	phentsize int
}

func parseHdr(t testing.TB, b []byte) (*elf.File, hdrInfo) {
	t.Helper()
	f, err := elf.NewFile(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("fixture: %v", err)
	}
	h := hdrInfo{class: 32, order: f.ByteOrder}
	if f.Class == elf.ELFCLASS64 {
		h.class = 64
		h.phoff, h.phentsize = h.order.Uint64(b[32:]), int(h.order.Uint16(b[54:]))
	} else {
		h.phoff, h.phentsize = uint64(h.order.Uint32(b[28:])), int(h.order.Uint16(b[42:]))
	}
	return f, h
}

// stripSections removes the section header table as sstrip does.
func stripSections(t testing.TB, b []byte) []byte {
	t.Helper()
	_, h := parseHdr(t, b)
	m := bytes.Clone(b)
	if h.class == 64 {
		clear(m[40:48])
		clear(m[60:64])
	} else {
		clear(m[32:36])
		clear(m[48:52])
	}
	return m
}

// retagProg changes the type of the first program header of type from.
func retagProg(t testing.TB, b []byte, from, to elf.ProgType) []byte {
	t.Helper()
	f, h := parseHdr(t, b)
	for i, p := range f.Progs {
		if p.Type == from {
			m := bytes.Clone(b)
			h.order.PutUint32(m[h.phoff+uint64(i*h.phentsize):], uint32(to))
			return m
		}
	}
	return nil
}

// retagDyn changes the tag of the first dynamic entry tagged from, and
// returns nil when there is none.
func retagDyn(t testing.TB, b []byte, from, to elf.DynTag) []byte {
	t.Helper()
	f, h := parseHdr(t, b)
	for _, p := range f.Progs {
		if p.Type != elf.PT_DYNAMIC {
			continue
		}
		ws := uint64(h.class / 8)
		for off := p.Off; off+2*ws <= p.Off+p.Filesz && off+2*ws <= uint64(len(b)); off += 2 * ws {
			var tag uint64
			if ws == 8 {
				tag = h.order.Uint64(b[off:])
			} else {
				tag = uint64(h.order.Uint32(b[off:]))
			}
			if elf.DynTag(tag) == from {
				m := bytes.Clone(b)
				if ws == 8 {
					h.order.PutUint64(m[off:], uint64(to))
				} else {
					h.order.PutUint32(m[off:], uint32(to))
				}
				return m
			}
			if tag == 0 {
				break
			}
		}
	}
	return nil
}

// setProgFlags sets the flags of the first PT_LOAD with flag has.
func setProgFlags(t testing.TB, b []byte, has, set elf.ProgFlag) []byte {
	t.Helper()
	f, h := parseHdr(t, b)
	for i, p := range f.Progs {
		if p.Type == elf.PT_LOAD && p.Flags&has != 0 {
			m := bytes.Clone(b)
			at := h.phoff + uint64(i*h.phentsize) + 24
			if h.class == 64 {
				at = h.phoff + uint64(i*h.phentsize) + 4
			}
			h.order.PutUint32(m[at:], uint32(p.Flags|set))
			return m
		}
	}
	return nil
}
