package hwnp

import (
	"encoding/binary"
	"hash/crc32"
)

// BuildItem is one item for Build.
type BuildItem struct {
	Name    string // e.g. "file:/var/UpgradeCheck.xml", at most 255 bytes
	Section string // at most 15 bytes
	Version string // at most 63 bytes
	Policy  uint32
	Data    []byte
}

// Build writes a valid HWNP package with the given product list and items,
// for tests and benchmarks: header length counts the fixed header, item
// data follows the table in order, and every CRC is filled in.
func Build(products string, items []BuildItem) []byte {
	le := binary.LittleEndian
	plen := len(products) + 1
	tableEnd := headerSize + plen + len(items)*itemSize
	b := make([]byte, tableEnd)
	copy(b, magic)
	le.PutUint32(b[12:], uint32(tableEnd))
	le.PutUint32(b[20:], uint32(len(items)))
	le.PutUint16(b[26:], uint16(plen))
	le.PutUint32(b[28:], itemSize)
	copy(b[headerSize:], products)
	off := tableEnd
	for i, it := range items {
		r := b[headerSize+plen+i*itemSize:]
		le.PutUint32(r[0:], uint32(i))
		le.PutUint32(r[4:], crc32.ChecksumIEEE(it.Data))
		le.PutUint32(r[8:], uint32(off))
		le.PutUint32(r[12:], uint32(len(it.Data)))
		copy(r[16:271], it.Name)
		copy(r[272:287], it.Section)
		copy(r[288:351], it.Version)
		le.PutUint32(r[352:], it.Policy)
		off += len(it.Data)
	}
	for _, it := range items {
		b = append(b, it.Data...)
	}
	binary.BigEndian.PutUint32(b[4:], uint32(len(b)-sizeBias))
	le.PutUint32(b[16:], crc32.ChecksumIEEE(b[hdrCRCStart:tableEnd]))
	le.PutUint32(b[8:], crc32.ChecksumIEEE(b[fileCRCStart:]))
	return b
}
