package fwtest

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"path"
	"testing"
	"time"

	"github.com/netvet/netvet/internal/firmware"
)

// Want is what a test expects of one extracted entry. Zero fields are
// expected to be zero, except as noted.
type Want struct {
	Type         firmware.EntryType
	Mode         fs.FileMode
	UID, GID     int64
	Link         string // LinkTarget
	Major, Minor uint32
	// Data is a file's content. When Size is set instead, only the
	// content's length is checked (for random data).
	Data string
	Size int
	// ModTime is checked when not zero.
	ModTime time.Time
}

// CheckEntries checks each entry of want against what s holds at its
// path. Entries of s not in want are not looked at.
func CheckEntries(t testing.TB, s *MemSink, want map[string]Want) {
	t.Helper()
	for p, w := range want {
		it, ok := s.Get(p)
		if !ok {
			t.Errorf("%s: missing (have %q)", p, s.Paths())
			continue
		}
		e := it.Entry
		if e.Type != w.Type || e.Mode != w.Mode || e.UID != w.UID || e.GID != w.GID ||
			e.LinkTarget != w.Link || e.DevMajor != w.Major || e.DevMinor != w.Minor {
			t.Errorf("%s: got %v %v uid %d gid %d link %q dev %d,%d; want %v %v uid %d gid %d link %q dev %d,%d",
				p, e.Type, e.Mode, e.UID, e.GID, e.LinkTarget, e.DevMajor, e.DevMinor,
				w.Type, w.Mode, w.UID, w.GID, w.Link, w.Major, w.Minor)
		}
		if w.Type == firmware.TypeFile {
			switch {
			case w.Data == "" && w.Size > 0:
				if len(it.Data) != w.Size {
					t.Errorf("%s: %d bytes, want %d", p, len(it.Data), w.Size)
				}
			case string(it.Data) != w.Data:
				t.Errorf("%s: content differs (%d bytes, want %d)", p, len(it.Data), len(w.Data))
			}
		}
		if !w.ModTime.IsZero() && !e.ModTime.Equal(w.ModTime) {
			t.Errorf("%s: mtime %v, want %v", p, e.ModTime, w.ModTime)
		}
	}
}

// CheckTree is CheckEntries, and s must hold no entry beyond want.
func CheckTree(t testing.TB, s *MemSink, want map[string]Want) {
	t.Helper()
	if len(s.Items) != len(want) {
		t.Errorf("got %d entries %q, want %d", len(s.Items), s.Paths(), len(want))
	}
	CheckEntries(t, s, want)
}

// CheckModTime checks that every entry of s has modification time mt.
func CheckModTime(t testing.TB, s *MemSink, mt time.Time) {
	t.Helper()
	for _, it := range s.Items {
		if !it.ModTime.Equal(mt) {
			t.Errorf("%s: mtime %v, want %v", it.Path, it.ModTime, mt)
		}
	}
}

// CheckOrder checks the order rules of the Sink contract: an entry comes
// after its directory, and a hard link after the file it links to.
func CheckOrder(t testing.TB, s *MemSink) {
	t.Helper()
	seen := map[string]bool{}
	for _, it := range s.Items {
		if d := path.Dir(it.Path); d != "." && !seen[d] {
			t.Errorf("%s put before its directory", it.Path)
		}
		if it.Type == firmware.TypeHardlink && !seen[it.LinkTarget] {
			t.Errorf("%s: hard link put before its target %s", it.Path, it.LinkTarget)
		}
		seen[it.Path] = true
	}
}

// NoFailures reports every entry that s recorded as failed.
func NoFailures(t testing.TB, s *MemSink) {
	t.Helper()
	for _, f := range s.Failed {
		t.Errorf("failed %q: %v", f.Path, f.Err)
	}
}

// FailedWith reports whether s recorded a failure matching want.
func FailedWith(s *MemSink, want error) bool {
	for _, f := range s.Failed {
		if errors.Is(f.Err, want) {
			return true
		}
	}
	return false
}

// AssertFailed checks that s recorded a failure of the entry at path,
// and that its error matches want.
func AssertFailed(t testing.TB, s *MemSink, path string, want error) {
	t.Helper()
	for _, f := range s.Failed {
		if f.Path == path {
			if !errors.Is(f.Err, want) {
				t.Errorf("%s failed with %v, want %v", path, f.Err, want)
			}
			return
		}
	}
	t.Errorf("%s: no failure recorded (failed: %v)", path, s.Failed)
}

// CheckCancel checks that f stops with context.Canceled when asked to
// extract img under a context that is already cancelled.
func CheckCancel(t testing.TB, f firmware.Format, img []byte) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := f.Extract(ctx, bytes.NewReader(img), int64(len(img)), NewMemSink(1<<20))
	if !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
}
