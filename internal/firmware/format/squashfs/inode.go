package squashfs

import (
	"fmt"
)

// Basic inode types (the extended v3/v4 types are folded into these).
const (
	typDir     = 1
	typFile    = 2
	typSymlink = 3
	typBlk     = 4
	typChr     = 5
	typFIFO    = 6
	typSock    = 7
)

// inode is the version-independent view of an inode.
type inode struct {
	ref    uint64 // block<<16 | offset within the inode table
	typ    int
	mode   uint16 // permission and setuid/setgid/sticky bits
	uid    uint32
	gid    uint32
	mtime  uint32
	number uint32
	pos    int64 // absolute position of the metadata block holding the inode

	// directories: where the listing starts and how long it is
	dirBlock  uint32
	dirOffset uint32
	dirSize   uint32

	// regular files
	startBlock uint64
	fileSize   uint64
	frag       uint32
	fragOffset uint32
	blocks     []uint32

	// symlinks and devices
	target             string
	rdevMaj, rdevMinor uint32
}

// inodePos converts an inode reference into a metadata stream position.
func (f *fsys) inodePos(ref uint64) (metaPos, error) {
	blk, off := ref>>16, ref&0xffff
	if blk >= f.sb.dirTable-f.sb.inodeTable || off >= metaSize {
		return metaPos{}, fmt.Errorf("%w: inode reference %#x outside the inode table", ErrCorrupt, ref)
	}
	return metaPos{blk: int64(f.sb.inodeTable + blk), off: int(off)}, nil
}

// readInode reads the inode that ref points at.
func (f *fsys) readInode(ref uint64) (*inode, error) {
	p, err := f.inodePos(ref)
	if err != nil {
		return nil, err
	}
	ino := &inode{ref: ref, pos: p.blk}
	if f.sb.major == 4 {
		err = f.readInode4(&p, ino)
	} else {
		err = f.readInode23(&p, ino)
	}
	if err != nil {
		return nil, fmt.Errorf("inode %#x at offset %#x: %w", ref, ino.pos, err)
	}
	return ino, nil
}

func (f *fsys) lookupID(i uint32) (uint32, error) {
	if int(i) >= len(f.ids) {
		return 0, fmt.Errorf("%w: id index %d of %d", ErrCorrupt, i, len(f.ids))
	}
	return f.ids[i], nil
}

// blockCount is the number of full blocks of a file (the tail may be in a fragment).
func (f *fsys) blockCount(size uint64, frag uint32) (uint64, error) {
	n := size >> f.sb.blockLog
	if frag == invalidFrag && size&uint64(f.sb.blockSize-1) != 0 {
		n++
	}
	// Each block needs a 4-byte entry in the inode table.
	if n > (f.sb.dirTable-f.sb.inodeTable)/4 {
		return 0, fmt.Errorf("%w: file size %d needs %d blocks, more than the inode table holds", ErrCorrupt, size, n)
	}
	return n, nil
}

func (f *fsys) readBlockList(p *metaPos, ino *inode) error {
	n, err := f.blockCount(ino.fileSize, ino.frag)
	if err != nil {
		return err
	}
	if n == 0 {
		return nil
	}
	buf := make([]byte, n*4)
	if err := f.readMeta(p, buf); err != nil {
		return fmt.Errorf("block list: %w", err)
	}
	ino.blocks = make([]uint32, n)
	for i := range ino.blocks {
		ino.blocks[i] = f.sb.order.Uint32(buf[i*4:])
	}
	return nil
}

func (f *fsys) readTarget(p *metaPos, ino *inode, n uint32) error {
	if n > maxLinkLen {
		return fmt.Errorf("%w: symlink target of %d bytes", ErrCorrupt, n)
	}
	b := make([]byte, n)
	if err := f.readMeta(p, b); err != nil {
		return fmt.Errorf("symlink target: %w", err)
	}
	ino.target = string(b)
	return nil
}

// decodeDev4 splits a v4 device number (Linux new encoding).
func decodeDev4(d uint32) (uint32, uint32) {
	return (d & 0xfff00) >> 8, (d & 0xff) | ((d >> 12) & 0xfff00)
}

