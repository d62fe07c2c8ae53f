package equiv

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/glaslos/tlsh"

	"github.com/netvet/netvet/internal/firmware"
)

// statusInner marks a container whose bytes differ only because objects
// inside it differ; those are reported, the container is not.
const statusInner Status = "changed-inside"

type result struct {
	status Status
	// bad: the object or one below it differs or could not be compared.
	bad bool
	// own are the normalisations applied to the object itself.
	own map[string]bool
}

type comparer struct {
	a, b   *Side
	opt    Options
	keysA  map[string]*node
	keysB  map[string]*node
	res    map[string]*result
	busy   map[string]bool
	recs   []*record
	err    error
	visits int
	groups map[*firmware.Root]map[string][]string
}

// record keeps a change with the nodes it is about, for the security pass.
type record struct {
	ch   *Change
	a, b *node
	st   Status
}

// Compare classifies every object of two unpacked images and returns the
// report. It fails only when the context is cancelled; a file that
// cannot be read is reported as unverified.
func Compare(ctx context.Context, a, b *Side, opt Options) (*Report, error) {
	opt.defaults()
	rep := &Report{
		Tool: "netvet", Version: opt.Version, A: a.summary(), B: b.summary(),
		Normalisations: []NormalisationUse{}, Roots: []RootPair{}, Findings: []firmware.Finding{}, Changes: []Change{},
	}
	computeKeys(a, nil, nil)
	computeKeys(b, nil, nil)
	override, kidsOnly, pairs := pairRoots(a, b)
	rep.Roots = append(rep.Roots, pairs...)
	if a.Manifest.Image.SHA256 == b.Manifest.Image.SHA256 && a.Manifest.Image.Size == b.Manifest.Image.Size {
		rep.Verdict = VerdictIdentical
		rep.Summary = Counts{Compared: len(a.nodes), Identical: len(a.nodes)}
		return rep, nil
	}
	c := &comparer{a: a, b: b, opt: opt, res: map[string]*result{}, busy: map[string]bool{}, groups: map[*firmware.Root]map[string][]string{}}
	c.keysA = computeKeys(a, nil, nil)
	c.keysB = computeKeys(b, override, kidsOnly)
	c.visit(ctx, "")
	// Objects not reached from the top (a root paired across places).
	for _, keys := range []map[string]*node{c.keysA, c.keysB} {
		rest := make([]string, 0)
		for k := range keys {
			if c.res[k] == nil {
				rest = append(rest, k)
			}
		}
		sort.Strings(rest)
		for _, k := range rest {
			c.visit(ctx, k)
		}
	}
	if c.err != nil {
		return nil, c.err
	}
	c.security(rep)
	c.finish(rep)
	return rep, nil
}

// visit compares the object with the given key after everything below it.
func (c *comparer) visit(ctx context.Context, key string) *result {
	if r := c.res[key]; r != nil {
		return r
	}
	if c.busy[key] || c.err != nil {
		return &result{status: StatusIdentical}
	}
	if c.visits%256 == 0 {
		if err := ctx.Err(); err != nil {
			c.err = err
			return &result{status: StatusIdentical}
		}
	}
	c.visits++
	c.busy[key] = true
	a, b := c.keysA[key], c.keysB[key]
	var kidKeys []string
	seen := map[string]bool{}
	for _, n := range []*node{a, b} {
		if n == nil {
			continue
		}
		for _, k := range n.kids {
			if !seen[k.key] {
				seen[k.key] = true
				kidKeys = append(kidKeys, k.key)
			}
		}
	}
	sort.Strings(kidKeys)
	kids := make([]*result, 0, len(kidKeys))
	for _, k := range kidKeys {
		kids = append(kids, c.visit(ctx, k))
	}
	r := c.compare(key, a, b, kidKeys, kids)
	for _, k := range kids {
		r.bad = r.bad || k.bad
	}
	c.res[key] = r
	return r
}

func (c *comparer) compare(key string, a, b *node, kidKeys []string, kids []*result) *result {
	switch {
	case a == nil && b == nil:
		return &result{status: StatusIdentical}
	case a == nil:
		return c.lone(key, b, StatusAdded)
	case b == nil:
		return c.lone(key, a, StatusRemoved)
	}
	ch := c.newChange(key, a, b)
	norms := map[string]bool{}
	var reasons []string
	unverified := false
	inner := false
	ta, tb := a.m.Type, b.m.Type
	fileish := func(t string) bool { return t == "file" || t == "hardlink" }
	if ta != tb && !(fileish(ta) && fileish(tb)) {
		ch.TypeA = ta
		reasons = append(reasons, fmt.Sprintf("type changed: %s → %s", ta, tb))
	} else {
		c.meta(ch, a, b, norms, &reasons)
		if a.content() && b.content() {
			u, in := c.content(ch, a, b, kidKeys, kids, norms, &reasons)
			unverified, inner = u, in
		}
		if fileish(ta) && (ta == "hardlink" || tb == "hardlink") {
			c.hardlinks(ch, a, b, norms, &reasons)
		}
	}
	r := &result{own: norms}
	ch.Reasons = append(reasons, ch.Reasons...)
	ch.Normalisations = sortedNorms(norms)
	switch {
	case len(reasons) > 0:
		r.status = StatusDifferent
	case unverified:
		r.status = StatusUnverified
	case inner:
		r.status = statusInner
	case len(norms) > 0:
		r.status = StatusEquivalent
	default:
		r.status = StatusIdentical
	}
	if r.status == StatusDifferent || r.status == StatusUnverified {
		ch.Normalisations = nil
		if r.status == StatusDifferent {
			r.own = map[string]bool{}
		}
	}
	r.bad = r.status.differs() || r.status == StatusUnverified
	ch.Status = r.status
	c.recs = append(c.recs, &record{ch: ch, a: a, b: b, st: r.status})
	return r
}

