// Package jffs2 reads JFFS2 flash filesystem images in both byte orders.
//
// JFFS2 is a log: the image is a sequence of nodes, each with its own
// CRCs, laid out in erase blocks padded with erased flash (0xFF). The
// reader scans the whole image on 4-byte boundaries, skips and counts
// nodes whose CRCs fail, and indexes the valid ones compactly (image
// offsets, not data). The latest version of a directory entry wins (an
// entry with inode 0 deletes the name); a file is rebuilt from its data
// nodes, a higher version covering a lower one where they overlap, gaps
// read as zeros and the size set by the latest node. File contents are
// streamed node by node when the sink reads them.
package jffs2

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"sort"
	"time"

	"github.com/netvet/netvet/internal/firmware"
)

// Sentinel errors.
var (
	ErrHeader       = errors.New("jffs2: no valid node at start of image")
	ErrBadNode      = errors.New("jffs2: nodes with a bad CRC or length skipped")
	ErrNoInode      = errors.New("jffs2: directory entry names an inode without nodes")
	ErrCompressor   = errors.New("jffs2: unsupported compressor")
	ErrCorrupt      = errors.New("jffs2: corrupt node data")
	ErrTooManyNodes = errors.New("jffs2: too many nodes")
)

const (
	magic = 0x1985

	nodeAccurate = 0x2000

	typeDirent      = 0xe001
	typeInode       = 0xe002
	typeCleanmarker = 0x2003
	typePadding     = 0x2004
	typeSummary     = 0x2006
	typeXattr       = 0xe008
	typeXref        = 0xe009

	hdrLen    = 12
	direntLen = 40
	inodeLen  = 68

	// maxNodeLen caps a node's total length. Real nodes hold at most one
	// page of data (or one erase block for summaries).
	maxNodeLen = 1 << 20
	// maxDataLen caps the uncompressed size of one data node.
	maxDataLen = 256 << 10
	// maxNodes caps the number of nodes indexed from one image.
	maxNodes = 16 << 20
	// maxJunk is how many bytes that are neither nodes nor filler (erased
	// flash 0xFF, or zeros) the scan crosses before it decides the
	// filesystem has ended and what follows is other data.
	maxJunk = 1 << 20
	// maxDepth caps directory nesting.
	maxDepth = 512
	// maxLink caps a symlink target.
	maxLink = 64 << 10
)

// Compressor IDs stored in inode nodes.
const (
	comprNone     = 0
	comprZero     = 1
	comprRtime    = 2
	comprRubin    = 3
	comprCopy     = 4
	comprDynrubin = 5
	comprZlib     = 6
	comprLZO      = 7
	comprLZMA     = 8
)

var comprNames = map[uint8]string{
	comprNone: "none", comprZero: "zero", comprRtime: "rtime", comprRubin: "rubinmips",
	comprCopy: "copy", comprDynrubin: "dynrubin", comprZlib: "zlib", comprLZO: "lzo", comprLZMA: "lzma",
}

// File type bits of a Linux mode.
const (
	sIFMT   = 0o170000
	sIFSOCK = 0o140000
	sIFLNK  = 0o120000
	sIFREG  = 0o100000
	sIFBLK  = 0o060000
	sIFDIR  = 0o040000
	sIFCHR  = 0o020000
	sIFIFO  = 0o010000
)

type format struct{}

// New returns the JFFS2 format.
func New() firmware.Format { return format{} }

var _ firmware.Format = format{}

func (format) Info() firmware.Info {
	var sigs []firmware.Signature
	for _, t := range []uint16{typeCleanmarker, typeDirent, typeInode, typePadding} {
		le := []byte{0x85, 0x19, byte(t), byte(t >> 8)}
		be := []byte{0x19, 0x85, byte(t >> 8), byte(t)}
		sigs = append(sigs, firmware.Signature{Magic: le}, firmware.Signature{Magic: be})
	}
	return firmware.Info{
		Name:        "jffs2",
		Description: "JFFS2 journalling flash filesystem",
		Kind:        firmware.KindFilesystem,
		Signatures:  sigs,
		Variants: []string{
			"little-endian", "big-endian", "compressors none zero zlib rtime lzo lzma",
			"summary nodes (skipped)", "erase-block padding", "node versions and deletions",
		},
	}
}

