// Package ext reads ext2, ext3 and ext4 filesystem images without
// mounting them: superblock and group descriptors (32- and 64-bit,
// meta_bg), inodes of any size, file data through extent trees, classic
// block maps or inline data, and linear directory entries (htree index
// blocks are skipped). The journal is not replayed: what is read is the
// state of the main filesystem area only.
package ext

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"time"

	"github.com/netvet/netvet/internal/firmware"
	"github.com/netvet/netvet/internal/safeio"
)

// Sentinel errors.
var (
	ErrSuperblock = errors.New("ext: bad superblock")
	ErrCorrupt    = errors.New("ext: corrupt filesystem")
	ErrLoop       = errors.New("ext: loop or shared metadata block")
	// ErrJournal is reported (not returned) when the journal holds
	// transactions that were never replayed: the reader does not replay
	// them, so the most recent changes may be missing or half-applied.
	ErrJournal = errors.New("ext: journal needs recovery, not replayed")
)

const (
	sbOffset  = 1024
	sbSize    = 1024
	extMagic  = 0xEF53
	rootInode = 2

	// Feature bits.
	incompatFiletype   = 0x2
	incompatRecover    = 0x4
	incompatJournalDv  = 0x8
	incompatMetaBG     = 0x10
	incompat64Bit      = 0x80
	incompatInline     = 0x8000
	roSparseSuper      = 0x1
	compatSparseSuper2 = 0x200

	// Inode flags.
	flagExtents = 0x80000
	flagInline  = 0x10000000

	// Caps independent of the input.
	maxEntries    = 1 << 20 // directory entries walked over the whole image
	maxDepth      = 256     // directory nesting
	maxDirSize    = 256 << 20
	maxSymlink    = 64 << 10
	maxExtDepth   = 5
	maxDescCache  = 4096
	maxInodeBytes = 64 << 10
)

type format struct{}

// New returns the ext2/ext3/ext4 format.
func New() firmware.Format { return format{} }

var _ firmware.Format = format{}

func (format) Info() firmware.Info {
	return firmware.Info{
		Name:        "ext",
		Description: "ext2/ext3/ext4 filesystem (journal not replayed)",
		Kind:        firmware.KindFilesystem,
		Signatures:  []firmware.Signature{{Magic: []byte{0x53, 0xEF}, Offset: sbOffset + 56}},
		Variants: []string{
			"ext2 block maps", "ext3 (journal not replayed)", "ext4 extents",
			"64bit descriptors", "flex_bg", "meta_bg", "sparse_super",
			"inline_data", "block sizes 1K-64K", "inode sizes 128-64K",
		},
	}
}

// superblock holds the fields the reader uses, already checked.
type superblock struct {
	inodesCount    uint32
	blocksCount    uint64
	firstDataBlock uint32
	blockSize      int64
	blocksPerGroup uint32
	inodesPerGroup uint32
	inodeSize      int64
	descSize       int64
	groups         uint64
	firstMetaBG    uint32
	backupBGs      [2]uint32 // sparse_super2 backup groups
	compat         uint32
	incompat       uint32
	roCompat       uint32
}

