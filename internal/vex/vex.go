// Package vex reads disposition documents — OpenVEX and CycloneDX VEX —
// and attaches their decisions to a scan's vulnerabilities and findings.
//
// A disposition never removes an item from the report: the item carries a
// firmware.Disposition saying what was decided (not affected, mitigated,
// accepted, fixed, ...), why, and which document and statement said so.
// firmware.Disposition.Suppresses then decides whether it still counts
// towards --fail-on.
//
// Vulnerabilities are matched by CVE (or other) ID and aliases, and by the
// statement's products: package URLs and CPEs compared with the
// component's, or the BOM reference netvet gave the component. Findings
// are matched by rule ID used as the vulnerability name ("NV-SVC-001"),
// narrowed by products naming files ("file:///etc/inittab", globs allowed)
// or manifest paths. See docs/vex.md for the rules and examples.
//
// The parsers are written for hostile input: bounded file size, bounded
// counts, errors that name the file and the JSON path.
package vex

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/netvet/netvet/internal/firmware"
)

// Limits on one document.
const (
	MaxFileSize      = 32 << 20
	MaxStatements    = 100_000
	MaxProducts      = 10_000 // per statement
	MaxSubcomponents = 10_000 // per product
)

// Disposition statuses netvet reports, beyond the four OpenVEX ones.
const (
	StatusNotAffected        = "not_affected"
	StatusAffected           = "affected"
	StatusFixed              = "fixed"
	StatusUnderInvestigation = "under_investigation"
	StatusMitigated          = "mitigated"
	StatusAccepted           = "accepted"
	StatusFalsePositive      = "false_positive"
)

// Set is the statements of one or more VEX documents, ready to apply.
type Set struct {
	statements []*statement
	sources    []string
	image      *firmware.ImageRef
}

// statement is one decision, from either format.
type statement struct {
	source        string // file#/json/pointer
	order         int    // load order, the last tie-breaker
	ids           map[string]bool
	products      []product // empty: every product
	status        string    // netvet status (see the constants)
	justification string
	text          string
	when          time.Time
}

// product is what a statement is about: identifiers of the thing itself,
// and optionally the subcomponents inside it that the statement concerns.
type product struct {
	ids    []ident
	subs   [][]ident
	sha256 []string // lower-case hex digests given for the product
}

// Load reads VEX documents (OpenVEX JSON or CycloneDX JSON 1.4 and later)
// and returns their statements. A file that cannot be read or parsed is an
// error naming the file and where in it; nothing is half-loaded.
func Load(paths ...string) (*Set, error) {
	s := &Set{}
	var errs []error
	for _, p := range paths {
		b, err := readBounded(p)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		sts, err := parse(p, b)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for _, st := range sts {
			st.order = len(s.statements)
			s.statements = append(s.statements, st)
		}
		s.sources = append(s.sources, p)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return s, nil
}

// Parse reads one document from memory; name is used in errors and as the
// disposition source.
func Parse(name string, data []byte) (*Set, error) {
	if len(data) > MaxFileSize {
		return nil, fmt.Errorf("%s: %d bytes, larger than the %d-byte limit for a VEX document", name, len(data), MaxFileSize)
	}
	sts, err := parse(name, data)
	if err != nil {
		return nil, err
	}
	for i, st := range sts {
		st.order = i
	}
	return &Set{statements: sts, sources: []string{name}}, nil
}

func readBounded(p string) ([]byte, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, fmt.Errorf("vex: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("vex: %s: %w", p, err)
	}
	if len(b) > MaxFileSize {
		return nil, fmt.Errorf("vex: %s: larger than the %d-byte limit for a VEX document", p, MaxFileSize)
	}
	return b, nil
}

// parse tells the two formats apart by their top-level keys.
func parse(name string, b []byte) ([]*statement, error) {
	var probe struct {
		Context    json.RawMessage `json:"@context"`
		Statements json.RawMessage `json:"statements"`
		BOMFormat  string          `json:"bomFormat"`
	}
	if err := json.Unmarshal(b, &probe); err != nil {
		return nil, jsonError(name, b, err)
	}
	switch {
	case probe.BOMFormat == "CycloneDX":
		return parseCycloneDX(name, b)
	case probe.Statements != nil || bytes.Contains(probe.Context, []byte("openvex")):
		return parseOpenVEX(name, b)
	}
	return nil, fmt.Errorf("%s: neither an OpenVEX document (no \"statements\") nor a CycloneDX BOM (no \"bomFormat\": \"CycloneDX\")", name)
}

// jsonError turns encoding/json errors into "file: line L, column C: ...".
func jsonError(name string, b []byte, err error) error {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		l, c := lineCol(b, se.Offset-1) // Offset is just past the bad byte
		return fmt.Errorf("%s: line %d, column %d: invalid JSON: %v", name, l, c, se)
	case errors.As(err, &te):
		l, c := lineCol(b, te.Offset-1) // Offset is just past the value
		field := te.Field
		if field == "" {
			field = "(document)"
		}
		return fmt.Errorf("%s: line %d, column %d: %s: a JSON %s where %s was expected", name, l, c, field, te.Value, te.Type)
	}
	return fmt.Errorf("%s: %w", name, err)
}

