// Package firmware holds the domain types shared by netvet's firmware
// formats, the extraction driver and the analysers: the Format contract,
// the Sink that formats write into, entries and their types, and the
// registry of formats.
package firmware

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"time"
)

// Kind says what a format is, which decides how the driver treats what it
// produces.
type Kind string

const (
	// KindCompression is a single compressed stream that decompresses to one blob.
	KindCompression Kind = "compression"
	// KindArchive is a file archive (tar, zip, cpio, 7z).
	KindArchive Kind = "archive"
	// KindFilesystem is a filesystem image (squashfs, ext4, jffs2, ...).
	KindFilesystem Kind = "filesystem"
	// KindContainer is a firmware header or container holding one or more
	// payload blobs (uImage, FIT, TRX, vendor containers).
	KindContainer Kind = "container"
)

// Signature is a magic byte string found Offset bytes after the start of a
// format's data. The driver searches every blob for signatures to find
// candidate start positions, then asks the format's Identify to confirm.
type Signature struct {
	Magic  []byte
	Offset int64
}

// Info describes a format for the registry and for `netvet firmware formats`.
type Info struct {
	Name        string // stable lowercase ID, used in manifests and reports
	Description string // one line for people
	Kind        Kind
	Signatures  []Signature
	// Variants lists what the reader supports, e.g. "v4 little-endian xz".
	Variants []string
	// Weak marks signatures that occur by chance in ordinary data (zlib's
	// two-byte header, lzma's properties): a chunk of a weak format found
	// inside a file is kept only when it produced something substantial.
	Weak bool
}

// Format reads one container, archive, filesystem or compression format.
//
// Extract gets src positioned at the candidate start: offset 0 of src is
// the first byte of the format's data, and size is the number of bytes
// available from there to the end of the enclosing blob (the format may
// use less). It writes every entry into dst and returns the number of
// bytes of src the format occupies (0 when it cannot tell; the driver then
// takes the rest of the blob).
//
// Extract must never trust a size taken from the input: no allocation and
// no loop bound comes from a header without checking it against size and
// against fixed caps. A per-entry problem goes to dst.Fail and extraction
// goes on; an error is returned only when the container as a whole cannot
// be read further, and what was written before it stays. If a dst method
// returns an error, Extract must stop and return it (wrapped is fine): it
// means a limit was hit or the context was cancelled.
type Format interface {
	Info() Info
	// Identify is cheap: it reads a few KiB at most and confirms the header.
	Identify(src io.ReaderAt, size int64) bool
	Extract(ctx context.Context, src io.ReaderAt, size int64, dst Sink) (int64, error)
}

// EntryType is the type of an extracted object.
type EntryType uint8

const (
	TypeFile EntryType = iota
	TypeDir
	TypeSymlink
	TypeHardlink
	TypeCharDevice
	TypeBlockDevice
	TypeFIFO
	TypeSocket
)

var typeNames = [...]string{"file", "dir", "symlink", "hardlink", "chardev", "blockdev", "fifo", "socket"}

func (t EntryType) String() string {
	if int(t) < len(typeNames) {
		return typeNames[t]
	}
	return "unknown"
}

// Entry is one object inside a container, as the container records it.
// Paths and link targets are untrusted: the sink validates and confines them.
type Entry struct {
	// Path is the slash-separated path inside the container, as stored.
	// For a compression format or a container's unnamed payload, Path is a
	// plain name such as "data" or the name recorded in the header.
	Path string
	Type EntryType
	// Mode holds the permission bits plus fs.ModeSetuid, fs.ModeSetgid and
	// fs.ModeSticky when set. Type bits are ignored (Type says the type).
	Mode fs.FileMode
	UID  int64
	GID  int64
	// LinkTarget is a symlink's target as stored, or for a hard link the
	// path (inside the same container) of the file it links to.
	LinkTarget string
	// DevMajor and DevMinor are set for device nodes.
	DevMajor, DevMinor uint32
	// ModTime is the modification time the container records (zero if none).
	ModTime time.Time
	// Offset is the byte offset of the entry (its header or first data
	// byte) relative to the start of the container; -1 when unknown.
	Offset int64
	// Size is the content size the container declares for a file
	// (informational; the sink counts what is actually written).
	Size int64
}

// Sink receives what a format extracts. Implementations confine every
// write to the output folder and enforce the limits.
type Sink interface {
	// Put records an entry. For TypeFile, r supplies the content (r may be
	// nil for an empty file); for other types r is ignored. A Put that is
	// refused for this entry alone (a path that escapes, a name clash) is
	// recorded by the sink and returns nil. A non-nil error means stop:
	// a limit was hit or ctx was cancelled.
	Put(ctx context.Context, e Entry, r io.Reader) error
	// Fail records that an entry could not be extracted, and why.
	Fail(e Entry, err error)
}

// ErrLimit is wrapped by every error that reports an extraction limit.
var ErrLimit = errors.New("extraction limit reached")

// LimitError names the limit that was reached.
type LimitError struct {
	Limit string // flag-style name, e.g. "max-total-bytes"
	Value int64  // the configured limit
	Msg   string // what happened, for people
}

func (e *LimitError) Error() string { return e.Msg }
func (e *LimitError) Unwrap() error { return ErrLimit }