func parseSuperblock(b []byte) (*superblock, error) {
	le := binary.LittleEndian
	if le.Uint16(b[56:]) != extMagic {
		return nil, fmt.Errorf("%w: magic %#04x", ErrSuperblock, le.Uint16(b[56:]))
	}
	s := &superblock{
		inodesCount:    le.Uint32(b[0:]),
		blocksCount:    uint64(le.Uint32(b[4:])),
		firstDataBlock: le.Uint32(b[20:]),
		blocksPerGroup: le.Uint32(b[32:]),
		inodesPerGroup: le.Uint32(b[40:]),
		compat:         le.Uint32(b[92:]),
		incompat:       le.Uint32(b[96:]),
		roCompat:       le.Uint32(b[100:]),
		firstMetaBG:    le.Uint32(b[260:]),
		backupBGs:      [2]uint32{le.Uint32(b[588:]), le.Uint32(b[592:])},
	}
	logBS := le.Uint32(b[24:])
	if logBS > 6 {
		return nil, fmt.Errorf("%w: block size 2^%d KiB", ErrSuperblock, logBS)
	}
	s.blockSize = 1024 << logBS
	if s.incompat&incompatJournalDv != 0 {
		return nil, fmt.Errorf("%w: external journal device, not a filesystem", ErrSuperblock)
	}
	rev := le.Uint32(b[76:])
	s.inodeSize = 128
	if rev > 0 {
		s.inodeSize = int64(le.Uint16(b[88:]))
	}
	if s.inodeSize < 128 || s.inodeSize > s.blockSize || s.inodeSize&(s.inodeSize-1) != 0 {
		return nil, fmt.Errorf("%w: inode size %d", ErrSuperblock, s.inodeSize)
	}
	s.descSize = 32
	if s.incompat&incompat64Bit != 0 {
		s.blocksCount |= uint64(le.Uint32(b[336:])) << 32
		s.descSize = int64(le.Uint16(b[254:]))
		if s.descSize < 64 || s.descSize > 1024 || s.descSize&(s.descSize-1) != 0 {
			return nil, fmt.Errorf("%w: descriptor size %d", ErrSuperblock, s.descSize)
		}
	}
	if s.blocksPerGroup == 0 || int64(s.blocksPerGroup) > 8*s.blockSize {
		return nil, fmt.Errorf("%w: %d blocks per group", ErrSuperblock, s.blocksPerGroup)
	}
	if s.inodesPerGroup == 0 || int64(s.inodesPerGroup) > 8*s.blockSize {
		return nil, fmt.Errorf("%w: %d inodes per group", ErrSuperblock, s.inodesPerGroup)
	}
	if s.firstDataBlock > 1 || s.blocksCount <= uint64(s.firstDataBlock) || s.blocksCount > 1<<48 {
		return nil, fmt.Errorf("%w: %d blocks, first data block %d", ErrSuperblock, s.blocksCount, s.firstDataBlock)
	}
	s.groups = (s.blocksCount - uint64(s.firstDataBlock) + uint64(s.blocksPerGroup) - 1) / uint64(s.blocksPerGroup)
	if s.inodesCount < rootInode || uint64(s.inodesCount) > s.groups*uint64(s.inodesPerGroup) {
		return nil, fmt.Errorf("%w: %d inodes in %d groups", ErrSuperblock, s.inodesCount, s.groups)
	}
	return s, nil
}

func (format) Identify(src io.ReaderAt, size int64) bool {
	b, err := safeio.ReadAt(src, size, sbOffset, sbSize, sbSize)
	if err != nil {
		return false
	}
	_, err = parseSuperblock(b)
	return err == nil
}

// fsys is one open image.
type fsys struct {
	ctx   context.Context
	src   io.ReaderAt
	size  int64
	sb    *superblock
	descs map[uint64]uint64 // group -> inode table block (bounded cache)
}

func (f *fsys) hasSuper(g uint64) bool {
	if f.sb.compat&compatSparseSuper2 != 0 {
		return g == 0 || g == uint64(f.sb.backupBGs[0]) || g == uint64(f.sb.backupBGs[1])
	}
	if g <= 1 || f.sb.roCompat&roSparseSuper == 0 {
		return true
	}
	for _, p := range []uint64{3, 5, 7} {
		n := p
		for n < g {
			n *= p
		}
		if n == g {
			return true
		}
	}
	return false
}

// readAt reads n bytes at byte offset off, checked against the data
// available and a fixed cap.
func (f *fsys) readAt(off, n int64) ([]byte, error) {
	return safeio.ReadAt(f.src, f.size, off, n, maxInodeBytes+f.sb.blockSize)
}

// checkBlock checks that count blocks from blk lie inside the filesystem.
func (f *fsys) checkBlock(blk, count uint64) error {
	if blk >= f.sb.blocksCount || count > f.sb.blocksCount-blk {
		return fmt.Errorf("%w: block %d (+%d) beyond %d blocks", ErrCorrupt, blk, count, f.sb.blocksCount)
	}
	return nil
}

// readBlock reads one whole block.
func (f *fsys) readBlock(blk uint64) ([]byte, error) {
	if err := f.checkBlock(blk, 1); err != nil {
		return nil, err
	}
	return f.readAt(int64(blk)*f.sb.blockSize, f.sb.blockSize)
}

