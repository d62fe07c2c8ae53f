package squashfs

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"runtime"
	"sync"
	"time"

	"github.com/netvet/netvet/internal/firmware"
)

const (
	maxEntries     = 1 << 24  // directory entries read per image
	maxDirEntries  = 1 << 20  // entries in one directory
	windowBytes    = 16 << 20 // read-ahead of decoded blocks not yet consumed
	uncompressed24 = 1 << 24  // data block / fragment size word: stored uncompressed
)

// item is one entry handed from the tree walker to the goroutine that
// calls the sink, in output order.
type item struct {
	e      firmware.Entry
	err    error        // non-nil: report through dst.Fail
	blocks chan *future // file content, in order; nil when empty
}

// future is one block of file content being decompressed by a worker.
// Private blocks are decoded into a pooled buffer; shared blocks (sh set)
// are sliced from the cached decode once it is done.
type future struct {
	done chan struct{}
	data []byte
	err  error
	buf  []byte // pooled buffer to give back, if any
	held bool   // holds a slot of the window

	sh    *shared
	off   int  // where this file's bytes start in sh.data
	want  int  // how many bytes this file takes from sh.data
	exact bool // sh.data must hold exactly want bytes (a data block)
}

// job asks a worker to fill a future, or a shared block when sh is set.
type job struct {
	fut  *future
	sh   *shared
	pos  int64
	word uint32 // stored size word of the block
	want int    // exact decompressed length (private blocks)
}

// extraction is the state of one Extract call.
type extraction struct {
	f      *fsys
	ctx    context.Context
	items  chan item
	jobs   chan job
	window chan struct{}
	bufs   sync.Pool
	raws   sync.Pool
	zero   []byte

	cache *blockCache
	seen  map[blkKey]int32 // data blocks met by the walker, and how often

	links   map[uint64]string // inode key -> first path
	dirs    map[uint64]bool   // directory inodes already walked
	lists   map[uint64]bool   // directory listings already read
	entries int
}

// extract walks the tree and streams it to dst. Three kinds of goroutine
// cooperate:
//
//   - the walker reads directories and inodes and, for each regular file,
//     queues every block of it (data blocks and the fragment tail) as jobs,
//     running ahead of the sink across files;
//   - GOMAXPROCS workers decompress queued blocks;
//   - the calling goroutine hands entries to the sink in walk order, each
//     file reading its blocks as they complete.
//
// Read-ahead is bounded by a window of windowBytes (one slot per queued
// block, released once the sink has consumed it). Fragment blocks and data
// blocks that several files share go through a byte-bounded cache, so each
// is decoded once while it stays cached.
func (f *fsys) extract(ctx context.Context, dst firmware.Sink) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	bs := int(f.sb.blockSize)
	win := windowBytes / bs
	win = max(8, min(win, 256))
	workers := max(1, runtime.GOMAXPROCS(0))
	x := &extraction{
		f: f, ctx: ctx,
		items:  make(chan item, 64),
		jobs:   make(chan job, win),
		window: make(chan struct{}, win),
		zero:   make([]byte, bs),
		cache:  newBlockCache(blockCacheBytes),
		seen:   map[blkKey]int32{},
		links:  map[uint64]string{},
		dirs:   map[uint64]bool{},
		lists:  map[uint64]bool{},
	}
	x.bufs.New = func() any { return make([]byte, bs) }
	x.raws.New = func() any { return make([]byte, bs) }

	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range x.jobs {
				x.run(j)
			}
		}()
	}
	var walkErr error
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer close(x.jobs)
		defer close(x.items)
		walkErr = x.walkRoot()
	}()

	var sinkErr error
	for it := range x.items {
		if sinkErr != nil {
			drain(x, it.blocks)
			continue
		}
		if err := ctx.Err(); err != nil {
			sinkErr = err
			cancel()
			drain(x, it.blocks)
			continue
		}
		if it.err != nil {
			dst.Fail(it.e, it.err)
			drain(x, it.blocks)
			continue
		}
		var r io.Reader
		var fr *fileReader
		if it.blocks != nil {
			fr = &fileReader{x: x, ch: it.blocks}
			r = fr
		}
		err := dst.Put(ctx, it.e, r)
		if fr != nil {
			fr.drain()
		}
		if err != nil {
			sinkErr = err
			cancel()
		}
	}
	wg.Wait()
	if sinkErr != nil {
		return sinkErr
	}
	return walkErr
}

func drain(x *extraction, ch chan *future) {
	if ch != nil {
		(&fileReader{x: x, ch: ch}).drain()
	}
}

