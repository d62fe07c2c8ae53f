package report

import (
	"fmt"
	"html/template"
	"io"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/netvet/netvet/internal/exposure"
	"github.com/netvet/netvet/internal/inventory"
	"github.com/netvet/netvet/internal/policy"
)

// Colours: warm for designated vendors, cool for the others.
var (
	warm = []string{"#c0392b", "#e67e22", "#d35400", "#a93226", "#f1948a", "#b9770e"}
	cool = []string{"#2e86c1", "#28b463", "#7d3c98", "#17a589", "#5d6d7e", "#1f618d", "#7dcea0", "#af7ac5", "#85929e", "#48c9b0"}
)

type htmlSeg struct {
	X, W          string
	Color, Vendor string
	Label         string
}

type htmlBar struct {
	Domain   string
	Y, TextY string
	Total    string
	Segments []htmlSeg
}

type htmlLegend struct {
	X, Color, Vendor string
}

type htmlTick struct {
	X, Label string
}

type htmlPoint struct {
	X, Y, R, LabelY string
	Anchor, DX      string
	Label, Title    string
	Color           string
}

type htmlData struct {
	A            *exposure.Assessment
	Bars         []htmlBar
	BarsH        int
	Legend       []htmlLegend
	LegendY      int
	Ticks        []htmlTick
	Points       []htmlPoint
	AtX          string
	TimelineH    int
	Domains      []htmlDomainRow
	Funcs        []exposure.Share
	Problems     []inventory.Problem
	MoreProblems int
}

type htmlDomainRow struct {
	Domain, Vendor, Elements, Share, Sites, Traffic string
	Designated                                      bool
}

func f1(x float64) string { return fmt.Sprintf("%.1f", x) }

func assessHTML(w io.Writer, a *exposure.Assessment) error {
	d := htmlData{A: a}
	// Colours per vendor, stable: by name within designated and others.
	colour := map[string]string{}
	var des, oth []string
	for _, s := range a.Shares {
		for _, v := range s.Vendors {
			if _, ok := colour[v.Vendor]; ok {
				continue
			}
			colour[v.Vendor] = ""
			if v.Designated {
				des = append(des, v.Vendor)
			} else {
				oth = append(oth, v.Vendor)
			}
		}
	}
	slices.Sort(des)
	slices.Sort(oth)
	for i, v := range des {
		colour[v] = warm[i%len(warm)]
	}
	for i, v := range oth {
		colour[v] = cool[i%len(cool)]
	}

	// Stacked bars of vendor share per domain, by elements.
	const labelW, barW, rowH = 150.0, 600.0, 26.0
	names, rows := domainRows(a)
	y := 10.0
	for _, dn := range names {
		r := rows[dn]
		if r.elements == nil {
			continue
		}
		b := htmlBar{Domain: dn, Y: f1(y), TextY: f1(y + 14), Total: num(r.elements.Total)}
		x := labelW
		for _, v := range r.elements.Vendors {
			wd := v.Share * barW
			b.Segments = append(b.Segments, htmlSeg{X: f1(x), W: f1(wd), Color: colour[v.Vendor], Vendor: v.Vendor,
				Label: fmt.Sprintf("%s: %s of %s elements (%s)", v.Vendor, pct(v.Share), dn, num(v.Value))})
			x += wd
		}
		d.Bars = append(d.Bars, b)
		for _, v := range r.elements.Vendors {
			d.Domains = append(d.Domains, htmlDomainRow{Domain: dn, Vendor: v.Vendor, Elements: num(v.Value), Share: pct(v.Share),
				Sites: shareOf(r.sites, v.Vendor), Traffic: shareOf(r.traffic, v.Vendor), Designated: v.Designated})
		}
		y += rowH
	}
	d.LegendY = int(y + 14)
	lx := labelW
	for _, v := range append(des, oth...) {
		d.Legend = append(d.Legend, htmlLegend{X: f1(lx), Color: colour[v], Vendor: v})
		lx += 14 + 8*float64(min(len(v), 20)) + 20
	}
	d.BarsH = int(y + 30)

	// Deadline timeline with violation counts.
	type pt struct {
		t     time.Time
		n     int
		label string
		due   bool
	}
	var pts []pt
	lo, hi := a.At.Time, a.At.Time
	for _, v := range a.Violations {
		t := v.Deadline.Time
		if v.Deadline.IsZero() {
			t = a.At.Time
		}
		pts = append(pts, pt{t, len(v.Elements), v.RuleID, v.Due})
		if t.Before(lo) {
			lo = t
		}
		if t.After(hi) {
			hi = t
		}
	}
	lo = time.Date(lo.Year(), 1, 1, 0, 0, 0, 0, time.UTC)
	hi = time.Date(hi.Year()+1, 1, 1, 0, 0, 0, 0, time.UTC)
	const tlX, tlW = 40.0, 820.0
	xOf := func(t time.Time) float64 {
		return tlX + tlW*float64(t.Sub(lo))/float64(hi.Sub(lo))
	}
	for yr := lo.Year(); yr <= hi.Year(); yr++ {
		d.Ticks = append(d.Ticks, htmlTick{X: f1(xOf(time.Date(yr, 1, 1, 0, 0, 0, 0, time.UTC))), Label: fmt.Sprint(yr)})
	}
	maxN := 1
	for _, p := range pts {
		maxN = max(maxN, p.n)
	}
	for i, p := range pts {
		r := 4 + 14*math.Sqrt(float64(p.n)/float64(maxN))
		ly := 40 + float64(i%6)*22
		c := "#e67e22"
		if p.due {
			c = "#c0392b"
		}
		x := xOf(p.t)
		anchor, dx := "start", "4"
		if x > tlX+tlW*0.6 {
			anchor, dx = "end", "-4"
		}
		d.Points = append(d.Points, htmlPoint{X: f1(x), Y: "180", R: f1(r), LabelY: f1(ly), Color: c, Anchor: anchor, DX: dx,
			Label: fmt.Sprintf("%s: %d", p.label, p.n), Title: fmt.Sprintf("%s, %s: %d elements", p.label, p.t.Format(time.DateOnly), p.n)})
	}
	d.AtX = f1(xOf(a.At.Time))
	d.TimelineH = 240
	d.Funcs = a.SharesOf(exposure.ByFunction, policy.MetricElements)
	d.Problems = a.Problems
	if len(d.Problems) > 100 {
		d.Problems = d.Problems[:100]
	}
	d.MoreProblems = len(a.Problems) - len(d.Problems) + a.MoreProblems
	return htmlTmpl.Execute(w, d)
}

