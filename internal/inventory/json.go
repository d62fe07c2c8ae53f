package inventory

import (
	"context"
	"encoding/json"
	"io"
	"strconv"
)

// LoadJSON reads netvet's own inventory JSON: {"elements": [Element...]}
// (other top-level members are ignored) or a bare array of Elements, with
// the field names of Element's JSON. Values may be strings or numbers
// where either makes sense ("traffic_share": "0.1" or 0.1); tags and
// evaluated versions are arrays of strings; evidence is an array of
// {"scheme", "report_id", "evaluated_versions"}. Unknown members are
// ignored. Each element is checked like a CSV row.
func LoadJSON(r io.Reader, name string, opts LoadOptions) (*Inventory, error) {
	return loadJSON(context.Background(), r, name, opts)
}

func loadJSON(ctx context.Context, r io.Reader, name string, opts LoadOptions) (*Inventory, error) {
	c := newCollector(name, opts)
	b := newBuilder(name, opts.Aliases)
	var vals []value
	err := streamJSON(ctx, r, name, []string{"elements"}, false, func(it jsonItem) error {
		b.reset()
		ms, err := objectMembers(it.raw)
		if err != nil {
			c.inv.Skipped++
			return c.problem(Problem{Input: name, Line: it.line, Column: it.col, Reason: "element: " + jsonReason(err)})
		}
		var e Element
		e.Origin = name + ":" + strconv.Itoa(it.line)
		vals = vals[:0]
		var idVal value
		var evidence []Evidence
		for _, m := range ms {
			f := canonicalField(m.key)
			if f == "" {
				continue
			}
			line, col := posIn(it.raw, m.off, it.line, it.col)
			v := value{field: f, label: m.key, line: line, col: col}
			if f == fID {
				idVal = v
			}
			switch f {
			case fOrigin:
				continue // where netvet read it; recomputed
			case fEvidence:
				if err := json.Unmarshal(m.val, &evidence); err != nil {
					b.errorf(&v, "want a list of {scheme, report_id, evaluated_versions}: %s", jsonReason(err))
				}
				continue
			case fTags, fEvaluatedVersions, fMgmtAddresses:
				if len(m.val) > 0 && m.val[0] == '[' {
					list, err := listText(m.val)
					if err != nil {
						b.errorf(&v, "%s", jsonReason(err))
						continue
					}
					v.list, v.isList = list, true
					vals = append(vals, v)
					continue
				}
			}
			s, ok, err := scalarText(m.val)
			if err != nil || !ok {
				b.errorf(&v, "want a string, number or boolean")
				continue
			}
			v.text = s
			vals = append(vals, v)
		}
		if idVal.label == "" {
			idVal = value{label: fID, line: it.line, col: it.col}
		}
		keep := b.build(&e, vals, value{line: it.line, col: it.col})
		for _, ev := range evidence {
			if ev.ReportID == "" {
				b.warnf(&value{label: fEvidence, line: it.line, col: it.col}, "evidence without report_id; ignored")
				continue
			}
			if len(ev.EvaluatedVersions) > MaxListItems {
				ev.EvaluatedVersions = ev.EvaluatedVersions[:MaxListItems]
			}
			e.Evidence = append(e.Evidence, ev)
		}
		return c.record(b, &e, keep && !b.bad, idVal)
	})
	if err != nil {
		return c.inv, c.wrapFatal(err)
	}
	return c.inv, nil
}

// wrapFatal records a *LoadError's problem in the inventory and returns err.
func (c *collector) wrapFatal(err error) error {
	if le, ok := err.(*LoadError); ok {
		if len(c.inv.Problems) < MaxProblems {
			c.inv.Problems = append(c.inv.Problems, le.Problem)
		}
	}
	return err
}