// run fills one future or one shared block.
func (x *extraction) run(j job) {
	if j.sh != nil {
		defer close(j.sh.done)
		if err := x.ctx.Err(); err != nil {
			j.sh.err = err
			return
		}
		// Shared blocks are not pooled: slices of them are handed out
		// for as long as any file needs them.
		j.sh.data, j.sh.err = x.readBlock(make([]byte, x.f.sb.blockSize), j.pos, j.word)
		return
	}
	defer close(j.fut.done)
	if err := x.ctx.Err(); err != nil {
		j.fut.err = err
		return
	}
	buf := x.bufs.Get().([]byte)
	data, err := x.readBlock(buf, j.pos, j.word)
	if err == nil && len(data) != j.want {
		err = fmt.Errorf("%w: block at %#x holds %d bytes, want %d", ErrCorrupt, j.pos, len(data), j.want)
	}
	if err != nil {
		x.bufs.Put(buf)
		j.fut.err = err
		return
	}
	j.fut.data, j.fut.buf = data, buf
}

// readBlock reads and decompresses the data block at pos into out.
func (x *extraction) readBlock(out []byte, pos int64, word uint32) ([]byte, error) {
	n := int64(word &^ uncompressed24)
	f := x.f
	if n > int64(f.sb.blockSize) || pos < 0 || pos > f.size || n > f.size-pos {
		return nil, fmt.Errorf("%w: block of %d bytes at %#x outside the image", ErrCorrupt, n, pos)
	}
	if word&uncompressed24 != 0 {
		if _, err := f.src.ReadAt(out[:n], pos); err != nil {
			return nil, fmt.Errorf("block at %#x: %w", pos, err)
		}
		return out[:n], nil
	}
	raw := x.raws.Get().([]byte)
	defer x.raws.Put(raw)
	if _, err := f.src.ReadAt(raw[:n], pos); err != nil {
		return nil, fmt.Errorf("block at %#x: %w", pos, err)
	}
	data, err := f.codec.decode(out[:0], raw[:n])
	if err != nil {
		return nil, fmt.Errorf("block at %#x: %w", pos, err)
	}
	if len(data) > 0 && &data[0] != &out[0] {
		// A decoder that did not write in place; keep the result in out.
		if len(data) > len(out) {
			return nil, errOverflow
		}
		data = out[:copy(out, data)]
	}
	return data, nil
}

// fileReader streams one file's blocks to the sink in order.
type fileReader struct {
	x   *extraction
	ch  chan *future
	cur *future
	buf []byte
	err error
	eof bool
}

func (r *fileReader) next() error {
	r.release()
	var fut *future
	var ok bool
	select {
	case fut, ok = <-r.ch:
	case <-r.x.ctx.Done():
		return r.x.ctx.Err()
	}
	if !ok {
		r.eof = true
		return io.EOF
	}
	r.cur = fut
	select {
	case <-fut.done:
	case <-r.x.ctx.Done():
		return r.x.ctx.Err()
	}
	if fut.err != nil {
		return fut.err
	}
	if sh := fut.sh; sh != nil {
		if sh.err != nil {
			return sh.err
		}
		if fut.exact && len(sh.data) != fut.want {
			return fmt.Errorf("%w: block at %#x holds %d bytes, want %d", ErrCorrupt, sh.key.pos, len(sh.data), fut.want)
		}
		if fut.off > len(sh.data) || fut.want > len(sh.data)-fut.off {
			return fmt.Errorf("%w: tail of %d bytes at %d past fragment block at %#x (%d bytes)", ErrCorrupt, fut.want, fut.off, sh.key.pos, len(sh.data))
		}
		fut.data = sh.data[fut.off : fut.off+fut.want]
	}
	r.buf = fut.data
	return nil
}

func (r *fileReader) Read(p []byte) (int, error) {
	for len(r.buf) == 0 {
		if r.err != nil {
			return 0, r.err
		}
		if r.eof {
			return 0, io.EOF
		}
		if err := r.next(); err != nil {
			r.err = err
			return 0, err
		}
	}
	n := copy(p, r.buf)
	r.buf = r.buf[n:]
	return n, nil
}

// WriteTo hands whole blocks to w without another copy.
func (r *fileReader) WriteTo(w io.Writer) (int64, error) {
	var total int64
	for {
		for len(r.buf) == 0 {
			if r.err != nil {
				return total, r.err
			}
			if r.eof {
				return total, nil
			}
			if err := r.next(); err != nil {
				if err == io.EOF {
					return total, nil
				}
				r.err = err
				return total, err
			}
		}
		n, err := w.Write(r.buf)
		total += int64(n)
		r.buf = r.buf[n:]
		if err != nil {
			return total, err
		}
	}
}

