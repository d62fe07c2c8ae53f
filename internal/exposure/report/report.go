// Package report renders exposure assessments, plans and diffs as text for
// a terminal, JSON (the stable machine contract), CSV, Markdown (a report a
// regulator can read) and HTML (one self-contained file with inline SVG
// charts).
package report

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/netvet/netvet/internal/exposure"
)

// Formats.
const (
	Text     = "text"
	JSON     = "json"
	CSV      = "csv"
	Markdown = "markdown"
	HTML     = "html"
)

// AssessFormats, PlanFormats and DiffFormats list what each report supports.
var (
	AssessFormats = []string{Text, JSON, CSV, Markdown, HTML}
	PlanFormats   = []string{Text, CSV, JSON, Markdown}
	DiffFormats   = []string{Text, JSON, Markdown}
)

// Supported reports whether format is in list.
func Supported(list []string, format string) bool {
	for _, f := range list {
		if f == format {
			return true
		}
	}
	return false
}

// Assessment writes a in format.
func Assessment(w io.Writer, a *exposure.Assessment, format string) error {
	switch format {
	case Text:
		return assessText(w, a)
	case JSON:
		return assessJSON(w, a)
	case CSV:
		return assessCSV(w, a)
	case Markdown:
		return assessMarkdown(w, a)
	case HTML:
		return assessHTML(w, a)
	}
	return fmt.Errorf("assessment: no %q output (use %s)", format, strings.Join(AssessFormats, ", "))
}

// Plan writes p in format.
func Plan(w io.Writer, p *exposure.Plan, format string) error {
	switch format {
	case Text:
		return planText(w, p)
	case JSON:
		return writeJSON(w, p)
	case CSV:
		return planCSV(w, p)
	case Markdown:
		return planMarkdown(w, p)
	}
	return fmt.Errorf("plan: no %q output (use %s)", format, strings.Join(PlanFormats, ", "))
}

// Diff writes c in format.
func Diff(w io.Writer, c *exposure.Change, format string) error {
	switch format {
	case Text:
		return diffText(w, c)
	case JSON:
		return writeJSON(w, c)
	case Markdown:
		return diffMarkdown(w, c)
	}
	return fmt.Errorf("diff: no %q output (use %s)", format, strings.Join(DiffFormats, ", "))
}

// assessJSON writes the assessment as writeJSON would, but streams the
// shares and violations one by one instead of building the whole document
// in memory first: a million-element inventory has hundreds of thousands
// of per-site shares.
func assessJSON(w io.Writer, a *exposure.Assessment) error {
	head := *a
	head.Shares, head.Violations = nil, nil
	b, err := marshalIndent(&head, "")
	if err != nil {
		return err
	}
	ew := &errWriter{w: w}
	rest := b
	for _, f := range []struct {
		key  string
		n    int
		item func(i int) any
	}{
		{`"shares": null`, len(a.Shares), func(i int) any { return &a.Shares[i] }},
		{`"violations": null`, len(a.Violations), func(i int) any { return &a.Violations[i] }},
	} {
		i := bytes.Index(rest, []byte(f.key))
		if i < 0 {
			return fmt.Errorf("assessment JSON: no %s placeholder", f.key)
		}
		ew.Write(rest[:i])
		ew.Write([]byte(f.key[:strings.Index(f.key, ":")+2]))
		rest = rest[i+len(f.key):]
		if f.n == 0 {
			ew.Write([]byte("[]"))
			continue
		}
		ew.Write([]byte("[\n"))
		for j := range f.n {
			ib, err := marshalIndent(f.item(j), "    ")
			if err != nil {
				return err
			}
			ew.Write([]byte("    "))
			ew.Write(ib)
			if j < f.n-1 {
				ew.Write([]byte(",\n"))
			} else {
				ew.Write([]byte("\n  ]"))
			}
		}
	}
	ew.Write(rest)
	ew.Write([]byte("\n"))
	return ew.err
}

// marshalIndent is json.MarshalIndent without HTML escaping, as writeJSON.
func marshalIndent(v any, prefix string) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent(prefix, "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

// clean makes a string from the input safe to print on a terminal:
// control characters (escape sequences among them) are shown escaped, and
// very long values are cut.
func clean(s string) string {
	const max = 200
	ok := true
	for _, r := range s {
		if r == utf8.RuneError || unicode.IsControl(r) || r == '\u2028' || r == '\u2029' || unicode.Is(unicode.Bidi_Control, r) {
			ok = false
			break
		}
	}
	if ok && len(s) <= max {
		return s
	}
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

func pct(x float64) string { return fmt.Sprintf("%.1f%%", x*100) }

// bar draws x (0..1) as a bar of width cells, in eighths.
func bar(x float64, width int) string {
	if x < 0 || x != x {
		x = 0
	}
	if x > 1 {
		x = 1
	}
	eighths := int(x*float64(width*8) + 0.5)
	full := eighths / 8
	var b strings.Builder
	b.WriteString(strings.Repeat("█", full))
	if r := eighths % 8; r > 0 {
		b.WriteRune([]rune("▏▎▍▌▋▊▉")[r-1])
	}
	return b.String()
}

// vendorLabel marks designated vendors with a star.
func vendorLabel(v exposure.VendorShare) string {
	if v.Designated {
		return clean(v.Vendor) + "*"
	}
	return clean(v.Vendor)
}

func num(x float64) string {
	if x == float64(int64(x)) {
		return fmt.Sprintf("%d", int64(x))
	}
	return fmt.Sprintf("%.4g", x)
}

func listIDs(ids []string, max int) string {
	var b []string
	for i, id := range ids {
		if i == max {
			b = append(b, fmt.Sprintf("… %d more", len(ids)-max))
			break
		}
		b = append(b, clean(id))
	}
	return strings.Join(b, ", ")
}

func plural(n int, one, many string) string {
	if n == 1 {
		return fmt.Sprintf("%d %s", n, one)
	}
	return fmt.Sprintf("%d %s", n, many)
}
