//go:build ignore

// Command gen writes the SquashFS fixtures that mksquashfs cannot make
// (v4 big-endian, v3 and v2 in both byte orders) from a small built-in
// tree, and with -tree DIR writes that same tree's files, directories and
// links to DIR for make.sh (ownership, modes and device nodes are added
// there through mksquashfs pseudo definitions).
//
//	go run gen/gen.go -out .
package main

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"flag"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"sort"

	"github.com/ulikunitz/xz/lzma"
)

const (
	mtime     = 1700000000
	blockSize = 4096
	blockLog  = 12
	metaSize  = 8192
)

type node struct {
	name     string
	typ      int // 1 dir 2 file 3 symlink 4 blk 5 chr 6 fifo 7 sock
	mode     uint16
	uid, gid uint32
	data     []byte
	target   string
	major    uint32
	minor    uint32
	kids     []*node
	link     *node // hard link to an earlier node

	number     uint32
	ref        uint64
	written    bool
	start      uint64
	blocks     []uint32
	frag       uint32
	fragOffset uint32
}

func bigData() []byte {
	b := make([]byte, 0, 3*4096+4096+1066)
	s := uint32(12345)
	for i := 0; i < 12288; i++ {
		s = s*1103515245 + 12345
		b = append(b, byte(s>>16)%94+33)
	}
	b = append(b, make([]byte, 4096)...)
	b = append(b, passwd...)
	for i := 0; i < 1000; i++ {
		b = append(b, byte(65+i%26))
	}
	return b
}

var passwd = []byte("root:x:0:0:root:/root:/bin/sh\nuser:x:1000:100::/home/user:/bin/sh\n")

func tree() *node {
	pw := &node{name: "passwd", typ: 2, mode: 0o644, data: passwd}
	return &node{typ: 1, mode: 0o755, kids: []*node{
		{name: "big.bin", typ: 2, mode: 0o644, data: bigData()},
		{name: "bin", typ: 1, mode: 0o755, kids: []*node{
			{name: "passwd-link", typ: 3, mode: 0o777, target: "../etc/passwd"},
			{name: "su", typ: 2, mode: 0o4755, data: []byte("#!/bin/sh\necho su\n")},
		}},
		{name: "dev", typ: 1, mode: 0o755, kids: []*node{
			{name: "console", typ: 5, mode: 0o600, gid: 5, major: 5, minor: 1},
			{name: "initctl", typ: 6, mode: 0o600},
			{name: "log", typ: 7, mode: 0o666},
			{name: "sda", typ: 4, mode: 0o660, gid: 6, major: 8, minor: 0},
		}},
		{name: "empty", typ: 1, mode: 0o755},
		{name: "etc", typ: 1, mode: 0o755, kids: []*node{
			pw,
			{name: "passwd-", link: pw},
		}},
		{name: "home", typ: 1, mode: 0o755, kids: []*node{
			{name: "user", typ: 1, mode: 0o750, uid: 1000, gid: 100, kids: []*node{
				{name: "notes.txt", typ: 2, mode: 0o640, uid: 1000, gid: 100, data: []byte("hello user\n")},
			}},
		}},
		{name: "tmp", typ: 1, mode: 0o1777},
		{name: "zero-length", typ: 2, mode: 0o644, data: []byte{}},
	}}
}

