// Package metrics writes the Prometheus text exposition format (version
// 0.0.4) by hand, for the egress collector's /metrics endpoint.
package metrics

import (
	"bufio"
	"cmp"
	"io"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// Metric types.
const (
	Counter = "counter"
	Gauge   = "gauge"
)

// Label is one name="value" pair.
type Label struct{ Name, Value string }

// Sample is one value of a family.
type Sample struct {
	Labels []Label
	Value  float64
}

// Family is one metric name with its help text, type and samples.
type Family struct {
	Name, Help, Type string
	Samples          []Sample
}

// Write writes the families sorted by name, each sample's labels in the
// order given and samples sorted by their labels.
func Write(w io.Writer, fams []Family) error {
	bw := bufio.NewWriter(w)
	fams = slices.Clone(fams)
	slices.SortStableFunc(fams, func(a, b Family) int { return cmp.Compare(a.Name, b.Name) })
	for _, f := range fams {
		if !validName(f.Name) {
			continue
		}
		typ := f.Type
		if typ == "" {
			typ = "untyped"
		}
		bw.WriteString("# HELP " + f.Name + " " + escapeHelp(f.Help) + "\n")
		bw.WriteString("# TYPE " + f.Name + " " + typ + "\n")
		samples := slices.Clone(f.Samples)
		slices.SortStableFunc(samples, func(a, b Sample) int { return cmp.Compare(labelKey(a.Labels), labelKey(b.Labels)) })
		for _, s := range samples {
			bw.WriteString(f.Name)
			if len(s.Labels) > 0 {
				bw.WriteByte('{')
				for i, l := range s.Labels {
					if i > 0 {
						bw.WriteByte(',')
					}
					bw.WriteString(l.Name + `="` + escapeValue(l.Value) + `"`)
				}
				bw.WriteByte('}')
			}
			bw.WriteByte(' ')
			bw.WriteString(formatValue(s.Value))
			bw.WriteByte('\n')
		}
	}
	return bw.Flush()
}

// Handler serves the families gather returns at each request.
func Handler(gather func() []Family) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
		_ = Write(w, gather())
	})
}

func labelKey(ls []Label) string {
	var b strings.Builder
	for _, l := range ls {
		b.WriteString(l.Name)
		b.WriteByte(0)
		b.WriteString(l.Value)
		b.WriteByte(0)
	}
	return b.String()
}

func validName(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		ok := r == '_' || r == ':' || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || (i > 0 && r >= '0' && r <= '9')
		if !ok {
			return false
		}
	}
	return true
}

func escapeHelp(s string) string {
	return strings.NewReplacer(`\`, `\\`, "\n", `\n`).Replace(s)
}

func escapeValue(s string) string {
	return strings.NewReplacer(`\`, `\\`, "\n", `\n`, `"`, `\"`).Replace(s)
}

func formatValue(v float64) string {
	switch {
	case math.IsNaN(v):
		return "NaN"
	case math.IsInf(v, 1):
		return "+Inf"
	case math.IsInf(v, -1):
		return "-Inf"
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}
