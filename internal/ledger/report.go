package ledger

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"unicode"
	"unicode/utf8"

	"github.com/netvet/netvet/internal/store"
)

// WriteJSON writes v as indented JSON.
func WriteJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

// ListJSON is the JSON form of ledger list.
type ListJSON struct {
	Evaluations []ListRow `json:"evaluations"`
}

// ListRow is one evaluation with its image.
type ListRow struct {
	store.Evaluation
	Image store.Image `json:"image"`
}

// ListRows turns listed evaluations into the JSON rows.
func ListRows(l []store.Listed) ListJSON {
	out := ListJSON{Evaluations: []ListRow{}}
	for _, r := range l {
		out.Evaluations = append(out.Evaluations, ListRow{Evaluation: r.Evaluation, Image: r.Image})
	}
	return out
}

// maxChangesShown is how many differences the text report lists.
const maxChangesShown = 30

// WriteAddText reports what ledger add recorded.
func WriteAddText(w io.Writer, r *AddResult) error {
	ew := &errWriter{w: w}
	img := r.Image
	switch {
	case r.NewEvaluation:
		ew.printf("recorded: %s evaluated by %s (report %s, %s, %s)\n", clean(img.Name), clean(r.Evaluation.Lab), clean(r.Evaluation.Report), r.Evaluation.Scheme, r.Evaluation.Date)
	default:
		ew.printf("already recorded: %s evaluated by %s (report %s)\n", clean(img.Name), clean(r.Evaluation.Lab), clean(r.Evaluation.Report))
	}
	ew.printf("  image   sha256:%s  %d bytes\n", img.SHA256, img.Size)
	ew.printf("  content sha256:%s  %d files", img.ContentDigest, img.FileCount)
	if !img.Complete {
		ew.printf("  (INCOMPLETE unpack: equivalence is never claimed against this record)")
	}
	ew.printf("\n")
	if p := productLine(r.Evaluation); p != "" {
		ew.printf("  product %s\n", p)
	}
	for _, p := range r.Problems {
		ew.printf("  problem: %s\n", clean(p))
	}
	return ew.err
}

func productLine(e store.Evaluation) string {
	var parts []string
	for _, s := range []string{e.Vendor, e.Product, e.Version} {
		if s != "" {
			parts = append(parts, clean(s))
		}
	}
	return strings.Join(parts, " ")
}

// WriteCheckText reports a ledger check.
func WriteCheckText(w io.Writer, r *CheckResult) error {
	ew := &errWriter{w: w}
	ew.printf("netvet ledger check: %s  %d bytes  sha256:%s\n", clean(r.Image.Name), r.Image.Size, r.Image.SHA256)
	switch r.Status {
	case StatusEvaluated:
		ew.printf("EVALUATED: this exact image (same SHA-256) was evaluated\n")
		writeEvaluations(ew, r.Match.Evaluations)
	case StatusEquivalent:
		ew.printf("EQUIVALENT: this image holds the same files as an evaluated image (content sha256:%s, %d files)\n", r.ContentDigest, r.Files)
		for _, e := range r.Equivalent {
			ew.printf("  evaluated image %s  sha256:%s\n", clean(e.Image.Name), e.Image.SHA256)
			writeEvaluations(ew, e.Evaluations)
		}
	default:
		ew.printf("NOT EVALUATED: no evaluated image has this SHA-256 or this content (content sha256:%s, %d files)\n", r.ContentDigest, r.Files)
		if c := r.Closest; c != nil {
			ew.printf("closest evaluated image: %s  sha256:%s, %d files differ\n", clean(c.Image.Name), c.Image.SHA256, c.Differing)
			writeEvaluations(ew, c.Evaluations)
			tw := tabwriter.NewWriter(ew, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "  CHANGE\tOBJECT\tEVALUATED\tTHIS IMAGE")
			for i, ch := range c.Changes {
				if i == maxChangesShown {
					fmt.Fprintf(tw, "  …\t%d more (-f json lists them all)\t\t\n", len(c.Changes)-maxChangesShown)
					break
				}
				fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", ch.Change, clean(displayKey(ch)), describe(ch.Evaluated), describe(ch.Checked))
			}
			tw.Flush()
		}
	}
	for _, n := range r.Notes {
		ew.printf("note: %s\n", clean(n))
	}
	for _, p := range r.Problems {
		ew.printf("problem: %s\n", clean(p))
	}
	return ew.err
}

func displayKey(ch Change) string {
	f := ch.Checked
	if f == nil {
		f = ch.Evaluated
	}
	if f != nil && (f.Kind == KindBlob || f.Kind == KindRegion) {
		return f.Kind + " " + f.Path
	}
	return ch.Key
}

func describe(f *store.File) string {
	if f == nil {
		return "-"
	}
	switch {
	case f.Link != "":
		return fmt.Sprintf("%s -> %s %s", f.Kind, clean(f.Link), f.Mode)
	case f.SHA256 != "":
		s := f.SHA256
		if len(s) > 16 {
			s = s[:16] + "…"
		}
		if f.Mode == "" {
			return "sha256:" + s
		}
		return "sha256:" + s + " " + f.Mode
	}
	return strings.TrimSpace(f.Kind + " " + f.Mode)
}

func writeEvaluations(ew *errWriter, evs []store.Evaluation) {
	for _, e := range evs {
		ew.printf("  %s  %-10s  %s, report %s", e.Date, e.Scheme, clean(e.Lab), clean(e.Report))
		if p := productLine(e); p != "" {
			ew.printf("  (%s)", p)
		}
		ew.printf("\n")
	}
}

// WriteListText lists the recorded evaluations.
func WriteListText(w io.Writer, l []store.Listed) error {
	ew := &errWriter{w: w}
	if len(l) == 0 {
		ew.printf("the ledger records no evaluation\n")
		return ew.err
	}
	tw := tabwriter.NewWriter(ew, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "VENDOR\tPRODUCT\tVERSION\tDATE\tSCHEME\tLAB\tREPORT\tIMAGE\tSHA256")
	for _, r := range l {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", dash(r.Vendor), dash(r.Product), dash(r.Version), r.Date, r.Scheme,
			clean(r.Lab), clean(r.Report), clean(r.Image.Name), r.Image.SHA256[:min(16, len(r.Image.SHA256))]+"…")
	}
	return tw.Flush()
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return clean(s)
}

type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) Write(p []byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	n, err := e.w.Write(p)
	e.err = err
	return n, err
}

func (e *errWriter) printf(format string, args ...any) { fmt.Fprintf(e, format, args...) }

// clean makes text from an image or a user safe for a terminal.
func clean(s string) string {
	const max = 200
	var b strings.Builder
	n := 0
	for _, r := range s {
		if n >= max {
			b.WriteString("…")
			break
		}
		n++
		if r == utf8.RuneError || unicode.IsControl(r) || r == '\u2028' || r == '\u2029' || unicode.Is(unicode.Bidi_Control, r) {
			fmt.Fprintf(&b, "\\u%04x", r)
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}
