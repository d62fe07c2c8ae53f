package equiv

import (
	"encoding/binary"
	"fmt"
	"sort"
	"time"
)

// headerField is a field of a container header that a normalisation may
// mask: an offset from the container's start, a length, and the condition
// under which the mask is allowed.
type headerField struct {
	off, n int
	class  string
	name   string
}

// Conditions for header fields: a timestamp may always differ; a checksum
// only when a payload differs in content; a length or offset only when a
// payload differs in size.
const (
	whenAlways = iota
	whenContent
	whenSize
)

type condField struct {
	headerField
	when int
}

// residualFormats are the containers whose payloads are laid out as
// contiguous byte ranges: what lies outside them (headers, padding) is
// compared byte by byte, less the fields below.
var residualFormats = map[string]bool{"chk": true, "trx": true, "uimage": true, "seama": true, "tplink": true, "hwnp": true}

// containerFields lists the maskable header fields of each container
// format. Offsets are from the start of the container.
func containerFields(format string, hdr []byte) []condField {
	f := func(off, n int, class, name string, when int) condField {
		return condField{headerField{off, n, class, name}, when}
	}
	switch format {
	case "uimage": // legacy U-Boot image header, big-endian, 64 bytes
		return []condField{
			f(4, 4, NormContainerSum, "uImage header CRC", whenAlways),
			f(8, 4, NormMTime, "uImage timestamp", whenAlways),
			f(12, 4, NormContainerLen, "uImage data size", whenSize),
			f(24, 4, NormContainerSum, "uImage data CRC", whenContent),
		}
	case "trx": // Broadcom TRX, little-endian
		out := []condField{
			f(4, 4, NormContainerLen, "TRX length", whenSize),
			f(8, 4, NormContainerSum, "TRX CRC32", whenContent),
		}
		n := 3
		if len(hdr) >= 16 && binary.LittleEndian.Uint16(hdr[14:]) == 2 {
			n = 4
		}
		for i := range n {
			out = append(out, f(16+4*i, 4, NormContainerLen, fmt.Sprintf("TRX partition %d offset", i), whenSize))
		}
		return out
	case "chk": // Netgear CHK, big-endian
		return []condField{
			f(16, 4, NormContainerSum, "CHK kernel checksum", whenContent),
			f(20, 4, NormContainerSum, "CHK rootfs checksum", whenContent),
			f(24, 4, NormContainerLen, "CHK kernel length", whenSize),
			f(28, 4, NormContainerLen, "CHK rootfs length", whenSize),
			f(32, 4, NormContainerSum, "CHK image checksum", whenContent),
			f(36, 4, NormContainerSum, "CHK header checksum", whenContent),
		}
	case "seama": // D-Link SEAMA, big-endian
		return []condField{
			f(8, 4, NormContainerLen, "SEAMA image size", whenSize),
			f(12, 16, NormContainerSum, "SEAMA MD5 digest", whenContent),
		}
	case "tplink": // TP-Link v1/v2/v3, big-endian; fields after the MD5
		if len(hdr) < 4 {
			return nil
		}
		base := 0x40
		if binary.BigEndian.Uint32(hdr) == 0x01000000 {
			base = 0x4c
		}
		out := []condField{f(base, 16, NormContainerSum, "TP-Link MD5", whenContent), f(base+0x30, 4, NormContainerLen, "TP-Link firmware length", whenSize)}
		for i, name := range []string{"kernel offset", "kernel length", "rootfs offset", "rootfs length", "bootloader offset", "bootloader length"} {
			out = append(out, f(base+0x34+4*i, 4, NormContainerLen, "TP-Link "+name, whenSize))
		}
		return out
	case "hwnp": // Huawei HWNP: sizes and CRCs in the header and item table
		out := []condField{
			f(4, 4, NormContainerLen, "HWNP file size", whenSize),
			f(8, 4, NormContainerSum, "HWNP file CRC32", whenContent),
			f(16, 4, NormContainerSum, "HWNP header CRC32", whenContent),
		}
		if len(hdr) < 36 {
			return out
		}
		le := binary.LittleEndian
		count, plen, isz := int(le.Uint32(hdr[20:])), int(le.Uint16(hdr[26:])), int(le.Uint32(hdr[28:]))
		if count <= 0 || count > 1024 || isz < 16 || isz > 4096 {
			return out
		}
		for i := range count {
			at := 36 + plen + i*isz
			if at+16 > len(hdr) {
				break
			}
			out = append(out,
				f(at+4, 4, NormContainerSum, fmt.Sprintf("HWNP item %d CRC32", i), whenContent),
				f(at+8, 4, NormContainerLen, fmt.Sprintf("HWNP item %d offset", i), whenSize),
				f(at+12, 4, NormContainerLen, fmt.Sprintf("HWNP item %d size", i), whenSize))
		}
		return out
	}
	return nil
}

// headerRead is how much of a container is read to find its fields.
func headerRead(format string) int64 {
	switch format {
	case "hwnp":
		return 1 << 20
	case "tplink":
		return 0x200
	}
	return 64
}

// segment is a range [off, off+n) of a container.
type segment struct{ off, n int64 }

