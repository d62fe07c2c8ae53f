package zstd

import (
	"testing"

	"github.com/netvet/netvet/internal/firmware/fwtest"
)

func TestExtract(t *testing.T) {
	plain := fwtest.Fixture(t, "plain.txt")
	p := fwtest.Fixture(t, "plain.zst")
	fwtest.RunStreamCases(t, New, 1<<24, []fwtest.StreamCase{
		{Name: "level 19 with checksum", In: p, Want: plain},
		{Name: "no checksum", In: fwtest.Fixture(t, "nocheck.zst"), Want: plain},
		{Name: "two frames and a skippable frame", In: fwtest.Fixture(t, "multi.zst"), Want: plain},
		{Name: "leading skippable frame", In: fwtest.Fixture(t, "skipfirst.zst"), Want: plain},
		{Name: "empty", In: fwtest.Fixture(t, "empty.zst"), Want: []byte{}},
		{Name: "trailing data", In: append(append([]byte(nil), p...), "\x00\x00junk"...), Want: plain, Len: int64(len(p))},
		{Name: "truncated", In: p[:len(p)-300], Want: plain, Err: ErrTruncated},
		{Name: "bad checksum", In: func() []byte { b := append([]byte(nil), p...); b[len(b)-1]++; return b }(), Want: plain, Err: ErrTruncated},
		{Name: "skippable only", In: []byte("\x50\x2a\x4d\x18\x04\x00\x00\x00abcd"), NoIdent: true},
		{Name: "reserved bit", In: func() []byte { b := append([]byte(nil), p...); b[4] |= 8; return b }(), NoIdent: true},
		{Name: "block size past end", In: []byte("\x28\xb5\x2f\xfd\x20\x05\x04\xff\x00"), Want: plain, Err: ErrTruncated},
	})
}

func FuzzExtract(f *testing.F) {
	fwtest.FuzzExtract(f, New, fwtest.Fixtures(f, "plain.zst", "nocheck.zst", "multi.zst", "skipfirst.zst", "empty.zst")...)
}