// lone records an object present on one side only.
func (c *comparer) lone(key string, n *node, st Status) *result {
	ch := &Change{key: key, Path: n.m.Path, FSPath: n.fsPath(), Status: st, Type: n.m.Type, Format: n.m.Format, Offset: -1}
	size := n.m.Size
	desc := n.m.Type
	if n.m.Format != "" {
		desc += " [" + n.m.Format + "]"
	}
	if n.m.Mode != "" {
		desc += ", mode " + n.m.Mode
	}
	if n.m.UID != nil && n.m.GID != nil {
		desc += fmt.Sprintf(", owner %d:%d", *n.m.UID, *n.m.GID)
	}
	if n.m.LinkTarget != "" {
		desc += " → " + n.m.LinkTarget
	}
	if n.content() {
		desc += fmt.Sprintf(", %d bytes", size)
	}
	if st == StatusAdded {
		ch.SizeB, ch.SHA256B = &size, n.m.SHA256
		ch.Reasons = []string{"only in B: " + desc}
		// The content of a new small text file, for review.
		if n.m.Type == "file" && n.m.Size <= maxTextBytes && len(n.kids) == 0 {
			if data, _, ok, err := c.b.read(n, maxTextBytes); err == nil && ok {
				if d, trunc, _, _, _ := textDiff("/dev/null", "b"+ch.FSPath, ch.FSPath, nil, data, c.opt.MaxDiffLines); d != "" {
					ch.Diff, ch.DiffTruncated = d, trunc
				}
			}
		}
	} else {
		ch.SizeA, ch.SHA256A = &size, n.m.SHA256
		ch.Reasons = []string{"only in A: " + desc}
	}
	if !n.content() {
		ch.SizeA, ch.SizeB = nil, nil
	}
	r := &result{status: st, bad: true}
	if st == StatusAdded {
		c.recs = append(c.recs, &record{ch: ch, b: n, st: st})
	} else {
		c.recs = append(c.recs, &record{ch: ch, a: n, st: st})
	}
	return r
}

func (c *comparer) newChange(key string, a, b *node) *Change {
	ch := &Change{key: key, Path: b.m.Path, FSPath: b.fsPath(), Type: b.m.Type, Format: b.m.Format, Offset: -1}
	if a.m.Path != b.m.Path {
		ch.PathA = a.m.Path
	}
	if ch.FSPath == "" {
		ch.FSPath = a.fsPath()
	}
	if a.content() && b.content() {
		sa, sb := a.m.Size, b.m.Size
		ch.SizeA, ch.SizeB = &sa, &sb
		ch.SHA256A, ch.SHA256B = a.m.SHA256, b.m.SHA256
	}
	return ch
}

// modeBits turns a manifest mode ("4755") into permission and special bits.
func modeBits(s string) (uint32, bool) {
	var v uint32
	if s == "" || len(s) > 6 {
		return 0, false
	}
	for _, ch := range s {
		if ch < '0' || ch > '7' {
			return 0, false
		}
		v = v*8 + uint32(ch-'0')
	}
	return v, true
}

func (c *comparer) meta(ch *Change, a, b *node, norms map[string]bool, reasons *[]string) {
	am, bm := a.m, b.m
	if am.Type != "symlink" && am.Mode != "" && bm.Mode != "" && am.Mode != bm.Mode {
		ch.Metadata = append(ch.Metadata, MetaChange{"mode", am.Mode, bm.Mode})
		r := fmt.Sprintf("mode %s → %s", am.Mode, bm.Mode)
		va, _ := modeBits(am.Mode)
		vb, _ := modeBits(bm.Mode)
		if vb&0o4000 != 0 && va&0o4000 == 0 {
			r += " (set-user-ID added)"
		}
		if vb&0o2000 != 0 && va&0o2000 == 0 {
			r += " (set-group-ID added)"
		}
		*reasons = append(*reasons, r)
	}
	if am.UID != nil && bm.UID != nil && *am.UID != *bm.UID {
		ch.Metadata = append(ch.Metadata, MetaChange{"uid", fmt.Sprint(*am.UID), fmt.Sprint(*bm.UID)})
		*reasons = append(*reasons, fmt.Sprintf("owner uid %d → %d", *am.UID, *bm.UID))
	}
	if am.GID != nil && bm.GID != nil && *am.GID != *bm.GID {
		ch.Metadata = append(ch.Metadata, MetaChange{"gid", fmt.Sprint(*am.GID), fmt.Sprint(*bm.GID)})
		*reasons = append(*reasons, fmt.Sprintf("group gid %d → %d", *am.GID, *bm.GID))
	}
	if am.Type == "symlink" && am.LinkTarget != bm.LinkTarget {
		ch.Metadata = append(ch.Metadata, MetaChange{"link_target", am.LinkTarget, bm.LinkTarget})
		*reasons = append(*reasons, fmt.Sprintf("link target %s → %s", am.LinkTarget, bm.LinkTarget))
	}
	if am.Device != bm.Device {
		ch.Metadata = append(ch.Metadata, MetaChange{"device", am.Device, bm.Device})
		*reasons = append(*reasons, fmt.Sprintf("device %s → %s", am.Device, bm.Device))
	}
	if am.MTime != "" && bm.MTime != "" && am.MTime != bm.MTime {
		ch.Metadata = append(ch.Metadata, MetaChange{"mtime", am.MTime, bm.MTime})
		norms[NormMTime] = true
	}
}