func lineCol(b []byte, off int64) (int, int) {
	if off < 0 {
		off = 0
	}
	if off > int64(len(b)) {
		off = int64(len(b))
	}
	line := 1 + bytes.Count(b[:off], []byte{'\n'})
	col := int(off) - bytes.LastIndexByte(b[:off], '\n')
	return line, col
}

// Sources lists the documents loaded, in load order.
func (s *Set) Sources() []string { return append([]string(nil), s.sources...) }

// Len is the number of statements.
func (s *Set) Len() int { return len(s.statements) }

// SetImage tells the set which image is being scanned, so that statements
// about an image by its SHA-256 apply to it and not to others.
func (s *Set) SetImage(img firmware.ImageRef) {
	c := img
	c.SHA256 = strings.ToLower(c.SHA256)
	s.image = &c
}

// ApplyVulns returns a copy of vs in which each vulnerability a statement
// covers carries that statement's disposition. comps are the components
// the vulnerabilities refer to (by ID); their purls and CPEs are what
// statement products are matched against. When several statements cover
// an item, the most recent wins, then the more specific, then the one
// loaded last.
func (s *Set) ApplyVulns(vs []firmware.Vulnerability, comps []firmware.Component) []firmware.Vulnerability {
	out := append([]firmware.Vulnerability(nil), vs...)
	if s == nil || len(s.statements) == 0 {
		return out
	}
	byID := make(map[string]*firmware.Component, len(comps))
	for i := range comps {
		byID[comps[i].ID] = &comps[i]
	}
	for i := range out {
		v := &out[i]
		keys := append([]string{v.ID}, v.Aliases...)
		c := byID[v.Component]
		if c == nil {
			c = &firmware.Component{ID: v.Component, Name: v.ComponentName, Version: v.ComponentVersion}
		}
		if st := s.best(keys, func(p product) int { return s.matchComponent(p, c) }); st != nil {
			v.Disposition = st.disposition()
		}
	}
	return out
}

// ApplyFindings returns a copy of fs in which each finding a statement
// covers (by rule ID, narrowed by file or manifest path) carries that
// statement's disposition.
func (s *Set) ApplyFindings(fs []firmware.Finding) []firmware.Finding {
	out := append([]firmware.Finding(nil), fs...)
	if s == nil || len(s.statements) == 0 {
		return out
	}
	for i := range out {
		f := &out[i]
		if st := s.best([]string{f.Rule}, func(p product) int { return s.matchFinding(p, f) }); st != nil {
			f.Disposition = st.disposition()
		}
	}
	return out
}

// best picks the statement that decides an item: it must name one of the
// keys and, if it lists products, one must match (match returns 0 for no,
// higher for more specific).
func (s *Set) best(keys []string, match func(product) int) *statement {
	var win *statement
	winSpec := -1
	for _, st := range s.statements {
		if !st.names(keys) {
			continue
		}
		spec := 0
		if len(st.products) > 0 {
			spec = -1
			for _, p := range st.products {
				if m := match(p); m > 0 && m > spec {
					spec = m
				}
			}
			if spec < 0 {
				continue
			}
		}
		if win == nil || st.when.After(win.when) ||
			st.when.Equal(win.when) && (spec > winSpec || spec == winSpec && st.order > win.order) {
			win, winSpec = st, spec
		}
	}
	return win
}

func (st *statement) names(keys []string) bool {
	for _, k := range keys {
		if st.ids[normID(k)] {
			return true
		}
	}
	return false
}

func (st *statement) disposition() *firmware.Disposition {
	return &firmware.Disposition{
		Status:        st.status,
		Justification: st.justification,
		Statement:     st.text,
		Source:        st.source,
	}
}

// normID upper-cases an ID and, for an IRI such as
// https://nvd.nist.gov/vuln/detail/CVE-2023-48795, keeps the last segment.
func normID(s string) string {
	s = strings.TrimSpace(s)
	if strings.Contains(s, "://") || strings.HasPrefix(s, "urn:") {
		s = strings.TrimRight(s, "/")
		if i := strings.LastIndexAny(s, "/:"); i >= 0 {
			s = s[i+1:]
		}
	}
	return strings.ToUpper(s)
}

func idSet(ids ...string) map[string]bool {
	m := map[string]bool{}
	for _, id := range ids {
		if n := normID(id); n != "" {
			m[n] = true
		}
	}
	return m
}

// Statements describes the loaded statements, for `netvet` to list.
func (s *Set) Statements() []Summary {
	out := make([]Summary, 0, len(s.statements))
	for _, st := range s.statements {
		ids := make([]string, 0, len(st.ids))
		for id := range st.ids {
			ids = append(ids, id)
		}
		sort.Strings(ids)
		out = append(out, Summary{IDs: ids, Status: st.status, Justification: st.justification, Source: st.source, Products: len(st.products)})
	}
	return out
}

// Summary is one loaded statement, briefly.
type Summary struct {
	IDs           []string `json:"ids"`
	Status        string   `json:"status"`
	Justification string   `json:"justification,omitempty"`
	Products      int      `json:"products"`
	Source        string   `json:"source"`
}
