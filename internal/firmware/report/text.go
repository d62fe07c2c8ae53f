package report

import (
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/netvet/netvet/internal/firmware"
)

// ANSI styles of the text output.
const (
	ansiReset  = "\x1b[0m"
	ansiBold   = "\x1b[1m"
	ansiDim    = "\x1b[2m"
	ansiRed    = "\x1b[31m"
	ansiYellow = "\x1b[33m"
	ansiGreen  = "\x1b[32m"
	ansiCyan   = "\x1b[36m"
)

// Text output limits: the JSON and HTML outputs hold everything.
const (
	maxTextEvidence = 160
	maxTextField    = 200
	maxTextNotes    = 20
)

// textWriter writes the text report and remembers the first error.
type textWriter struct {
	w     io.Writer
	color bool
	err   error
}

func (t *textWriter) printf(format string, args ...any) {
	if t.err == nil {
		_, t.err = fmt.Fprintf(t.w, format, args...)
	}
}

// style wraps s in an ANSI style when colour is on.
func (t *textWriter) style(code, s string) string {
	if !t.color || code == "" {
		return s
	}
	return code + s + ansiReset
}

func severityStyle(s firmware.Severity) string {
	switch s {
	case firmware.SeverityCritical:
		return ansiBold + ansiRed
	case firmware.SeverityHigh:
		return ansiRed
	case firmware.SeverityMedium:
		return ansiYellow
	case firmware.SeverityLow:
		return ansiCyan
	}
	return ansiDim
}

// sev writes a severity upper case, padded to a column, coloured.
func (t *textWriter) sev(s firmware.Severity) string {
	return t.style(severityStyle(s), fmt.Sprintf("%-8s", strings.ToUpper(s.String())))
}

