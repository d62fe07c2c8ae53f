// Package fdt is a bounded reader for flattened device trees (DTB, and the
// FIT images built on them): header checks, a token walk over the
// structure block with depth, node and property caps, and property values
// kept as offsets so large embedded blobs are never loaded.
package fdt

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/netvet/netvet/internal/safeio"
)

// Magic is the first word of a flattened device tree, big-endian.
const Magic = 0xd00dfeed

// HeaderSize is the size of a version 17 header.
const HeaderSize = 40

const (
	tokBeginNode = 1
	tokEndNode   = 2
	tokProp      = 3
	tokNop       = 4
	tokEnd       = 9

	maxNameLen    = 1024
	maxStringsLen = 1 << 20
)

var (
	// ErrHeader reports a header that is not a sane FDT header.
	ErrHeader = errors.New("fdt: invalid header")
	// ErrStructure reports a malformed structure block.
	ErrStructure = errors.New("fdt: malformed structure block")
	// ErrLimit reports a tree beyond the parser's caps.
	ErrLimit = errors.New("fdt: tree exceeds limits")
)

// Header is a decoded FDT header.
type Header struct {
	TotalSize       uint32
	OffStruct       uint32
	OffStrings      uint32
	OffMemRsvmap    uint32
	Version         uint32
	LastCompVersion uint32
	SizeStrings     uint32
	SizeStruct      uint32 // 0 before version 17
}

// structEnd is where the structure block ends.
func (h Header) structEnd() int64 {
	if h.Version >= 17 {
		return int64(h.OffStruct) + int64(h.SizeStruct)
	}
	return int64(h.TotalSize)
}

// ReadHeader reads and checks the header at the start of r: magic, a total
// size within size, a supported version, and blocks inside the total size.
func ReadHeader(r io.ReaderAt, size int64) (Header, error) {
	b, err := safeio.ReadAt(r, size, 0, HeaderSize, HeaderSize)
	if err != nil {
		return Header{}, fmt.Errorf("%w: %w", ErrHeader, err)
	}
	be := binary.BigEndian
	if be.Uint32(b) != Magic {
		return Header{}, fmt.Errorf("%w: bad magic", ErrHeader)
	}
	h := Header{
		TotalSize: be.Uint32(b[4:]), OffStruct: be.Uint32(b[8:]), OffStrings: be.Uint32(b[12:]),
		OffMemRsvmap: be.Uint32(b[16:]), Version: be.Uint32(b[20:]), LastCompVersion: be.Uint32(b[24:]),
		SizeStrings: be.Uint32(b[32:]), SizeStruct: be.Uint32(b[36:]),
	}
	ts := int64(h.TotalSize)
	switch {
	case ts < HeaderSize || ts > size:
		return Header{}, fmt.Errorf("%w: total size %d (%d available)", ErrHeader, ts, size)
	case h.Version < 16 || h.Version > 64 || h.LastCompVersion < 16 || h.LastCompVersion > 17 || h.LastCompVersion > h.Version:
		return Header{}, fmt.Errorf("%w: version %d, compatible %d", ErrHeader, h.Version, h.LastCompVersion)
	case h.OffStruct < 32 || h.OffStruct%4 != 0 || h.structEnd() > ts || h.structEnd() < int64(h.OffStruct)+4:
		return Header{}, fmt.Errorf("%w: structure block at %d", ErrHeader, h.OffStruct)
	case int64(h.OffStrings)+int64(h.SizeStrings) > ts || h.OffStrings < 32:
		return Header{}, fmt.Errorf("%w: strings block at %d, %d bytes", ErrHeader, h.OffStrings, h.SizeStrings)
	case h.OffMemRsvmap != 0 && (h.OffMemRsvmap < 32 || int64(h.OffMemRsvmap) > ts):
		return Header{}, fmt.Errorf("%w: memory reservation map at %d", ErrHeader, h.OffMemRsvmap)
	}
	return h, nil
}

// Prop is one property. Off and Len locate the value in the input; Value
// holds it only when it is small enough (see Limits).
type Prop struct {
	Name  string
	Off   int64
	Len   int64
	Value []byte
}