// inodeTable returns the first block of group g's inode table.
func (f *fsys) inodeTable(g uint64) (uint64, error) {
	if t, ok := f.descs[g]; ok {
		return t, nil
	}
	sb := f.sb
	dpb := uint64(sb.blockSize / sb.descSize)
	idx := g / dpb
	var blk uint64
	if sb.incompat&incompatMetaBG != 0 && idx >= uint64(sb.firstMetaBG) {
		first := idx * dpb
		blk = uint64(sb.firstDataBlock) + first*uint64(sb.blocksPerGroup)
		if f.hasSuper(first) {
			blk++
		}
	} else {
		blk = uint64(sb.firstDataBlock) + 1 + idx
	}
	if err := f.checkBlock(blk, 1); err != nil {
		return 0, fmt.Errorf("group %d descriptor: %w", g, err)
	}
	d, err := f.readAt(int64(blk)*sb.blockSize+int64(g%dpb)*sb.descSize, sb.descSize)
	if err != nil {
		return 0, fmt.Errorf("group %d descriptor: %w", g, err)
	}
	t := uint64(binary.LittleEndian.Uint32(d[8:]))
	if sb.descSize >= 64 {
		t |= uint64(binary.LittleEndian.Uint32(d[40:])) << 32
	}
	if len(f.descs) >= maxDescCache {
		clear(f.descs)
	}
	f.descs[g] = t
	return t, nil
}

// inode is a parsed on-disk inode.
type inode struct {
	num    uint32
	off    int64
	mode   uint16
	uid    uint32
	gid    uint32
	size   uint64
	links  uint16
	blocks uint64 // 512-byte sectors (lo+hi only; huge_file scaling ignored)
	flags  uint32
	acl    uint64
	iblock [60]byte
	mtime  time.Time
	extra  []byte // bytes after the 128-byte base, up to the inode size
}

func (f *fsys) readInode(num uint32) (*inode, error) {
	sb := f.sb
	if num < 1 || num > sb.inodesCount {
		return nil, fmt.Errorf("%w: inode %d out of range", ErrCorrupt, num)
	}
	g := uint64(num-1) / uint64(sb.inodesPerGroup)
	idx := uint64(num-1) % uint64(sb.inodesPerGroup)
	t, err := f.inodeTable(g)
	if err != nil {
		return nil, err
	}
	tableBlocks := (uint64(sb.inodesPerGroup)*uint64(sb.inodeSize) + uint64(sb.blockSize) - 1) / uint64(sb.blockSize)
	if err := f.checkBlock(t, tableBlocks); err != nil {
		return nil, fmt.Errorf("inode table of group %d: %w", g, err)
	}
	off := int64(t)*sb.blockSize + int64(idx)*sb.inodeSize
	b, err := f.readAt(off, sb.inodeSize)
	if err != nil {
		return nil, fmt.Errorf("inode %d: %w", num, err)
	}
	le := binary.LittleEndian
	in := &inode{
		num:   num,
		off:   off,
		mode:  le.Uint16(b[0:]),
		uid:   uint32(le.Uint16(b[2:])) | uint32(le.Uint16(b[120:]))<<16,
		gid:   uint32(le.Uint16(b[24:])) | uint32(le.Uint16(b[122:]))<<16,
		size:  uint64(le.Uint32(b[4:])) | uint64(le.Uint32(b[108:]))<<32,
		links: le.Uint16(b[26:]),
		flags: le.Uint32(b[32:]),
		acl:   uint64(le.Uint32(b[104:])) | uint64(le.Uint16(b[118:]))<<32,
	}
	in.blocks = uint64(le.Uint32(b[28:])) | uint64(le.Uint16(b[116:]))<<32
	copy(in.iblock[:], b[40:100])
	sec := int64(int32(le.Uint32(b[16:])))
	var nsec int64
	if sb.inodeSize > 128 {
		isz := int64(le.Uint16(b[128:]))
		if isz > sb.inodeSize-128 {
			isz = 0
		}
		in.extra = b[128:]
		if isz >= 12 {
			x := le.Uint32(b[136:])
			sec += int64(x&3) << 32
			nsec = int64(x >> 2)
			if nsec > 999999999 {
				nsec = 0
			}
		}
	}
	in.mtime = time.Unix(sec, nsec).UTC()
	return in, nil
}

