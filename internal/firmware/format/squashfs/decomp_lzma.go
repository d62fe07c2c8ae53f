package squashfs

import (
	"fmt"

	"github.com/netvet/netvet/internal/lzma"
)

// decompressLZMA decodes a block in the legacy LZMA ("alone") format: 5
// property bytes, a dictionary size and an 8-byte uncompressed size, then
// the stream. The output buffer serves as the dictionary, so the size in
// the header costs no memory.
func decompressLZMA(dst, src []byte) (int, error) {
	n, err := lzma.DecodeLZMA(dst, src)
	if err != nil {
		return 0, fmt.Errorf("squashfs: lzma: %w", err)
	}
	return n, nil
}

// decompressXZ decodes a block stored as one complete xz stream, as
// mksquashfs writes it.
func decompressXZ(dst, src []byte) (int, error) {
	n, err := lzma.DecodeXZ(dst, src)
	if err != nil {
		return 0, fmt.Errorf("squashfs: xz: %w", err)
	}
	return n, nil
}
