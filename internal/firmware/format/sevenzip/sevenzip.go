// Package sevenzip reads 7z archives through github.com/bodgit/sevenzip,
// after checking the signature header and walking the (possibly LZMA
// encoded) header here so that no table or dictionary is sized from an
// unchecked count. The format is named "7z".
package sevenzip

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"strings"

	"github.com/bodgit/sevenzip"

	"github.com/netvet/netvet/internal/firmware"
	"github.com/netvet/netvet/internal/safeio"
)

var (
	// ErrHeader reports a signature header or header that breaks the format.
	ErrHeader = errors.New("7z: bad header")
	// ErrTruncated reports an archive whose header lies past the end of the data.
	ErrTruncated = errors.New("7z: truncated archive")
	// ErrEncrypted reports an encrypted archive or entry; netvet has no password.
	ErrEncrypted = errors.New("7z: encrypted, no password")
	// ErrUnsupported reports a layout or method netvet does not read.
	ErrUnsupported = errors.New("7z: unsupported")
)

const (
	sigHeaderLen = 32
	maxSymlink   = 4096
)

var magic = []byte{'7', 'z', 0xbc, 0xaf, 0x27, 0x1c}

type format struct{}

var _ firmware.Format = format{}

// New returns the 7z format.
func New() firmware.Format { return format{} }

func (format) Info() firmware.Info {
	return firmware.Info{
		Name:        "7z",
		Description: "7-Zip archive",
		Kind:        firmware.KindArchive,
		Signatures:  []firmware.Signature{{Magic: magic}},
		Variants:    []string{"LZMA", "LZMA2", "copy", "BCJ and other filters", "solid", "encoded header", "Unix modes and symlinks"},
	}
}

// start is the parsed signature header.
type start struct {
	nextOff, nextSize int64
	nextCRC           uint32
}

func parseStart(b []byte) (start, bool) {
	var s start
	if len(b) < sigHeaderLen || !bytes.Equal(b[:6], magic) || b[6] != 0 {
		return s, false
	}
	if crc32.ChecksumIEEE(b[12:32]) != binary.LittleEndian.Uint32(b[8:12]) {
		return s, false
	}
	off := binary.LittleEndian.Uint64(b[12:20])
	n := binary.LittleEndian.Uint64(b[20:28])
	if off > 1<<62 || n > 1<<62 {
		return s, false
	}
	s.nextOff, s.nextSize, s.nextCRC = int64(off), int64(n), binary.LittleEndian.Uint32(b[28:32])
	return s, true
}

func (format) Identify(src io.ReaderAt, size int64) bool {
	b, err := safeio.ReadAt(src, size, 0, sigHeaderLen, sigHeaderLen)
	if err != nil {
		return false
	}
	_, ok := parseStart(b)
	return ok
}

func (format) Extract(ctx context.Context, src io.ReaderAt, size int64, dst firmware.Sink) (n int64, err error) {
	b, err := safeio.ReadAt(src, size, 0, sigHeaderLen, sigHeaderLen)
	if err != nil {
		return 0, fmt.Errorf("%w: %w", ErrTruncated, err)
	}
	st, ok := parseStart(b)
	if !ok {
		return 0, fmt.Errorf("%w: signature header", ErrHeader)
	}
	if st.nextOff > size-sigHeaderLen || st.nextSize > size-sigHeaderLen-st.nextOff {
		return 0, fmt.Errorf("%w: header at %#x+%d beyond the end (%d bytes)", ErrTruncated, sigHeaderLen+st.nextOff, st.nextSize, size)
	}
	end := sigHeaderLen + st.nextOff + st.nextSize
	if st.nextSize == 0 {
		return end, nil // an empty archive
	}
	encrypted, err := checkArchive(src, end, sigHeaderLen+st.nextOff, st.nextSize, st.nextCRC)
	if err != nil {
		return end, err
	}
	zr, err := open(src, end)
	if err != nil {
		if isPassword(err) {
			return end, fmt.Errorf("%w: %w", ErrEncrypted, err)
		}
		return end, fmt.Errorf("%w: %w", ErrHeader, err)
	}
	for _, f := range zr.File {
		if err := ctx.Err(); err != nil {
			return end, err
		}
		if err := put(ctx, f, encrypted, dst); err != nil {
			return end, err
		}
	}
	return end, nil
}

// open runs the library's reader, turning a panic on a header the checks
// missed into an error.
func open(src io.ReaderAt, end int64) (zr *sevenzip.Reader, err error) {
	defer func() {
		if r := recover(); r != nil {
			zr, err = nil, fmt.Errorf("%w: reader panic: %v", ErrHeader, r)
		}
	}()
	return sevenzip.NewReader(io.NewSectionReader(src, 0, end), end)
}

func isPassword(err error) bool {
	return strings.Contains(err.Error(), "password")
}

func entry(f *sevenzip.File) firmware.Entry {
	m := f.Mode()
	e := firmware.Entry{
		Path:    f.Name,
		Type:    firmware.TypeFile,
		Mode:    m & (fs.ModePerm | fs.ModeSetuid | fs.ModeSetgid | fs.ModeSticky),
		ModTime: f.Modified,
		Offset:  -1,
		Size:    int64(min(f.UncompressedSize, 1<<62)),
	}
	switch {
	case m&fs.ModeSymlink != 0:
		e.Type = firmware.TypeSymlink
	case m.IsDir():
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
	return e
}

// put extracts one entry; only sink errors are returned.
func put(ctx context.Context, f *sevenzip.File, encrypted []bool, dst firmware.Sink) (err error) {
	e := entry(f)
	if e.Type != firmware.TypeFile && e.Type != firmware.TypeSymlink {
		return dst.Put(ctx, e, nil)
	}
	if f.Stream >= 0 && f.Stream < len(encrypted) && encrypted[f.Stream] && f.UncompressedSize > 0 {
		dst.Fail(e, fmt.Errorf("%w: %q", ErrEncrypted, f.Name))
		return nil
	}
	rc, err := openFile(f)
	if err != nil {
		if isPassword(err) {
			err = fmt.Errorf("%w: %w", ErrEncrypted, err)
		}
		dst.Fail(e, fmt.Errorf("7z: open %q: %w", f.Name, err))
		return nil
	}
	defer rc.Close()
	if e.Type == firmware.TypeSymlink {
		t, err := safeio.ReadAll(rc, maxSymlink)
		if err != nil {
			dst.Fail(e, fmt.Errorf("7z: symlink %q: %w", f.Name, err))
			return nil
		}
		e.LinkTarget = string(t)
		return dst.Put(ctx, e, nil)
	}
	return dst.Put(ctx, e, &guarded{r: rc})
}

func openFile(f *sevenzip.File) (rc io.ReadCloser, err error) {
	defer func() {
		if r := recover(); r != nil {
			rc, err = nil, fmt.Errorf("7z: decoder panic: %v", r)
		}
	}()
	return f.Open()
}

// guarded turns a decoder panic into a read error.
type guarded struct{ r io.Reader }

func (g *guarded) Read(p []byte) (n int, err error) {
	defer func() {
		if r := recover(); r != nil {
			n, err = 0, fmt.Errorf("7z: decoder panic: %v", r)
		}
	}()
	return g.r.Read(p)
}
