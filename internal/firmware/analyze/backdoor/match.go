package backdoor

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// A pattern is a byte string in which some positions may be wildcards.
// The automaton searches for its anchor, the longest run of literal
// bytes; a candidate is confirmed by comparing the whole pattern.
type pattern struct {
	b    []byte
	wild []bool // nil when every byte is literal
	// anchor is the literal run the automaton looks for.
	anchorOff, anchorLen int
}

func literal(s string) pattern {
	return pattern{b: []byte(s), anchorLen: len(s)}
}

// parseHex reads "48 8d ?? 89": two hex digits per byte, "??" for any
// byte, separated by spaces.
func parseHex(s string) (pattern, error) {
	var p pattern
	for _, f := range strings.Fields(s) {
		if f == "??" {
			p.b = append(p.b, 0)
			p.wild = append(p.wild, true)
			continue
		}
		v, err := strconv.ParseUint(f, 16, 8)
		if err != nil || len(f) != 2 {
			return pattern{}, fmt.Errorf("pattern %q: bad byte %q", s, f)
		}
		p.b = append(p.b, byte(v))
		p.wild = append(p.wild, false)
	}
	if len(p.b) == 0 {
		return pattern{}, errors.New("empty pattern")
	}
	// The anchor is the longest run of literal bytes.
	best, bestLen := 0, 0
	for i := 0; i < len(p.b); {
		if p.wild[i] {
			i++
			continue
		}
		j := i
		for j < len(p.b) && !p.wild[j] {
			j++
		}
		if j-i > bestLen {
			best, bestLen = i, j-i
		}
		i = j
	}
	if bestLen == 0 {
		return pattern{}, fmt.Errorf("pattern %q: no literal byte", s)
	}
	p.anchorOff, p.anchorLen = best, bestLen
	allLiteral := true
	for _, w := range p.wild {
		allLiteral = allLiteral && !w
	}
	if allLiteral {
		p.wild = nil
	}
	return p, nil
}

func (p pattern) anchor() []byte { return p.b[p.anchorOff : p.anchorOff+p.anchorLen] }

// exact reports whether finding the anchor is enough.
func (p pattern) exact() bool { return p.wild == nil }

// matchAt reports whether the whole pattern matches b (len(b) == len(p.b)).
func (p pattern) matchAt(b []byte) bool {
	if len(b) != len(p.b) {
		return false
	}
	if p.wild == nil {
		return bytes.Equal(b, p.b)
	}
	for i := range b {
		if !p.wild[i] && b[i] != p.b[i] {
			return false
		}
	}
	return true
}

// automaton is an Aho-Corasick machine compiled to a dense transition
// table: one table lookup per input byte, whatever the number of
// patterns. Its state carries across chunks, so a stream can be fed in
// pieces of any size with no overlap bookkeeping.
type automaton struct {
	// next[s<<8|c] is the state after reading c in state s.
	next []int32
	// out[s] lists the anchors (indices into lens) that end at state s;
	// hit[s] is len(out[s]) != 0, kept flat for the scanning loop.
	out  [][]int32
	hit  []bool
	lens []int
}

func newAutomaton(anchors [][]byte) *automaton {
	delta := make([][256]int32, 1)
	out := make([][]int32, 1)
	var lens []int
	// Trie.
	for id, pat := range anchors {
		s := int32(0)
		for _, c := range pat {
			if delta[s][c] == 0 {
				delta = append(delta, [256]int32{})
				out = append(out, nil)
				delta[s][c] = int32(len(delta) - 1)
			}
			s = delta[s][c]
		}
		out[s] = append(out[s], int32(id))
		lens = append(lens, len(pat))
	}
	// Failure links, breadth first, folded into the table.
	fail := make([]int32, len(delta))
	var queue []int32
	for c := 0; c < 256; c++ {
		if t := delta[0][c]; t != 0 {
			queue = append(queue, t)
		}
	}
	for len(queue) > 0 {
		s := queue[0]
		queue = queue[1:]
		out[s] = append(out[s], out[fail[s]]...)
		for c := 0; c < 256; c++ {
			t := delta[s][c]
			if t == 0 {
				delta[s][c] = delta[fail[s]][c]
				continue
			}
			fail[t] = delta[fail[s]][c]
			queue = append(queue, t)
		}
	}
	a := &automaton{next: make([]int32, len(delta)*256), out: out, hit: make([]bool, len(delta)), lens: lens}
	for s := range delta {
		copy(a.next[s*256:], delta[s][:])
		a.hit[s] = len(out[s]) != 0
	}
	return a
}

// feed runs the machine over p, which starts at stream offset base, from
// state s. It calls hit with the stream offset where each anchor
// occurrence starts and returns the new state.
func (a *automaton) feed(s int32, p []byte, base int64, hit func(id int, start int64)) int32 {
	next, accept := a.next, a.hit
	for i, c := range p {
		s = next[int(s)<<8|int(c)]
		if accept[s] {
			end := base + int64(i) + 1
			for _, id := range a.out[s] {
				hit(int(id), end-int64(a.lens[id]))
			}
		}
	}
	return s
}