// inlineData returns the bytes of an inline_data inode: the 60 bytes of
// i_block followed by the value of the system.data attribute kept in the
// inode body.
func (f *fsys) inlineData(in *inode) []byte {
	out := append([]byte(nil), in.iblock[:]...)
	if len(in.extra) < 4 {
		return out
	}
	le := binary.LittleEndian
	isz := int(le.Uint16(in.extra[0:]))
	if isz < 4 || isz+4 > len(in.extra) || isz%4 != 0 {
		return out
	}
	area := in.extra[isz:]
	if le.Uint32(area) != 0xEA020000 {
		return out
	}
	area = area[4:]
	for p := 0; p+16 <= len(area); {
		nameLen := int(area[p])
		if nameLen == 0 && area[p+1] == 0 && le.Uint16(area[p+2:]) == 0 {
			break
		}
		idx := area[p+1]
		voff := int(le.Uint16(area[p+2:]))
		vino := le.Uint32(area[p+4:])
		vsize := int(le.Uint32(area[p+8:]))
		if p+16+nameLen > len(area) {
			break
		}
		name := string(area[p+16 : p+16+nameLen])
		if idx == 7 && name == "data" && vino == 0 && voff <= len(area) && vsize <= len(area)-voff {
			return append(out, area[voff:voff+vsize]...)
		}
		p += (16 + nameLen + 3) &^ 3
	}
	return out
}

// run is a range of logical blocks: phys 0 means a hole, and uninit
// blocks read as zeros too.
type run struct {
	logical, phys, count uint64
	uninit               bool
}

type runIter interface {
	next() (run, error) // io.EOF when done
}

// extentIter walks an extent tree depth first, in logical order.
type extentIter struct {
	f       *fsys
	stack   []extNode
	nextLog uint64
	seen    map[uint64]bool
}

type extNode struct {
	data    []byte
	entries int
	depth   int
	idx     int
}

func parseExtNode(b []byte) (extNode, error) {
	le := binary.LittleEndian
	if len(b) < 12 || le.Uint16(b[0:]) != 0xF30A {
		return extNode{}, fmt.Errorf("%w: bad extent header", ErrCorrupt)
	}
	n := int(le.Uint16(b[2:]))
	max := int(le.Uint16(b[4:]))
	depth := int(le.Uint16(b[6:]))
	if n > max || 12+12*max > len(b) || depth > maxExtDepth {
		return extNode{}, fmt.Errorf("%w: extent header entries %d/%d depth %d", ErrCorrupt, n, max, depth)
	}
	return extNode{data: b[12:], entries: n, depth: depth}, nil
}

func newExtentIter(f *fsys, in *inode) (*extentIter, error) {
	root, err := parseExtNode(in.iblock[:])
	if err != nil {
		return nil, fmt.Errorf("inode %d: %w", in.num, err)
	}
	return &extentIter{f: f, stack: []extNode{root}, seen: map[uint64]bool{}}, nil
}

func (it *extentIter) next() (run, error) {
	le := binary.LittleEndian
	for len(it.stack) > 0 {
		if err := it.f.ctx.Err(); err != nil {
			return run{}, err
		}
		top := &it.stack[len(it.stack)-1]
		if top.idx >= top.entries {
			it.stack = it.stack[:len(it.stack)-1]
			continue
		}
		e := top.data[top.idx*12 : top.idx*12+12]
		top.idx++
		if top.depth == 0 {
			lblk := uint64(le.Uint32(e[0:]))
			n := uint64(le.Uint16(e[4:]))
			uninit := false
			if n > 32768 {
				n -= 32768
				uninit = true
			}
			phys := uint64(le.Uint16(e[6:]))<<32 | uint64(le.Uint32(e[8:]))
			if n == 0 {
				continue
			}
			if lblk < it.nextLog {
				return run{}, fmt.Errorf("%w: extent at logical block %d overlaps or is out of order", ErrCorrupt, lblk)
			}
			if err := it.f.checkBlock(phys, n); err != nil {
				return run{}, err
			}
			it.nextLog = lblk + n
			return run{logical: lblk, phys: phys, count: n, uninit: uninit}, nil
		}
		child := uint64(le.Uint16(e[8:]))<<32 | uint64(le.Uint32(e[4:]))
		if it.seen[child] {
			return run{}, fmt.Errorf("%w: extent node block %d reached twice", ErrLoop, child)
		}
		if uint64(len(it.seen)) >= it.f.sb.blocksCount {
			return run{}, fmt.Errorf("%w: too many extent nodes", ErrLoop)
		}
		it.seen[child] = true
		b, err := it.f.readBlock(child)
		if err != nil {
			return run{}, fmt.Errorf("extent node: %w", err)
		}
		n, err := parseExtNode(b)
		if err != nil {
			return run{}, err
		}
		if n.depth != top.depth-1 {
			return run{}, fmt.Errorf("%w: extent node depth %d under depth %d", ErrLoop, n.depth, top.depth)
		}
		it.stack = append(it.stack, n)
	}
	return run{}, io.EOF
}

