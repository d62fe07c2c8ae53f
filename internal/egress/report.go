package egress

import (
	"cmp"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"slices"
	"strings"
	"time"
)

// Report summarises a period per element: destinations by bytes, new
// destinations and beacon scores (allowed destinations included).
type Report struct {
	From          time.Time       `json:"from"`
	To            time.Time       `json:"to"`
	NewSince      time.Time       `json:"new_since"`
	Records       uint64          `json:"records"`
	Accepted      uint64          `json:"accepted"`
	UnknownSource uint64          `json:"unknown_source_dropped"`
	Sources       []Source        `json:"sources"`
	Elements      []ElementReport `json:"elements"`
}

// ElementReport is one element's part of a Report.
type ElementReport struct {
	Element          Element      `json:"element"`
	Bytes            uint64       `json:"bytes"`
	Flows            uint64       `json:"flows"`
	SelfReported     bool         `json:"self_reported"` // every flow came from the element's own export
	Evidence         []Evidence   `json:"evidence"`
	Destinations     []DestReport `json:"destinations"` // by bytes, at most the report's top N
	MoreDestinations int          `json:"more_destinations,omitempty"`
	New              []DestReport `json:"new_destinations,omitempty"` // first seen at or after NewSince, at most 10 × top
	MoreNew          int          `json:"more_new_destinations,omitempty"`
	Beacons          []BeaconRow  `json:"beacons,omitempty"` // score in the low band or above
}

// DestReport is one destination of an element.
type DestReport struct {
	Destination
	Allowed bool      `json:"allowed"` // every flow to it was allowed
	Ports   []string  `json:"denied_ports,omitempty"`
	Bytes   uint64    `json:"bytes"`
	Packets uint64    `json:"packets"`
	Flows   uint64    `json:"flows"`
	First   time.Time `json:"first_seen"`
	Last    time.Time `json:"last_seen"`
	// KnownSince is when an earlier run first saw the pair (--history).
	KnownSince time.Time `json:"known_since,omitzero"`
}

// BeaconRow is one scored pair.
type BeaconRow struct {
	Destination string  `json:"destination"`
	Score       int     `json:"score"`
	Band        string  `json:"band"`
	Kind        string  `json:"kind"`
	IntervalS   float64 `json:"interval_s"`
	Conns       int     `json:"connections"`
	Allowed     bool    `json:"allowed"`
}

// Report builds the report over everything fed so far. newSince zero
// means the last 24 hours of the data; top <= 0 means 10.
func (p *Pipeline) Report(newSince time.Time, top int) *Report {
	if top <= 0 {
		top = 10
	}
	if newSince.IsZero() && !p.now.IsZero() {
		newSince = p.now.Add(-24 * time.Hour)
	}
	r := &Report{From: p.first, To: p.now, NewSince: newSince, Records: p.stats.Records.Load(),
		Accepted: p.stats.Accepted.Load(), UnknownSource: p.stats.DropUnknownSource.Load(), Sources: p.Sources()}
	per := map[*Element]*ElementReport{}
	keys := make([]pairKey, 0, len(p.pairs))
	for k := range p.pairs {
		keys = append(keys, k)
	}
	sortKeys(keys)
	for _, k := range keys {
		pr := p.pairs[k]
		er := per[k.el]
		if er == nil {
			er = &ElementReport{Element: *k.el}
			if es := p.elems[k.el]; es != nil {
				var a Alert
				fillEvidence(&a, &es.ev)
				er.Evidence, er.SelfReported = a.Evidence, a.SelfReported
			}
			per[k.el] = er
		}
		er.Bytes += pr.bytes
		er.Flows += pr.flows
		d := DestReport{Destination: *p.destination(k.dst), Allowed: p.cfg.Policy != nil && !pr.denied, Ports: slices.Clone(pr.ports),
			Bytes: pr.bytes, Packets: pr.packets, Flows: pr.flows, First: pr.first, Last: pr.last, KnownSince: p.knownSince(k, pr.first)}
		er.Destinations = append(er.Destinations, d)
		if !pr.first.Before(newSince) && (d.KnownSince.IsZero() || !d.KnownSince.Before(newSince)) {
			if len(er.New) < 10*top {
				er.New = append(er.New, d)
			} else {
				er.MoreNew++
			}
		}
	}
	if !p.first.IsZero() {
		for _, b := range p.tracker.Score(p.first, p.now) {
			if b.Score < 50 {
				continue
			}
			for el, er := range per {
				if el.ID != b.Element {
					continue
				}
				pr := p.pairs[pairKey{el, b.Dst}]
				er.Beacons = append(er.Beacons, BeaconRow{Destination: b.Dst.String(), Score: b.Score, Band: b.Band, Kind: b.Kind,
					IntervalS: b.Interval.Seconds(), Conns: b.Conns, Allowed: pr != nil && p.cfg.Policy != nil && !pr.denied})
			}
		}
	}
	for _, er := range per {
		slices.SortStableFunc(er.Destinations, func(a, b DestReport) int { return cmp.Compare(b.Bytes, a.Bytes) })
		if len(er.Destinations) > top {
			er.MoreDestinations = len(er.Destinations) - top
			er.Destinations = er.Destinations[:top]
		}
		slices.SortStableFunc(er.Beacons, func(a, b BeaconRow) int {
			return cmp.Or(cmp.Compare(b.Score, a.Score), cmp.Compare(a.Destination, b.Destination))
		})
		r.Elements = append(r.Elements, *er)
	}
	slices.SortFunc(r.Elements, func(a, b ElementReport) int { return cmp.Compare(a.Element.ID, b.Element.ID) })
	return r
}

