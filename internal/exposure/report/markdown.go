package report

import (
	"fmt"
	"io"
	"strings"

	"github.com/netvet/netvet/internal/exposure"
	"github.com/netvet/netvet/internal/policy"
)

var mdEscaper = strings.NewReplacer(
	`\`, `\\`, "|", `\|`, "*", `\*`, "_", `\_`, "`", "\\`", "[", `\[`, "]", `\]`,
	"<", "&lt;", ">", "&gt;", "&", "&amp;", "#", `\#`, "\n", " ", "\r", " ",
)

// md escapes a value from the input for a Markdown table cell or line.
func md(s string) string { return mdEscaper.Replace(clean(s)) }

func mdRow(w io.Writer, cells ...string) {
	fmt.Fprintf(w, "| %s |\n", strings.Join(cells, " | "))
}

func mdHead(w io.Writer, cells ...string) {
	mdRow(w, cells...)
	seps := make([]string, len(cells))
	for i := range seps {
		seps[i] = "---"
	}
	mdRow(w, seps...)
}

func mdVendor(v exposure.VendorShare) string {
	if v.Designated {
		return md(v.Vendor) + " (designated)"
	}
	return md(v.Vendor)
}

func assessMarkdown(w io.Writer, a *exposure.Assessment) error {
	ew := &errWriter{w: w}
	ew.printf("# Vendor exposure report\n\n")
	mdHead(ew, "Item", "Value")
	mdRow(ew, "Inventory", md(a.Source))
	mdRow(ew, "Elements assessed", fmt.Sprint(a.Elements))
	mdRow(ew, "Rows skipped", fmt.Sprint(a.Skipped))
	mdRow(ew, "Policy packs", md(strings.Join(a.Packs, ", ")))
	mdRow(ew, "Date of assessment", a.At.String())
	mdRow(ew, "Designated vendors", md(strings.Join(a.Designated, ", ")))
	ew.printf("\n## Summary\n\n")
	for _, s := range a.Summary {
		ew.printf("- %s\n", md(s))
	}

	ew.printf("\n## Rules\n\n")
	mdHead(ew, "Deadline", "Pack", "Rule", "Title", "Kind", "State", "Elements at fault", "Source", "Source status")
	for _, r := range a.Rules {
		mdRow(ew, r.Deadline.String(), md(r.Pack), md(r.Rule), md(r.Title), string(r.Kind), r.State, fmt.Sprint(r.Elements), md(r.Source), string(r.Status))
	}

	ew.printf("\n## Violations\n\n")
	if len(a.Violations) == 0 {
		ew.printf("None.\n")
	} else {
		mdHead(ew, "Rule", "Deadline", "Due", "Days left", "Elements", "Share / cap", "Element IDs")
		for _, v := range a.Violations {
			sc := ""
			if v.Kind == policy.KindShareCap {
				sc = fmt.Sprintf("%s / %s by %s", pct(v.Share), pct(v.Cap), v.Metric)
			}
			mdRow(ew, md(v.Pack)+"/"+md(v.RuleID), v.Deadline.String(), fmt.Sprint(v.Due), fmt.Sprint(v.DaysLeft), fmt.Sprint(len(v.Elements)), sc, md(listIDs(v.Elements, 25)))
		}
	}

	ew.printf("\n## Vendor share by domain\n\n")
	mdHead(ew, "Domain", "Vendor", "Elements", "Share of elements", "Share of sites", "Share of traffic")
	names, rows := domainRows(a)
	for _, d := range names {
		r := rows[d]
		if r.elements == nil {
			continue
		}
		for _, v := range r.elements.Vendors {
			mdRow(ew, md(d), mdVendor(v), num(v.Value), pct(v.Share), shareOf(r.sites, v.Vendor), shareOf(r.traffic, v.Vendor))
		}
	}

	ew.printf("\n## Vendor concentration (Herfindahl-Hirschman index)\n\n")
	ew.printf("Sum of squared percentage shares, 0 to 10000; below %d unconcentrated, above %d highly concentrated.\n\n", exposure.HHIModerate, exposure.HHIHigh)
	mdHead(ew, "Domain", "Metric", "HHI", "Vendors", "Largest vendor", "Reading")
	for _, c := range a.Concentration {
		mdRow(ew, md(c.Domain), string(c.Metric), fmt.Sprintf("%.0f", c.HHI), fmt.Sprint(c.Vendors), md(c.Largest), c.Reading)
	}

	ew.printf("\n## Vendor share by function\n\n")
	mdHead(ew, "Domain", "Function", "Elements", "Vendors")
	for _, s := range a.SharesOf(exposure.ByFunction, policy.MetricElements) {
		var vs []string
		for _, v := range s.Vendors {
			vs = append(vs, mdVendor(v)+" "+pct(v.Share))
		}
		mdRow(ew, md(s.Domain), md(s.Group), num(s.Total), strings.Join(vs, ", "))
	}
	if len(a.Problems) > 0 {
		ew.printf("\n## Input problems\n\n")
		for i, p := range a.Problems {
			if i == 50 {
				ew.printf("- … %d more\n", len(a.Problems)-50)
				break
			}
			ew.printf("- %s\n", md(p.Error()))
		}
	}
	ew.printf("\nSource status: verified = checked against the published instrument; partial = partly checked; unverified = not checked.\n")
	return ew.err
}