func (r *fileReader) release() {
	if f := r.cur; f != nil {
		r.cur, r.buf = nil, nil
		if f.buf != nil {
			r.x.bufs.Put(f.buf)
			f.buf = nil
		}
		if f.held {
			<-r.x.window
		}
	}
}

// drain gives back every block the sink did not read.
func (r *fileReader) drain() {
	r.release()
	for f := range r.ch {
		<-f.done
		r.cur = f
		r.release()
	}
}

// emit hands an item to the sink goroutine.
func (x *extraction) emit(it item) error {
	select {
	case x.items <- it:
		return nil
	case <-x.ctx.Done():
		if it.blocks != nil {
			close(it.blocks)
		}
		return x.ctx.Err()
	}
}

func (x *extraction) walkRoot() error {
	root, err := x.f.readInode(x.f.sb.rootInode)
	if err != nil {
		return fmt.Errorf("root inode: %w", err)
	}
	if root.typ != typDir {
		return fmt.Errorf("%w: root inode is not a directory", ErrCorrupt)
	}
	x.dirs[root.ref] = true
	return x.walkDir(root, "", 0)
}

// dirent is one parsed directory entry.
type dirent struct {
	name   string
	ref    uint64
	number uint32
}

// readDir parses the listing of directory inode d.
func (x *extraction) readDir(d *inode) ([]dirent, error) {
	f := x.f
	size := int64(d.dirSize)
	if f.sb.major >= 3 {
		size -= 3
	}
	if size <= 0 {
		return nil, nil
	}
	if uint64(d.dirBlock) >= uint64(f.size)-f.sb.dirTable || d.dirOffset >= metaSize {
		return nil, fmt.Errorf("%w: directory listing at %#x:%d outside the directory table", ErrCorrupt, d.dirBlock, d.dirOffset)
	}
	key := uint64(d.dirBlock)<<16 | uint64(d.dirOffset)
	if x.lists[key] {
		return nil, fmt.Errorf("%w: directory listing %#x shared by two directories", ErrCorrupt, key)
	}
	x.lists[key] = true
	p := metaPos{blk: int64(f.sb.dirTable) + int64(d.dirBlock), off: int(d.dirOffset)}
	o := f.sb.order
	var out []dirent
	var hb [12]byte
	var nameBuf [maxNameLen]byte
	for size > 0 {
		if err := x.ctx.Err(); err != nil {
			return out, err
		}
		var count int
		var start, base uint32
		switch f.sb.major {
		case 4:
			if err := f.readMeta(&p, hb[:12]); err != nil {
				return out, err
			}
			count = int(o.Uint32(hb[0:])) + 1
			start, base = o.Uint32(hb[4:]), o.Uint32(hb[8:])
			size -= 12
			if count > 256 {
				return out, fmt.Errorf("%w: directory header count %d", ErrCorrupt, count)
			}
		case 3:
			r, err := f.bits(&p, 9)
			if err != nil {
				return out, err
			}
			count = int(r.u(8)) + 1
			start, base = uint32(r.u(32)), uint32(r.u(32))
			size -= 9
		default:
			r, err := f.bits(&p, 4)
			if err != nil {
				return out, err
			}
			count = int(r.u(8)) + 1
			start = uint32(r.u(24))
			size -= 4
		}
		for i := 0; i < count && size > 0; i++ {
			var off, nlen int
			var number uint32
			switch f.sb.major {
			case 4:
				if err := f.readMeta(&p, hb[:8]); err != nil {
					return out, err
				}
				off = int(o.Uint16(hb[0:]))
				number = base + uint32(int32(int16(o.Uint16(hb[2:]))))
				nlen = int(o.Uint16(hb[6:])) + 1
				size -= 8
			case 3:
				r, err := f.bits(&p, 5)
				if err != nil {
					return out, err
				}
				off = int(r.u(13))
				r.u(3)
				nlen = int(r.u(8)) + 1
				number = base + uint32(int32(int16(uint16(r.u(16)))))
				size -= 5
			default:
				r, err := f.bits(&p, 3)
				if err != nil {
					return out, err
				}
				off = int(r.u(13))
				r.u(3)
				nlen = int(r.u(8)) + 1
				size -= 3
			}
			if nlen > maxNameLen || off >= metaSize {
				return out, fmt.Errorf("%w: directory entry name length %d offset %d", ErrCorrupt, nlen, off)
			}
			if err := f.readMeta(&p, nameBuf[:nlen]); err != nil {
				return out, err
			}
			size -= int64(nlen)
			if len(out) >= maxDirEntries {
				return out, fmt.Errorf("%w: more than %d entries in one directory", ErrCorrupt, maxDirEntries)
			}
			x.entries++
			if x.entries > maxEntries {
				return out, fmt.Errorf("%w: more than %d entries", ErrCorrupt, maxEntries)
			}
			out = append(out, dirent{name: string(nameBuf[:nlen]), ref: uint64(start)<<16 | uint64(off), number: number})
		}
	}
	return out, nil
}

