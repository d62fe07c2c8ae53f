package fwtest

// RefCRC32 is a bit-at-a-time CRC-32 (IEEE, as zlib and U-Boot use it),
// written apart from hash/crc32 so that tests check a reader's checksums
// against an independent computation.
func RefCRC32(b []byte) uint32 {
	c := ^uint32(0)
	for _, x := range b {
		c ^= uint32(x)
		for range 8 {
			if c&1 != 0 {
				c = c>>1 ^ 0xedb88320
			} else {
				c >>= 1
			}
		}
	}
	return ^c
}