// mapIter walks a classic direct/indirect block map in logical order.
type mapIter struct {
	f       *fsys
	direct  [15]uint32
	ppb     uint64
	cur     uint64 // next logical block
	nblocks uint64
	cache   [4]struct {
		blk  uint64
		data []byte
	}
	slot int
}

func newMapIter(f *fsys, in *inode, nblocks uint64) *mapIter {
	it := &mapIter{f: f, ppb: uint64(f.sb.blockSize / 4), nblocks: nblocks}
	for i := range it.direct {
		it.direct[i] = binary.LittleEndian.Uint32(in.iblock[i*4:])
	}
	return it
}

// ptr reads entry i of the pointer block blk.
func (it *mapIter) ptr(blk uint64, i uint64) (uint64, error) {
	for _, c := range it.cache {
		if c.data != nil && c.blk == blk {
			return uint64(binary.LittleEndian.Uint32(c.data[i*4:])), nil
		}
	}
	b, err := it.f.readBlock(blk)
	if err != nil {
		return 0, fmt.Errorf("indirect block: %w", err)
	}
	it.cache[it.slot].blk, it.cache[it.slot].data = blk, b
	it.slot = (it.slot + 1) % len(it.cache)
	return uint64(binary.LittleEndian.Uint32(b[i*4:])), nil
}

// lookup maps logical block l to a physical block, or to 0 and the number
// of blocks known to be a hole from l on.
func (it *mapIter) lookup(l uint64) (phys, hole uint64, err error) {
	if l < 12 {
		if it.direct[l] == 0 {
			return 0, 1, nil
		}
		return uint64(it.direct[l]), 0, nil
	}
	l -= 12
	ppb := it.ppb
	span := ppb // blocks covered by one pointer at the top level
	for level := 0; level < 3; level++ {
		if l >= span {
			l -= span
			span *= ppb
			continue
		}
		blk := uint64(it.direct[12+level])
		per := span // blocks covered per pointer in blk
		for d := 0; d <= level; d++ {
			if blk == 0 {
				return 0, per - l%per, nil
			}
			per /= ppb
			blk, err = it.ptr(blk, (l/per)%ppb)
			if err != nil {
				return 0, 0, err
			}
		}
		if blk == 0 {
			return 0, 1, nil
		}
		return blk, 0, nil
	}
	return 0, 0, fmt.Errorf("%w: logical block beyond triple indirect range", ErrCorrupt)
}

func (it *mapIter) next() (run, error) {
	if it.cur >= it.nblocks {
		return run{}, io.EOF
	}
	start := it.cur
	phys, hole, err := it.lookup(start)
	if err != nil {
		return run{}, err
	}
	if phys == 0 {
		it.cur = start + hole
		return run{logical: start, count: hole}, nil
	}
	if err := it.f.checkBlock(phys, 1); err != nil {
		return run{}, err
	}
	n := uint64(1)
	for start+n < it.nblocks && n < 1<<16 {
		if n&1023 == 0 {
			if err := it.f.ctx.Err(); err != nil {
				return run{}, err
			}
		}
		p, _, err := it.lookup(start + n)
		if err != nil || p != phys+n || it.f.checkBlock(p, 1) != nil {
			break
		}
		n++
	}
	it.cur = start + n
	return run{logical: start, phys: phys, count: n}, nil
}

// dataReader streams size bytes of a file from its runs, one contiguous
// range per ReadAt; holes and uninitialised extents read as zeros.
type dataReader struct {
	f      *fsys
	it     runIter
	size   uint64 // bytes left
	pos    uint64 // logical byte position
	cur    run
	have   bool
	done   bool
	inline []byte
}