// hardlinks compares which files a hard link joins. An archive stores the
// first of a set of links as the file and the others as links to it, so a
// different order swaps the roles; the set is what counts.
func (c *comparer) hardlinks(ch *Change, a, b *node, norms map[string]bool, reasons *[]string) {
	ga, gb := c.linkGroup(a), c.linkGroup(b)
	if strings.Join(ga, "\x00") != strings.Join(gb, "\x00") {
		ch.Metadata = append(ch.Metadata, MetaChange{"hard_links", strings.Join(ga, " "), strings.Join(gb, " ")})
		*reasons = append(*reasons, fmt.Sprintf("hard links changed: [%s] → [%s]", strings.Join(ga, " "), strings.Join(gb, " ")))
		return
	}
	if a.m.Type != b.m.Type || a.m.LinkTarget != b.m.LinkTarget {
		ch.Metadata = append(ch.Metadata, MetaChange{"stored_as", a.m.Type + " " + a.m.LinkTarget, b.m.Type + " " + b.m.LinkTarget})
		norms[NormFileOrder] = true
	}
}

// linkGroup returns the sorted paths joined to n by hard links in its
// root. The groups of a root are computed once.
func (c *comparer) linkGroup(n *node) []string {
	if n.root == nil {
		return []string{n.fsPath()}
	}
	groups := c.groups[n.root]
	if groups == nil {
		groups = linkGroupsOf(n.root)
		c.groups[n.root] = groups
	}
	if g, ok := groups[n.fsPath()]; ok {
		return g
	}
	return []string{n.fsPath()}
}

func linkGroupsOf(r *firmware.Root) map[string][]string {
	// Each hard link joins the group of the file it names.
	members := map[string][]string{}
	for _, f := range r.Files() {
		if f.Type != firmware.TypeHardlink {
			continue
		}
		t := r.Get(f.LinkTarget)
		if t == nil {
			continue
		}
		head := t.FSPath
		if len(members[head]) == 0 {
			members[head] = []string{head}
		}
		members[head] = append(members[head], f.FSPath)
	}
	g := map[string][]string{}
	for _, list := range members {
		sort.Strings(list)
		for _, p := range list {
			g[p] = list
		}
	}
	return g
}

// content compares the bytes of two objects. It returns unverified when
// they cannot be read, inner when the object is a container whose
// differences are those of its children.
func (c *comparer) content(ch *Change, a, b *node, kidKeys []string, kids []*result, norms map[string]bool, reasons *[]string) (unverified, inner bool) {
	ha, errA := c.a.hash(a)
	hb, errB := c.b.hash(b)
	known := errA == nil && errB == nil
	if known && ha == hb {
		return false, false
	}
	if known {
		ch.SHA256A, ch.SHA256B = ha, hb
	}
	if len(a.kids) > 0 && len(b.kids) > 0 {
		return c.container(ch, a, b, known, kidKeys, kids, norms, reasons)
	}
	if !known {
		ch.Reasons = append(ch.Reasons, "content not available: "+firstErr(errA, errB).Error())
		return true, false
	}
	return c.leaf(ch, a, b, norms, reasons), false
}

func firstErr(errs ...error) error {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return errors.New("unknown error")
}

// container judges a container whose bytes differ by its children and,
// for firmware containers, by the header bytes outside its payloads.
func (c *comparer) container(ch *Change, a, b *node, known bool, kidKeys []string, kids []*result, norms map[string]bool, reasons *[]string) (unverified, inner bool) {
	kidsOK, kidsIdentical := true, true
	for _, k := range kids {
		if k.bad {
			kidsOK = false
		}
		if k.status != StatusIdentical {
			kidsIdentical = false
		}
	}
	own := map[string]bool{}
	nReasons := len(*reasons)
	same := false // nothing to say: bytes unknown and nothing inside differs
	defer func() {
		for n := range own {
			norms[n] = true
		}
		if !unverified && !same && len(own) == 0 && len(*reasons) == nReasons {
			inner = true
		}
	}()
	if a.m.Format != b.m.Format {
		ch.Metadata = append(ch.Metadata, MetaChange{"format", a.m.Format, b.m.Format})
		switch {
		case a.kind != b.kind || a.kind == firmware.KindContainer || a.kind == "":
			*reasons = append(*reasons, fmt.Sprintf("format %s → %s", a.m.Format, b.m.Format))
		case kidsOK && a.kind == firmware.KindCompression:
			own[NormCompression] = true
		case kidsOK:
			own[NormFSLayout] = true
		}
		return false, false
	}
	format := b.m.Format
	if format == "" || residualFormats[format] {
		if !c.residual(ch, a, b, own, reasons) && kidsOK {
			ch.Reasons = append(ch.Reasons, "the bytes outside the extracted objects could not be read (give the image file, not only its unpack folder)")
			return true, false
		}
		if !kidsOK && len(*reasons) == nReasons {
			// Checksums and lengths over a payload that differs: a
			// consequence of that difference, not a normalisation.
			clear(own)
			ch.Spans, ch.SpansOmitted = nil, 0
		}
		return false, false
	}
	if !kidsOK {
		// Differences inside are reported on their own.
		return false, false
	}
	if !known && kidsIdentical {
		// The bytes are unknown (no image file) and nothing inside
		// differs: nothing to say about the container.
		same = true
		return false, false
	}
	switch b.kind {
	case firmware.KindFilesystem, firmware.KindArchive:
		c.explainFS(ch, a, b, own, reasons)
	case firmware.KindCompression:
		c.explainCompression(ch, a, b, kidsIdentical, own)
	default:
		own[NormContainerLen] = true
		ch.Metadata = append(ch.Metadata, MetaChange{"judged_by", "payloads", fmt.Sprintf("the %s container's own bytes are not compared, only what it holds", format)})
	}
	return false, false
}