// WriteJSON writes the report as indented JSON.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

func sourceText(s Source) string {
	src := "exporter " + s.Exporter
	if s.Exporter == "" {
		src = "capture " + quote(s.Capture)
	}
	samp := "unsampled"
	if s.Sampled {
		samp = fmt.Sprintf("sampled 1:%d", s.SamplingRate)
	}
	self := ""
	if s.SelfReported {
		self = ", SELF-REPORTED: the element exports its own flows"
	}
	return fmt.Sprintf("%s (%s, %s, %d records%s)", src, s.Protocol, samp, s.Records, self)
}

func destText(d DestReport) string {
	var b strings.Builder
	b.WriteString(d.Address)
	if d.ASN != 0 {
		fmt.Fprintf(&b, " AS%d", d.ASN)
	}
	if d.Country != "" {
		b.WriteString(" " + quote(d.Country))
	}
	if d.Name != "" {
		b.WriteString(" " + quote(d.Name))
	}
	if d.Class != "public" {
		b.WriteString(" (" + d.Class + ")")
	}
	return b.String()
}

func allowedText(ok bool) string {
	if ok {
		return "allowed"
	}
	return "NOT ALLOWED"
}

// WriteText writes the report for a terminal.
func (r *Report) WriteText(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "egress report %s to %s\n", r.From.UTC().Format(time.RFC3339), r.To.UTC().Format(time.RFC3339))
	fmt.Fprintf(&b, "records: %d, from known elements: %d, unknown sources dropped: %d\n", r.Records, r.Accepted, r.UnknownSource)
	b.WriteString("evidence:\n")
	for _, s := range r.Sources {
		b.WriteString("  " + sourceText(s) + "\n")
	}
	for _, e := range r.Elements {
		fmt.Fprintf(&b, "\n%s  vendor=%s function=%s site=%s  bytes=%d flows=%d", quote(e.Element.ID), quote(e.Element.Vendor),
			quote(e.Element.Function), quote(e.Element.Site), e.Bytes, e.Flows)
		if e.SelfReported {
			b.WriteString("  SELF-REPORTED")
		}
		b.WriteString("\n  destinations by bytes:\n")
		for _, d := range e.Destinations {
			fmt.Fprintf(&b, "    %-15d %s  flows=%d  %s\n", d.Bytes, destText(d), d.Flows, allowedText(d.Allowed))
		}
		if e.MoreDestinations > 0 {
			fmt.Fprintf(&b, "    ... %d more\n", e.MoreDestinations)
		}
		if len(e.New) > 0 {
			fmt.Fprintf(&b, "  new since %s:\n", r.NewSince.UTC().Format(time.RFC3339))
			for _, d := range e.New {
				fmt.Fprintf(&b, "    %s  first=%s  %s\n", destText(d), d.First.UTC().Format(time.RFC3339), allowedText(d.Allowed))
			}
			if e.MoreNew > 0 {
				fmt.Fprintf(&b, "    ... %d more\n", e.MoreNew)
			}
		}
		if len(e.Beacons) > 0 {
			b.WriteString("  beacons:\n")
			for _, bc := range e.Beacons {
				fmt.Fprintf(&b, "    %3d %-6s %s  %s every %.0fs, %d connections  %s\n", bc.Score, bc.Band, bc.Destination, bc.Kind, bc.IntervalS, bc.Conns, allowedText(bc.Allowed))
			}
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

var reportHTML = template.Must(template.New("r").Funcs(template.FuncMap{
	"t":       func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
	"source":  sourceText,
	"allowed": allowedText,
	"high":    func(score int) bool { return score >= 70 },
}).Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>netvet egress report</title>
<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse;margin:.5em 0 1.5em}td,th{border:1px solid #ccc;padding:2px 8px;text-align:left}.bad{color:#b00;font-weight:bold}code{font-family:monospace}</style>
</head><body>
<h1>netvet egress report</h1>
<p>{{t .From}} to {{t .To}}. Records: {{.Records}}, from known elements: {{.Accepted}}, unknown sources dropped: {{.UnknownSource}}.</p>
<h2>Evidence</h2><ul>{{range .Sources}}<li><code>{{source .}}</code></li>{{end}}</ul>
<p>Flows an element exports about itself cannot be trusted to show everything it sends; sampled flows miss rare exchanges.</p>
{{range .Elements}}<h2>{{.Element.ID}}</h2>
<p>vendor {{.Element.Vendor}}, function {{.Element.Function}}, site {{.Element.Site}}; {{.Bytes}} bytes in {{.Flows}} flows{{if .SelfReported}} — <span class="bad">self-reported</span>{{end}}</p>
<table><tr><th>bytes</th><th>destination</th><th>AS</th><th>country</th><th>name</th><th>class</th><th>flows</th><th>first</th><th>last</th><th>allowlist</th></tr>
{{range .Destinations}}<tr><td>{{.Bytes}}</td><td><code>{{.Address}}</code></td><td>{{if .ASN}}AS{{.ASN}}{{end}}</td><td>{{.Country}}</td><td>{{.Name}}</td><td>{{.Class}}</td><td>{{.Flows}}</td><td>{{t .First}}</td><td>{{t .Last}}</td><td{{if not .Allowed}} class="bad"{{end}}>{{allowed .Allowed}}{{range .Ports}} {{.}}{{end}}</td></tr>
{{end}}</table>{{if .MoreDestinations}}<p>{{.MoreDestinations}} more destinations.</p>{{end}}
{{if .New}}<h3>New destinations</h3><ul>{{range .New}}<li><code>{{.Address}}</code> first seen {{t .First}} ({{allowed .Allowed}})</li>{{end}}{{if .MoreNew}}<li>{{.MoreNew}} more</li>{{end}}</ul>{{end}}
{{if .Beacons}}<h3>Beacons</h3><table><tr><th>score</th><th>band</th><th>destination</th><th>kind</th><th>interval (s)</th><th>connections</th><th>allowlist</th></tr>
{{range .Beacons}}<tr><td{{if high .Score}} class="bad"{{end}}>{{.Score}}</td><td>{{.Band}}</td><td><code>{{.Destination}}</code></td><td>{{.Kind}}</td><td>{{printf "%.0f" .IntervalS}}</td><td>{{.Conns}}</td><td>{{allowed .Allowed}}</td></tr>
{{end}}</table>{{end}}
{{end}}</body></html>
`))

// WriteHTML writes the report as a self-contained HTML page.
func (r *Report) WriteHTML(w io.Writer) error { return reportHTML.Execute(w, r) }
