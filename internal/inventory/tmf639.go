package inventory

import (
	"context"
	"encoding/json"
	"io"
	"strconv"
	"strings"
)

// tmfResource holds the TMF639 Resource members the loader reads, in
// both the v4 and the v5 shapes.
type tmfResource struct {
	ID                    string `json:"id"`
	Name                  string `json:"name"`
	ResourceSpecification *struct {
		Name string `json:"name"`
	} `json:"resourceSpecification"`
	ResourceCharacteristic []struct {
		Name  string          `json:"name"`
		Value json.RawMessage `json:"value"`
	} `json:"resourceCharacteristic"`
	Place []struct {
		Role  string `json:"role"`
		ID    string `json:"id"`   // v4 RelatedPlaceRefOrValue
		Name  string `json:"name"` // v4
		Place *struct {
			ID   string `json:"id"`
			Name string `json:"name"`
		} `json:"place"` // v5
	} `json:"place"`
	RelatedParty []struct {
		Role             string `json:"role"`
		ID               string `json:"id"`   // v4 RelatedParty
		Name             string `json:"name"` // v4
		PartyOrPartyRole *struct {
			ID   string `json:"id"`
			Name string `json:"name"`
		} `json:"partyOrPartyRole"` // v5
	} `json:"relatedParty"`
	ResourceVersion    string `json:"resourceVersion"`
	VersionNumber      string `json:"versionNumber"`
	StartOperatingDate string `json:"startOperatingDate"`
	LifecycleState     string `json:"lifecycleState"`
	ResourceStatus     string `json:"resourceStatus"`
}

// LoadTMF639 reads TM Forum TMF639 Resource Inventory JSON (v4 or v5): an
// array of Resource, or {"resource": [...]}, or a single Resource. The
// mapping:
//
//   - id, name: the Resource's id and name
//   - vendor: relatedParty with role manufacturer (or vendor), else a
//     characteristic named vendor or manufacturer
//   - model: resourceSpecification.name
//   - software version: resourceVersion, else versionNumber, else a
//     characteristic software_version / swVersion
//   - site: the place with role installationPlace, else the first place
//     (its name, else its id)
//   - install date: a characteristic install_date, else startOperatingDate
//   - every other Element field: a resourceCharacteristic of that name, in
//     any spelling the CSV header accepts ("siteSensitivity",
//     "site_sensitivity")
//   - lifecycleState other than installed (planned, pendingRemoval) is
//     kept as a tag "lifecycle:<state>"; the element stays in the inventory.
func LoadTMF639(r io.Reader, name string, opts LoadOptions) (*Inventory, error) {
	return loadTMF639(context.Background(), r, name, opts)
}

