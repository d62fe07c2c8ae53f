// Package zip reads zip archives through archive/zip, over the extent
// found from the end of central directory record: stored and deflated
// entries, zip64, Unix modes (setuid, symlinks, devices) from the external
// attributes and owners from the Info-ZIP Unix extra field. Names reach the
// sink exactly as stored.
package zip

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"sort"
	"strings"

	"github.com/klauspost/compress/flate"

	"github.com/netvet/netvet/internal/firmware"
	"github.com/netvet/netvet/internal/safeio"
)

var (
	// ErrNoEnd reports that no end of central directory matches the archive.
	ErrNoEnd = errors.New("zip: no end of central directory record")
	// ErrEncrypted reports an encrypted entry, which is not extracted.
	ErrEncrypted = errors.New("zip: encrypted entry")
	// ErrOverlap reports an entry whose data overlaps an earlier entry's,
	// the mark of a zip bomb; it is not extracted.
	ErrOverlap = errors.New("zip: entry data overlaps another entry")
)

const (
	eocdLen       = 22
	eocd64Len     = 56
	locatorLen    = 20
	maxSymlink    = 4096
	maxEntries    = 1 << 20
	scanChunk     = 1 << 20
	localHdrLen   = 30
	maxNameLength = 4096
)

var (
	localMagic   = []byte("PK\x03\x04")
	eocdMagic    = []byte("PK\x05\x06")
	eocd64Magic  = []byte("PK\x06\x06")
	locatorMagic = []byte("PK\x06\x07")
)

type format struct{}

var _ firmware.Format = format{}

// New returns the zip format.
func New() firmware.Format { return format{} }

func (format) Info() firmware.Info {
	return firmware.Info{
		Name:        "zip",
		Description: "zip archive",
		Kind:        firmware.KindArchive,
		Signatures:  []firmware.Signature{{Magic: localMagic}},
		Variants:    []string{"stored", "deflate", "zip64", "Unix modes and symlinks", "Info-ZIP Unix owners"},
	}
}

func (format) Identify(src io.ReaderAt, size int64) bool {
	h, err := safeio.ReadAt(src, size, 0, localHdrLen, localHdrLen)
	if err != nil || !bytes.Equal(h[:4], localMagic) {
		return false
	}
	version := binary.LittleEndian.Uint16(h[4:6])
	method := binary.LittleEndian.Uint16(h[8:10])
	nameLen := int64(binary.LittleEndian.Uint16(h[26:28]))
	extraLen := int64(binary.LittleEndian.Uint16(h[28:30]))
	switch method {
	case 0, 1, 6, 8, 9, 12, 14, 93, 95, 98, 99:
	default:
		return false
	}
	return version&0xff <= 90 && nameLen > 0 && nameLen <= maxNameLength && localHdrLen+nameLen+extraLen <= size
}

// findEnd scans forward for an end of central directory record whose
// central directory ends right where the record starts (or, for zip64,
// whose zip64 record does), and returns the archive's length.
func findEnd(ctx context.Context, src io.ReaderAt, size int64) (int64, error) {
	buf := make([]byte, scanChunk+eocdLen)
	for base := int64(0); base < size; base += scanChunk {
		if err := ctx.Err(); err != nil {
			return 0, err
		}
		n := min(int64(len(buf)), size-base)
		if _, err := src.ReadAt(buf[:n], base); err != nil && !errors.Is(err, io.EOF) {
			return 0, err
		}
		chunk := buf[:n]
		for i := 0; ; {
			j := bytes.Index(chunk[i:], eocdMagic)
			if j < 0 || int64(i+j) >= scanChunk {
				break
			}
			p := base + int64(i+j)
			if end, ok := checkEnd(src, size, p); ok {
				return end, nil
			}
			i += j + 1
		}
	}
	return 0, ErrNoEnd
}

// checkEnd checks the end record at p.
func checkEnd(src io.ReaderAt, size, p int64) (int64, bool) {
	r, err := safeio.ReadAt(src, size, p, eocdLen, eocdLen)
	if err != nil {
		return 0, false
	}
	cdSize := int64(binary.LittleEndian.Uint32(r[12:16]))
	cdOff := int64(binary.LittleEndian.Uint32(r[16:20]))
	end := p + eocdLen + int64(binary.LittleEndian.Uint16(r[20:22]))
	if end > size {
		return 0, false
	}
	if cdOff+cdSize == p {
		return end, true
	}
	if p < locatorLen+eocd64Len || (cdSize != 0xffffffff && cdOff != 0xffffffff && binary.LittleEndian.Uint16(r[10:12]) != 0xffff) {
		return 0, false
	}
	l, err := safeio.ReadAt(src, size, p-locatorLen, locatorLen, locatorLen)
	if err != nil || !bytes.Equal(l[:4], locatorMagic) {
		return 0, false
	}
	off64 := int64(binary.LittleEndian.Uint64(l[8:16]))
	if off64 < 0 || off64 > p-locatorLen-eocd64Len {
		return 0, false
	}
	e, err := safeio.ReadAt(src, size, off64, eocd64Len, eocd64Len)
	if err != nil || !bytes.Equal(e[:4], eocd64Magic) {
		return 0, false
	}
	cdSize64 := binary.LittleEndian.Uint64(e[40:48])
	cdOff64 := binary.LittleEndian.Uint64(e[48:56])
	if cdOff64 > uint64(off64) || cdSize64 != uint64(off64)-cdOff64 {
		return 0, false
	}
	return end, true
}

