// Package cramfs reads CramFS compressed ROM filesystem images in both byte
// orders, with or without the 512-byte boot pad.
//
// Inodes pack their fields in bit fields allocated from the least
// significant bit in little-endian images and from the most significant
// bit in big-endian ones. File data is a table of block end pointers
// followed by zlib blocks of one page each; the page size is not recorded
// and is inferred. The version 2 CRC is checked, and a mismatch is
// reported through the sink without stopping extraction.
package cramfs

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"

	"github.com/klauspost/compress/zlib"

	"github.com/netvet/netvet/internal/firmware"
	"github.com/netvet/netvet/internal/safeio"
)

// Sentinel errors.
var (
	ErrSuperblock = errors.New("cramfs: bad superblock")
	ErrCRC        = errors.New("cramfs: image CRC mismatch")
	ErrCorrupt    = errors.New("cramfs: corrupt image")
	ErrTooMany    = errors.New("cramfs: too many entries")
)

const (
	magic     = 0x28cd3d45
	signature = "Compressed ROMFS"
	padSize   = 512
	sbLen     = 64
	inodeLen  = 12

	flagFSIDv2       = 0x001
	flagSortedDirs   = 0x002
	flagHoles        = 0x100
	flagWrongSig     = 0x200
	flagShiftedRoot  = 0x400
	flagExtBlockPtrs = 0x800
	supportedFlags   = 0xff | flagHoles | flagWrongSig | flagShiftedRoot | flagExtBlockPtrs

	blkUncompressed = 1 << 31
	blkDirect       = 1 << 30
	blkFlags        = blkUncompressed | blkDirect

	defaultBlock = 4096
	maxBlock     = 64 << 10
	maxEntries   = 1 << 20
	maxDepth     = 512
	maxLink      = 64 << 10
)

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

// New returns the CramFS format.
func New() firmware.Format { return format{} }

var _ firmware.Format = format{}

func (format) Info() firmware.Info {
	le := []byte{0x45, 0x3d, 0xcd, 0x28}
	be := []byte{0x28, 0xcd, 0x3d, 0x45}
	return firmware.Info{
		Name:        "cramfs",
		Description: "CramFS compressed ROM filesystem",
		Kind:        firmware.KindFilesystem,
		Signatures: []firmware.Signature{
			{Magic: le}, {Magic: be},
			{Magic: le, Offset: padSize}, {Magic: be, Offset: padSize},
		},
		Variants: []string{
			"little-endian", "big-endian", "512-byte boot pad", "version 2 (fsid CRC)",
			"zlib blocks", "holes", "extended block pointers (direct, uncompressed)",
			"block size 4-64 KiB (inferred)",
		},
	}
}

// inode is a decoded CramFS inode.
type inode struct {
	mode    uint16
	uid     uint16
	size    uint32 // 24 bits
	gid     uint8
	namelen int   // bytes
	offset  int64 // bytes
}

type super struct {
	bo    binary.ByteOrder
	base  int64 // offset of the superblock: 0 or 512
	size  int64 // image size from the superblock (0 if not recorded)
	flags uint32
	crc   uint32
	root  inode
}

func decodeInode(bo binary.ByteOrder, b []byte) inode {
	w0, w1, w2 := bo.Uint32(b), bo.Uint32(b[4:]), bo.Uint32(b[8:])
	if bo == binary.ByteOrder(binary.BigEndian) {
		// Bit fields are allocated from the most significant bit.
		return inode{
			mode: uint16(w0 >> 16), uid: uint16(w0),
			size: w1 >> 8, gid: uint8(w1),
			namelen: int(w2>>26) * 4, offset: int64(w2&0x3ffffff) * 4,
		}
	}
	return inode{
		mode: uint16(w0), uid: uint16(w0 >> 16),
		size: w1 & 0xffffff, gid: uint8(w1 >> 24),
		namelen: int(w2&0x3f) * 4, offset: int64(w2>>6) * 4,
	}
}

