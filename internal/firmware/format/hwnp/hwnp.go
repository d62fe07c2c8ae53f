// Package hwnp reads Huawei HWNP firmware packages (ONTs and home
// gateways): a little-endian header with magic "HWNP", whole-file and
// header CRC32s, a product list, and a table of items (CRC32, offset,
// size, item path such as "file:/var/UpgradeCheck.xml" or "flash:uboot",
// section, version, policy) whose data follows the table.
package hwnp

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"strings"

	"github.com/netvet/netvet/internal/firmware/format/internal/payload"

	"github.com/netvet/netvet/internal/firmware"
	"github.com/netvet/netvet/internal/safeio"
)

const (
	magic       = "HWNP"
	headerSize  = 36
	itemSize    = 360 // size of the item record as known; larger records are accepted
	maxItemSize = 4096
	maxItems    = 1024
	// sizeBias: the big-endian size field holds the file size minus this.
	sizeBias = 76
	// The header CRC covers bytes from hdrCRCStart to the end of the item
	// table; the file CRC covers bytes from fileCRCStart to the end.
	hdrCRCStart  = 20
	fileCRCStart = 12
)

var (
	// ErrHeader reports a header that is not a valid HWNP header.
	ErrHeader = errors.New("hwnp: invalid header")
	// ErrTruncated reports item data past the end of the input.
	ErrTruncated = errors.New("hwnp: data extends past end of input")
	// ErrCRC reports a CRC32 mismatch.
	ErrCRC = errors.New("hwnp: crc32 mismatch")
)

// Item is one entry of the item table.
type Item struct {
	Index   uint32
	CRC     uint32
	Offset  uint32
	Size    uint32
	Name    string // e.g. "file:/var/UpgradeCheck.xml"
	Section string // e.g. "UPGRDCHECK"
	Version string
	Policy  uint32
}

// Path turns the item name into an entry path: "file:/var/x" becomes
// "file/var/x" and "flash:uboot" becomes "flash/uboot".
func (it Item) Path() string {
	kind, rest, ok := strings.Cut(it.Name, ":")
	if !ok {
		return it.Name
	}
	rest = strings.TrimLeft(rest, "/")
	if kind == "" {
		return rest
	}
	if rest == "" {
		return kind
	}
	return kind + "/" + rest
}

// Header is the decoded package header and item table.
type Header struct {
	FileSize  int64 // declared size of the whole package
	FileCRC   uint32
	HeaderLen uint32 // as stored (writers disagree on whether it counts the fixed header)
	HeaderCRC uint32
	Products  string // product list, e.g. "494|4B4|;COMMON|"
	ItemSize  uint32
	Items     []Item
	tableEnd  int64
}

func cstr(b []byte) string {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		b = b[:i]
	}
	return string(b)
}

// readFixed reads the fixed header and checks its ranges.
func readFixed(r io.ReaderAt, size int64) (b []byte, count, isz, plen int64, err error) {
	b, err = safeio.ReadAt(r, size, 0, headerSize, headerSize)
	if err != nil {
		return nil, 0, 0, 0, fmt.Errorf("%w: %w", ErrHeader, err)
	}
	if string(b[:4]) != magic {
		return nil, 0, 0, 0, fmt.Errorf("%w: bad magic", ErrHeader)
	}
	le := binary.LittleEndian
	count, plen, isz = int64(le.Uint32(b[20:])), int64(le.Uint16(b[26:])), int64(le.Uint32(b[28:]))
	if count == 0 || count > maxItems {
		return nil, 0, 0, 0, fmt.Errorf("%w: item count %d (limit %d)", ErrHeader, count, maxItems)
	}
	if isz < itemSize || isz > maxItemSize {
		return nil, 0, 0, 0, fmt.Errorf("%w: item record size %d", ErrHeader, isz)
	}
	if end := headerSize + plen + count*isz; end > size {
		return nil, 0, 0, 0, fmt.Errorf("%w: item table ends at %d, past end of input (%d)", ErrHeader, end, size)
	}
	return b, count, isz, plen, nil
}

func parseItem(b []byte) Item {
	le := binary.LittleEndian
	return Item{
		Index: le.Uint32(b[0:]), CRC: le.Uint32(b[4:]), Offset: le.Uint32(b[8:]), Size: le.Uint32(b[12:]),
		Name: cstr(b[16:272]), Section: cstr(b[272:288]), Version: cstr(b[288:352]), Policy: le.Uint32(b[352:]),
	}
}

// validItem checks what every real item has: a printable name and data
// that starts after the item table.
func validItem(it Item, tableEnd int64) bool {
	if it.Name == "" || int64(it.Offset) < tableEnd {
		return false
	}
	for _, c := range []byte(it.Name) {
		if c < 0x20 || c > 0x7e {
			return false
		}
	}
	return true
}

