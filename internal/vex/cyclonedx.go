package vex

import (
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
)

// CycloneDX VEX: a BOM (JSON, spec 1.4 and later) whose vulnerabilities
// carry an analysis. The components the "affects" refs point to are read
// from the same BOM, so a ref resolves to its purl and CPE.

type cdxBOM struct {
	BOMFormat       string        `json:"bomFormat"`
	SpecVersion     string        `json:"specVersion"`
	SerialNumber    string        `json:"serialNumber"`
	Metadata        *cdxMetadata  `json:"metadata"`
	Components      []cdxComp     `json:"components"`
	Vulnerabilities []cdxVulnerab `json:"vulnerabilities"`
}

type cdxMetadata struct {
	Timestamp string   `json:"timestamp"`
	Component *cdxComp `json:"component"`
}

type cdxComp struct {
	BOMRef     string    `json:"bom-ref"`
	Name       string    `json:"name"`
	Version    string    `json:"version"`
	PURL       string    `json:"purl"`
	CPE        string    `json:"cpe"`
	Hashes     []cdxHash `json:"hashes"`
	Components []cdxComp `json:"components"`
}

type cdxHash struct {
	Alg     string `json:"alg"`
	Content string `json:"content"`
}

type cdxVulnerab struct {
	BOMRef     string       `json:"bom-ref"`
	ID         string       `json:"id"`
	References []cdxRef     `json:"references"`
	Published  string       `json:"published"`
	Updated    string       `json:"updated"`
	Analysis   *cdxAnalysis `json:"analysis"`
	Affects    []cdxAffects `json:"affects"`
}

type cdxRef struct {
	ID string `json:"id"`
}

type cdxAnalysis struct {
	State         string   `json:"state"`
	Justification string   `json:"justification"`
	Response      []string `json:"response"`
	Detail        string   `json:"detail"`
	FirstIssued   string   `json:"firstIssued"`
	LastUpdated   string   `json:"lastUpdated"`
}

type cdxAffects struct {
	Ref string `json:"ref"`
}

var cdxJustifications = map[string]bool{
	"code_not_present":                true,
	"code_not_reachable":              true,
	"requires_configuration":          true,
	"requires_dependency":             true,
	"requires_environment":            true,
	"protected_by_compiler":           true,
	"protected_at_runtime":            true,
	"protected_at_perimeter":          true,
	"protected_by_mitigating_control": true,
}

var cdxResponses = map[string]bool{
	"can_not_fix": true, "will_not_fix": true, "update": true, "rollback": true, "workaround_available": true,
}

// maxComponents bounds the components read from a VEX BOM (nested too).
const maxComponents = 200_000

func parseCycloneDX(name string, b []byte) ([]*statement, error) {
	var d cdxBOM
	if err := json.Unmarshal(b, &d); err != nil {
		return nil, jsonError(name, b, err)
	}
	if err := checkSpecVersion(d.SpecVersion); err != nil {
		return nil, fmt.Errorf("%s: $.specVersion: %w", name, err)
	}
	if len(d.Vulnerabilities) > MaxStatements {
		return nil, fmt.Errorf("%s: $.vulnerabilities: %d entries, more than %d", name, len(d.Vulnerabilities), MaxStatements)
	}
	var docTime time.Time
	refs := map[string]product{}
	n := 0
	if d.Metadata != nil {
		t, err := parseTime(d.Metadata.Timestamp)
		if err != nil {
			return nil, fmt.Errorf("%s: $.metadata.timestamp: %w", name, err)
		}
		docTime = t
		if c := d.Metadata.Component; c != nil {
			if err := collect(*c, "$.metadata.component", refs, &n, 0); err != nil {
				return nil, fmt.Errorf("%s: %w", name, err)
			}
		}
	}
	for i, c := range d.Components {
		if err := collect(c, fmt.Sprintf("$.components[%d]", i), refs, &n, 0); err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
	}
	var out []*statement
	for i, v := range d.Vulnerabilities {
		at := fmt.Sprintf("$.vulnerabilities[%d]", i)
		if v.Analysis == nil || strings.TrimSpace(v.Analysis.State) == "" {
			continue // a vulnerability listing, not a disposition
		}
		st, err := cycloneDXStatement(v, refs, docTime, at)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		st.source = fmt.Sprintf("%s#/vulnerabilities/%d", name, i)
		out = append(out, st)
	}
	return out, nil
}

// checkSpecVersion accepts CycloneDX 1.4 and later: vulnerabilities and
// their analysis arrived in 1.4.
func checkSpecVersion(v string) error {
	maj, min, ok := strings.Cut(strings.TrimSpace(v), ".")
	a, err1 := strconv.Atoi(maj)
	b, err2 := strconv.Atoi(min)
	if !ok || err1 != nil || err2 != nil {
		return fmt.Errorf("%q is not a CycloneDX spec version", v)
	}
	if a != 1 || b < 4 {
		return fmt.Errorf("CycloneDX %s has no VEX analysis; 1.4 or later is needed", v)
	}
	return nil
}

