package egress

import (
	"bufio"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/netvet/netvet/internal/egress/baseline"
)

// History file limits.
const (
	HistoryFormat        = "netvet-egress-history"
	HistoryVersion       = 1
	MaxHistoryBytes      = 512 << 20
	MaxHistoryPairs      = DefaultMaxPairs
	MaxHistoryBaselines  = 100_000 // per kind, the detectors' element cap
	maxHistoryElementLen = 256
	maxHistoryLine       = 16 << 10
)

// HistoryPair is what earlier runs saw of one (element, destination) pair:
// when it was first and last seen, in flow time. Merging two histories takes
// the earliest first and the latest last, so replaying the same data twice
// leaves the history unchanged.
type HistoryPair struct {
	Element string     `json:"element"`
	Dst     netip.Addr `json:"dst"`
	First   time.Time  `json:"first_seen"`
	Last    time.Time  `json:"last_seen"`
}

// History carries what earlier runs of replay, report and watch learnt:
// first-seen pairs, so that "new destination", the beacon first-seen
// modifier and alerts' known_since refer to everything seen before, and
// the volume and DNS baselines, so that a restart does not begin their
// warm-up again.
type History struct {
	Updated time.Time     // latest flow time recorded
	Pairs   []HistoryPair // sorted by element, then destination
	Volume  []baseline.VolumeState
	DNS     []baseline.DNSState
}

// historyLine is one line after the header: a pair, or one element's
// volume or DNS baseline.
type historyLine struct {
	Element string                `json:"element,omitempty"`
	Dst     string                `json:"dst,omitempty"`
	First   time.Time             `json:"first_seen,omitzero"`
	Last    time.Time             `json:"last_seen,omitzero"`
	Volume  *baseline.VolumeState `json:"volume,omitempty"`
	DNS     *baseline.DNSState    `json:"dns,omitempty"`
}

type historyPairKey struct {
	el  string
	dst netip.Addr
}

type historyHeader struct {
	Format  string    `json:"format"`
	Version int       `json:"version"`
	Updated time.Time `json:"updated"`
}

// LoadHistory reads a history file; a missing file is an empty history.
func LoadHistory(path string) (*History, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return &History{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("history: %w", err)
	}
	defer f.Close()
	return ReadHistory(path, f)
}