func planMarkdown(w io.Writer, p *exposure.Plan) error {
	ew := &errWriter{w: w}
	ew.printf("# Replacement plan\n\n")
	mdHead(ew, "Item", "Value")
	mdRow(ew, "Inventory", md(p.Source))
	mdRow(ew, "Elements", fmt.Sprint(p.Elements))
	mdRow(ew, "Policy packs", md(strings.Join(p.Packs, ", ")))
	mdRow(ew, "Plan from", p.From.String())
	mdRow(ew, "Elements to replace", fmt.Sprint(p.Totals.Replace))
	ew.printf("\n## Summary\n\n")
	for _, s := range p.Summary {
		ew.printf("- %s\n", md(s))
	}
	for _, wv := range p.Waves {
		when := "by " + wv.Deadline.String()
		if wv.Overdue {
			when = "now (overdue on " + wv.Deadline.String() + ")"
		}
		ew.printf("\n## Wave %d, %s\n\n", wv.Number, when)
		mdHead(ew, "Rule", "Title", "Kind", "Deadline", "Share before / after / cap", "Items")
		for _, r := range wv.Rules {
			sc := ""
			if r.Kind == policy.KindShareCap {
				sc = fmt.Sprintf("%s / %s / %s by %s", pct(r.Share), pct(r.ShareAfter), pct(r.Cap), r.Metric)
			}
			mdRow(ew, md(r.Pack)+"/"+md(r.Rule), md(r.Title), string(r.Kind), r.Deadline.String(), sc, fmt.Sprint(r.Items))
		}
		ew.printf("\nTotals: %d items (%d to replace at %d sites, %d evaluations, %d support relocations); by domain: %s.\n\n",
			wv.Totals.Items, wv.Totals.Replace, wv.Totals.Sites, wv.Totals.Evidence, wv.Totals.Support, md(countList(wv.Totals.ByDomain)))
		if len(wv.Items) == 0 {
			continue
		}
		mdHead(ew, "Tier", "Action", "Element", "Vendor", "Domain", "Function", "Site", "Rules")
		for _, it := range wv.Items {
			site := md(it.Site)
			if it.SiteSensitivity != "" {
				site += " (" + md(it.SiteSensitivity) + ")"
			}
			mdRow(ew, it.Tier, it.Action, md(it.Element), md(it.Vendor), md(it.Domain), md(it.Function), site, md(strings.Join(it.Rules, ", ")))
		}
	}
	return ew.err
}

func countList(cs []exposure.Count) string {
	if len(cs) == 0 {
		return "none"
	}
	var b []string
	for _, c := range cs {
		b = append(b, fmt.Sprintf("%s %d", c.Name, c.N))
	}
	return strings.Join(b, ", ")
}

func diffMarkdown(w io.Writer, c *exposure.Change) error {
	ew := &errWriter{w: w}
	ew.printf("# Progress report\n\n")
	mdHead(ew, "Item", "Then", "Now")
	mdRow(ew, "Inventory", md(c.Old.Source), md(c.New.Source))
	mdRow(ew, "Elements", fmt.Sprint(c.Old.Elements), fmt.Sprint(c.New.Elements))
	mdRow(ew, "Elements of designated vendors", fmt.Sprint(c.Old.Designated), fmt.Sprint(c.New.Designated))
	mdRow(ew, "Violations due on "+c.At.String(), fmt.Sprint(c.Old.Violations), fmt.Sprint(c.New.Violations))
	ew.printf("\nPolicy packs: %s.\n\n## Summary\n\n", md(strings.Join(c.Packs, ", ")))
	for _, s := range c.Summary {
		ew.printf("- %s\n", md(s))
	}
	ew.printf("\n## Violations closed and opened\n\n")
	if len(c.Violations) == 0 {
		ew.printf("None.\n")
	} else {
		mdHead(ew, "Status", "Rule", "Title", "Deadline", "Elements then", "Elements now", "Closed", "Opened")
		for _, v := range c.Violations {
			mdRow(ew, v.Status, md(v.Pack)+"/"+md(v.Rule), md(v.Title), v.Deadline.String(), fmt.Sprint(v.Then), fmt.Sprint(v.Now), md(listIDs(v.Closed, 25)), md(listIDs(v.Opened, 25)))
		}
	}
	ew.printf("\n## Elements of designated vendors removed and added\n\n")
	if len(c.Changes) == 0 {
		ew.printf("None.\n")
	} else {
		mdHead(ew, "Change", "Element", "Vendor", "Domain", "Function", "Site", "Replaced by")
		for _, ch := range c.Changes {
			mdRow(ew, ch.Change, md(ch.ID), md(ch.Vendor), md(ch.Domain), md(ch.Function), md(ch.Site), md(ch.ReplacedBy))
		}
	}
	ew.printf("\n## Vendor share by domain, then and now\n\n")
	mdHead(ew, "Domain", "Metric", "Vendor", "Then", "Now", "Change (points)")
	for _, s := range c.Shares {
		v := md(s.Vendor)
		if s.Designated {
			v += " (designated)"
		}
		mdRow(ew, md(s.Domain), string(s.Metric), v, pct(s.Then), pct(s.Now), fmt.Sprintf("%+.1f", s.Delta*100))
	}
	return ew.err
}
