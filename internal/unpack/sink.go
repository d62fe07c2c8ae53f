package unpack

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/netvet/netvet/internal/firmware"
)

// Entry-level refusals. They are recorded on the entry's node; extraction
// goes on with the next entry.
var (
	ErrEscape   = errors.New("path escapes the container")
	ErrAbsolute = errors.New("absolute path")
	ErrBadName  = errors.New("invalid name")
)

// sink writes one container's entries under its own os.Root, so that no
// entry, symlink or hard link can reach outside that container's folder,
// let alone outside the output folder.
type sink struct {
	run      *runner
	root     *os.Root // confined to the container's folder
	diskBase string   // the container's folder, relative to the output folder
	parent   string   // name of the blob the container was found in
	blobKids bool     // entries are blobs (payloads of containers, streams)

	mu     sync.Mutex
	byPath map[string]*Node
	dirs   map[string]bool // folders made on disk

	rootMu   sync.Mutex
	dirRoots map[string]*os.Root // open roots of recently used folders
	dirOrder []string
	top      []*Node
	files    []*job
	count    int
	written  atomic.Int64
	extent   *extentReader

	// early: queue each extracted file for scanning as soon as it is
	// written, so another worker searches it while this container is still
	// being extracted. Off for weak-signature formats, whose chunk may yet
	// be rejected.
	early     bool
	depth     int
	ancestors []ancestor
}

func newSink(r *runner, root *os.Root, diskBase, parent string, blobKids bool, ext *extentReader) *sink {
	return &sink{run: r, root: root, diskBase: diskBase, parent: parent, blobKids: blobKids,
		byPath: map[string]*Node{}, dirs: map[string]bool{}, dirRoots: map[string]*os.Root{}, extent: ext}
}

// cleanPath turns a stored entry path into a path relative to the
// container root, or reports why it cannot be extracted.
func cleanPath(p string) (string, error) {
	if strings.IndexByte(p, 0) >= 0 || len(p) > 4096 {
		return "", fmt.Errorf("%w: NUL byte or longer than 4096 bytes", ErrBadName)
	}
	if strings.HasPrefix(p, "/") {
		return "", ErrAbsolute
	}
	depth := 0
	for _, part := range strings.Split(p, "/") {
		switch part {
		case "", ".":
		case "..":
			depth--
			if depth < 0 {
				return "", ErrEscape
			}
		default:
			depth++
		}
	}
	c := path.Clean(p)
	if c == "." {
		return "", nil
	}
	return c, nil
}

func (s *sink) unnamed() string {
	if b := trimExt(s.parent); b != "" {
		return b
	}
	return "decompressed"
}