// ReadHistory decodes a history: a header line then one JSON pair per
// line. name is used in messages ("name: line N: ...").
func ReadHistory(name string, r io.Reader) (*History, error) {
	lr := &io.LimitedReader{R: r, N: MaxHistoryBytes + 1}
	br := bufio.NewReaderSize(lr, 64<<10)
	line := 0
	next := func() ([]byte, error) {
		line++
		var buf []byte
		for {
			chunk, err := br.ReadSlice('\n')
			buf = append(buf, chunk...)
			if len(buf) > maxHistoryLine {
				return nil, fmt.Errorf("%s: line %d: longer than %d bytes", name, line, maxHistoryLine)
			}
			if err == bufio.ErrBufferFull {
				continue
			}
			if err == io.EOF && len(buf) > 0 {
				return buf, nil
			}
			return buf, err
		}
	}
	raw, err := next()
	if err != nil {
		if err == io.EOF {
			return nil, fmt.Errorf("%s: empty history file", name)
		}
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	var hdr historyHeader
	if err := json.Unmarshal(raw, &hdr); err != nil || hdr.Format != HistoryFormat {
		return nil, fmt.Errorf("%s: line 1: not a netvet egress history (want {\"format\":%q,...})", name, HistoryFormat)
	}
	if hdr.Version != HistoryVersion {
		return nil, fmt.Errorf("%s: line 1: history version %d; this netvet reads version %d", name, hdr.Version, HistoryVersion)
	}
	h := &History{Updated: hdr.Updated.UTC()}
	seen := map[historyPairKey]bool{}
	seenVol, seenDNS := map[string]bool{}, map[string]bool{}
	for {
		raw, err := next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		if lr.N <= 0 {
			return nil, fmt.Errorf("%s: larger than %d bytes", name, MaxHistoryBytes)
		}
		if len(raw) == 0 || (len(raw) == 1 && raw[0] == '\n') {
			continue
		}
		var hl historyLine
		if err := json.Unmarshal(raw, &hl); err != nil {
			return nil, fmt.Errorf("%s: line %d: %v", name, line, err)
		}
		if hl.Volume != nil || hl.DNS != nil {
			if err := h.addBaseline(&hl, seenVol, seenDNS); err != nil {
				return nil, fmt.Errorf("%s: line %d: %v", name, line, err)
			}
			continue
		}
		p := HistoryPair{Element: hl.Element, First: hl.First, Last: hl.Last}
		if a, err := netip.ParseAddr(hl.Dst); err == nil {
			p.Dst = a
		}
		switch {
		case p.Element == "" || len(p.Element) > maxHistoryElementLen:
			return nil, fmt.Errorf("%s: line %d: element id empty or longer than %d bytes", name, line, maxHistoryElementLen)
		case !p.Dst.IsValid() || p.Dst.Zone() != "":
			return nil, fmt.Errorf("%s: line %d: bad destination address", name, line)
		case p.First.IsZero() || p.Last.Before(p.First):
			return nil, fmt.Errorf("%s: line %d: first_seen missing or after last_seen", name, line)
		}
		k := historyPairKey{p.Element, p.Dst.Unmap()}
		if seen[k] {
			return nil, fmt.Errorf("%s: line %d: pair %s → %s listed twice", name, line, p.Element, p.Dst)
		}
		if len(h.Pairs) >= MaxHistoryPairs {
			return nil, fmt.Errorf("%s: line %d: more than %d pairs", name, line, MaxHistoryPairs)
		}
		seen[k] = true
		p.Dst, p.First, p.Last = k.dst, p.First.UTC(), p.Last.UTC()
		h.Pairs = append(h.Pairs, p)
	}
	sortHistory(h.Pairs)
	slices.SortFunc(h.Volume, func(a, b baseline.VolumeState) int { return cmp.Compare(a.Element, b.Element) })
	slices.SortFunc(h.DNS, func(a, b baseline.DNSState) int { return cmp.Compare(a.Element, b.Element) })
	return h, nil
}

// addBaseline checks and keeps one baseline line.
func (h *History) addBaseline(hl *historyLine, seenVol, seenDNS map[string]bool) error {
	if hl.Element != "" || hl.Dst != "" || !hl.First.IsZero() || !hl.Last.IsZero() || (hl.Volume != nil && hl.DNS != nil) {
		return errors.New("a baseline line holds one volume or dns object and nothing else")
	}
	check := func(el string, seen map[string]bool, n int) error {
		switch {
		case el == "" || len(el) > maxHistoryElementLen:
			return fmt.Errorf("element id empty or longer than %d bytes", maxHistoryElementLen)
		case seen[el]:
			return fmt.Errorf("baseline of %s listed twice", el)
		case n >= MaxHistoryBaselines:
			return fmt.Errorf("more than %d baselines of one kind", MaxHistoryBaselines)
		}
		seen[el] = true
		return nil
	}
	if v := hl.Volume; v != nil {
		if err := check(v.Element, seenVol, len(h.Volume)); err != nil {
			return err
		}
		if err := v.Check(); err != nil {
			return err
		}
		h.Volume = append(h.Volume, *v)
		return nil
	}
	if err := check(hl.DNS.Element, seenDNS, len(h.DNS)); err != nil {
		return err
	}
	if err := hl.DNS.Check(); err != nil {
		return err
	}
	h.DNS = append(h.DNS, *hl.DNS)
	return nil
}

// Write encodes the history; the same history gives the same bytes.
func (h *History) Write(w io.Writer) error {
	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw)
	if err := enc.Encode(historyHeader{Format: HistoryFormat, Version: HistoryVersion, Updated: h.Updated.UTC()}); err != nil {
		return err
	}
	for i := range h.Pairs {
		if err := enc.Encode(&h.Pairs[i]); err != nil {
			return err
		}
	}
	for i := range h.Volume {
		if err := enc.Encode(historyLine{Volume: &h.Volume[i]}); err != nil {
			return err
		}
	}
	for i := range h.DNS {
		if err := enc.Encode(historyLine{DNS: &h.DNS[i]}); err != nil {
			return err
		}
	}
	return bw.Flush()
}