func (f *fsys) readInode4(p *metaPos, ino *inode) error {
	o := f.sb.order
	var h [16]byte
	if err := f.readMeta(p, h[:]); err != nil {
		return err
	}
	t := o.Uint16(h[0:])
	ino.mode = o.Uint16(h[2:]) & 0o7777
	var err error
	if ino.uid, err = f.lookupID(uint32(o.Uint16(h[4:]))); err != nil {
		return err
	}
	if ino.gid, err = f.lookupID(uint32(o.Uint16(h[6:]))); err != nil {
		return err
	}
	ino.mtime = o.Uint32(h[8:])
	ino.number = o.Uint32(h[12:])
	var b [40]byte
	read := func(n int) ([]byte, error) { return b[:n], f.readMeta(p, b[:n]) }
	switch t {
	case 1: // dir
		d, err := read(16)
		if err != nil {
			return err
		}
		ino.typ = typDir
		ino.dirBlock = o.Uint32(d[0:])
		ino.dirSize = uint32(o.Uint16(d[8:]))
		ino.dirOffset = uint32(o.Uint16(d[10:]))
	case 8: // extended dir; its index only speeds up lookups and is skipped
		d, err := read(24)
		if err != nil {
			return err
		}
		ino.typ = typDir
		ino.dirSize = o.Uint32(d[4:])
		ino.dirBlock = o.Uint32(d[8:])
		ino.dirOffset = uint32(o.Uint16(d[18:]))
	case 2: // file
		d, err := read(16)
		if err != nil {
			return err
		}
		ino.typ = typFile
		ino.startBlock = uint64(o.Uint32(d[0:]))
		ino.frag = o.Uint32(d[4:])
		ino.fragOffset = o.Uint32(d[8:])
		ino.fileSize = uint64(o.Uint32(d[12:]))
		return f.readBlockList(p, ino)
	case 9: // extended file
		d, err := read(40)
		if err != nil {
			return err
		}
		ino.typ = typFile
		ino.startBlock = o.Uint64(d[0:])
		ino.fileSize = o.Uint64(d[8:])
		ino.frag = o.Uint32(d[28:])
		ino.fragOffset = o.Uint32(d[32:])
		return f.readBlockList(p, ino)
	case 3, 10: // symlink
		d, err := read(8)
		if err != nil {
			return err
		}
		ino.typ = typSymlink
		return f.readTarget(p, ino, o.Uint32(d[4:]))
	case 4, 5, 11, 12: // devices
		d, err := read(8)
		if err != nil {
			return err
		}
		ino.typ = typBlk
		if t == 5 || t == 12 {
			ino.typ = typChr
		}
		ino.rdevMaj, ino.rdevMinor = decodeDev4(o.Uint32(d[4:]))
	case 6, 13:
		ino.typ = typFIFO
	case 7, 14:
		ino.typ = typSock
	default:
		return fmt.Errorf("%w: inode type %d", ErrCorrupt, t)
	}
	return nil
}

// bitReader reads the packed bitfields of v2/v3 structures: little-endian
// images pack them from the least significant bit of each byte, big-endian
// images from the most significant bit. A byte-aligned field of 8, 16, 32 or
// 64 bits then reads as an integer in the image's byte order.
type bitReader struct {
	b   []byte
	be  bool
	pos int
}

func (r *bitReader) u(w int) uint64 {
	var v uint64
	for i := 0; i < w; i++ {
		k := r.pos + i
		if r.be {
			v = v<<1 | uint64(r.b[k>>3]>>(7-k&7)&1)
		} else {
			v |= uint64(r.b[k>>3]>>(k&7)&1) << i
		}
	}
	r.pos += w
	return v
}

func (f *fsys) bits(p *metaPos, n int) (*bitReader, error) {
	b := make([]byte, n)
	if err := f.readMeta(p, b); err != nil {
		return nil, err
	}
	return &bitReader{b: b, be: f.sb.major != 4 && f.sb.order.Uint16([]byte{0, 1}) == 1}, nil
}

