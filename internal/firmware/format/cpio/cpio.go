// Package cpio reads cpio archives: "new" ASCII (070701), its checksummed
// variant (070702), portable ASCII (odc, 070707) and old binary in either
// byte order. Hard links are matched by device and inode.
package cpio

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"strconv"
	"time"

	"github.com/netvet/netvet/internal/firmware"
	"github.com/netvet/netvet/internal/safeio"
)

var (
	// ErrHeader reports a header that cannot be parsed; the archive stops there.
	ErrHeader = errors.New("cpio: bad header")
	// ErrChecksum reports an 070702 entry whose data does not match its checksum.
	ErrChecksum = errors.New("cpio: checksum mismatch")
	// ErrEntryType reports a file type cpio does not define.
	ErrEntryType = errors.New("cpio: unknown file type")
)

const (
	maxName    = 4096
	maxSymlink = 4096
	maxEntries = 1 << 20
	trailer    = "TRAILER!!!"
)

type variant int

const (
	newc variant = iota
	crc
	odc
	binLE
	binBE
)

var variantNames = [...]string{"newc", "crc", "odc", "bin little-endian", "bin big-endian"}

type format struct{}

var _ firmware.Format = format{}

// New returns the cpio format.
func New() firmware.Format { return format{} }

func (format) Info() firmware.Info {
	return firmware.Info{
		Name:        "cpio",
		Description: "cpio archive",
		Kind:        firmware.KindArchive,
		Signatures: []firmware.Signature{
			{Magic: []byte("070701")}, {Magic: []byte("070702")}, {Magic: []byte("070707")},
			{Magic: []byte{0xc7, 0x71}}, {Magic: []byte{0x71, 0xc7}},
		},
		Variants: variantNames[:],
	}
}

// header is one parsed entry header.
type header struct {
	dev, ino     uint64
	mode         uint32
	uid, gid     int64
	nlink        uint32
	mtime        int64
	size         int64
	rmaj, rmin   uint32
	check        uint32
	name         string
	dataOff, end int64 // data start and end of the entry (padding included)
}

func detect(b []byte) (variant, bool) {
	if len(b) < 6 {
		return 0, false
	}
	switch string(b[:6]) {
	case "070701":
		return newc, true
	case "070702":
		return crc, true
	case "070707":
		return odc, true
	}
	switch {
	case b[0] == 0xc7 && b[1] == 0x71:
		return binLE, true
	case b[0] == 0x71 && b[1] == 0xc7:
		return binBE, true
	}
	return 0, false
}

func hexField(b []byte) (uint64, bool) {
	v, err := strconv.ParseUint(string(b), 16, 32)
	return v, err == nil
}

func octField(b []byte) (uint64, bool) {
	v, err := strconv.ParseUint(string(b), 8, 64)
	return v, err == nil
}

