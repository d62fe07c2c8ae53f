package firmware

import (
	"context"
	"fmt"
	"sort"
	"strings"
)

// Severity ranks a finding. The zero value is "unknown" and sorts lowest.
type Severity uint8

const (
	SeverityUnknown Severity = iota
	SeverityInfo
	SeverityLow
	SeverityMedium
	SeverityHigh
	SeverityCritical
)

var severityNames = [...]string{"unknown", "info", "low", "medium", "high", "critical"}

func (s Severity) String() string {
	if int(s) < len(severityNames) {
		return severityNames[s]
	}
	return "unknown"
}

// ParseSeverity reads a severity name (case-insensitive).
func ParseSeverity(s string) (Severity, error) {
	for i, n := range severityNames {
		if strings.EqualFold(s, n) {
			return Severity(i), nil
		}
	}
	return 0, fmt.Errorf("unknown severity %q (want critical, high, medium, low or info)", s)
}

// MarshalText writes the severity's name.
func (s Severity) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText reads a severity's name.
func (s *Severity) UnmarshalText(b []byte) error {
	v, err := ParseSeverity(string(b))
	if err != nil {
		return err
	}
	*s = v
	return nil
}

// Rule describes one check an analyser makes. Rule IDs are stable: reports,
// dispositions and baselines refer to them.
type Rule struct {
	ID       string   `json:"id"`    // e.g. "NV-ACCT-001"
	Title    string   `json:"title"` // what was found, for people
	Severity Severity `json:"severity"`
	// Rationale is one line on why it matters.
	Rationale string `json:"rationale"`
	// References are public sources (advisories, CVEs, write-ups).
	References []string `json:"references,omitempty"`
}

// Finding is one indicator, with the evidence a reader needs to check it
// by hand.
type Finding struct {
	Rule     string   `json:"rule"`
	Severity Severity `json:"severity"`
	Title    string   `json:"title"`
	// Path is the file's path in the unpack manifest: the image name, then
	// every container and chunk down to the file.
	Path string `json:"path"`
	// FSPath is the file's absolute path inside the filesystem or archive
	// it came from ("/etc/inittab"), empty when it is not inside one.
	FSPath string `json:"fs_path,omitempty"`
	// Offset is the byte offset of the evidence inside the file; -1 when
	// the finding is about the file as a whole.
	Offset int64 `json:"offset"`
	// Line is the 1-based line of the evidence in a text file, 0 if none.
	Line int `json:"line,omitempty"`
	// Evidence is the matched text or a description of what was seen,
	// with secrets redacted.
	Evidence   string   `json:"evidence"`
	Rationale  string   `json:"rationale"`
	References []string `json:"references,omitempty"`
	Analyzer   string   `json:"analyzer"`
	// Disposition is set when a VEX document dispositions the finding.
	Disposition *Disposition `json:"disposition,omitempty"`
}

// Disposition is a decision recorded about a finding or vulnerability.
type Disposition struct {
	// Status is one of not_affected, affected, fixed, under_investigation
	// (OpenVEX), or the CycloneDX analysis states mapped onto them, plus
	// "mitigated" and "accepted".
	Status        string `json:"status"`
	Justification string `json:"justification,omitempty"`
	Statement     string `json:"statement,omitempty"`
	Source        string `json:"source"` // the VEX document that said so
}

// Suppresses reports whether the disposition takes the item out of the
// set that --fail-on counts. The item is still reported.
func (d *Disposition) Suppresses() bool {
	if d == nil {
		return false
	}
	switch d.Status {
	case "not_affected", "fixed", "mitigated", "accepted", "false_positive", "resolved":
		return true
	}
	return false
}

// Finding fills a finding from the rule: ID, title, severity, rationale and
// references come from r, the location and evidence from the caller.
func (r Rule) Finding(f *File, offset int64, evidence string) Finding {
	fd := Finding{
		Rule: r.ID, Severity: r.Severity, Title: r.Title,
		Offset: offset, Evidence: evidence, Rationale: r.Rationale,
		References: r.References,
	}
	if f != nil {
		fd.Path, fd.FSPath = f.Path, f.FSPath
	}
	return fd
}

// AnalyzerInfo describes an analyser and every rule it can report.
type AnalyzerInfo struct {
	Name        string // stable lowercase ID
	Description string
	Rules       []Rule
}

// Reporter receives findings. It is safe for concurrent use.
type Reporter interface {
	Report(Finding)
}

// ReporterFunc adapts a function to Reporter.
type ReporterFunc func(Finding)

// Report calls f.
func (f ReporterFunc) Report(fd Finding) { f(fd) }

// Analyzer looks for one family of indicators in an unpacked image.
//
// Analyze must treat every file as hostile: bounded reads (Tree.ReadFile
// takes a cap), no trust in sizes or counts read from content, and it
// must return promptly when ctx is cancelled. A problem with one file is
// not an error: skip it (or report it as a finding if it matters). An
// error means the analyser as a whole could not run.
type Analyzer interface {
	Info() AnalyzerInfo
	Analyze(ctx context.Context, t *Tree, out Reporter) error
}

// AnalyzerRegistry is an explicit, ordered list of analysers.
type AnalyzerRegistry struct {
	list  []Analyzer
	rules map[string]Rule
}

// NewAnalyzerRegistry builds a registry. It panics on a duplicate analyser
// name or rule ID: that is a programming error in the one list.
func NewAnalyzerRegistry(as ...Analyzer) *AnalyzerRegistry {
	r := &AnalyzerRegistry{rules: map[string]Rule{}}
	names := map[string]bool{}
	for _, a := range as {
		info := a.Info()
		if info.Name == "" || names[info.Name] {
			panic(fmt.Sprintf("firmware: analyser %T has an empty or duplicate name %q", a, info.Name))
		}
		names[info.Name] = true
		for _, rule := range info.Rules {
			if rule.ID == "" {
				panic("firmware: analyser " + info.Name + " has a rule without an ID")
			}
			if _, dup := r.rules[rule.ID]; dup {
				panic("firmware: duplicate rule " + rule.ID)
			}
			r.rules[rule.ID] = rule
		}
		r.list = append(r.list, a)
	}
	return r
}

// Analyzers returns the analysers in registration order.
func (r *AnalyzerRegistry) Analyzers() []Analyzer { return append([]Analyzer(nil), r.list...) }

// Rule returns the rule with the given ID.
func (r *AnalyzerRegistry) Rule(id string) (Rule, bool) {
	rule, ok := r.rules[id]
	return rule, ok
}

// Rules returns every rule, sorted by ID.
func (r *AnalyzerRegistry) Rules() []Rule {
	out := make([]Rule, 0, len(r.rules))
	for _, rule := range r.rules {
		out = append(out, rule)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// SortFindings orders findings so that the same image always gives the same
// report: by severity (highest first), then rule, path, offset, line and
// evidence.
func SortFindings(fs []Finding) {
	sort.SliceStable(fs, func(i, j int) bool {
		a, b := fs[i], fs[j]
		if a.Severity != b.Severity {
			return a.Severity > b.Severity
		}
		if a.Rule != b.Rule {
			return a.Rule < b.Rule
		}
		if a.Path != b.Path {
			return a.Path < b.Path
		}
		if a.Offset != b.Offset {
			return a.Offset < b.Offset
		}
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return a.Evidence < b.Evidence
	})
}
