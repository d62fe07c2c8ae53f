package policy

import (
	"fmt"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/netvet/netvet/internal/inventory"
)

// Override is an operator's change to one rule.
type Override struct {
	RuleID   string
	Deadline inventory.Date // zero: unchanged
	Disabled bool
	Note     string
	Line     int
}

var overrideKeys = setOf("deadline", "disabled", "note")

// ParseOverrides reads an override file: a YAML mapping from rule ID to
// {deadline, disabled, note}.
//
//	uk-5g-remove:
//	  deadline: 2027-06-30
//	  note: board-approved target, six months ahead of the direction
//	uk-fttp-cap:
//	  disabled: true
//	  note: we run no full-fibre network
func ParseOverrides(name string, data []byte) ([]Override, error) {
	root, errs := parseYAML(name, data)
	if errs != nil {
		return nil, LintErrors(errs)
	}
	p := &parser{file: name}
	if root.Kind != yaml.MappingNode {
		p.errAt(root, "", "want a mapping from rule ID to {deadline, disabled, note}, got %s", kindName(root))
		return nil, LintErrors(p.errs)
	}
	var out []Override
	seen := map[string]bool{}
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], root.Content[i+1]
		id, ok := p.str(k, "")
		if !ok {
			continue
		}
		if seen[id] {
			p.errAt(k, id, "duplicate rule ID")
			continue
		}
		seen[id] = true
		keys, vals, ok := p.mapping(v, id, overrideKeys)
		if !ok {
			continue
		}
		o := Override{RuleID: id, Line: k.Line}
		for j, kk := range keys {
			f := id + "." + kk.Value
			switch kk.Value {
			case "deadline":
				o.Deadline, _ = p.date(vals[j], f)
			case "disabled":
				o.Disabled, _ = p.boolean(vals[j], f)
			case "note":
				o.Note, _ = p.str(vals[j], f)
			}
		}
		if len(keys) == 0 {
			p.errAt(v, id, "an override needs a deadline, disabled or note")
		}
		out = append(out, o)
	}
	if len(p.errs) > 0 {
		return nil, LintErrors(p.errs)
	}
	return out, nil
}

// ApplyOverrides reads the operator's override file at path and applies
// it to the packs' rules: a new deadline (the original is kept in
// OriginalDeadline), disabled, a note. An override naming a rule that no
// pack holds is an error. Apply before Compile.
func ApplyOverrides(packs []*Pack, path string) error {
	b, err := readBounded(path)
	if err != nil {
		return LintErrors{{File: path, Msg: err.Error()}}
	}
	ovs, err := ParseOverrides(path, b)
	if err != nil {
		return err
	}
	return applyOverrides(packs, path, ovs)
}

func applyOverrides(packs []*Pack, name string, ovs []Override) error {
	byID := map[string]*Rule{}
	var ids []string
	for _, p := range packs {
		for _, r := range p.Rules {
			byID[r.ID] = r
			ids = append(ids, r.ID)
		}
	}
	sort.Strings(ids)
	var errs LintErrors
	for _, o := range ovs {
		r := byID[o.RuleID]
		if r == nil {
			errs = append(errs, LintError{File: name, Line: o.Line, Column: 1, Field: o.RuleID,
				Msg: fmt.Sprintf("no loaded pack has rule %q%s", o.RuleID, suggest(o.RuleID, setOf(ids...)))})
			continue
		}
		if !o.Deadline.IsZero() {
			if r.OriginalDeadline.IsZero() {
				r.OriginalDeadline = r.Deadline
			}
			r.Deadline = o.Deadline
		}
		if o.Disabled {
			r.Disabled = true
		}
		if o.Note != "" {
			r.OverrideNote = strings.TrimSpace(o.Note)
		}
	}
	if len(errs) > 0 {
		return errs
	}
	return nil
}
