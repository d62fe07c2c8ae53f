package squashfs

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/netvet/netvet/internal/firmware/fwtest"
)

// TestDuplicateBlocks reads an image whose identical files share their data
// blocks and fragment tails (testdata/make.sh).
func TestDuplicateBlocks(t *testing.T) {
	b := readFixture(t, "v4-le-xz-dups")
	s, _, err := fwtest.Run(context.Background(), New(), b, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range s.Failed {
		t.Errorf("failed %q: %v", f.Path, f.Err)
	}
	var numbers strings.Builder
	for i := 1; i <= 4000; i++ {
		fmt.Fprintf(&numbers, "%d\n", i)
	}
	want := map[string]string{}
	for _, p := range []string{"a/numbers", "b/numbers", "b/numbers.2", "numbers.3"} {
		want[p] = numbers.String()
	}
	for i := 1; i <= 6; i++ {
		want[fmt.Sprintf("small%d", i)] = fmt.Sprintf("small file %d\n", i)
		want[fmt.Sprintf("b/same%d", i)] = "small file 1\n"
	}
	for p, w := range want {
		it, ok := s.Get(p)
		if !ok {
			t.Errorf("%s missing", p)
			continue
		}
		if string(it.Data) != w {
			t.Errorf("%s: %d bytes differ from the %d expected", p, len(it.Data), len(w))
		}
	}
}

func TestBlockCacheLRU(t *testing.T) {
	c := newBlockCache(3)
	for i := int64(0); i < 3; i++ {
		if _, fresh := c.acquire(blkKey{pos: i}, true, 1, 1); !fresh {
			t.Fatalf("fragment %d: not fresh", i)
		}
	}
	if _, fresh := c.acquire(blkKey{pos: 0}, true, 1, 1); fresh {
		t.Fatal("fragment 0 should be cached")
	}
	c.acquire(blkKey{pos: 3}, true, 1, 1) // evicts 1, the least recently used
	if _, fresh := c.acquire(blkKey{pos: 1}, true, 1, 1); !fresh {
		t.Fatal("fragment 1 should have been evicted")
	}
	if c.used > c.max || len(c.m) != c.ll.Len() {
		t.Fatalf("used %d of %d, %d map entries, %d list entries", c.used, c.max, len(c.m), c.ll.Len())
	}
}

// A file larger than the cache, named several times, keeps its first part
// cached instead of evicting every block before it is asked for again.
func TestBlockCacheRepeatedSequence(t *testing.T) {
	c := newBlockCache(4)
	const blocks = 6
	hits := 0
	for copyNo := 2; copyNo <= 5; copyNo++ {
		for i := int64(0); i < blocks; i++ {
			if _, fresh := c.acquire(blkKey{pos: i}, false, copyNo, 1); !fresh {
				hits++
			}
		}
	}
	if want := 3 * 4; hits != want {
		t.Fatalf("%d hits, want %d", hits, want)
	}
	// A fragment is always admitted.
	if _, fresh := c.acquire(blkKey{pos: 100}, true, 1, 1); !fresh {
		t.Fatal("fragment not fresh")
	}
	if _, fresh := c.acquire(blkKey{pos: 100}, true, 1, 1); fresh {
		t.Fatal("fragment not cached")
	}
	// Oversized entries are never admitted.
	if _, fresh := c.acquire(blkKey{pos: 200}, true, 1, 5); !fresh {
		t.Fatal("oversized not fresh")
	}
	if _, ok := c.m[blkKey{pos: 200}]; ok || c.used > c.max {
		t.Fatal("oversized entry admitted")
	}
}

// Data blocks met once are cached only into free room.
func TestBlockCacheFirstSighting(t *testing.T) {
	c := newBlockCache(2)
	for i := int64(0); i < 2; i++ {
		if e, fresh := c.acquire(blkKey{pos: i}, false, 1, 1); e == nil || !fresh {
			t.Fatalf("block %d not admitted into free room", i)
		}
	}
	if e, _ := c.acquire(blkKey{pos: 2}, false, 1, 1); e != nil {
		t.Fatal("block seen once evicted another")
	}
	if e, fresh := c.acquire(blkKey{pos: 0}, false, 2, 1); e == nil || fresh {
		t.Fatal("cached block missed")
	}
	// A duplicate evicts a block asked for less often.
	if e, fresh := c.acquire(blkKey{pos: 3}, false, 2, 1); e == nil || !fresh {
		t.Fatal("duplicate not fresh")
	}
	if _, ok := c.m[blkKey{pos: 1}]; ok {
		t.Fatal("block 1 should have been evicted")
	}
}