// readSuper parses the superblock at base, or returns false.
func readSuper(src io.ReaderAt, size, base int64) (super, bool) {
	var b [sbLen + inodeLen]byte
	if size < base+int64(len(b)) {
		return super{}, false
	}
	if _, err := src.ReadAt(b[:], base); err != nil {
		return super{}, false
	}
	var bo binary.ByteOrder
	switch {
	case binary.LittleEndian.Uint32(b[:]) == magic:
		bo = binary.LittleEndian
	case binary.BigEndian.Uint32(b[:]) == magic:
		bo = binary.BigEndian
	default:
		return super{}, false
	}
	s := super{bo: bo, base: base, flags: bo.Uint32(b[8:]), crc: bo.Uint32(b[32:])}
	if s.flags&^supportedFlags != 0 {
		return super{}, false
	}
	if string(b[16:32]) != signature && s.flags&flagWrongSig == 0 {
		return super{}, false
	}
	if s.flags&flagFSIDv2 != 0 {
		s.size = int64(bo.Uint32(b[4:]))
		if s.size < base+sbLen+inodeLen {
			return super{}, false
		}
	}
	s.root = decodeInode(bo, b[sbLen:])
	if s.root.mode&sIFMT != sIFDIR {
		return super{}, false
	}
	if s.root.offset != 0 && s.root.offset < base+sbLen+inodeLen {
		return super{}, false
	}
	if base == 0 && s.root.offset == padSize+sbLen+inodeLen && s.flags&flagShiftedRoot == 0 {
		// The superblock of a padded image, seen without its pad.
		return super{}, false
	}
	return s, true
}

func detect(src io.ReaderAt, size int64) (super, bool) {
	if s, ok := readSuper(src, size, 0); ok {
		return s, true
	}
	return readSuper(src, size, padSize)
}

func (format) Identify(src io.ReaderAt, size int64) bool {
	_, ok := detect(src, size)
	return ok
}

type image struct {
	src     io.ReaderAt
	size    int64 // bytes usable
	sb      super
	block   int64 // block (page) size
	known   bool  // block size settled
	entries int
	maxEnd  int64
	seenDir map[int64]bool
}

func (format) Extract(ctx context.Context, src io.ReaderAt, size int64, dst firmware.Sink) (int64, error) {
	sb, ok := detect(src, size)
	if !ok {
		return 0, ErrSuperblock
	}
	im := &image{src: src, size: size, sb: sb, block: defaultBlock, seenDir: map[int64]bool{}}
	end := int64(0)
	if sb.size > 0 {
		end = min(sb.size, size)
		im.size = end
		if sb.size > size {
			dst.Fail(firmware.Entry{Offset: sb.base}, fmt.Errorf("%w: image of %d bytes truncated to %d", ErrCorrupt, sb.size, size))
		} else if err := im.checkCRC(ctx); err != nil {
			if !errors.Is(err, ErrCRC) {
				return end, err
			}
			dst.Fail(firmware.Entry{Offset: sb.base}, err)
		}
	}
	im.maxEnd = sb.base + sbLen + inodeLen
	err := im.dir(ctx, dst, sb.root, "", 0)
	if end == 0 {
		// No recorded size: images are padded to whole blocks.
		end = min((im.maxEnd+defaultBlock-1)/defaultBlock*defaultBlock, size)
	}
	return end, err
}

// checkCRC verifies the version 2 CRC, computed over the image from the
// superblock with the CRC field zeroed.
func (im *image) checkCRC(ctx context.Context) error {
	h := crc32.NewIEEE()
	buf := make([]byte, 64<<10)
	for off := im.sb.base; off < im.sb.size; {
		if err := ctx.Err(); err != nil {
			return err
		}
		n := min(int64(len(buf)), im.sb.size-off)
		if _, err := im.src.ReadAt(buf[:n], off); err != nil {
			return fmt.Errorf("%w: read at 0x%x: %v", ErrCorrupt, off, err)
		}
		if off == im.sb.base {
			clear(buf[32:36])
		}
		h.Write(buf[:n])
		off += n
	}
	if got := h.Sum32(); got != im.sb.crc {
		return fmt.Errorf("%w: computed 0x%08x, superblock says 0x%08x", ErrCRC, got, im.sb.crc)
	}
	return nil
}

