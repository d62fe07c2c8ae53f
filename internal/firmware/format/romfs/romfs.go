// Package romfs reads Linux romfs images ("-rom1fs-"): a big-endian,
// 16-byte aligned chain of file headers per directory. romfs records no
// owners and no permission bits beyond "executable", so entries get uid
// and gid 0 and mode 0755 (directories, executables) or 0644.
package romfs

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"

	"github.com/netvet/netvet/internal/firmware"
	"github.com/netvet/netvet/internal/safeio"
)

// Sentinel errors.
var (
	ErrHeader   = errors.New("romfs: bad superblock")
	ErrChecksum = errors.New("romfs: superblock checksum mismatch")
	ErrCorrupt  = errors.New("romfs: corrupt file header")
	ErrLoop     = errors.New("romfs: loop in header chain")
)

const (
	magic       = "-rom1fs-"
	maxName     = 1024
	maxEntries  = 1 << 20
	maxDepth    = 256
	maxSymlink  = 4096
	maxHardlink = 16
)

// Header types (low three bits of the next field).
const (
	tHardlink = iota
	tDir
	tFile
	tSymlink
	tBlockDev
	tCharDev
	tSocket
	tFIFO
)

type format struct{}

// New returns the romfs format.
func New() firmware.Format { return format{} }

var _ firmware.Format = format{}

func (format) Info() firmware.Info {
	return firmware.Info{
		Name:        "romfs",
		Description: "Linux romfs filesystem image",
		Kind:        firmware.KindFilesystem,
		Signatures:  []firmware.Signature{{Magic: []byte(magic), Offset: 0}},
		Variants:    []string{"romfs (files, dirs, symlinks, hard links, devices, fifos, sockets)"},
	}
}

type image struct {
	ctx  context.Context
	src  io.ReaderAt
	end  int64 // min(full_size, size)
	size int64
}

// header is one parsed file header.
type header struct {
	off  int64
	next int64
	typ  int
	exec bool
	spec uint32
	size uint32
	name string
	data int64 // offset of the data after the padded name
}

func align16(n int64) int64 { return (n + 15) &^ 15 }

// readName reads a NUL-terminated name at off, and returns it with the
// offset just past its 16-byte padding.
func (im *image) readName(off int64) (string, int64, error) {
	var buf []byte
	for chunk := int64(0); chunk < maxName; chunk += 64 {
		n := int64(64)
		if off+chunk+n > im.end {
			n = im.end - off - chunk
		}
		if n <= 0 {
			break
		}
		b, err := safeio.ReadAt(im.src, im.size, off+chunk, n, 64)
		if err != nil {
			return "", 0, err
		}
		if i := bytes.IndexByte(b, 0); i >= 0 {
			buf = append(buf, b[:i]...)
			return string(buf), off + align16(int64(len(buf))+1), nil
		}
		buf = append(buf, b...)
	}
	return "", 0, fmt.Errorf("%w: name at %#x unterminated", ErrCorrupt, off)
}

func (im *image) header(off int64) (*header, error) {
	if off < 16 || off%16 != 0 || off+16 > im.end {
		return nil, fmt.Errorf("%w: header offset %#x outside the image", ErrCorrupt, off)
	}
	b, err := safeio.ReadAt(im.src, im.size, off, 16, 16)
	if err != nil {
		return nil, err
	}
	next := binary.BigEndian.Uint32(b[0:])
	h := &header{
		off:  off,
		next: int64(next &^ 15),
		typ:  int(next & 7),
		exec: next&8 != 0,
		spec: binary.BigEndian.Uint32(b[4:]),
		size: binary.BigEndian.Uint32(b[8:]),
	}
	h.name, h.data, err = im.readName(off + 16)
	if err != nil {
		return nil, err
	}
	return h, nil
}

