// Package ubi reads raw UBI device images (the layout ubinize writes and
// what a NAND or NOR dump of a UBI partition holds) and puts one file per
// UBI volume, its logical eraseblocks in order.
package ubi

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"sort"
	"strconv"
	"strings"

	"github.com/netvet/netvet/internal/firmware"
)

// Errors returned by Extract.
var (
	ErrHeader   = errors.New("ubi: bad erase counter header")
	ErrPEBSize  = errors.New("ubi: cannot determine eraseblock size")
	ErrNoVolume = errors.New("ubi: no volume found")
)

const (
	ecMagic  = "UBI#"
	vidMagic = "UBI!"
	hdrSize  = 64

	layoutVolID = 0x7FFFEFFF
	// internalVolStart is the first internal volume ID (the layout volume,
	// then the fastmap volumes); none of them holds user data.
	internalVolStart = layoutVolID
	vtblRecSize      = 172
	maxVolumes       = 128
	maxNameLen       = 127

	volDynamic = 1
	volStatic  = 2

	minPEB = 1 << 10
	maxPEB = 16 << 20
	// maxPEBs caps how many eraseblocks one image may hold.
	maxPEBs = 1 << 22
	// maxLEB caps the logical block number taken from a VID header.
	maxLEB = 1 << 22
)

// Format is the UBI reader.
type Format struct{}

var _ firmware.Format = (*Format)(nil)

// New returns the UBI reader.
func New() firmware.Format { return &Format{} }

// Info implements firmware.Format.
func (*Format) Info() firmware.Info {
	return firmware.Info{
		Name:        "ubi",
		Description: "UBI device image (raw eraseblocks with EC/VID headers)",
		Kind:        firmware.KindContainer,
		Signatures:  []firmware.Signature{{Magic: []byte(ecMagic), Offset: 0}},
		Variants:    []string{"UBI v1 dynamic and static volumes", "NAND and NOR eraseblock sizes 1 KiB to 16 MiB"},
	}
}

// crc is the CRC-32 UBI and UBIFS use: IEEE polynomial, all-ones seed,
// no final inversion.
func crc(b []byte) uint32 { return ^crc32.ChecksumIEEE(b) }

// ecHeader is a parsed erase counter header.
type ecHeader struct {
	vidOff   int64
	dataOff  int64
	imageSeq uint32
}

// parseEC checks an erase counter header. pebSize may be 0 when unknown.
func parseEC(b []byte, pebSize int64) (ecHeader, bool) {
	if len(b) < hdrSize || string(b[:4]) != ecMagic || b[4] != 1 {
		return ecHeader{}, false
	}
	if binary.BigEndian.Uint32(b[60:64]) != crc(b[:60]) {
		return ecHeader{}, false
	}
	h := ecHeader{
		vidOff:   int64(binary.BigEndian.Uint32(b[16:20])),
		dataOff:  int64(binary.BigEndian.Uint32(b[20:24])),
		imageSeq: binary.BigEndian.Uint32(b[24:28]),
	}
	if h.vidOff < hdrSize || h.vidOff+hdrSize > h.dataOff || h.dataOff >= maxPEB {
		return ecHeader{}, false
	}
	if pebSize > 0 && h.dataOff >= pebSize {
		return ecHeader{}, false
	}
	return h, true
}

// vidHeader is a parsed volume identifier header.
type vidHeader struct {
	volType  uint8
	copyFlag bool
	volID    uint32
	lnum     uint32
	dataSize uint32
	usedEBs  uint32
	dataPad  uint32
	dataCRC  uint32
	sqnum    uint64
}

func parseVID(b []byte) (vidHeader, bool) {
	if len(b) < hdrSize || string(b[:4]) != vidMagic || b[4] != 1 {
		return vidHeader{}, false
	}
	if binary.BigEndian.Uint32(b[60:64]) != crc(b[:60]) {
		return vidHeader{}, false
	}
	v := vidHeader{
		volType:  b[5],
		copyFlag: b[6] != 0,
		volID:    binary.BigEndian.Uint32(b[8:12]),
		lnum:     binary.BigEndian.Uint32(b[12:16]),
		dataSize: binary.BigEndian.Uint32(b[20:24]),
		usedEBs:  binary.BigEndian.Uint32(b[24:28]),
		dataPad:  binary.BigEndian.Uint32(b[28:32]),
		dataCRC:  binary.BigEndian.Uint32(b[32:36]),
		sqnum:    binary.BigEndian.Uint64(b[40:48]),
	}
	if v.volType != volDynamic && v.volType != volStatic {
		return vidHeader{}, false
	}
	if v.lnum >= maxLEB {
		return vidHeader{}, false
	}
	return v, true
}