func (im *image) note(end int64) {
	if end > im.maxEnd {
		im.maxEnd = end
	}
}

func perm(mode uint16) fs.FileMode {
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

// dir emits the entries of the directory d, found under prefix.
func (im *image) dir(ctx context.Context, dst firmware.Sink, d inode, prefix string, depth int) error {
	if d.size == 0 {
		return nil
	}
	if im.seenDir[d.offset] {
		return fmt.Errorf("%w: directory at offset 0x%x reached twice (loop)", ErrCorrupt, d.offset)
	}
	im.seenDir[d.offset] = true
	b, err := safeio.ReadAt(im.src, im.size, d.offset, int64(d.size), 1<<24)
	if err != nil {
		return fmt.Errorf("%w: directory %q at offset 0x%x: %v", ErrCorrupt, prefix, d.offset, err)
	}
	im.note(d.offset + int64(d.size))
	for pos := 0; pos < len(b); {
		if err := ctx.Err(); err != nil {
			return err
		}
		if im.entries++; im.entries > maxEntries {
			return fmt.Errorf("%w: more than %d", ErrTooMany, maxEntries)
		}
		if pos+inodeLen > len(b) {
			return fmt.Errorf("%w: directory %q at offset 0x%x: entry at %d overruns", ErrCorrupt, prefix, d.offset, pos)
		}
		in := decodeInode(im.sb.bo, b[pos:])
		epos := d.offset + int64(pos)
		pos += inodeLen
		if in.namelen == 0 || pos+in.namelen > len(b) {
			return fmt.Errorf("%w: directory %q: entry at offset 0x%x has a bad name length", ErrCorrupt, prefix, epos)
		}
		name := string(bytes.TrimRight(b[pos:pos+in.namelen], "\x00"))
		pos += in.namelen
		p := name
		if prefix != "" {
			p = prefix + "/" + name
		}
		if err := im.entry(ctx, dst, in, p, epos, depth); err != nil {
			return err
		}
	}
	return nil
}

func (im *image) entry(ctx context.Context, dst firmware.Sink, in inode, p string, epos int64, depth int) error {
	e := firmware.Entry{
		Path:   p,
		Mode:   perm(in.mode),
		UID:    int64(in.uid),
		GID:    int64(in.gid),
		Offset: epos,
	}
	switch in.mode & sIFMT {
	case sIFDIR:
		e.Type = firmware.TypeDir
		if depth >= maxDepth {
			dst.Fail(e, fmt.Errorf("%w: directories nested deeper than %d", ErrCorrupt, maxDepth))
			return nil
		}
		if err := dst.Put(ctx, e, nil); err != nil {
			return err
		}
		if err := im.dir(ctx, dst, in, p, depth+1); err != nil {
			if errors.Is(err, ErrCorrupt) {
				dst.Fail(e, err)
				return nil
			}
			return err
		}
		return nil
	case sIFREG:
		e.Type = firmware.TypeFile
		e.Size = int64(in.size)
		r, err := im.fileReader(in)
		if err != nil {
			dst.Fail(e, fmt.Errorf("%q: %w", p, err))
			return nil
		}
		return dst.Put(ctx, e, r)
	case sIFLNK:
		e.Type = firmware.TypeSymlink
		if in.size > maxLink {
			dst.Fail(e, fmt.Errorf("%w: symlink %q target of %d bytes", ErrCorrupt, p, in.size))
			return nil
		}
		r, err := im.fileReader(in)
		if err == nil {
			var t []byte
			t, err = safeio.ReadAll(r, maxLink)
			e.LinkTarget = string(t)
		}
		if err != nil {
			dst.Fail(e, fmt.Errorf("symlink %q: %w", p, err))
			return nil
		}
	case sIFCHR, sIFBLK:
		e.Type = firmware.TypeCharDevice
		if in.mode&sIFMT == sIFBLK {
			e.Type = firmware.TypeBlockDevice
		}
		e.DevMajor = (in.size >> 8) & 0xfff
		e.DevMinor = in.size&0xff | (in.size>>12)&0xfff00
	case sIFIFO:
		e.Type = firmware.TypeFIFO
	case sIFSOCK:
		e.Type = firmware.TypeSocket
	default:
		dst.Fail(e, fmt.Errorf("%w: %q has unknown mode 0%o", ErrCorrupt, p, in.mode))
		return nil
	}
	return dst.Put(ctx, e, nil)
}

// blockRange returns where block i of a file with n blocks is stored
// (start, length) and whether it is stored uncompressed.
func (im *image) blockRange(ptrs []byte, in inode, i, n int, bs int64) (int64, int64, bool, error) {
	bo := im.sb.bo
	ext := im.sb.flags&flagExtBlockPtrs != 0
	ptr := bo.Uint32(ptrs[4*i:])
	if ext && ptr&blkDirect != 0 {
		start := int64(ptr&^blkFlags) << 2
		if ptr&blkUncompressed != 0 {
			l := bs
			if i == n-1 {
				if r := int64(in.size) % bs; r != 0 {
					l = r
				}
			}
			return start, l, true, nil
		}
		var lb [2]byte
		if start+2 > im.size {
			return 0, 0, false, fmt.Errorf("%w: block %d at 0x%x past end", ErrCorrupt, i, start)
		}
		if _, err := im.src.ReadAt(lb[:], start); err != nil {
			return 0, 0, false, fmt.Errorf("%w: block %d: %v", ErrCorrupt, i, err)
		}
		return start + 2, int64(bo.Uint16(lb[:])), false, nil
	}
	start := in.offset + int64(n)*4
	if i > 0 {
		prev := bo.Uint32(ptrs[4*(i-1):])
		switch {
		case ext && prev&blkDirect != 0:
			ps := int64(prev&^blkFlags) << 2
			if prev&blkUncompressed != 0 {
				start = ps + bs
			} else {
				var lb [2]byte
				if _, err := im.src.ReadAt(lb[:], ps); err != nil {
					return 0, 0, false, fmt.Errorf("%w: block %d: %v", ErrCorrupt, i-1, err)
				}
				start = ps + 2 + int64(bo.Uint16(lb[:]))
			}
		case ext:
			start = int64(prev &^ blkFlags)
		default:
			start = int64(prev)
		}
	}
	end := int64(ptr)
	unc := false
	if ext {
		end = int64(ptr &^ blkFlags)
		unc = ptr&blkUncompressed != 0
	}
	if end < start {
		return 0, 0, false, fmt.Errorf("%w: block %d ends at 0x%x before its start 0x%x", ErrCorrupt, i, end, start)
	}
	return start, end - start, unc, nil
}

// blockSize returns the block size to read the file in with. CramFS
// does not record it: it is the page size of the machine that made the
// image. It is settled by the first file whose first block decompresses
// to a whole block of a candidate size smaller than the file; until then
// each file larger than 4 KiB is probed on its own.
func (im *image) blockSize(in inode) int64 {
	if im.known || int64(in.size) <= defaultBlock {
		return im.block
	}
	for bs := int64(defaultBlock); bs <= maxBlock; bs *= 2 {
		n := (int64(in.size) + bs - 1) / bs
		ptrs, err := safeio.ReadAt(im.src, im.size, in.offset, 4*n, 4*n)
		if err != nil {
			continue
		}
		start, l, unc, err := im.blockRange(ptrs, in, 0, int(n), bs)
		if err != nil || unc || l == 0 || l > 2*bs || start+l > im.size {
			continue
		}
		got, err := im.inflate(start, l, bs+1)
		if err != nil || int64(got) != min(bs, int64(in.size)) {
			continue
		}
		if int64(in.size) > bs {
			im.block, im.known = bs, true
		}
		return bs
	}
	return im.block
}

// inflate decompresses the zlib block at start and returns its length,
// reading at most max bytes of output.
func (im *image) inflate(start, l, max int64) (int, error) {
	zr, err := zlib.NewReader(io.NewSectionReader(im.src, start, l))
	if err != nil {
		return 0, err
	}
	defer zr.Close()
	n, err := io.Copy(io.Discard, io.LimitReader(zr, max))
	return int(n), err
}

func (im *image) fileReader(in inode) (io.Reader, error) {
	if in.size == 0 {
		return bytes.NewReader(nil), nil
	}
	bs := im.blockSize(in)
	n := (int64(in.size) + bs - 1) / bs
	ptrs, err := safeio.ReadAt(im.src, im.size, in.offset, 4*n, 4*n)
	if err != nil {
		return nil, fmt.Errorf("%w: block pointers at 0x%x: %v", ErrCorrupt, in.offset, err)
	}
	return &fileReader{im: im, in: in, ptrs: ptrs, n: int(n), bs: bs}, nil
}

type fileReader struct {
	im   *image
	in   inode
	ptrs []byte
	n    int   // blocks
	bs   int64 // block size
	i    int   // next block
	buf  []byte
	cur  []byte // unread part of the current block
	zr   io.ReadCloser
}

func (r *fileReader) Read(p []byte) (int, error) {
	for len(r.cur) == 0 {
		if r.i >= r.n {
			return 0, io.EOF
		}
		if err := r.next(); err != nil {
			return 0, err
		}
	}
	c := copy(p, r.cur)
	r.cur = r.cur[c:]
	return c, nil
}

func (r *fileReader) next() error {
	im := r.im
	i := r.i
	r.i++
	bs := r.bs
	want := bs
	if i == r.n-1 {
		if rem := int64(r.in.size) - int64(i)*bs; rem < want {
			want = rem
		}
	}
	if r.buf == nil {
		r.buf = make([]byte, bs)
	}
	out := r.buf[:want]
	start, l, unc, err := im.blockRange(r.ptrs, r.in, i, r.n, bs)
	if err != nil {
		return err
	}
	if start < 0 || start+l > im.size {
		return fmt.Errorf("%w: block %d at 0x%x (+%d) past end of image", ErrCorrupt, i, start, l)
	}
	im.note(start + l)
	switch {
	case l == 0:
		clear(out) // hole
	case unc:
		if l > bs {
			return fmt.Errorf("%w: uncompressed block %d of %d bytes", ErrCorrupt, i, l)
		}
		clear(out)
		if _, err := im.src.ReadAt(out[:min(l, want)], start); err != nil {
			return fmt.Errorf("%w: block %d: %v", ErrCorrupt, i, err)
		}
	default:
		if l > 2*bs {
			return fmt.Errorf("%w: compressed block %d of %d bytes", ErrCorrupt, i, l)
		}
		sr := io.NewSectionReader(im.src, start, l)
		if r.zr == nil {
			r.zr, err = zlib.NewReader(sr)
		} else {
			err = r.zr.(zlib.Resetter).Reset(sr, nil)
		}
		if err != nil {
			return fmt.Errorf("%w: block %d at 0x%x: %v", ErrCorrupt, i, start, err)
		}
		if _, err := io.ReadFull(r.zr, out); err != nil {
			return fmt.Errorf("%w: block %d at 0x%x: %v", ErrCorrupt, i, start, err)
		}
	}
	r.cur = out
	return nil
}
