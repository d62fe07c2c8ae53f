package unpack

import (
	"bytes"
	"context"
	"io"
	"math"
	"sort"
	"sync"

	"github.com/netvet/netvet/internal/firmware"
)

// candidate is a position where a format's signature matched.
type candidate struct {
	start int64
	rank  int // registry order: earlier formats win at equal offsets
	f     firmware.Format
}

type sigEntry struct {
	magic  []byte
	offset int64
	rank   int
	f      firmware.Format
}

// scanner finds every signature of every format at any offset in a blob.
// A 64 Ki-entry table keyed by the first two magic bytes rejects almost
// every position with one load; survivors are compared in full.
type scanner struct {
	hit    [1 << 16 / 64]uint64 // bit k set: some magic starts with the two bytes k
	table  [1 << 16][]sigEntry
	maxLen int
}

func newScanner(formats []firmware.Format) *scanner {
	s := &scanner{}
	for rank, f := range formats {
		for _, sig := range f.Info().Signatures {
			if len(sig.Magic) < 2 {
				continue
			}
			k := uint16(sig.Magic[0])<<8 | uint16(sig.Magic[1])
			s.table[k] = append(s.table[k], sigEntry{magic: sig.Magic, offset: sig.Offset, rank: rank, f: f})
			s.hit[k/64] |= 1 << (k % 64)
			if l := len(sig.Magic); l > s.maxLen {
				s.maxLen = l
			}
		}
	}
	return s
}

// scanWindow is how many bytes one call of window examines.
const scanWindow = 1 << 20

// window returns the candidates whose magic lies in [pos, pos+scanWindow)
// of r, sorted by start and rank, and the end of the window. Scanning a
// blob window by window lets the driver skip the inside of every chunk it
// extracted instead of searching it.
func (s *scanner) window(ctx context.Context, r io.ReaderAt, size, pos int64, buf []byte) ([]candidate, int64, error) {
	if err := ctx.Err(); err != nil {
		return nil, pos, err
	}
	overlap := max(s.maxLen-1, 1)
	n := int64(scanWindow + overlap)
	if rem := size - pos; rem < n {
		n = rem
	}
	m, rerr := r.ReadAt(buf[:n], pos)
	if m < int(n) && rerr != nil && rerr != io.EOF {
		return nil, pos, rerr
	}
	b := buf[:m]
	// Positions past the window belong to the next one; the overlap only
	// completes magics that start inside it.
	ss := streamScan{s: s, max: math.MaxInt}
	ss.scanBuf(b, pos, min(len(b), scanWindow))
	return ss.finish(), min(pos+scanWindow, size), nil
}

var regionBufPool = sync.Pool{New: func() any { b := make([]byte, 256<<10); return &b }}

// regionInfo measures a byte range: Shannon entropy in bits per byte and
// whether it is one repeated byte (padding such as 0x00 or 0xFF).
func regionInfo(ctx context.Context, r io.ReaderAt, off, n int64) (entropy float64, padding bool, err error) {
	var counts [256]int64
	bp := regionBufPool.Get().(*[]byte)
	defer regionBufPool.Put(bp)
	buf := *bp
	var total int64
	for total < n {
		if err := ctx.Err(); err != nil {
			return 0, false, err
		}
		want := int64(len(buf))
		if rem := n - total; rem < want {
			want = rem
		}
		m, rerr := r.ReadAt(buf[:want], off+total)
		for _, c := range buf[:m] {
			counts[c]++
		}
		total += int64(m)
		if m == 0 || (rerr != nil && rerr != io.EOF) {
			break
		}
		if rerr == io.EOF {
			break
		}
	}
	if total == 0 {
		return 0, false, nil
	}
	distinct := 0
	for _, c := range counts {
		if c == 0 {
			continue
		}
		distinct++
		p := float64(c) / float64(total)
		entropy -= p * math.Log2(p)
	}
	entropy = math.Round(entropy*1000) / 1000
	if entropy == 0 {
		entropy = 0 // no negative zero in JSON
	}
	return entropy, distinct == 1 && (counts[0] > 0 || counts[0xff] > 0), nil
}

