// Package ledger is the evaluated-versions ledger: it records that a lab
// evaluated a firmware image (by its SHA-256 and by the per-file content of
// the unpacked image), under which scheme and in which report, and answers
// whether an image was evaluated, or an equivalent one (the same files with
// the same content, whatever the container, compression or timestamps), or
// which evaluated image is closest and how far.
package ledger

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/netvet/netvet/internal/firmware"
	"github.com/netvet/netvet/internal/store"
	"github.com/netvet/netvet/internal/unpack"
)

// Evaluation schemes.
const (
	SchemeNESAS    = "NESAS"
	SchemeSCAS     = "SCAS"
	SchemeNational = "national:" // followed by the national scheme's name
)

// ParseScheme checks and normalises a scheme: NESAS, SCAS (any case) or
// national:<name>.
func ParseScheme(s string) (string, error) {
	t := strings.TrimSpace(s)
	switch strings.ToUpper(t) {
	case SchemeNESAS:
		return SchemeNESAS, nil
	case SchemeSCAS:
		return SchemeSCAS, nil
	}
	if len(t) > len(SchemeNational) && strings.EqualFold(t[:len(SchemeNational)], SchemeNational) {
		name := strings.TrimSpace(t[len(SchemeNational):])
		if name != "" && utf8.ValidString(name) && len(name) <= 64 && !strings.ContainsAny(name, "\x00\n\r") {
			return SchemeNational + name, nil
		}
	}
	return "", fmt.Errorf("scheme %q: use NESAS, SCAS or national:<name> (national:BSI, national:ANSSI-CSPN, ...)", s)
}

// Record is what a lab's evaluation says.
type Record struct {
	Lab, Report, Date, Scheme string
	Vendor, Product, Version  string
}

// Validate checks the record and normalises its scheme and date.
func (r *Record) Validate() error {
	for _, f := range []struct{ name, v string }{{"--lab", r.Lab}, {"--report", r.Report}, {"--date", r.Date}, {"--scheme", r.Scheme}} {
		if strings.TrimSpace(f.v) == "" {
			return fmt.Errorf("%s is required", f.name)
		}
	}
	for _, f := range []struct{ name, v string }{{"--lab", r.Lab}, {"--report", r.Report}, {"--vendor", r.Vendor}, {"--product", r.Product}, {"--version", r.Version}} {
		if len(f.v) > 256 || !utf8.ValidString(f.v) || strings.ContainsAny(f.v, "\x00\n\r") {
			return fmt.Errorf("%s: at most 256 characters of one line of text", f.name)
		}
	}
	d, err := time.Parse(time.DateOnly, strings.TrimSpace(r.Date))
	if err != nil {
		return fmt.Errorf("--date %q: want YYYY-MM-DD", r.Date)
	}
	r.Date = d.Format(time.DateOnly)
	if r.Scheme, err = ParseScheme(r.Scheme); err != nil {
		return fmt.Errorf("--scheme: %w", err)
	}
	r.Lab, r.Report = strings.TrimSpace(r.Lab), strings.TrimSpace(r.Report)
	r.Vendor, r.Product, r.Version = strings.TrimSpace(r.Vendor), strings.TrimSpace(r.Product), strings.TrimSpace(r.Version)
	return nil
}

// Options say how an image is unpacked.
type Options struct {
	Registry *firmware.Registry
	Limits   unpack.Limits
	Workers  int
	Logger   *slog.Logger
	Version  string
	TempDir  string
	// Unpacked is an existing unpack folder of the image to use.
	Unpacked string
}