// mtdCRC is the CRC32 used by JFFS2: the reflected IEEE polynomial with a
// zero seed and no final inversion.
func mtdCRC(b []byte) uint32 { return ^crc32.Update(0xffffffff, crc32.IEEETable, b) }

func pad4(n int64) int64 { return (n + 3) &^ 3 }

// byteOrder detects the byte order of the node header in h.
func byteOrder(h []byte) (binary.ByteOrder, bool) {
	switch {
	case binary.LittleEndian.Uint16(h) == magic:
		return binary.LittleEndian, true
	case binary.BigEndian.Uint16(h) == magic:
		return binary.BigEndian, true
	}
	return nil, false
}

func knownType(t uint16) bool {
	switch t | nodeAccurate {
	case typeDirent, typeInode, typeCleanmarker, typePadding, typeSummary, typeXattr, typeXref:
		return true
	}
	return false
}

func (format) Identify(src io.ReaderAt, size int64) bool {
	if size < hdrLen {
		return false
	}
	var h [hdrLen]byte
	if _, err := src.ReadAt(h[:], 0); err != nil {
		return false
	}
	bo, ok := byteOrder(h[:])
	if !ok {
		return false
	}
	if mtdCRC(h[:8]) != bo.Uint32(h[8:]) || !knownType(bo.Uint16(h[2:])) {
		return false
	}
	tl := int64(bo.Uint32(h[4:]))
	return tl >= hdrLen && tl <= size && tl <= maxNodeLen
}

// dnode is one data node of a file, kept small: the data stays in the image.
type dnode struct {
	pos     int64 // node offset in the image
	version uint32
	off     uint32 // file offset of the data
	dsize   uint32 // uncompressed length
	csize   uint32 // compressed length
	compr   uint8
}

// inode gathers the nodes of one inode number and the metadata of the
// latest one.
type inode struct {
	nodes  []dnode
	latest dnode
	have   bool
	mode   uint32
	uid    uint16
	gid    uint16
	isize  uint32
	mtime  uint32
}

type direntKey struct {
	pino uint32
	name string
}

type dirent struct {
	ino     uint32
	version uint32
	pos     int64
	dtype   uint8
	name    string
}

type image struct {
	src   io.ReaderAt
	size  int64
	bo    binary.ByteOrder
	win   window
	nodes int

	inodes  map[uint32]*inode
	dirents map[direntKey]dirent

	dec  decoder
	cbuf []byte // compressed data of the node being read

	bad      int
	firstBad int64
	lastEnd  int64
	bounds   []int64 // erase block boundaries seen (cleanmarker starts, summary ends)
}

// window is a read cache over the image for the sequential scan.
type window struct {
	src  io.ReaderAt
	size int64
	buf  []byte
	off  int64
	n    int
}

// at returns n bytes at off (n <= maxNodeLen), or false past the end.
func (w *window) at(off int64, n int) ([]byte, bool) {
	if off < 0 || n < 0 || off+int64(n) > w.size || n > maxNodeLen {
		return nil, false
	}
	if off >= w.off && off+int64(n) <= w.off+int64(w.n) {
		return w.buf[off-w.off : off-w.off+int64(n)], true
	}
	if w.buf == nil {
		w.buf = make([]byte, min(2*maxNodeLen, w.size))
	}
	m := int64(len(w.buf))
	if rem := w.size - off; rem < m {
		m = rem
	}
	k, _ := w.src.ReadAt(w.buf[:m], off)
	w.off, w.n = off, k
	if k < n {
		return nil, false
	}
	return w.buf[:n], true
}

func (im *image) markBad(pos int64) {
	if im.bad == 0 {
		im.firstBad = pos
	}
	im.bad++
}