func parseSuper(src io.ReaderAt, size int64) (fullSize int64, first int64, err error) {
	b, err := safeio.ReadAt(src, size, 0, 16, 16)
	if err != nil {
		return 0, 0, fmt.Errorf("%w: %w", ErrHeader, err)
	}
	if string(b[:8]) != magic {
		return 0, 0, fmt.Errorf("%w: no magic", ErrHeader)
	}
	fullSize = int64(binary.BigEndian.Uint32(b[8:]))
	if fullSize < 48 {
		return 0, 0, fmt.Errorf("%w: image size %d", ErrHeader, fullSize)
	}
	im := &image{src: src, size: size, end: min(fullSize, size)}
	_, first, err = im.readName(16)
	if err != nil {
		return 0, 0, fmt.Errorf("%w: volume name: %w", ErrHeader, err)
	}
	if first+16 > fullSize {
		return 0, 0, fmt.Errorf("%w: no room for the root header", ErrHeader)
	}
	return fullSize, first, nil
}

func (format) Identify(src io.ReaderAt, size int64) bool {
	fullSize, first, err := parseSuper(src, size)
	if err != nil || first+16 > size {
		return false
	}
	im := &image{src: src, size: size, end: min(fullSize, size)}
	h, err := im.header(first)
	// The first header is the root's "." entry, a directory.
	return err == nil && h.typ == tDir && h.name == "."
}

// checksum verifies that the first min(512, fullSize) bytes sum to zero as
// big-endian 32-bit words.
func checksum(src io.ReaderAt, size, fullSize int64) error {
	n := min(512, fullSize) &^ 3
	b, err := safeio.ReadAt(src, size, 0, n, 512)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrChecksum, err)
	}
	var sum uint32
	for i := 0; i < len(b); i += 4 {
		sum += binary.BigEndian.Uint32(b[i:])
	}
	if sum != 0 {
		return fmt.Errorf("%w: sum %#08x", ErrChecksum, sum)
	}
	return nil
}

type walker struct {
	im      *image
	dst     firmware.Sink
	visited map[int64]bool   // headers reached through a chain
	paths   map[int64]string // header offset -> first path put
	entries int
}

type dirItem struct {
	first int64
	path  string
	depth int
}

func (format) Extract(ctx context.Context, src io.ReaderAt, size int64, dst firmware.Sink) (int64, error) {
	fullSize, first, err := parseSuper(src, size)
	if err != nil {
		return 0, err
	}
	total := min(fullSize, size)
	if err := checksum(src, size, fullSize); err != nil {
		dst.Fail(firmware.Entry{Path: "", Type: firmware.TypeDir, Offset: 0}, err)
	}
	im := &image{ctx: ctx, src: src, size: size, end: total}
	w := &walker{im: im, dst: dst, visited: map[int64]bool{}, paths: map[int64]string{}}
	root, err := im.header(first)
	if err != nil {
		return total, fmt.Errorf("root: %w", err)
	}
	if root.typ != tDir {
		return total, fmt.Errorf("%w: root header is not a directory", ErrCorrupt)
	}
	// The root's entries start with its own "." header.
	stack := []dirItem{{first: first}}
	for len(stack) > 0 {
		if err := ctx.Err(); err != nil {
			return total, err
		}
		d := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		subs, err := w.listDir(d)
		if err != nil {
			return total, err
		}
		for i := len(subs) - 1; i >= 0; i-- {
			stack = append(stack, subs[i])
		}
	}
	return total, nil
}

func (w *walker) listDir(d dirItem) ([]dirItem, error) {
	var subs []dirItem
	for off := d.first; off != 0; {
		if err := w.im.ctx.Err(); err != nil {
			return nil, err
		}
		if w.visited[off] {
			w.dst.Fail(firmware.Entry{Path: d.path, Type: firmware.TypeDir, Offset: off},
				fmt.Errorf("%w: header %#x reached twice", ErrLoop, off))
			break
		}
		w.visited[off] = true
		w.entries++
		if w.entries > maxEntries {
			return nil, &firmware.LimitError{Limit: "max-files", Value: maxEntries, Msg: "romfs: too many entries"}
		}
		h, err := w.im.header(off)
		if err != nil {
			w.dst.Fail(firmware.Entry{Path: d.path, Type: firmware.TypeDir, Offset: off}, err)
			break
		}
		off = h.next
		if h.name == "." || h.name == ".." {
			continue
		}
		path := h.name
		if d.path != "" {
			path = d.path + "/" + h.name
		}
		sub, err := w.put(h, path, d.depth+1)
		if err != nil {
			return nil, err
		}
		if sub != nil {
			subs = append(subs, *sub)
		}
	}
	return subs, nil
}

