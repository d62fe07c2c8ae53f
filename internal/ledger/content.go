package ledger

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"path"
	"sort"
	"strings"

	"github.com/netvet/netvet/internal/firmware"
	"github.com/netvet/netvet/internal/store"
	"github.com/netvet/netvet/internal/unpack"
)

// Kinds of content objects.
const (
	KindBlob   = "blob"   // data outside any filesystem that no format opened further
	KindRegion = "region" // bytes of a container no format recognised
)

// Content is what an image holds once unpacked, in the canonical form
// equivalence compares: every object of every filesystem (by filesystem
// label and path: kind, content or link, mode), and the data outside
// filesystems that nothing opened further (by content). Container
// framing, compression, timestamps, ownership and order are not part of it.
type Content struct {
	Files []store.File
	// Digest is the SHA-256 of the sorted file list: equal digests mean
	// equal content.
	Digest string
	// Complete is false when the unpack hit a limit or some content could
	// not be read: such an image is never declared equivalent.
	Complete bool
	Problems []string
}

// ContentOf builds the canonical content of an unpacked image.
func ContentOf(m *unpack.Manifest, tree *firmware.Tree) (*Content, error) {
	c := &Content{Complete: m.Complete}
	byPath := make(map[string]*unpack.Node, len(m.Nodes))
	parent := make(map[string]string, len(m.Nodes))
	for _, n := range m.Nodes {
		byPath[n.Path] = n
		for _, k := range n.Children {
			parent[k] = n.Path
		}
	}
	labels := rootLabels(tree)
	rootPaths := map[string]bool{}
	for _, r := range tree.Roots {
		rootPaths[r.Path] = true
	}
	// inRoot reports whether p is a filesystem's node or lies under one.
	cache := map[string]bool{}
	var inRoot func(p string, depth int) bool
	inRoot = func(p string, depth int) bool {
		if p == "" || depth > 4096 {
			return false
		}
		if v, ok := cache[p]; ok {
			return v
		}
		v := rootPaths[p] || inRoot(parent[p], depth+1)
		cache[p] = v
		return v
	}

	// Objects of the filesystems.
	for _, r := range tree.Roots {
		label := labels[r]
		for _, f := range r.Files() {
			sf := store.File{Key: label + ":" + f.FSPath, Root: label, FSPath: f.FSPath, Kind: f.Type.String(),
				Mode: modeString(f.Mode), Path: relPath(m, f.Path)}
			switch f.Type {
			case firmware.TypeFile:
				sf.SHA256 = f.SHA256
				if sf.SHA256 == "" {
					c.problem("%s: content not extracted", f.Path)
				}
			case firmware.TypeSymlink, firmware.TypeHardlink:
				sf.Link = f.LinkTarget
			}
			c.Files = append(c.Files, sf)
		}
	}

	// Data outside filesystems: leaf blobs and unrecognised regions.
	leaf := func(n *unpack.Node) bool {
		for _, k := range n.Children {
			if kn := byPath[k]; kn != nil && kn.Type != unpack.TypeRegion {
				return false
			}
		}
		return true
	}
	seen := map[string]int{}
	for _, n := range m.Nodes {
		if inRoot(n.Path, 0) {
			continue
		}
		switch {
		case n.Type == "file" && leaf(n):
			if n.SHA256 == "" {
				c.problem("%s: content not extracted", n.Path)
				continue
			}
			c.Files = append(c.Files, blobFile(KindBlob, n.SHA256, relPath(m, n.Path), seen))
		case n.Type == unpack.TypeRegion:
			p := byPath[parent[n.Path]]
			if p != nil && p.Type == "file" && leaf(p) {
				continue // the blob's own digest covers it
			}
			sum, err := regionDigest(tree, byPath, parent, n)
			if err != nil {
				c.problem("%s: %v", n.Path, err)
				continue
			}
			c.Files = append(c.Files, blobFile(KindRegion, sum, relPath(m, n.Path), seen))
		}
	}
	sort.Slice(c.Files, func(i, j int) bool { return c.Files[i].Key < c.Files[j].Key })
	d := sha256.New()
	for i := range c.Files {
		f := &c.Files[i]
		f.Fingerprint = fingerprint(*f)
		io.WriteString(d, f.Key)
		d.Write([]byte{0})
		io.WriteString(d, f.Fingerprint)
		d.Write([]byte{'\n'})
	}
	c.Digest = hex.EncodeToString(d.Sum(nil))
	return c, nil
}