// residualSegments returns the ranges of a container of the given size
// that no child covers.
func residualSegments(size int64, kids []*node) []segment {
	var cov []segment
	for _, k := range kids {
		o, n := k.m.Offset, k.m.Size
		if o < 0 || n <= 0 || o >= size {
			continue
		}
		cov = append(cov, segment{o, min(n, size-o)})
	}
	sort.Slice(cov, func(i, j int) bool { return cov[i].off < cov[j].off })
	var out []segment
	pos := int64(0)
	for _, c := range cov {
		if c.off > pos {
			out = append(out, segment{pos, c.off - pos})
		}
		pos = max(pos, c.off+c.n)
	}
	if pos < size {
		out = append(out, segment{pos, size - pos})
	}
	return out
}

// maxResidual caps the uncovered bytes of a container that are compared
// with masks; beyond it they are compared as they are.
const maxResidual = 4 << 20

// Squashfs superblock fields (little-endian).
const (
	sqMagic     = 0x73717368 // "hsqs"
	sqSuperSize = 96
	sqCompOpts  = 0x0400 // flag: compressor options follow the superblock
)

var sqCompressors = map[uint16]string{1: "gzip", 2: "lzma", 3: "lzo", 4: "xz", 5: "lz4", 6: "zstd"}

// squashSuper is what a SquashFS superblock says about how it was made.
type squashSuper struct {
	mkfsTime  uint32
	blockSize uint32
	comp      uint16
	flags     uint16
	opts      []byte // compressor options, when present
}

// parseSquashSuper reads a SquashFS 4 superblock and its compressor
// options from the first bytes of the file system.
func parseSquashSuper(b []byte) (squashSuper, bool) {
	if len(b) < sqSuperSize || binary.LittleEndian.Uint32(b) != sqMagic {
		return squashSuper{}, false
	}
	le := binary.LittleEndian
	s := squashSuper{mkfsTime: le.Uint32(b[8:]), blockSize: le.Uint32(b[12:]), comp: le.Uint16(b[20:]), flags: le.Uint16(b[24:])}
	if s.flags&sqCompOpts != 0 && len(b) >= sqSuperSize+2 {
		// A metadata block: a 16-bit header (length, bit 15 = stored).
		h := le.Uint16(b[sqSuperSize:])
		n := int(h & 0x7fff)
		if h&0x8000 != 0 && n > 0 && n <= 64 && sqSuperSize+2+n <= len(b) {
			s.opts = b[sqSuperSize+2 : sqSuperSize+2+n]
		}
	}
	return s, true
}

func (s squashSuper) compName() string {
	if n, ok := sqCompressors[s.comp]; ok {
		return n
	}
	return fmt.Sprintf("compressor %d", s.comp)
}

// settings describes the compression settings for people.
func (s squashSuper) settings() string {
	out := fmt.Sprintf("%s, %d-byte blocks", s.compName(), s.blockSize)
	if s.opts != nil {
		out += fmt.Sprintf(", options %x", s.opts)
		if s.comp == 1 && len(s.opts) >= 4 {
			out += fmt.Sprintf(" (level %d)", binary.LittleEndian.Uint32(s.opts))
		}
	} else {
		out += ", default options"
	}
	return out
}

// gzipHeader is the parsed fixed and optional header of a gzip member.
type gzipHeader struct {
	flags     byte
	mtime     uint32
	xfl, os   byte
	nameOff   int // offset of the file name, -1 if none
	nameLen   int // without the NUL
	headerLen int // offset of the deflate data
}

// parseGzipHeader reads a gzip member header (RFC 1952) from b.
func parseGzipHeader(b []byte) (gzipHeader, bool) {
	if len(b) < 10 || b[0] != 0x1f || b[1] != 0x8b || b[2] != 8 || b[3]&0xe0 != 0 {
		return gzipHeader{}, false
	}
	h := gzipHeader{flags: b[3], mtime: binary.LittleEndian.Uint32(b[4:]), xfl: b[8], os: b[9], nameOff: -1}
	pos := 10
	if h.flags&0x04 != 0 { // FEXTRA
		if pos+2 > len(b) {
			return h, false
		}
		pos += 2 + int(binary.LittleEndian.Uint16(b[pos:]))
	}
	zstr := func() (int, int, bool) {
		if pos > len(b) {
			return 0, 0, false
		}
		for i := pos; i < len(b); i++ {
			if b[i] == 0 {
				start, n := pos, i-pos
				pos = i + 1
				return start, n, true
			}
		}
		return 0, 0, false
	}
	if h.flags&0x08 != 0 { // FNAME
		s, n, ok := zstr()
		if !ok {
			return h, false
		}
		h.nameOff, h.nameLen = s, n
	}
	if h.flags&0x10 != 0 { // FCOMMENT
		if _, _, ok := zstr(); !ok {
			return h, false
		}
	}
	if h.flags&0x02 != 0 { // FHCRC
		pos += 2
	}
	if pos > len(b) {
		return h, false
	}
	h.headerLen = pos
	return h, true
}

func unixTime(t uint32) string {
	if t == 0 {
		return "0 (none)"
	}
	return time.Unix(int64(t), 0).UTC().Format(time.RFC3339)
}
