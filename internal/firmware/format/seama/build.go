package seama

import (
	"crypto/md5"
	"encoding/binary"
	"strings"
)

// Build writes a valid SEAMA container holding image with the given
// key=value metadata (NUL-separated, padded to 4 bytes), for tests and
// benchmarks.
func Build(meta []string, image []byte) []byte {
	m := []byte(strings.Join(meta, "\x00"))
	if len(m) > 0 {
		m = append(m, 0)
	}
	for len(m)%4 != 0 {
		m = append(m, 0)
	}
	b := make([]byte, fixedSize, fixedSize+digestSize+len(m)+len(image))
	binary.BigEndian.PutUint32(b, magic)
	binary.BigEndian.PutUint16(b[6:], uint16(len(m)))
	binary.BigEndian.PutUint32(b[8:], uint32(len(image)))
	if len(image) > 0 {
		d := md5.Sum(image)
		b = append(b, d[:]...)
	}
	b = append(b, m...)
	return append(b, image...)
}

// BuildSealed wraps Build(meta, image) in an outer SEAMA carrying
// sealMeta, as sealed D-Link images are laid out.
func BuildSealed(sealMeta, meta []string, image []byte) []byte {
	return Build(sealMeta, Build(meta, image))
}
