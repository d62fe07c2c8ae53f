package lz4

import (
	"bytes"
	"encoding/binary"
	"testing"

	plz4 "github.com/pierrec/lz4/v4"

	"github.com/netvet/netvet/internal/firmware/fwtest"
)

// kernelLegacy builds a legacy stream the way the kernel build does
// (lz4 -l) and appends the 4-byte uncompressed size.
func kernelLegacy(t testing.TB, data []byte) []byte {
	out := binary.LittleEndian.AppendUint32(nil, legacyMagic)
	for len(data) > 0 {
		n := min(len(data), legacyBlock)
		buf := make([]byte, plz4.CompressBlockBound(n))
		k, err := plz4.CompressBlock(data[:n], buf, nil)
		if err != nil || k == 0 {
			t.Fatal("compress", err)
		}
		out = binary.LittleEndian.AppendUint32(out, uint32(k))
		out = append(out, buf[:k]...)
		data = data[n:]
	}
	return out
}

func TestExtract(t *testing.T) {
	plain := fwtest.Fixture(t, "plain.txt")
	p := fwtest.Fixture(t, "plain.lz4")
	leg := fwtest.Fixture(t, "legacy.lz4")
	big := bytes.Repeat(plain, 200) // about 10 MB: two legacy blocks
	kl := kernelLegacy(t, big)
	fwtest.RunStreamCases(t, New, 1<<26, []fwtest.StreamCase{
		{Name: "frame", In: p, Want: plain},
		{Name: "content size and block checksums", In: fwtest.Fixture(t, "checks.lz4"), Want: plain},
		{Name: "two frames and a skippable frame", In: fwtest.Fixture(t, "multi.lz4"), Want: plain},
		{Name: "empty", In: fwtest.Fixture(t, "empty.lz4"), Want: []byte{}},
		{Name: "legacy", In: leg, Want: plain},
		{Name: "legacy, kernel size appended", In: append(append([]byte(nil), kl...), 0x40, 0x0a, 0x98, 0x00), Want: big, Len: int64(len(kl))},
		{Name: "trailing data", In: append(append([]byte(nil), p...), "junk"...), Want: plain, Len: int64(len(p))},
		{Name: "truncated", In: p[:len(p)-300], Want: plain, Err: ErrTruncated},
		{Name: "bad descriptor checksum", In: func() []byte { b := append([]byte(nil), p...); b[6]++; return b }(), NoIdent: true},
		{Name: "legacy block past end", In: []byte{0x02, 0x21, 0x4c, 0x18, 0xff, 0xff, 0, 0, 1, 2, 3}, NoIdent: true},
		{Name: "legacy corrupt block", In: []byte{0x02, 0x21, 0x4c, 0x18, 4, 0, 0, 0, 0xff, 0xff, 0xff, 0xff}, Want: plain, Err: ErrTruncated},
	})
}

func FuzzExtract(f *testing.F) {
	fwtest.FuzzExtract(f, New, fwtest.Fixtures(f, "plain.lz4", "checks.lz4", "multi.lz4", "legacy.lz4", "empty.lz4")...)
}
