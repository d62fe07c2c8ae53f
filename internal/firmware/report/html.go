package report

import (
	_ "embed"
	"fmt"
	"html/template"
	"io"
	"reflect"
	"slices"
	"strings"

	"github.com/netvet/netvet/internal/firmware"
)

//go:embed scan.html.tmpl
var htmlSource string

// htmlTmpl renders the HTML report. html/template escapes every value for
// its context; the page loads nothing (its Content-Security-Policy forbids
// it) and runs no script.
var htmlTmpl = template.Must(template.New("scan").Funcs(template.FuncMap{
	"sevClass": func(s firmware.Severity) string { return "sev-" + s.String() },
	"hex":      hexOffset,
	"join":     strings.Join,
	"bytes":    humanBytes,
	"pct":      func(x float64) string { return fmt.Sprintf("%.1f%%", x) },
	"upper":    strings.ToUpper,
	"suppressed": func(d *firmware.Disposition) bool {
		return d.Suppresses()
	},
}).Parse(htmlSource))

// Chart geometry, in SVG user units.
const (
	chartLabelW = 150.0
	chartBarW   = 420.0
	chartRowH   = 22.0
	maxEcoRows  = 12
)

type htmlBar struct {
	Label, Title, Class string
	Y, TextY, W, X2     string
	N                   int
}

type htmlChart struct {
	Height int
	Bars   []htmlBar
}

type htmlGroup struct {
	Severity firmware.Severity
	Findings []firmware.Finding
}

type htmlHardening struct {
	Name  string
	Value float64
	W     string
}

type htmlData struct {
	R            *firmware.ScanReport
	Title        string
	Notes        []string
	SevChart     htmlChart
	EcoChart     htmlChart
	Groups       []htmlGroup
	Vulns        []firmware.Vulnerability
	Hardening    []htmlHardening
	VulnsSkipped bool
}

func f1(x float64) string { return fmt.Sprintf("%.1f", x) }

func writeHTML(w io.Writer, r *firmware.ScanReport) error {
	// Control and invisible characters become visible escapes, as in the
	// text output: a bidirectional override in evidence must not reorder
	// what the reader sees.
	r = visibleCopy(r)
	d := htmlData{R: r, Title: r.Image.Name}
	if d.Title == "" {
		d.Title = "image"
	}
	d.Notes = append(d.Notes, r.Notes...)
	for _, a := range r.Analyzers {
		if a.Error != "" {
			d.Notes = append(d.Notes, "analyser "+a.Name+": "+a.Error)
		}
	}
	for _, e := range r.Unpack.Errors {
		d.Notes = append(d.Notes, "unpack: "+e)
	}
	d.VulnsSkipped = r.Database == nil && len(r.Vulnerabilities) == 0

	// Severity chart: findings and vulnerabilities side by side.
	var rows []struct {
		s    firmware.Severity
		f, v int
	}
	peak := 1
	for _, s := range severityOrder {
		f, v := countOf(r.Summary.Findings, s), countOf(r.Summary.Vulnerabilities, s)
		if s == firmware.SeverityUnknown && f == 0 && v == 0 {
			continue
		}
		rows = append(rows, struct {
			s    firmware.Severity
			f, v int
		}{s, f, v})
		peak = max(peak, f, v)
	}
	y := 8.0
	for _, row := range rows {
		for i, n := range []int{row.f, row.v} {
			what, class := "findings", "sev-"+row.s.String()
			if i == 1 {
				what, class = "vulnerabilities", "sev-"+row.s.String()+" vuln"
			}
			wd := chartBarW * float64(n) / float64(peak)
			b := htmlBar{Class: class, Y: f1(y), TextY: f1(y + 8), W: f1(wd), X2: f1(chartLabelW + wd + 6), N: n,
				Title: fmt.Sprintf("%d %s %s", n, row.s, what)}
			if i == 0 {
				b.Label = row.s.String()
			}
			d.SevChart.Bars = append(d.SevChart.Bars, b)
			y += chartRowH / 2
		}
		y += 8
	}
	d.SevChart.Height = int(y + 4)

	// Components by ecosystem.
	eco := ecosystems(r.Components)
	if len(eco) > maxEcoRows {
		rest := 0
		for _, e := range eco[maxEcoRows-1:] {
			rest += e.n
		}
		eco = append(eco[:maxEcoRows-1:maxEcoRows-1], ecoCount{"other", rest})
	}
	peak = 1
	for _, e := range eco {
		peak = max(peak, e.n)
	}
	y = 8
	for _, e := range eco {
		wd := chartBarW * float64(e.n) / float64(peak)
		d.EcoChart.Bars = append(d.EcoChart.Bars, htmlBar{Label: e.name, Class: "eco", Y: f1(y), TextY: f1(y + 14),
			W: f1(wd), X2: f1(chartLabelW + wd + 6), N: e.n, Title: fmt.Sprintf("%s: %d components", e.name, e.n)})
		y += chartRowH
	}
	d.EcoChart.Height = int(y + 4)

	// Findings grouped by severity, highest first.
	fs := slices.Clone(r.Findings)
	firmware.SortFindings(fs)
	for _, f := range fs {
		if n := len(d.Groups); n == 0 || d.Groups[n-1].Severity != f.Severity {
			d.Groups = append(d.Groups, htmlGroup{Severity: f.Severity})
		}
		g := &d.Groups[len(d.Groups)-1]
		g.Findings = append(g.Findings, f)
	}
	d.Vulns = r.Vulnerabilities

	h := r.Hardening
	for _, m := range []struct {
		n string
		v float64
	}{{"NX (non-executable stack)", h.NX}, {"PIE", h.PIE}, {"Full RELRO", h.RELRO},
		{"Stack canary", h.Canary}, {"FORTIFY_SOURCE", h.Fortify}, {"Stripped", h.Stripped}} {
		v := min(max(m.v, 0), 100)
		d.Hardening = append(d.Hardening, htmlHardening{Name: m.n, Value: m.v, W: f1(2 * v)})
	}
	return htmlTmpl.Execute(w, d)
}

// visibleCopy returns a deep copy of r with every string passed through
// clean (no length limit).
func visibleCopy(r *firmware.ScanReport) *firmware.ScanReport {
	out := new(firmware.ScanReport)
	copyVisible(reflect.ValueOf(out).Elem(), reflect.ValueOf(r).Elem())
	return out
}

func copyVisible(dst, src reflect.Value) {
	switch src.Kind() {
	case reflect.String:
		dst.SetString(clean(src.String(), 0))
	case reflect.Struct:
		for i := range src.NumField() {
			if dst.Field(i).CanSet() {
				copyVisible(dst.Field(i), src.Field(i))
			}
		}
	case reflect.Slice:
		if src.IsNil() {
			return
		}
		s := reflect.MakeSlice(src.Type(), src.Len(), src.Len())
		for i := range src.Len() {
			copyVisible(s.Index(i), src.Index(i))
		}
		dst.Set(s)
	case reflect.Pointer:
		if src.IsNil() {
			return
		}
		p := reflect.New(src.Type().Elem())
		copyVisible(p.Elem(), src.Elem())
		dst.Set(p)
	case reflect.Map:
		if src.IsNil() {
			return
		}
		m := reflect.MakeMapWithSize(src.Type(), src.Len())
		for it := src.MapRange(); it.Next(); {
			k := reflect.New(src.Type().Key()).Elem()
			copyVisible(k, it.Key())
			v := reflect.New(src.Type().Elem()).Elem()
			copyVisible(v, it.Value())
			m.SetMapIndex(k, v)
		}
		dst.Set(m)
	default:
		dst.Set(src)
	}
}
