package trx

import (
	"encoding/binary"
	"hash/crc32"
)

// Build writes a valid TRX container holding parts, for tests and
// benchmarks: version 1 for up to three parts, version 2 for four. Each
// part starts 4-byte aligned and must not be empty (offsets are strictly
// increasing). It panics on more than four parts.
func Build(parts [][]byte) []byte {
	if len(parts) > 4 {
		panic("trx: at most 4 partitions")
	}
	hsize, version := headerV1, uint32(1)
	if len(parts) == 4 {
		hsize, version = headerV2, 2
	}
	le := binary.LittleEndian
	b := make([]byte, hsize)
	copy(b, magic)
	le.PutUint32(b[12:], version<<16)
	for i, p := range parts {
		for len(b)%4 != 0 {
			b = append(b, 0)
		}
		le.PutUint32(b[16+4*i:], uint32(len(b)))
		b = append(b, p...)
	}
	le.PutUint32(b[4:], uint32(len(b)))
	le.PutUint32(b[8:], ^crc32.ChecksumIEEE(b[crcOffset:]))
	return b
}
