package tplink

import (
	"crypto/md5"
	"encoding/binary"
)

// Build writes a valid TP-Link image with header version 1 or 2 holding
// kernel and rootfs (rootfs may be empty: a combined image), for tests and
// benchmarks. The kernel follows the header, the rootfs is 4-byte aligned
// after it, and the MD5 is computed with the normal salt.
func Build(version int, kernel, rootfs []byte) []byte {
	be := binary.BigEndian
	b := make([]byte, HeaderSize)
	base := v1Base
	if version == 1 {
		be.PutUint32(b, 0x01000000)
		copy(b[4:], "TP-LINK Technologies")
		copy(b[28:], "ver. 1.0")
		be.PutUint32(b[64:], 0x08410008)
		be.PutUint32(b[68:], 1)
	} else {
		base = v2Base
		be.PutUint32(b, 0x02000000)
		copy(b[4:], "ver. 2.0")
		be.PutUint32(b[0x34:], 0x89800001)
		be.PutUint32(b[0x38:], 1)
		be.PutUint32(b[0x64:], 0xffffffff)
		be.PutUint16(b[0x8c:], 0x55aa)
		b[0x90] = 0xa5
	}
	b = append(b, kernel...)
	rootOfs := 0
	if len(rootfs) > 0 {
		for len(b)%4 != 0 {
			b = append(b, 0xff)
		}
		rootOfs = len(b)
		b = append(b, rootfs...)
	}
	put := func(o int, v uint32) { be.PutUint32(b[base+o:], v) }
	put(0x28, 0x80060000)
	put(0x2c, 0x80060000)
	put(0x30, uint32(len(b)))
	put(0x34, HeaderSize)
	put(0x38, uint32(len(kernel)))
	put(0x3c, uint32(rootOfs))
	put(0x40, uint32(len(rootfs)))
	salt := saltNormal[0]
	if version != 1 {
		salt = saltNormal[1]
	}
	copy(b[base:], salt[:])
	sum := md5.Sum(b)
	copy(b[base:], sum[:])
	return b
}
