package bzip2

import (
	"testing"

	"github.com/netvet/netvet/internal/firmware/fwtest"
)

func TestExtract(t *testing.T) {
	plain := fwtest.Fixture(t, "plain.txt")
	one := fwtest.Fixture(t, "plain.bz2")
	multi := fwtest.Fixture(t, "multi.bz2")
	fwtest.RunStreamCases(t, New, 1<<24, []fwtest.StreamCase{
		{Name: "single", In: one, Want: plain},
		{Name: "multi-stream", In: multi, Want: plain},
		{Name: "empty", In: fwtest.Fixture(t, "empty.bz2"), Want: []byte{}, Len: 14},
		{Name: "trailing data", In: append(append([]byte(nil), one...), "\xff\xff\xff\xffjunk"...), Want: plain, Len: int64(len(one))},
		{Name: "trailing zeros", In: append(append([]byte(nil), multi...), make([]byte, 100)...), Want: plain, Len: int64(len(multi))},
		{Name: "truncated", In: one[:len(one)/2], Want: plain, Err: fwtest.ErrAny, Partial: fwtest.MustPut},
		{Name: "truncated second stream", In: multi[:len(multi)-200], Want: plain, Err: fwtest.ErrAny, Partial: fwtest.MustPut},
		{Name: "bad magic", In: []byte("BZh9AAAAAAAAAAAAAAAAAAAAAA"), NoIdent: true},
		{Name: "bad level", In: append([]byte("BZh0"), one[4:]...), NoIdent: true},
	})
}

func FuzzExtract(f *testing.F) {
	fwtest.FuzzExtract(f, New, fwtest.Fixtures(f, "plain.bz2", "multi.bz2", "empty.bz2")...)
}
