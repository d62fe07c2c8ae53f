package jffs2

import (
	"container/heap"
	"fmt"
	"io"
	"sort"
)

// seg is a range of a file served by one node (node < 0: a hole).
type seg struct {
	start, end int64
	node       int
}

// verHeap is a max-heap of node indices by version, then image position.
type verHeap struct {
	idx   []int
	nodes []dnode
}

func (h *verHeap) Len() int { return len(h.idx) }
func (h *verHeap) Less(i, j int) bool {
	a, b := h.nodes[h.idx[i]], h.nodes[h.idx[j]]
	if a.version != b.version {
		return a.version > b.version
	}
	return a.pos > b.pos
}
func (h *verHeap) Swap(i, j int) { h.idx[i], h.idx[j] = h.idx[j], h.idx[i] }
func (h *verHeap) Push(x any)    { h.idx = append(h.idx, x.(int)) }
func (h *verHeap) Pop() any {
	x := h.idx[len(h.idx)-1]
	h.idx = h.idx[:len(h.idx)-1]
	return x
}

// segments lays the nodes of a file out over [0, isize): where nodes
// overlap the highest version wins; uncovered ranges are holes.
func segments(nodes []dnode, isize int64) []seg {
	sort.Slice(nodes, func(i, j int) bool { return nodes[i].off < nodes[j].off })
	end := func(n dnode) int64 { return int64(n.off) + int64(n.dsize) }
	points := make([]int64, 0, 2*len(nodes)+2)
	points = append(points, 0, isize)
	for _, n := range nodes {
		if int64(n.off) < isize {
			points = append(points, int64(n.off), min(end(n), isize))
		}
	}
	sort.Slice(points, func(i, j int) bool { return points[i] < points[j] })
	k := 0
	for _, p := range points {
		if k == 0 || points[k-1] != p {
			points[k] = p
			k++
		}
	}
	points = points[:k]
	h := &verHeap{nodes: nodes}
	var out []seg
	j := 0
	for i := 0; i+1 < len(points); i++ {
		a, b := points[i], points[i+1]
		for j < len(nodes) && int64(nodes[j].off) <= a {
			if end(nodes[j]) > a {
				heap.Push(h, j)
			}
			j++
		}
		for h.Len() > 0 && end(nodes[h.idx[0]]) <= a {
			heap.Pop(h)
		}
		w := -1
		if h.Len() > 0 {
			w = h.idx[0]
		}
		if len(out) > 0 && out[len(out)-1].node == w && out[len(out)-1].end == a {
			out[len(out)-1].end = b
			continue
		}
		out = append(out, seg{start: a, end: b, node: w})
	}
	return out
}

// fileReader streams a regular file's content.
func (im *image) fileReader(ino uint32, in *inode) (io.Reader, error) {
	segs := segments(in.nodes, int64(in.isize))
	for _, s := range segs {
		if s.node < 0 {
			continue
		}
		n := in.nodes[s.node]
		switch n.compr {
		case comprNone, comprZero, comprRtime, comprZlib, comprLZO, comprLZMA:
		default:
			return nil, fmt.Errorf("inode %d node at offset 0x%x: %w", ino, n.pos, decompress(n.compr, nil, nil))
		}
	}
	return &fileReader{im: im, ino: ino, nodes: in.nodes, segs: segs, cached: -1}, nil
}

type fileReader struct {
	im     *image
	ino    uint32
	nodes  []dnode
	segs   []seg
	pos    int64 // current file offset
	cached int
	data   []byte
}

func (r *fileReader) Read(p []byte) (int, error) {
	for len(r.segs) > 0 && r.pos >= r.segs[0].end {
		r.segs = r.segs[1:]
	}
	if len(r.segs) == 0 {
		return 0, io.EOF
	}
	s := r.segs[0]
	want := s.end - r.pos
	if int64(len(p)) > want {
		p = p[:want]
	}
	if s.node < 0 {
		clear(p)
		r.pos += int64(len(p))
		return len(p), nil
	}
	n := r.nodes[s.node]
	if r.cached != s.node {
		if cap(r.data) < int(n.dsize) {
			r.data = make([]byte, n.dsize)
		}
		r.data = r.data[:n.dsize]
		if err := r.im.decompress(n, r.data); err != nil {
			r.cached = -1
			return 0, fmt.Errorf("inode %d at file offset %d: %w", r.ino, r.pos, err)
		}
		r.cached = s.node
	}
	c := copy(p, r.data[r.pos-int64(n.off):])
	r.pos += int64(c)
	return c, nil
}