// ImageRef identifies an image file.
type ImageRef struct {
	Name   string `json:"name"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

// HashImage reads an image file's SHA-256 and size.
func HashImage(ctx context.Context, path string) (ImageRef, error) {
	f, err := os.Open(path)
	if err != nil {
		return ImageRef{}, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return ImageRef{}, err
	}
	if !st.Mode().IsRegular() {
		return ImageRef{}, fmt.Errorf("%s is not a regular file", path)
	}
	d := sha256.New()
	buf := make([]byte, 1<<20)
	var n int64
	for {
		if err := ctx.Err(); err != nil {
			return ImageRef{}, err
		}
		k, rerr := f.Read(buf)
		d.Write(buf[:k])
		n += int64(k)
		if errors.Is(rerr, io.EOF) {
			break
		}
		if rerr != nil {
			return ImageRef{}, rerr
		}
	}
	return ImageRef{Name: filepath.Base(path), Size: n, SHA256: hex.EncodeToString(d.Sum(nil))}, nil
}

// Scan unpacks the image (or reads the unpack folder given in o) and
// returns its canonical content.
func Scan(ctx context.Context, image string, ref ImageRef, o Options) (*Content, error) {
	if o.Registry == nil {
		return nil, errors.New("ledger: no format registry to unpack the image with")
	}
	var m *unpack.Manifest
	dir := o.Unpacked
	var unpackErr error
	if dir != "" {
		f, err := os.Open(filepath.Join(dir, unpack.ManifestName))
		if err != nil {
			return nil, fmt.Errorf("--unpacked %s: %w", dir, err)
		}
		m, err = unpack.ReadManifest(f)
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("--unpacked %s: %w", dir, err)
		}
		if m.Image.SHA256 != ref.SHA256 {
			return nil, fmt.Errorf("--unpacked %s was made from another image (sha256 %s, not %s)", dir, m.Image.SHA256, ref.SHA256)
		}
	} else {
		tmp, err := os.MkdirTemp(o.TempDir, "netvet-ledger-")
		if err != nil {
			return nil, fmt.Errorf("temporary folder: %w", err)
		}
		defer os.RemoveAll(tmp)
		dir = filepath.Join(tmp, "unpacked")
		lim := o.Limits
		if lim == (unpack.Limits{}) {
			lim = unpack.DefaultLimits()
		}
		m, unpackErr = unpack.Unpack(ctx, image, dir, unpack.Options{Registry: o.Registry, Limits: lim, Workers: o.Workers, Logger: o.Logger, Version: o.Version})
		if m == nil {
			return nil, fmt.Errorf("unpack %s: %w", image, unpackErr)
		}
		if unpackErr != nil && ctx.Err() != nil {
			return nil, ctx.Err()
		}
	}
	tree, err := m.Tree(dir, image, o.Registry)
	if err != nil {
		return nil, err
	}
	defer tree.Close()
	c, err := ContentOf(m, tree)
	if err != nil {
		return nil, err
	}
	if unpackErr != nil {
		c.Complete = false
		c.Problems = append([]string{"unpack incomplete: " + firstLine(unpackErr.Error())}, c.Problems...)
	} else if !m.Complete {
		c.Complete = false
		c.Problems = append([]string{"the unpack is incomplete (a limit was reached)"}, c.Problems...)
	}
	return c, nil
}

// AddResult is what ledger add did.
type AddResult struct {
	Image         store.Image      `json:"image"`
	Evaluation    store.Evaluation `json:"evaluation"`
	NewImage      bool             `json:"new_image"`
	NewEvaluation bool             `json:"new_evaluation"`
	Problems      []string         `json:"problems,omitempty"`
}

// Add records that the image at path was evaluated as rec says. The image
// is unpacked only the first time it is recorded.
func Add(ctx context.Context, db *store.DB, path string, rec Record, o Options) (*AddResult, error) {
	if err := rec.Validate(); err != nil {
		return nil, err
	}
	ref, err := HashImage(ctx, path)
	if err != nil {
		return nil, fmt.Errorf("image %s: %w", path, err)
	}
	res := &AddResult{}
	img, err := db.ImageBySHA256(ctx, ref.SHA256, false)
	if err != nil {
		return nil, err
	}
	if img == nil {
		c, err := Scan(ctx, path, ref, o)
		if err != nil {
			return nil, err
		}
		res.Problems = c.Problems
		in := store.Image{SHA256: ref.SHA256, Size: ref.Size, Name: ref.Name, ContentDigest: c.Digest, Complete: c.Complete}
		id, created, err := db.AddImage(ctx, in, c.Files)
		if err != nil {
			return nil, fmt.Errorf("record image: %w", err)
		}
		res.NewImage = created
		if img, err = db.ImageBySHA256(ctx, ref.SHA256, false); err != nil || img == nil {
			return nil, fmt.Errorf("record image %d: %v", id, err)
		}
	}
	res.Image = *img
	ev := store.Evaluation{ImageID: img.ID, Lab: rec.Lab, Report: rec.Report, Date: rec.Date, Scheme: rec.Scheme,
		Vendor: rec.Vendor, Product: rec.Product, Version: rec.Version}
	created, err := db.AddEvaluation(ctx, ev)
	if err != nil {
		return nil, err
	}
	res.NewEvaluation = created
	evs, err := db.Evaluations(ctx, img.ID)
	if err != nil {
		return nil, err
	}
	for _, e := range evs {
		if e.Lab == rec.Lab && e.Report == rec.Report {
			res.Evaluation = e
		}
	}
	return res, nil
}

// Check statuses.
const (
	StatusEvaluated    = "evaluated"
	StatusEquivalent   = "equivalent"
	StatusNotEvaluated = "not-evaluated"
)

// Evaluated is an evaluated image and its evaluations.
type Evaluated struct {
	Image       store.Image        `json:"image"`
	Evaluations []store.Evaluation `json:"evaluations"`
}

// Change is one difference between a checked image and an evaluated one.
type Change struct {
	// Change: "changed" (both have it, content, link or mode differ),
	// "added" (only the checked image has it), "removed" (only the
	// evaluated image has it).
	Change    string      `json:"change"`
	Key       string      `json:"key"`
	Checked   *store.File `json:"checked,omitempty"`
	Evaluated *store.File `json:"evaluated,omitempty"`
}

// Closest is the evaluated image nearest to a checked one.
type Closest struct {
	Evaluated
	Differing int      `json:"differing_files"`
	Changes   []Change `json:"changes"`
}

// CheckResult answers whether an image was evaluated.
type CheckResult struct {
	Image  ImageRef `json:"image"`
	Status string   `json:"status"`
	// Match is the evaluated image with the same SHA-256.
	Match *Evaluated `json:"match,omitempty"`
	// Equivalent lists evaluated images with the same content.
	Equivalent []Evaluated `json:"equivalent,omitempty"`
	// Closest is the nearest evaluated image when none matched.
	Closest       *Closest `json:"closest,omitempty"`
	ContentDigest string   `json:"content_digest,omitempty"`
	Files         int      `json:"files,omitempty"`
	Complete      bool     `json:"complete"`
	Notes         []string `json:"notes,omitempty"`
	Problems      []string `json:"problems,omitempty"`
}

// Evaluated reports whether the image or an equivalent one was evaluated.
func (r *CheckResult) Evaluated() bool {
	return r.Status == StatusEvaluated || r.Status == StatusEquivalent
}

// Check answers whether the image at path, or an equivalent one, was
// evaluated; if not, it names the closest evaluated image.
func Check(ctx context.Context, db *store.DB, path string, o Options) (*CheckResult, error) {
	ref, err := HashImage(ctx, path)
	if err != nil {
		return nil, fmt.Errorf("image %s: %w", path, err)
	}
	res := &CheckResult{Image: ref, Status: StatusNotEvaluated, Complete: true}
	img, err := db.ImageBySHA256(ctx, ref.SHA256, true)
	if err != nil {
		return nil, err
	}
	if img != nil {
		evs, err := db.Evaluations(ctx, img.ID)
		if err != nil {
			return nil, err
		}
		res.Status, res.Match = StatusEvaluated, &Evaluated{Image: *img, Evaluations: evs}
		res.ContentDigest, res.Files, res.Complete = img.ContentDigest, img.FileCount, img.Complete
		return res, nil
	}
	c, err := Scan(ctx, path, ref, o)
	if err != nil {
		return nil, err
	}
	res.ContentDigest, res.Files, res.Complete, res.Problems = c.Digest, len(c.Files), c.Complete, c.Problems
	if c.Complete {
		same, err := db.ImagesByContent(ctx, c.Digest)
		if err != nil {
			return nil, err
		}
		for _, s := range same {
			evs, err := db.Evaluations(ctx, s.ID)
			if err != nil {
				return nil, err
			}
			res.Equivalent = append(res.Equivalent, Evaluated{Image: s, Evaluations: evs})
		}
		if len(res.Equivalent) > 0 {
			res.Status = StatusEquivalent
			return res, nil
		}
	} else {
		res.Notes = append(res.Notes, "the unpack of this image is incomplete: netvet does not claim equivalence on partial content")
	}
	cands, err := db.Closest(ctx, c.Files, 1)
	if err != nil {
		return nil, err
	}
	if len(cands) == 0 {
		res.Notes = append(res.Notes, "the ledger records no evaluation")
		return res, nil
	}
	best := cands[0]
	evs, err := db.Evaluations(ctx, best.Image.ID)
	if err != nil {
		return nil, err
	}
	theirs, err := db.Files(ctx, best.Image.ID)
	if err != nil {
		return nil, err
	}
	changes := diff(c.Files, theirs)
	res.Closest = &Closest{Evaluated: Evaluated{Image: best.Image, Evaluations: evs}, Differing: len(changes), Changes: changes}
	if !best.Image.Complete {
		res.Notes = append(res.Notes, "the closest evaluated image was recorded from an incomplete unpack")
	}
	return res, nil
}

// diff lists the differences between two sorted file lists.
func diff(checked, evaluated []store.File) []Change {
	var out []Change
	i, j := 0, 0
	for i < len(checked) || j < len(evaluated) {
		switch {
		case j >= len(evaluated) || (i < len(checked) && checked[i].Key < evaluated[j].Key):
			f := checked[i]
			out = append(out, Change{Change: "added", Key: f.Key, Checked: &f})
			i++
		case i >= len(checked) || evaluated[j].Key < checked[i].Key:
			f := evaluated[j]
			out = append(out, Change{Change: "removed", Key: f.Key, Evaluated: &f})
			j++
		default:
			a, b := checked[i], evaluated[j]
			if a.Fingerprint != b.Fingerprint {
				out = append(out, Change{Change: "changed", Key: a.Key, Checked: &a, Evaluated: &b})
			}
			i++
			j++
		}
	}
	// Data outside filesystems is keyed by its digest: a blob or region
	// at the same place with other bytes shows as removed and added. Pair
	// those by path into one change.
	removed := map[string]int{}
	for k, c := range out {
		if c.Change == "removed" && (c.Evaluated.Kind == KindBlob || c.Evaluated.Kind == KindRegion) {
			if _, dup := removed[c.Evaluated.Kind+" "+c.Evaluated.Path]; !dup {
				removed[c.Evaluated.Kind+" "+c.Evaluated.Path] = k
			}
		}
	}
	drop := map[int]bool{}
	for k := range out {
		c := &out[k]
		if c.Change != "added" || (c.Checked.Kind != KindBlob && c.Checked.Kind != KindRegion) {
			continue
		}
		if r, ok := removed[c.Checked.Kind+" "+c.Checked.Path]; ok && !drop[r] {
			c.Change, c.Evaluated = "changed", out[r].Evaluated
			drop[r] = true
		}
	}
	kept := out[:0]
	for k, c := range out {
		if !drop[k] {
			kept = append(kept, c)
		}
	}
	out = kept
	sort.SliceStable(out, func(x, y int) bool { return out[x].Key < out[y].Key })
	return out
}

// List returns every recorded evaluation with its image.
func List(ctx context.Context, db *store.DB) ([]store.Listed, error) {
	return db.List(ctx)
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i] + " …"
	}
	return s
}
