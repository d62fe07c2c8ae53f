package equiv

import (
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"strings"

	"github.com/netvet/netvet/internal/unpack"
)

// Formats are the output formats of Write.
var Formats = []string{"text", "json", "html"}

// Write renders the report as text, json or html.
func Write(w io.Writer, rep *Report, format string) error {
	switch format {
	case "text", "":
		return writeText(w, rep)
	case "json":
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		return enc.Encode(rep)
	case "html":
		return htmlTmpl.Execute(w, newView(rep))
	}
	return fmt.Errorf("unknown format %q (want %s)", format, strings.Join(Formats, ", "))
}

// VerdictLine is the one-line verdict.
func (r *Report) VerdictLine() string {
	switch r.Verdict {
	case VerdictIdentical:
		return "BIT-IDENTICAL: the two images are the same bytes"
	case VerdictEquivalent:
		var ns []string
		for _, n := range r.Normalisations {
			ns = append(ns, n.Name)
		}
		return "EQUIVALENT after normalisation: " + strings.Join(ns, ", ")
	case VerdictIncomplete:
		if r.Summary.Unverified == 0 {
			return "INCOMPLETE: the images differ, but in no object netvet compares"
		}
		return fmt.Sprintf("INCOMPLETE: no difference found, but %s could not be compared", plural(int64(r.Summary.Unverified), "object"))
	}
	verb := "differ"
	if r.Differences == 1 {
		verb = "differs"
	}
	return fmt.Sprintf("DIFFERENT: %s %s (%d changed, %d added, %d removed)", plural(int64(r.Differences), "object"), verb, r.Summary.Different, r.Summary.Added, r.Summary.Removed)
}

func (ch *Change) name() string {
	if ch.FSPath != "" {
		return ch.FSPath
	}
	return ch.Path
}

func writeText(w io.Writer, r *Report) error {
	ew := &errWriter{w: w}
	p := ew.printf
	p("netvet firmware diff\n")
	p("  A  %s  %s  sha256:%s\n", r.A.Image, unpack.HumanBytes(r.A.Size), r.A.SHA256)
	p("  B  %s  %s  sha256:%s\n\n", r.B.Image, unpack.HumanBytes(r.B.Size), r.B.SHA256)
	p("verdict: %s\n", r.VerdictLine())
	s := r.Summary
	p("compared %d objects: %d identical, %d equivalent, %d different, %d added, %d removed, %d unverified", s.Compared, s.Identical, s.Equivalent, s.Different, s.Added, s.Removed, s.Unverified)
	if s.ChangedInside > 0 {
		p("; %s changed only inside", plural(int64(s.ChangedInside), "container"))
	}
	p("\n")
	for _, wmsg := range r.Warnings {
		p("warning: %s\n", wmsg)
	}
	if len(r.Findings) > 0 {
		p("\nsecurity-relevant changes (%d):\n", len(r.Findings))
		for _, f := range r.Findings {
			loc := f.FSPath
			if f.Line > 0 {
				loc += fmt.Sprintf(":%d", f.Line)
			}
			p("  %-8s %s  %s  %s\n", strings.ToUpper(f.Severity.String()), f.Rule, loc, f.Title)
			p("           %s\n", f.Evidence)
		}
	}
	section := func(title string, st Status) {
		var list []Change
		for _, ch := range r.Changes {
			if ch.Status == st {
				list = append(list, ch)
			}
		}
		if len(list) == 0 {
			return
		}
		p("\n%s (%d):\n", title, len(list))
		for _, ch := range list {
			p("  %s  [%s", ch.name(), ch.Type)
			if ch.Format != "" {
				p(" %s", ch.Format)
			}
			p("]\n")
			if ch.FSPath != "" {
				p("      in %s\n", ch.Path)
			}
			for _, rs := range ch.Reasons {
				p("      %s\n", rs)
			}
			if ch.TLSH != nil {
				if ch.TLSH.Distance != nil {
					p("      TLSH distance %d\n", *ch.TLSH.Distance)
				} else {
					p("      TLSH: %s\n", ch.TLSH.Error)
				}
			}
			if ch.ELF != nil && ch.ELF.Error != "" {
				p("      ELF: %s\n", ch.ELF.Error)
			}
			if ch.Diff != "" {
				for _, l := range strings.Split(strings.TrimSuffix(ch.Diff, "\n"), "\n") {
					p("      %s\n", l)
				}
				if ch.DiffTruncated {
					p("      … diff truncated\n")
				}
			}
		}
	}
	section("different", StatusDifferent)
	section("added", StatusAdded)
	section("removed", StatusRemoved)
	section("unverified", StatusUnverified)
	var eq, plain []Change
	for _, ch := range r.Changes {
		if ch.Status != StatusEquivalent {
			continue
		}
		if onlyMTime(ch) {
			plain = append(plain, ch)
		} else {
			eq = append(eq, ch)
		}
	}
	if len(eq)+len(plain) > 0 {
		p("\nequivalent after normalisation (%d):\n", len(eq)+len(plain))
		const show = 25
		for i, ch := range eq {
			if i == show {
				p("  … and %d more (-f json lists every object and masked span)\n", len(eq)-show)
				break
			}
			p("  %s  %s\n", ch.name(), strings.Join(ch.Normalisations, ", "))
			for j, sp := range ch.Spans {
				if j == 3 {
					p("      … %d more spans\n", len(ch.Spans)-3+ch.SpansOmitted)
					break
				}
				label := sp.Normalisation
				if sp.Field != "" {
					label = sp.Field
				}
				p("      %s at %#x+%d: %s → %s\n", label, sp.OffsetB, sp.LengthB, sp.A, sp.B)
			}
			for _, m := range ch.Metadata {
				if m.Field != "mtime" {
					p("      %s: %s → %s\n", m.Field, m.A, m.B)
				}
			}
		}
		if len(plain) > 0 {
			var names []string
			for i, ch := range plain {
				if i == 8 {
					names = append(names, "…")
					break
				}
				names = append(names, ch.name())
			}
			p("  modification time only (%s): %s\n", plural(int64(len(plain)), "object"), strings.Join(names, ", "))
		}
	}
	if len(r.Normalisations) > 0 {
		p("\nnormalisations applied:\n")
		for _, n := range r.Normalisations {
			p("  %-18s %11s  %s\n", n.Name, plural(int64(n.Objects), "object"), n.Description)
		}
	}
	if len(r.Roots) > 0 {
		p("\nfile systems and archives:\n")
		for _, rp := range r.Roots {
			switch {
			case rp.A == "":
				p("  only in B: %s [%s]\n", rp.B, rp.FormatB)
			case rp.B == "":
				p("  only in A: %s [%s]\n", rp.A, rp.FormatA)
			default:
				p("  %s [%s] ↔ %s [%s]  (matched by %s, %.0f%% of paths shared)\n", rp.A, rp.FormatA, rp.B, rp.FormatB, rp.How, rp.Overlap*100)
			}
		}
	}
	return ew.err
}

