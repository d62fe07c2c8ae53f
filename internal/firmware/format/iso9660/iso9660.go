// Package iso9660 reads ISO 9660 images: the primary volume descriptor,
// the directory hierarchy through directory records, multi-extent files,
// Rock Ridge (SUSP PX, PN, SL, NM, CE, RE, CL) for POSIX names, modes,
// owners, symlinks and devices, and Joliet names when the image has no
// Rock Ridge.
package iso9660

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"strings"
	"time"
	"unicode/utf16"

	"github.com/netvet/netvet/internal/firmware"
	"github.com/netvet/netvet/internal/safeio"
)

// Sentinel errors.
var (
	ErrHeader  = errors.New("iso9660: bad volume descriptor")
	ErrCorrupt = errors.New("iso9660: corrupt directory record")
	ErrLoop    = errors.New("iso9660: directory loop")
)

const (
	sectorSize  = 2048
	vdStart     = 16
	maxVDs      = 64
	maxEntries  = 1 << 20
	maxDepth    = 256
	maxDirSize  = 64 << 20
	maxExtents  = 4096 // extents of one multi-extent file
	maxCE       = 32   // continuation areas per record
	maxSUSP     = 64 << 10
	maxLinkSize = 64 << 10
)

type format struct{}

// New returns the ISO 9660 format.
func New() firmware.Format { return format{} }

var _ firmware.Format = format{}

func (format) Info() firmware.Info {
	return firmware.Info{
		Name:        "iso9660",
		Description: "ISO 9660 CD-ROM filesystem image (Rock Ridge, Joliet)",
		Kind:        firmware.KindFilesystem,
		Signatures:  []firmware.Signature{{Magic: []byte("CD001"), Offset: vdStart*sectorSize + 1}},
		Variants:    []string{"ISO 9660 level 1-3", "multi-extent files", "Rock Ridge (PX PN SL NM CE RE CL)", "Joliet names"},
	}
}

// volume is what the descriptors tell.
type volume struct {
	blockSize int64
	blocks    int64
	root      []byte // root directory record of the PVD
	joliet    []byte // root record of a Joliet SVD, or nil
}

// both reads a both-endian 32-bit field and checks that its halves agree.
func both32(b []byte) (uint32, bool) {
	le := binary.LittleEndian.Uint32(b[0:])
	return le, le == binary.BigEndian.Uint32(b[4:])
}

func both16(b []byte) (uint16, bool) {
	le := binary.LittleEndian.Uint16(b[0:])
	return le, le == binary.BigEndian.Uint16(b[2:])
}

func readVolume(src io.ReaderAt, size int64) (*volume, error) {
	var v *volume
	var joliet []byte
	for i := int64(0); i < maxVDs; i++ {
		off := (vdStart + i) * sectorSize
		d, err := safeio.ReadAt(src, size, off, sectorSize, sectorSize)
		if err != nil {
			return nil, fmt.Errorf("%w: descriptor %d: %w", ErrHeader, i, err)
		}
		if string(d[1:6]) != "CD001" || d[6] != 1 {
			return nil, fmt.Errorf("%w: descriptor %d has no CD001 signature", ErrHeader, i)
		}
		switch d[0] {
		case 1:
			if v != nil {
				continue
			}
			bs, ok1 := both16(d[128:])
			blocks, ok2 := both32(d[80:])
			if !ok1 || !ok2 {
				return nil, fmt.Errorf("%w: both-endian fields disagree", ErrHeader)
			}
			if bs != 512 && bs != 1024 && bs != 2048 {
				return nil, fmt.Errorf("%w: logical block size %d", ErrHeader, bs)
			}
			if d[156] < 34 {
				return nil, fmt.Errorf("%w: root record length %d", ErrHeader, d[156])
			}
			v = &volume{blockSize: int64(bs), blocks: int64(blocks), root: bytes.Clone(d[156 : 156+34])}
		case 2:
			esc := d[88:91]
			if joliet == nil && esc[0] == '%' && esc[1] == '/' && (esc[2] == '@' || esc[2] == 'C' || esc[2] == 'E') && d[156] >= 34 {
				joliet = bytes.Clone(d[156 : 156+34])
			}
		case 255:
			i = maxVDs
		}
	}
	if v == nil {
		return nil, fmt.Errorf("%w: no primary volume descriptor", ErrHeader)
	}
	v.joliet = joliet
	return v, nil
}