// collect indexes the BOM's components by bom-ref, each as a product
// named by its purl, CPE, bom-ref and SHA-256.
func collect(c cdxComp, at string, refs map[string]product, n *int, depth int) error {
	*n++
	if *n > maxComponents {
		return fmt.Errorf("%s: more than %d components", at, maxComponents)
	}
	if depth > 32 {
		return fmt.Errorf("%s: components nested more than 32 deep", at)
	}
	var p product
	if c.BOMRef != "" {
		p.ids = append(p.ids, ident{kind: identRef, raw: c.BOMRef, pattern: c.BOMRef})
	}
	if c.PURL != "" {
		id := classify(c.PURL)
		if id.kind != identPURL {
			return fmt.Errorf("%s.purl: %q is not a package URL", at, c.PURL)
		}
		p.ids = append(p.ids, id)
	}
	if c.CPE != "" {
		id := classify(c.CPE)
		if id.kind != identCPE {
			return fmt.Errorf("%s.cpe: %q is not a CPE name", at, c.CPE)
		}
		p.ids = append(p.ids, id)
	}
	for k, h := range c.Hashes {
		if strings.EqualFold(h.Alg, "SHA-256") {
			x := strings.ToLower(strings.TrimSpace(h.Content))
			if !hexSHA256.MatchString(x) {
				return fmt.Errorf("%s.hashes[%d].content: not a SHA-256 digest", at, k)
			}
			p.sha256 = append(p.sha256, x)
		}
	}
	if c.BOMRef != "" {
		refs[c.BOMRef] = p
	}
	for i, sub := range c.Components {
		if err := collect(sub, fmt.Sprintf("%s.components[%d]", at, i), refs, n, depth+1); err != nil {
			return err
		}
	}
	return nil
}

func cycloneDXStatement(v cdxVulnerab, refs map[string]product, docTime time.Time, at string) (*statement, error) {
	ids := []string{v.ID}
	for _, r := range v.References {
		ids = append(ids, r.ID)
	}
	st := &statement{ids: idSet(ids...)}
	if len(st.ids) == 0 {
		return nil, fmt.Errorf("%s.id: empty", at)
	}
	a := v.Analysis
	when, err := parseTime(firstNonEmpty(a.LastUpdated, v.Updated, a.FirstIssued, v.Published))
	if err != nil {
		return nil, fmt.Errorf("%s.analysis.lastUpdated: %w", at, err)
	}
	if when.IsZero() {
		when = docTime
	}
	st.when = when
	if len(v.Affects) > MaxProducts {
		return nil, fmt.Errorf("%s.affects: %d entries, more than %d", at, len(v.Affects), MaxProducts)
	}
	for j, af := range v.Affects {
		ref := strings.TrimSpace(af.Ref)
		if ref == "" {
			return nil, fmt.Errorf("%s.affects[%d].ref: empty", at, j)
		}
		id := classify(ref)
		if p, ok := refs[id.raw]; ok && id.kind == identRef {
			st.products = append(st.products, p)
			continue
		}
		st.products = append(st.products, product{ids: []ident{id}})
	}
	j := strings.TrimSpace(a.Justification)
	if j != "" && !cdxJustifications[j] {
		return nil, fmt.Errorf("%s.analysis.justification: %q is not a CycloneDX justification", at, j)
	}
	var resp []string
	for k, r := range a.Response {
		if !cdxResponses[r] {
			return nil, fmt.Errorf("%s.analysis.response[%d]: %q is not a CycloneDX response (can_not_fix, will_not_fix, update, rollback, workaround_available)", at, k, r)
		}
		resp = append(resp, r)
	}
	sort.Strings(resp)
	st.justification = j
	switch a.State {
	case "resolved", "resolved_with_pedigree":
		st.status = StatusFixed
	case "exploitable":
		st.status = StatusAffected
		for _, r := range resp {
			if r == "will_not_fix" {
				st.status = StatusAccepted
			}
		}
	case "in_triage":
		st.status = StatusUnderInvestigation
	case "false_positive":
		st.status = StatusFalsePositive
	case "not_affected":
		if j == "" && strings.TrimSpace(a.Detail) == "" {
			return nil, fmt.Errorf("%s.analysis: state not_affected needs a justification or a detail", at)
		}
		st.status = StatusNotAffected
		if strings.HasPrefix(j, "protected_") {
			st.status = StatusMitigated
		}
	default:
		return nil, fmt.Errorf("%s.analysis.state: %q is not a CycloneDX analysis state (resolved, resolved_with_pedigree, exploitable, in_triage, false_positive, not_affected)", at, a.State)
	}
	st.text = strings.TrimSpace(a.Detail)
	if len(resp) > 0 {
		r := "response: " + strings.Join(resp, ", ")
		if st.text == "" {
			st.text = r
		} else {
			st.text += " (" + r + ")"
		}
	}
	return st, nil
}

func sortedKeys(m map[string]string) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}
