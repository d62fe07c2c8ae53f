package unpack

import (
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"strconv"
	"strings"

	"github.com/netvet/netvet/internal/firmware"
)

// ReadManifest decodes a manifest written by WriteJSON, so that an unpack
// folder can be analysed again without unpacking the image.
func ReadManifest(r io.Reader) (*Manifest, error) {
	var m Manifest
	dec := json.NewDecoder(r)
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("decode manifest: %w", err)
	}
	if m.Tool != "netvet" {
		return nil, fmt.Errorf("decode manifest: tool is %q, not netvet", m.Tool)
	}
	for i, n := range m.Nodes {
		if n == nil || n.Path == "" {
			return nil, fmt.Errorf("decode manifest: node %d has no path", i)
		}
		mode, err := parseMode(n.Mode)
		if err != nil {
			return nil, fmt.Errorf("decode manifest: node %s: %w", n.Path, err)
		}
		n.mode = mode
	}
	return &m, nil
}

func parseMode(s string) (fs.FileMode, error) {
	if s == "" {
		return 0, nil
	}
	v, err := strconv.ParseUint(s, 8, 32)
	if err != nil || v > 0o7777 {
		return 0, fmt.Errorf("bad mode %q", s)
	}
	m := fs.FileMode(v & 0o777)
	if v&0o4000 != 0 {
		m |= fs.ModeSetuid
	}
	if v&0o2000 != 0 {
		m |= fs.ModeSetgid
	}
	if v&0o1000 != 0 {
		m |= fs.ModeSticky
	}
	return m, nil
}

var entryTypes = map[string]firmware.EntryType{}

func init() {
	for t := firmware.TypeFile; t <= firmware.TypeSocket; t++ {
		entryTypes[t.String()] = t
	}
}

// Tree turns the manifest into the analysers' view of the image. dir is the
// unpack folder, imagePath the image file ("" if unavailable), and reg the
// registry that says which formats are filesystems or archives: the nodes
// found in those become files of a Root with paths such as /etc/passwd.
func (m *Manifest) Tree(dir, imagePath string, reg *firmware.Registry) (*firmware.Tree, error) {
	byPath := make(map[string]*Node, len(m.Nodes))
	for _, n := range m.Nodes {
		byPath[n.Path] = n
	}
	isRoot := func(n *Node) bool {
		if n.Format == "" || len(n.Children) == 0 || (n.Type != TypeChunk && n.Type != "file") {
			return false
		}
		f, ok := reg.Lookup(n.Format)
		if !ok {
			return false
		}
		k := f.Info().Kind
		return k == firmware.KindFilesystem || k == firmware.KindArchive
	}
	files := make([]*firmware.File, 0, len(m.Nodes))
	var walk func(n *Node, root *firmware.Root, fsBase string, depth int)
	walk = func(n *Node, root *firmware.Root, fsBase string, depth int) {
		if depth > 4096 {
			return
		}
		if t, ok := entryTypes[n.Type]; ok {
			f := &firmware.File{
				Path: n.Path, Type: t, Mode: n.mode, UID: -1, GID: -1, Size: n.Size,
				SHA256: n.SHA256, LinkTarget: n.LinkTarget, Format: n.Format, Disk: n.DiskPath,
			}
			if n.UID != nil {
				f.UID = *n.UID
			}
			if n.GID != nil {
				f.GID = *n.GID
			}
			if root != nil {
				f.Root = root
				f.FSPath = "/" + strings.TrimPrefix(n.Path, fsBase+"/")
			}
			files = append(files, f)
		}
		// What a file contains (carved chunks, decompressed data) is not
		// part of the filesystem the file sits in.
		childRoot, childBase := root, fsBase
		if n.Type != "dir" {
			childRoot, childBase = nil, ""
		}
		if isRoot(n) {
			childRoot = &firmware.Root{Path: n.Path, Format: n.Format}
			childBase = n.Path
		}
		for _, c := range n.Children {
			if k := byPath[c]; k != nil && k != n {
				walk(k, childRoot, childBase, depth+1)
			}
		}
	}
	if len(m.Nodes) > 0 {
		walk(m.Nodes[0], nil, "", 0)
	}
	t, err := firmware.NewTree(dir, imagePath, files)
	if err != nil {
		return nil, err
	}
	t.ImageName, t.ImageSize, t.ImageSHA256 = m.Image.Name, m.Image.Size, m.Image.SHA256
	return t, nil
}