func (format) Identify(src io.ReaderAt, size int64) bool {
	// Only the first descriptor and at most a few more are read.
	for i := int64(0); i < 4; i++ {
		d, err := safeio.ReadAt(src, size, (vdStart+i)*sectorSize, sectorSize, sectorSize)
		if err != nil || string(d[1:6]) != "CD001" || d[6] != 1 {
			return false
		}
		if d[0] == 1 {
			bs, ok1 := both16(d[128:])
			_, ok2 := both32(d[80:])
			return ok1 && ok2 && (bs == 512 || bs == 1024 || bs == 2048) && d[156] >= 34
		}
		if d[0] == 255 {
			return false
		}
	}
	return false
}

// record is a parsed directory record.
type record struct {
	off    int64 // byte offset of the record in the image
	extent int64
	size   int64
	flags  byte
	name   []byte
	mtime  time.Time
	system []byte // system use area
}

func parseRecord(b []byte, off int64) (*record, error) {
	n := int(b[0])
	if n < 34 || n > len(b) {
		return nil, fmt.Errorf("%w: record length %d at %#x", ErrCorrupt, n, off)
	}
	ext, ok1 := both32(b[2:])
	size, ok2 := both32(b[10:])
	if !ok1 || !ok2 {
		return nil, fmt.Errorf("%w: both-endian fields disagree at %#x", ErrCorrupt, off)
	}
	nl := int(b[32])
	if 33+nl > n {
		return nil, fmt.Errorf("%w: name length %d at %#x", ErrCorrupt, nl, off)
	}
	r := &record{off: off, extent: int64(ext), size: int64(size), flags: b[25], name: b[33 : 33+nl]}
	su := 33 + nl
	if nl%2 == 0 {
		su++
	}
	if su < n {
		r.system = b[su:n]
	}
	t := b[18:25]
	if t[0] != 0 || t[1] != 0 {
		zone := time.FixedZone("", int(int8(t[6]))*15*60)
		r.mtime = time.Date(1900+int(t[0]), time.Month(t[1]), int(t[2]), int(t[3]), int(t[4]), int(t[5]), 0, zone).UTC()
	}
	return r, nil
}

type image struct {
	ctx     context.Context
	src     io.ReaderAt
	size    int64
	v       *volume
	rr      bool // Rock Ridge in use
	skip    int  // SUSP bytes to skip at the start of each system use area
	joliet  bool // names are UCS-2
	dst     firmware.Sink
	entries int
	// budget is the directory and continuation-area data still allowed
	// to be read; a sound image reads each sector once, so more than the
	// image's size means shared or looping metadata.
	budget int64
	dirs   map[int64]bool
	links  map[uint64]string
}

func (im *image) readExtent(lba, off, n, max int64) ([]byte, error) {
	if lba < 0 || lba > im.size/im.v.blockSize {
		return nil, fmt.Errorf("%w: block %d beyond the image", ErrCorrupt, lba)
	}
	return safeio.ReadAt(im.src, im.size, lba*im.v.blockSize+off, n, max)
}

// rrInfo is what Rock Ridge says about one record.
type rrInfo struct {
	hasPX         bool
	mode          uint32
	nlink         uint32
	uid, gid      uint32
	ino           uint32
	hasIno        bool
	hasPN         bool
	devHi, devLo  uint32
	name          string
	hasNM         bool
	link          string
	hasSL         bool
	relocated     bool  // RE: hidden, reached through a CL elsewhere
	child         int64 // CL: the directory's real location, or -1
	mtime         time.Time
	slComponentGo bool // previous SL component continues
}

// susp walks the system use entries of r, following CE continuation areas.
func (im *image) susp(r *record, fn func(sig string, data []byte)) error {
	area := r.system
	if len(area) >= im.skip {
		area = area[im.skip:]
	} else {
		area = nil
	}
	for hops := 0; ; hops++ {
		var ceBlk, ceOff, ceLen int64 = -1, 0, 0
		for len(area) >= 4 {
			sig := string(area[0:2])
			l := int(area[2])
			if l < 4 || l > len(area) {
				break
			}
			data := area[4:l]
			area = area[l:]
			switch sig {
			case "ST":
				area = nil
			case "CE":
				if len(data) >= 24 {
					b, ok1 := both32(data[0:])
					o, ok2 := both32(data[8:])
					n, ok3 := both32(data[16:])
					if ok1 && ok2 && ok3 {
						ceBlk, ceOff, ceLen = int64(b), int64(o), int64(n)
					}
				}
			default:
				fn(sig, data)
			}
		}
		if ceBlk < 0 {
			return nil
		}
		if hops >= maxCE {
			return fmt.Errorf("%w: more than %d continuation areas", ErrLoop, maxCE)
		}
		if ceLen > im.budget {
			return fmt.Errorf("%w: continuation areas hold more data than the image", ErrLoop)
		}
		im.budget -= ceLen
		b, err := im.readExtent(ceBlk, ceOff, ceLen, maxSUSP)
		if err != nil {
			return fmt.Errorf("continuation area: %w", err)
		}
		area = b
	}
}

