package unpack

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"sort"
	"strings"
	"time"
)

// Node types beyond the entry types of package firmware.
const (
	TypeChunk  = "chunk"  // a recognised format found inside a blob
	TypeRegion = "region" // bytes of a blob that no format recognised
)

// Node is one object in the manifest.
type Node struct {
	Path       string   `json:"path"`
	DiskPath   string   `json:"disk_path,omitempty"`
	Type       string   `json:"type"`
	Format     string   `json:"format,omitempty"`
	Offset     int64    `json:"offset"`
	Size       int64    `json:"size"`
	SHA256     string   `json:"sha256,omitempty"`
	Mode       string   `json:"mode,omitempty"`
	UID        *int64   `json:"uid,omitempty"`
	GID        *int64   `json:"gid,omitempty"`
	LinkTarget string   `json:"link_target,omitempty"`
	Device     string   `json:"device,omitempty"`
	MTime      string   `json:"mtime,omitempty"`
	Entropy    *float64 `json:"entropy,omitempty"`
	Children   []string `json:"children,omitempty"`
	Error      string   `json:"error,omitempty"`

	name string
	kids []*Node
	mode fs.FileMode
}

// Manifest is the record of one unpack run: the stable machine contract.
type Manifest struct {
	Tool     string    `json:"tool"`
	Version  string    `json:"version"`
	Image    ImageInfo `json:"image"`
	Limits   Limits    `json:"limits"`
	Complete bool      `json:"complete"`
	Errors   []string  `json:"errors,omitempty"`
	Stats    Stats     `json:"stats"`
	Nodes    []*Node   `json:"nodes"`
}

// ImageInfo identifies the unpacked image.
type ImageInfo struct {
	Name   string `json:"name"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

// Stats counts what was extracted.
type Stats struct {
	Files        int64 `json:"files"`
	Dirs         int64 `json:"dirs"`
	Links        int64 `json:"links"`
	Special      int64 `json:"special"`
	Chunks       int64 `json:"chunks"`
	Regions      int64 `json:"regions"`
	BytesWritten int64 `json:"bytes_written"`
	Errors       int64 `json:"errors"`
}

// WriteJSON writes the manifest as indented JSON. Nodes are encoded one
// at a time, so a manifest of a million nodes never sits in memory twice.
func (m *Manifest) WriteJSON(w io.Writer) error {
	bw := bufio.NewWriterSize(w, 256<<10)
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	head := *m
	head.Nodes = []*Node{}
	if err := enc.Encode(&head); err != nil {
		return err
	}
	b := buf.Bytes()
	const tail = "[]\n}\n"
	if !bytes.HasSuffix(b, []byte(tail)) {
		return fmt.Errorf("manifest: unexpected encoding of the header")
	}
	bw.Write(b[:len(b)-len(tail)])
	if len(m.Nodes) == 0 {
		bw.WriteString("[]\n}\n")
		return bw.Flush()
	}
	bw.WriteString("[\n")
	enc.SetIndent("    ", "  ")
	for i, n := range m.Nodes {
		buf.Reset()
		if err := enc.Encode(n); err != nil {
			return err
		}
		bw.WriteString("    ")
		bw.Write(bytes.TrimSuffix(buf.Bytes(), []byte("\n")))
		if i < len(m.Nodes)-1 {
			bw.WriteString(",")
		}
		bw.WriteString("\n")
	}
	bw.WriteString("  ]\n}\n")
	return bw.Flush()
}

// Lookup returns the node with the given path.
func (m *Manifest) Lookup(path string) *Node {
	for _, n := range m.Nodes {
		if n.Path == path {
			return n
		}
	}
	return nil
}

// FileMode returns the node's mode as recorded in the image.
func (n *Node) FileMode() fs.FileMode { return n.mode }

func formatMode(m fs.FileMode) string {
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

func formatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// flatten assigns paths and lists the tree in pre-order, children sorted
// by name then offset: the same input gives the same order.
func flatten(root *Node) []*Node {
	var out []*Node
	var walk func(n *Node, path string)
	walk = func(n *Node, path string) {
		n.Path = path
		out = append(out, n)
		sort.SliceStable(n.kids, func(i, j int) bool {
			a, b := n.kids[i], n.kids[j]
			if a.name != b.name {
				return a.name < b.name
			}
			return a.Offset < b.Offset
		})
		n.Children = n.Children[:0]
		for _, k := range n.kids {
			kp := path + "/" + k.name
			n.Children = append(n.Children, kp)
		}
		if len(n.Children) == 0 {
			n.Children = nil
		}
		for _, k := range n.kids {
			walk(k, path+"/"+k.name)
		}
	}
	walk(root, root.name)
	return out
}

// trimExt strips a compression extension from a name.
func trimExt(name string) string {
	for _, ext := range []string{".gz", ".tgz", ".bz2", ".xz", ".txz", ".lzma", ".zst", ".zstd", ".lz4", ".z", ".zlib"} {
		if strings.HasSuffix(strings.ToLower(name), ext) && len(name) > len(ext) {
			base := name[:len(name)-len(ext)]
			if ext == ".tgz" || ext == ".txz" {
				base += ".tar"
			}
			return base
		}
	}
	return ""
}
