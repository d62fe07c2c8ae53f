package xz

import (
	"bytes"
	"io"
	"os"
	"testing"

	"github.com/netvet/netvet/internal/firmware/fwtest"
	"github.com/netvet/netvet/internal/lzma"
)

// TestXZReaderBogusMagicAfterStream documents a behaviour of
// lzma.NewXZReader that Extract works around (bogusNextHeader): after a
// complete stream, the reader starts another stream on the six magic bytes
// alone, and fails when the 12-byte stream header is short or its CRC is
// wrong, although its documentation says reading stops without error at
// anything that is not another stream. It fails while that holds; it runs
// only with NETVET_KNOWN_BUGS=1 so that the suite stays green.
func TestXZReaderBogusMagicAfterStream(t *testing.T) {
	if os.Getenv("NETVET_KNOWN_BUGS") == "" {
		t.Skip("known internal/lzma behaviour; set NETVET_KNOWN_BUGS=1 to run")
	}
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