func (c *Content) problem(format string, args ...any) {
	c.Complete = false
	if len(c.Problems) < 100 {
		c.Problems = append(c.Problems, fmt.Sprintf(format, args...))
	}
}

func fingerprint(f store.File) string {
	switch f.Kind {
	case KindBlob, KindRegion:
		return f.Kind + ":" + f.SHA256
	}
	v := f.SHA256
	if f.Link != "" {
		v = "->" + f.Link
	}
	return f.Kind + ":" + v + ":" + f.Mode
}

// blobFile names data outside filesystems by its digest; identical blobs
// are numbered.
func blobFile(kind, sum, p string, seen map[string]int) store.File {
	k := kind + ":" + sum
	n := seen[k]
	seen[k] = n + 1
	return store.File{Key: fmt.Sprintf("%s#%d", k, n), Kind: kind, SHA256: sum, Path: p}
}

// rootLabels names each filesystem: "fs0", "fs1", ... for those not inside
// another filesystem (in manifest path order), and "<label>:<fs path>" for
// an archive or filesystem found in a file of another one.
func rootLabels(tree *firmware.Tree) map[*firmware.Root]string {
	labels := map[*firmware.Root]string{}
	var enclosing func(r *firmware.Root) (*firmware.Root, string)
	enclosing = func(r *firmware.Root) (*firmware.Root, string) {
		for p := r.Path; p != "" && p != "."; p = path.Dir(p) {
			if f := tree.File(p); f != nil && f.Root != nil && f.Root != r {
				return f.Root, f.FSPath
			}
			if !strings.Contains(p, "/") {
				break
			}
		}
		return nil, ""
	}
	top := 0
	var label func(r *firmware.Root, depth int) string
	label = func(r *firmware.Root, depth int) string {
		if l, ok := labels[r]; ok {
			return l
		}
		if depth > 32 {
			return "fs?"
		}
		if parentRoot, at := enclosing(r); parentRoot != nil {
			l := label(parentRoot, depth+1) + ":" + at
			labels[r] = l
			return l
		}
		l := fmt.Sprintf("fs%d", top)
		top++
		labels[r] = l
		return l
	}
	// Top-level roots first, in path order, so their numbers do not
	// depend on nested ones.
	for _, r := range tree.Roots {
		if p, _ := enclosing(r); p == nil {
			label(r, 0)
		}
	}
	for _, r := range tree.Roots {
		label(r, 0)
	}
	return labels
}

// regionDigest hashes the bytes of a region from the file that holds it.
func regionDigest(tree *firmware.Tree, byPath map[string]*unpack.Node, parent map[string]string, n *unpack.Node) (string, error) {
	off := n.Offset
	p := byPath[parent[n.Path]]
	for depth := 0; p != nil && p.Type == unpack.TypeChunk && depth < 64; depth++ {
		off += p.Offset
		p = byPath[parent[p.Path]]
	}
	if p == nil {
		return "", fmt.Errorf("no file holds the region")
	}
	f := tree.File(p.Path)
	if f == nil {
		return "", fmt.Errorf("the file %s that holds the region is not readable", p.Path)
	}
	fh, err := tree.Open(f)
	if err != nil {
		return "", err
	}
	defer fh.Close()
	st, err := fh.Stat()
	if err != nil {
		return "", err
	}
	if off < 0 || n.Size < 0 || off > st.Size() || n.Size > st.Size()-off {
		return "", fmt.Errorf("region %d+%d beyond the end of %s (%d bytes)", off, n.Size, p.Path, st.Size())
	}
	d := sha256.New()
	if _, err := io.Copy(d, io.NewSectionReader(fh, off, n.Size)); err != nil {
		return "", err
	}
	return hex.EncodeToString(d.Sum(nil)), nil
}

// relPath strips the image name from a manifest path, for display.
func relPath(m *unpack.Manifest, p string) string {
	if r := strings.TrimPrefix(p, m.Image.Name+"/"); r != p {
		return r
	}
	return p
}

func modeString(m fs.FileMode) string {
	v := uint32(m.Perm())
	if m&fs.ModeSetuid != 0 {
		v |= 0o4000
	}
	if m&fs.ModeSetgid != 0 {
		v |= 0o2000
	}
	if m&fs.ModeSticky != 0 {
		v |= 0o1000
	}
	return fmt.Sprintf("%04o", v)
}
