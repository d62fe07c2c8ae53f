package fwtest

import (
	"bytes"
	"errors"
	"testing"

	"github.com/netvet/netvet/internal/firmware"
)

// ErrAny, as StreamCase.Err, accepts any non-nil error.
var ErrAny = errors.New("any error")

// Partial says what a failing compression stream must have put.
type Partial int

const (
	// MayPut: nothing, or one file holding a prefix of Want.
	MayPut Partial = iota
	// MustPut: one file holding a prefix of Want, maybe empty.
	MustPut
	// MustPutSome: one file holding a non-empty prefix of Want.
	MustPutSome
	// MustPutAll: one file holding all of Want (the error is found
	// after the data, as with a bad trailing checksum).
	MustPutAll
)

// StreamCase is one table case for a compression format, which puts a
// single file.
type StreamCase struct {
	Name string
	In   []byte
	// NoIdent: Identify must reject In; nothing else is checked.
	NoIdent bool
	// Want is the content of the file put; Path its name.
	Want []byte
	Path string
	// Len is the length Extract returns; 0 means len(In). It is checked
	// only when Err is nil.
	Len int64
	// Err is the error Extract must return (errors.Is, or ErrAny); nil
	// when it must succeed. Partial then says what must have been put.
	Err     error
	Partial Partial
}

// RunStreamCases runs each case with newFormat into a MemSink of the
// given budget.
func RunStreamCases(t *testing.T, newFormat func() firmware.Format, budget int64, cases []StreamCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.Name, func(t *testing.T) {
			if tc.NoIdent {
				if newFormat().Identify(bytes.NewReader(tc.In), int64(len(tc.In))) {
					t.Fatal("identified, want rejection")
				}
				return
			}
			s, n, err := Run(t.Context(), newFormat(), tc.In, budget)
			if n < 0 || n > int64(len(tc.In)) {
				t.Fatalf("length %d out of range [0,%d]", n, len(tc.In))
			}
			if tc.Err == nil {
				if err != nil {
					t.Fatal(err)
				}
				checkStreamItem(t, s, tc, true)
				want := tc.Len
				if want == 0 {
					want = int64(len(tc.In))
				}
				if n != want {
					t.Errorf("length %d, want %d", n, want)
				}
				return
			}
			if err == nil || (tc.Err != ErrAny && !errors.Is(err, tc.Err)) {
				t.Fatalf("err = %v, want %v", err, tc.Err)
			}
			if tc.Partial == MayPut && len(s.Items) == 0 {
				return
			}
			checkStreamItem(t, s, tc, tc.Partial == MustPutAll)
		})
	}
}

// checkStreamItem checks that s holds one file at tc.Path with content
// tc.Want (all of it, or a prefix allowed by tc.Partial).
func checkStreamItem(t *testing.T, s *MemSink, tc StreamCase, whole bool) {
	t.Helper()
	if len(s.Items) != 1 {
		t.Fatalf("got %d items %q, want 1 (failed %v)", len(s.Items), s.Paths(), s.Failed)
	}
	it := s.Items[0]
	if it.Type != firmware.TypeFile || it.Path != tc.Path {
		t.Errorf("item %v %q, want file %q", it.Type, it.Path, tc.Path)
	}
	switch {
	case whole:
		if !bytes.Equal(it.Data, tc.Want) {
			t.Errorf("content: %d bytes, want %d", len(it.Data), len(tc.Want))
		}
	case !bytes.HasPrefix(tc.Want, it.Data):
		t.Errorf("partial content (%d bytes) is not a prefix of the original", len(it.Data))
	case tc.Partial == MustPutSome && len(it.Data) == 0:
		t.Errorf("partial content is empty")
	}
}