// readHeader parses the entry header at off.
func readHeader(src io.ReaderAt, size, off int64, v variant) (header, error) {
	var h header
	var hl int64
	switch v {
	case newc, crc:
		hl = 110
	case odc:
		hl = 76
	default:
		hl = 26
	}
	b, err := safeio.ReadAt(src, size, off, hl, hl)
	if err != nil {
		return h, fmt.Errorf("%w at %#x: %w", ErrHeader, off, err)
	}
	if w, ok := detect(b); !ok || w != v {
		return h, fmt.Errorf("%w: no %s magic at %#x", ErrHeader, variantNames[v], off)
	}
	var nameSize int64
	bad := false
	switch v {
	case newc, crc:
		f := make([]uint64, 13)
		for i := range f {
			x, ok := hexField(b[6+8*i : 14+8*i])
			bad = bad || !ok
			f[i] = x
		}
		h.ino, h.mode, h.uid, h.gid, h.nlink = f[0], uint32(f[1]), int64(f[2]), int64(f[3]), uint32(f[4])
		h.mtime, h.size = int64(f[5]), int64(f[6])
		h.dev = f[7]<<32 | f[8]
		h.rmaj, h.rmin = uint32(f[9]), uint32(f[10])
		nameSize, h.check = int64(f[11]), uint32(f[12])
	case odc:
		widths := []int{6, 6, 6, 6, 6, 6, 6, 11, 6, 11}
		f := make([]uint64, len(widths))
		p := 6
		for i, w := range widths {
			x, ok := octField(b[p : p+w])
			bad = bad || !ok
			f[i] = x
			p += w
		}
		h.dev, h.ino, h.mode, h.uid, h.gid, h.nlink = f[0], f[1], uint32(f[2]), int64(f[3]), int64(f[4]), uint32(f[5])
		h.rmaj, h.rmin = uint32(f[6]>>8), uint32(f[6]&0xff)
		h.mtime, nameSize, h.size = int64(f[7]), int64(f[8]), int64(f[9])
	default:
		var bo binary.ByteOrder = binary.LittleEndian
		if v == binBE {
			bo = binary.BigEndian
		}
		u := func(i int) uint64 { return uint64(bo.Uint16(b[2*i:])) }
		h.dev, h.ino, h.mode, h.uid, h.gid, h.nlink = u(1), u(2), uint32(u(3)), int64(u(4)), int64(u(5)), uint32(u(6))
		h.rmaj, h.rmin = uint32(u(7)>>8), uint32(u(7)&0xff)
		h.mtime = int64(u(8)<<16 | u(9))
		nameSize = int64(u(10))
		h.size = int64(u(11)<<16 | u(12))
	}
	if bad {
		return h, fmt.Errorf("%w: bad number at %#x", ErrHeader, off)
	}
	if nameSize < 1 || nameSize > maxName {
		return h, fmt.Errorf("%w: name size %d at %#x", ErrHeader, nameSize, off)
	}
	nb, err := safeio.ReadAt(src, size, off+hl, nameSize, maxName)
	if err != nil {
		return h, fmt.Errorf("%w: name at %#x: %w", ErrHeader, off, err)
	}
	if i := bytes.IndexByte(nb, 0); i >= 0 {
		nb = nb[:i]
	}
	h.name = string(nb)
	h.dataOff = off + hl + nameSize
	align := int64(1)
	switch v {
	case newc, crc:
		align = 4
	case binLE, binBE:
		align = 2
	}
	h.dataOff = roundUp(h.dataOff, align)
	if h.size < 0 || h.size > size-h.dataOff {
		return h, fmt.Errorf("%w: %q at %#x: %d bytes of data beyond the end: %w", ErrHeader, h.name, off, h.size, io.ErrUnexpectedEOF)
	}
	h.end = min(roundUp(h.dataOff+h.size, align), size)
	return h, nil
}

func roundUp(n, a int64) int64 { return (n + a - 1) / a * a }

func (format) Identify(src io.ReaderAt, size int64) bool {
	var b [6]byte
	if _, err := src.ReadAt(b[:], 0); err != nil {
		return false
	}
	v, ok := detect(b[:])
	if !ok {
		return false
	}
	h, err := readHeader(src, size, 0, v)
	if err != nil || h.name == "" {
		return false
	}
	if v == binLE || v == binBE {
		// Two magic bytes say little: want a known type and a name that
		// fills its recorded size exactly.
		if _, ok := entryType(h.mode); !ok || h.nlink == 0 || int64(len(h.name))+1 != h.dataOff-26 && int64(len(h.name))+2 != h.dataOff-26 {
			return false
		}
	}
	return true
}

func entryType(mode uint32) (firmware.EntryType, bool) {
	switch mode & 0o170000 {
	case 0o100000:
		return firmware.TypeFile, true
	case 0o040000:
		return firmware.TypeDir, true
	case 0o120000:
		return firmware.TypeSymlink, true
	case 0o020000:
		return firmware.TypeCharDevice, true
	case 0o060000:
		return firmware.TypeBlockDevice, true
	case 0o010000:
		return firmware.TypeFIFO, true
	case 0o140000:
		return firmware.TypeSocket, true
	}
	return 0, false
}

func permBits(mode uint32) fs.FileMode {
	m := fs.FileMode(mode & 0o777)
	if mode&0o4000 != 0 {
		m |= fs.ModeSetuid
	}
	if mode&0o2000 != 0 {
		m |= fs.ModeSetgid
	}
	if mode&0o1000 != 0 {
		m |= fs.ModeSticky
	}
	return m
}

type linkKey struct{ dev, ino uint64 }

// extractor holds the hard-link state of one archive.
type extractor struct {
	src     io.ReaderAt
	dst     firmware.Sink
	v       variant
	first   map[linkKey]string           // name put as a file, per inode
	pending map[linkKey][]firmware.Entry // data-less links seen before the data
	order   []linkKey
}