// residual compares the bytes of a container (or a blob holding carved
// chunks) that none of its children covers, less the header fields a
// normalisation may mask. It returns false when the bytes are not
// available.
func (c *comparer) residual(ch *Change, a, b *node, norms map[string]bool, reasons *[]string) bool {
	ra, sizeA, doneA, err := c.a.open(a)
	if err != nil {
		return false
	}
	defer doneA()
	rb, sizeB, doneB, err := c.b.open(b)
	if err != nil {
		return false
	}
	defer doneB()
	pa, pb := payloads(a), payloads(b)
	segA, segB := residualSegments(sizeA, pa), residualSegments(sizeB, pb)
	bufA, errA := readSegments(ra, segA, maxResidual)
	bufB, errB := readSegments(rb, segB, maxResidual)
	if errA != nil || errB != nil {
		if !errors.Is(errA, errTooMuch) && !errors.Is(errB, errTooMuch) {
			return false
		}
		// Too much uncovered data to hold: compare it as it is.
		if off, err := streamSegmentsDiff(ra, segA, rb, segB); err != nil {
			return false
		} else if off >= 0 {
			*reasons = append(*reasons, fmt.Sprintf("bytes outside the payloads differ, first at offset %#x", toContainer(segB, off)))
			ch.Offset = toContainer(segB, off)
		}
		return true
	}
	// Which payloads changed content or size.
	contentChanged, sizeChanged := len(pa) != len(pb), len(pa) != len(pb)
	for _, ka := range pa {
		kb := c.keysB[ka.key]
		if kb == nil {
			contentChanged, sizeChanged = true, true
			continue
		}
		if r := c.res[ka.key]; r != nil && r.status != StatusIdentical {
			contentChanged = true
		}
		if ka.m.Size != kb.m.Size {
			sizeChanged = true
		}
	}
	// Alignment padding after the last payload may grow or shrink with
	// the payloads' sizes.
	if sizeChanged {
		pa, pb := trailingPad(bufA, segA, sizeA, pa), trailingPad(bufB, segB, sizeB, pb)
		if pa > 0 || pb > 0 {
			ta, tb := bufA[len(bufA)-pa:], bufB[len(bufB)-pb:]
			if !bytes.Equal(ta, tb) {
				norms[NormContainerLen] = true
				ch.Spans = append(ch.Spans, Span{Normalisation: NormContainerLen, Field: "trailing padding",
					OffsetA: sizeA - int64(pa), LengthA: int64(pa), OffsetB: sizeB - int64(pb), LengthB: int64(pb),
					A: printable(ta[:min(len(ta), 16)], NormContainerLen), B: printable(tb[:min(len(tb), 16)], NormContainerLen)})
			}
			bufA, bufB = bufA[:len(bufA)-pa], bufB[:len(bufB)-pb]
		}
	}
	var fixedA, fixedB []mask
	var names []string
	if a.m.Format == b.m.Format {
		hdrA, _ := c.a.readAt(a, 0, headerRead(a.m.Format))
		hdrB, _ := c.b.readAt(b, 0, headerRead(b.m.Format))
		fa, fb := containerFields(a.m.Format, hdrA), containerFields(b.m.Format, hdrB)
		if len(fa) == len(fb) {
			for i := range fa {
				if fa[i].when == whenContent && !contentChanged || fa[i].when == whenSize && !sizeChanged {
					continue
				}
				oa, okA := toResidual(segA, int64(fa[i].off), int64(fa[i].n))
				ob, okB := toResidual(segB, int64(fb[i].off), int64(fb[i].n))
				if okA && okB {
					fixedA = append(fixedA, mask{int(oa), fa[i].n, fa[i].class})
					fixedB = append(fixedB, mask{int(ob), fb[i].n, fb[i].class})
					names = append(names, fa[i].name)
				}
			}
		}
	}
	ma := findMasks(bufA, maskOptions{fixed: fixedA})
	mb := findMasks(bufB, maskOptions{fixed: fixedB})
	ok, pairs := alignedEqual(bufA, bufB, ma, mb)
	if !ok {
		off := firstDiff(bufA, bufB)
		if len(bufA) == len(bufB) {
			// The first difference that no mask explains.
			off = firstDiff(applyMasks(bufA, ma), applyMasks(bufB, mb))
		}
		ch.Offset = toContainer(segB, off)
		*reasons = append(*reasons, fmt.Sprintf("%d bytes outside the payloads (header, padding) in A, %d in B; they differ from offset %#x in B", len(bufA), len(bufB), ch.Offset))
		return true
	}
	for _, p := range pairs {
		norms[p.a.class] = true
		if len(ch.Spans) == c.opt.MaxSpans {
			ch.SpansOmitted++
			continue
		}
		sp := Span{Normalisation: p.a.class, OffsetA: toContainer(segA, int64(p.a.off)), LengthA: int64(p.a.n),
			OffsetB: toContainer(segB, int64(p.b.off)), LengthB: int64(p.b.n),
			A: printable(bufA[p.a.off:p.a.end()], p.a.class), B: printable(bufB[p.b.off:p.b.end()], p.b.class)}
		for i, f := range fixedB {
			if f.off == p.b.off && i < len(names) {
				sp.Field = names[i]
			}
		}
		ch.Spans = append(ch.Spans, sp)
	}
	return true
}