// ParseHeader reads the header, the product list and the item table.
func ParseHeader(r io.ReaderAt, size int64) (Header, error) {
	b, count, isz, plen, err := readFixed(r, size)
	if err != nil {
		return Header{}, err
	}
	le := binary.LittleEndian
	h := Header{
		FileSize: int64(binary.BigEndian.Uint32(b[4:])) + sizeBias, FileCRC: le.Uint32(b[8:]),
		HeaderLen: le.Uint32(b[12:]), HeaderCRC: le.Uint32(b[16:]), ItemSize: uint32(isz),
	}
	p, err := safeio.ReadAt(r, size, headerSize, plen, 1<<16)
	if err != nil {
		return Header{}, fmt.Errorf("%w: product list: %w", ErrHeader, err)
	}
	h.Products = cstr(p)
	h.tableEnd = headerSize + plen + count*isz
	tab, err := safeio.ReadAt(r, size, headerSize+plen, count*isz, maxItems*maxItemSize)
	if err != nil {
		return Header{}, fmt.Errorf("%w: item table: %w", ErrHeader, err)
	}
	h.Items = make([]Item, count)
	for i := range h.Items {
		h.Items[i] = parseItem(tab[int64(i)*isz:])
	}
	return h, nil
}

type format struct{}

// New returns the HWNP format.
func New() firmware.Format { return format{} }

var _ firmware.Format = format{}

func (format) Info() firmware.Info {
	return firmware.Info{
		Name:        "hwnp",
		Description: "Huawei HWNP firmware package (ONT/router)",
		Kind:        firmware.KindContainer,
		Signatures:  []firmware.Signature{{Magic: []byte(magic)}},
		Variants:    []string{"item table with 360-byte records", "header, file and item crc32 verified"},
	}
}

// Identify checks the fixed header and the first item record.
func (format) Identify(src io.ReaderAt, size int64) bool {
	_, count, isz, plen, err := readFixed(src, size)
	if err != nil {
		return false
	}
	b, err := safeio.ReadAt(src, size, headerSize+plen, itemSize, itemSize)
	if err != nil {
		return false
	}
	return validItem(parseItem(b), headerSize+plen+count*isz)
}

func (format) Extract(ctx context.Context, src io.ReaderAt, size int64, dst firmware.Sink) (int64, error) {
	h, err := ParseHeader(src, size)
	if err != nil {
		return 0, err
	}
	hc := crc32.NewIEEE()
	if err := payload.HashRange(ctx, "hwnp", hc, src, hdrCRCStart, h.tableEnd-hdrCRCStart); err != nil {
		return 0, err
	}
	if got := hc.Sum32(); got != h.HeaderCRC {
		dst.Fail(firmware.Entry{Path: "", Type: firmware.TypeFile, Offset: 0, Size: h.tableEnd},
			fmt.Errorf("%w: header crc 0x%08x, computed 0x%08x", ErrCRC, h.HeaderCRC, got))
	}
	end := h.tableEnd
	for i, it := range h.Items {
		if err := ctx.Err(); err != nil {
			return 0, err
		}
		p := it.Path()
		if p == "" {
			p = fmt.Sprintf("item-%d", i)
		}
		off, n := int64(it.Offset), int64(it.Size)
		e := firmware.Entry{Path: p, Type: firmware.TypeFile, Mode: 0o644, Offset: off, Size: n}
		if off < h.tableEnd {
			dst.Fail(e, fmt.Errorf("%w: item %d data at offset %d inside the header", ErrHeader, i, off))
			continue
		}
		if off > size || n > size-off {
			dst.Fail(e, fmt.Errorf("%w: item %d: %d bytes at offset %d, %d available", ErrTruncated, i, n, off, size))
			continue
		}
		end = max(end, off+n)
		c := crc32.NewIEEE()
		if err := payload.PutHashed(ctx, "hwnp", dst, src, e, c); err != nil {
			return 0, err
		}
		if got := c.Sum32(); got != it.CRC {
			dst.Fail(e, fmt.Errorf("%w: item %d %q: header 0x%08x, computed 0x%08x", ErrCRC, i, it.Name, it.CRC, got))
		}
	}
	if h.FileSize < end || h.FileSize > size {
		// The declared size does not fit what was found: trust the items.
		return end, nil
	}
	fc := crc32.NewIEEE()
	if err := payload.HashRange(ctx, "hwnp", fc, src, fileCRCStart, h.FileSize-fileCRCStart); err != nil {
		return 0, err
	}
	if got := fc.Sum32(); got != h.FileCRC {
		dst.Fail(firmware.Entry{Path: "", Type: firmware.TypeFile, Offset: 0, Size: h.FileSize},
			fmt.Errorf("%w: file crc 0x%08x, computed 0x%08x", ErrCRC, h.FileCRC, got))
	}
	return h.FileSize, nil
}