func (r *dataReader) Read(p []byte) (int, error) {
	if r.size == 0 {
		return 0, io.EOF
	}
	if err := r.f.ctx.Err(); err != nil {
		return 0, err
	}
	if uint64(len(p)) > r.size {
		p = p[:r.size]
	}
	if r.inline != nil {
		if r.pos >= uint64(len(r.inline)) {
			clear(p)
		} else {
			n := copy(p, r.inline[r.pos:])
			clear(p[n:])
		}
		r.pos += uint64(len(p))
		r.size -= uint64(len(p))
		return len(p), nil
	}
	bs := uint64(r.f.sb.blockSize)
	for {
		if r.have && r.pos < (r.cur.logical+r.cur.count)*bs {
			break
		}
		r.have = false
		if r.done {
			break
		}
		c, err := r.it.next()
		if err == io.EOF {
			r.done = true
			break
		}
		if err != nil {
			return 0, err
		}
		r.cur, r.have = c, true
	}
	var n int
	switch {
	case !r.have || r.pos < r.cur.logical*bs:
		// Gap before the next run, or past the last one: a hole.
		n = len(p)
		if r.have && r.cur.logical*bs-r.pos < uint64(n) {
			n = int(r.cur.logical*bs - r.pos)
		}
		clear(p[:n])
	default:
		end := (r.cur.logical + r.cur.count) * bs
		n = len(p)
		if end-r.pos < uint64(n) {
			n = int(end - r.pos)
		}
		if r.cur.phys == 0 || r.cur.uninit {
			clear(p[:n])
			break
		}
		off := r.cur.phys*bs + (r.pos - r.cur.logical*bs)
		if off > uint64(r.f.size) || uint64(n) > uint64(r.f.size)-off {
			return 0, fmt.Errorf("%w: data at offset %d beyond end of image", io.ErrUnexpectedEOF, off)
		}
		m, err := r.f.src.ReadAt(p[:n], int64(off))
		if m < n {
			if err == nil || err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return m, err
		}
	}
	r.pos += uint64(n)
	r.size -= uint64(n)
	return n, nil
}

// open returns a reader over the first size bytes of in's data.
func (f *fsys) open(in *inode, size uint64) (io.Reader, error) {
	if in.flags&flagInline != 0 {
		if f.sb.incompat&incompatInline == 0 {
			return nil, fmt.Errorf("%w: inline data flag without the feature", ErrCorrupt)
		}
		return &dataReader{f: f, size: size, inline: f.inlineData(in)}, nil
	}
	bs := uint64(f.sb.blockSize)
	if in.flags&flagExtents != 0 {
		it, err := newExtentIter(f, in)
		if err != nil {
			return nil, err
		}
		return &dataReader{f: f, it: it, size: size}, nil
	}
	nblocks := (size + bs - 1) / bs
	return &dataReader{f: f, it: newMapIter(f, in, nblocks), size: size}, nil
}

const (
	sIFMT   = 0xF000
	sIFIFO  = 0x1000
	sIFCHR  = 0x2000
	sIFDIR  = 0x4000
	sIFBLK  = 0x6000
	sIFREG  = 0x8000
	sIFLNK  = 0xA000
	sIFSOCK = 0xC000
)

func modeBits(m uint16) fs.FileMode {
	mode := fs.FileMode(m & 0o777)
	if m&0o4000 != 0 {
		mode |= fs.ModeSetuid
	}
	if m&0o2000 != 0 {
		mode |= fs.ModeSetgid
	}
	if m&0o1000 != 0 {
		mode |= fs.ModeSticky
	}
	return mode
}

type dirItem struct {
	ino   uint32
	path  string
	depth int
}

type walker struct {
	f   *fsys
	dst firmware.Sink
	// dirBudget is the directory data still allowed to be read. Distinct
	// directories never share blocks, so a sound image reads at most its
	// own size; more means blocks shared between directories.
	dirBudget int64
	entries   int
	dirs      map[uint32]bool
	links     map[uint32]string
}