func loadTMF639(ctx context.Context, r io.Reader, name string, opts LoadOptions) (*Inventory, error) {
	c := newCollector(name, opts)
	b := newBuilder(name, opts.Aliases)
	var vals []value
	err := streamJSON(ctx, r, name, []string{"resource", "resources"}, true, func(it jsonItem) error {
		b.reset()
		ms, err := objectMembers(it.raw)
		if err != nil {
			c.inv.Skipped++
			return c.problem(Problem{Input: name, Line: it.line, Column: it.col, Reason: "resource: " + jsonReason(err)})
		}
		at := func(key string) (int, int) { // where a member's value starts
			for _, m := range ms {
				if m.key == key {
					return posIn(it.raw, m.off, it.line, it.col)
				}
			}
			return it.line, it.col
		}
		var res tmfResource
		if err := json.Unmarshal(it.raw, &res); err != nil {
			p := Problem{Input: name, Line: it.line, Column: it.col, Reason: "resource: " + jsonReason(err)}
			if te, ok := err.(*json.UnmarshalTypeError); ok {
				top, _, _ := strings.Cut(te.Field, ".")
				p.Line, p.Column = at(top)
				p.Field = te.Field
			}
			c.inv.Skipped++
			return c.problem(p)
		}
		vals = vals[:0]
		add := func(field, label, member, text string) {
			l, col := at(member)
			vals = append(vals, value{field: field, label: label, text: text, line: l, col: col})
		}
		var e Element
		e.Origin = name + ":" + strconv.Itoa(it.line)
		add(fID, "id", "id", res.ID)
		if res.Name != "" {
			add(fName, "name", "name", res.Name)
		}
		// Vendor from the manufacturer party.
		for _, p := range res.RelatedParty {
			role := strings.ToLower(p.Role)
			if role != "manufacturer" && role != "vendor" && role != "supplier" {
				continue
			}
			n := p.Name
			if p.PartyOrPartyRole != nil && p.PartyOrPartyRole.Name != "" {
				n = p.PartyOrPartyRole.Name
			}
			if n == "" && p.PartyOrPartyRole != nil {
				n = p.PartyOrPartyRole.ID
			}
			if n == "" {
				n = p.ID
			}
			if n != "" {
				add(fVendor, "relatedParty["+p.Role+"]", "relatedParty", n)
				break
			}
		}
		if res.ResourceSpecification != nil && res.ResourceSpecification.Name != "" {
			add(fModel, "resourceSpecification.name", "resourceSpecification", res.ResourceSpecification.Name)
		}
		switch {
		case res.ResourceVersion != "":
			add(fSoftwareVersion, "resourceVersion", "resourceVersion", res.ResourceVersion)
		case res.VersionNumber != "":
			add(fSoftwareVersion, "versionNumber", "versionNumber", res.VersionNumber)
		}
		if site := tmfSite(&res); site != "" {
			add(fSite, "place", "place", site)
		}
		if res.StartOperatingDate != "" {
			add(fInstallDate, "startOperatingDate", "startOperatingDate", res.StartOperatingDate)
		}
		// Characteristics override the members above (they come later).
		for i, ch := range res.ResourceCharacteristic {
			f := canonicalField(ch.Name)
			if f == "" || f == fEvidence || f == fVendorRaw || f == fOrigin || f == fID {
				continue
			}
			label := "resourceCharacteristic[" + truncate(ch.Name, 64) + "]"
			l, col := at("resourceCharacteristic")
			v := value{field: f, label: label, line: l, col: col}
			if len(ch.Value) > 0 && ch.Value[0] == '[' {
				list, err := listText(ch.Value)
				if err != nil {
					b.errorf(&v, "%s", jsonReason(err))
					continue
				}
				v.list, v.isList = list, true
				if f != fTags && f != fEvaluatedVersions && f != fMgmtAddresses {
					v.text = strings.Join(list, ";")
				}
			} else {
				s, ok, err := scalarText(ch.Value)
				if err != nil || !ok {
					b.errorf(&v, "characteristic %d: want a string, number or boolean value", i+1)
					continue
				}
				v.text = s
			}
			vals = append(vals, v)
		}
		state := res.LifecycleState
		if state != "" && !strings.EqualFold(state, "installed") {
			l, col := at("lifecycleState")
			vals = append(vals, value{field: fTags, label: "lifecycleState", list: []string{"lifecycle:" + truncate(state, 64)}, isList: true, line: l, col: col})
		}
		keep := b.build(&e, vals, value{line: it.line, col: it.col})
		il, ic := at("id")
		return c.record(b, &e, keep, value{label: "id", line: il, col: ic})
	})
	if err != nil {
		return c.inv, c.wrapFatal(err)
	}
	return c.inv, nil
}

func tmfSite(r *tmfResource) string {
	name := func(i int) string {
		p := r.Place[i]
		if p.Place != nil {
			if p.Place.Name != "" {
				return p.Place.Name
			}
			if p.Place.ID != "" {
				return p.Place.ID
			}
		}
		if p.Name != "" {
			return p.Name
		}
		return p.ID
	}
	for i, p := range r.Place {
		if strings.EqualFold(p.Role, "installationPlace") || strings.EqualFold(p.Role, "installationSite") {
			if n := name(i); n != "" {
				return n
			}
		}
	}
	for i := range r.Place {
		if n := name(i); n != "" {
			return n
		}
	}
	return ""
}
