package squashfs

import (
	"container/list"
	"sync"
)

// blkKey names a stored block by where it starts and its size word.
type blkKey struct {
	pos  int64
	word uint32
}

// shared is a decoded block read by several files: a fragment block, or a
// data block that more than one file points at (mksquashfs stores
// duplicate files once). Its data is never changed or recycled once done
// is closed, so slices of it may be handed to the sink.
type shared struct {
	key  blkKey
	done chan struct{}
	data []byte
	err  error

	// Guarded by the cache lock.
	frag bool
	uses int // times the walker asked for it
	size int // bytes charged to the cache
	elem *list.Element
}

// blockCache keeps recently used shared blocks, bounded in bytes. Entries
// are added before they are decoded so that a second request for a block
// in flight waits for the first decode instead of repeating it.
//
// Eviction is least recently used, with one guard against a repeated
// sequence larger than the cache (a big file stored once and named five
// times): a duplicate data block is not admitted when the entry it would
// evict has been asked for at least as often, so the part of the file that
// fits stays cached for every later copy. A data block met for the first
// time is only kept while the cache has room to spare, since most are
// never asked for again.
type blockCache struct {
	mu   sync.Mutex
	max  int
	used int
	ll   list.List // front: most recently used
	m    map[blkKey]*shared
}

func newBlockCache(maxBytes int) *blockCache {
	return &blockCache{max: maxBytes, m: map[blkKey]*shared{}}
}

// acquire returns the entry for k and whether it is new, in which case the
// caller must decode it and close done. uses is how many times the walker
// has seen the block so far, size what the decoded block may hold. For a
// data block seen once (uses 1) it returns nil when the block is not
// cached and the cache has no free room: the caller decodes it privately.
func (c *blockCache) acquire(k blkKey, frag bool, uses, size int) (*shared, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.m[k]; ok {
		e.uses++
		c.ll.MoveToFront(e.elem)
		return e, false
	}
	if !frag && uses <= 1 && c.used+size > c.max {
		return nil, false
	}
	e := &shared{key: k, done: make(chan struct{}), frag: frag, uses: uses, size: size}
	if size > c.max {
		return e, true
	}
	for c.used+size > c.max {
		back := c.ll.Back()
		v := back.Value.(*shared)
		if !frag && !v.frag && v.uses >= uses {
			return e, true // not admitted: the caller still decodes it
		}
		c.ll.Remove(back)
		delete(c.m, v.key)
		c.used -= v.size
		v.elem = nil
	}
	e.elem = c.ll.PushFront(e)
	c.m[k] = e
	c.used += size
	return e, true
}

// seenCap bounds the map of data blocks the walker has met (about 3 MiB);
// when it fills up it is cleared, which only costs some duplicate blocks
// being decoded again.
const seenCap = 1 << 16
