// Package unpack is netvet's recursive firmware extractor. It finds every
// format it knows at any offset of a blob (carving), extracts each through
// a sink confined by os.Root to the output folder, and recurses into every
// extracted file until nothing more is recognised, within limits on bytes,
// files, depth, expansion ratio and time. It records everything in a
// manifest whose order does not depend on scheduling.
package unpack

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"sort"
	"sync"
	"sync/atomic"

	"github.com/netvet/netvet/internal/firmware"
)

// ManifestName is the file the manifest is written to inside the output folder.
const ManifestName = "manifest.json"

// Options configure a run.
type Options struct {
	Registry *firmware.Registry
	Limits   Limits
	Workers  int          // 0: one per CPU
	Logger   *slog.Logger // nil: discard
	Version  string       // recorded in the manifest
	Progress *Progress    // optional: counters a caller may poll
}

// Progress counts work done; a caller may read it while a run goes on.
type Progress struct {
	Objects      atomic.Int64
	Files        atomic.Int64
	Dirs         atomic.Int64
	Links        atomic.Int64
	Special      atomic.Int64
	Chunks       atomic.Int64
	Regions      atomic.Int64
	BytesWritten atomic.Int64
	Errors       atomic.Int64
	BlobsDone    atomic.Int64
	BlobsQueued  atomic.Int64
}

type job struct {
	node      *Node
	disk      string // relative to the output folder; "" for the image itself
	croot     string // folder of the container the file was extracted from
	rel       string // the file's path inside that container
	depth     int
	blob      bool
	ancestors []ancestor

	// Set when the sink scanned the file while writing it.
	prescanned bool
	cands      []candidate
	hist       *[256]int64
}

type ancestor struct{ sha, path string }

type runner struct {
	opts    Options
	ctx     context.Context
	cancel  context.CancelCauseFunc
	root    *os.Root
	image   string
	scan    *scanner
	stats   *Progress
	log     *slog.Logger
	topName string

	mu     sync.Mutex
	limits []error
	queue  []*job
	active int
	cond   *sync.Cond
	weak   map[string]bool
}

// A chunk of a format whose signature is two bytes long (zlib, lzma) found
// inside a file is kept only when it decompressed to at least
// minWeakOutput bytes from at least minWeakInput bytes.
const (
	minWeakOutput = 1024
	minWeakInput  = 32
	// A compression stream inside a file that fails before producing this
	// much is taken for a magic number met by chance (a decompressor's own
	// constant, a PNG's split zlib stream), not a damaged payload.
	minFailedOutput = 64 << 10
)

