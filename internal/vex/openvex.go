package vex

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// OpenVEX v0.2.0 (https://github.com/openvex/spec). Older documents
// (v0.0.x, where vulnerability and products were plain strings) are read
// too.

type ovDoc struct {
	Context     json.RawMessage `json:"@context"`
	ID          string          `json:"@id"`
	Author      string          `json:"author"`
	Timestamp   string          `json:"timestamp"`
	LastUpdated string          `json:"last_updated"`
	Statements  []ovStatement   `json:"statements"`
}

type ovStatement struct {
	ID              string            `json:"@id"`
	Vulnerability   json.RawMessage   `json:"vulnerability"`
	Timestamp       string            `json:"timestamp"`
	LastUpdated     string            `json:"last_updated"`
	Products        []json.RawMessage `json:"products"`
	Status          string            `json:"status"`
	StatusNotes     string            `json:"status_notes"`
	Justification   string            `json:"justification"`
	ImpactStatement string            `json:"impact_statement"`
	ActionStatement string            `json:"action_statement"`
}

// ovVulnerability is the v0.2 object; v0.0 documents have a plain string.
type ovVulnerability struct {
	ID      string   `json:"@id"`
	Name    string   `json:"name"`
	Aliases []string `json:"aliases"`
}

// ovComponent is a product or subcomponent object; v0.0 documents have a
// plain string (the @id).
type ovComponent struct {
	ID            string            `json:"@id"`
	Identifiers   map[string]string `json:"identifiers"`
	Hashes        map[string]string `json:"hashes"`
	Subcomponents []json.RawMessage `json:"subcomponents"`
}

// decodeAt decodes a part of the document whose JSON path is at: a plain
// string goes into *str when str is not nil, anything else into v. Errors
// name the path.
func decodeAt(raw json.RawMessage, at string, str *string, v any) error {
	t := bytes.TrimSpace(raw)
	if len(t) == 0 || bytes.Equal(t, []byte("null")) {
		return nil
	}
	var err error
	if t[0] == '"' && str != nil {
		err = json.Unmarshal(t, str)
	} else {
		err = json.Unmarshal(t, v)
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		p := at
		if te.Field != "" {
			p += "." + te.Field
		}
		return fmt.Errorf("%s: a JSON %s where %s was expected", p, te.Value, te.Type)
	}
	if err != nil {
		return fmt.Errorf("%s: %w", at, err)
	}
	return nil
}

var ovJustifications = map[string]bool{
	"component_not_present":                             true,
	"vulnerable_code_not_present":                       true,
	"vulnerable_code_not_in_execute_path":               true,
	"vulnerable_code_cannot_be_controlled_by_adversary": true,
	"inline_mitigations_already_exist":                  true,
}

func parseOpenVEX(name string, b []byte) ([]*statement, error) {
	var d ovDoc
	if err := json.Unmarshal(b, &d); err != nil {
		return nil, jsonError(name, b, err)
	}
	if len(d.Statements) > MaxStatements {
		return nil, fmt.Errorf("%s: $.statements: %d statements, more than %d", name, len(d.Statements), MaxStatements)
	}
	docTime, err := parseTime(firstNonEmpty(d.LastUpdated, d.Timestamp))
	if err != nil {
		return nil, fmt.Errorf("%s: $.timestamp: %w", name, err)
	}
	out := make([]*statement, 0, len(d.Statements))
	for i, s := range d.Statements {
		at := fmt.Sprintf("$.statements[%d]", i)
		st, err := openVEXStatement(s, docTime, at)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		st.source = fmt.Sprintf("%s#/statements/%d", name, i)
		out = append(out, st)
	}
	return out, nil
}

