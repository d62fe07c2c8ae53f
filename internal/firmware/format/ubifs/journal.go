package ubifs

import (
	"encoding/binary"
	"errors"
	"io"
	"sort"
)

// maxJournalNodes caps the nodes taken from the journal.
const maxJournalNodes = 1 << 18

// lookup states of the journal overlay.
const (
	jMiss = iota // the journal says nothing: ask the index
	jHit         // the journal has the newest node
	jDel         // the journal deleted the key
)

// jent is one node the journal holds for a key.
type jent struct {
	b    branch
	name string // directory entries only
}

// journal is what replaying the buds adds on top of the index. A nil
// journal is empty.
type journal struct {
	keys     map[uint32]map[uint32][]jent // inum -> low key word -> nodes
	hideAll  map[uint32]bool              // inode deleted: hide its index keys
	trunc    map[uint32]uint32            // index data blocks >= this are gone
	hideDent map[uint64]map[string]bool   // index entries replaced or removed
}

func (j *journal) get(key uint64) (branch, int) {
	if j == nil {
		return branch{}, jMiss
	}
	inum := keyInum(key)
	if es := j.keys[inum][uint32(key)]; len(es) > 0 {
		return es[len(es)-1].b, jHit
	}
	if j.hideAll[inum] {
		return branch{}, jDel
	}
	if t, ok := j.trunc[inum]; ok && keyType(key) == keyData && keyVal(key) >= t {
		return branch{}, jDel
	}
	return branch{}, jMiss
}

// hidesDent reports whether an index directory entry is superseded.
func (j *journal) hidesDent(d dent) bool {
	if j == nil {
		return false
	}
	return j.hideAll[keyInum(d.key)] || j.hideDent[d.key][d.name]
}

// dents calls add for the journal's directory entries of inum.
func (j *journal) dents(inum uint32, add func(branch, bool) error) error {
	if j == nil {
		return nil
	}
	m := j.keys[inum]
	lows := make([]uint32, 0, len(m))
	for low := range m {
		if low>>29 == keyDent {
			lows = append(lows, low)
		}
	}
	sort.Slice(lows, func(a, b int) bool { return lows[a] < lows[b] })
	for _, low := range lows {
		for _, e := range m[low] {
			if err := add(e.b, false); err != nil {
				return err
			}
		}
	}
	return nil
}

// jnode is one node found in a bud.
type jnode struct {
	typ   uint8
	sqnum uint64
	b     branch
	// for inode nodes: nlink; for entries: target inum and name; for
	// truncation nodes: inum and new size
	nlink   uint32
	target  uint64
	name    string
	inum    uint32
	newSize uint64
}

// forNodes calls fn for each valid node in LEB lnum from offs on, stopping
// at the first byte that is neither a node nor padding.
func (r *reader) forNodes(lnum, offs int64, fn func(off int64, b []byte) bool) {
	start := r.pos(lnum, 0)
	if lnum < 0 || lnum >= r.sb.lebCnt || start >= r.size || offs < 0 || offs >= r.sb.lebSize {
		return
	}
	n := r.sb.lebSize
	if start+n > r.size {
		n = r.size - start
	}
	buf := make([]byte, n)
	if m, err := r.src.ReadAt(buf, start); err != nil && !errors.Is(err, io.EOF) {
		return
	} else {
		buf = buf[:m]
	}
	off := offs
	for off+chSize <= int64(len(buf)) {
		if r.ctx.Err() != nil {
			return
		}
		if binary.LittleEndian.Uint32(buf[off:]) != nodeMagic {
			if buf[off] == 0xCE { // padding bytes
				off = align8(off + 1)
				continue
			}
			return
		}
		l := int64(binary.LittleEndian.Uint32(buf[off+16:]))
		if l < chSize || off+l > int64(len(buf)) {
			return
		}
		b := buf[off : off+l]
		typ, _, ok := checkNode(b)
		if !ok {
			return
		}
		if typ == typePad && l >= padNodeSize {
			off = align8(off + l + int64(binary.LittleEndian.Uint32(b[24:28])))
			continue
		}
		if !fn(off, b) {
			return
		}
		off = align8(off + l)
	}
}