// Unpack extracts the image at imagePath into outDir, which must not exist
// or be empty, and writes outDir/manifest.json. It returns the manifest
// even when it also returns an error: a limit that was reached, or an
// interruption, leaves a partial manifest that says so.
func Unpack(ctx context.Context, imagePath, outDir string, opts Options) (*Manifest, error) {
	if opts.Registry == nil {
		return nil, errors.New("unpack: no format registry")
	}
	if err := opts.Limits.Validate(); err != nil {
		return nil, fmt.Errorf("unpack: %w", err)
	}
	if opts.Workers <= 0 {
		opts.Workers = runtime.GOMAXPROCS(0)
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Progress == nil {
		opts.Progress = &Progress{}
	}
	img, err := os.Open(imagePath)
	if err != nil {
		return nil, fmt.Errorf("open image: %w", err)
	}
	defer img.Close()
	fi, err := img.Stat()
	if err != nil {
		return nil, fmt.Errorf("open image: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("image %s is not a regular file", imagePath)
	}
	if err := prepareOut(outDir); err != nil {
		return nil, err
	}
	root, err := os.OpenRoot(outDir)
	if err != nil {
		return nil, fmt.Errorf("open output folder: %w", err)
	}
	defer root.Close()

	ctx, cancelTime := context.WithTimeoutCause(ctx, opts.Limits.MaxTime,
		limitErr("max-time", int64(opts.Limits.MaxTime), "max-time: unpacking took longer than %s (raise with --max-time)", opts.Limits.MaxTime))
	defer cancelTime()
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)

	r := &runner{opts: opts, ctx: ctx, cancel: cancel, root: root, image: imagePath,
		scan: newScanner(opts.Registry.Formats()), stats: opts.Progress, log: opts.Logger}
	r.cond = sync.NewCond(&r.mu)
	r.weak = map[string]bool{}
	for _, f := range opts.Registry.Formats() {
		longest := 0
		for _, sig := range f.Info().Signatures {
			longest = max(longest, len(sig.Magic))
		}
		r.weak[f.Info().Name] = longest <= 2 || f.Info().Weak
	}
	r.topName = sanitizeName(filepath.Base(imagePath))

	h := sha256.New()
	if _, err := io.Copy(h, io.NewSectionReader(img, 0, fi.Size())); err != nil {
		return nil, fmt.Errorf("read image: %w", err)
	}
	sum := hex.EncodeToString(h.Sum(nil))
	top := &Node{name: r.topName, Type: "file", Size: fi.Size(), SHA256: sum, mode: fi.Mode()}
	m := &Manifest{Tool: "netvet", Version: opts.Version, Limits: opts.Limits,
		Image: ImageInfo{Name: r.topName, Size: fi.Size(), SHA256: sum}}

	r.push(&job{node: top, depth: 0, blob: true})
	var wg sync.WaitGroup
	for range opts.Workers {
		wg.Add(1)
		go func() { defer wg.Done(); r.work() }()
	}
	wg.Wait()

	m.Nodes = flatten(top)
	st := r.stats
	m.Stats = Stats{Files: st.Files.Load(), Dirs: st.Dirs.Load(), Links: st.Links.Load(), Special: st.Special.Load(),
		Chunks: st.Chunks.Load(), Regions: st.Regions.Load(), BytesWritten: st.BytesWritten.Load(), Errors: st.Errors.Load()}

	var runErr error
	if cause := context.Cause(ctx); cause != nil && ctx.Err() != nil {
		var le *firmware.LimitError
		if errors.As(cause, &le) {
			r.note(cause)
		} else {
			runErr = cause
		}
	}
	r.mu.Lock()
	limits := r.limits
	r.mu.Unlock()
	for _, e := range limits {
		m.Errors = append(m.Errors, e.Error())
	}
	sort.Strings(m.Errors)
	m.Complete = len(limits) == 0 && runErr == nil
	if werr := writeManifest(root, m); werr != nil {
		return m, fmt.Errorf("write manifest: %w", werr)
	}
	if runErr != nil {
		return m, runErr
	}
	if len(limits) > 0 {
		return m, errors.Join(limits...)
	}
	return m, nil
}

func prepareOut(dir string) error {
	fi, err := os.Stat(dir)
	if errors.Is(err, os.ErrNotExist) {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("create output folder: %w", err)
		}
		return nil
	}
	if err != nil {
		return fmt.Errorf("output folder: %w", err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("output %s exists and is not a folder", dir)
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("output folder: %w", err)
	}
	if len(ents) > 0 {
		return fmt.Errorf("output folder %s is not empty: choose a new folder or empty it", dir)
	}
	return nil
}

func writeManifest(root *os.Root, m *Manifest) error {
	f, err := root.OpenFile(ManifestName, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	if err := m.WriteJSON(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func sanitizeName(s string) string {
	if s == "" || s == "." || s == "/" {
		return "image"
	}
	return s
}

// note records a limit that was reached without stopping the run.
func (r *runner) note(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, e := range r.limits {
		if e.Error() == err.Error() {
			return
		}
	}
	r.limits = append(r.limits, err)
}

// abort stops the whole run: a global limit was reached.
func (r *runner) abort(err error) error {
	r.cancel(err)
	return err
}

func (r *runner) push(j *job) {
	r.stats.BlobsQueued.Add(1)
	r.mu.Lock()
	r.queue = append(r.queue, j)
	r.mu.Unlock()
	r.cond.Signal()
}

func (r *runner) work() {
	for {
		r.mu.Lock()
		for len(r.queue) == 0 && r.active > 0 {
			r.cond.Wait()
		}
		if len(r.queue) == 0 {
			r.mu.Unlock()
			r.cond.Broadcast()
			return
		}
		// Last in, first out: depth first keeps the queue short.
		j := r.queue[len(r.queue)-1]
		r.queue = r.queue[:len(r.queue)-1]
		r.active++
		r.mu.Unlock()

		if r.ctx.Err() == nil {
			r.process(j)
		}
		r.stats.BlobsDone.Add(1)

		r.mu.Lock()
		r.active--
		r.mu.Unlock()
		r.cond.Broadcast()
	}
}

func (r *runner) openBlob(j *job) (*os.File, error) {
	if j.disk == "" {
		return os.Open(r.image)
	}
	return r.root.Open(j.disk)
}

// extractedDir is the folder that holds the chunks found in a blob. For
// a file extracted from a container whose folder is C, it is
// C.carved/<path of the file in C>: outside C, so that no entry of the
// container (a folder it names "X.extracted", a symlink) can reach into
// or mix with what netvet extracts from its files.
func (r *runner) extractedDir(j *job) string {
	if j.disk == "" {
		return r.topName + ".extracted"
	}
	return path.Join(j.croot+".carved", j.rel)
}

func isLimit(err error) bool { return errors.Is(err, firmware.ErrLimit) }

// process carves one blob: finds the formats in it, extracts each, and
// queues what they produced.
func (r *runner) process(j *job) {
	n := j.node
	for _, a := range j.ancestors {
		if a.sha == n.SHA256 {
			err := limitErr("self-nesting", 0, "self-nesting: %s has the same content as %s, which contains it; not opened again", n.name, a.path)
			n.Error = joinErr(n.Error, err.Error())
			r.note(err)
			return
		}
	}
	if j.prescanned && len(j.cands) == 0 {
		// Nothing found while the file was written: no need to read it again.
		if j.blob && n.Size > 0 && j.hist != nil {
			ent, pad := entropyOf(j.hist)
			reg := &Node{Type: TypeRegion, Offset: 0, Size: n.Size, Format: "unknown", Entropy: &ent}
			if pad {
				reg.Format = "padding"
			}
			reg.name = "0x0." + reg.Format
			r.stats.Regions.Add(1)
			n.kids = append(n.kids, reg)
		}
		return
	}
	f, err := r.openBlob(j)
	if err != nil {
		n.Error = joinErr(n.Error, "open for scanning: "+errString(err))
		return
	}
	defer f.Close()
	size := n.Size
	if fi, err := f.Stat(); err == nil {
		size = fi.Size()
	}
	var chunks []*Node
	var kidJobs [][]*job
	var covered int64
	examined := 0
	anc := append(append([]ancestor(nil), j.ancestors...), ancestor{sha: n.SHA256, path: n.name})
	bp := scanBufPool.Get().(*[]byte)
	defer scanBufPool.Put(bp)
scan:
	for pos := int64(0); pos < size; {
		var cands []candidate
		var next int64
		if j.prescanned {
			cands, next = j.cands, size
		} else {
			var err error
			cands, next, err = r.scan.window(r.ctx, f, size, pos, *bp)
			if err != nil {
				n.Error = joinErr(n.Error, "scan: "+errString(err))
				break
			}
		}
		for _, c := range cands {
			if c.start < covered || c.start >= size {
				continue
			}
			if r.ctx.Err() != nil {
				break scan
			}
			if examined >= r.opts.Limits.MaxCandidates {
				msg := fmt.Sprintf("max-candidates: more than %d signature matches examined in %s; the rest from offset 0x%x on was not searched (raise with --max-candidates)", r.opts.Limits.MaxCandidates, n.name, c.start)
				n.Error = joinErr(n.Error, msg)
				r.note(limitErr("max-candidates", int64(r.opts.Limits.MaxCandidates), "%s", msg))
				break scan
			}
			examined++
			avail := size - c.start
			sr := io.NewSectionReader(f, c.start, avail)
			if !safeIdentify(c.f, sr, avail) {
				continue
			}
			info := c.f.Info()
			if j.depth >= r.opts.Limits.MaxDepth {
				msg := fmt.Sprintf("max-depth: %s at offset 0x%x of %s is nested deeper than %d containers; not opened (raise with --max-depth)", info.Name, c.start, n.name, r.opts.Limits.MaxDepth)
				n.Error = joinErr(n.Error, msg)
				r.note(limitErr("max-depth", int64(r.opts.Limits.MaxDepth), "%s", msg))
				break scan
			}
			chunk, kids, length, ok := r.extract(j, f, c, info, avail, anc)
			if !ok {
				continue
			}
			chunks = append(chunks, chunk)
			kidJobs = append(kidJobs, kids)
			covered = c.start + length
		}
		pos = max(next, covered)
	}

	// One format covering the whole blob: its entries hang from the blob itself.
	collapse := len(chunks) == 1 && chunks[0].Offset == 0 &&
		(chunks[0].Size == size || r.isPadding(f, chunks[0].Size, size))
	if collapse {
		c := chunks[0]
		n.Format = c.Format
		n.kids = append(n.kids, c.kids...)
		if c.Error != "" {
			n.Error = joinErr(n.Error, c.Error)
		}
	} else {
		for _, c := range chunks {
			n.kids = append(n.kids, c)
		}
		if j.blob || len(chunks) > 0 {
			r.regions(n, f, chunks, size)
		}
	}
	for _, kids := range kidJobs {
		for _, k := range kids {
			r.push(k)
		}
	}
}

var scanBufPool = sync.Pool{New: func() any { b := make([]byte, scanWindow+64<<10); return &b }}

func safeIdentify(f firmware.Format, src io.ReaderAt, size int64) (ok bool) {
	defer func() {
		if recover() != nil {
			ok = false
		}
	}()
	return f.Identify(src, size)
}

// extract runs one format at one offset into its own folder.
func (r *runner) extract(j *job, f *os.File, c candidate, info firmware.Info, avail int64, anc []ancestor) (chunk *Node, kids []*job, length int64, ok bool) {
	name := fmt.Sprintf("0x%x.%s", c.start, info.Name)
	dir := path.Join(r.extractedDir(j), name)
	if err := r.root.MkdirAll(dir, 0o755); err != nil {
		j.node.Error = joinErr(j.node.Error, "create folder "+dir+": "+errString(err))
		return nil, nil, 0, false
	}
	sub, err := r.root.OpenRoot(dir)
	if err != nil {
		j.node.Error = joinErr(j.node.Error, "open folder "+dir+": "+errString(err))
		return nil, nil, 0, false
	}
	defer sub.Close()
	ext := &extentReader{r: io.NewSectionReader(f, c.start, avail)}
	blobKids := info.Kind == firmware.KindCompression || info.Kind == firmware.KindContainer
	s := newSink(r, sub, dir, j.node.name, blobKids, ext)
	s.early, s.depth, s.ancestors = !r.weak[info.Name], j.depth+1, anc
	n, xerr := safeExtract(r.ctx, c.f, ext, avail, s)
	s.close()
	if n <= 0 || n > avail || isLimit(xerr) {
		// A container stopped by a limit covers the rest of its blob:
		// carving on after it would let a bomb of many members restart.
		n = avail
	}
	limited := isLimit(xerr) || r.ctx.Err() != nil
	rejected := xerr != nil && s.count == 0 && !limited
	inside := c.start != 0 || !j.blob // found inside a file rather than being one
	// A weak signature found inside a file is common by chance: keep such
	// a chunk only if it produced something substantial.
	if !rejected && r.weak[info.Name] && inside && !limited &&
		(s.written.Load() < minWeakOutput || (n > 0 && n < minWeakInput)) {
		rejected = true
	}
	// A stream that failed after a few bytes, inside a file, is a magic
	// number that happened to be there (a decompressor's own constant).
	if !rejected && xerr != nil && !limited && inside && (info.Kind == firmware.KindCompression || r.weak[info.Name]) &&
		s.written.Load() < minFailedOutput {
		rejected = true
	}
	if rejected {
		// A signature that did not hold up: not a chunk.
		r.log.Debug("candidate rejected", "format", info.Name, "offset", c.start, "path", j.node.name, "err", xerr)
		_ = r.root.RemoveAll(dir)
		r.stats.Objects.Add(-int64(s.count))
		return nil, nil, 0, false
	}
	r.stats.Chunks.Add(1)
	chunk = &Node{name: name, Type: TypeChunk, Format: info.Name, Offset: c.start, Size: n, DiskPath: dir, kids: s.top}
	if xerr != nil {
		chunk.Error = errString(xerr)
		if isLimit(xerr) && r.ctx.Err() == nil {
			r.note(xerr)
		}
	}
	return chunk, s.files, n, true
}

func safeExtract(ctx context.Context, f firmware.Format, src io.ReaderAt, size int64, dst firmware.Sink) (n int64, err error) {
	defer func() {
		if p := recover(); p != nil {
			n, err = 0, fmt.Errorf("%s: internal error while reading: %v", f.Info().Name, p)
		}
	}()
	return f.Extract(ctx, src, size, dst)
}

func (r *runner) isPadding(f io.ReaderAt, from, to int64) bool {
	if to <= from {
		return true
	}
	_, pad, err := regionInfo(r.ctx, f, from, to-from)
	return err == nil && pad
}

// regions records the bytes between chunks that no format recognised.
func (r *runner) regions(n *Node, f io.ReaderAt, chunks []*Node, size int64) {
	var pos int64
	add := func(from, to int64) {
		if to <= from {
			return
		}
		ent, pad, err := regionInfo(r.ctx, f, from, to-from)
		reg := &Node{Type: TypeRegion, Offset: from, Size: to - from, Format: "unknown"}
		if pad {
			reg.Format = "padding"
		}
		reg.name = fmt.Sprintf("0x%x.%s", from, reg.Format)
		if err != nil {
			reg.Error = errString(err)
		} else {
			reg.Entropy = &ent
		}
		r.stats.Regions.Add(1)
		n.kids = append(n.kids, reg)
	}
	for _, c := range chunks {
		add(pos, c.Offset)
		pos = c.Offset + c.Size
	}
	add(pos, size)
}

func joinErr(a, b string) string {
	if a == "" {
		return b
	}
	return a + "; " + b
}