func (im *image) rockRidge(r *record) (*rrInfo, error) {
	info := &rrInfo{child: -1}
	var nm strings.Builder
	var sl strings.Builder
	slDone := false
	err := im.susp(r, func(sig string, d []byte) {
		switch sig {
		case "PX":
			if len(d) >= 32 {
				info.hasPX = true
				info.mode, _ = both32(d[0:])
				info.nlink, _ = both32(d[8:])
				info.uid, _ = both32(d[16:])
				info.gid, _ = both32(d[24:])
				if len(d) >= 40 {
					info.ino, info.hasIno = both32(d[32:])
				}
			}
		case "PN":
			if len(d) >= 16 {
				info.hasPN = true
				info.devHi, _ = both32(d[0:])
				info.devLo, _ = both32(d[8:])
			}
		case "NM":
			if len(d) >= 1 && d[0]&6 == 0 && nm.Len() < 4096 {
				info.hasNM = true
				nm.Write(d[1:])
			}
		case "SL":
			if len(d) < 1 || slDone || sl.Len() > maxLinkSize {
				return
			}
			info.hasSL = true
			comps := d[1:]
			for len(comps) >= 2 {
				cf, cl := comps[0], int(comps[1])
				if 2+cl > len(comps) {
					break
				}
				content := comps[2 : 2+cl]
				comps = comps[2+cl:]
				if sl.Len() > 0 && !info.slComponentGo && !strings.HasSuffix(sl.String(), "/") {
					sl.WriteByte('/')
				}
				switch {
				case cf&2 != 0:
					sl.WriteString(".")
				case cf&4 != 0:
					sl.WriteString("..")
				case cf&8 != 0:
					sl.Reset()
					sl.WriteString("/")
				default:
					sl.Write(content)
				}
				info.slComponentGo = cf&1 != 0
			}
			if d[0]&1 == 0 {
				slDone = true
			}
		case "RE":
			info.relocated = true
		case "CL":
			if len(d) >= 8 {
				if c, ok := both32(d[0:]); ok {
					info.child = int64(c)
				}
			}
		case "TF":
			info.mtime = parseTF(d)
		}
	})
	info.name = nm.String()
	info.link = sl.String()
	return info, err
}

// parseTF returns the modification time of a TF entry, if recorded.
func parseTF(d []byte) time.Time {
	if len(d) < 1 {
		return time.Time{}
	}
	flags := d[0]
	long := flags&0x80 != 0
	sz := 7
	if long {
		sz = 17
	}
	p := 1
	if flags&1 != 0 { // creation
		p += sz
	}
	if flags&2 == 0 || p+sz > len(d) {
		return time.Time{}
	}
	t := d[p : p+sz]
	if long {
		return time.Time{} // rare; the record date stands in
	}
	if t[1] == 0 {
		return time.Time{}
	}
	zone := time.FixedZone("", int(int8(t[6]))*15*60)
	return time.Date(1900+int(t[0]), time.Month(t[1]), int(t[2]), int(t[3]), int(t[4]), int(t[5]), 0, zone).UTC()
}

func (format) Extract(ctx context.Context, src io.ReaderAt, size int64, dst firmware.Sink) (int64, error) {
	v, err := readVolume(src, size)
	if err != nil {
		return 0, err
	}
	total := size
	if v.blocks <= size/v.blockSize {
		total = v.blocks * v.blockSize
	}
	im := &image{ctx: ctx, src: src, size: size, v: v, dst: dst, budget: size + 1<<20, dirs: map[int64]bool{}, links: map[uint64]string{}}
	root, err := parseRecord(v.root, vdStart*sectorSize+156)
	if err != nil {
		return total, err
	}
	// Rock Ridge is announced by an SP entry in the root's "." record.
	if dot, err := im.firstRecord(root); err == nil && len(dot.system) >= 7 &&
		string(dot.system[0:2]) == "SP" && dot.system[4] == 0xBE && dot.system[5] == 0xEF {
		im.skip = int(dot.system[6])
		im.rr = true
	}
	if !im.rr && v.joliet != nil {
		if jr, err := parseRecord(v.joliet, -1); err == nil {
			root = jr
			im.joliet = true
		}
	}
	type dirItem struct {
		rec   *record
		path  string
		depth int
	}
	im.dirs[root.extent] = true
	stack := []dirItem{{rec: root}}
	for len(stack) > 0 {
		if err := ctx.Err(); err != nil {
			return total, err
		}
		d := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		subs, err := im.listDir(d.rec, d.path, d.depth)
		if err != nil {
			return total, err
		}
		for i := len(subs) - 1; i >= 0; i-- {
			stack = append(stack, dirItem{subs[i].rec, subs[i].path, d.depth + 1})
		}
	}
	return total, nil
}

