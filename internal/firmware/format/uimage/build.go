package uimage

import (
	"encoding/binary"
	"hash/crc32"
)

// Build writes a valid single-image uImage holding data, for tests and
// benchmarks. h.Size and h.DataCRC are computed; the other fields are
// written as given (Name is cut to 31 bytes).
func Build(h Header, data []byte) []byte {
	return build(h, data)
}

// BuildMulti writes a valid multi-file uImage (type multi) holding parts,
// for tests and benchmarks. h.Type is forced to TypeMulti. Parts must not
// be empty: a zero size ends the table.
func BuildMulti(h Header, parts [][]byte) []byte {
	h.Type = TypeMulti
	var body []byte
	for _, p := range parts {
		body = binary.BigEndian.AppendUint32(body, uint32(len(p)))
	}
	body = binary.BigEndian.AppendUint32(body, 0)
	for i, p := range parts {
		body = append(body, p...)
		if i < len(parts)-1 {
			for len(body)%4 != 0 {
				body = append(body, 0)
			}
		}
	}
	return build(h, body)
}

func build(h Header, data []byte) []byte {
	be := binary.BigEndian
	b := make([]byte, HeaderSize, HeaderSize+len(data))
	be.PutUint32(b[0:], Magic)
	if !h.Time.IsZero() {
		be.PutUint32(b[8:], uint32(h.Time.Unix()))
	}
	be.PutUint32(b[12:], uint32(len(data)))
	be.PutUint32(b[16:], h.Load)
	be.PutUint32(b[20:], h.Entry)
	be.PutUint32(b[24:], crc32.ChecksumIEEE(data))
	b[28], b[29], b[30], b[31] = h.OS, h.Arch, h.Type, h.Comp
	name := h.Name
	if len(name) > 31 {
		name = name[:31]
	}
	copy(b[32:], name)
	be.PutUint32(b[4:], crc32.ChecksumIEEE(b))
	return append(b, data...)
}