var errTooMuch = errors.New("too many uncovered bytes")

// payloads returns what a container holds as byte ranges of itself: its
// children, and the objects in folders a container format lays its
// payloads out in (HWNP's "flash/kernel").
func payloads(n *node) []*node {
	var out []*node
	var walk func(n *node, depth int)
	walk = func(n *node, depth int) {
		for _, k := range n.kids {
			if k.m.Type == "dir" && depth < 64 {
				walk(k, depth+1)
			} else if k.m.Type != "dir" {
				out = append(out, k)
			}
		}
	}
	walk(n, 0)
	return out
}

// trailingPad returns how many bytes at the end of the residual buffer are
// alignment padding: a run of 0x00 or of 0xff after the last payload.
func trailingPad(buf []byte, segs []segment, size int64, kids []*node) int {
	if len(segs) == 0 {
		return 0
	}
	last := segs[len(segs)-1]
	if last.off+last.n != size || int(last.n) > len(buf) {
		return 0
	}
	for _, k := range kids {
		if k.m.Offset >= 0 && k.m.Offset+k.m.Size > last.off {
			return 0
		}
	}
	t := buf[len(buf)-int(last.n):]
	if t[0] != 0 && t[0] != 0xff {
		return 0
	}
	for _, c := range t {
		if c != t[0] {
			return 0
		}
	}
	return len(t)
}

func readSegments(r io.ReaderAt, segs []segment, max int64) ([]byte, error) {
	var total int64
	for _, s := range segs {
		total += s.n
	}
	if total > max {
		return nil, errTooMuch
	}
	buf := make([]byte, 0, total)
	for _, s := range segs {
		b := make([]byte, s.n)
		if _, err := r.ReadAt(b, s.off); err != nil && !errors.Is(err, io.EOF) {
			return nil, err
		}
		buf = append(buf, b...)
	}
	return buf, nil
}

// toResidual maps a range of the container to the residual buffer; ok is
// false unless the whole range is uncovered.
func toResidual(segs []segment, off, n int64) (int64, bool) {
	var pos int64
	for _, s := range segs {
		if off >= s.off && off+n <= s.off+s.n {
			return pos + off - s.off, true
		}
		pos += s.n
	}
	return 0, false
}

// toContainer maps an offset of the residual buffer back to the container.
func toContainer(segs []segment, off int64) int64 {
	if off < 0 {
		return -1
	}
	var pos int64
	for _, s := range segs {
		if off < pos+s.n {
			return s.off + off - pos
		}
		pos += s.n
	}
	if len(segs) > 0 {
		last := segs[len(segs)-1]
		return last.off + last.n
	}
	return 0
}

// streamSegmentsDiff compares two runs of segments as byte streams and
// returns the first differing offset (in stream order), -1 if equal.
func streamSegmentsDiff(ra io.ReaderAt, sa []segment, rb io.ReaderAt, sb []segment) (int64, error) {
	mr := func(r io.ReaderAt, ss []segment) io.Reader {
		var rs []io.Reader
		for _, s := range ss {
			rs = append(rs, io.NewSectionReader(r, s.off, s.n))
		}
		return io.MultiReader(rs...)
	}
	return streamDiff(mr(ra, sa), mr(rb, sb))
}

// streamDiff returns the first offset where two streams differ, -1 if
// they are equal.
func streamDiff(a, b io.Reader) (int64, error) {
	ba, bb := make([]byte, 64<<10), make([]byte, 64<<10)
	var pos int64
	for {
		na, errA := io.ReadFull(a, ba)
		nb, errB := io.ReadFull(b, bb)
		if errA != nil && !errors.Is(errA, io.EOF) && !errors.Is(errA, io.ErrUnexpectedEOF) {
			return 0, errA
		}
		if errB != nil && !errors.Is(errB, io.EOF) && !errors.Is(errB, io.ErrUnexpectedEOF) {
			return 0, errB
		}
		if d := firstDiff(ba[:na], bb[:nb]); d >= 0 {
			return pos + d, nil
		}
		if na < len(ba) || nb < len(bb) {
			return -1, nil
		}
		pos += int64(na)
	}
}

