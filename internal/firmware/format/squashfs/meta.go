package squashfs

import (
	"container/list"
	"fmt"
	"io"
	"sync"

	"github.com/netvet/netvet/internal/safeio"
)

// fsys holds one open image while it is extracted.
type fsys struct {
	src   io.ReaderAt
	size  int64 // bytes_used: nothing is read past it
	sb    *superblock
	codec *codec

	mu   sync.Mutex
	meta *lru

	ids   []uint32 // v4 id table
	uids  []uint32 // v2/v3
	guids []uint32 // v2/v3

	fragIndex map[uint64]uint64 // fragment index slot -> metadata block position
}

// mblock is one decompressed metadata block and where the next one starts.
type mblock struct {
	data []byte
	next int64
}

// lru is a small bounded least-recently-used cache.
type lru struct {
	cap int
	ll  *list.List
	m   map[int64]*list.Element
}

type lruItem struct {
	key int64
	val *mblock
}

func newLRU(n int) *lru { return &lru{cap: n, ll: list.New(), m: make(map[int64]*list.Element, n)} }

func (c *lru) get(k int64) (*mblock, bool) {
	if e, ok := c.m[k]; ok {
		c.ll.MoveToFront(e)
		return e.Value.(*lruItem).val, true
	}
	return nil, false
}

func (c *lru) put(k int64, v *mblock) {
	if e, ok := c.m[k]; ok {
		e.Value.(*lruItem).val = v
		c.ll.MoveToFront(e)
		return
	}
	c.m[k] = c.ll.PushFront(&lruItem{k, v})
	if c.ll.Len() > c.cap {
		e := c.ll.Back()
		c.ll.Remove(e)
		delete(c.m, e.Value.(*lruItem).key)
	}
}

// metaBlock reads the metadata block that starts at absolute position pos.
func (f *fsys) metaBlock(pos int64) (*mblock, error) {
	f.mu.Lock()
	if b, ok := f.meta.get(pos); ok {
		f.mu.Unlock()
		return b, nil
	}
	f.mu.Unlock()
	hlen := int64(2)
	if f.sb.check {
		hlen = 3
	}
	h, err := safeio.ReadAt(f.src, f.size, pos, hlen, 3)
	if err != nil {
		return nil, fmt.Errorf("metadata block at %#x: %w", pos, err)
	}
	hdr := f.sb.order.Uint16(h)
	n := int64(hdr & 0x7fff)
	if n == 0 || n > metaSize {
		return nil, fmt.Errorf("%w: metadata block at %#x has size %d", ErrCorrupt, pos, n)
	}
	raw, err := safeio.ReadAt(f.src, f.size, pos+hlen, n, metaSize)
	if err != nil {
		return nil, fmt.Errorf("metadata block at %#x: %w", pos, err)
	}
	data := raw
	if hdr&0x8000 == 0 {
		data, err = f.codec.decode(make([]byte, 0, metaSize), raw)
		if err != nil {
			return nil, fmt.Errorf("metadata block at %#x: %w", pos, err)
		}
	}
	if len(data) == 0 {
		return nil, fmt.Errorf("%w: empty metadata block at %#x", ErrCorrupt, pos)
	}
	b := &mblock{data: data, next: pos + hlen + n}
	f.mu.Lock()
	f.meta.put(pos, b)
	f.mu.Unlock()
	return b, nil
}

// metaPos is a position in a metadata stream: the absolute position of a
// metadata block and an offset into its decompressed data.
type metaPos struct {
	blk int64
	off int
}

// readMeta fills p from the metadata stream at pos and advances pos.
func (f *fsys) readMeta(pos *metaPos, p []byte) error {
	for len(p) > 0 {
		b, err := f.metaBlock(pos.blk)
		if err != nil {
			return err
		}
		if pos.off >= len(b.data) {
			if pos.off > len(b.data) {
				return fmt.Errorf("%w: offset %d past metadata block at %#x (%d bytes)", ErrCorrupt, pos.off, pos.blk, len(b.data))
			}
			pos.blk, pos.off = b.next, 0
			continue
		}
		n := copy(p, b.data[pos.off:])
		p = p[n:]
		pos.off += n
	}
	return nil
}