// writeTree writes the plain parts of the tree to dir.
func writeTree(dir string, n *node) error {
	for _, k := range n.kids {
		p := filepath.Join(dir, k.name)
		var err error
		switch {
		case k.link != nil:
			err = os.Link(filepath.Join(dir, k.link.name), p)
		case k.typ == 1:
			if err = os.Mkdir(p, 0o755); err == nil {
				err = writeTree(p, k)
			}
		case k.typ == 2:
			err = os.WriteFile(p, k.data, 0o644)
		case k.typ == 3:
			err = os.Symlink(k.target, p)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// bitWriter packs v2/v3 bitfields: from the least significant bit in
// little-endian images, from the most significant bit in big-endian ones.
type bitWriter struct {
	b   []byte
	be  bool
	pos int
}

func (w *bitWriter) put(v uint64, n int) {
	for i := 0; i < n; i++ {
		k := w.pos + i
		for len(w.b) <= k>>3 {
			w.b = append(w.b, 0)
		}
		var bit byte
		if w.be {
			bit = byte(v>>(n-1-i)) & 1
			w.b[k>>3] |= bit << (7 - k&7)
		} else {
			bit = byte(v>>i) & 1
			w.b[k>>3] |= bit << (k & 7)
		}
	}
	w.pos += n
}

type image struct {
	major int
	be    bool
	comp  string
	order binary.ByteOrder

	out     []byte
	fragBuf []byte
	frags   [][2]uint64 // start, size word
	inodes  meta
	dirs    meta
	uids    []uint32
	guids   []uint32
	ids     []uint32
	ninodes uint32
	sbSize  int
	rootRef uint64
}

type meta struct {
	img *image
	out []byte
	cur []byte
}

func (m *meta) pos() (uint32, uint32) { return uint32(len(m.out)), uint32(len(m.cur)) }

func (m *meta) write(b []byte) {
	m.cur = append(m.cur, b...)
	for len(m.cur) >= metaSize {
		m.flushN(metaSize)
	}
}

func (m *meta) flushN(n int) {
	blk := m.cur[:n]
	c := m.img.compress(blk)
	hdr := make([]byte, 2)
	if len(c) < len(blk) {
		m.img.order.PutUint16(hdr, uint16(len(c)))
	} else {
		c = blk
		m.img.order.PutUint16(hdr, uint16(len(c))|0x8000)
	}
	m.out = append(m.out, hdr...)
	m.out = append(m.out, c...)
	m.cur = append([]byte(nil), m.cur[n:]...)
}

func (m *meta) finish() []byte {
	if len(m.cur) > 0 {
		m.flushN(len(m.cur))
	}
	return m.out
}

func (img *image) compress(b []byte) []byte {
	var buf bytes.Buffer
	switch img.comp {
	case "gzip":
		w, _ := zlib.NewWriterLevel(&buf, zlib.BestCompression)
		w.Write(b)
		w.Close()
	case "lzma":
		w, err := lzma.WriterConfig{SizeInHeader: true, Size: int64(len(b)), DictCap: 1 << 16}.NewWriter(&buf)
		if err != nil {
			log.Fatal(err)
		}
		w.Write(b)
		w.Close()
	}
	return buf.Bytes()
}

func (img *image) u16(v uint16) []byte { b := make([]byte, 2); img.order.PutUint16(b, v); return b }
func (img *image) u32(v uint32) []byte { b := make([]byte, 4); img.order.PutUint32(b, v); return b }
func (img *image) u64(v uint64) []byte { b := make([]byte, 8); img.order.PutUint64(b, v); return b }

func (img *image) dataBlock(b []byte) uint32 {
	zero := true
	for _, c := range b {
		if c != 0 {
			zero = false
			break
		}
	}
	if zero && len(b) == blockSize {
		return 0
	}
	c := img.compress(b)
	if len(c) >= len(b) {
		img.out = append(img.out, b...)
		return uint32(len(b)) | 1<<24
	}
	img.out = append(img.out, c...)
	return uint32(len(c))
}

func (img *image) flushFrag() {
	if len(img.fragBuf) == 0 {
		return
	}
	start := uint64(len(img.out))
	w := img.dataBlock(img.fragBuf)
	img.frags = append(img.frags, [2]uint64{start, uint64(w)})
	img.fragBuf = nil
}

// writeData lays out file contents in tree order.
func (img *image) writeData(n *node) {
	for _, k := range n.kids {
		if k.link != nil {
			continue
		}
		if k.typ == 1 {
			img.writeData(k)
			continue
		}
		if k.typ != 2 {
			continue
		}
		k.start = uint64(len(img.out))
		k.frag = 0xffffffff
		d := k.data
		for len(d) >= blockSize {
			k.blocks = append(k.blocks, img.dataBlock(d[:blockSize]))
			d = d[blockSize:]
		}
		if len(d) > 0 {
			if len(img.fragBuf)+len(d) > blockSize {
				img.flushFrag()
			}
			k.frag = uint32(len(img.frags))
			k.fragOffset = uint32(len(img.fragBuf))
			img.fragBuf = append(img.fragBuf, d...)
		}
	}
}

func number(n *node, next *uint32) {
	for _, k := range n.kids {
		if k.link != nil {
			continue
		}
		*next++
		k.number = *next
		if k.typ == 1 {
			number(k, next)
		}
	}
}

func idIndex(list *[]uint32, id uint32) uint32 {
	for i, v := range *list {
		if v == id {
			return uint32(i)
		}
	}
	*list = append(*list, id)
	return uint32(len(*list) - 1)
}

func (img *image) rdev(n *node) uint32 {
	if img.major == 4 {
		return (n.minor & 0xff) | (n.major << 8) | ((n.minor &^ 0xff) << 12)
	}
	return n.major<<8 | n.minor
}

// writeInode appends n's inode (its listing already written for a dir).
func (img *image) writeInode(n *node, parent uint32, dirSize, dirBlk, dirOff uint32, root bool) {
	blk, off := img.inodes.pos()
	n.ref = uint64(blk)<<16 | uint64(off)
	n.written = true
	img.ninodes++
	if img.major == 4 {
		img.writeInode4(n, parent, dirSize, dirBlk, dirOff, root)
		return
	}
	w := &bitWriter{be: img.be}
	typ := n.typ
	ext := root && n.typ == 1 || img.major == 3 && n.typ == 2 && len(n.data) > 8000
	if ext {
		typ += 7 // 1 -> 8 (ldir), 2 -> 9 (lreg)
	}
	w.put(uint64(typ), 4)
	w.put(uint64(n.mode), 12)
	w.put(uint64(idIndex(&img.uids, n.uid)), 8)
	if n.gid == n.uid {
		w.put(255, 8)
	} else {
		w.put(uint64(idIndex(&img.guids, n.gid)), 8)
	}
	v2 := img.major == 2
	if !v2 {
		w.put(mtime, 32)
		w.put(uint64(n.number), 32)
	}
	var tail []byte
	switch n.typ {
	case 1:
		switch {
		case v2 && ext:
			w.put(uint64(dirSize), 27)
			w.put(uint64(dirOff), 13)
			w.put(mtime, 32)
			w.put(uint64(dirBlk), 24)
			w.put(0, 16)
		case v2:
			w.put(uint64(dirSize), 19)
			w.put(uint64(dirOff), 13)
			w.put(mtime, 32)
			w.put(uint64(dirBlk), 24)
		case ext:
			w.put(uint64(2+len(n.kids)), 32)
			w.put(uint64(dirSize), 27)
			w.put(uint64(dirOff), 13)
			w.put(uint64(dirBlk), 32)
			w.put(0, 16)
			w.put(uint64(parent), 32)
		default:
			w.put(uint64(2+len(n.kids)), 32)
			w.put(uint64(dirSize), 19)
			w.put(uint64(dirOff), 13)
			w.put(uint64(dirBlk), 32)
			w.put(uint64(parent), 32)
		}
	case 2:
		if v2 {
			w.put(mtime, 32)
			w.put(n.start, 32)
		} else {
			if ext {
				w.put(1, 32) // only the extended 3.x file inode has nlink
			}
			w.put(n.start, 64)
		}
		w.put(uint64(n.frag), 32)
		w.put(uint64(n.fragOffset), 32)
		if ext {
			w.put(uint64(len(n.data)), 64)
		} else {
			w.put(uint64(len(n.data)), 32)
		}
		for _, b := range n.blocks {
			tail = append(tail, img.u32(b)...)
		}
	case 3:
		if !v2 {
			w.put(1, 32)
		}
		w.put(uint64(len(n.target)), 16)
		tail = []byte(n.target)
	case 4, 5:
		if !v2 {
			w.put(1, 32)
		}
		w.put(uint64(img.rdev(n)), 16)
	case 6, 7:
		if !v2 {
			w.put(1, 32)
		}
	}
	img.inodes.write(w.b)
	img.inodes.write(tail)
}

func (img *image) writeInode4(n *node, parent uint32, dirSize, dirBlk, dirOff uint32, root bool) {
	typ := uint16(n.typ)
	ext := root && n.typ == 1 || n.typ == 2 && len(n.data) > 8000
	if ext {
		typ += 7
	}
	b := img.u16(typ)
	b = append(b, img.u16(n.mode)...)
	b = append(b, img.u16(uint16(idIndex(&img.ids, n.uid)))...)
	b = append(b, img.u16(uint16(idIndex(&img.ids, n.gid)))...)
	b = append(b, img.u32(mtime)...)
	b = append(b, img.u32(n.number)...)
	switch {
	case n.typ == 1 && ext:
		b = append(b, img.u32(uint32(2+len(n.kids)))...)
		b = append(b, img.u32(dirSize)...)
		b = append(b, img.u32(dirBlk)...)
		b = append(b, img.u32(parent)...)
		b = append(b, img.u16(0)...)
		b = append(b, img.u16(uint16(dirOff))...)
		b = append(b, img.u32(0xffffffff)...)
	case n.typ == 1:
		b = append(b, img.u32(dirBlk)...)
		b = append(b, img.u32(uint32(2+len(n.kids)))...)
		b = append(b, img.u16(uint16(dirSize))...)
		b = append(b, img.u16(uint16(dirOff))...)
		b = append(b, img.u32(parent)...)
	case n.typ == 2 && ext:
		b = append(b, img.u64(n.start)...)
		b = append(b, img.u64(uint64(len(n.data)))...)
		b = append(b, img.u64(0)...)
		b = append(b, img.u32(1)...)
		b = append(b, img.u32(n.frag)...)
		b = append(b, img.u32(n.fragOffset)...)
		b = append(b, img.u32(0xffffffff)...)
		for _, x := range n.blocks {
			b = append(b, img.u32(x)...)
		}
	case n.typ == 2:
		b = append(b, img.u32(uint32(n.start))...)
		b = append(b, img.u32(n.frag)...)
		b = append(b, img.u32(n.fragOffset)...)
		b = append(b, img.u32(uint32(len(n.data)))...)
		for _, x := range n.blocks {
			b = append(b, img.u32(x)...)
		}
	case n.typ == 3:
		b = append(b, img.u32(1)...)
		b = append(b, img.u32(uint32(len(n.target)))...)
		b = append(b, n.target...)
	case n.typ == 4 || n.typ == 5:
		b = append(b, img.u32(1)...)
		b = append(b, img.u32(img.rdev(n))...)
	default:
		b = append(b, img.u32(1)...)
	}
	img.inodes.write(b)
}

// writeDir writes the inodes below n, then n's listing, then n's inode.
func (img *image) writeDir(n *node, parent uint32, root bool) {
	for _, k := range n.kids {
		if k.link != nil {
			continue
		}
		if k.typ == 1 {
			img.writeDir(k, n.number, false)
		} else {
			img.writeInode(k, 0, 0, 0, 0, false)
		}
	}
	kids := append([]*node(nil), n.kids...)
	sort.Slice(kids, func(i, j int) bool { return kids[i].name < kids[j].name })
	dblk, doff := img.dirs.pos()
	var listing []byte
	for i := 0; i < len(kids); {
		first := kids[i]
		if first.link != nil {
			first = first.link
		}
		j := i
		for j < len(kids) && j-i < 256 {
			t := kids[j]
			if t.link != nil {
				t = t.link
			}
			if t.ref>>16 != first.ref>>16 {
				break
			}
			j++
		}
		listing = append(listing, img.dirHeader(j-i, uint32(first.ref>>16), first.number)...)
		for _, k := range kids[i:j] {
			t := k
			if k.link != nil {
				t = k.link
			}
			listing = append(listing, img.dirEntry(t, k.name, first.number)...)
		}
		i = j
	}
	img.dirs.write(listing)
	size := uint32(len(listing))
	if img.major >= 3 {
		size += 3
	}
	img.writeInode(n, parent, size, dblk, doff, root)
}

func (img *image) dirHeader(count int, blk, number uint32) []byte {
	switch img.major {
	case 4:
		b := img.u32(uint32(count - 1))
		b = append(b, img.u32(blk)...)
		return append(b, img.u32(number)...)
	case 3:
		w := &bitWriter{be: img.be}
		w.put(uint64(count-1), 8)
		w.put(uint64(blk), 32)
		w.put(uint64(number), 32)
		return w.b
	default:
		w := &bitWriter{be: img.be}
		w.put(uint64(count-1), 8)
		w.put(uint64(blk), 24)
		return w.b
	}
}

func (img *image) dirEntry(t *node, name string, base uint32) []byte {
	off := uint16(t.ref & 0xffff)
	var b []byte
	switch img.major {
	case 4:
		b = img.u16(off)
		b = append(b, img.u16(uint16(int16(t.number-base)))...)
		b = append(b, img.u16(uint16(t.typ))...)
		b = append(b, img.u16(uint16(len(name)-1))...)
	case 3:
		w := &bitWriter{be: img.be}
		w.put(uint64(off), 13)
		w.put(uint64(t.typ), 3)
		w.put(uint64(len(name)-1), 8)
		w.put(uint64(uint16(int16(t.number-base))), 16)
		b = w.b
	default:
		w := &bitWriter{be: img.be}
		w.put(uint64(off), 13)
		w.put(uint64(t.typ), 3)
		w.put(uint64(len(name)-1), 8)
		b = w.b
	}
	return append(b, name...)
}

func build(major int, be bool, comp string) []byte {
	img := &image{major: major, be: be, comp: comp}
	img.order = binary.LittleEndian
	if be {
		img.order = binary.BigEndian
	}
	img.inodes.img, img.dirs.img = img, img
	img.sbSize = 96
	if major < 4 {
		img.sbSize = 119
	}
	img.out = make([]byte, img.sbSize)
	root := tree()
	var next uint32
	number(root, &next)
	root.number = next + 1
	img.writeData(root)
	img.flushFrag()
	img.writeDir(root, next+2, true)
	img.rootRef = root.ref

	inodeStart := uint64(len(img.out))
	img.out = append(img.out, img.inodes.finish()...)
	dirStart := uint64(len(img.out))
	img.out = append(img.out, img.dirs.finish()...)

	// Fragment table: entries in metadata blocks, then the index.
	fm := meta{img: img}
	for _, f := range img.frags {
		switch major {
		case 2:
			fm.write(img.u32(uint32(f[0])))
			fm.write(img.u32(uint32(f[1])))
		default:
			fm.write(img.u64(f[0]))
			fm.write(img.u32(uint32(f[1])))
			fm.write(img.u32(0))
		}
	}
	fragMetaStart := uint64(len(img.out))
	img.out = append(img.out, fm.finish()...)
	fragStart := uint64(len(img.out))
	if major == 2 {
		img.out = append(img.out, img.u32(uint32(fragMetaStart))...)
	} else {
		img.out = append(img.out, img.u64(fragMetaStart)...)
	}

	var idStart, uidStart, guidStart uint64
	if major == 4 {
		im := meta{img: img}
		for _, id := range img.ids {
			im.write(img.u32(id))
		}
		idMeta := uint64(len(img.out))
		img.out = append(img.out, im.finish()...)
		idStart = uint64(len(img.out))
		img.out = append(img.out, img.u64(idMeta)...)
	} else {
		uidStart = uint64(len(img.out))
		for _, id := range img.uids {
			img.out = append(img.out, img.u32(id)...)
		}
		guidStart = uint64(len(img.out))
		for _, id := range img.guids {
			img.out = append(img.out, img.u32(id)...)
		}
	}
	used := uint64(len(img.out))
	sb := img.out[:img.sbSize]
	o := img.order
	if be {
		copy(sb, "sqsh")
	} else {
		copy(sb, "hsqs")
	}
	if major == 4 {
		o.PutUint32(sb[4:], img.ninodes)
		o.PutUint32(sb[8:], mtime)
		o.PutUint32(sb[12:], blockSize)
		o.PutUint32(sb[16:], uint32(len(img.frags)))
		o.PutUint16(sb[20:], 1)
		o.PutUint16(sb[22:], blockLog)
		o.PutUint16(sb[24:], 0x0200) // no xattrs
		o.PutUint16(sb[26:], uint16(len(img.ids)))
		o.PutUint16(sb[28:], 4)
		o.PutUint16(sb[30:], 0)
		o.PutUint64(sb[32:], img.rootRef)
		o.PutUint64(sb[40:], used)
		o.PutUint64(sb[48:], idStart)
		o.PutUint64(sb[56:], ^uint64(0))
		o.PutUint64(sb[64:], inodeStart)
		o.PutUint64(sb[72:], dirStart)
		o.PutUint64(sb[80:], fragStart)
		o.PutUint64(sb[88:], ^uint64(0))
	} else {
		o.PutUint32(sb[4:], img.ninodes)
		o.PutUint32(sb[8:], uint32(used))
		o.PutUint32(sb[12:], uint32(uidStart))
		o.PutUint32(sb[16:], uint32(guidStart))
		o.PutUint32(sb[20:], uint32(inodeStart))
		o.PutUint32(sb[24:], uint32(dirStart))
		o.PutUint16(sb[28:], uint16(major))
		minor := uint16(1)
		if major == 3 {
			minor = 1
		}
		o.PutUint16(sb[30:], minor)
		o.PutUint16(sb[32:], blockSize)
		o.PutUint16(sb[34:], blockLog)
		sb[36] = 0
		sb[37] = byte(len(img.uids))
		sb[38] = byte(len(img.guids))
		o.PutUint32(sb[39:], mtime)
		o.PutUint64(sb[43:], img.rootRef)
		o.PutUint32(sb[51:], blockSize)
		o.PutUint32(sb[55:], uint32(len(img.frags)))
		o.PutUint32(sb[59:], uint32(fragStart))
		if major == 3 {
			o.PutUint64(sb[63:], used)
			o.PutUint64(sb[71:], uidStart)
			o.PutUint64(sb[79:], guidStart)
			o.PutUint64(sb[87:], inodeStart)
			o.PutUint64(sb[95:], dirStart)
			o.PutUint64(sb[103:], fragStart)
			o.PutUint64(sb[111:], ^uint64(0))
		}
	}
	// Pad to 4 KiB as mksquashfs does.
	for len(img.out)%4096 != 0 {
		img.out = append(img.out, 0)
	}
	return img.out
}

func main() {
	out := flag.String("out", ".", "directory for the images")
	treeDir := flag.String("tree", "", "write the source tree to this directory and exit")
	flag.Parse()
	if *treeDir != "" {
		if err := writeTree(*treeDir, tree()); err != nil {
			log.Fatal(err)
		}
		return
	}
	for _, v := range []struct {
		major int
		be    bool
		comp  string
	}{
		{4, true, "gzip"},
		{3, false, "gzip"}, {3, true, "gzip"},
		{3, false, "lzma"}, {3, true, "lzma"},
		{2, false, "gzip"}, {2, true, "gzip"},
	} {
		order := "le"
		if v.be {
			order = "be"
		}
		name := filepath.Join(*out, fmt.Sprintf("v%d-%s-%s.sqfs", v.major, order, v.comp))
		if err := os.WriteFile(name, build(v.major, v.be, v.comp), 0o644); err != nil {
			log.Fatal(err)
		}
	}
}