// explainFS names why a file system or archive whose entries are all
// equal (after normalisation) has different bytes.
func (c *comparer) explainFS(ch *Change, a, b *node, norms map[string]bool, reasons *[]string) {
	type ent struct {
		key string
		off int64
	}
	var ea, eb []ent
	allIdentical := true
	for _, n := range entries(a) {
		if r := c.res[n.key]; r == nil || r.status != StatusIdentical {
			allIdentical = false
		}
		if n.m.Type == "file" && n.m.Offset >= 0 && n.m.Size > 0 {
			if c.keysB[n.key] != nil {
				ea = append(ea, ent{n.key, n.m.Offset})
			}
		}
		if r := c.res[n.key]; r != nil {
			for k := range r.own {
				if k == NormMTime || k == NormFileOrder {
					norms[k] = true
				}
			}
		}
	}
	for _, n := range entries(b) {
		if n.m.Type == "file" && n.m.Offset >= 0 && n.m.Size > 0 && c.keysA[n.key] != nil {
			eb = append(eb, ent{n.key, n.m.Offset})
		}
	}
	byOff := func(e []ent) {
		sort.Slice(e, func(i, j int) bool {
			if e[i].off != e[j].off {
				return e[i].off < e[j].off
			}
			return e[i].key < e[j].key
		})
	}
	byOff(ea)
	byOff(eb)
	format := b.m.Format
	sameBlocks := true
	if format == "squashfs" {
		ha, _ := c.a.readAt(a, 0, sqSuperSize+2+64)
		hb, _ := c.b.readAt(b, 0, sqSuperSize+2+64)
		sa, okA := parseSquashSuper(ha)
		sb, okB := parseSquashSuper(hb)
		if okA && okB {
			if sa.mkfsTime != sb.mkfsTime {
				norms[NormMTime] = true
				ch.Metadata = append(ch.Metadata, MetaChange{"squashfs_mkfs_time", unixTime(sa.mkfsTime), unixTime(sb.mkfsTime)})
				ch.Spans = append(ch.Spans, Span{Normalisation: NormMTime, Field: "SquashFS creation time", OffsetA: 8, LengthA: 4, OffsetB: 8, LengthB: 4,
					A: printable(ha[8:12], NormContainerSum), B: printable(hb[8:12], NormContainerSum)})
			}
			if sa.settings() != sb.settings() || sa.flags != sb.flags {
				norms[NormCompression] = true
				ch.Metadata = append(ch.Metadata, MetaChange{"squashfs_compression", sa.settings(), sb.settings()})
			}
			// Another block size moves file data between blocks and
			// fragments: offsets then say nothing about order.
			sameBlocks = sa.blockSize == sb.blockSize
		}
	}
	if len(ea) == len(eb) && sameBlocks {
		for i := range ea {
			if ea[i].key != eb[i].key {
				norms[NormFileOrder] = true
				na, nb := c.keysA[ea[i].key], c.keysB[eb[i].key]
				ch.Metadata = append(ch.Metadata, MetaChange{"entry_order",
					fmt.Sprintf("entry %d is %s", i+1, na.fsPath()), fmt.Sprintf("entry %d is %s", i+1, nb.fsPath())})
				break
			}
		}
	}
	if len(norms) == 0 && !allIdentical {
		// The entries that are equivalent, not identical, explain the
		// different bytes.
		return
	}
	switch format {
	case "tar", "cpio":
		if len(norms) == 0 {
			ra, _, doneA, errA := c.a.open(a)
			rb, _, doneB, errB := c.b.open(b)
			off := int64(-1)
			if errA == nil && errB == nil {
				off, _ = streamDiff(io.NewSectionReader(ra, 0, 1<<62), io.NewSectionReader(rb, 0, 1<<62))
			}
			if doneA != nil {
				doneA()
			}
			if doneB != nil {
				doneB()
			}
			ch.Offset = off
			*reasons = append(*reasons, fmt.Sprintf("the %s archive's bytes differ (first at offset %#x) while every entry, its content and its metadata are equal: header fields netvet does not record (owner names, extended headers) or padding", format, off))
		}
	case "squashfs":
		if len(norms) == 0 {
			norms[NormCompression] = true
		}
	default:
		if compressingFS[format] {
			norms[NormCompression] = true
		}
		norms[NormFSLayout] = true
	}
}

var compressingFS = map[string]bool{"cramfs": true, "jffs2": true, "ubifs": true, "zip": true, "sevenzip": true}

// entries returns the objects of a file system or archive (not those of
// file systems nested in it).
func entries(root *node) []*node {
	var out []*node
	var walk func(n *node)
	walk = func(n *node) {
		for _, k := range n.kids {
			if k.root == root.fsRoot {
				out = append(out, k)
				walk(k)
			}
		}
	}
	walk(root)
	return out
}

// explainCompression names why a compressed file whose decompressed
// content is equal has different bytes: its gzip header, or its
// compression.
func (c *comparer) explainCompression(ch *Change, a, b *node, childIdentical bool, norms map[string]bool) {
	if b.m.Format != "gzip" {
		if childIdentical {
			norms[NormCompression] = true
		}
		return
	}
	ha, _ := c.a.readAt(a, 0, 64<<10)
	hb, _ := c.b.readAt(b, 0, 64<<10)
	ga, okA := parseGzipHeader(ha)
	gb, okB := parseGzipHeader(hb)
	if !okA || !okB {
		if childIdentical {
			norms[NormCompression] = true
		}
		return
	}
	header := false
	if ga.mtime != gb.mtime {
		header = true
		ch.Metadata = append(ch.Metadata, MetaChange{"gzip_mtime", unixTime(ga.mtime), unixTime(gb.mtime)})
		ch.Spans = append(ch.Spans, Span{Normalisation: NormGzipHeader, Field: "gzip MTIME", OffsetA: 4, LengthA: 4, OffsetB: 4, LengthB: 4,
			A: printable(ha[4:8], NormContainerSum), B: printable(hb[4:8], NormContainerSum)})
	}
	nameA, nameB := "", ""
	if ga.nameOff >= 0 {
		nameA = string(ha[ga.nameOff : ga.nameOff+ga.nameLen])
	}
	if gb.nameOff >= 0 {
		nameB = string(hb[gb.nameOff : gb.nameOff+gb.nameLen])
	}
	if nameA != nameB {
		header = true
		ch.Metadata = append(ch.Metadata, MetaChange{"gzip_name", nameA, nameB})
		if ga.nameOff >= 0 && gb.nameOff >= 0 {
			ch.Spans = append(ch.Spans, Span{Normalisation: NormGzipHeader, Field: "gzip FNAME", OffsetA: int64(ga.nameOff), LengthA: int64(ga.nameLen),
				OffsetB: int64(gb.nameOff), LengthB: int64(gb.nameLen), A: printable([]byte(nameA), ""), B: printable([]byte(nameB), "")})
		}
	}
	// The deflate data and trailer: equal means only the header differs.
	same := false
	ra, sizeA, doneA, errA := c.a.open(a)
	rb, sizeB, doneB, errB := c.b.open(b)
	if errA == nil && errB == nil && sizeA-int64(ga.headerLen) == sizeB-int64(gb.headerLen) {
		off, err := streamDiff(io.NewSectionReader(ra, int64(ga.headerLen), sizeA-int64(ga.headerLen)), io.NewSectionReader(rb, int64(gb.headerLen), sizeB-int64(gb.headerLen)))
		same = err == nil && off < 0
	}
	if doneA != nil {
		doneA()
	}
	if doneB != nil {
		doneB()
	}
	if header {
		norms[NormGzipHeader] = true
	}
	if childIdentical && (!same || !header) {
		norms[NormCompression] = true
		if ga.xfl != gb.xfl {
			ch.Metadata = append(ch.Metadata, MetaChange{"gzip_xfl", fmt.Sprint(ga.xfl), fmt.Sprint(gb.xfl)})
		}
	}
}