func readHdr(src io.ReaderAt, size, off int64) []byte {
	if off < 0 || off+hdrSize > size {
		return nil
	}
	b := make([]byte, hdrSize)
	if _, err := src.ReadAt(b, off); err != nil {
		return nil
	}
	return b
}

// Identify implements firmware.Format: a valid EC header at offset 0.
func (*Format) Identify(src io.ReaderAt, size int64) bool {
	b := readHdr(src, size, 0)
	if b == nil {
		return false
	}
	h, ok := parseEC(b, 0)
	if !ok {
		return false
	}
	// The VID header of the first PEB is either valid or erased.
	v := readHdr(src, size, h.vidOff)
	if v == nil {
		return false
	}
	if _, ok := parseVID(v); ok {
		return true
	}
	return bytes.Equal(v, erased)
}

// erased is an all-0xFF header: a PEB never written.
var erased = bytes.Repeat([]byte{0xFF}, hdrSize)

// pebSize finds the eraseblock size: the smallest power of two past the
// data offset at which EC headers of the same image recur. Up to eight
// multiples are checked and more than half must hold one (half the
// multiples of half the size would), so a bad PEB at the
// first multiple does not make the size look twice as large.
func pebSize(src io.ReaderAt, size int64, first ecHeader) (int64, error) {
	var c int64 = minPEB
	for c <= first.dataOff {
		c <<= 1
	}
	for ; c <= maxPEB && c < size; c <<= 1 {
		checked, good := 0, 0
		for k := int64(1); k <= 8 && k*c+hdrSize <= size; k++ {
			checked++
			h, ok := parseEC(readHdr(src, size, k*c), c)
			if ok && h.imageSeq == first.imageSeq {
				good++
			}
		}
		if 2*good > checked {
			return c, nil
		}
	}
	return 0, ErrPEBSize
}

// leb is one mapped logical eraseblock.
type leb struct {
	peb int64 // PEB index
	vid vidHeader
	off int64 // absolute offset of the data area
}

// volume gathers what is known of one volume.
type volume struct {
	id      uint32
	name    string
	volType uint8
	dataPad int64
	lebs    map[uint32]leb
	inVtbl  bool
	// reserved is the PEB count the volume table gives (0 if unknown);
	// no LEB number of the volume reaches it.
	reserved uint32
}