var htmlTmpl = template.Must(template.New("report").Funcs(template.FuncMap{
	"pct":   pct,
	"num":   num,
	"join":  strings.Join,
	"ids":   func(ids []string) string { return listIDs(ids, 25) },
	"iscap": func(k policy.Kind) bool { return k == policy.KindShareCap },
}).Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Vendor exposure report: {{.A.Source}}</title>
<style>
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:2em auto;max-width:1100px;color:#1c2833;padding:0 1em}
h1{font-size:1.6em}h2{font-size:1.25em;margin-top:2em;border-bottom:1px solid #d5d8dc}
table{border-collapse:collapse;margin:.5em 0;font-size:.9em}
th,td{border:1px solid #d5d8dc;padding:.25em .6em;text-align:left;vertical-align:top}
th{background:#f4f6f7}
td.n{text-align:right}
.violated{color:#c0392b;font-weight:600}.upcoming{color:#b9770e}.compliant{color:#1e8449}
.des{font-weight:600}
svg text{font-size:12px;fill:#1c2833}
ul.summary li{margin:.2em 0}
</style>
</head>
<body>
<h1>Vendor exposure report</h1>
<table>
<tr><th>Inventory</th><td>{{.A.Source}}</td></tr>
<tr><th>Elements assessed</th><td>{{.A.Elements}}{{if .A.Skipped}} ({{.A.Skipped}} rows skipped){{end}}</td></tr>
<tr><th>Policy packs</th><td>{{join .A.Packs ", "}}</td></tr>
<tr><th>Date of assessment</th><td>{{.A.At}}</td></tr>
<tr><th>Designated vendors</th><td>{{join .A.Designated ", "}}</td></tr>
</table>

<h2>Summary</h2>
<ul class="summary">{{range .A.Summary}}<li>{{.}}</li>{{end}}</ul>

<h2>Vendor share per domain (elements)</h2>
<svg xmlns="http://www.w3.org/2000/svg" width="800" height="{{.BarsH}}" viewBox="0 0 800 {{.BarsH}}" role="img" aria-label="Vendor share per domain">
{{range $b := .Bars}}<text x="0" y="{{$b.TextY}}">{{$b.Domain}} ({{$b.Total}})</text>
{{range $b.Segments}}<rect x="{{.X}}" y="{{$b.Y}}" width="{{.W}}" height="20" fill="{{.Color}}"><title>{{.Label}}</title></rect>
{{end}}{{end}}{{range .Legend}}<rect x="{{.X}}" y="{{$.LegendY}}" width="12" height="12" fill="{{.Color}}"/><text x="{{.X}}" dx="16" dy="11" y="{{$.LegendY}}">{{.Vendor}}</text>
{{end}}</svg>
<p>Warm colours mark vendors designated by at least one rule.</p>
<table>
<tr><th>Domain</th><th>Vendor</th><th>Elements</th><th>Share of elements</th><th>Share of sites</th><th>Share of traffic</th></tr>
{{range .Domains}}<tr><td>{{.Domain}}</td><td{{if .Designated}} class="des"{{end}}>{{.Vendor}}{{if .Designated}} (designated){{end}}</td><td class="n">{{.Elements}}</td><td class="n">{{.Share}}</td><td class="n">{{.Sites}}</td><td class="n">{{.Traffic}}</td></tr>
{{end}}</table>

<h2>Deadlines and violations</h2>
{{if .Points}}<svg xmlns="http://www.w3.org/2000/svg" width="900" height="{{.TimelineH}}" viewBox="0 0 900 {{.TimelineH}}" role="img" aria-label="Deadlines and violation counts">
<line x1="40" y1="180" x2="860" y2="180" stroke="#85929e"/>
{{range .Ticks}}<line x1="{{.X}}" y1="176" x2="{{.X}}" y2="184" stroke="#85929e"/><text x="{{.X}}" y="205" text-anchor="middle">{{.Label}}</text>
{{end}}<line x1="{{.AtX}}" y1="20" x2="{{.AtX}}" y2="190" stroke="#1c2833" stroke-dasharray="4 3"/><text x="{{.AtX}}" y="14" text-anchor="middle">{{.A.At}}</text>
{{range .Points}}<line x1="{{.X}}" y1="{{.LabelY}}" x2="{{.X}}" y2="180" stroke="#d5d8dc"/><circle cx="{{.X}}" cy="{{.Y}}" r="{{.R}}" fill="{{.Color}}" fill-opacity="0.75"><title>{{.Title}}</title></circle><text x="{{.X}}" dx="{{.DX}}" y="{{.LabelY}}" text-anchor="{{.Anchor}}">{{.Label}}</text>
{{end}}</svg>
<p>Red: due on {{.A.At}}; orange: due later. Circle area grows with the number of elements at fault.</p>
{{else}}<p>No violations.</p>{{end}}

<h2>Rules</h2>
<table>
<tr><th>Deadline</th><th>Pack</th><th>Rule</th><th>Title</th><th>Kind</th><th>State</th><th>Elements at fault</th><th>Source</th><th>Source status</th></tr>
{{range .A.Rules}}<tr><td>{{.Deadline}}</td><td>{{.Pack}}</td><td>{{.Rule}}</td><td>{{.Title}}</td><td>{{.Kind}}</td><td class="{{.State}}">{{.State}}</td><td class="n">{{.Elements}}</td><td>{{.Source}}</td><td>{{.Status}}</td></tr>
{{end}}</table>

<h2>Violations</h2>
{{if .A.Violations}}<table>
<tr><th>Rule</th><th>Title</th><th>Deadline</th><th>Due</th><th>Days left</th><th>Elements</th><th>Share / cap</th><th>Element IDs</th></tr>
{{range .A.Violations}}<tr><td>{{.Pack}}/{{.RuleID}}</td><td>{{.Title}}</td><td>{{.Deadline}}</td><td{{if .Due}} class="violated"{{end}}>{{.Due}}</td><td class="n">{{.DaysLeft}}</td><td class="n">{{len .Elements}}</td><td>{{if iscap .Kind}}{{pct .Share}} / {{pct .Cap}} by {{.Metric}}{{end}}</td><td>{{ids .Elements}}</td></tr>
{{end}}</table>{{else}}<p>None.</p>{{end}}

<h2>Vendor concentration (Herfindahl-Hirschman index)</h2>
<p>Sum of squared percentage shares, 0 to 10000: below 1500 unconcentrated, 1500 to 2500 moderately, above 2500 highly concentrated.</p>
<table>
<tr><th>Domain</th><th>Metric</th><th>HHI</th><th>Vendors</th><th>Largest vendor</th><th>Reading</th></tr>
{{range .A.Concentration}}<tr><td>{{.Domain}}</td><td>{{.Metric}}</td><td class="n">{{printf "%.0f" .HHI}}</td><td class="n">{{.Vendors}}</td><td>{{.Largest}}</td><td>{{.Reading}}</td></tr>
{{end}}</table>

<h2>Vendor share per function (elements)</h2>
<table>
<tr><th>Domain</th><th>Function</th><th>Elements</th><th>Vendors</th></tr>
{{range .Funcs}}<tr><td>{{.Domain}}</td><td>{{.Group}}</td><td class="n">{{num .Total}}</td><td>{{range $i, $v := .Vendors}}{{if $i}}, {{end}}{{$v.Vendor}}{{if $v.Designated}}*{{end}} {{pct $v.Share}}{{end}}</td></tr>
{{end}}</table>
{{if .A.Problems}}
<h2>Input problems</h2>
<ul>{{range .Problems}}<li>{{.Error}}</li>{{end}}</ul>{{if .MoreProblems}}<p>… and {{.MoreProblems}} more (see -f json).</p>{{end}}{{end}}
</body>
</html>
`))