func join(dir, name string) string {
	if dir == "" {
		return name
	}
	return dir + "/" + name
}

func (x *extraction) entry(ino *inode, path string) firmware.Entry {
	m := fs.FileMode(ino.mode & 0o777)
	if ino.mode&0o4000 != 0 {
		m |= fs.ModeSetuid
	}
	if ino.mode&0o2000 != 0 {
		m |= fs.ModeSetgid
	}
	if ino.mode&0o1000 != 0 {
		m |= fs.ModeSticky
	}
	return firmware.Entry{
		Path:    path,
		Mode:    m,
		UID:     int64(ino.uid),
		GID:     int64(ino.gid),
		ModTime: time.Unix(int64(ino.mtime), 0).UTC(),
		Offset:  ino.pos,
	}
}

func (x *extraction) walkDir(d *inode, path string, depth int) error {
	ents, err := x.readDir(d)
	if err != nil {
		if cerr := x.ctx.Err(); cerr != nil {
			return cerr
		}
		if path == "" && len(ents) == 0 {
			return fmt.Errorf("root directory: %w", err)
		}
		if err := x.emit(item{e: firmware.Entry{Path: path, Type: firmware.TypeDir, Offset: d.pos}, err: err}); err != nil {
			return err
		}
	}
	for _, de := range ents {
		if err := x.ctx.Err(); err != nil {
			return err
		}
		p := join(path, de.name)
		ino, err := x.f.readInode(de.ref)
		if err != nil {
			if err := x.emit(item{e: firmware.Entry{Path: p, Offset: -1}, err: err}); err != nil {
				return err
			}
			continue
		}
		e := x.entry(ino, p)
		if ino.typ == typDir {
			e.Type = firmware.TypeDir
			if x.dirs[ino.ref] || depth >= maxDepth {
				err := fmt.Errorf("%w: directory loop or nesting deeper than %d", ErrCorrupt, maxDepth)
				if err := x.emit(item{e: e, err: err}); err != nil {
					return err
				}
				continue
			}
			x.dirs[ino.ref] = true
			if err := x.emit(item{e: e}); err != nil {
				return err
			}
			if err := x.walkDir(ino, p, depth+1); err != nil {
				return err
			}
			continue
		}
		// Hard links share one inode: later names link to the first.
		key := uint64(ino.number) | 1<<40
		if x.f.sb.major == 2 {
			key = ino.ref
		}
		if first, ok := x.links[key]; ok {
			e.Type, e.LinkTarget = firmware.TypeHardlink, first
			if err := x.emit(item{e: e}); err != nil {
				return err
			}
			continue
		}
		x.links[key] = p
		switch ino.typ {
		case typFile:
			if err := x.emitFile(ino, e); err != nil {
				return err
			}
			continue
		case typSymlink:
			e.Type, e.LinkTarget = firmware.TypeSymlink, ino.target
		case typChr:
			e.Type, e.DevMajor, e.DevMinor = firmware.TypeCharDevice, ino.rdevMaj, ino.rdevMinor
		case typBlk:
			e.Type, e.DevMajor, e.DevMinor = firmware.TypeBlockDevice, ino.rdevMaj, ino.rdevMinor
		case typFIFO:
			e.Type = firmware.TypeFIFO
		case typSock:
			e.Type = firmware.TypeSocket
		}
		if err := x.emit(item{e: e}); err != nil {
			return err
		}
	}
	return nil
}

