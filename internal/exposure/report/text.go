package report

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/netvet/netvet/internal/exposure"
	"github.com/netvet/netvet/internal/policy"
)

const barWidth = 20

// errWriter remembers the first write error.
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

func newTab(w io.Writer) *tabwriter.Writer { return tabwriter.NewWriter(w, 0, 4, 2, ' ', 0) }

// domainRows pairs each domain's element shares with its other metrics.
type domainRow struct {
	elements, sites, traffic *exposure.Share
	hhi                      map[policy.Metric]exposure.Concentration
}

func domainRows(a *exposure.Assessment) ([]string, map[string]*domainRow) {
	rows := map[string]*domainRow{}
	var names []string
	for i := range a.Shares {
		s := &a.Shares[i]
		if s.Dimension != exposure.ByDomain {
			continue
		}
		r := rows[s.Group]
		if r == nil {
			r = &domainRow{hhi: map[policy.Metric]exposure.Concentration{}}
			rows[s.Group] = r
			names = append(names, s.Group)
		}
		switch s.Metric {
		case policy.MetricElements:
			r.elements = s
		case policy.MetricSites:
			r.sites = s
		case policy.MetricTraffic:
			r.traffic = s
		}
	}
	for _, c := range a.Concentration {
		if r := rows[c.Domain]; r != nil {
			r.hhi[c.Metric] = c
		}
	}
	return names, rows
}

func shareOf(s *exposure.Share, vendor string) string {
	if s == nil {
		return "-"
	}
	for _, v := range s.Vendors {
		if v.Vendor == vendor {
			return pct(v.Share)
		}
	}
	return "0.0%"
}