// Extract implements firmware.Format.
func (f *Format) Extract(ctx context.Context, src io.ReaderAt, size int64, dst firmware.Sink) (int64, error) {
	first, ok := parseEC(readHdr(src, size, 0), 0)
	if !ok {
		return 0, ErrHeader
	}
	peb, err := pebSize(src, size, first)
	if err != nil {
		return 0, err
	}
	npeb := size / peb
	if npeb > maxPEBs {
		npeb = maxPEBs
	}
	vols := map[uint32]*volume{}
	// bad counts unreadable PEBs; badIn those before the end of the
	// last PEB that belongs to the image.
	var bad, badIn, covered int64
	for i := int64(0); i < npeb; i++ {
		if i&255 == 0 {
			if err := ctx.Err(); err != nil {
				return covered, err
			}
		}
		base := i * peb
		markBad := func() {
			bad++
			if covered == base+peb {
				badIn = bad
			}
		}
		b := readHdr(src, size, base)
		ec, ok := parseEC(b, peb)
		if !ok {
			if bytes.Equal(b, erased) {
				continue // erased, not yet used
			}
			if len(b) >= 4 && string(b[:4]) == ecMagic {
				covered = base + peb
			}
			markBad()
			continue
		}
		if ec.imageSeq != first.imageSeq && ec.imageSeq != 0 && first.imageSeq != 0 {
			break // another UBI device starts here
		}
		covered = base + peb
		badIn = bad
		vb := readHdr(src, size, base+ec.vidOff)
		vid, ok := parseVID(vb)
		if !ok {
			if !bytes.Equal(vb, erased) {
				markBad() // a corrupted VID header; all 0xFF is a free PEB
			}
			continue
		}
		if peb-ec.dataOff-int64(vid.dataPad) <= 0 {
			markBad()
			continue
		}
		v := vols[vid.volID]
		if v == nil {
			if len(vols) > maxVolumes+1 {
				markBad()
				continue
			}
			v = &volume{id: vid.volID, volType: vid.volType, dataPad: int64(vid.dataPad), lebs: map[uint32]leb{}}
			vols[vid.volID] = v
		}
		cand := leb{peb: i, vid: vid, off: base + ec.dataOff}
		old, dup := v.lebs[vid.lnum]
		if dup && !newer(src, size, peb-ec.dataOff, old, cand) {
			continue
		}
		v.lebs[vid.lnum] = cand
	}
	if covered == 0 {
		return 0, ErrNoVolume
	}
	lebSize := peb - first.dataOff
	if lv := vols[layoutVolID]; lv != nil {
		readVtbl(src, size, lebSize, lv, vols)
		delete(vols, layoutVolID)
	}
	ids := make([]uint32, 0, len(vols))
	for id := range vols {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(a, b int) bool { return ids[a] < ids[b] })
	used := map[string]bool{}
	put := 0
	for _, id := range ids {
		if err := ctx.Err(); err != nil {
			return covered, err
		}
		v := vols[id]
		if len(v.lebs) == 0 || id >= internalVolStart {
			continue
		}
		name := sanitize(v.name, id)
		if used[name] {
			name += "-" + strconv.FormatUint(uint64(id), 10)
		}
		used[name] = true
		if err := putVolume(ctx, src, size, peb-first.dataOff, v, name, dst); err != nil {
			return covered, err
		}
		put++
	}
	if badIn > 0 {
		dst.Fail(firmware.Entry{Path: "", Offset: -1}, fmt.Errorf("ubi: %d bad or unreadable eraseblocks skipped", badIn))
	}
	if put == 0 {
		return covered, ErrNoVolume
	}
	return covered, nil
}

// newer reports whether cand should replace old for the same LEB: the
// higher sequence number wins, unless it is a copy whose data CRC fails.
func newer(src io.ReaderAt, size, lebSize int64, old, cand leb) bool {
	hi, lo := cand, old
	if cand.vid.sqnum < old.vid.sqnum {
		hi, lo = old, cand
	}
	win := hi
	if hi.vid.copyFlag && !dataCRCOK(src, size, lebSize, hi) {
		win = lo
	}
	return win.peb == cand.peb
}

func dataCRCOK(src io.ReaderAt, size, lebSize int64, l leb) bool {
	n := int64(l.vid.dataSize)
	if n > lebSize || l.off+n > size {
		return false
	}
	h := crc32.NewIEEE()
	if _, err := io.Copy(h, io.NewSectionReader(src, l.off, n)); err != nil {
		return false
	}
	return ^h.Sum32() == l.vid.dataCRC
}

// readVtbl reads the volume table from the layout volume (either copy).
func readVtbl(src io.ReaderAt, size, lebSize int64, lv *volume, vols map[uint32]*volume) {
	n := lebSize / vtblRecSize
	if n > maxVolumes {
		n = maxVolumes
	}
	for _, lnum := range []uint32{0, 1} {
		l, ok := lv.lebs[lnum]
		if !ok || l.off+n*vtblRecSize > size {
			continue
		}
		buf := make([]byte, n*vtblRecSize)
		if _, err := src.ReadAt(buf, l.off); err != nil {
			continue
		}
		good := 0
		for i := int64(0); i < n; i++ {
			r := buf[i*vtblRecSize : (i+1)*vtblRecSize]
			if binary.BigEndian.Uint32(r[168:172]) != crc(r[:168]) {
				continue
			}
			good++
			reserved := binary.BigEndian.Uint32(r[0:4])
			if reserved == 0 {
				continue
			}
			nlen := int(binary.BigEndian.Uint16(r[14:16]))
			if nlen > maxNameLen {
				nlen = maxNameLen
			}
			id := uint32(i)
			v := vols[id]
			if v == nil {
				v = &volume{id: id, lebs: map[uint32]leb{}}
				vols[id] = v
			}
			v.inVtbl = true
			v.reserved = reserved
			v.name = string(r[16 : 16+nlen])
			if t := r[12]; t == volDynamic || t == volStatic {
				v.volType = t
			}
			if pad := int64(binary.BigEndian.Uint32(r[8:12])); pad < lebSize {
				v.dataPad = pad
			}
		}
		if good == int(n) {
			return
		}
	}
}