func (format) Extract(ctx context.Context, src io.ReaderAt, size int64, dst firmware.Sink) (int64, error) {
	b, err := safeio.ReadAt(src, size, sbOffset, sbSize, sbSize)
	if err != nil {
		return 0, fmt.Errorf("%w: %w", ErrSuperblock, err)
	}
	sb, err := parseSuperblock(b)
	if err != nil {
		return 0, err
	}
	total := size
	if sb.blocksCount <= uint64(size/sb.blockSize) {
		total = int64(sb.blocksCount) * sb.blockSize
	}
	f := &fsys{ctx: ctx, src: src, size: size, sb: sb, descs: map[uint64]uint64{}}
	if sb.incompat&incompatRecover != 0 {
		dst.Fail(firmware.Entry{Path: "", Type: firmware.TypeDir, Offset: sbOffset}, ErrJournal)
	}
	w := &walker{f: f, dst: dst, dirBudget: size + 1<<20, dirs: map[uint32]bool{rootInode: true}, links: map[uint32]string{}}
	root, err := f.readInode(rootInode)
	if err != nil {
		return total, fmt.Errorf("root directory: %w", err)
	}
	if root.mode&sIFMT != sIFDIR {
		return total, fmt.Errorf("%w: root inode is not a directory", ErrCorrupt)
	}
	stack := []dirItem{{ino: rootInode}}
	for len(stack) > 0 {
		if err := ctx.Err(); err != nil {
			return total, err
		}
		d := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		sub, err := w.listDir(d)
		if err != nil {
			return total, err
		}
		// Push in reverse so the walk visits children in directory order.
		for i := len(sub) - 1; i >= 0; i-- {
			stack = append(stack, sub[i])
		}
	}
	return total, nil
}

// listDir reads directory d, puts every child and returns the
// subdirectories to walk. Only sink errors are returned.
func (w *walker) listDir(d dirItem) ([]dirItem, error) {
	f := w.f
	dirEntry := firmware.Entry{Path: d.path, Type: firmware.TypeDir, Offset: -1}
	in, err := f.readInode(d.ino)
	if err != nil {
		w.dst.Fail(dirEntry, err)
		return nil, nil
	}
	dirEntry.Offset = in.off
	var blocks [][]byte // regions to parse as linear entries
	if in.flags&flagInline != 0 {
		data := f.inlineData(in)
		if len(data) < 4 {
			w.dst.Fail(dirEntry, fmt.Errorf("%w: short inline directory", ErrCorrupt))
			return nil, nil
		}
		blocks = append(blocks, data[4:60])
		if len(data) > 60 {
			blocks = append(blocks, data[60:])
		}
		return w.parseDir(d, dirEntry, blocks, nil)
	}
	size := in.size
	if size > maxDirSize || size > uint64(f.size) {
		w.dst.Fail(dirEntry, fmt.Errorf("%w: directory size %d", ErrCorrupt, size))
		return nil, nil
	}
	if int64(size) > w.dirBudget {
		return nil, fmt.Errorf("%w: directories hold more data than the image (shared blocks)", ErrLoop)
	}
	w.dirBudget -= int64(size)
	r, err := f.open(in, size)
	if err != nil {
		w.dst.Fail(dirEntry, err)
		return nil, nil
	}
	return w.parseDir(d, dirEntry, nil, r)
}

func (w *walker) parseDir(d dirItem, dirEntry firmware.Entry, blocks [][]byte, r io.Reader) ([]dirItem, error) {
	f := w.f
	var subs []dirItem
	buf := make([]byte, f.sb.blockSize)
	for bi := 0; ; bi++ {
		var blk []byte
		if r == nil {
			if bi >= len(blocks) {
				break
			}
			blk = blocks[bi]
		} else {
			n, err := io.ReadFull(r, buf)
			if n == 0 && (err == io.EOF || err == nil) {
				break
			}
			if err != nil && err != io.ErrUnexpectedEOF {
				w.dst.Fail(dirEntry, fmt.Errorf("directory block %d: %w", bi, err))
				break
			}
			blk = buf[:n]
		}
		for p := 0; p+8 <= len(blk); {
			if err := f.ctx.Err(); err != nil {
				return nil, err
			}
			le := binary.LittleEndian
			ino := le.Uint32(blk[p:])
			recLen := int(le.Uint16(blk[p+4:]))
			if f.sb.blockSize >= 65536 {
				// Large blocks keep rec_len bits 16-17 in the low two bits.
				if recLen == 65535 || recLen == 0 {
					recLen = int(f.sb.blockSize)
				} else {
					recLen = recLen&65532 | (recLen&3)<<16
				}
			}
			nameLen := int(blk[p+6])
			if f.sb.incompat&incompatFiletype == 0 {
				nameLen = int(le.Uint16(blk[p+6:]))
			}
			if recLen < 8 || recLen%4 != 0 || recLen > len(blk)-p || nameLen+8 > recLen {
				w.dst.Fail(dirEntry, fmt.Errorf("%w: directory block %d: bad entry at %d (rec_len %d)", ErrCorrupt, bi, p, recLen))
				break
			}
			name := string(blk[p+8 : p+8+nameLen])
			p += recLen
			if ino == 0 || name == "." || name == ".." || nameLen == 0 {
				continue
			}
			w.entries++
			if w.entries > maxEntries {
				return nil, &firmware.LimitError{Limit: "max-files", Value: maxEntries, Msg: "ext: too many directory entries"}
			}
			path := name
			if d.path != "" {
				path = d.path + "/" + name
			}
			sub, err := w.putChild(ino, path, d.depth+1)
			if err != nil {
				return nil, err
			}
			if sub != nil {
				subs = append(subs, *sub)
			}
		}
	}
	return subs, nil
}