// leaf compares two files by content: equal after masking, or different
// with the evidence. It returns true when the files could not be read.
func (c *comparer) leaf(ch *Change, a, b *node, norms map[string]bool, reasons *[]string) bool {
	da, sizeA, okA, errA := c.a.read(a, c.opt.MaxCompareBytes)
	db, sizeB, okB, errB := c.b.read(b, c.opt.MaxCompareBytes)
	if errA != nil || errB != nil {
		ch.Reasons = append(ch.Reasons, "content not readable: "+firstErr(errA, errB).Error())
		return true
	}
	ch.SizeA, ch.SizeB = &sizeA, &sizeB
	if !okA || !okB {
		ra, _, doneA, errA := c.a.open(a)
		rb, _, doneB, errB := c.b.open(b)
		if errA != nil || errB != nil {
			if doneA != nil {
				doneA()
			}
			if doneB != nil {
				doneB()
			}
			ch.Reasons = append(ch.Reasons, "content not readable: "+firstErr(errA, errB).Error())
			return true
		}
		off, _ := streamDiff(io.NewSectionReader(ra, 0, sizeA), io.NewSectionReader(rb, 0, sizeB))
		ch.Offset = off
		ch.TLSH = tlshOf(io.NewSectionReader(ra, 0, sizeA), io.NewSectionReader(rb, 0, sizeB))
		doneA()
		doneB()
		*reasons = append(*reasons, fmt.Sprintf("content differs (%d → %d bytes, first at offset %#x); larger than the comparison cap (%d bytes): compared by hash, not normalised", sizeA, sizeB, off, c.opt.MaxCompareBytes))
		return false
	}
	var ea, eb *elfInfo
	var elfErr error
	if isELF(da) && isELF(db) {
		var e1, e2 error
		ea, e1 = parseELF(da)
		eb, e2 = parseELF(db)
		if e1 != nil || e2 != nil {
			elfErr = firstErr(e1, e2)
			ea, eb = nil, nil
		}
	}
	oa, ob := maskOptions{}, maskOptions{}
	if ea != nil && eb != nil {
		oa = maskOptions{paths: true, skip: ea.skip, fixed: ea.ids}
		ob = maskOptions{paths: true, skip: eb.skip, fixed: eb.ids}
	}
	ma, mb := findMasks(da, oa), findMasks(db, ob)
	if ok, pairs := alignedEqual(da, db, ma, mb); ok && len(pairs) > 0 {
		for _, n := range classesOf(pairs) {
			norms[n] = true
		}
		ch.Spans, ch.SpansOmitted = spansOf(da, db, pairs, 0, c.opt.MaxSpans)
		return false
	}
	ch.Offset = firstDiff(da, db)
	r := fmt.Sprintf("content differs: %d → %d bytes", sizeA, sizeB)
	if sizeA == sizeB {
		r = fmt.Sprintf("content differs: %d of %d bytes", countDiff(da, db), sizeA)
	}
	*reasons = append(*reasons, fmt.Sprintf("%s, first at offset %#x", r, ch.Offset))
	ch.TLSH = tlshOf(bytes.NewReader(da), bytes.NewReader(db))
	switch {
	case ea != nil && eb != nil:
		sa, sb := sectionMasks(da, db, ma, mb)
		ch.ELF = diffELF(applyMasks(da, sa), applyMasks(db, sb), ea, eb)
		if len(ch.ELF.Sections) > 0 {
			*reasons = append(*reasons, "ELF: "+describeELF(ch.ELF))
		}
	case elfErr != nil:
		ch.ELF = &ELFDiff{Changed: []string{}, Sections: []SectionDiff{}, Error: elfErr.Error()}
	}
	if d, trunc, _, _, _ := textDiff("a"+ch.FSPath, "b"+ch.FSPath, ch.FSPath, da, db, c.opt.MaxDiffLines); d != "" {
		ch.Diff, ch.DiffTruncated = d, trunc
	}
	return false
}

