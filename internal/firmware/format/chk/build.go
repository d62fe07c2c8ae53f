package chk

import "encoding/binary"

// Build writes a valid CHK container for the given board ID, kernel and
// rootfs (which may be empty), for tests and benchmarks. Region is 1
// (worldwide) and the version is 1.0.0.0_1.0.0.
func Build(board string, kernel, rootfs []byte) []byte {
	be := binary.BigEndian
	b := make([]byte, fixedSize, fixedSize+len(board)+len(kernel)+len(rootfs))
	be.PutUint32(b, magic)
	be.PutUint32(b[4:], uint32(fixedSize+len(board)))
	b[8], b[9], b[13] = 1, 1, 1
	var ck, cr, ci Checksum
	ck.Write(kernel)
	cr.Write(rootfs)
	ci.Write(kernel)
	ci.Write(rootfs)
	be.PutUint32(b[16:], ck.Sum32())
	be.PutUint32(b[20:], cr.Sum32())
	be.PutUint32(b[24:], uint32(len(kernel)))
	be.PutUint32(b[28:], uint32(len(rootfs)))
	be.PutUint32(b[32:], ci.Sum32())
	b = append(b, board...)
	var ch Checksum
	ch.Write(b)
	be.PutUint32(b[36:], ch.Sum32())
	b = append(b, kernel...)
	return append(b, rootfs...)
}