// loadIDs reads the uid/gid tables.
func (f *fsys) loadIDs() error {
	sb := f.sb
	if sb.major == 4 {
		n := int64(sb.noIDs)
		nidx := (n*4 + metaSize - 1) / metaSize
		idx, err := safeio.ReadAt(f.src, f.size, int64(sb.idTable), nidx*8, 8*64)
		if err != nil {
			return fmt.Errorf("id table index: %w", err)
		}
		buf := make([]byte, n*4)
		for i := int64(0); i < nidx; i++ {
			chunk := buf[i*metaSize:]
			if len(chunk) > metaSize {
				chunk = chunk[:metaSize]
			}
			p := metaPos{blk: int64(sb.order.Uint64(idx[i*8:]))}
			if p.blk < 0 || p.blk >= f.size {
				return fmt.Errorf("%w: id table block at %#x", ErrCorrupt, p.blk)
			}
			if err := f.readMeta(&p, chunk); err != nil {
				return fmt.Errorf("id table: %w", err)
			}
		}
		f.ids = make([]uint32, n)
		for i := range f.ids {
			f.ids[i] = sb.order.Uint32(buf[i*4:])
		}
		return nil
	}
	read := func(start uint64, n uint32) ([]uint32, error) {
		b, err := safeio.ReadAt(f.src, f.size, int64(start), int64(n)*4, 256*4)
		if err != nil {
			return nil, err
		}
		out := make([]uint32, n)
		for i := range out {
			out[i] = sb.order.Uint32(b[i*4:])
		}
		return out, nil
	}
	var err error
	if f.uids, err = read(sb.uidStart, sb.noUIDs); err != nil {
		return fmt.Errorf("uid table: %w", err)
	}
	if f.guids, err = read(sb.guidStart, sb.noGUIDs); err != nil {
		return fmt.Errorf("gid table: %w", err)
	}
	return nil
}

// fragment returns the position and stored size word of fragment block i.
func (f *fsys) fragment(i uint32) (int64, uint32, error) {
	sb := f.sb
	if sb.fragTable == invalidBlk || i >= sb.fragments {
		return 0, 0, fmt.Errorf("%w: fragment %d of %d", ErrCorrupt, i, sb.fragments)
	}
	entSize, ptrSize := int64(16), int64(8)
	if sb.major == 2 {
		entSize, ptrSize = 8, 4
	}
	perBlock := metaSize / entSize
	slot := int64(i) / perBlock
	f.mu.Lock()
	blk, ok := f.fragIndex[uint64(slot)]
	f.mu.Unlock()
	if !ok {
		b, err := safeio.ReadAt(f.src, f.size, int64(sb.fragTable)+slot*ptrSize, ptrSize, 8)
		if err != nil {
			return 0, 0, fmt.Errorf("fragment index: %w", err)
		}
		if ptrSize == 8 {
			blk = sb.order.Uint64(b)
		} else {
			blk = uint64(sb.order.Uint32(b))
		}
		f.mu.Lock()
		if f.fragIndex == nil || len(f.fragIndex) > 4096 {
			f.fragIndex = map[uint64]uint64{}
		}
		f.fragIndex[uint64(slot)] = blk
		f.mu.Unlock()
	}
	if blk >= uint64(f.size) {
		return 0, 0, fmt.Errorf("%w: fragment table block at %#x", ErrCorrupt, blk)
	}
	p := metaPos{blk: int64(blk), off: int((int64(i) % perBlock) * entSize)}
	var e [16]byte
	if err := f.readMeta(&p, e[:entSize]); err != nil {
		return 0, 0, fmt.Errorf("fragment %d: %w", i, err)
	}
	if sb.major == 2 {
		return int64(sb.order.Uint32(e[0:])), sb.order.Uint32(e[4:]), nil
	}
	start := sb.order.Uint64(e[0:])
	if start >= uint64(f.size) {
		return 0, 0, fmt.Errorf("%w: fragment %d at %#x", ErrCorrupt, i, start)
	}
	return int64(start), sb.order.Uint32(e[8:]), nil
}