// firstRecord returns the first record (".") of directory dir.
func (im *image) firstRecord(dir *record) (*record, error) {
	b, err := im.readExtent(dir.extent, 0, min(255, max(dir.size, 34)), 255)
	if err != nil {
		return nil, err
	}
	if int(b[0]) > len(b) || b[0] < 34 {
		return nil, fmt.Errorf("%w: bad \".\" record", ErrCorrupt)
	}
	return parseRecord(b, dir.extent*im.v.blockSize)
}

type sub struct {
	rec  *record
	path string
}

func (im *image) decodeName(r *record) string {
	n := r.name
	if im.joliet {
		u := make([]uint16, 0, len(n)/2)
		for i := 0; i+1 < len(n); i += 2 {
			u = append(u, binary.BigEndian.Uint16(n[i:]))
		}
		s := string(utf16.Decode(u))
		if i := strings.LastIndexByte(s, ';'); i >= 0 {
			s = s[:i]
		}
		return s
	}
	s := string(n)
	if i := strings.LastIndexByte(s, ';'); i >= 0 {
		s = s[:i]
		s = strings.TrimSuffix(s, ".")
	}
	return s
}

// listDir puts the children of dir and returns the subdirectories.
func (im *image) listDir(dir *record, path string, depth int) ([]sub, error) {
	dirEntry := firmware.Entry{Path: path, Type: firmware.TypeDir, Offset: dir.extent * im.v.blockSize}
	if dir.size > maxDirSize {
		im.dst.Fail(dirEntry, fmt.Errorf("%w: directory of %d bytes", ErrCorrupt, dir.size))
		return nil, nil
	}
	if dir.size > im.budget {
		return nil, fmt.Errorf("%w: directories hold more data than the image", ErrLoop)
	}
	im.budget -= dir.size
	var subs []sub
	var multi []*record // pending extents of a multi-extent file
	bs := im.v.blockSize
	for pos := int64(0); pos < dir.size; pos = (pos/bs + 1) * bs {
		n := min(bs, dir.size-pos)
		blk, err := im.readExtent(dir.extent, pos, n, bs)
		if err != nil {
			im.dst.Fail(dirEntry, err)
			return subs, nil
		}
		for p := 0; p < len(blk) && blk[p] != 0; p += int(blk[p]) {
			if err := im.ctx.Err(); err != nil {
				return nil, err
			}
			r, err := parseRecord(blk[p:], dir.extent*bs+pos+int64(p))
			if err != nil {
				im.dst.Fail(dirEntry, err)
				break
			}
			if len(r.name) == 1 && (r.name[0] == 0 || r.name[0] == 1) {
				continue // "." and ".."
			}
			im.entries++
			if im.entries > maxEntries {
				return nil, &firmware.LimitError{Limit: "max-files", Value: maxEntries, Msg: "iso9660: too many directory records"}
			}
			if r.flags&0x80 != 0 && r.flags&2 == 0 {
				if len(multi) >= maxExtents {
					im.dst.Fail(dirEntry, fmt.Errorf("%w: more than %d extents in one file", ErrCorrupt, maxExtents))
					multi = nil
				}
				multi = append(multi, r)
				continue
			}
			exts := append(multi, r)
			multi = nil
			s, err := im.putRecord(exts, path, depth)
			if err != nil {
				return nil, err
			}
			if s != nil {
				subs = append(subs, *s)
			}
		}
	}
	if len(multi) > 0 {
		im.dst.Fail(dirEntry, fmt.Errorf("%w: multi-extent file without its final record", ErrCorrupt))
	}
	return subs, nil
}

func join(dir, name string) string {
	if dir == "" {
		return name
	}
	return dir + "/" + name
}

