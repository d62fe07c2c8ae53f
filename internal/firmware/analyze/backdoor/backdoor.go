// Package backdoor looks for publicly documented backdoor markers in every
// file of an unpacked image: magic strings, hard-coded master passwords
// and code signatures that researchers and vendors have published, each
// rule citing its sources. Files are searched as byte streams (binaries
// included) with one multi-pattern automaton, in bounded chunks; a
// finding gives the byte offset of the match and a hex+ASCII dump of it
// so that a reader can check it with `xxd -s OFFSET FILE`.
package backdoor

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sort"
	"strings"

	"github.com/netvet/netvet/internal/firmware"
)

// Options tune the analyser. The zero value is usable.
type Options struct {
	// Logger receives debug notes on files that could not be read; nil
	// discards them.
	Logger *slog.Logger
	// MaxFileBytes caps how much of one file is searched (default 512 MiB).
	MaxFileBytes int64
}

const (
	defaultMaxFileBytes = 512 << 20
	chunkSize           = 1 << 20
	// maxCandidates bounds the wildcard-pattern candidates kept per file.
	maxCandidates = 256
	// contextBytes of file content are shown each side of a match.
	contextBytes = 16
)

// Analyzer is the backdoor-marker analyser.
type Analyzer struct {
	opts Options
	auto *automaton
	// refs maps an anchor index to the patterns that use it.
	refs [][]patRef
}

// patRef names one pattern: signature, group and position in the group.
type patRef struct{ sig, group, pat int }

var _ firmware.Analyzer = (*Analyzer)(nil)

// New returns the analyser with default options.
func New() firmware.Analyzer { return NewWithOptions(Options{}) }

// NewWithOptions returns the analyser with the given options.
func NewWithOptions(o Options) *Analyzer {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.MaxFileBytes <= 0 {
		o.MaxFileBytes = defaultMaxFileBytes
	}
	a := &Analyzer{opts: o}
	index := map[string]int{}
	var anchors [][]byte
	for si, sig := range signatures {
		for gi, g := range sig.groups {
			for pi, p := range g {
				key := string(p.anchor())
				id, ok := index[key]
				if !ok {
					id = len(anchors)
					index[key] = id
					anchors = append(anchors, p.anchor())
					a.refs = append(a.refs, nil)
				}
				a.refs[id] = append(a.refs[id], patRef{si, gi, pi})
			}
		}
	}
	a.auto = newAutomaton(anchors)
	return a
}

// Info lists every rule.
func (a *Analyzer) Info() firmware.AnalyzerInfo {
	info := firmware.AnalyzerInfo{
		Name:        "backdoor",
		Description: "publicly documented backdoor strings, hard-coded master passwords and code signatures",
	}
	for _, s := range signatures {
		info.Rules = append(info.Rules, s.rule)
	}
	return info
}

// Analyze searches every regular file of the tree.
func (a *Analyzer) Analyze(ctx context.Context, t *firmware.Tree, out firmware.Reporter) error {
	var found []firmware.Finding
	for _, f := range t.Regular() {
		if err := ctx.Err(); err != nil {
			return err
		}
		found = append(found, a.byName(f)...)
		fs, err := a.scanFile(ctx, t, f)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			a.opts.Logger.Debug("backdoor: file skipped", "path", f.Path, "err", err)
			continue
		}
		found = append(found, fs...)
	}
	found = dropAncestors(found)
	firmware.SortFindings(found)
	for _, fd := range found {
		out.Report(fd)
	}
	return nil
}

func (a *Analyzer) byName(f *firmware.File) []firmware.Finding {
	var out []firmware.Finding
	name := f.Name()
	for _, s := range signatures {
		for _, n := range s.names {
			if name == n {
				fd := s.rule.Finding(f, -1, fmt.Sprintf("file named %s (%d bytes, sha256 %s)", n, f.Size, f.SHA256))
				fd.Analyzer = "backdoor"
				out = append(out, fd)
			}
		}
	}
	return out
}