func (format) Extract(ctx context.Context, src io.ReaderAt, size int64, dst firmware.Sink) (int64, error) {
	end, err := findEnd(ctx, src, size)
	if err != nil {
		return 0, err
	}
	zr, err := zip.NewReader(io.NewSectionReader(src, 0, end), end)
	// archive/zip reports names that escape (GODEBUG zipinsecurepath=0) but
	// still returns the reader: the sink confines paths, so go on.
	if err != nil && !(errors.Is(err, zip.ErrInsecurePath) && zr != nil) {
		return end, fmt.Errorf("zip: central directory: %w", err)
	}
	zr.RegisterDecompressor(zip.Deflate, func(r io.Reader) io.ReadCloser { return flate.NewReader(r) })
	if len(zr.File) > maxEntries {
		return end, fmt.Errorf("zip: %d entries (limit %d)", len(zr.File), maxEntries)
	}
	overlap := overlapping(zr.File)
	for i, f := range zr.File {
		if err := ctx.Err(); err != nil {
			return end, err
		}
		e := entry(f)
		if overlap[i] {
			dst.Fail(e, fmt.Errorf("%w: %q", ErrOverlap, f.Name))
			continue
		}
		if err := put(ctx, f, e, dst); err != nil {
			return end, err
		}
	}
	return end, nil
}

// put extracts one entry; only sink errors are returned.
func put(ctx context.Context, f *zip.File, e firmware.Entry, dst firmware.Sink) error {
	if f.Flags&1 != 0 {
		dst.Fail(e, fmt.Errorf("%w: %q", ErrEncrypted, f.Name))
		return nil
	}
	switch e.Type {
	case firmware.TypeFile, firmware.TypeSymlink:
	default:
		return dst.Put(ctx, e, nil)
	}
	rc, err := f.Open()
	if err != nil {
		dst.Fail(e, fmt.Errorf("zip: open %q: %w", f.Name, err))
		return nil
	}
	defer rc.Close()
	if e.Type == firmware.TypeSymlink {
		t, err := safeio.ReadAll(rc, maxSymlink)
		if err != nil {
			dst.Fail(e, fmt.Errorf("zip: symlink %q: %w", f.Name, err))
			return nil
		}
		e.LinkTarget = string(t)
		return dst.Put(ctx, e, nil)
	}
	return dst.Put(ctx, e, rc)
}

func entry(f *zip.File) firmware.Entry {
	m := f.Mode()
	e := firmware.Entry{
		Path:    f.Name,
		Type:    firmware.TypeFile,
		Mode:    m & (fs.ModePerm | fs.ModeSetuid | fs.ModeSetgid | fs.ModeSticky),
		ModTime: f.Modified,
		Offset:  -1,
		Size:    int64(min(f.UncompressedSize64, 1<<62)),
	}
	if off, err := f.DataOffset(); err == nil {
		e.Offset = off
	}
	switch {
	case m&fs.ModeSymlink != 0:
		e.Type = firmware.TypeSymlink
	case m.IsDir() || strings.HasSuffix(f.Name, "/"):
		e.Type = firmware.TypeDir
		if p := strings.TrimRight(e.Path, "/"); p != "" {
			e.Path = p
		}
	case m&fs.ModeNamedPipe != 0:
		e.Type = firmware.TypeFIFO
	case m&fs.ModeSocket != 0:
		e.Type = firmware.TypeSocket
	case m&fs.ModeCharDevice != 0:
		e.Type = firmware.TypeCharDevice
	case m&fs.ModeDevice != 0:
		e.Type = firmware.TypeBlockDevice
	}
	e.UID, e.GID = owners(f.Extra)
	return e
}

// owners reads the Info-ZIP "ux" extra field (0x7875): version 1, then
// length-prefixed little-endian UID and GID.
func owners(extra []byte) (uid, gid int64) {
	for len(extra) >= 4 {
		id := binary.LittleEndian.Uint16(extra[:2])
		n := int(binary.LittleEndian.Uint16(extra[2:4]))
		if n > len(extra)-4 {
			return 0, 0
		}
		body := extra[4 : 4+n]
		extra = extra[4+n:]
		if id != 0x7875 || len(body) < 2 || body[0] != 1 {
			continue
		}
		u, rest, ok := leNum(body[1:])
		if !ok {
			return 0, 0
		}
		g, _, ok := leNum(rest)
		if !ok {
			return 0, 0
		}
		return u, g
	}
	return 0, 0
}

func leNum(b []byte) (int64, []byte, bool) {
	if len(b) < 1 {
		return 0, nil, false
	}
	n := int(b[0])
	if n > 8 || n > len(b)-1 {
		return 0, nil, false
	}
	var v uint64
	for i := n - 1; i >= 0; i-- {
		v = v<<8 | uint64(b[1+i])
	}
	return int64(v & (1<<63 - 1)), b[1+n:], true
}

// overlapping marks the entries whose data range overlaps the range of an
// entry that starts earlier (or the same place), so that data shared
// between entries is extracted once at most.
func overlapping(files []*zip.File) []bool {
	type span struct {
		start, end int64
		i          int
	}
	spans := make([]span, 0, len(files))
	for i, f := range files {
		off, err := f.DataOffset()
		if err != nil || f.CompressedSize64 == 0 {
			continue
		}
		// Take the local header too: entries sharing it share the data.
		start := off - localHdrLen
		spans = append(spans, span{start, off + int64(min(f.CompressedSize64, 1<<62)), i})
	}
	sort.Slice(spans, func(a, b int) bool {
		if spans[a].start != spans[b].start {
			return spans[a].start < spans[b].start
		}
		return spans[a].i < spans[b].i
	})
	out := make([]bool, len(files))
	var reach int64 = -1
	for _, s := range spans {
		if s.start < reach {
			out[s.i] = true
		}
		reach = max(reach, s.end)
	}
	return out
}
