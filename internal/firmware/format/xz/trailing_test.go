package xz

import (
	"bytes"
	"io"
	"testing"

	"github.com/netvet/netvet/internal/firmware/fwtest"
	"github.com/netvet/netvet/internal/lzma"
)

// TestXZReaderBogusMagicAfterStream: after a complete stream, the xz magic
// followed by a short or corrupt stream header is not another stream; the
// carve ends before it, without error.
func TestXZReaderBogusMagicAfterStream(t *testing.T) {
	c64 := fwtest.Fixture(t, "crc64.xz")
	for name, tail := range map[string]string{
		"short header": "\xfd7zXZ\x00junk",
		"bad crc":      "\xfd7zXZ\x00\x00\x04junkjunk",
	} {
		t.Run(name, func(t *testing.T) {
			in := cat(c64, []byte(tail))
			z, err := lzma.NewXZReader(bytes.NewReader(in), 1<<26)
			if err != nil {
				t.Fatal(err)
			}
			n, err := io.Copy(io.Discard, z)
			if err != nil {
				t.Errorf("read %d bytes, then err = %v; want io.EOF after the first stream", n, err)
			}
			if z.Consumed() != int64(len(c64)) {
				t.Errorf("Consumed = %d, want %d", z.Consumed(), len(c64))
			}
		})
	}
}