// String returns the value as a NUL-terminated string ("" if not loaded).
func (p *Prop) String() string {
	if p == nil {
		return ""
	}
	v := p.Value
	if i := bytes.IndexByte(v, 0); i >= 0 {
		v = v[:i]
	}
	return string(v)
}

// Uint32 returns a 4-byte big-endian value.
func (p *Prop) Uint32() (uint32, bool) {
	if p == nil || len(p.Value) != 4 {
		return 0, false
	}
	return binary.BigEndian.Uint32(p.Value), true
}

// Node is one node of the tree.
type Node struct {
	Name     string
	Props    []Prop
	Children []*Node
}

// Child returns the direct child with the given name.
func (n *Node) Child(name string) *Node {
	for _, c := range n.Children {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// Prop returns the property with the given name.
func (n *Node) Prop(name string) *Prop {
	for i := range n.Props {
		if n.Props[i].Name == name {
			return &n.Props[i]
		}
	}
	return nil
}

// Limits bound what Parse accepts and keeps in memory.
type Limits struct {
	MaxDepth       int
	MaxNodes       int
	MaxProps       int
	MaxInline      int64 // largest value loaded into Prop.Value
	MaxInlineTotal int64 // all loaded values together
}

// DefaultLimits suit FIT images and ordinary device trees.
var DefaultLimits = Limits{MaxDepth: 32, MaxNodes: 10000, MaxProps: 100000, MaxInline: 64 << 10, MaxInlineTotal: 8 << 20}

// scanner reads the structure block through a small window.
type scanner struct {
	r      io.ReaderAt
	off    int64
	end    int64
	buf    []byte
	bufOff int64
}

func (s *scanner) ensure(n int64) error {
	if s.off < s.bufOff || s.off+n > s.bufOff+int64(len(s.buf)) {
		if n > s.end-s.off {
			return fmt.Errorf("%w: runs past end of block at offset %d", ErrStructure, s.off)
		}
		k := min(s.end-s.off, 4096)
		s.buf = s.buf[:k]
		if m, err := s.r.ReadAt(s.buf, s.off); m < len(s.buf) {
			if err == nil || errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return fmt.Errorf("fdt: read at offset %d: %w", s.off, err)
		}
		s.bufOff = s.off
	}
	return nil
}

func (s *scanner) u32() (uint32, error) {
	if err := s.ensure(4); err != nil {
		return 0, err
	}
	v := binary.BigEndian.Uint32(s.buf[s.off-s.bufOff:])
	s.off += 4
	return v, nil
}

// name reads a NUL-terminated node name and aligns to 4 bytes.
func (s *scanner) name() (string, error) {
	var sb strings.Builder
	for {
		if err := s.ensure(1); err != nil {
			return "", err
		}
		c := s.buf[s.off-s.bufOff]
		s.off++
		if c == 0 {
			break
		}
		if sb.Len() >= maxNameLen {
			return "", fmt.Errorf("%w: node name longer than %d bytes", ErrStructure, maxNameLen)
		}
		sb.WriteByte(c)
	}
	s.off = (s.off + 3) &^ 3
	return sb.String(), nil
}

func newScanner(r io.ReaderAt, h Header) *scanner {
	return &scanner{r: r, off: int64(h.OffStruct), end: h.structEnd(), buf: make([]byte, 0, 4096)}
}

// Parse reads the whole tree of the FDT at the start of r.
func Parse(ctx context.Context, r io.ReaderAt, size int64, lim Limits) (*Node, Header, error) {
	h, err := ReadHeader(r, size)
	if err != nil {
		return nil, h, err
	}
	strs, err := safeio.ReadAt(r, size, int64(h.OffStrings), int64(h.SizeStrings), maxStringsLen)
	if err != nil {
		return nil, h, fmt.Errorf("%w: strings block: %w", ErrHeader, err)
	}
	s := newScanner(r, h)
	var (
		root         *Node
		stack        []*Node
		nodes, props int
		inline       int64
	)
	for {
		if nodes%256 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, h, err
			}
		}
		tok, err := s.u32()
		if err != nil {
			return nil, h, err
		}
		switch tok {
		case tokBeginNode:
			name, err := s.name()
			if err != nil {
				return nil, h, err
			}
			if nodes++; nodes > lim.MaxNodes {
				return nil, h, fmt.Errorf("%w: more than %d nodes", ErrLimit, lim.MaxNodes)
			}
			if len(stack) >= lim.MaxDepth {
				return nil, h, fmt.Errorf("%w: deeper than %d", ErrLimit, lim.MaxDepth)
			}
			n := &Node{Name: name}
			if len(stack) == 0 {
				if root != nil {
					return nil, h, fmt.Errorf("%w: second root node at offset %d", ErrStructure, s.off)
				}
				root = n
			} else {
				p := stack[len(stack)-1]
				p.Children = append(p.Children, n)
			}
			stack = append(stack, n)
		case tokEndNode:
			if len(stack) == 0 {
				return nil, h, fmt.Errorf("%w: unbalanced end of node at offset %d", ErrStructure, s.off-4)
			}
			stack = stack[:len(stack)-1]
		case tokProp:
			if len(stack) == 0 {
				return nil, h, fmt.Errorf("%w: property outside a node at offset %d", ErrStructure, s.off-4)
			}
			l, err := s.u32()
			if err != nil {
				return nil, h, err
			}
			no, err := s.u32()
			if err != nil {
				return nil, h, err
			}
			if int64(l) > s.end-s.off {
				return nil, h, fmt.Errorf("%w: property of %d bytes at offset %d past end of block", ErrStructure, l, s.off)
			}
			if props++; props > lim.MaxProps {
				return nil, h, fmt.Errorf("%w: more than %d properties", ErrLimit, lim.MaxProps)
			}
			if int64(no) >= int64(len(strs)) {
				return nil, h, fmt.Errorf("%w: property name offset %d outside strings block", ErrStructure, no)
			}
			nm := strs[no:]
			if i := bytes.IndexByte(nm, 0); i >= 0 {
				nm = nm[:i]
			}
			p := Prop{Name: string(nm), Off: s.off, Len: int64(l)}
			if p.Len <= lim.MaxInline && inline+p.Len <= lim.MaxInlineTotal {
				if p.Value, err = safeio.ReadAt(r, s.end, s.off, p.Len, lim.MaxInline); err != nil {
					return nil, h, err
				}
				inline += p.Len
			}
			n := stack[len(stack)-1]
			n.Props = append(n.Props, p)
			s.off = (s.off + int64(l) + 3) &^ 3
		case tokNop:
		case tokEnd:
			if len(stack) != 0 || root == nil {
				return nil, h, fmt.Errorf("%w: end of tree inside a node", ErrStructure)
			}
			return root, h, nil
		default:
			return nil, h, fmt.Errorf("%w: token 0x%x at offset %d", ErrStructure, tok, s.off-4)
		}
	}
}

// HasRootChild reports whether the root node of the FDT at the start of r
// has a direct child called name, reading at most maxTokens tokens; large
// property values are skipped, not read. It is meant for Identify.
func HasRootChild(r io.ReaderAt, size int64, name string, maxTokens int) bool {
	h, err := ReadHeader(r, size)
	if err != nil {
		return false
	}
	s := newScanner(r, h)
	depth := 0
	for range maxTokens {
		tok, err := s.u32()
		if err != nil {
			return false
		}
		switch tok {
		case tokBeginNode:
			n, err := s.name()
			if err != nil {
				return false
			}
			depth++
			if depth == 2 && n == name {
				return true
			}
		case tokEndNode:
			if depth--; depth <= 0 {
				return false
			}
		case tokProp:
			l, err := s.u32()
			if err != nil {
				return false
			}
			if _, err := s.u32(); err != nil {
				return false
			}
			if int64(l) > s.end-s.off {
				return false
			}
			s.off = (s.off + int64(l) + 3) &^ 3
		case tokNop:
		default:
			return false
		}
	}
	return false
}