// streamScan finds signatures in a file while the sink writes it, so a
// file in which nothing is found need not be opened and read again.
type streamScan struct {
	s         *scanner
	base      int64 // offset of the next byte fed
	carry     []byte
	cands     []candidate
	max       int
	truncated bool
	hist      *[256]int64 // byte counts, when the file is a blob whose entropy is wanted
}

func (s *scanner) stream(max int, histogram bool) *streamScan {
	ss := &streamScan{s: s, max: max, carry: make([]byte, 0, 2*s.maxLen+2)}
	if histogram {
		ss.hist = new([256]int64)
	}
	return ss
}

// feed scans p, the bytes at ss.base.
func (ss *streamScan) feed(p []byte) {
	if len(p) == 0 {
		return
	}
	if ss.hist != nil {
		h := ss.hist
		for _, c := range p {
			h[c]++
		}
	}
	keep := max(ss.s.maxLen-1, 1)
	if len(ss.carry) > 0 {
		// Magics that straddle the previous feed and this one.
		joint := append(ss.carry, p[:min(len(p), keep)]...)
		ss.scanBuf(joint, ss.base-int64(len(ss.carry)), len(ss.carry))
	}
	ss.scanBuf(p, ss.base, len(p))
	ss.base += int64(len(p))
	if len(p) >= keep {
		ss.carry = append(ss.carry[:0], p[len(p)-keep:]...)
	} else {
		ss.carry = append(ss.carry, p...)
		if len(ss.carry) > keep {
			ss.carry = append(ss.carry[:0], ss.carry[len(ss.carry)-keep:]...)
		}
	}
}

// scanBuf records candidates at positions [0, limit) of b whose whole
// magic lies in b.
func (ss *streamScan) scanBuf(b []byte, base int64, limit int) {
	s := ss.s
	hit := &s.hit
	limit = min(limit, len(b)-1)
	for i := 0; i < limit; i++ {
		k := uint16(b[i])<<8 | uint16(b[i+1])
		if hit[k>>6]&(1<<(k&63)) == 0 {
			continue
		}
		for _, e := range s.table[k] {
			if i+len(e.magic) <= len(b) && bytes.Equal(b[i:i+len(e.magic)], e.magic) {
				start := base + int64(i) - e.offset
				if start < 0 {
					continue
				}
				if len(ss.cands) >= ss.max {
					ss.truncated = true
					return
				}
				ss.cands = append(ss.cands, candidate{start: start, rank: e.rank, f: e.f})
			}
		}
	}
}

// finish returns the candidates sorted by start and rank, without duplicates.
func (ss *streamScan) finish() []candidate {
	c := ss.cands
	sort.Slice(c, func(i, j int) bool {
		if c[i].start != c[j].start {
			return c[i].start < c[j].start
		}
		return c[i].rank < c[j].rank
	})
	out := c[:0]
	for i, x := range c {
		if i > 0 && x.start == c[i-1].start && x.rank == c[i-1].rank {
			continue
		}
		out = append(out, x)
	}
	return out
}

// entropyOf returns the Shannon entropy (bits per byte) of a histogram and
// whether it is one repeated 0x00 or 0xFF byte.
func entropyOf(counts *[256]int64) (entropy float64, padding bool) {
	var total int64
	for _, c := range counts {
		total += c
	}
	if total == 0 {
		return 0, false
	}
	distinct := 0
	for _, c := range counts {
		if c == 0 {
			continue
		}
		distinct++
		p := float64(c) / float64(total)
		entropy -= p * math.Log2(p)
	}
	entropy = math.Round(entropy*1000) / 1000
	if entropy == 0 {
		entropy = 0 // no negative zero in JSON
	}
	return entropy, distinct == 1 && (counts[0] > 0 || counts[0xff] > 0)
}