// putChild puts one directory entry; a directory to walk is returned.
func (w *walker) putChild(ino uint32, path string, depth int) (*dirItem, error) {
	f := w.f
	e := firmware.Entry{Path: path, Offset: -1}
	in, err := f.readInode(ino)
	if err != nil {
		w.dst.Fail(e, err)
		return nil, nil
	}
	e.Offset = in.off
	e.Mode = modeBits(in.mode)
	e.UID, e.GID = int64(in.uid), int64(in.gid)
	e.ModTime = in.mtime
	typ := in.mode & sIFMT
	if typ == sIFDIR {
		e.Type = firmware.TypeDir
		if w.dirs[ino] {
			w.dst.Fail(e, fmt.Errorf("%w: directory inode %d reached twice", ErrLoop, ino))
			return nil, nil
		}
		if depth > maxDepth {
			w.dst.Fail(e, fmt.Errorf("%w: directories nested deeper than %d", ErrLoop, maxDepth))
			return nil, nil
		}
		w.dirs[ino] = true
		if err := w.dst.Put(f.ctx, e, nil); err != nil {
			return nil, err
		}
		return &dirItem{ino: ino, path: path, depth: depth}, nil
	}
	if first, ok := w.links[ino]; ok {
		e.Type = firmware.TypeHardlink
		e.LinkTarget = first
		return nil, w.dst.Put(f.ctx, e, nil)
	}
	w.links[ino] = path
	switch typ {
	case sIFREG:
		e.Type = firmware.TypeFile
		e.Size = int64(in.size & (1<<63 - 1))
		r, err := f.open(in, in.size)
		if err != nil {
			w.dst.Fail(e, err)
			return nil, nil
		}
		return nil, w.dst.Put(f.ctx, e, r)
	case sIFLNK:
		e.Type = firmware.TypeSymlink
		target, err := w.symlink(in)
		if err != nil {
			w.dst.Fail(e, err)
			return nil, nil
		}
		e.LinkTarget = target
	case sIFCHR, sIFBLK:
		e.Type = firmware.TypeCharDevice
		if typ == sIFBLK {
			e.Type = firmware.TypeBlockDevice
		}
		le := binary.LittleEndian
		if old := le.Uint32(in.iblock[0:]); old != 0 {
			e.DevMajor, e.DevMinor = (old>>8)&0xff, old&0xff
		} else {
			dev := le.Uint32(in.iblock[4:])
			e.DevMajor = (dev & 0xfff00) >> 8
			e.DevMinor = dev&0xff | (dev>>12)&0xfff00
		}
	case sIFIFO:
		e.Type = firmware.TypeFIFO
	case sIFSOCK:
		e.Type = firmware.TypeSocket
	default:
		w.dst.Fail(e, fmt.Errorf("%w: inode %d has unknown type %#o", ErrCorrupt, ino, typ))
		return nil, nil
	}
	return nil, w.dst.Put(f.ctx, e, nil)
}

func (w *walker) symlink(in *inode) (string, error) {
	f := w.f
	if in.size > maxSymlink {
		return "", fmt.Errorf("%w: symlink of %d bytes", ErrCorrupt, in.size)
	}
	// A fast symlink keeps its target in i_block and owns no data block
	// (an extended attribute block may be counted in i_blocks).
	aclSectors := uint64(0)
	if in.acl != 0 {
		aclSectors = uint64(f.sb.blockSize / 512)
	}
	if in.flags&(flagExtents|flagInline) == 0 && in.size < 60 && in.blocks <= aclSectors {
		return string(in.iblock[:in.size]), nil
	}
	r, err := f.open(in, in.size)
	if err != nil {
		return "", err
	}
	b, err := safeio.ReadAll(r, maxSymlink)
	if err != nil {
		return "", err
	}
	return string(b), nil
}