func (format) Extract(ctx context.Context, src io.ReaderAt, size int64, dst firmware.Sink) (int64, error) {
	var b [6]byte
	if _, err := src.ReadAt(b[:], 0); err != nil {
		return 0, fmt.Errorf("%w: %w", ErrHeader, err)
	}
	v, ok := detect(b[:])
	if !ok {
		return 0, fmt.Errorf("%w: no magic", ErrHeader)
	}
	x := &extractor{src: src, dst: dst, v: v, first: map[linkKey]string{}, pending: map[linkKey][]firmware.Entry{}}
	off := int64(0)
	for n := 0; ; n++ {
		if err := ctx.Err(); err != nil {
			return off, err
		}
		if n >= maxEntries {
			return off, fmt.Errorf("%w: more than %d entries", ErrHeader, maxEntries)
		}
		h, err := readHeader(src, size, off, v)
		if err != nil {
			return off, errors.Join(err, x.flush(ctx))
		}
		if h.name == trailer {
			return h.end, x.flush(ctx)
		}
		if err := x.entry(ctx, h, off); err != nil {
			return off, err
		}
		off = h.end
	}
}

func (x *extractor) entry(ctx context.Context, h header, off int64) error {
	e := firmware.Entry{
		Path:    h.name,
		Mode:    permBits(h.mode),
		UID:     h.uid,
		GID:     h.gid,
		ModTime: time.Unix(h.mtime, 0).UTC(),
		Offset:  off,
		Size:    h.size,
	}
	t, ok := entryType(h.mode)
	if !ok {
		x.dst.Fail(e, fmt.Errorf("%w: mode %#o", ErrEntryType, h.mode))
		return nil
	}
	e.Type = t
	data := io.NewSectionReader(x.src, h.dataOff, h.size)
	switch t {
	case firmware.TypeFile:
		if h.nlink > 1 {
			return x.linked(ctx, h, e, data)
		}
		return x.putFile(ctx, h, e, data)
	case firmware.TypeSymlink:
		target, err := safeio.ReadAll(data, maxSymlink)
		if err != nil {
			x.dst.Fail(e, fmt.Errorf("cpio: symlink %q: %w", h.name, err))
			return nil
		}
		e.LinkTarget = string(target)
	case firmware.TypeCharDevice, firmware.TypeBlockDevice:
		e.DevMajor, e.DevMinor = h.rmaj, h.rmin
	}
	return x.dst.Put(ctx, e, nil)
}

// putFile puts a regular file, verifying the 070702 checksum as the sink
// reads the data.
func (x *extractor) putFile(ctx context.Context, h header, e firmware.Entry, data io.Reader) error {
	if x.v != crc {
		return x.dst.Put(ctx, e, data)
	}
	s := &summer{r: data}
	if err := x.dst.Put(ctx, e, s); err != nil {
		return err
	}
	if s.n == h.size && s.sum != h.check {
		x.dst.Fail(e, fmt.Errorf("%w: %q: sum %#x, header says %#x", ErrChecksum, h.name, s.sum, h.check))
	}
	return nil
}

// linked handles a file with several names: the first name is the file
// and the others are hard links to it. The newc writers put the data with
// the last name, so names seen before the data wait for it, and the data
// then goes out under the first name.
func (x *extractor) linked(ctx context.Context, h header, e firmware.Entry, data io.Reader) error {
	k := linkKey{h.dev, h.ino}
	if name, ok := x.first[k]; ok {
		e.Type, e.LinkTarget, e.Size = firmware.TypeHardlink, name, 0
		return x.dst.Put(ctx, e, nil)
	}
	if h.size == 0 {
		if _, ok := x.pending[k]; !ok {
			x.order = append(x.order, k)
		}
		x.pending[k] = append(x.pending[k], e)
		return nil
	}
	names := append(x.pending[k], e)
	delete(x.pending, k)
	file := e
	file.Path, file.Offset = names[0].Path, names[0].Offset
	if err := x.putFile(ctx, h, file, data); err != nil {
		return err
	}
	x.first[k] = file.Path
	for _, w := range names[1:] {
		w.Type, w.LinkTarget, w.Size = firmware.TypeHardlink, file.Path, 0
		if err := x.dst.Put(ctx, w, nil); err != nil {
			return err
		}
	}
	return nil
}

// flush puts the links whose data never came: the first name as an empty
// file, the rest as links to it.
func (x *extractor) flush(ctx context.Context) error {
	for _, k := range x.order {
		ents := x.pending[k]
		delete(x.pending, k)
		for i, e := range ents {
			if i > 0 {
				e.Type, e.LinkTarget = firmware.TypeHardlink, ents[0].Path
			}
			if err := x.dst.Put(ctx, e, nil); err != nil {
				return err
			}
		}
	}
	x.order = nil
	return nil
}

// summer sums the bytes read through it, as the 070702 checksum does.
type summer struct {
	r   io.Reader
	sum uint32
	n   int64
}

func (s *summer) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	for _, c := range p[:n] {
		s.sum += uint32(c)
	}
	s.n += int64(n)
	return n, err
}