func modeOf(h *header) fs.FileMode {
	if h.exec || h.typ == tDir {
		return 0o755
	}
	return 0o644
}

// put puts the entry for header h at path; a directory to walk is returned.
func (w *walker) put(h *header, path string, depth int) (*dirItem, error) {
	ctx := w.im.ctx
	e := firmware.Entry{Path: path, Mode: modeOf(h), Offset: h.off}
	if first, ok := w.paths[h.off]; ok {
		// Already put under another name through a hard link.
		e.Type, e.LinkTarget = firmware.TypeHardlink, first
		return nil, w.dst.Put(ctx, e, nil)
	}
	if h.typ == tHardlink {
		t, err := w.resolve(h)
		if err != nil {
			w.dst.Fail(e, err)
			return nil, nil
		}
		if first, ok := w.paths[t.off]; ok {
			e.Type, e.LinkTarget = firmware.TypeHardlink, first
			return nil, w.dst.Put(ctx, e, nil)
		}
		if t.typ == tDir {
			w.dst.Fail(e, fmt.Errorf("%w: hard link to directory %#x", ErrCorrupt, t.off))
			return nil, nil
		}
		// The target comes later in the walk: this name is put first with
		// the content, and the target's own name becomes the hard link.
		e.Mode = modeOf(t)
		w.paths[t.off] = path
		h = t
	} else {
		w.paths[h.off] = path
	}
	switch h.typ {
	case tDir:
		e.Type = firmware.TypeDir
		if depth > maxDepth {
			w.dst.Fail(e, fmt.Errorf("%w: directories nested deeper than %d", ErrLoop, maxDepth))
			return nil, nil
		}
		if err := w.dst.Put(ctx, e, nil); err != nil {
			return nil, err
		}
		return &dirItem{first: int64(h.spec), path: path, depth: depth}, nil
	case tFile:
		e.Type = firmware.TypeFile
		e.Size = int64(h.size)
		if h.data > w.im.end || int64(h.size) > w.im.end-h.data {
			w.dst.Fail(e, fmt.Errorf("%w: %d bytes at %#x past the end of the image", ErrCorrupt, h.size, h.data))
			return nil, nil
		}
		return nil, w.dst.Put(ctx, e, io.NewSectionReader(w.im.src, h.data, int64(h.size)))
	case tSymlink:
		e.Type = firmware.TypeSymlink
		e.Mode = 0o777
		if h.size > maxSymlink || h.data > w.im.end || int64(h.size) > w.im.end-h.data {
			w.dst.Fail(e, fmt.Errorf("%w: symlink of %d bytes at %#x", ErrCorrupt, h.size, h.data))
			return nil, nil
		}
		b, err := safeio.ReadAt(w.im.src, w.im.size, h.data, int64(h.size), maxSymlink)
		if err != nil {
			w.dst.Fail(e, err)
			return nil, nil
		}
		e.LinkTarget = string(b)
	case tBlockDev, tCharDev:
		e.Type = firmware.TypeCharDevice
		if h.typ == tBlockDev {
			e.Type = firmware.TypeBlockDevice
		}
		e.DevMajor, e.DevMinor = h.spec>>16, h.spec&0xffff
	case tSocket:
		e.Type = firmware.TypeSocket
	case tFIFO:
		e.Type = firmware.TypeFIFO
	}
	return nil, w.dst.Put(ctx, e, nil)
}

// resolve follows a hard link's spec chain to a header that is not a hard
// link itself.
func (w *walker) resolve(h *header) (*header, error) {
	for i := 0; i < maxHardlink; i++ {
		t, err := w.im.header(int64(h.spec))
		if err != nil {
			return nil, fmt.Errorf("hard link target: %w", err)
		}
		if t.typ != tHardlink {
			return t, nil
		}
		h = t
	}
	return nil, fmt.Errorf("%w: hard link chain longer than %d", ErrLoop, maxHardlink)
}