// Save writes the history to path atomically (a temporary file in the
// same folder, then a rename), so a crash never leaves half a file.
func (h *History) Save(path string) error {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("history: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := h.Write(tmp); err != nil {
		tmp.Close()
		return fmt.Errorf("history: %s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("history: %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("history: %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("history: %w", err)
	}
	return nil
}

func sortHistory(ps []HistoryPair) {
	slices.SortFunc(ps, func(a, b HistoryPair) int {
		return cmp.Or(cmp.Compare(a.Element, b.Element), a.Dst.Compare(b.Dst))
	})
}

// useHistory indexes the loaded history for the elements of the map and
// tells the beacon tracker which destinations are old.
func (p *Pipeline) useHistory(h *History) error {
	if h == nil {
		return nil
	}
	p.histUpdated = h.Updated
	if err := p.vol.Restore(h.Volume); err != nil {
		return fmt.Errorf("egress: history: %w", err)
	}
	if err := p.dns.Restore(h.DNS); err != nil {
		return fmt.Errorf("egress: history: %w", err)
	}
	p.hist = make(map[pairKey]time.Time, len(h.Pairs))
	p.histAll = h.Pairs
	for _, hp := range h.Pairs {
		el, ok := p.cfg.Elements.byIDElement(hp.Element)
		if !ok {
			continue // an element no longer mapped: kept in the file, unused
		}
		p.hist[pairKey{el, hp.Dst}] = hp.First
		p.tracker.SeenBefore(hp.Dst, hp.First)
	}
	return nil
}

// knownSince returns when an earlier run first saw the pair, or the zero
// time when it did not.
func (p *Pipeline) knownSince(k pairKey, first time.Time) time.Time {
	if t, ok := p.hist[k]; ok && t.Before(first) {
		return t
	}
	return time.Time{}
}

// History returns the loaded history merged with what this pipeline saw.
// Pairs beyond MaxHistoryPairs are left out, oldest last-seen first.
func (p *Pipeline) History() *History {
	m := make(map[historyPairKey]HistoryPair, len(p.histAll)+len(p.pairs))
	updated := p.histUpdated
	for _, hp := range p.histAll {
		m[historyPairKey{hp.Element, hp.Dst}] = hp
	}
	for k, pr := range p.pairs {
		if pr.flows == 0 {
			continue
		}
		hk := historyPairKey{k.el.ID, k.dst}
		hp, ok := m[hk]
		if !ok {
			hp = HistoryPair{Element: k.el.ID, Dst: k.dst, First: pr.first.UTC(), Last: pr.last.UTC()}
		} else {
			if pr.first.Before(hp.First) {
				hp.First = pr.first.UTC()
			}
			if pr.last.After(hp.Last) {
				hp.Last = pr.last.UTC()
			}
		}
		m[hk] = hp
	}
	if p.now.After(updated) {
		updated = p.now.UTC()
	}
	h := &History{Updated: updated, Pairs: make([]HistoryPair, 0, len(m)), Volume: p.vol.Snapshot(), DNS: p.dns.Snapshot()}
	for _, hp := range m {
		h.Pairs = append(h.Pairs, hp)
	}
	if len(h.Pairs) > MaxHistoryPairs {
		slices.SortFunc(h.Pairs, func(a, b HistoryPair) int {
			return cmp.Or(b.Last.Compare(a.Last), cmp.Compare(a.Element, b.Element), a.Dst.Compare(b.Dst))
		})
		h.Pairs = h.Pairs[:MaxHistoryPairs]
	}
	sortHistory(h.Pairs)
	return h
}
