package report

import (
	"encoding/json"
	"io"

	"github.com/netvet/netvet/internal/firmware"
)

// writeJSON writes the report as indented JSON: the struct as it is, in
// the order the pipeline sorted it, except that the top-level arrays and
// each component's locations are [] rather than null when empty.
// database stays null when vulnerability matching was skipped (notes says
// why). <, > and & are written as they are, not as \u escapes, so that
// evidence reads the same as in the image.
func writeJSON(w io.Writer, r *firmware.ScanReport) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(normalised(r))
}

// normalised returns a shallow copy of r whose arrays are never null.
// r is not modified.
func normalised(r *firmware.ScanReport) *firmware.ScanReport {
	c := *r
	c.Analyzers = orEmpty(c.Analyzers)
	c.Components = orEmpty(c.Components)
	c.Vulnerabilities = orEmpty(c.Vulnerabilities)
	c.Findings = orEmpty(c.Findings)
	c.Binaries = orEmpty(c.Binaries)
	c.Rules = orEmpty(c.Rules)
	for i := range c.Components {
		if c.Components[i].Locations == nil {
			comps := make([]firmware.Component, len(c.Components))
			copy(comps, c.Components)
			for j := range comps {
				comps[j].Locations = orEmpty(comps[j].Locations)
			}
			c.Components = comps
			break
		}
	}
	return &c
}

func orEmpty[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
