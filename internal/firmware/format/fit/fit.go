// Package fit reads U-Boot FIT images: a flattened device tree whose
// /images/<name> nodes hold payloads, either embedded in a "data" property
// or stored after the tree ("data-offset" from the end of the tree, or
// "data-position" from its start, with "data-size"). Hash subnodes (crc32,
// md5, sha1, sha256, sha384, sha512) are verified.
package fit

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"io"
	"strings"

	"github.com/netvet/netvet/internal/firmware/format/internal/payload"

	"github.com/netvet/netvet/internal/firmware"
	"github.com/netvet/netvet/internal/firmware/format/internal/fdt"
)

// identifyTokens bounds the token walk of Identify.
const identifyTokens = 4096

var (
	// ErrNotFIT reports a device tree without an /images node.
	ErrNotFIT = errors.New("fit: no /images node")
	// ErrTruncated reports image data past the end of the input.
	ErrTruncated = errors.New("fit: data extends past end of input")
	// ErrHash reports a hash mismatch.
	ErrHash = errors.New("fit: hash mismatch")
	// ErrData reports an image node without usable data properties.
	ErrData = errors.New("fit: image has no usable data")
)

var compExt = map[string]string{
	"gzip": ".gz", "bzip2": ".bz2", "lzma": ".lzma", "lzo": ".lzo", "lz4": ".lz4", "zstd": ".zst", "xz": ".xz",
}

type format struct{}

// New returns the FIT format.
func New() firmware.Format { return format{} }

var _ firmware.Format = format{}

func (format) Info() firmware.Info {
	return firmware.Info{
		Name:        "fit",
		Description: "U-Boot Flattened Image Tree (FIT)",
		Kind:        firmware.KindContainer,
		Signatures:  []firmware.Signature{{Magic: []byte{0xd0, 0x0d, 0xfe, 0xed}}},
		Variants: []string{"embedded data", "external data (data-offset)", "external data (data-position)",
			"crc32/md5/sha1/sha256/sha384/sha512 hashes verified"},
	}
}

func (format) Identify(src io.ReaderAt, size int64) bool {
	return fdt.HasRootChild(src, size, "images", identifyTokens)
}

type image struct {
	node   *fdt.Node
	off, n int64
	err    error
}

// locate finds the data of one image node. extBase is where external data
// starts (the tree's total size rounded up to 4).
func locate(n *fdt.Node, extBase int64) (off, size int64, err error) {
	if p := n.Prop("data"); p != nil {
		return p.Off, p.Len, nil
	}
	ds, ok := n.Prop("data-size").Uint32()
	if !ok {
		return 0, 0, fmt.Errorf("%w: no data or data-size property", ErrData)
	}
	if pos, ok := n.Prop("data-position").Uint32(); ok {
		return int64(pos), int64(ds), nil
	}
	if o, ok := n.Prop("data-offset").Uint32(); ok {
		return extBase + int64(o), int64(ds), nil
	}
	return 0, 0, fmt.Errorf("%w: data-size without data-offset or data-position", ErrData)
}

// entryName names an image after its node, with an extension from its
// compression, or ".dtb" for an uncompressed device tree.
func entryName(n *fdt.Node) string {
	name := n.Name
	comp := n.Prop("compression").String()
	if ext, ok := compExt[comp]; ok {
		return name + ext
	}
	if n.Prop("type").String() == "flat_dt" && !strings.HasSuffix(name, ".dtb") {
		return name + ".dtb"
	}
	return name
}

type check struct {
	node string
	algo string
	want []byte
	h    hash.Hash
}

func newHash(algo string) hash.Hash {
	switch algo {
	case "crc32":
		return crc32.NewIEEE()
	case "md5":
		return md5.New()
	case "sha1":
		return sha1.New()
	case "sha256":
		return sha256.New()
	case "sha384":
		return sha512.New384()
	case "sha512":
		return sha512.New()
	}
	return nil
}

// checks collects the verifiable hash subnodes of an image node.
func checks(n *fdt.Node) []check {
	var cs []check
	for _, c := range n.Children {
		if c.Name != "hash" && !strings.HasPrefix(c.Name, "hash-") && !strings.HasPrefix(c.Name, "hash@") {
			continue
		}
		algo := c.Prop("algo").String()
		v := c.Prop("value")
		h := newHash(algo)
		if h == nil || v == nil || v.Value == nil || len(v.Value) != h.Size() {
			continue
		}
		cs = append(cs, check{node: c.Name, algo: algo, want: v.Value, h: h})
	}
	return cs
}

func (format) Extract(ctx context.Context, src io.ReaderAt, size int64, dst firmware.Sink) (int64, error) {
	root, h, err := fdt.Parse(ctx, src, size, fdt.DefaultLimits)
	if err != nil {
		return 0, fmt.Errorf("fit: %w", err)
	}
	images := root.Child("images")
	if images == nil {
		return 0, ErrNotFIT
	}
	total := int64(h.TotalSize)
	extBase := (total + 3) &^ 3
	for _, n := range images.Children {
		if err := ctx.Err(); err != nil {
			return 0, err
		}
		off, ln, lerr := locate(n, extBase)
		e := firmware.Entry{Path: entryName(n), Type: firmware.TypeFile, Mode: 0o644, Offset: off, Size: ln}
		if lerr != nil {
			dst.Fail(e, fmt.Errorf("image %q: %w", n.Name, lerr))
			continue
		}
		if off < 0 || off > size || ln > size-off {
			dst.Fail(e, fmt.Errorf("%w: image %q: %d bytes at offset %d, %d available", ErrTruncated, n.Name, ln, off, size))
			continue
		}
		total = max(total, off+ln)
		cs := checks(n)
		ws := make([]io.Writer, len(cs))
		for i := range cs {
			ws[i] = cs[i].h
		}
		if err := payload.PutHashed(ctx, "fit", dst, src, e, io.MultiWriter(ws...)); err != nil {
			return 0, err
		}
		for _, c := range cs {
			if got := c.h.Sum(nil); !bytes.Equal(got, c.want) {
				dst.Fail(e, fmt.Errorf("%w: image %q %s (%s): stored %x, computed %x", ErrHash, n.Name, c.node, c.algo, c.want, got))
			}
		}
	}
	return total, nil
}