// sectionMasks picks the masks that may hide bytes from the section
// diff: all but build paths, which only where both files hold an
// acceptable pair at the same offset.
func sectionMasks(a, b []byte, ma, mb []mask) ([]mask, []mask) {
	var ra, rb []mask
	at := map[int]mask{}
	for _, m := range mb {
		if m.class == NormBuildPath {
			at[m.off] = m
		} else {
			rb = append(rb, m)
		}
	}
	for _, m := range ma {
		if m.class != NormBuildPath {
			ra = append(ra, m)
			continue
		}
		if o, ok := at[m.off]; ok && o.n == m.n && acceptable(NormBuildPath, a[m.off:m.end()], b[o.off:o.end()]) {
			ra, rb = append(ra, m), append(rb, o)
		}
	}
	return ra, rb
}

// describeELF sums up the changed sections for people.
func describeELF(d *ELFDiff) string {
	var parts []string
	for _, cls := range d.Changed {
		var names []string
		for _, s := range d.Sections {
			if s.Class != cls {
				continue
			}
			n := s.Name
			switch {
			case s.Status == "changed" && s.BytesDiffer > 0:
				n += fmt.Sprintf(" (%s from section offset %#x, address %#x)", plural(s.BytesDiffer, "byte"), s.FirstDiff, s.Addr+uint64(max(s.FirstDiff, 0)))
			case s.Status != "changed":
				n += " (" + s.Status + ")"
			}
			names = append(names, n)
			if len(names) == 4 {
				names = append(names, "…")
				break
			}
		}
		parts = append(parts, cls+" changed: "+strings.Join(names, ", "))
	}
	return strings.Join(parts, "; ")
}

// tlshOf computes the TLSH distance of two streams.
func tlshOf(a, b io.Reader) *TLSHResult {
	ha, errA := tlsh.HashReader(byteReader(a))
	hb, errB := tlsh.HashReader(byteReader(b))
	if errA != nil || errB != nil {
		e := firstErr(errA, errB).Error()
		if strings.Contains(e, "less than 50") {
			e = "TLSH needs at least 50 bytes"
		} else if strings.Contains(e, "q3 is zero") || e == "EOF" {
			e = "TLSH needs more varied content"
		}
		return &TLSHResult{Error: e}
	}
	d := ha.Diff(hb)
	return &TLSHResult{Distance: &d}
}

type bufByteReader struct {
	r   io.Reader
	buf []byte
	pos int
	end int
}

func byteReader(r io.Reader) tlsh.FuzzyReader {
	return &bufByteReader{r: r, buf: make([]byte, 64<<10)}
}

func (b *bufByteReader) fill() error {
	n, err := b.r.Read(b.buf)
	b.pos, b.end = 0, n
	if n > 0 {
		return nil
	}
	if err == nil {
		err = io.ErrNoProgress
	}
	return err
}

func (b *bufByteReader) ReadByte() (byte, error) {
	if b.pos >= b.end {
		if err := b.fill(); err != nil {
			return 0, err
		}
	}
	c := b.buf[b.pos]
	b.pos++
	return c, nil
}

func (b *bufByteReader) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		c, err := b.ReadByte()
		if err != nil {
			if n > 0 {
				return n, nil
			}
			return 0, err
		}
		p[n] = c
		n++
	}
	return n, nil
}

// finish sorts the changes and findings, counts and gives the verdict.
func (c *comparer) finish(rep *Report) {
	sort.Slice(c.recs, func(i, j int) bool { return c.recs[i].ch.key < c.recs[j].ch.key })
	uses := map[string]int{}
	for _, r := range c.recs {
		rep.Summary.Compared++
		switch r.st {
		case StatusIdentical:
			rep.Summary.Identical++
		case StatusEquivalent:
			rep.Summary.Equivalent++
		case StatusDifferent:
			rep.Summary.Different++
		case StatusAdded:
			rep.Summary.Added++
		case StatusRemoved:
			rep.Summary.Removed++
		case StatusUnverified:
			rep.Summary.Unverified++
		case statusInner:
			rep.Summary.ChangedInside++
		}
		if r.st == StatusEquivalent {
			for _, n := range r.ch.Normalisations {
				uses[n]++
			}
		}
		if r.st == StatusIdentical || r.st == statusInner {
			if !c.opt.All {
				continue
			}
		}
		rep.Changes = append(rep.Changes, *r.ch)
	}
	for _, n := range Normalisations() {
		if uses[n.Name] > 0 {
			rep.Normalisations = append(rep.Normalisations, NormalisationUse{Name: n.Name, Objects: uses[n.Name], Description: n.Description})
		}
	}
	rep.Differences = rep.Summary.Different + rep.Summary.Added + rep.Summary.Removed
	switch {
	case rep.Differences > 0:
		rep.Verdict = VerdictDifferent
	case rep.Summary.Unverified > 0:
		rep.Verdict = VerdictIncomplete
		rep.Warnings = append(rep.Warnings, fmt.Sprintf("%s could not be compared: equivalence is not shown", plural(int64(rep.Summary.Unverified), "object")))
	case len(rep.Normalisations) == 0:
		// The images differ, yet no object does: the difference is in
		// bytes netvet does not compare (file-system slack, or an image
		// given as a folder without the image file).
		rep.Verdict = VerdictIncomplete
		rep.Warnings = append(rep.Warnings, "the images differ, but no object netvet extracts and compares does: the difference lies in bytes it does not compare")
	default:
		rep.Verdict = VerdictEquivalent
	}
	firmware.SortFindings(rep.Findings)
}

// setuidBits reports the set-user-ID and set-group-ID bits of a mode.
func setuidBits(mode string) uint32 {
	v, _ := modeBits(mode)
	return v & 0o6000
}

func plural(n int64, unit string) string {
	if n == 1 {
		return "1 " + unit
	}
	return fmt.Sprintf("%d %ss", n, unit)
}