// replay reads the log of the last commit and the buds it names, and
// builds the overlay of what was written after that commit.
func (r *reader) replay() *journal {
	lnum := r.mst.logLnum
	if lnum < logLEB || lnum >= logLEB+r.sb.logLEBs {
		return nil
	}
	type ref struct{ lnum, offs int64 }
	var refs []ref
	budSeen := map[int64]bool{} // a bud LEB is scanned once
	var csSq uint64
	first, stop := true, false
	for i := int64(0); i < r.sb.logLEBs && !stop; i++ {
		seen := false
		r.forNodes(lnum, 0, func(_ int64, b []byte) bool {
			seen = true
			typ, sq, _ := checkNode(b)
			if first {
				if typ != typeCS || len(b) < 32 || binary.LittleEndian.Uint64(b[24:32]) != r.mst.cmtNo {
					stop = true
					return false
				}
				csSq, first = sq, false
				return true
			}
			if sq < csSq || typ == typeCS {
				stop = true
				return false
			}
			if typ == typeRef && len(b) >= 36 {
				rf := ref{int64(binary.LittleEndian.Uint32(b[24:28])), int64(binary.LittleEndian.Uint32(b[28:32]))}
				if rf.lnum < r.sb.lebCnt && !budSeen[rf.lnum] {
					budSeen[rf.lnum] = true
					refs = append(refs, rf)
				}
			}
			return true
		})
		if !seen || first {
			break
		}
		lnum++
		if lnum >= logLEB+r.sb.logLEBs {
			lnum = logLEB
		}
	}
	if len(refs) == 0 {
		return nil
	}
	var nodes []jnode
	for _, rf := range refs {
		if rf.lnum < logLEB+r.sb.logLEBs {
			continue // a bud never lives in the fixed LEBs or the log
		}
		r.forNodes(rf.lnum, rf.offs, func(off int64, b []byte) bool {
			if len(nodes) >= maxJournalNodes {
				return false
			}
			typ, sq, _ := checkNode(b)
			n := jnode{typ: typ, sqnum: sq, b: branch{lnum: rf.lnum, offs: off, n: int64(len(b))}}
			switch typ {
			case typeIno:
				if len(b) < inoNodeSize {
					return true
				}
				n.b.key = readKey(b[24:32])
				n.nlink = binary.LittleEndian.Uint32(b[92:96])
			case typeData:
				if len(b) < dataNodeSize {
					return true
				}
				n.b.key = readKey(b[24:32])
			case typeDent:
				d, err := parseDent(b)
				if err != nil {
					return true
				}
				n.b.key, n.target, n.name = d.key, d.inum, d.name
			case typeTrun:
				if len(b) < trunNodeSize {
					return true
				}
				n.inum = binary.LittleEndian.Uint32(b[24:28])
				n.newSize = binary.LittleEndian.Uint64(b[48:56])
			default:
				return true
			}
			nodes = append(nodes, n)
			return true
		})
	}
	if len(nodes) == 0 {
		return nil
	}
	sort.SliceStable(nodes, func(a, b int) bool { return nodes[a].sqnum < nodes[b].sqnum })
	j := &journal{
		keys:     map[uint32]map[uint32][]jent{},
		hideAll:  map[uint32]bool{},
		trunc:    map[uint32]uint32{},
		hideDent: map[uint64]map[string]bool{},
	}
	slot := func(inum uint32) map[uint32][]jent {
		m := j.keys[inum]
		if m == nil {
			m = map[uint32][]jent{}
			j.keys[inum] = m
		}
		return m
	}
	for _, n := range nodes {
		k := n.b.key
		inum := keyInum(k)
		switch n.typ {
		case typeIno:
			if keyType(k) != keyIno {
				continue
			}
			if n.nlink == 0 {
				delete(j.keys, inum)
				delete(j.trunc, inum)
				j.hideAll[inum] = true
				continue
			}
			slot(inum)[uint32(k)] = []jent{{b: n.b}}
		case typeData:
			if keyType(k) != keyData {
				continue
			}
			slot(inum)[uint32(k)] = []jent{{b: n.b}}
		case typeDent:
			if keyType(k) != keyDent {
				continue
			}
			m := slot(inum)
			es := m[uint32(k)]
			kept := es[:0]
			for _, e := range es {
				if e.name != n.name {
					kept = append(kept, e)
				}
			}
			if n.target != 0 {
				kept = append(kept, jent{b: n.b, name: n.name})
			}
			m[uint32(k)] = kept
			if j.hideDent[k] == nil {
				j.hideDent[k] = map[string]bool{}
			}
			j.hideDent[k][n.name] = true
		case typeTrun:
			blk := uint64((n.newSize + blockSize - 1) / blockSize)
			if blk > maxBlocks {
				continue
			}
			first := uint32(blk)
			if m := j.keys[n.inum]; m != nil {
				for low := range m {
					if low>>29 == keyData && low&0x1FFFFFFF >= first {
						delete(m, low)
					}
				}
			}
			if t, ok := j.trunc[n.inum]; !ok || first < t {
				j.trunc[n.inum] = first
			}
		}
	}
	return j
}