// scan walks the whole image and indexes the valid nodes.
func (im *image) scan(ctx context.Context) error {
	bo := im.bo
	var pos, junk int64
	for steps := 0; pos+hdrLen <= im.size; steps++ {
		if steps&0xffff == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		h, ok := im.win.at(pos, hdrLen)
		if !ok {
			break
		}
		if bo.Uint16(h) != magic || mtdCRC(h[:8]) != bo.Uint32(h[8:]) {
			if bo.Uint16(h) == magic {
				im.markBad(pos)
			}
			if w := bo.Uint32(h); w != 0xffffffff && w != 0 {
				if junk += 4; junk > maxJunk {
					break
				}
			}
			pos += 4
			continue
		}
		ntype := bo.Uint16(h[2:])
		tl := int64(bo.Uint32(h[4:]))
		if tl < hdrLen || tl > maxNodeLen || pos+tl > im.size {
			im.markBad(pos)
			pos += 4
			continue
		}
		if ntype&nodeAccurate == 0 {
			// Obsolete node: superseded on the flash.
			pos += pad4(tl)
			continue
		}
		valid := true
		switch ntype {
		case typeDirent:
			valid = im.dirent(pos, tl)
		case typeInode:
			valid = im.inodeNode(pos, tl)
		case typeCleanmarker:
			if pos > 0 {
				im.bounds = append(im.bounds, pos)
			}
		case typeSummary:
			im.bounds = append(im.bounds, pos+tl)
		}
		if !valid {
			im.markBad(pos)
			pos += 4
			continue
		}
		junk = 0
		im.nodes++
		if im.nodes > maxNodes {
			return fmt.Errorf("%w: more than %d", ErrTooManyNodes, maxNodes)
		}
		im.lastEnd = pos + tl
		pos += pad4(tl)
	}
	return nil
}

func (im *image) dirent(pos, tl int64) bool {
	if tl < direntLen {
		return false
	}
	b, ok := im.win.at(pos, int(tl))
	if !ok {
		return false
	}
	bo := im.bo
	if mtdCRC(b[:32]) != bo.Uint32(b[32:]) {
		return false
	}
	nsize := int64(b[28])
	if direntLen+nsize > tl {
		return false
	}
	name := b[direntLen : direntLen+nsize]
	if mtdCRC(name) != bo.Uint32(b[36:]) {
		return false
	}
	d := dirent{
		ino:     bo.Uint32(b[20:]),
		version: bo.Uint32(b[16:]),
		pos:     pos,
		dtype:   b[29],
		name:    string(name),
	}
	k := direntKey{pino: bo.Uint32(b[12:]), name: d.name}
	if old, ok := im.dirents[k]; !ok || d.version >= old.version {
		im.dirents[k] = d
	}
	return true
}

func (im *image) inodeNode(pos, tl int64) bool {
	if tl < inodeLen {
		return false
	}
	b, ok := im.win.at(pos, int(tl))
	if !ok {
		return false
	}
	bo := im.bo
	if mtdCRC(b[:60]) != bo.Uint32(b[64:]) {
		return false
	}
	csize := bo.Uint32(b[48:])
	dsize := bo.Uint32(b[52:])
	if int64(csize) > tl-inodeLen || dsize > maxDataLen {
		return false
	}
	if mtdCRC(b[inodeLen:inodeLen+int64(csize)]) != bo.Uint32(b[60:]) {
		return false
	}
	ino := bo.Uint32(b[12:])
	n := dnode{
		pos:     pos,
		version: bo.Uint32(b[16:]),
		off:     bo.Uint32(b[44:]),
		dsize:   dsize,
		csize:   csize,
		compr:   b[56],
	}
	in := im.inodes[ino]
	if in == nil {
		in = &inode{}
		im.inodes[ino] = in
	}
	if dsize > 0 {
		in.nodes = append(in.nodes, n)
	}
	if !in.have || n.version >= in.latest.version {
		in.have = true
		in.latest = n
		in.mode = bo.Uint32(b[20:])
		in.uid = bo.Uint16(b[24:])
		in.gid = bo.Uint16(b[26:])
		in.isize = bo.Uint32(b[28:])
		in.mtime = bo.Uint32(b[36:])
	}
	return true
}

