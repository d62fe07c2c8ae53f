package equiv

import (
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/netvet/netvet/internal/firmware"
	"github.com/netvet/netvet/internal/unpack"
)

// Objects are matched across the two images by a key: the path from the
// image down to the object, where the names of carved chunks and regions
// ("0x40000.squashfs") lose their offset ("0x*.squashfs", numbered when a
// container holds several of one format), since a kernel that grew by a
// few bytes moves everything after it. A file system or archive of B is
// then paired with the one of A that shares the most paths, and its
// objects take A's keys: inside a file system, files match by their path.

var reCarved = regexp.MustCompile(`^0x[0-9a-fA-F]+\.(.+)$`)

// childSegments returns the key segment of each child.
func childSegments(kids []*node) []string {
	segs := make([]string, len(kids))
	groups := map[string][]int{}
	for i, k := range kids {
		seg := k.name
		if k.m.Type == unpack.TypeChunk || k.m.Type == unpack.TypeRegion {
			if m := reCarved.FindStringSubmatch(k.name); m != nil {
				seg = "0x*." + m[1]
			}
		}
		segs[i] = seg
		groups[seg] = append(groups[seg], i)
	}
	for seg, idx := range groups {
		if len(idx) < 2 {
			continue
		}
		sort.SliceStable(idx, func(x, y int) bool {
			a, b := kids[idx[x]].m, kids[idx[y]].m
			if a.Offset != b.Offset {
				return a.Offset < b.Offset
			}
			return a.Path < b.Path
		})
		carved := strings.HasPrefix(seg, "0x*.")
		for n, i := range idx {
			// Carved chunks are numbered; a name an archive holds twice
			// keeps it for its first entry, the others are numbered.
			if carved || n > 0 {
				segs[i] = fmt.Sprintf("%s#%d", seg, n+1)
			}
		}
	}
	return segs
}

// computeKeys sets every node's key. override gives some nodes (paired
// roots of B) the key of their counterpart in A; those keys are reserved
// so that no other node takes them. When the key is already taken by an
// ancestor (a file system that is the image itself in A, and inside the
// image in B), the root keeps its own key and only its objects take A's
// keys.
func computeKeys(s *Side, override, kidsOnly map[*node]string) map[string]*node {
	out := make(map[string]*node, len(s.nodes))
	reserved := map[string]bool{}
	for _, k := range override {
		reserved[k] = true
	}
	// walk keys n and gives its children keys under base.
	var walk func(n *node, key string, base *string, overridden bool)
	walk = func(n *node, key string, base *string, overridden bool) {
		for out[key] != nil || (!overridden && reserved[key]) {
			key += "^"
		}
		n.key = key
		out[key] = n
		kidBase := key
		if base != nil {
			kidBase = *base
		}
		segs := childSegments(n.kids)
		if n.kind == firmware.KindCompression && len(n.kids) == 1 {
			// The one output of a compressed stream is named from its
			// header (gzip FNAME) or the stream's name: match it whatever
			// the name.
			segs[0] = "(decompressed)"
		}
		order := make([]int, len(n.kids))
		for i := range order {
			order[i] = i
		}
		// Overridden children first, so that they get their keys.
		sort.SliceStable(order, func(x, y int) bool {
			_, ox := override[n.kids[order[x]]]
			_, oy := override[n.kids[order[y]]]
			return ox && !oy
		})
		for _, i := range order {
			k := n.kids[i]
			o, ok := override[k]
			ko, kok := kidsOnly[k]
			switch {
			case ok && out[o] == nil:
				walk(k, o, nil, true)
			case ok:
				walk(k, kidBase+"/"+segs[i], &o, false)
			case kok:
				walk(k, kidBase+"/"+segs[i], &ko, false)
			default:
				walk(k, kidBase+"/"+segs[i], nil, false)
			}
		}
	}
	walk(s.top, "", nil, false)
	return out
}

// maxOverlapWork bounds the path lookups spent scoring root pairs.
const maxOverlapWork = 20_000_000

// pairRoots matches the file systems and archives of B to those of A and
// returns the key overrides for B and the pairs for the report. Pairs are
// chosen greedily by score: the share of paths they have in common, plus
// a bonus for the same place in the image and for the same format.
func pairRoots(a, b *Side) (override, kidsOnly map[*node]string, pairs []RootPair) {
	var ra, rb []*node
	for _, n := range a.nodes {
		if n.fsRoot != nil {
			ra = append(ra, n)
		}
	}
	for _, n := range b.nodes {
		if n.fsRoot != nil {
			rb = append(rb, n)
		}
	}
	type cand struct {
		i, j    int
		overlap float64
		score   float64
		how     string
	}
	var cands []cand
	work := 0
	for i, x := range ra {
		for j, y := range rb {
			sameKey := x.key == y.key
			sameFormat := x.m.Format == y.m.Format
			ov := 0.0
			small, large := x.fsRoot, y.fsRoot
			if len(small.Files()) > len(large.Files()) {
				small, large = large, small
			}
			if work+len(small.Files()) <= maxOverlapWork {
				work += len(small.Files())
				common := 0
				for _, f := range small.Files() {
					if large.Get(f.FSPath) != nil {
						common++
					}
				}
				if n := max(len(x.fsRoot.Files()), len(y.fsRoot.Files())); n > 0 {
					ov = float64(common) / float64(n)
				}
			}
			score := ov
			if sameKey {
				score += 0.5
			}
			if sameFormat {
				score += 0.25
			}
			ok := (sameKey && sameFormat) || ov >= 0.3
			if !ok {
				continue
			}
			how := "overlap"
			if sameKey {
				how = "path"
			}
			cands = append(cands, cand{i, j, ov, score, how})
		}
	}
	sort.SliceStable(cands, func(x, y int) bool {
		if cands[x].score != cands[y].score {
			return cands[x].score > cands[y].score
		}
		if cands[x].i != cands[y].i {
			return cands[x].i < cands[y].i
		}
		return cands[x].j < cands[y].j
	})
	usedA, usedB := map[int]bool{}, map[int]bool{}
	override, kidsOnly = map[*node]string{}, map[*node]string{}
	for _, c := range cands {
		if usedA[c.i] || usedB[c.j] {
			continue
		}
		usedA[c.i], usedB[c.j] = true, true
		x, y := ra[c.i], rb[c.j]
		if x.key != y.key {
			held := false
			for p := y.parent; p != nil; p = p.parent {
				held = held || p.key == x.key
			}
			if held {
				kidsOnly[y] = x.key
			} else {
				override[y] = x.key
			}
		}
		pairs = append(pairs, RootPair{A: x.m.Path, B: y.m.Path, FormatA: x.m.Format, FormatB: y.m.Format, Overlap: round3(c.overlap), How: c.how})
	}
	for i, x := range ra {
		if !usedA[i] {
			pairs = append(pairs, RootPair{A: x.m.Path, FormatA: x.m.Format, How: "unmatched"})
		}
	}
	for j, y := range rb {
		if !usedB[j] {
			pairs = append(pairs, RootPair{B: y.m.Path, FormatB: y.m.Format, How: "unmatched"})
		}
	}
	sort.SliceStable(pairs, func(i, j int) bool {
		if pairs[i].A != pairs[j].A {
			return pairs[i].A < pairs[j].A
		}
		return pairs[i].B < pairs[j].B
	})
	return override, kidsOnly, pairs
}

func round3(f float64) float64 { return float64(int64(f*1000+0.5)) / 1000 }