func assessText(w io.Writer, a *exposure.Assessment) error {
	ew := &errWriter{w: w}
	ew.printf("netvet exposure assess: %s, %d elements", clean(a.Source), a.Elements)
	if a.Skipped > 0 {
		ew.printf(" (%d rows skipped)", a.Skipped)
	}
	ew.printf("; packs %s; at %s\n\n", clean(strings.Join(a.Packs, ", ")), a.At)
	for _, s := range a.Summary {
		ew.printf("  %s\n", clean(s))
	}

	ew.printf("\nVENDOR SHARE BY DOMAIN (* designated by a rule)\n")
	names, rows := domainRows(a)
	tw := newTab(ew)
	fmt.Fprintln(tw, "  DOMAIN\tVENDOR\tELEMENTS\tSHARE\t\tSITES\tTRAFFIC\tHHI")
	for _, d := range names {
		r := rows[d]
		if r.elements == nil {
			continue
		}
		for i, v := range r.elements.Vendors {
			dom, hhi := "", ""
			if i == 0 {
				dom = clean(d)
				if c, ok := r.hhi[policy.MetricElements]; ok {
					hhi = fmt.Sprintf("%.0f %s", c.HHI, c.Reading)
				}
			}
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", dom, vendorLabel(v), num(v.Value), pct(v.Share),
				bar(v.Share, barWidth), shareOf(r.sites, v.Vendor), shareOf(r.traffic, v.Vendor), hhi)
		}
	}
	tw.Flush()

	ew.printf("\nVENDOR SHARE BY FUNCTION (elements)\n")
	tw = newTab(ew)
	fmt.Fprintln(tw, "  DOMAIN\tFUNCTION\tELEMENTS\tVENDORS")
	for _, s := range a.SharesOf(exposure.ByFunction, policy.MetricElements) {
		var vs []string
		for _, v := range s.Vendors {
			vs = append(vs, vendorLabel(v)+" "+pct(v.Share))
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", clean(s.Domain), clean(s.Group), num(s.Total), strings.Join(vs, ", "))
	}
	tw.Flush()

	sites := a.SharesOf(exposure.BySite, policy.MetricElements)
	type siteRow struct {
		name    string
		total   float64
		des     float64
		vendors string
	}
	var sr []siteRow
	for _, s := range sites {
		r := siteRow{name: s.Group, total: s.Total}
		var vs []string
		for _, v := range s.Vendors {
			if v.Designated {
				r.des += v.Value
			}
			vs = append(vs, vendorLabel(v)+" "+num(v.Value))
		}
		r.vendors = strings.Join(vs, ", ")
		if r.des > 0 {
			sr = append(sr, r)
		}
	}
	ew.printf("\nSITES WITH DESIGNATED VENDORS: %d of %d", len(sr), len(sites))
	if len(sr) > 0 {
		sort.SliceStable(sr, func(i, j int) bool {
			if sr[i].des != sr[j].des {
				return sr[i].des > sr[j].des
			}
			return sr[i].name < sr[j].name
		})
		const maxSites = 15
		if len(sr) > maxSites {
			ew.printf(" (the %d with most designated elements; all sites in -f json)", maxSites)
			sr = sr[:maxSites]
		}
		ew.printf("\n")
		tw = newTab(ew)
		fmt.Fprintln(tw, "  SITE\tELEMENTS\tDESIGNATED\tVENDORS")
		for _, r := range sr {
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", clean(r.name), num(r.total), num(r.des), r.vendors)
		}
		tw.Flush()
	} else {
		ew.printf("\n")
	}

	ew.printf("\nRULES\n")
	tw = newTab(ew)
	fmt.Fprintln(tw, "  DEADLINE\tRULE\tKIND\tSTATE\tELEMENTS\tSOURCE (STATUS)")
	for _, r := range a.Rules {
		dl := r.Deadline.String()
		if dl == "" {
			dl = "-"
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%d\t%s (%s)\n", dl, clean(r.Rule), r.Kind, r.State, r.Elements, clean(r.Source), r.Status)
	}
	tw.Flush()

	if len(a.Violations) > 0 {
		ew.printf("\nVIOLATIONS\n")
		for _, v := range a.Violations {
			when := "due"
			switch {
			case !v.Due:
				when = "in " + plural(v.DaysLeft, "day", "days")
			case v.DaysLeft < 0:
				when = "overdue by " + plural(-v.DaysLeft, "day", "days")
			}
			dl := v.Deadline.String()
			if dl == "" {
				dl = "no deadline"
			}
			ew.printf("  %s  %s (%s), %s, %s\n", clean(v.RuleID), clean(v.Title), clean(v.Source), dl, when)
			if v.Kind == policy.KindShareCap {
				ew.printf("    share %s by %s, cap %s\n", pct(v.Share), v.Metric, pct(v.Cap))
			}
			ew.printf("    %s: %s\n", plural(len(v.Elements), "element", "elements"), listIDs(v.Elements, 10))
		}
	}
	if ev := a.Evaluation; ev != nil {
		ew.printf("\nEVALUATED VERSIONS (ledger %s, %d evaluated versions): %d of %d elements run a version no lab evaluated",
			clean(ev.Ledger), ev.Versions, ev.NotEvaluated, ev.Elements)
		if ev.NoVersion > 0 {
			ew.printf(" (%d without a software version)", ev.NoVersion)
		}
		ew.printf("\n")
		tw = newTab(ew)
		fmt.Fprintln(tw, "  DOMAIN\tELEMENTS\tNOT EVALUATED\tNO VERSION\tELEMENTS NOT EVALUATED")
		for _, d := range ev.Domains {
			fmt.Fprintf(tw, "  %s\t%d\t%d\t%d\t%s\n", clean(d.Domain), d.Elements, d.NotEvaluated, d.NoVersion, listIDs(d.NotEvaluatedElements, 5))
		}
		tw.Flush()
	}
	if len(a.Problems) > 0 {
		ew.printf("\nINPUT PROBLEMS (%d rows skipped)\n", a.Skipped)
		for i, p := range a.Problems {
			if i == 10 {
				ew.printf("  … %d more\n", len(a.Problems)-10)
				break
			}
			ew.printf("  %s\n", clean(p.Error()))
		}
	}
	return ew.err
}

func planText(w io.Writer, p *exposure.Plan) error {
	ew := &errWriter{w: w}
	ew.printf("netvet exposure plan: %s, %d elements; packs %s; from %s\n\n", clean(p.Source), p.Elements, clean(strings.Join(p.Packs, ", ")), p.From)
	for _, s := range p.Summary {
		ew.printf("  %s\n", clean(s))
	}
	for _, wv := range p.Waves {
		when := "by " + wv.Deadline.String()
		if wv.Overdue {
			when = "now (rules already due on " + wv.Deadline.String() + ")"
		}
		ew.printf("\nWAVE %d, %s: %s, %s\n", wv.Number, when, plural(wv.Totals.Items, "item", "items"), plural(wv.Totals.Sites, "site", "sites"))
		for _, r := range wv.Rules {
			ew.printf("  %s (%s: %s)", clean(r.Rule), strings.ToUpper(clean(r.Pack)), clean(r.Title))
			if r.Kind == policy.KindShareCap {
				ew.printf(": %s -> %s by %s, cap %s", pct(r.Share), pct(r.ShareAfter), r.Metric, pct(r.Cap))
			}
			if r.Items == 0 {
				ew.printf(": met by earlier waves\n")
			} else {
				ew.printf(", %s\n", plural(r.Items, "item", "items"))
			}
		}
		if len(wv.Items) == 0 {
			continue
		}
		tw := newTab(ew)
		fmt.Fprintln(tw, "  TIER\tACTION\tELEMENT\tVENDOR\tDOMAIN\tFUNCTION\tSITE\tRULES")
		for _, it := range wv.Items {
			site := clean(it.Site)
			if it.SiteSensitivity != "" {
				site += " (" + clean(it.SiteSensitivity) + ")"
			}
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", it.Tier, it.Action, clean(it.Element), clean(it.Vendor),
				clean(it.Domain), clean(it.Function), site, clean(strings.Join(it.Rules, " ")))
		}
		tw.Flush()
	}
	return ew.err
}