// node returns a new node for e at rel (a cleaned path) and hangs it in
// the tree, creating implicit parent directories.
func (s *sink) attach(e firmware.Entry, rel string, display string) *Node {
	n := &Node{Type: e.Type.String(), Offset: e.Offset, mode: e.Mode}
	if e.Offset < 0 {
		n.Offset = 0
	}
	if e.Type != firmware.TypeHardlink {
		n.Mode = formatMode(e.Mode)
	}
	uid, gid := e.UID, e.GID
	n.UID, n.GID = &uid, &gid
	n.MTime = formatTime(e.ModTime)
	if e.Type == firmware.TypeCharDevice || e.Type == firmware.TypeBlockDevice {
		n.Device = fmt.Sprintf("%d,%d", e.DevMajor, e.DevMinor)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.count++
	if rel == "" {
		// Not a valid path: keep it visible, under the container, by its raw name.
		n.name = display
		s.top = append(s.top, n)
		return n
	}
	if old, ok := s.byPath[rel]; ok {
		if old.Type == "dir" && e.Type == firmware.TypeDir && old.Mode == "" {
			// An implicit directory gets its real metadata.
			*old = Node{name: old.name, kids: old.kids, Type: n.Type, Offset: n.Offset, Mode: n.Mode,
				UID: n.UID, GID: n.GID, MTime: n.MTime, mode: n.mode, DiskPath: old.DiskPath}
			return old
		}
		n.Error = fmt.Sprintf("duplicate path: replaces the entry at offset %d", old.Offset)
	}
	dir, base := path.Split(rel)
	n.name = base
	parentKids := &s.top
	if dir != "" {
		p := s.implicitDir(strings.TrimSuffix(dir, "/"))
		parentKids = &p.kids
	}
	*parentKids = append(*parentKids, n)
	s.byPath[rel] = n
	return n
}

func (s *sink) implicitDir(rel string) *Node {
	if n, ok := s.byPath[rel]; ok {
		return n
	}
	dir, base := path.Split(rel)
	n := &Node{Type: "dir", name: base, DiskPath: path.Join(s.diskBase, rel)}
	parentKids := &s.top
	if dir != "" {
		parentKids = &s.implicitDir(strings.TrimSuffix(dir, "/")).kids
	}
	*parentKids = append(*parentKids, n)
	s.byPath[rel] = n
	return n
}

// Fail implements firmware.Sink.
func (s *sink) Fail(e firmware.Entry, err error) {
	rel, perr := cleanPath(e.Path)
	if perr != nil {
		rel = ""
	}
	if rel == "" && e.Type == firmware.TypeFile && perr == nil {
		rel = s.unnamed()
	}
	n := s.attach(e, rel, displayName(e.Path))
	n.Error = errString(err)
	s.run.stats.Errors.Add(1)
}

func displayName(p string) string {
	if p == "" {
		return "(unnamed)"
	}
	if len(p) > 255 {
		p = p[:255]
	}
	return strings.ToValidUTF8(p, "?")
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return strings.ToValidUTF8(err.Error(), "?")
}

// Put implements firmware.Sink.
func (s *sink) Put(ctx context.Context, e firmware.Entry, r io.Reader) error {
	if err := s.run.ctx.Err(); err != nil {
		return context.Cause(s.run.ctx)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if n := s.run.stats.Objects.Add(1); n > s.run.opts.Limits.MaxFiles {
		return s.run.abort(limitErr("max-files", s.run.opts.Limits.MaxFiles,
			"max-files: more than %d objects extracted (raise with --max-files)", s.run.opts.Limits.MaxFiles))
	}
	rel, perr := cleanPath(e.Path)
	if perr == nil && rel == "" {
		if e.Type != firmware.TypeFile {
			return nil // the container root itself
		}
		rel = s.unnamed()
	}
	if perr != nil {
		n := s.attach(e, "", displayName(e.Path))
		n.Error = fmt.Sprintf("%s: not extracted", perr)
		s.run.stats.Errors.Add(1)
		return nil
	}
	n := s.attach(e, rel, rel)
	disk := path.Join(s.diskBase, rel)
	switch e.Type {
	case firmware.TypeDir:
		s.run.stats.Dirs.Add(1)
		if err := s.root.MkdirAll(rel, 0o755); err != nil {
			n.Error = "create directory: " + errString(err)
			s.run.stats.Errors.Add(1)
			return nil
		}
		s.mu.Lock()
		s.dirs[rel] = true
		s.mu.Unlock()
		n.DiskPath = disk
	case firmware.TypeFile:
		s.run.stats.Files.Add(1)
		return s.writeFile(ctx, n, rel, disk, r)
	case firmware.TypeSymlink:
		s.run.stats.Links.Add(1)
		n.LinkTarget = strings.ToValidUTF8(e.LinkTarget, "?")
		n.Size = int64(len(e.LinkTarget))
		if err := s.prepare(rel); err != nil {
			n.Error = errString(err)
			s.run.stats.Errors.Add(1)
			return nil
		}
		if err := s.root.Symlink(e.LinkTarget, rel); err != nil {
			n.Error = "create symlink: " + errString(err)
			s.run.stats.Errors.Add(1)
			return nil
		}
		n.DiskPath = disk
	case firmware.TypeHardlink:
		s.run.stats.Links.Add(1)
		target, terr := cleanPath(e.LinkTarget)
		n.LinkTarget = strings.ToValidUTF8(e.LinkTarget, "?")
		if terr != nil || target == "" {
			if terr == nil {
				terr = ErrBadName
			}
			n.Error = fmt.Sprintf("hard link target %q: %s: not created", displayName(e.LinkTarget), terr)
			s.run.stats.Errors.Add(1)
			return nil
		}
		s.mu.Lock()
		tn := s.byPath[target]
		s.mu.Unlock()
		if tn == nil || tn.Type != "file" {
			n.Error = fmt.Sprintf("hard link target %q is not a file extracted from this container: not created", target)
			s.run.stats.Errors.Add(1)
			return nil
		}
		n.LinkTarget = target
		n.SHA256, n.Size, n.Mode, n.UID, n.GID, n.mode = tn.SHA256, tn.Size, tn.Mode, tn.UID, tn.GID, tn.mode
		if err := s.prepare(rel); err != nil {
			n.Error = errString(err)
			s.run.stats.Errors.Add(1)
			return nil
		}
		if err := s.root.Link(target, rel); err != nil {
			n.Error = "create hard link: " + errString(err)
			s.run.stats.Errors.Add(1)
			return nil
		}
		n.DiskPath = disk
	default:
		// Device nodes, fifos and sockets are recorded, never created.
		s.run.stats.Special.Add(1)
	}
	return nil
}

// prepare makes the parent folder of rel and removes a non-folder already
// at rel, so that a later entry never writes through an earlier symlink.
func (s *sink) prepare(rel string) error {
	if err := s.mkParent(rel); err != nil {
		return err
	}
	fi, err := s.root.Lstat(rel)
	if err == nil {
		if fi.IsDir() {
			return fmt.Errorf("a folder of the same name was extracted before: not extracted")
		}
		if err := s.root.Remove(rel); err != nil {
			return fmt.Errorf("replace earlier entry: %w", err)
		}
	}
	return nil
}

// mkParent makes the parent folder of rel, once per folder: every os.Root
// call walks the path one component at a time, so repeating MkdirAll for
// each of a folder's thousand files would cost thousands of system calls.
func (s *sink) mkParent(rel string) error {
	dir := path.Dir(rel)
	if dir == "." {
		return nil
	}
	s.mu.Lock()
	done := s.dirs[dir]
	s.mu.Unlock()
	if done {
		return nil
	}
	if err := s.root.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create parent folder: %w", err)
	}
	s.mu.Lock()
	s.dirs[dir] = true
	s.mu.Unlock()
	return nil
}

// createInDir creates rel (O_EXCL) through an os.Root opened at its
// folder: one openat instead of one per path component. The folder roots
// of the last few folders are kept open; entries come folder by folder.
func (s *sink) createInDir(rel string) (*os.File, error) {
	dir, base := path.Split(rel)
	dir = strings.TrimSuffix(dir, "/")
	s.rootMu.Lock()
	defer s.rootMu.Unlock()
	root := s.root
	if dir != "" {
		root = s.dirRoots[dir]
		if root == nil {
			var err error
			if root, err = s.root.OpenRoot(dir); err != nil {
				return nil, err
			}
			if len(s.dirOrder) >= maxDirRoots {
				old := s.dirOrder[0]
				s.dirOrder = s.dirOrder[1:]
				s.dirRoots[old].Close()
				delete(s.dirRoots, old)
			}
			s.dirRoots[dir] = root
			s.dirOrder = append(s.dirOrder, dir)
		}
	}
	return root.OpenFile(base, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
}

const maxDirRoots = 16

// close releases the folder roots.
func (s *sink) close() {
	s.rootMu.Lock()
	defer s.rootMu.Unlock()
	for _, r := range s.dirRoots {
		r.Close()
	}
	s.dirRoots, s.dirOrder = nil, nil
}

var bufPool = sync.Pool{New: func() any { b := make([]byte, 256<<10); return &b }}

func (s *sink) writeFile(ctx context.Context, n *Node, rel, disk string, r io.Reader) error {
	if err := s.mkParent(rel); err != nil {
		n.Error = errString(err)
		s.run.stats.Errors.Add(1)
		return nil
	}
	// O_EXCL: never open through a symlink left at this name. Something
	// already there (a duplicate entry, an earlier symlink) is removed
	// first, and never followed.
	f, err := s.createInDir(rel)
	if errors.Is(err, fs.ErrExist) {
		if perr := s.prepare(rel); perr != nil {
			n.Error = errString(perr)
			s.run.stats.Errors.Add(1)
			return nil
		}
		f, err = s.root.OpenFile(rel, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	}
	if err != nil {
		n.Error = "create file: " + errString(err)
		s.run.stats.Errors.Add(1)
		return nil
	}
	n.DiskPath = disk
	h := sha256.New()
	ss := s.run.scan.stream(s.run.opts.Limits.MaxCandidates, s.blobKids)
	var size int64
	var stop error
	lim := &s.run.opts.Limits
	if r != nil {
		bp := bufPool.Get().(*[]byte)
		buf := *bp
		for {
			if err := ctx.Err(); err != nil {
				stop = err
				break
			}
			m, rerr := r.Read(buf)
			if m > 0 {
				if size+int64(m) > lim.MaxFileSize {
					m = int(lim.MaxFileSize - size)
					n.Error = fmt.Sprintf("max-file-size: file larger than %s, truncated (raise with --max-file-size)", HumanBytes(lim.MaxFileSize))
					s.run.note(limitErr("max-file-size", lim.MaxFileSize, "max-file-size: %s is larger than %s and was truncated (raise with --max-file-size)", disk, HumanBytes(lim.MaxFileSize)))
					rerr = errStopFile
				}
				if _, werr := f.Write(buf[:m]); werr != nil {
					n.Error = "write: " + errString(werr)
					s.run.stats.Errors.Add(1)
					break
				}
				h.Write(buf[:m])
				ss.feed(buf[:m])
				size += int64(m)
				total := s.run.stats.BytesWritten.Add(int64(m))
				w := s.written.Add(int64(m))
				if total > lim.MaxTotalBytes {
					n.Error = "max-total-bytes reached while writing this file"
					stop = s.run.abort(limitErr("max-total-bytes", lim.MaxTotalBytes,
						"max-total-bytes: more than %s written in all (raise with --max-total-bytes)", HumanBytes(lim.MaxTotalBytes)))
					break
				}
				if w > lim.RatioFloor && s.extent != nil && float64(w) > lim.MaxRatio*float64(max(s.extent.extent(), 1)) {
					n.Error = "max-ratio reached while writing this file"
					stop = limitErr("max-ratio", int64(lim.MaxRatio),
						"max-ratio: container expanded more than %.0f times (%s out of %s read; raise with --max-ratio)",
						lim.MaxRatio, HumanBytes(w), HumanBytes(s.extent.extent()))
					break
				}
			}
			if rerr == errStopFile {
				break
			}
			if rerr == io.EOF {
				break
			}
			if rerr != nil {
				if errors.Is(rerr, firmware.ErrLimit) || errors.Is(rerr, context.Canceled) {
					stop = rerr
				} else {
					n.Error = "read: " + errString(rerr)
					s.run.stats.Errors.Add(1)
				}
				break
			}
		}
		bufPool.Put(bp)
	}
	if err := f.Close(); err != nil && n.Error == "" {
		n.Error = "close: " + errString(err)
	}
	n.Size = size
	n.SHA256 = hex.EncodeToString(h.Sum(nil))
	if stop == nil {
		j := &job{node: n, disk: disk, croot: s.diskBase, rel: rel, blob: s.blobKids, depth: s.depth, ancestors: s.ancestors}
		if !ss.truncated && n.Error == "" {
			j.prescanned, j.cands, j.hist = true, ss.finish(), ss.hist
		}
		if s.early {
			s.run.push(j)
		} else {
			s.mu.Lock()
			s.files = append(s.files, j)
			s.mu.Unlock()
		}
	}
	return stop
}

var errStopFile = errors.New("stop file")

// extentReader records how far into its source a format has read, which
// is the denominator of the expansion ratio.
type extentReader struct {
	r   io.ReaderAt
	max atomic.Int64
}

func (e *extentReader) ReadAt(p []byte, off int64) (int, error) {
	n, err := e.r.ReadAt(p, off)
	end := off + int64(n)
	for {
		cur := e.max.Load()
		if end <= cur || e.max.CompareAndSwap(cur, end) {
			break
		}
	}
	return n, err
}

func (e *extentReader) extent() int64 { return e.max.Load() }

var _ firmware.Sink = (*sink)(nil)