// clean makes s safe to print on one terminal line: invalid UTF-8 and
// every non-printing rune (control characters such as ESC, line breaks,
// bidirectional overrides, zero-width characters, non-ASCII spaces)
// become \x or \u escapes, so that nothing in an image can move the
// cursor, recolour the screen or hide text. At most max runes are kept
// (0: all), then "...".
func clean(s string, max int) string {
	var b strings.Builder
	n := 0
	for i := 0; i < len(s); {
		if max > 0 && n == max {
			b.WriteString("...")
			break
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case r == '\t':
			b.WriteString(`\t`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r < 0x80 && (r < 0x20 || r == 0x7f):
			fmt.Fprintf(&b, `\x%02x`, r)
		case r == ' ' || unicode.IsPrint(r):
			b.WriteRune(r)
		case r <= 0xffff:
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			fmt.Fprintf(&b, `\U%08x`, r)
		}
		i += size
		n++
	}
	return b.String()
}

func writeText(w io.Writer, r *firmware.ScanReport, opts Options) error {
	t := &textWriter{w: w, color: opts.Color}
	top := opts.Top
	if top == 0 {
		top = DefaultTop
	}

	// The image and the verdict.
	t.printf("%s %s\n", t.style(ansiBold, "image:"), clean(r.Image.Name, maxTextField))
	t.printf("  size     %d bytes (%s)\n", r.Image.Size, humanBytes(r.Image.Size))
	t.printf("  sha256   %s\n", clean(r.Image.SHA256, 64))
	if r.Version != "" {
		t.printf("  scanned  by %s %s\n", clean(toolName(r), 40), clean(r.Version, 40))
	}
	t.printf("\n%s %s\n", t.style(ansiBold, "verdict:"), t.verdict(r.Summary.Verdict))
	t.printf("  findings         %s\n", t.counts(r.Summary.Findings))
	if r.Database == nil && len(r.Vulnerabilities) == 0 {
		t.printf("  vulnerabilities  not matched (see notes)\n")
	} else {
		t.printf("  vulnerabilities  %s\n", t.counts(r.Summary.Vulnerabilities))
	}
	if r.Summary.Dispositioned > 0 {
		t.printf("  dispositioned    %d (reported, not counted in the verdict)\n", r.Summary.Dispositioned)
	}
	t.printf("  components       %d\n", r.Summary.Components)
	u := r.Unpack
	state := "complete"
	if !u.Complete {
		state = t.style(ansiYellow, "incomplete")
	}
	t.printf("  unpack           %s: %d files, %d chunks, %s written\n", state, u.Files, u.Chunks, humanBytes(u.Bytes))
	if db := r.Database; db != nil {
		t.printf("  database         schema %s, built %s\n", clean(db.SchemaVersion, 40), clean(db.Built, 40))
	}
	if len(r.VEX) > 0 {
		t.printf("  dispositions     %s\n", clean(strings.Join(r.VEX, ", "), maxTextField))
	}

	// Notes: what the reader must know to trust the rest.
	var notes []string
	notes = append(notes, r.Notes...)
	for _, a := range r.Analyzers {
		if a.Error != "" {
			notes = append(notes, "analyser "+a.Name+": "+a.Error)
		}
	}
	for _, e := range u.Errors {
		notes = append(notes, "unpack: "+e)
	}
	if len(notes) > 0 {
		t.printf("\n%s\n", t.style(ansiBold, "notes:"))
		for i, n := range notes {
			if i == maxTextNotes {
				t.printf("  ... %d more notes in the full report\n", len(notes)-i)
				break
			}
			t.printf("  - %s\n", clean(n, 2*maxTextField))
		}
	}

	t.findings(r.Findings, top)
	t.vulns(r.Vulnerabilities, top)

	// Hardening and components.
	h := r.Hardening
	t.printf("\n%s ", t.style(ansiBold, "hardening:"))
	if h.Binaries == 0 {
		t.printf("no ELF executables profiled\n")
	} else {
		t.printf("%d ELF executables: NX %.1f%%, PIE %.1f%%, full RELRO %.1f%%, canary %.1f%%, fortify %.1f%%, stripped %.1f%%\n",
			h.Binaries, h.NX, h.PIE, h.RELRO, h.Canary, h.Fortify, h.Stripped)
	}
	t.printf("%s %d", t.style(ansiBold, "components:"), len(r.Components))
	if eco := ecosystems(r.Components); len(eco) > 0 {
		parts := make([]string, len(eco))
		for i, e := range eco {
			parts[i] = fmt.Sprintf("%s %d", clean(e.name, 40), e.n)
		}
		t.printf(" (%s)", strings.Join(parts, ", "))
	}
	t.printf("\n")
	return t.err
}

func (t *textWriter) verdict(v string) string {
	switch v {
	case "fail":
		return t.style(ansiBold+ansiRed, "FAIL")
	case "review":
		return t.style(ansiBold+ansiYellow, "REVIEW")
	case "pass":
		return t.style(ansiBold+ansiGreen, "PASS")
	}
	return clean(strings.ToUpper(v), 20)
}

func (t *textWriter) counts(c firmware.Counts) string {
	var parts []string
	for _, s := range severityOrder {
		n := countOf(c, s)
		if s == firmware.SeverityUnknown && n == 0 {
			continue
		}
		p := fmt.Sprintf("%d %s", n, s)
		if n > 0 && s >= firmware.SeverityMedium {
			p = t.style(severityStyle(s), p)
		}
		parts = append(parts, p)
	}
	return strings.Join(parts, ", ")
}

// openFirst orders items open (not dispositioned away) before the rest,
// keeping the given order otherwise.
func openFirst[T any](items []T, disp func(*T) *firmware.Disposition) []T {
	out := make([]T, 0, len(items))
	for i := range items {
		if !disp(&items[i]).Suppresses() {
			out = append(out, items[i])
		}
	}
	for i := range items {
		if disp(&items[i]).Suppresses() {
			out = append(out, items[i])
		}
	}
	return out
}

func shown(n, top int) int {
	if top < 0 || top > n {
		return n
	}
	return top
}

func (t *textWriter) heading(what string, shownN, total int) {
	if shownN == total {
		t.printf("\n%s\n", t.style(ansiBold, fmt.Sprintf("%s (%d):", what, total)))
	} else {
		t.printf("\n%s\n", t.style(ansiBold, fmt.Sprintf("%s (top %d of %d):", what, shownN, total)))
	}
}

func (t *textWriter) findings(all []firmware.Finding, top int) {
	if len(all) == 0 {
		t.printf("\n%s none\n", t.style(ansiBold, "findings:"))
		return
	}
	fs := slices.Clone(all)
	firmware.SortFindings(fs)
	fs = openFirst(fs, func(f *firmware.Finding) *firmware.Disposition { return f.Disposition })
	n := shown(len(fs), top)
	t.heading("findings", n, len(fs))
	for _, f := range fs[:n] {
		t.printf("  %s %s  %s\n", t.sev(f.Severity), clean(f.Rule, 40), clean(f.Title, maxTextField))
		where := f.FSPath
		if where == "" {
			where = f.Path
		}
		loc := clean(where, maxTextField)
		if off := hexOffset(f.Offset); off != "" {
			loc += " offset " + off
		} else {
			loc += " (whole file)"
		}
		if f.Line > 0 {
			loc += " line " + strconv.Itoa(f.Line)
		}
		t.printf("           at %s\n", loc)
		if f.FSPath != "" && f.Path != "" {
			t.printf("           in %s\n", clean(f.Path, maxTextField))
		}
		if f.Evidence != "" {
			t.printf("           evidence: %s\n", clean(f.Evidence, maxTextEvidence))
		}
		if d := f.Disposition; d != nil {
			t.printf("           %s\n", t.style(ansiDim, "dispositioned: "+dispositionText(d)))
		}
	}
	if n < len(fs) {
		t.printf("  ... %d more in the full report (--format json or html)\n", len(fs)-n)
	}
}

func (t *textWriter) vulns(all []firmware.Vulnerability, top int) {
	if len(all) == 0 {
		return
	}
	vs := slices.Clone(all)
	slices.SortStableFunc(vs, func(a, b firmware.Vulnerability) int {
		if a.Severity != b.Severity {
			return int(b.Severity) - int(a.Severity)
		}
		if c := strings.Compare(a.ID, b.ID); c != 0 {
			return c
		}
		return strings.Compare(a.Component, b.Component)
	})
	vs = openFirst(vs, func(v *firmware.Vulnerability) *firmware.Disposition { return v.Disposition })
	n := shown(len(vs), top)
	t.heading("vulnerabilities", n, len(vs))
	for _, v := range vs[:n] {
		line := fmt.Sprintf("  %s %s  %s %s", t.sev(v.Severity), clean(v.ID, 40),
			clean(v.ComponentName, 60), clean(v.ComponentVersion, 40))
		if len(v.FixedIn) > 0 {
			line += "  fixed in " + clean(strings.Join(v.FixedIn, ", "), 80)
		} else if v.FixState != "" {
			line += "  (" + clean(v.FixState, 20) + ")"
		}
		if s := maxScore(&v); s > 0 {
			line += fmt.Sprintf("  CVSS %.1f", s)
		}
		if v.KEV {
			line += "  " + t.style(ansiBold+ansiRed, "known exploited")
		}
		if v.EPSS > 0 {
			line += "  EPSS " + strconv.FormatFloat(v.EPSS, 'g', 2, 64)
		}
		t.printf("%s\n", line)
		if d := v.Disposition; d != nil {
			t.printf("           %s\n", t.style(ansiDim, "dispositioned: "+dispositionText(d)))
		}
	}
	if n < len(vs) {
		t.printf("  ... %d more in the full report (--format json or html)\n", len(vs)-n)
	}
}

func dispositionText(d *firmware.Disposition) string {
	s := clean(d.Status, 40)
	if d.Justification != "" {
		s += " (" + clean(d.Justification, 80) + ")"
	}
	if d.Source != "" {
		s += " by " + clean(d.Source, 120)
	}
	if d.Statement != "" {
		s += ": " + clean(d.Statement, maxTextEvidence)
	}
	return s
}

type ecoCount struct {
	name string
	n    int
}

// ecosystems counts components by ecosystem, most first, then by name.
func ecosystems(cs []firmware.Component) []ecoCount {
	m := map[string]int{}
	for _, c := range cs {
		e := c.Ecosystem
		if e == "" {
			e = "unknown"
		}
		m[e]++
	}
	out := make([]ecoCount, 0, len(m))
	for k, v := range m {
		out = append(out, ecoCount{k, v})
	}
	slices.SortFunc(out, func(a, b ecoCount) int {
		if a.n != b.n {
			return b.n - a.n
		}
		return strings.Compare(a.name, b.name)
	})
	return out
}