func openVEXStatement(s ovStatement, docTime time.Time, at string) (*statement, error) {
	var v ovVulnerability
	if err := decodeAt(s.Vulnerability, at+".vulnerability", &v.Name, &v); err != nil {
		return nil, err
	}
	st := &statement{ids: idSet(append([]string{v.Name, v.ID}, v.Aliases...)...)}
	if len(st.ids) == 0 {
		return nil, fmt.Errorf("%s.vulnerability: no name, @id or aliases", at)
	}
	when, err := parseTime(firstNonEmpty(s.LastUpdated, s.Timestamp))
	if err != nil {
		return nil, fmt.Errorf("%s.timestamp: %w", at, err)
	}
	if when.IsZero() {
		when = docTime
	}
	st.when = when
	if len(s.Products) > MaxProducts {
		return nil, fmt.Errorf("%s.products: %d products, more than %d", at, len(s.Products), MaxProducts)
	}
	for j, raw := range s.Products {
		pat := fmt.Sprintf("%s.products[%d]", at, j)
		var p ovComponent
		if err := decodeAt(raw, pat, &p.ID, &p); err != nil {
			return nil, err
		}
		pr, err := openVEXProduct(p, pat)
		if err != nil {
			return nil, err
		}
		st.products = append(st.products, pr)
	}
	j := strings.TrimSpace(s.Justification)
	switch s.Status {
	case StatusNotAffected:
		if j == "" && strings.TrimSpace(s.ImpactStatement) == "" {
			return nil, fmt.Errorf("%s: status not_affected needs a justification or an impact_statement", at)
		}
		if j != "" && !ovJustifications[j] {
			return nil, fmt.Errorf("%s.justification: %q is not an OpenVEX justification (component_not_present, vulnerable_code_not_present, vulnerable_code_not_in_execute_path, vulnerable_code_cannot_be_controlled_by_adversary, inline_mitigations_already_exist)", at, j)
		}
		st.status = StatusNotAffected
		if j == "inline_mitigations_already_exist" {
			st.status = StatusMitigated
		}
		st.justification = j
		st.text = firstNonEmpty(s.ImpactStatement, s.StatusNotes)
	case StatusAffected:
		if strings.TrimSpace(s.ActionStatement) == "" {
			return nil, fmt.Errorf("%s: status affected needs an action_statement", at)
		}
		st.status = StatusAffected
		if acceptsRisk(s.ActionStatement) {
			st.status = StatusAccepted
		}
		st.text = s.ActionStatement
	case StatusFixed, StatusUnderInvestigation:
		st.status = s.Status
		st.text = s.StatusNotes
	case "":
		return nil, fmt.Errorf("%s: no status (want not_affected, affected, fixed or under_investigation)", at)
	default:
		return nil, fmt.Errorf("%s.status: %q is not an OpenVEX status (not_affected, affected, fixed, under_investigation)", at, s.Status)
	}
	if j != "" && s.Status != StatusNotAffected {
		return nil, fmt.Errorf("%s.justification: only a not_affected statement has a justification", at)
	}
	st.text = strings.TrimSpace(st.text)
	return st, nil
}

// acceptsRisk recognises netvet's convention for an accepted risk in
// OpenVEX, which has no such status: an affected statement whose
// action_statement begins "Risk accepted" (or "Accepted").
func acceptsRisk(action string) bool {
	a := strings.ToLower(strings.TrimSpace(action))
	return strings.HasPrefix(a, "risk accepted") || strings.HasPrefix(a, "accepted")
}

func openVEXProduct(p ovComponent, at string) (product, error) {
	var pr product
	ids, hashes, err := openVEXIdents(p, at)
	if err != nil {
		return pr, err
	}
	pr.ids, pr.sha256 = ids, hashes
	if len(p.Subcomponents) > MaxSubcomponents {
		return pr, fmt.Errorf("%s.subcomponents: %d, more than %d", at, len(p.Subcomponents), MaxSubcomponents)
	}
	for k, raw := range p.Subcomponents {
		sat := fmt.Sprintf("%s.subcomponents[%d]", at, k)
		var sc ovComponent
		if err := decodeAt(raw, sat, &sc.ID, &sc); err != nil {
			return pr, err
		}
		if len(sc.Subcomponents) > 0 {
			return pr, fmt.Errorf("%s: a subcomponent has no subcomponents of its own", sat)
		}
		ids, _, err := openVEXIdents(sc, sat)
		if err != nil {
			return pr, err
		}
		if len(ids) == 0 {
			return pr, fmt.Errorf("%s: no @id or identifiers", sat)
		}
		pr.subs = append(pr.subs, ids)
	}
	if len(pr.ids) == 0 && len(pr.sha256) == 0 && len(pr.subs) == 0 {
		return pr, fmt.Errorf("%s: no @id, identifiers, hashes or subcomponents", at)
	}
	return pr, nil
}

// openVEXIdents reads a component's @id and identifiers (purl, cpe23,
// cpe22), and its sha-256 hash.
func openVEXIdents(c ovComponent, at string) ([]ident, []string, error) {
	var ids []ident
	if c.ID != "" {
		ids = append(ids, classify(c.ID))
	}
	for _, k := range sortedKeys(c.Identifiers) {
		v := strings.TrimSpace(c.Identifiers[k])
		if v == "" {
			continue
		}
		id := classify(v)
		switch k {
		case "purl":
			if id.kind != identPURL {
				return nil, nil, fmt.Errorf("%s.identifiers.purl: %q is not a package URL", at, v)
			}
		case "cpe23", "cpe22":
			if id.kind != identCPE {
				return nil, nil, fmt.Errorf("%s.identifiers.%s: %q is not a CPE name", at, k, v)
			}
		}
		ids = append(ids, id)
	}
	var hashes []string
	for _, k := range sortedKeys(c.Hashes) {
		if k != "sha-256" && k != "sha256" {
			continue
		}
		h := strings.ToLower(strings.TrimSpace(c.Hashes[k]))
		if !hexSHA256.MatchString(h) {
			return nil, nil, fmt.Errorf("%s.hashes.%s: %q is not a SHA-256 digest", at, k, c.Hashes[k])
		}
		hashes = append(hashes, h)
	}
	return ids, hashes, nil
}

func parseTime(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is not an RFC 3339 time", s)
	}
	return t.UTC(), nil
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if strings.TrimSpace(s) != "" {
			return s
		}
	}
	return ""
}