// emitFile hands a regular file to the sink goroutine and queues its blocks.
func (x *extraction) emitFile(ino *inode, e firmware.Entry) error {
	f := x.f
	e.Type = firmware.TypeFile
	e.Size = int64(ino.fileSize)
	if e.Size < 0 {
		return x.emit(item{e: e, err: fmt.Errorf("%w: file size %d", ErrCorrupt, ino.fileSize)})
	}
	bs := uint64(f.sb.blockSize)
	tail := 0
	if ino.frag != invalidFrag {
		tail = int(ino.fileSize - uint64(len(ino.blocks))*bs)
	}
	if len(ino.blocks) > 0 {
		e.Offset = int64(ino.startBlock)
	}
	if len(ino.blocks) == 0 && tail == 0 {
		return x.emit(item{e: e})
	}
	var fragPos int64
	var fragWord uint32
	var fragErr error
	if tail > 0 {
		if tail > int(bs) {
			return x.emit(item{e: e, err: fmt.Errorf("%w: fragment tail of %d bytes", ErrCorrupt, tail)})
		}
		fragPos, fragWord, fragErr = f.fragment(ino.frag)
		if len(ino.blocks) == 0 && fragErr == nil {
			e.Offset = fragPos
		}
	}
	ch := make(chan *future, min(len(ino.blocks)+1, cap(x.window)))
	if err := x.emit(item{e: e, blocks: ch}); err != nil {
		return err
	}
	defer close(ch)
	pos := int64(ino.startBlock)
	remaining := ino.fileSize
	for _, w := range ino.blocks {
		want := int(min(bs, remaining))
		remaining -= uint64(want)
		fut := &future{done: make(chan struct{})}
		n := int64(w &^ uncompressed24)
		bad := false
		switch {
		case n == 0:
			fut.data = x.zero[:want]
			close(fut.done)
		case pos < 0 || pos > f.size || n > f.size-pos:
			fut.err = fmt.Errorf("%w: block of %d bytes at %#x outside the image", ErrCorrupt, n, pos)
			close(fut.done)
			bad = true
		default:
			if err := x.queueData(fut, pos, w, want); err != nil {
				return err
			}
		}
		select {
		case ch <- fut:
		case <-x.ctx.Done():
			return x.ctx.Err()
		}
		if bad {
			return nil // the reader stops at this block's error
		}
		pos += n
	}
	if tail > 0 {
		fut := &future{done: make(chan struct{})}
		if fragErr != nil {
			fut.err = fragErr
			close(fut.done)
		} else {
			if err := x.takeSlot(fut); err != nil {
				return err
			}
			if _, err := x.queueShared(fut, blkKey{fragPos, fragWord}, true, 1, int(ino.fragOffset), tail); err != nil {
				return err
			}
		}
		select {
		case ch <- fut:
		case <-x.ctx.Done():
			return x.ctx.Err()
		}
	}
	return nil
}

// queueData queues a data block. Blocks go through the shared block cache,
// which keeps those that several files point at; a block met for the first
// time while the cache is full is decoded into a pooled buffer for this
// file alone.
func (x *extraction) queueData(fut *future, pos int64, word uint32, want int) error {
	k := blkKey{pos, word}
	n := x.seen[k]
	if n == 0 && len(x.seen) >= seenCap {
		clear(x.seen)
	}
	if n < 1<<30 {
		n++
	}
	x.seen[k] = n
	if err := x.takeSlot(fut); err != nil {
		return err
	}
	if ok, err := x.queueShared(fut, k, false, int(n), 0, want); ok || err != nil {
		return err
	}
	return x.send(job{fut: fut, pos: pos, word: word, want: want})
}

// queueShared points fut at want bytes from off in the shared block k,
// starting its decode unless it is cached or already under way. The
// caller holds a window slot for fut. It reports false when the cache
// declines a data block seen for the first time.
func (x *extraction) queueShared(fut *future, k blkKey, frag bool, uses, off, want int) (bool, error) {
	sh, fresh := x.cache.acquire(k, frag, uses, int(x.f.sb.blockSize))
	if sh == nil {
		return false, nil
	}
	fut.sh, fut.off, fut.want, fut.exact = sh, off, want, !frag
	fut.done = sh.done
	if !fresh {
		return true, nil
	}
	return true, x.send(job{sh: sh, pos: k.pos, word: k.word})
}

// takeSlot takes a slot of the read-ahead window for fut; the sink gives
// it back once it has consumed the block.
func (x *extraction) takeSlot(fut *future) error {
	select {
	case x.window <- struct{}{}:
		fut.held = true
		return nil
	case <-x.ctx.Done():
		return x.ctx.Err()
	}
}

// send hands a job to the workers.
func (x *extraction) send(j job) error {
	select {
	case x.jobs <- j:
		return nil
	case <-x.ctx.Done():
		return x.ctx.Err()
	}
}