// hitSet records, for one file, where each pattern was first seen.
type hitSet struct {
	first map[patRef]int64
	count map[patRef]int
	// pending wildcard candidates: pattern start offsets to confirm.
	cands []cand
}

type cand struct {
	ref   patRef
	start int64
}

func (h *hitSet) add(r patRef, off int64) {
	if _, ok := h.first[r]; !ok || off < h.first[r] {
		h.first[r] = off
	}
	h.count[r]++
}

// scanFile streams one file through the automaton and turns complete
// groups into findings.
func (a *Analyzer) scanFile(ctx context.Context, t *firmware.Tree, f *firmware.File) ([]firmware.Finding, error) {
	fh, err := t.Open(f)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	h := &hitSet{first: map[patRef]int64{}, count: map[patRef]int{}}
	buf := make([]byte, bufSize(f.Size, chunkSize))
	var (
		state int32
		base  int64
		isELF bool
	)
	for base < a.opts.MaxFileBytes {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		want := int64(len(buf))
		if rest := a.opts.MaxFileBytes - base; rest < want {
			want = rest
		}
		n, rerr := io.ReadFull(fh, buf[:want])
		if base == 0 && n >= 4 && string(buf[:4]) == "\x7fELF" {
			isELF = true
		}
		state = a.auto.feed(state, buf[:n], base, func(id int, start int64) {
			for _, r := range a.refs[id] {
				sig := signatures[r.sig]
				if sig.elfOnly && !isELF {
					continue
				}
				p := sig.groups[r.group][r.pat]
				if p.exact() {
					h.add(r, start)
					continue
				}
				if len(h.cands) < maxCandidates {
					h.cands = append(h.cands, cand{r, start - int64(p.anchorOff)})
				}
			}
		})
		base += int64(n)
		if rerr != nil {
			if errors.Is(rerr, io.EOF) || errors.Is(rerr, io.ErrUnexpectedEOF) {
				break
			}
			return nil, rerr
		}
	}
	if base >= a.opts.MaxFileBytes {
		a.opts.Logger.Debug("backdoor: file searched up to the cap", "path", f.Path, "limit", a.opts.MaxFileBytes)
	}
	for _, c := range h.cands {
		p := signatures[c.ref.sig].groups[c.ref.group][c.ref.pat]
		if c.start < 0 {
			continue
		}
		b := make([]byte, len(p.b))
		if _, err := fh.ReadAt(b, c.start); err != nil {
			continue
		}
		if p.matchAt(b) {
			h.add(c.ref, c.start)
		}
	}
	return a.findings(fh, f, h), nil
}

// findings reports, per signature, the first group whose patterns were
// all seen.
func (a *Analyzer) findings(fh *os.File, f *firmware.File, h *hitSet) []firmware.Finding {
	var out []firmware.Finding
	for si, sig := range signatures {
		for gi, g := range sig.groups {
			offs := make([]int64, len(g))
			total := 0
			complete := true
			for pi := range g {
				r := patRef{si, gi, pi}
				off, ok := h.first[r]
				if !ok {
					complete = false
					break
				}
				offs[pi] = off
				total += h.count[r]
			}
			if !complete {
				continue
			}
			// Report at the earliest pattern of the group.
			lead := 0
			for i := range offs {
				if offs[i] < offs[lead] {
					lead = i
				}
			}
			p := g[lead]
			var ev strings.Builder
			fmt.Fprintf(&ev, "%s at offset %d (0x%x)", describe(p, sig.secret), offs[lead], offs[lead])
			if total > len(g) {
				fmt.Fprintf(&ev, ", %d occurrences in the file", total)
			}
			if len(g) > 1 {
				ev.WriteString("; with the other patterns of the signature at")
				for i, o := range offs {
					if i != lead {
						fmt.Fprintf(&ev, " 0x%x", o)
					}
				}
			}
			ev.WriteString("\n")
			ev.WriteString(hexSnippet(fh, offs[lead], len(p.b), sig.secret))
			fd := sig.rule.Finding(f, offs[lead], ev.String())
			fd.Analyzer = "backdoor"
			out = append(out, fd)
			break
		}
	}
	return out
}