// sanitize turns a volume name into one path element.
func sanitize(name string, id uint32) string {
	var sb strings.Builder
	for _, r := range name {
		switch {
		case r == '/' || r == '\\' || r < 0x20 || r == 0x7f || r == 0xFFFD:
			sb.WriteByte('_')
		default:
			sb.WriteRune(r)
		}
	}
	s := strings.TrimSpace(sb.String())
	if s == "" || s == "." || s == ".." || strings.Trim(s, "_") == "" {
		return "vol-" + strconv.FormatUint(uint64(id), 10)
	}
	return s
}

// putVolume streams a volume's LEBs to the sink.
func putVolume(ctx context.Context, src io.ReaderAt, size, lebSize int64, v *volume, name string, dst firmware.Sink) error {
	usable := lebSize - v.dataPad
	if v.reserved > 0 {
		for l := range v.lebs {
			if l >= v.reserved {
				delete(v.lebs, l)
				dst.Fail(firmware.Entry{Path: name, Offset: -1}, fmt.Errorf("ubi: volume %d: LEB %d beyond its %d reserved eraseblocks", v.id, l, v.reserved))
			}
		}
		if len(v.lebs) == 0 {
			return nil
		}
	}
	var last uint32
	for l := range v.lebs {
		if l > last {
			last = l
		}
	}
	r := &volReader{ctx: ctx, src: src, size: size, usable: usable, v: v}
	var total int64
	if v.volType == volStatic {
		// A static volume holds used_ebs LEBs; the last one data_size bytes.
		// (taken from the lowest mapped LEB, so the choice is stable)
		used, low := uint32(0), ^uint32(0)
		for n, l := range v.lebs {
			if n < low {
				used, low = l.vid.usedEBs, n
			}
		}
		if used == 0 || used > last+1 {
			used = last + 1
		}
		r.count = used
		for i := uint32(0); i < used; i++ {
			total += r.lebLen(i)
		}
	} else {
		r.count = last + 1
		total = int64(r.count) * usable
	}
	e := firmware.Entry{
		Path:   name,
		Type:   firmware.TypeFile,
		Mode:   0o644,
		Offset: -1,
		Size:   total,
	}
	if l, ok := v.lebs[0]; ok {
		e.Offset = l.off
	}
	if err := dst.Put(ctx, e, r); err != nil {
		return fmt.Errorf("volume %d (%s): %w", v.id, name, err)
	}
	return nil
}

// volReader reads a volume's LEBs in order, 0xFF-filling unmapped ones.
type volReader struct {
	ctx    context.Context
	src    io.ReaderAt
	size   int64
	usable int64
	v      *volume
	count  uint32 // number of LEBs
	cur    uint32 // current LEB
	pos    int64  // position inside the current LEB
}

// lebLen is the number of bytes LEB i contributes.
func (r *volReader) lebLen(i uint32) int64 {
	if r.v.volType != volStatic {
		return r.usable
	}
	l, ok := r.v.lebs[i]
	if !ok {
		return r.usable
	}
	n := int64(l.vid.dataSize)
	if n > r.usable {
		n = r.usable
	}
	return n
}

func (r *volReader) Read(p []byte) (int, error) {
	for r.cur < r.count {
		n := r.lebLen(r.cur)
		if r.pos >= n {
			r.cur++
			r.pos = 0
			if err := r.ctx.Err(); err != nil {
				return 0, err
			}
			continue
		}
		want := n - r.pos
		if int64(len(p)) < want {
			want = int64(len(p))
		}
		l, ok := r.v.lebs[r.cur]
		if !ok {
			for i := range p[:want] {
				p[i] = 0xFF
			}
			r.pos += want
			return int(want), nil
		}
		off := l.off + r.pos
		if off >= r.size {
			return 0, fmt.Errorf("ubi: LEB %d of volume %d: data past end of image: %w", r.cur, r.v.id, io.ErrUnexpectedEOF)
		}
		if off+want > r.size {
			want = r.size - off
		}
		m, err := r.src.ReadAt(p[:want], off)
		r.pos += int64(m)
		if m > 0 {
			return m, nil
		}
		if err == nil || err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return 0, fmt.Errorf("ubi: LEB %d of volume %d: %w", r.cur, r.v.id, err)
	}
	return 0, io.EOF
}