func diffText(w io.Writer, c *exposure.Change) error {
	ew := &errWriter{w: w}
	ew.printf("netvet exposure diff: %s (%d elements) -> %s (%d elements); packs %s; at %s\n\n",
		clean(c.Old.Source), c.Old.Elements, clean(c.New.Source), c.New.Elements, clean(strings.Join(c.Packs, ", ")), c.At)
	for _, s := range c.Summary {
		ew.printf("  %s\n", clean(s))
	}
	if len(c.Changes) > 0 {
		ew.printf("\nELEMENTS OF DESIGNATED VENDORS\n")
		tw := newTab(ew)
		fmt.Fprintln(tw, "  CHANGE\tELEMENT\tVENDOR\tDOMAIN\tFUNCTION\tSITE\tNOW")
		for _, ch := range c.Changes {
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\t%s\t%s\n", ch.Change, clean(ch.ID), clean(ch.Vendor), clean(ch.Domain), clean(ch.Function), clean(ch.Site), clean(ch.ReplacedBy))
		}
		tw.Flush()
	}
	ew.printf("\nVENDOR SHARE BY DOMAIN, THEN -> NOW (elements)\n")
	tw := newTab(ew)
	fmt.Fprintln(tw, "  DOMAIN\tVENDOR\tTHEN\tNOW\tCHANGE")
	last := ""
	for _, s := range c.Shares {
		if s.Metric != policy.MetricElements {
			continue
		}
		dom := ""
		if s.Domain != last {
			dom, last = clean(s.Domain), s.Domain
		}
		v := clean(s.Vendor)
		if s.Designated {
			v += "*"
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%+.1f pts\n", dom, v, pct(s.Then), pct(s.Now), s.Delta*100)
	}
	tw.Flush()
	if len(c.Violations) > 0 {
		ew.printf("\nVIOLATIONS\n")
		for _, v := range c.Violations {
			ew.printf("  %-7s %s (%s: %s): %d -> %d elements", v.Status, clean(v.Rule), strings.ToUpper(clean(v.Pack)), clean(v.Title), v.Then, v.Now)
			if v.Kind == policy.KindShareCap {
				ew.printf(", share %s -> %s", pct(v.ShareThen), pct(v.ShareNow))
			}
			ew.printf("\n")
			if len(v.Closed) > 0 {
				ew.printf("    closed: %s\n", listIDs(v.Closed, 10))
			}
			if len(v.Opened) > 0 {
				ew.printf("    opened: %s\n", listIDs(v.Opened, 10))
			}
		}
	}
	return ew.err
}
