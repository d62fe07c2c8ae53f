package verify

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"unicode"
	"unicode/utf8"
)

// WriteJSON writes the report as indented JSON.
func WriteJSON(w io.Writer, r *Report) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(r)
}

// maxExtraShown is how many files not named by any entry the text report
// lists; the JSON lists them all.
const maxExtraShown = 20

// WriteText writes the report for a person.
func WriteText(w io.Writer, r *Report) error {
	ew := &errWriter{w: w}
	ew.printf("netvet firmware verify: %s  %d bytes  sha256:%s\n", clean(r.Image.Name), r.Image.Size, r.Image.SHA256)
	ew.printf("verdict: %s\n", strings.ToUpper(r.Verdict))

	if len(r.Signatures) > 0 {
		ew.printf("\nSIGNATURES\n")
		for _, s := range r.Signatures {
			ew.printf("  %-15s %-17s %s", s.Verdict, s.Kind, clean(s.File))
			if s.SignedFile != "" {
				ew.printf(" over %s", clean(s.SignedFile))
			}
			ew.printf("\n")
			var facts []string
			if s.Signer != "" {
				facts = append(facts, "signer: "+clean(s.Signer))
			}
			if s.Issuer != "" {
				facts = append(facts, "issuer: "+clean(s.Issuer))
			}
			if s.KeyID != "" {
				facts = append(facts, "key: "+clean(s.KeyID))
			}
			if s.SignedAt != "" {
				facts = append(facts, "signed: "+s.SignedAt)
			}
			if len(facts) > 0 {
				ew.printf("      %s\n", strings.Join(facts, "; "))
			}
			for _, t := range s.Timestamps {
				ew.printf("      verified timestamp: %s\n", clean(t))
			}
			if s.Detail != "" {
				ew.printf("      %s\n", clean(s.Detail))
			}
		}
	}

	for _, p := range r.Provenance {
		ew.printf("\nPROVENANCE statement %d (%s)\n", p.Index+1, clean(p.StatementType))
		ew.printf("  predicate: %s\n", clean(p.PredicateType))
		if p.BuilderID != "" {
			ew.printf("  builder:   %s\n", clean(p.BuilderID))
		}
		if p.BuildType != "" {
			ew.printf("  build type: %s\n", clean(p.BuildType))
		}
		if p.StartedOn != "" || p.FinishedOn != "" {
			ew.printf("  built:     %s .. %s\n", clean(p.StartedOn), clean(p.FinishedOn))
		}
		for _, m := range p.Materials {
			name := m.URI
			if name == "" {
				name = m.Name
			}
			alg, d := Subject{Digest: m.Digest}.SubjectDigest()
			if d == "" {
				for a, v := range m.Digest {
					if alg == "" || a < alg {
						alg, d = a, v
					}
				}
			}
			if d != "" {
				ew.printf("  material:  %s  %s:%s\n", clean(name), clean(alg), clean(d))
			} else {
				ew.printf("  material:  %s\n", clean(name))
			}
		}
		if p.MoreMaterials > 0 {
			ew.printf("  … %d more materials\n", p.MoreMaterials)
		}
	}

	var checked, extra []Result
	for _, e := range r.Entries {
		if e.Status == NotInManifest {
			extra = append(extra, e)
		} else {
			checked = append(checked, e)
		}
	}
	if len(checked) > 0 {
		ew.printf("\nENTRIES\n")
		tw := tabwriter.NewWriter(ew, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "  STATUS\tSOURCE\tNAME\tDIGEST\tIN IMAGE")
		for _, e := range checked {
			src := e.Source
			if e.Line > 0 {
				src = fmt.Sprintf("%s:%d", e.Source, e.Line)
			}
			where := e.FSPath
			if where == "" {
				where = e.Path
			}
			status := e.Status
			if status != Match && status != Other {
				status = strings.ToUpper(status)
			}
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\n", status, src, clean(e.Name), digestLabel(e), clean(where))
		}
		tw.Flush()
		for _, e := range checked {
			if e.Status == Mismatch {
				ew.printf("  %s: expected %s:%s\n  %s  actual   %s:%s\n", clean(e.Name), e.Algorithm, e.Expected,
					strings.Repeat(" ", utf8.RuneCountInString(clean(e.Name))), e.Algorithm, e.Actual)
			}
			if e.Detail != "" && e.Status != Match && e.Status != Other && e.Status != Mismatch {
				ew.printf("  %s: %s\n", clean(e.Name), clean(e.Detail))
			}
		}
	}
	if len(extra) > 0 {
		ew.printf("\n%d files of the image are named by no entry (informational):\n", len(extra))
		for i, e := range extra {
			if i == maxExtraShown {
				ew.printf("  … %d more (-f json lists them all)\n", len(extra)-maxExtraShown)
				break
			}
			ew.printf("  %s  sha256:%s\n", clean(e.FSPath), e.Actual)
		}
	}
	if len(r.Notes) > 0 {
		ew.printf("\nNOTES\n")
		for _, n := range r.Notes {
			ew.printf("  %s\n", clean(n))
		}
	}
	if len(r.Problems) > 0 {
		ew.printf("\nPROBLEMS\n")
		for _, p := range r.Problems {
			ew.printf("  %s\n", clean(p))
		}
	}
	s := r.Summary
	ew.printf("\nsummary: %d match, %d mismatch, %d missing in image, %d unverified, %d other, %d not in manifest; signatures: %d valid, %d failed\n",
		s.Match, s.Mismatch, s.MissingInImage, s.Unverified, s.Other, s.NotInManifest, s.SignaturesValid, s.SignaturesFailed)
	return ew.err
}

func digestLabel(e Result) string {
	d := e.Expected
	if d == "" {
		d = e.Actual
	}
	if len(d) > 16 {
		d = d[:16] + "…"
	}
	if e.Algorithm == "" {
		return d
	}
	return e.Algorithm + ":" + d
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

// clean makes a string from the input safe to print on a terminal:
// control and bidirectional characters are shown escaped, long values cut.
func clean(s string) string {
	const max = 300
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