func permBits(m uint32) fs.FileMode {
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

// putRecord puts the file or directory whose (last) record is exts[len-1].
func (im *image) putRecord(exts []*record, dir string, depth int) (*sub, error) {
	r := exts[len(exts)-1]
	e := firmware.Entry{Path: join(dir, im.decodeName(r)), Offset: r.off, ModTime: r.mtime}
	isDir := r.flags&2 != 0
	e.Mode = 0o644
	if isDir {
		e.Mode = 0o755
	}
	var rr *rrInfo
	if im.rr {
		var err error
		rr, err = im.rockRidge(r)
		if err != nil {
			im.dst.Fail(e, err)
			return nil, nil
		}
		if rr.relocated {
			return nil, nil
		}
		if rr.hasNM {
			e.Path = join(dir, rr.name)
		}
		if !rr.mtime.IsZero() {
			e.ModTime = rr.mtime
		}
		if rr.hasPX {
			e.Mode = permBits(rr.mode)
			e.UID, e.GID = int64(rr.uid), int64(rr.gid)
		}
		if rr.child >= 0 {
			// A placeholder for a relocated directory: its records are at
			// the CL block, and its size is in that directory's ".".
			dot, err := im.firstRecord(&record{extent: rr.child, size: im.v.blockSize})
			if err != nil {
				im.dst.Fail(e, err)
				return nil, nil
			}
			r = dot
			isDir = true
		}
	}
	if isDir {
		e.Type = firmware.TypeDir
		if im.dirs[r.extent] {
			im.dst.Fail(e, fmt.Errorf("%w: directory at block %d reached twice", ErrLoop, r.extent))
			return nil, nil
		}
		if depth+1 > maxDepth {
			im.dst.Fail(e, fmt.Errorf("%w: nested deeper than %d", ErrLoop, maxDepth))
			return nil, nil
		}
		im.dirs[r.extent] = true
		if err := im.dst.Put(im.ctx, e, nil); err != nil {
			return nil, err
		}
		return &sub{rec: r, path: e.Path}, nil
	}
	if rr != nil && rr.hasPX {
		switch rr.mode & 0o170000 {
		case 0o120000:
			e.Type = firmware.TypeSymlink
			e.LinkTarget = rr.link
			return nil, im.dst.Put(im.ctx, e, nil)
		case 0o020000, 0o060000:
			e.Type = firmware.TypeCharDevice
			if rr.mode&0o170000 == 0o060000 {
				e.Type = firmware.TypeBlockDevice
			}
			if rr.devHi != 0 {
				e.DevMajor, e.DevMinor = rr.devHi, rr.devLo
			} else {
				d := rr.devLo
				e.DevMajor = (d & 0xfff00) >> 8
				e.DevMinor = d&0xff | (d>>12)&0xfff00
			}
			return nil, im.dst.Put(im.ctx, e, nil)
		case 0o010000:
			e.Type = firmware.TypeFIFO
			return nil, im.dst.Put(im.ctx, e, nil)
		case 0o140000:
			e.Type = firmware.TypeSocket
			return nil, im.dst.Put(im.ctx, e, nil)
		}
	} else if rr != nil && rr.hasSL {
		e.Type = firmware.TypeSymlink
		e.Mode = 0o777
		e.LinkTarget = rr.link
		return nil, im.dst.Put(im.ctx, e, nil)
	}
	e.Type = firmware.TypeFile
	// Hard links: Rock Ridge files that say they have several links and
	// share a serial number (or, without one, their first extent).
	if rr != nil && rr.hasPX && rr.nlink > 1 {
		key := uint64(r.extent)<<1 | 1
		if rr.hasIno {
			key = uint64(rr.ino) << 1
		}
		if first, ok := im.links[key]; ok {
			e.Type, e.LinkTarget = firmware.TypeHardlink, first
			return nil, im.dst.Put(im.ctx, e, nil)
		}
		if len(im.links) < maxEntries {
			im.links[key] = e.Path
		}
	}
	readers := make([]io.Reader, 0, len(exts))
	for _, x := range exts {
		off := x.extent * im.v.blockSize
		if x.extent > im.size/im.v.blockSize || x.size > im.size-off {
			im.dst.Fail(e, fmt.Errorf("%w: %d bytes at block %d past the end of the image", ErrCorrupt, x.size, x.extent))
			return nil, nil
		}
		e.Size += x.size
		readers = append(readers, io.NewSectionReader(im.src, off, x.size))
	}
	return nil, im.dst.Put(im.ctx, e, io.MultiReader(readers...))
}
