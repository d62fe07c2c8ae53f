// Package fwtest provides test helpers for format packages: an in-memory
// sink with a byte budget, and a harness that runs a format over bytes.
package fwtest

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"sort"
	"sync"

	"github.com/netvet/netvet/internal/firmware"
)

// Item is one entry recorded by MemSink.
type Item struct {
	firmware.Entry
	Data []byte // content of a file (nil for other types)
	Err  error  // set when recorded through Fail
}

// MemSink is an in-memory firmware.Sink for tests and fuzzing. It stops
// with a limit error once more than Budget content bytes or MaxEntries
// entries have been put, so a fuzzer cannot make it exhaust memory.
type MemSink struct {
	Budget     int64
	MaxEntries int

	mu     sync.Mutex
	used   int64
	Items  []Item
	ByPath map[string]*Item
	Failed []Item
}

// NewMemSink returns a sink that holds at most budget content bytes.
func NewMemSink(budget int64) *MemSink {
	return &MemSink{Budget: budget, MaxEntries: 100000, ByPath: map[string]*Item{}}
}

// Put implements firmware.Sink.
func (s *MemSink) Put(ctx context.Context, e firmware.Entry, r io.Reader) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.Items) >= s.MaxEntries {
		return &firmware.LimitError{Limit: "max-files", Value: int64(s.MaxEntries), Msg: "fwtest: too many entries"}
	}
	it := Item{Entry: e}
	if e.Type == firmware.TypeFile && r != nil {
		var buf bytes.Buffer
		n, err := io.Copy(&buf, io.LimitReader(r, s.Budget-s.used+1))
		s.used += n
		if s.used > s.Budget {
			return &firmware.LimitError{Limit: "max-total-bytes", Value: s.Budget, Msg: "fwtest: byte budget exceeded"}
		}
		if err != nil {
			it.Err = err
			s.Failed = append(s.Failed, it)
			return nil
		}
		it.Data = buf.Bytes()
	} else if e.Type == firmware.TypeFile {
		it.Data = []byte{}
	}
	s.Items = append(s.Items, it)
	s.ByPath[e.Path] = &s.Items[len(s.Items)-1]
	return nil
}

// Fail implements firmware.Sink.
func (s *MemSink) Fail(e firmware.Entry, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.Failed = append(s.Failed, Item{Entry: e, Err: err})
}

// Get returns the item put at path (re-indexing, since appends move items).
func (s *MemSink) Get(path string) (Item, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := len(s.Items) - 1; i >= 0; i-- {
		if s.Items[i].Path == path {
			return s.Items[i], true
		}
	}
	return Item{}, false
}

// Paths returns the sorted paths of all items put.
func (s *MemSink) Paths() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]string, 0, len(s.Items))
	for _, it := range s.Items {
		out = append(out, it.Path)
	}
	sort.Strings(out)
	return out
}

// Run identifies and extracts b with f into a new MemSink of the given budget.
func Run(ctx context.Context, f firmware.Format, b []byte, budget int64) (*MemSink, int64, error) {
	s := NewMemSink(budget)
	src := bytes.NewReader(b)
	if !f.Identify(src, int64(len(b))) {
		return s, 0, fmt.Errorf("%s: not identified", f.Info().Name)
	}
	n, err := f.Extract(ctx, src, int64(len(b)), s)
	return s, n, err
}

// Fuzz is the body of a format fuzz target: identify, and if identified,
// extract into a bounded in-memory sink. It must never panic or hang.
func Fuzz(ctx context.Context, f firmware.Format, b []byte) {
	src := bytes.NewReader(b)
	if f.Identify(src, int64(len(b))) {
		s := NewMemSink(4 << 20)
		s.MaxEntries = 10000
		n, _ := f.Extract(ctx, src, int64(len(b)), s)
		if n < 0 || n > int64(len(b)) {
			panic(fmt.Sprintf("%s: Extract returned length %d outside [0,%d]", f.Info().Name, n, len(b)))
		}
	}
}
