package equiv

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/netvet/netvet/internal/firmware"
	"github.com/netvet/netvet/internal/unpack"
)

// Side is one unpacked image: its manifest, the analysers' tree over it,
// and the node tree the comparison walks.
type Side struct {
	// Input is what the user gave: an image or an unpack folder.
	Input    string
	Manifest *unpack.Manifest
	Tree     *firmware.Tree
	// Dir is the unpack folder; ImagePath the image file ("" when only the
	// folder was given and the image could not be found beside it).
	Dir       string
	ImagePath string

	reg     *firmware.Registry
	top     *node
	nodes   []*node
	rootOf  map[string]*firmware.Root // root manifest path -> root
	cleanup string                    // folder to remove on Close
}

// OpenOptions says how to unpack an image.
type OpenOptions struct {
	Registry *firmware.Registry
	Limits   unpack.Limits
	Workers  int
	Logger   *slog.Logger
	Version  string
	// Dir is the folder to unpack into (must not exist or be empty); ""
	// makes a temporary folder that Close removes.
	Dir string
	// Progress, when set, counts the unpacks' work.
	Progress *unpack.Progress
}

// Open prepares one side from an image file (unpacked into opt.Dir or a
// temporary folder) or from a folder written by `netvet firmware unpack`.
// For a folder, the image is looked for beside it (by the name and SHA-256
// the manifest records) so that bytes outside every extracted object can
// be compared too.
func Open(ctx context.Context, input string, opt OpenOptions) (*Side, error) {
	if opt.Registry == nil {
		return nil, errors.New("equiv: no format registry")
	}
	st, err := os.Stat(input)
	if err != nil {
		return nil, err
	}
	s := &Side{Input: input, reg: opt.Registry}
	if st.IsDir() {
		if err := s.openDir(input); err != nil {
			return nil, err
		}
	} else {
		if err := s.unpack(ctx, input, opt); err != nil {
			s.Close()
			return nil, err
		}
	}
	if !s.Manifest.Complete {
		s.Close()
		return nil, fmt.Errorf("%s: the unpack is incomplete (a limit was reached or an error stopped it): a comparison would miss objects; unpack again with higher limits", input)
	}
	t, err := s.Manifest.Tree(s.Dir, s.ImagePath, s.reg)
	if err != nil {
		s.Close()
		return nil, fmt.Errorf("%s: %w", input, err)
	}
	s.Tree = t
	s.build()
	return s, nil
}

func (s *Side) openDir(dir string) error {
	f, err := os.Open(filepath.Join(dir, unpack.ManifestName))
	if err != nil {
		return fmt.Errorf("%s: not an image and not an unpack folder (no %s): %w", dir, unpack.ManifestName, err)
	}
	defer f.Close()
	m, err := unpack.ReadManifest(f)
	if err != nil {
		return fmt.Errorf("%s: %w", filepath.Join(dir, unpack.ManifestName), err)
	}
	if len(m.Nodes) == 0 {
		return fmt.Errorf("%s: the manifest records no objects", dir)
	}
	s.Manifest, s.Dir = m, dir
	// The image, when it sits beside the folder or inside it.
	name := filepath.Base(filepath.FromSlash(m.Image.Name))
	for _, cand := range []string{filepath.Join(filepath.Dir(filepath.Clean(dir)), name), filepath.Join(dir, name)} {
		if sum, err := fileSHA256(cand); err == nil && sum == m.Image.SHA256 {
			s.ImagePath = cand
			break
		}
	}
	return nil
}

func (s *Side) unpack(ctx context.Context, image string, opt OpenOptions) error {
	out := opt.Dir
	if out == "" {
		tmp, err := os.MkdirTemp("", "netvet-diff-")
		if err != nil {
			return err
		}
		s.cleanup, out = tmp, tmp
	}
	m, err := unpack.Unpack(ctx, image, out, unpack.Options{
		Registry: opt.Registry, Limits: opt.Limits, Workers: opt.Workers,
		Logger: opt.Logger, Version: opt.Version, Progress: opt.Progress,
	})
	if err != nil {
		return fmt.Errorf("unpack %s: %w", image, err)
	}
	s.Manifest, s.Dir, s.ImagePath = m, out, image
	return nil
}

