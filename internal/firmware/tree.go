package firmware

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"sort"
	"strings"
)

// File is one object of an unpacked image, as the analysers see it.
type File struct {
	// Path is the path in the unpack manifest (image name, containers,
	// chunks, then the path inside the innermost container).
	Path string
	// FSPath is the absolute path inside the filesystem or archive the file
	// came from ("/etc/passwd"); empty when the file is not inside one
	// (a carved blob, a kernel, the image itself).
	FSPath string
	// Root is the filesystem or archive the file belongs to, nil if none.
	Root *Root
	Type EntryType
	// Mode holds permission bits plus fs.ModeSetuid, fs.ModeSetgid and
	// fs.ModeSticky, as the image records them.
	Mode fs.FileMode
	// UID and GID as recorded; -1 when the container has none.
	UID, GID   int64
	Size       int64
	SHA256     string
	LinkTarget string
	// Format is the format found at offset 0 of the file, if any.
	Format string
	// Disk is the file's location relative to the unpack folder; empty when
	// it has no content on disk. The image itself has Disk "" and is read
	// from the image path the tree was built with.
	Disk string
}

// Root is a filesystem or archive inside the image: the place where paths
// such as /etc/inittab mean something.
type Root struct {
	Path   string // manifest path of the node the filesystem was found at
	Format string // squashfs, ext, cpio, tar, ...
	files  map[string]*File
	list   []*File
}

// Files returns the root's files sorted by FSPath.
func (r *Root) Files() []*File { return r.list }

// Get returns the object recorded at fspath, without following links.
func (r *Root) Get(fspath string) *File { return r.files[path.Clean("/"+fspath)] }

// maxLinkHops bounds symlink resolution, as the kernel's ELOOP does.
const maxLinkHops = 40

// Lookup returns the object at fspath with every symlink on the way
// resolved inside the root (an absolute target is taken relative to the
// root, as a chroot would). It returns nil for a missing path or a loop.
func (r *Root) Lookup(fspath string) *File {
	p := path.Clean("/" + fspath)
	for hops := 0; hops <= maxLinkHops; hops++ {
		resolved, f, again := r.walk(p)
		if !again {
			return f
		}
		p = resolved
	}
	return nil
}

// walk resolves p one link at a time: it returns the rewritten path and
// again=true when it met a symlink, or the object and again=false.
func (r *Root) walk(p string) (string, *File, bool) {
	parts := strings.Split(strings.TrimPrefix(p, "/"), "/")
	cur := ""
	for i, part := range parts {
		if part == "" {
			continue
		}
		cur += "/" + part
		f := r.files[cur]
		if f == nil {
			return "", nil, false
		}
		if f.Type == TypeSymlink {
			target := f.LinkTarget
			if !strings.HasPrefix(target, "/") {
				target = path.Join(path.Dir(cur), target)
			}
			rest := strings.Join(parts[i+1:], "/")
			return path.Clean("/" + path.Join(target, rest)), nil, true
		}
		if i == len(parts)-1 {
			if f.Type == TypeHardlink {
				if t := r.files[path.Clean("/"+f.LinkTarget)]; t != nil && t.Type == TypeFile {
					return "", t, false
				}
			}
			return "", f, false
		}
	}
	return "", r.files["/"], false
}

// Tree is an unpacked image: every object the manifest records, the
// filesystems found in it, and confined read access to the content.
type Tree struct {
	ImageName   string
	ImageSize   int64
	ImageSHA256 string
	// Files lists every object, sorted by Path.
	Files []*File
	// Roots lists the filesystems and archives, sorted by Path.
	Roots []*Root

	dir       *os.Root
	imagePath string
	byPath    map[string]*File
}

// NewTree builds a tree over files. dir is the unpack folder; imagePath is
// the image file itself ("" when only the folder is available). Roots and
// Root fields must already be set on the files; NewTree indexes them.
func NewTree(dir, imagePath string, files []*File) (*Tree, error) {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("open unpack folder: %w", err)
	}
	t := &Tree{dir: root, imagePath: imagePath, byPath: make(map[string]*File, len(files))}
	sort.Slice(files, func(i, j int) bool { return files[i].Path < files[j].Path })
	seen := map[*Root]bool{}
	for _, f := range files {
		t.byPath[f.Path] = f
		if f.Root == nil {
			continue
		}
		if !seen[f.Root] {
			seen[f.Root] = true
			t.Roots = append(t.Roots, f.Root)
			f.Root.files = map[string]*File{}
		}
		if _, dup := f.Root.files[f.FSPath]; !dup {
			f.Root.files[f.FSPath] = f
			f.Root.list = append(f.Root.list, f)
		}
	}
	for _, r := range t.Roots {
		sort.Slice(r.list, func(i, j int) bool { return r.list[i].FSPath < r.list[j].FSPath })
	}
	sort.Slice(t.Roots, func(i, j int) bool { return t.Roots[i].Path < t.Roots[j].Path })
	t.Files = files
	return t, nil
}

// Close releases the unpack folder.
func (t *Tree) Close() error {
	if t.dir == nil {
		return nil
	}
	return t.dir.Close()
}

// File returns the object with the given manifest path.
func (t *Tree) File(p string) *File { return t.byPath[p] }

// Regular returns the regular files that have content on disk, sorted by
// Path. Hard links are not repeated.
func (t *Tree) Regular() []*File {
	var out []*File
	for _, f := range t.Files {
		if f.Type == TypeFile && t.hasContent(f) {
			out = append(out, f)
		}
	}
	return out
}

func (t *Tree) hasContent(f *File) bool {
	return f.Disk != "" || (f.Path == t.ImageName && t.imagePath != "")
}

// ErrNoContent is returned for an object whose content is not on disk.
var ErrNoContent = errors.New("no extracted content")

// Open opens a regular file's content for reading, confined to the unpack
// folder.
func (t *Tree) Open(f *File) (*os.File, error) {
	if f.Type != TypeFile {
		return nil, fmt.Errorf("%s: not a regular file", f.Path)
	}
	if f.Disk == "" {
		if f.Path == t.ImageName && t.imagePath != "" {
			return os.Open(t.imagePath)
		}
		return nil, fmt.Errorf("%s: %w", f.Path, ErrNoContent)
	}
	return t.dir.Open(f.Disk)
}

// ErrTooLarge is returned by ReadFile for a file above the cap.
var ErrTooLarge = errors.New("file larger than the read cap")

// ReadFile reads a whole file of at most max bytes. A larger file gives
// ErrTooLarge and no content: analysers that can work on a prefix use
// ReadPrefix instead.
func (t *Tree) ReadFile(f *File, max int64) ([]byte, error) {
	fh, err := t.Open(f)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	st, err := fh.Stat()
	if err != nil {
		return nil, err
	}
	if st.Size() > max {
		return nil, fmt.Errorf("%s: %d bytes: %w (%d)", f.Path, st.Size(), ErrTooLarge, max)
	}
	var buf bytes.Buffer
	buf.Grow(int(st.Size()))
	if _, err := io.Copy(&buf, io.LimitReader(fh, max)); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// ReadPrefix reads at most max bytes from the start of a file.
func (t *Tree) ReadPrefix(f *File, max int64) ([]byte, error) {
	fh, err := t.Open(f)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	return io.ReadAll(io.LimitReader(fh, max))
}

// Executable reports whether any execute bit is set.
func (f *File) Executable() bool { return f.Mode.Perm()&0o111 != 0 }

// Name returns the last element of the file's path.
func (f *File) Name() string {
	if f.FSPath != "" {
		return path.Base(f.FSPath)
	}
	return path.Base(f.Path)
}