// eraseSize infers the erase block size from the block boundaries seen,
// or returns 0.
func (im *image) eraseSize() int64 {
	var g int64
	for _, b := range im.bounds {
		g = gcd(g, b)
	}
	if g < 4096 || g&(g-1) != 0 {
		return 0
	}
	return g
}

func gcd(a, b int64) int64 {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

// Extract returns the end of the last valid node, rounded up to the erase
// block size when cleanmarkers or summary nodes reveal it (otherwise to
// the 4-byte node alignment). Nodes with bad CRCs are reported once
// through dst.Fail with their count.
func (format) Extract(ctx context.Context, src io.ReaderAt, size int64, dst firmware.Sink) (int64, error) {
	var h [hdrLen]byte
	if size < hdrLen {
		return 0, ErrHeader
	}
	if _, err := src.ReadAt(h[:], 0); err != nil {
		return 0, fmt.Errorf("%w: %v", ErrHeader, err)
	}
	bo, ok := byteOrder(h[:])
	if !ok {
		return 0, ErrHeader
	}
	im := &image{
		src:     src,
		size:    size,
		bo:      bo,
		win:     window{src: src, size: size},
		inodes:  map[uint32]*inode{},
		dirents: map[direntKey]dirent{},
	}
	if err := im.scan(ctx); err != nil {
		return 0, err
	}
	if im.nodes == 0 {
		return 0, ErrHeader
	}
	im.win = window{} // the scan window is not needed any more
	end := min(pad4(im.lastEnd), size)
	if es := im.eraseSize(); es > 0 {
		end = (end + es - 1) / es * es
		if end > size {
			end = size
		}
	}
	if im.bad > 0 {
		dst.Fail(firmware.Entry{Offset: im.firstBad}, fmt.Errorf("%w: %d (first at offset 0x%x)", ErrBadNode, im.bad, im.firstBad))
	}
	if err := im.walk(ctx, dst); err != nil {
		return end, err
	}
	return end, nil
}

type child struct {
	name string
	d    dirent
}

// walk emits the tree from the root inode (1), directories first.
func (im *image) walk(ctx context.Context, dst firmware.Sink) error {
	children := map[uint32][]child{}
	for k, d := range im.dirents {
		if d.ino == 0 || k.name == "" {
			continue
		}
		children[k.pino] = append(children[k.pino], child{k.name, d})
	}
	for _, c := range children {
		sort.Slice(c, func(i, j int) bool { return c[i].name < c[j].name })
	}
	w := walker{im: im, children: children, seenDir: map[uint32]bool{1: true}, links: map[uint32]string{}}
	return w.dir(ctx, dst, 1, "", 0)
}

type walker struct {
	im       *image
	children map[uint32][]child
	seenDir  map[uint32]bool
	links    map[uint32]string
}

func (w *walker) dir(ctx context.Context, dst firmware.Sink, ino uint32, prefix string, depth int) error {
	for _, c := range w.children[ino] {
		if err := ctx.Err(); err != nil {
			return err
		}
		p := c.name
		if prefix != "" {
			p = prefix + "/" + c.name
		}
		e := firmware.Entry{Path: p, Offset: c.d.pos}
		in := w.im.inodes[c.d.ino]
		if in == nil || !in.have {
			dst.Fail(e, fmt.Errorf("%w: %q names inode %d", ErrNoInode, p, c.d.ino))
			continue
		}
		e.Mode = perm(in.mode)
		e.UID, e.GID = int64(in.uid), int64(in.gid)
		e.ModTime = time.Unix(int64(in.mtime), 0).UTC()
		e.Offset = in.latest.pos
		switch in.mode & sIFMT {
		case sIFDIR:
			e.Type = firmware.TypeDir
			if w.seenDir[c.d.ino] {
				dst.Fail(e, fmt.Errorf("%w: directory inode %d reached twice (loop)", ErrCorrupt, c.d.ino))
				continue
			}
			if depth >= maxDepth {
				dst.Fail(e, fmt.Errorf("%w: directories nested deeper than %d", ErrCorrupt, maxDepth))
				continue
			}
			w.seenDir[c.d.ino] = true
			if err := dst.Put(ctx, e, nil); err != nil {
				return err
			}
			if err := w.dir(ctx, dst, c.d.ino, p, depth+1); err != nil {
				return err
			}
			continue
		}
		if first, ok := w.links[c.d.ino]; ok {
			e.Type = firmware.TypeHardlink
			e.LinkTarget = first
			if err := dst.Put(ctx, e, nil); err != nil {
				return err
			}
			continue
		}
		w.links[c.d.ino] = p
		if err := w.leaf(ctx, dst, e, c.d.ino, in); err != nil {
			return err
		}
	}
	return nil
}

func (w *walker) leaf(ctx context.Context, dst firmware.Sink, e firmware.Entry, ino uint32, in *inode) error {
	switch in.mode & sIFMT {
	case sIFREG:
		e.Type = firmware.TypeFile
		e.Size = int64(in.isize)
		r, err := w.im.fileReader(ino, in)
		if err != nil {
			dst.Fail(e, err)
			return nil
		}
		return dst.Put(ctx, e, r)
	case sIFLNK:
		e.Type = firmware.TypeSymlink
		b, err := w.im.nodeData(in.latest)
		if err != nil {
			dst.Fail(e, fmt.Errorf("symlink inode %d: %w", ino, err))
			return nil
		}
		if len(b) > maxLink {
			dst.Fail(e, fmt.Errorf("%w: symlink inode %d target of %d bytes", ErrCorrupt, ino, len(b)))
			return nil
		}
		e.LinkTarget = string(b)
	case sIFCHR, sIFBLK:
		e.Type = firmware.TypeCharDevice
		if in.mode&sIFMT == sIFBLK {
			e.Type = firmware.TypeBlockDevice
		}
		b, err := w.im.nodeData(in.latest)
		if err != nil {
			dst.Fail(e, fmt.Errorf("device inode %d: %w", ino, err))
			return nil
		}
		switch len(b) {
		case 2:
			v := w.im.bo.Uint16(b)
			e.DevMajor, e.DevMinor = uint32(v>>8), uint32(v&0xff)
		case 4:
			v := w.im.bo.Uint32(b)
			e.DevMajor = (v & 0xfff00) >> 8
			e.DevMinor = (v & 0xff) | (v>>12)&0xfff00
		default:
			dst.Fail(e, fmt.Errorf("%w: device inode %d has %d bytes of device number", ErrCorrupt, ino, len(b)))
			return nil
		}
	case sIFIFO:
		e.Type = firmware.TypeFIFO
	case sIFSOCK:
		e.Type = firmware.TypeSocket
	default:
		dst.Fail(e, fmt.Errorf("%w: inode %d has unknown mode 0%o", ErrCorrupt, ino, in.mode))
		return nil
	}
	return dst.Put(ctx, e, nil)
}

func perm(mode uint32) fs.FileMode {
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

// nodeData reads and decompresses the data of one node.
func (im *image) nodeData(n dnode) ([]byte, error) {
	if n.dsize == 0 {
		return []byte{}, nil
	}
	out := make([]byte, n.dsize)
	if err := im.decompress(n, out); err != nil {
		return nil, err
	}
	return out, nil
}

// decompress fills out (len n.dsize) with the data of node n.
func (im *image) decompress(n dnode, out []byte) error {
	if n.compr == comprZero {
		clear(out)
		return nil
	}
	if cap(im.cbuf) < int(n.csize) {
		im.cbuf = make([]byte, n.csize)
	}
	in := im.cbuf[:n.csize]
	if _, err := im.src.ReadAt(in, n.pos+inodeLen); err != nil {
		return fmt.Errorf("node at offset 0x%x: %w", n.pos, err)
	}
	if err := im.dec.decompress(n.compr, in, out); err != nil {
		return fmt.Errorf("node at offset 0x%x: %w", n.pos, err)
	}
	return nil
}
