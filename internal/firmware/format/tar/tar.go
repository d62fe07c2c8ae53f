// Package tar reads tar archives: V7, ustar, GNU (long names and links,
// sparse files) and PAX (path, linkpath, uid, gid, size and sparse
// records), through archive/tar. Names reach the sink exactly as stored.
package tar

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"strconv"
	"strings"

	"github.com/netvet/netvet/internal/firmware"
	"github.com/netvet/netvet/internal/safeio"
)

var (
	// ErrHeader reports an archive that cannot be read further.
	ErrHeader = errors.New("tar: bad header")
	// ErrEntryType reports an entry type netvet does not extract.
	ErrEntryType = errors.New("tar: unsupported entry type")
)

const (
	blockSize  = 512
	maxEntries = 1 << 20
)

type format struct{}

var _ firmware.Format = format{}

// New returns the tar format.
func New() firmware.Format { return format{} }

func (format) Info() firmware.Info {
	return firmware.Info{
		Name:        "tar",
		Description: "tar archive",
		Kind:        firmware.KindArchive,
		Signatures: []firmware.Signature{
			{Magic: []byte("ustar\x0000"), Offset: 257},
			{Magic: []byte("ustar  \x00"), Offset: 257},
		},
		Variants: []string{"ustar", "GNU (long names, long links, sparse)", "PAX (path, linkpath, uid, gid, size, sparse)", "V7"},
	}
}

// parseOctal reads a header number field: octal digits, optional leading
// spaces, terminated by NUL or space.
func parseOctal(b []byte) (int64, bool) {
	s := strings.TrimLeft(string(b), " ")
	if i := strings.IndexAny(s, "\x00 "); i >= 0 {
		s = s[:i]
	}
	if s == "" {
		return 0, false
	}
	v, err := strconv.ParseInt(s, 8, 64)
	return v, err == nil
}

// checksumOK verifies a 512-byte header's checksum, computed with the
// checksum field as spaces, over unsigned or (old tars) signed bytes.
func checksumOK(h []byte) bool {
	want, ok := parseOctal(h[148:156])
	if !ok {
		return false
	}
	var u, s int64
	for i, c := range h[:blockSize] {
		if i >= 148 && i < 156 {
			c = ' '
		}
		u += int64(c)
		s += int64(int8(c))
	}
	return want == u || want == s
}

func (format) Identify(src io.ReaderAt, size int64) bool {
	h, err := safeio.ReadAt(src, size, 0, blockSize, blockSize)
	if err != nil || h[0] == 0 || !checksumOK(h) {
		return false
	}
	magic := h[257:265]
	if bytes.Equal(magic, []byte("ustar\x0000")) || bytes.Equal(magic, []byte("ustar  \x00")) {
		return true
	}
	// V7: no magic; the type flag must be one V7 knows and the mode octal.
	_, modeOK := parseOctal(h[100:108])
	return bytes.IndexByte([]byte("\x0001234567"), h[156]) >= 0 && modeOK && !bytes.Equal(magic[:5], []byte("ustar"))
}

func (format) Extract(ctx context.Context, src io.ReaderAt, size int64, dst firmware.Sink) (int64, error) {
	cr := &safeio.CountingReader{R: io.NewSectionReader(src, 0, size)}
	tr := tar.NewReader(cr)
	for n := 0; ; n++ {
		if err := ctx.Err(); err != nil {
			return cr.N, err
		}
		if n >= maxEntries {
			return cr.N, fmt.Errorf("%w: more than %d entries", ErrHeader, maxEntries)
		}
		start := cr.N
		hdr, err := tr.Next()
		if err == io.EOF {
			if cr.N%blockSize != 0 {
				// archive/tar takes a cut in the padding after the last
				// file as the end; it is a truncated archive.
				return cr.N, fmt.Errorf("%w: archive cut at offset %#x", ErrHeader, cr.N)
			}
			break
		}
		// archive/tar reports names that escape (when GODEBUG
		// tarinsecurepath=0) but still returns the header: the sink is
		// what confines paths, so take it as stored.
		if err != nil && !(errors.Is(err, tar.ErrInsecurePath) && hdr != nil) {
			return cr.N, fmt.Errorf("%w: entry at offset %#x: %w", ErrHeader, start, err)
		}
		e := entry(hdr, start)
		switch hdr.Typeflag {
		case tar.TypeReg, tar.TypeRegA, tar.TypeCont, tar.TypeGNUSparse:
			if err := dst.Put(ctx, e, tr); err != nil {
				return cr.N, err
			}
			continue
		case tar.TypeDir:
			e.Type = firmware.TypeDir
			if p := strings.TrimRight(e.Path, "/"); p != "" {
				e.Path = p
			}
		case tar.TypeSymlink:
			e.Type = firmware.TypeSymlink
		case tar.TypeLink:
			e.Type = firmware.TypeHardlink
		case tar.TypeChar:
			e.Type = firmware.TypeCharDevice
		case tar.TypeBlock:
			e.Type = firmware.TypeBlockDevice
		case tar.TypeFifo:
			e.Type = firmware.TypeFIFO
		default:
			dst.Fail(e, fmt.Errorf("%w: %q", ErrEntryType, hdr.Typeflag))
			continue
		}
		if err := dst.Put(ctx, e, nil); err != nil {
			return cr.N, err
		}
	}
	return cr.N, nil
}

func entry(h *tar.Header, off int64) firmware.Entry {
	mode := fs.FileMode(h.Mode & 0o777)
	if h.Mode&0o4000 != 0 {
		mode |= fs.ModeSetuid
	}
	if h.Mode&0o2000 != 0 {
		mode |= fs.ModeSetgid
	}
	if h.Mode&0o1000 != 0 {
		mode |= fs.ModeSticky
	}
	e := firmware.Entry{
		Path:       h.Name,
		Type:       firmware.TypeFile,
		Mode:       mode,
		UID:        int64(h.Uid),
		GID:        int64(h.Gid),
		LinkTarget: h.Linkname,
		ModTime:    h.ModTime,
		Offset:     off,
		Size:       h.Size,
	}
	if h.Typeflag == tar.TypeChar || h.Typeflag == tar.TypeBlock {
		e.DevMajor, e.DevMinor = uint32(h.Devmajor), uint32(h.Devminor)
	}
	return e
}
