// Package ubifs reads UBIFS volume images: the superblock, the master
// node, the on-flash index B+tree and the inode, dentry and data nodes it
// points to, plus the journal buds named by the log.
package ubifs

import (
	"bytes"
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

// Errors returned by Extract.
var (
	ErrSuperblock = errors.New("ubifs: bad superblock")
	ErrMaster     = errors.New("ubifs: no valid master node")
	ErrNode       = errors.New("ubifs: bad node")
	ErrIndex      = errors.New("ubifs: bad index")
	ErrCompress   = errors.New("ubifs: bad compressed data")
)

const (
	nodeMagic = 0x06101831
	chSize    = 24

	typeIno  = 0
	typeData = 1
	typeDent = 2
	typeXent = 3
	typeTrun = 4
	typePad  = 5
	typeSB   = 6
	typeMst  = 7
	typeRef  = 8
	typeIdx  = 9
	typeCS   = 10

	keyIno  = 0
	keyData = 1
	keyDent = 2

	inoNodeSize  = 160
	dentNodeSize = 56
	dataNodeSize = 48
	idxNodeSize  = 28
	mstNodeSize  = 512
	sbNodeSize   = 4096
	refNodeSize  = 64
	trunNodeSize = 56
	padNodeSize  = 28

	blockSize = 4096

	comprNone = 0
	comprLZO  = 1
	comprZlib = 2
	comprZstd = 3

	// minLEBSize is the superblock node's size. The kernel wants 15 KiB,
	// but nothing here depends on that, and the CRC-checked superblock
	// already confirms the format.
	minLEBSize = sbNodeSize
	maxLEBSize = 2 << 20
	// maxNode bounds any node read (an inode with 4 KiB of inline data,
	// or an index node of a large fanout).
	maxNode = 64 << 10
	// maxLevel bounds the index tree height.
	maxLevel = 64
	// maxDirEntries caps the entries read from one directory.
	maxDirEntries = 1 << 18
	// idxCacheBranches caps the branches of the parsed index nodes kept
	// in memory (about 32 bytes each).
	idxCacheBranches = 1 << 18
	// maxNameLen is the longest name UBIFS stores.
	maxNameLen = 255

	logLEB = 3 // first LEB of the log
	mstLEB = 1 // the two master LEBs are 1 and 2

	cryptFlag = 0x40 // UBIFS_CRYPT_FL
)

// Format is the UBIFS reader.
type Format struct{}

var _ firmware.Format = (*Format)(nil)

// New returns the UBIFS reader.
func New() firmware.Format { return &Format{} }

// Info implements firmware.Format.
func (*Format) Info() firmware.Info {
	return firmware.Info{
		Name:        "ubifs",
		Description: "UBIFS volume image",
		Kind:        firmware.KindFilesystem,
		Signatures: []firmware.Signature{{
			Magic:  []byte{0x31, 0x18, 0x10, 0x06},
			Offset: 0,
		}},
		Variants: []string{
			"format versions 4 and 5, simple keys, r5 or test name hash",
			"data nodes uncompressed, lzo, zlib (raw deflate), zstd",
			"journal replay of the buds named by the log",
			"authenticated images (index hashes and signature not verified)",
		},
	}
}

// crc is the CRC-32 UBIFS uses: IEEE polynomial, all-ones seed, no final
// inversion.
func crc(b []byte) uint32 { return ^crc32.ChecksumIEEE(b) }

func align8(n int64) int64 { return (n + 7) &^ 7 }

// checkNode validates a common header at b[0:] whose node fills b.
func checkNode(b []byte) (typ uint8, sqnum uint64, ok bool) {
	if len(b) < chSize || binary.LittleEndian.Uint32(b[0:4]) != nodeMagic {
		return 0, 0, false
	}
	if int64(binary.LittleEndian.Uint32(b[16:20])) != int64(len(b)) {
		return 0, 0, false
	}
	if binary.LittleEndian.Uint32(b[4:8]) != crc(b[8:]) {
		return 0, 0, false
	}
	return b[20], binary.LittleEndian.Uint64(b[8:16]), true
}

// superblock holds what the reader needs from the superblock node.
type superblock struct {
	lebSize  int64
	lebCnt   int64
	logLEBs  int64
	fanout   int64
	defCompr uint16
}

func parseSB(src io.ReaderAt, size int64) (superblock, error) {
	var sb superblock
	if size < sbNodeSize {
		return sb, fmt.Errorf("%w: image shorter than a superblock", ErrSuperblock)
	}
	b := make([]byte, sbNodeSize)
	if _, err := src.ReadAt(b, 0); err != nil {
		return sb, fmt.Errorf("%w: %v", ErrSuperblock, err)
	}
	if binary.LittleEndian.Uint32(b[0:4]) != nodeMagic || b[20] != typeSB {
		return sb, ErrSuperblock
	}
	if binary.LittleEndian.Uint32(b[16:20]) != sbNodeSize {
		return sb, fmt.Errorf("%w: node length", ErrSuperblock)
	}
	if binary.LittleEndian.Uint32(b[4:8]) != crc(b[8:]) {
		return sb, fmt.Errorf("%w: CRC mismatch", ErrSuperblock)
	}
	if b[27] != 0 { // key format: only the simple one exists
		return sb, fmt.Errorf("%w: key format %d", ErrSuperblock, b[27])
	}
	minIO := int64(binary.LittleEndian.Uint32(b[32:36]))
	sb.lebSize = int64(binary.LittleEndian.Uint32(b[36:40]))
	sb.lebCnt = int64(binary.LittleEndian.Uint32(b[40:44]))
	sb.logLEBs = int64(binary.LittleEndian.Uint32(b[56:60]))
	sb.fanout = int64(binary.LittleEndian.Uint32(b[72:76]))
	sb.defCompr = binary.LittleEndian.Uint16(b[84:86])
	fmtVer := binary.LittleEndian.Uint32(b[80:84])
	switch {
	case sb.lebSize < minLEBSize || sb.lebSize > maxLEBSize:
		return sb, fmt.Errorf("%w: LEB size %d", ErrSuperblock, sb.lebSize)
	case minIO < 1 || minIO > sb.lebSize:
		return sb, fmt.Errorf("%w: min I/O size %d", ErrSuperblock, minIO)
	case sb.lebCnt < 4 || sb.lebCnt > 1<<24:
		return sb, fmt.Errorf("%w: LEB count %d", ErrSuperblock, sb.lebCnt)
	case sb.logLEBs < 1 || sb.logLEBs > sb.lebCnt:
		return sb, fmt.Errorf("%w: log LEBs %d", ErrSuperblock, sb.logLEBs)
	case fmtVer < 1 || fmtVer > 5:
		return sb, fmt.Errorf("%w: format version %d", ErrSuperblock, fmtVer)
	}
	return sb, nil
}

// Identify implements firmware.Format.
func (*Format) Identify(src io.ReaderAt, size int64) bool {
	_, err := parseSB(src, size)
	return err == nil
}

// master is the part of the master node the reader uses.
type master struct {
	sqnum    uint64
	cmtNo    uint64
	logLnum  int64
	rootLnum int64
	rootOffs int64
	rootLen  int64
}

// reader is the state of one extraction.
type reader struct {
	ctx  context.Context
	src  io.ReaderAt
	size int64
	sb   superblock
	mst  master
	idx  map[int64]*idxNode
	dbuf []byte // data node buffer
	// idxBranches counts the branches held in idx.
	idxBranches int
	dec         decompressor
	jnl         *journal
}

// pos is the absolute offset of LEB lnum, offset offs.
func (r *reader) pos(lnum, offs int64) int64 { return lnum*r.sb.lebSize + offs }

// readNode reads and checks the node at lnum:offs of length n into a new
// buffer.
func (r *reader) readNode(lnum, offs, n int64) ([]byte, error) {
	return r.readNodeInto(nil, lnum, offs, n)
}

// readNodeInto is readNode reusing buf when it is large enough.
func (r *reader) readNodeInto(buf []byte, lnum, offs, n int64) ([]byte, error) {
	if lnum < 0 || lnum >= r.sb.lebCnt || offs < 0 || n < chSize || n > maxNode || offs+n > r.sb.lebSize {
		return nil, fmt.Errorf("%w: reference %d:%d len %d out of range", ErrNode, lnum, offs, n)
	}
	p := r.pos(lnum, offs)
	if p+n > r.size {
		return nil, fmt.Errorf("%w: node %d:%d past end of image: %w", ErrNode, lnum, offs, io.ErrUnexpectedEOF)
	}
	b := buf
	if int64(cap(b)) < n {
		b = make([]byte, n)
	}
	b = b[:n]
	if _, err := r.src.ReadAt(b, p); err != nil {
		return nil, fmt.Errorf("%w: read %d:%d: %w", ErrNode, lnum, offs, err)
	}
	if _, _, ok := checkNode(b); !ok {
		return nil, fmt.Errorf("%w: header or CRC check failed at %d:%d", ErrNode, lnum, offs)
	}
	return b, nil
}

// readMaster picks the valid master node with the highest sequence number
// from the two master LEBs.
func (r *reader) readMaster() error {
	found := false
	for lnum := int64(mstLEB); lnum <= mstLEB+1; lnum++ {
		start := r.pos(lnum, 0)
		n := r.sb.lebSize
		if start >= r.size {
			continue
		}
		if start+n > r.size {
			n = r.size - start
		}
		b := make([]byte, n)
		if _, err := r.src.ReadAt(b, start); err != nil && !errors.Is(err, io.EOF) {
			continue
		}
		for off := int64(0); off+mstNodeSize <= n; off += 8 {
			if binary.LittleEndian.Uint32(b[off:]) != nodeMagic || b[off+20] != typeMst {
				continue
			}
			nb := b[off : off+mstNodeSize]
			_, sq, ok := checkNode(nb)
			if !ok || (found && sq <= r.mst.sqnum) {
				continue
			}
			m := master{
				sqnum:    sq,
				cmtNo:    binary.LittleEndian.Uint64(nb[32:40]),
				logLnum:  int64(binary.LittleEndian.Uint32(nb[44:48])),
				rootLnum: int64(binary.LittleEndian.Uint32(nb[48:52])),
				rootOffs: int64(binary.LittleEndian.Uint32(nb[52:56])),
				rootLen:  int64(binary.LittleEndian.Uint32(nb[56:60])),
			}
			r.mst = m
			found = true
		}
	}
	if !found {
		return ErrMaster
	}
	return nil
}

// Extract implements firmware.Format.
func (f *Format) Extract(ctx context.Context, src io.ReaderAt, size int64, dst firmware.Sink) (int64, error) {
	sb, err := parseSB(src, size)
	if err != nil {
		return 0, err
	}
	used := sb.lebCnt * sb.lebSize
	if used > size {
		used = size
	}
	r := &reader{ctx: ctx, src: src, size: used, sb: sb, idx: map[int64]*idxNode{}}
	defer r.dec.close()
	if err := r.readMaster(); err != nil {
		return used, err
	}
	r.jnl = r.replay()
	w := &walker{r: r, dst: dst, links: map[uint32]string{}, dirs: map[uint32]bool{}}
	return used, w.run()
}

// idxNode is a parsed index node.
type idxNode struct {
	level    int
	branches []branch
}

// branch is one index entry: the key and where its node is.
type branch struct {
	key  uint64 // inum<<32 | type<<29 | hash or block
	lnum int64
	offs int64
	n    int64
}

func mkKey(inum uint32, typ uint32, v uint32) uint64 {
	return uint64(inum)<<32 | uint64(typ)<<29 | uint64(v&0x1FFFFFFF)
}

func keyInum(k uint64) uint32 { return uint32(k >> 32) }
func keyType(k uint64) uint32 { return uint32(k>>29) & 7 }
func keyVal(k uint64) uint32  { return uint32(k) & 0x1FFFFFFF }

// readKey reads the 8-byte simple key at b.
func readKey(b []byte) uint64 {
	return uint64(binary.LittleEndian.Uint32(b[0:4]))<<32 | uint64(binary.LittleEndian.Uint32(b[4:8]))
}

func (r *reader) readIdx(lnum, offs, n int64) (*idxNode, error) {
	p := r.pos(lnum, offs)
	if in, ok := r.idx[p]; ok {
		return in, nil
	}
	b, err := r.readNode(lnum, offs, n)
	if err != nil {
		return nil, err
	}
	if b[20] != typeIdx || len(b) < idxNodeSize {
		return nil, fmt.Errorf("%w: node at %d:%d is not an index node", ErrIndex, lnum, offs)
	}
	cnt := int64(binary.LittleEndian.Uint16(b[24:26]))
	level := int(binary.LittleEndian.Uint16(b[26:28]))
	body := int64(len(b)) - idxNodeSize
	if cnt < 1 || body%cnt != 0 || body/cnt < 20 || level > maxLevel {
		return nil, fmt.Errorf("%w: index node at %d:%d: %d branches in %d bytes, level %d", ErrIndex, lnum, offs, cnt, body, level)
	}
	stride := body / cnt
	in := &idxNode{level: level, branches: make([]branch, cnt)}
	for i := int64(0); i < cnt; i++ {
		e := b[idxNodeSize+i*stride:]
		in.branches[i] = branch{
			lnum: int64(binary.LittleEndian.Uint32(e[0:4])),
			offs: int64(binary.LittleEndian.Uint32(e[4:8])),
			n:    int64(binary.LittleEndian.Uint32(e[8:12])),
			key:  readKey(e[12:20]),
		}
		if i > 0 && in.branches[i].key < in.branches[i-1].key {
			return nil, fmt.Errorf("%w: index node at %d:%d: keys out of order", ErrIndex, lnum, offs)
		}
	}
	if r.idxBranches+len(in.branches) > idxCacheBranches {
		clear(r.idx)
		r.idxBranches = 0
	}
	r.idx[p] = in
	r.idxBranches += len(in.branches)
	return in, nil
}

// scan calls fn for every leaf branch with lo <= key <= hi, in key order.
func (r *reader) scan(lo, hi uint64, fn func(branch) error) error {
	return r.scanNode(r.mst.rootLnum, r.mst.rootOffs, r.mst.rootLen, -1, lo, hi, fn)
}

var errStop = errors.New("stop")

func (r *reader) scanNode(lnum, offs, n int64, level int, lo, hi uint64, fn func(branch) error) error {
	if err := r.ctx.Err(); err != nil {
		return err
	}
	in, err := r.readIdx(lnum, offs, n)
	if err != nil {
		return err
	}
	if level >= 0 && in.level != level {
		return fmt.Errorf("%w: index node at %d:%d has level %d, want %d", ErrIndex, lnum, offs, in.level, level)
	}
	bs := in.branches
	// First child that may hold lo: the last branch whose key is < lo.
	start := sort.Search(len(bs), func(i int) bool { return bs[i].key >= lo })
	if start > 0 && in.level > 0 {
		start--
	}
	for i := start; i < len(bs); i++ {
		b := bs[i]
		if b.key > hi {
			break
		}
		if in.level == 0 {
			if b.key >= lo {
				if err := fn(b); err != nil {
					return err
				}
			}
			continue
		}
		if err := r.scanNode(b.lnum, b.offs, b.n, in.level-1, lo, hi, fn); err != nil {
			return err
		}
	}
	return nil
}

// lookup returns the leaf branch for key, if the index has one.
func (r *reader) lookup(key uint64) (branch, bool, error) {
	var got branch
	found := false
	err := r.scan(key, key, func(b branch) error {
		got, found = b, true
		return errStop
	})
	if errors.Is(err, errStop) {
		err = nil
	}
	return got, found, err
}

// inode is a parsed inode node.
type inode struct {
	inum  uint32
	size  int64
	nlink uint32
	uid   uint32
	gid   uint32
	mode  uint32
	flags uint32
	mtime time.Time
	data  []byte
}

func parseInode(b []byte) (inode, error) {
	if b[20] != typeIno || len(b) < inoNodeSize {
		return inode{}, fmt.Errorf("%w: not an inode node", ErrNode)
	}
	dl := int64(binary.LittleEndian.Uint32(b[112:116]))
	if dl > int64(len(b))-inoNodeSize {
		return inode{}, fmt.Errorf("%w: inode data length %d past node end", ErrNode, dl)
	}
	in := inode{
		inum:  binary.LittleEndian.Uint32(b[24:28]),
		size:  int64(binary.LittleEndian.Uint64(b[48:56]) & (1<<62 - 1)),
		nlink: binary.LittleEndian.Uint32(b[92:96]),
		uid:   binary.LittleEndian.Uint32(b[96:100]),
		gid:   binary.LittleEndian.Uint32(b[100:104]),
		mode:  binary.LittleEndian.Uint32(b[104:108]),
		flags: binary.LittleEndian.Uint32(b[108:112]),
		data:  b[inoNodeSize : inoNodeSize+dl],
	}
	sec := int64(binary.LittleEndian.Uint64(b[72:80]))
	nsec := int64(binary.LittleEndian.Uint32(b[88:92]))
	if sec > -1<<40 && sec < 1<<40 && nsec < 1e9 {
		in.mtime = time.Unix(sec, nsec).UTC()
	}
	return in, nil
}

// dent is a parsed directory entry.
type dent struct {
	key  uint64
	inum uint64
	name string
}

func parseDent(b []byte) (dent, error) {
	if (b[20] != typeDent && b[20] != typeXent) || len(b) < dentNodeSize {
		return dent{}, fmt.Errorf("%w: not a directory entry node", ErrNode)
	}
	nlen := int(binary.LittleEndian.Uint16(b[50:52]))
	if nlen > maxNameLen || nlen > len(b)-dentNodeSize {
		return dent{}, fmt.Errorf("%w: name length %d past node end", ErrNode, nlen)
	}
	return dent{
		key:  readKey(b[24:32]),
		inum: binary.LittleEndian.Uint64(b[40:48]),
		name: string(b[dentNodeSize : dentNodeSize+nlen]),
	}, nil
}

// getInode finds and reads the inode inum.
func (r *reader) getInode(inum uint32) (inode, error) {
	key := mkKey(inum, keyIno, 0)
	b, found, err := r.find(key)
	if err != nil {
		return inode{}, err
	}
	if !found {
		return inode{}, fmt.Errorf("%w: inode %d not found", ErrIndex, inum)
	}
	nb, err := r.readNode(b.lnum, b.offs, b.n)
	if err != nil {
		return inode{}, err
	}
	in, err := parseInode(nb)
	if err != nil {
		return inode{}, err
	}
	if readKey(nb[24:32]) != key {
		return inode{}, fmt.Errorf("%w: inode %d: node key mismatch", ErrIndex, inum)
	}
	return in, nil
}

// find looks key up in the journal overlay, then the index.
func (r *reader) find(key uint64) (branch, bool, error) {
	if b, st := r.jnl.get(key); st != jMiss {
		return b, st == jHit, nil
	}
	return r.lookup(key)
}

// listDir returns the entries of directory inum.
func (r *reader) listDir(inum uint32) ([]dent, error) {
	var out []dent
	var errs []error
	add := func(b branch, fromIndex bool) error {
		if len(out) >= maxDirEntries {
			return fmt.Errorf("ubifs: directory %d has more than %d entries", inum, maxDirEntries)
		}
		nb, err := r.readNode(b.lnum, b.offs, b.n)
		if err != nil {
			errs = append(errs, err)
			return nil
		}
		d, err := parseDent(nb)
		if err != nil {
			errs = append(errs, err)
			return nil
		}
		if d.key != b.key {
			errs = append(errs, fmt.Errorf("%w: entry at %d:%d: key mismatch", ErrIndex, b.lnum, b.offs))
			return nil
		}
		if fromIndex && r.jnl.hidesDent(d) {
			return nil
		}
		out = append(out, d)
		return nil
	}
	lo, hi := mkKey(inum, keyDent, 0), mkKey(inum, keyDent, 0x1FFFFFFF)
	err := r.scan(lo, hi, func(b branch) error { return add(b, true) })
	if err == nil {
		err = r.jnl.dents(inum, add)
	}
	if err != nil {
		return out, err
	}
	return out, errors.Join(errs...)
}

// walker emits the tree.
type walker struct {
	r     *reader
	dst   firmware.Sink
	links map[uint32]string // first path of each non-directory inode
	dirs  map[uint32]bool   // directories already listed
}

type dirItem struct {
	inum uint32
	path string
}

func (w *walker) run() error {
	stack := []dirItem{{inum: 1}}
	w.dirs[1] = true
	for len(stack) > 0 {
		it := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		ents, err := w.r.listDir(it.inum)
		if err != nil {
			if cerr := w.r.ctx.Err(); cerr != nil {
				return cerr
			}
			if it.inum == 1 && len(ents) == 0 {
				return fmt.Errorf("root directory: %w", err)
			}
			w.dst.Fail(firmware.Entry{Path: it.path, Type: firmware.TypeDir, Offset: -1}, fmt.Errorf("list directory inode %d: %w", it.inum, err))
		}
		sort.Slice(ents, func(a, b int) bool { return ents[a].name < ents[b].name })
		var sub []dirItem
		for _, d := range ents {
			if err := w.r.ctx.Err(); err != nil {
				return err
			}
			if d.name == "" || d.name == "." || d.name == ".." || bytes.IndexByte([]byte(d.name), '/') >= 0 || bytes.IndexByte([]byte(d.name), 0) >= 0 {
				w.dst.Fail(firmware.Entry{Path: it.path, Offset: -1}, fmt.Errorf("ubifs: directory inode %d: bad entry name %q", it.inum, d.name))
				continue
			}
			p := d.name
			if it.path != "" {
				p = it.path + "/" + d.name
			}
			isDir, err := w.emit(p, d)
			if err != nil {
				return err
			}
			if isDir {
				sub = append(sub, dirItem{inum: uint32(d.inum), path: p})
			}
		}
		for i := len(sub) - 1; i >= 0; i-- {
			stack = append(stack, sub[i])
		}
	}
	return nil
}

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

// emit puts one entry; it reports whether it is a directory to descend.
func (w *walker) emit(p string, d dent) (bool, error) {
	e := firmware.Entry{Path: p, Offset: -1}
	if d.inum == 0 || d.inum > 0xFFFFFFFF {
		w.dst.Fail(e, fmt.Errorf("%w: entry points to inode %d", ErrNode, d.inum))
		return false, nil
	}
	inum := uint32(d.inum)
	in, err := w.r.getInode(inum)
	if err != nil {
		if cerr := w.r.ctx.Err(); cerr != nil {
			return false, cerr
		}
		w.dst.Fail(e, err)
		return false, nil
	}
	e.Mode = fs.FileMode(in.mode & 0o777)
	if in.mode&0o4000 != 0 {
		e.Mode |= fs.ModeSetuid
	}
	if in.mode&0o2000 != 0 {
		e.Mode |= fs.ModeSetgid
	}
	if in.mode&0o1000 != 0 {
		e.Mode |= fs.ModeSticky
	}
	e.UID, e.GID = int64(in.uid), int64(in.gid)
	e.ModTime = in.mtime
	if b, ok, _ := w.r.find(mkKey(inum, keyIno, 0)); ok {
		e.Offset = w.r.pos(b.lnum, b.offs)
	}
	if in.flags&cryptFlag != 0 {
		w.dst.Fail(e, errors.New("ubifs: encrypted inode not supported"))
		return false, nil
	}
	ft := in.mode & sIFMT
	// Any non-directory inode reached a second time is a hard link, even
	// if its link count says otherwise: its data is put once.
	if ft != sIFDIR {
		if first, ok := w.links[inum]; ok {
			e.Type = firmware.TypeHardlink
			e.LinkTarget = first
			return false, w.dst.Put(w.r.ctx, e, nil)
		}
		w.links[inum] = p
	}
	switch ft {
	case sIFDIR:
		if w.dirs[inum] {
			w.dst.Fail(e, fmt.Errorf("ubifs: directory inode %d reached twice (cycle)", inum))
			return false, nil
		}
		w.dirs[inum] = true
		e.Type = firmware.TypeDir
		return true, w.dst.Put(w.r.ctx, e, nil)
	case sIFREG:
		e.Type = firmware.TypeFile
		e.Size = in.size
		return false, w.dst.Put(w.r.ctx, e, &fileReader{r: w.r, inum: inum, size: in.size})
	case sIFLNK:
		e.Type = firmware.TypeSymlink
		e.LinkTarget = string(in.data)
		return false, w.dst.Put(w.r.ctx, e, nil)
	case sIFCHR, sIFBLK:
		e.Type = firmware.TypeCharDevice
		if ft == sIFBLK {
			e.Type = firmware.TypeBlockDevice
		}
		var dev uint64
		switch len(in.data) {
		case 4:
			dev = uint64(binary.LittleEndian.Uint32(in.data))
		case 8:
			dev = binary.LittleEndian.Uint64(in.data)
		default:
			w.dst.Fail(e, fmt.Errorf("%w: device inode %d: %d bytes of device data", ErrNode, inum, len(in.data)))
			return false, nil
		}
		e.DevMajor = uint32((dev>>8)&0xfff) | uint32((dev>>32)&^0xfff)
		e.DevMinor = uint32(dev&0xff) | uint32((dev>>12)&^0xff)
		return false, w.dst.Put(w.r.ctx, e, nil)
	case sIFIFO:
		e.Type = firmware.TypeFIFO
		return false, w.dst.Put(w.r.ctx, e, nil)
	case sIFSOCK:
		e.Type = firmware.TypeSocket
		return false, w.dst.Put(w.r.ctx, e, nil)
	}
	w.dst.Fail(e, fmt.Errorf("%w: inode %d has unknown mode %#o", ErrNode, inum, in.mode))
	return false, nil
}

// fileReader streams a regular file block by block.
type fileReader struct {
	r    *reader
	inum uint32
	size int64
	off  int64  // bytes returned so far
	buf  []byte // block buffer
	blk  []byte // the current block's bytes within the file
	bpos int
}

// maxBlocks is the block-number space of a key.
const maxBlocks = 1 << 29

func (f *fileReader) Read(p []byte) (int, error) {
	if f.off >= f.size {
		return 0, io.EOF
	}
	if f.bpos >= len(f.blk) {
		if err := f.r.ctx.Err(); err != nil {
			return 0, err
		}
		n := f.off / blockSize
		if n >= maxBlocks {
			return 0, fmt.Errorf("ubifs: inode %d: size %d beyond the key space", f.inum, f.size)
		}
		if f.buf == nil {
			f.buf = make([]byte, blockSize)
		}
		b := f.buf
		if err := f.r.block(f.inum, uint32(n), b); err != nil {
			return 0, err
		}
		want := f.size - n*blockSize
		if want > blockSize {
			want = blockSize
		}
		f.blk = b[:want]
		f.bpos = int(f.off - n*blockSize)
	}
	m := copy(p, f.blk[f.bpos:])
	f.bpos += m
	f.off += int64(m)
	return m, nil
}

// block fills out (blockSize bytes) with block n of inode inum (zeros
// for a hole).
func (r *reader) block(inum, n uint32, out []byte) error {
	clear(out)
	key := mkKey(inum, keyData, n)
	b, found, err := r.find(key)
	if err != nil {
		return fmt.Errorf("inode %d block %d: %w", inum, n, err)
	}
	if !found {
		return nil
	}
	nb, err := r.readNodeInto(r.dbuf, b.lnum, b.offs, b.n)
	if err != nil {
		return fmt.Errorf("inode %d block %d: %w", inum, n, err)
	}
	if cap(nb) <= 2*(blockSize+dataNodeSize) {
		r.dbuf = nb
	}
	if nb[20] != typeData || len(nb) < dataNodeSize || readKey(nb[24:32]) != key {
		return fmt.Errorf("%w: inode %d block %d: not the expected data node", ErrNode, inum, n)
	}
	dsize := int(binary.LittleEndian.Uint32(nb[40:44]))
	ctype := binary.LittleEndian.Uint16(nb[44:46])
	if dsize > blockSize {
		return fmt.Errorf("%w: inode %d block %d: size %d", ErrNode, inum, n, dsize)
	}
	if err := r.dec.decompress(ctype, nb[dataNodeSize:], out[:dsize]); err != nil {
		return fmt.Errorf("inode %d block %d: %w", inum, n, err)
	}
	return nil
}
