package report

import (
	"encoding/csv"
	"io"
	"strconv"
	"strings"

	"github.com/netvet/netvet/internal/exposure"
)

// cell guards a value from the input against spreadsheet formula
// injection: a leading =, +, -, @, tab or carriage return gets a quote.
func cell(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

func ftoa(x float64) string { return strconv.FormatFloat(x, 'f', -1, 64) }

// assessCSV writes one row per element at fault in each violation.
func assessCSV(w io.Writer, a *exposure.Assessment) error {
	cw := csv.NewWriter(w)
	cw.Write([]string{"at", "pack", "rule", "kind", "title", "deadline", "due", "days_left", "status", "source",
		"element", "name", "vendor", "domain", "function", "generation", "site", "site_sensitivity", "metric", "share", "cap"})
	for _, v := range a.Violations {
		share, capv := "", ""
		if v.Metric != "" {
			share, capv = ftoa(v.Share), ftoa(v.Cap)
		}
		for _, id := range v.Elements {
			row := []string{a.At.String(), cell(v.Pack), cell(v.RuleID), string(v.Kind), cell(v.Title), v.Deadline.String(),
				strconv.FormatBool(v.Due), strconv.Itoa(v.DaysLeft), string(v.Status), cell(v.Source), cell(id)}
			if el := a.Element(id); el != nil {
				row = append(row, cell(el.Name), cell(el.Vendor), cell(el.Domain), cell(el.Function), cell(el.Generation), cell(el.Site), cell(el.SiteSensitivity))
			} else {
				row = append(row, "", "", "", "", "", "", "")
			}
			row = append(row, string(v.Metric), share, capv)
			if err := cw.Write(row); err != nil {
				return err
			}
		}
	}
	cw.Flush()
	return cw.Error()
}

// planCSV writes one row per plan item.
func planCSV(w io.Writer, p *exposure.Plan) error {
	cw := csv.NewWriter(w)
	cw.Write([]string{"wave", "deadline", "overdue", "tier", "action", "element", "name", "vendor", "domain", "function",
		"site", "site_sensitivity", "traffic_share", "premises_served", "rules"})
	for _, wv := range p.Waves {
		for _, it := range wv.Items {
			row := []string{strconv.Itoa(wv.Number), wv.Deadline.String(), strconv.FormatBool(wv.Overdue), it.Tier, it.Action,
				cell(it.Element), cell(it.Name), cell(it.Vendor), cell(it.Domain), cell(it.Function), cell(it.Site), cell(it.SiteSensitivity),
				ftoa(it.TrafficShare), strconv.FormatInt(it.PremisesServed, 10), cell(strings.Join(it.Rules, " "))}
			if err := cw.Write(row); err != nil {
				return err
			}
		}
	}
	cw.Flush()
	return cw.Error()
}