// describe renders a pattern for the evidence line.
func describe(p pattern, secret bool) string {
	if p.wild != nil || !printable(p.b) {
		return fmt.Sprintf("%d-byte code signature", len(p.b))
	}
	s := string(p.b)
	if secret {
		s = redact(s)
	}
	return fmt.Sprintf("%q", s)
}

func printable(b []byte) bool {
	for _, c := range b {
		if c < 0x20 || c > 0x7e {
			return false
		}
	}
	return true
}

func redact(s string) string {
	if len(s) <= secretKeep {
		return strings.Repeat("*", len(s))
	}
	return s[:secretKeep] + strings.Repeat("*", len(s)-secretKeep)
}

// hexSnippet dumps the match and contextBytes either side, in the layout
// of `hexdump -C` (rows of 16 bytes aligned on the file offset). With
// secret set, the match bytes after the first secretKeep are masked.
func hexSnippet(r io.ReaderAt, off int64, n int, secret bool) string {
	start := off - contextBytes
	if start < 0 {
		start = 0
	}
	start &^= 15
	end := off + int64(n) + contextBytes
	buf := make([]byte, end-start)
	got, _ := r.ReadAt(buf, start)
	buf = buf[:got]
	var b strings.Builder
	for row := 0; row < len(buf); row += 16 {
		line := buf[row:min(row+16, len(buf))]
		fmt.Fprintf(&b, "%08x  ", start+int64(row))
		for i := 0; i < 16; i++ {
			if i == 8 {
				b.WriteByte(' ')
			}
			if i >= len(line) {
				b.WriteString("   ")
				continue
			}
			pos := start + int64(row+i)
			if masked(pos, off, n, secret) {
				b.WriteString("** ")
				continue
			}
			fmt.Fprintf(&b, "%02x ", line[i])
		}
		b.WriteString(" |")
		for i, c := range line {
			pos := start + int64(row+i)
			switch {
			case masked(pos, off, n, secret):
				b.WriteByte('*')
			case c >= 0x20 && c <= 0x7e:
				b.WriteByte(c)
			default:
				b.WriteByte('.')
			}
		}
		b.WriteString("|")
		if row+16 < len(buf) {
			b.WriteByte('\n')
		}
	}
	return b.String()
}

func masked(pos, off int64, n int, secret bool) bool {
	return secret && pos >= off+secretKeep && pos < off+int64(n)
}

// bufSize sizes a read buffer: the file's recorded size when it is
// small, the chunk size otherwise.
func bufSize(size int64, chunk int) int {
	if size > 0 && size < int64(chunk) {
		return int(size) + 1
	}
	return chunk
}

// dropAncestors removes a finding when the same rule also fired in a file
// extracted from it: the match in the image or container is the same
// bytes as the one in the extracted file, which is the more precise
// location.
func dropAncestors(fs []firmware.Finding) []firmware.Finding {
	hasChild := map[string]bool{} // rule + "\x00" + path
	for _, f := range fs {
		for p := f.Path; ; {
			i := strings.LastIndexByte(p, '/')
			if i <= 0 {
				break
			}
			p = p[:i]
			hasChild[f.Rule+"\x00"+p] = true
		}
	}
	out := fs[:0]
	for _, f := range fs {
		if !hasChild[f.Rule+"\x00"+f.Path] {
			out = append(out, f)
		}
	}
	return out
}

// ruleIDs is used by tests and docs: every rule ID, sorted.
func ruleIDs() []string {
	var ids []string
	for _, s := range signatures {
		ids = append(ids, s.rule.ID)
	}
	sort.Strings(ids)
	return ids
}