// Close releases the tree and removes a temporary unpack folder.
func (s *Side) Close() error {
	var err error
	if s.Tree != nil {
		err = s.Tree.Close()
	}
	if s.cleanup != "" {
		err = errors.Join(err, os.RemoveAll(s.cleanup))
		s.cleanup = ""
	}
	return err
}

func (s *Side) summary() ImageSummary {
	return ImageSummary{Input: s.Input, Image: s.Manifest.Image.Name, Size: s.Manifest.Image.Size,
		SHA256: s.Manifest.Image.SHA256, Objects: len(s.Manifest.Nodes)}
}

func fileSHA256(p string) (string, error) {
	f, err := os.Open(p)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// node is one manifest object in the comparison's tree.
type node struct {
	m      *unpack.Node
	parent *node
	kids   []*node
	name   string
	// root is the file system or archive the node is an entry of.
	root *firmware.Root
	// fsRoot is set when the node itself is a file system or archive.
	fsRoot *firmware.Root
	kind   firmware.Kind
	depth  int
	key    string
}

// maxDepth bounds the node tree, as the unpack limits bound nesting.
const maxDepth = 512

// build turns the manifest into a node tree. Manifest paths may repeat
// (an archive may hold the same path twice); each occurrence in a child
// list takes the next node of that path.
func (s *Side) build() {
	m := s.Manifest
	s.rootOf = map[string]*firmware.Root{}
	for _, r := range s.Tree.Roots {
		s.rootOf[r.Path] = r
	}
	byPath := make(map[string][]*unpack.Node, len(m.Nodes))
	for _, n := range m.Nodes {
		byPath[n.Path] = append(byPath[n.Path], n)
	}
	used := map[string]int{}
	visited := map[*unpack.Node]bool{}
	var walk func(mn *unpack.Node, parent *node, root *firmware.Root, depth int) *node
	walk = func(mn *unpack.Node, parent *node, root *firmware.Root, depth int) *node {
		visited[mn] = true
		n := &node{m: mn, parent: parent, name: path.Base(mn.Path), root: root, depth: depth}
		if parent == nil {
			n.name = ""
		}
		if mn.Format != "" {
			if f, ok := s.reg.Lookup(mn.Format); ok {
				n.kind = f.Info().Kind
			}
		}
		s.nodes = append(s.nodes, n)
		kidRoot := root
		if mn.Type != "dir" {
			kidRoot = nil
		}
		if r := s.rootOf[mn.Path]; r != nil && (mn.Type == "file" || mn.Type == unpack.TypeChunk) {
			n.fsRoot, kidRoot = r, r
		}
		if depth >= maxDepth {
			return n
		}
		for _, c := range mn.Children {
			list := byPath[c]
			i := used[c]
			if i >= len(list) || visited[list[i]] {
				continue
			}
			used[c] = i + 1
			n.kids = append(n.kids, walk(list[i], n, kidRoot, depth+1))
		}
		// A file that no format recognised is recorded with one region
		// covering it: the file itself is what to compare.
		if len(n.kids) == 1 && n.content() && n.m.Type != unpack.TypeRegion {
			if k := n.kids[0]; k.m.Type == unpack.TypeRegion && k.m.Offset == 0 && k.m.Size == mn.Size && len(k.kids) == 0 {
				n.kids = nil
			}
		}
		return n
	}
	s.top = walk(m.Nodes[0], nil, nil, 0)
}

// fsPath is the node's path inside its file system or archive.
func (n *node) fsPath() string {
	if n.root == nil {
		return ""
	}
	return "/" + strings.TrimPrefix(n.m.Path, n.root.Path+"/")
}

// content says whether the node stands for bytes.
func (n *node) content() bool {
	switch n.m.Type {
	case "file", "hardlink", unpack.TypeChunk, unpack.TypeRegion:
		return true
	}
	return false
}

// open returns the node's bytes, confined to the unpack folder (or the
// image file), and their size.
func (s *Side) open(n *node) (io.ReaderAt, int64, func(), error) {
	switch n.m.Type {
	case "file", "hardlink":
		disk := n.m.DiskPath
		if disk == "" && n.m.Type == "hardlink" && n.root != nil {
			// A hard link is read through the file it links to.
			if t := n.root.Get(n.m.LinkTarget); t != nil && t.Type == firmware.TypeFile {
				disk = t.Disk
			}
		}
		if disk == "" && n.parent != nil {
			return nil, 0, nil, fmt.Errorf("%s: %w", n.m.Path, firmware.ErrNoContent)
		}
		f, err := s.Tree.Open(&firmware.File{Path: n.m.Path, Type: firmware.TypeFile, Disk: disk})
		if err != nil {
			return nil, 0, nil, err
		}
		st, err := f.Stat()
		if err != nil {
			f.Close()
			return nil, 0, nil, err
		}
		if !st.Mode().IsRegular() {
			f.Close()
			return nil, 0, nil, fmt.Errorf("%s: not a regular file on disk", n.m.Path)
		}
		return f, st.Size(), func() { f.Close() }, nil
	case unpack.TypeChunk, unpack.TypeRegion:
		if n.parent == nil || n.depth > maxDepth {
			return nil, 0, nil, fmt.Errorf("%s: %w", n.m.Path, firmware.ErrNoContent)
		}
		r, size, done, err := s.open(n.parent)
		if err != nil {
			return nil, 0, nil, err
		}
		if n.m.Offset < 0 || n.m.Size < 0 || n.m.Offset > size || n.m.Size > size-n.m.Offset {
			done()
			return nil, 0, nil, fmt.Errorf("%s: %d bytes at offset %d beyond its container (%d bytes)", n.m.Path, n.m.Size, n.m.Offset, size)
		}
		return io.NewSectionReader(r, n.m.Offset, n.m.Size), n.m.Size, done, nil
	}
	return nil, 0, nil, fmt.Errorf("%s: a %s has no content", n.m.Path, n.m.Type)
}

// hash returns the node's SHA-256: from the manifest, or computed for
// chunks and regions.
func (s *Side) hash(n *node) (string, error) {
	if n.m.SHA256 != "" {
		return n.m.SHA256, nil
	}
	if n.m.Type == "hardlink" && n.root != nil {
		if t := n.root.Get(n.m.LinkTarget); t != nil && t.SHA256 != "" {
			return t.SHA256, nil
		}
	}
	r, size, done, err := s.open(n)
	if err != nil {
		return "", err
	}
	defer done()
	h := sha256.New()
	if _, err := io.Copy(h, io.NewSectionReader(r, 0, size)); err != nil {
		return "", fmt.Errorf("%s: %w", n.m.Path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// read returns the node's bytes when they fit under max; ok is false for
// a larger object.
func (s *Side) read(n *node, max int64) (b []byte, size int64, ok bool, err error) {
	r, size, done, err := s.open(n)
	if err != nil {
		return nil, 0, false, err
	}
	defer done()
	if size > max {
		return nil, size, false, nil
	}
	b = make([]byte, size)
	if _, err := r.ReadAt(b, 0); err != nil && !(errors.Is(err, io.EOF) && size == 0) {
		return nil, size, false, fmt.Errorf("%s: %w", n.m.Path, err)
	}
	return b, size, true, nil
}

// readAt reads n bytes at off of a node, up to its end.
func (s *Side) readAt(nd *node, off, n int64) ([]byte, error) {
	r, size, done, err := s.open(nd)
	if err != nil {
		return nil, err
	}
	defer done()
	if off < 0 || off >= size || n <= 0 {
		return nil, nil
	}
	n = min(n, size-off)
	b := make([]byte, n)
	m, err := r.ReadAt(b, off)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	return b[:m], nil
}

// Diff opens both inputs (unpacking images one after the other, into
// dir/a and dir/b when open.Dir is set) and compares them. The unpacks run
// in turn: each already uses every CPU, and the peak memory stays that of
// one.
func Diff(ctx context.Context, inputA, inputB string, open OpenOptions, opt Options) (*Report, error) {
	var sides []*Side
	defer func() {
		for _, s := range sides {
			s.Close()
		}
	}()
	for i, in := range []string{inputA, inputB} {
		o := open
		if open.Dir != "" {
			o.Dir = filepath.Join(open.Dir, []string{"a", "b"}[i])
		}
		s, err := Open(ctx, in, o)
		if err != nil {
			return nil, err
		}
		sides = append(sides, s)
	}
	return Compare(ctx, sides[0], sides[1], opt)
}