type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) printf(format string, args ...any) {
	if e.err == nil {
		_, e.err = fmt.Fprintf(e.w, format, args...)
	}
}

type htmlView struct {
	*Report
	Line       string
	Different  []Change
	Equivalent []Change
	Class      string
}

func newView(r *Report) htmlView {
	v := htmlView{Report: r, Line: r.VerdictLine(), Class: string(r.Verdict)}
	for _, ch := range r.Changes {
		if ch.Status == StatusEquivalent || ch.Status == StatusIdentical || ch.Status == statusInner {
			v.Equivalent = append(v.Equivalent, ch)
		} else {
			v.Different = append(v.Different, ch)
		}
	}
	return v
}

var htmlTmpl = template.Must(template.New("diff").Funcs(template.FuncMap{
	"human": unpack.HumanBytes,
	"join":  strings.Join,
	"hex":   func(v int64) string { return fmt.Sprintf("%#x", v) },
	"upper": strings.ToUpper,
	"pct":   func(f float64) string { return fmt.Sprintf("%.0f%%", f*100) },
}).Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<title>netvet firmware diff: {{.A.Image}} → {{.B.Image}}</title>
<style>
body{font-family:system-ui,sans-serif;margin:2em;color:#222;max-width:80em}
h1{font-size:1.4em}h2{font-size:1.15em;margin-top:1.6em}
table{border-collapse:collapse;width:100%}td,th{border:1px solid #ccc;padding:.3em .5em;vertical-align:top;text-align:left;font-size:.92em}
th{background:#f3f3f3}code,pre{font-family:ui-monospace,monospace;font-size:.9em}
pre{background:#f8f8f8;padding:.5em;overflow-x:auto;margin:.3em 0}
.verdict{padding:.6em 1em;border-radius:4px;font-weight:bold}
.bit-identical,.equivalent{background:#e3f4e1}.different{background:#fbe3e1}.incomplete{background:#fff3cd}
.critical,.high{color:#a00;font-weight:bold}.medium{color:#a60}
</style></head><body>
<h1>netvet firmware diff</h1>
<table>
<tr><th></th><th>image</th><th>size</th><th>SHA-256</th></tr>
<tr><td>A</td><td>{{.A.Image}}</td><td>{{human .A.Size}}</td><td><code>{{.A.SHA256}}</code></td></tr>
<tr><td>B</td><td>{{.B.Image}}</td><td>{{human .B.Size}}</td><td><code>{{.B.SHA256}}</code></td></tr>
</table>
<p class="verdict {{.Class}}">{{.Line}}</p>
<p>Compared {{.Summary.Compared}} objects: {{.Summary.Identical}} identical, {{.Summary.Equivalent}} equivalent,
{{.Summary.Different}} different, {{.Summary.Added}} added, {{.Summary.Removed}} removed, {{.Summary.Unverified}} unverified;
{{.Summary.ChangedInside}} containers changed only inside.</p>
{{range .Warnings}}<p class="medium">Warning: {{.}}</p>{{end}}
{{if .Findings}}<h2>Security-relevant changes</h2>
<table><tr><th>severity</th><th>rule</th><th>path</th><th>offset</th><th>evidence</th></tr>
{{range .Findings}}<tr><td class="{{.Severity}}">{{upper .Severity.String}}</td><td>{{.Rule}}<br>{{.Title}}</td><td><code>{{.FSPath}}</code>{{if .Line}}:{{.Line}}{{end}}</td><td>{{if ge .Offset 0}}{{hex .Offset}}{{end}}</td><td>{{.Evidence}}<br><small>{{.Rationale}}</small></td></tr>
{{end}}</table>{{end}}
{{if .Different}}<h2>Differences</h2>
<table><tr><th>object</th><th>status</th><th>what differs</th></tr>
{{range .Different}}<tr><td><code>{{if .FSPath}}{{.FSPath}}{{else}}{{.Path}}{{end}}</code><br><small>{{.Path}}</small></td><td>{{.Status}}<br>{{.Type}} {{.Format}}</td><td>
{{range .Reasons}}{{.}}<br>{{end}}
{{if .TLSH}}{{if .TLSH.Distance}}TLSH distance {{.TLSH.Distance}}{{else}}TLSH: {{.TLSH.Error}}{{end}}<br>{{end}}
{{if .ELF}}{{if .ELF.Sections}}<table><tr><th>section</th><th>class</th><th>status</th><th>size A → B</th><th>bytes</th><th>first diff</th></tr>
{{range .ELF.Sections}}<tr><td><code>{{.Name}}</code></td><td>{{.Class}}</td><td>{{.Status}}</td><td>{{.SizeA}} → {{.SizeB}}</td><td>{{.BytesDiffer}}</td><td>{{if ge .FirstDiff 0}}{{hex .FirstDiff}}{{end}}</td></tr>{{end}}</table>{{end}}{{if .ELF.Error}}ELF: {{.ELF.Error}}{{end}}{{end}}
{{if .Diff}}<pre>{{.Diff}}</pre>{{if .DiffTruncated}}<small>diff truncated</small>{{end}}{{end}}
</td></tr>
{{end}}</table>{{end}}
{{if .Equivalent}}<h2>Equivalent after normalisation</h2>
<table><tr><th>object</th><th>normalisations</th><th>masked spans (offset in B + length: A → B)</th></tr>
{{range .Equivalent}}<tr><td><code>{{if .FSPath}}{{.FSPath}}{{else}}{{.Path}}{{end}}</code></td><td>{{join .Normalisations ", "}}</td><td>
{{range .Spans}}{{if .Field}}{{.Field}}{{else}}{{.Normalisation}}{{end}} at {{hex .OffsetB}}+{{.LengthB}}: <code>{{.A}}</code> → <code>{{.B}}</code><br>{{end}}
{{range .Metadata}}{{.Field}}: {{.A}} → {{.B}}<br>{{end}}</td></tr>
{{end}}</table>{{end}}
{{if .Normalisations}}<h2>Normalisations applied</h2>
<table><tr><th>name</th><th>objects</th><th>what it removes</th></tr>
{{range .Normalisations}}<tr><td>{{.Name}}</td><td>{{.Objects}}</td><td>{{.Description}}</td></tr>{{end}}</table>{{end}}
{{if .Roots}}<h2>File systems and archives</h2>
<table><tr><th>A</th><th>B</th><th>matched by</th><th>paths shared</th></tr>
{{range .Roots}}<tr><td>{{.A}} {{.FormatA}}</td><td>{{.B}} {{.FormatB}}</td><td>{{.How}}</td><td>{{pct .Overlap}}</td></tr>{{end}}</table>{{end}}
<p><small>{{.Tool}} {{.Version}}</small></p>
</body></html>
`))

// onlyMTime reports an object equivalent by its modification time alone.
func onlyMTime(ch Change) bool {
	if len(ch.Normalisations) != 1 || ch.Normalisations[0] != NormMTime || len(ch.Spans) > 0 {
		return false
	}
	for _, m := range ch.Metadata {
		if m.Field != "mtime" {
			return false
		}
	}
	return true
}
