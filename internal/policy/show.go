package policy

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// TableHeader is the header row of Table.
var TableHeader = []string{"rule", "kind", "scope", "vendors", "limit", "deadline", "status", "source"}

// Table returns a pack as rows for `netvet policy show`: a header row,
// then one row per rule in pack order.
func Table(p *Pack) [][]string {
	rows := [][]string{append([]string(nil), TableHeader...)}
	if p == nil {
		return rows
	}
	for _, r := range p.Rules {
		scope := r.Scope
		if strings.TrimSpace(scope) == "" {
			scope = "(every element)"
		}
		deadline := r.Deadline.String()
		if deadline == "" {
			deadline = "-"
		}
		if !r.OriginalDeadline.IsZero() && !r.OriginalDeadline.Equal(r.Deadline.Time) {
			deadline += " (was " + r.OriginalDeadline.String() + ")"
		}
		status := string(r.Status)
		if r.Proposal {
			status += ", proposal"
		}
		if r.Disabled {
			status += ", disabled"
		}
		source := r.Source
		if r.SourceURL != "" {
			source += " <" + r.SourceURL + ">"
		}
		rows = append(rows, []string{
			r.ID, string(r.Kind), oneLine(scope), designation(p, r), limit(r), deadline, status, oneLine(source),
		})
	}
	return rows
}

func designation(p *Pack, r *Rule) string {
	var parts []string
	if len(r.Vendors) > 0 {
		parts = append(parts, strings.Join(r.Vendors, ", "))
	}
	if r.VendorCriteria != "" {
		parts = append(parts, "where "+oneLine(r.VendorCriteria))
	}
	if len(parts) > 0 {
		return strings.Join(parts, "; or ")
	}
	switch r.Kind {
	case KindRequireEvidence, KindSupportLocality:
		return "(all vendors)"
	}
	if len(p.Vendors) > 0 {
		return strings.Join(p.Vendors, ", ")
	}
	return "-"
}

func limit(r *Rule) string {
	switch r.Kind {
	case KindForbid:
		return "none allowed"
	case KindRemoveBy:
		return "none by deadline"
	case KindNoNewInstall:
		what := "installs"
		if r.DateField == DatePurchase {
			what = "purchases"
		}
		return "no new " + what + " from deadline"
	case KindShareCap:
		return "share <= " + strconv.FormatFloat(math.Round(r.Cap*1e6)/1e4, 'f', -1, 64) + "% of " + metricNoun(r.Metric)
	case KindRequireEvidence:
		return "evidence: " + strings.Join(r.Evidence, ", ")
	case KindSupportLocality:
		return "support from: " + strings.Join(r.AllowedLocations, ", ")
	}
	return ""
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// Describe returns one line naming the pack, for headings.
func Describe(p *Pack) string {
	return fmt.Sprintf("%s — %s (%s), version %s, %d rules", p.ID, p.Name, p.Jurisdiction, p.Version, len(p.Rules))
}