func (f *fsys) readInode23(p *metaPos, ino *inode) error {
	v2 := f.sb.major == 2
	base := 12
	if v2 {
		base = 4
	}
	start := *p
	r, err := f.bits(p, base)
	if err != nil {
		return err
	}
	t := int(r.u(4))
	ino.mode = uint16(r.u(12)) & 0o7777
	uidx, gidx := uint32(r.u(8)), uint32(r.u(8))
	if int(uidx) >= len(f.uids) {
		return fmt.Errorf("%w: uid index %d of %d", ErrCorrupt, uidx, len(f.uids))
	}
	ino.uid = f.uids[uidx]
	switch {
	case gidx == 255:
		ino.gid = ino.uid
	case int(gidx) < len(f.guids):
		ino.gid = f.guids[gidx]
	default:
		return fmt.Errorf("%w: gid index %d of %d", ErrCorrupt, gidx, len(f.guids))
	}
	ino.mtime = f.sb.mkfsTime
	if !v2 {
		ino.mtime = uint32(r.u(32))
		ino.number = uint32(r.u(32))
	}
	// Re-read the whole structure once its type is known.
	whole := func(n int) (*bitReader, error) {
		*p = start
		r, err := f.bits(p, n)
		if err != nil {
			return nil, err
		}
		r.pos = base * 8
		return r, nil
	}
	switch t {
	case typDir:
		ino.typ = typDir
		if v2 {
			r, err := whole(base + 11)
			if err != nil {
				return err
			}
			ino.dirSize = uint32(r.u(19))
			ino.dirOffset = uint32(r.u(13))
			ino.mtime = uint32(r.u(32))
			ino.dirBlock = uint32(r.u(24))
		} else {
			r, err := whole(base + 16)
			if err != nil {
				return err
			}
			r.u(32) // nlink
			ino.dirSize = uint32(r.u(19))
			ino.dirOffset = uint32(r.u(13))
			ino.dirBlock = uint32(r.u(32))
		}
	case 8: // extended dir
		ino.typ = typDir
		if v2 {
			r, err := whole(base + 14)
			if err != nil {
				return err
			}
			ino.dirSize = uint32(r.u(27))
			ino.dirOffset = uint32(r.u(13))
			ino.mtime = uint32(r.u(32))
			ino.dirBlock = uint32(r.u(24))
		} else {
			r, err := whole(base + 19)
			if err != nil {
				return err
			}
			r.u(32) // nlink
			ino.dirSize = uint32(r.u(27))
			ino.dirOffset = uint32(r.u(13))
			ino.dirBlock = uint32(r.u(32))
		}
	case typFile, 9:
		ino.typ = typFile
		switch {
		case v2:
			if t == 9 {
				return fmt.Errorf("%w: inode type %d in a 2.x image", ErrCorrupt, t)
			}
			r, err := whole(base + 20)
			if err != nil {
				return err
			}
			ino.mtime = uint32(r.u(32))
			ino.startBlock = uint64(r.u(32))
			ino.frag = uint32(r.u(32))
			ino.fragOffset = uint32(r.u(32))
			ino.fileSize = r.u(32)
		case t == typFile: // the basic 3.x file inode has no link count
			r, err := whole(base + 20)
			if err != nil {
				return err
			}
			ino.startBlock = r.u(64)
			ino.frag = uint32(r.u(32))
			ino.fragOffset = uint32(r.u(32))
			ino.fileSize = r.u(32)
		default:
			r, err := whole(base + 28)
			if err != nil {
				return err
			}
			r.u(32) // nlink
			ino.startBlock = r.u(64)
			ino.frag = uint32(r.u(32))
			ino.fragOffset = uint32(r.u(32))
			ino.fileSize = r.u(64)
		}
		return f.readBlockList(p, ino)
	case typSymlink:
		ino.typ = typSymlink
		n := base + 2
		if !v2 {
			n += 4
		}
		r, err := whole(n)
		if err != nil {
			return err
		}
		if !v2 {
			r.u(32)
		}
		return f.readTarget(p, ino, uint32(r.u(16)))
	case typBlk, typChr:
		ino.typ = t
		n := base + 2
		if !v2 {
			n += 4
		}
		r, err := whole(n)
		if err != nil {
			return err
		}
		if !v2 {
			r.u(32)
		}
		d := uint32(r.u(16))
		ino.rdevMaj, ino.rdevMinor = d>>8, d&0xff
	case typFIFO, typSock:
		ino.typ = t
	default:
		return fmt.Errorf("%w: inode type %d", ErrCorrupt, t)
	}
	return nil
}
