package egress

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/netvet/netvet/internal/inventory"
)

// SitePrefix is the element ID prefix of a site-wide entry: a flow from an
// address inside a site's management CIDR that no element claims is
// attributed to "site:<name>".
const SitePrefix = "site:"

// LoadElementMap reads an element map in CSV or YAML (chosen by the file
// name: .yaml/.yml is YAML, anything else CSV). inv, when not nil,
// supplies vendor, function, domain and site for each element ID.
func LoadElementMap(path string, inv *inventory.Inventory) (*ElementMap, error) {
	if ext := strings.ToLower(filepath.Ext(path)); ext != ".yaml" && ext != ".yml" {
		return LoadElements(path, inv)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("elements: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxElementFileBytes+1))
	if err != nil {
		return nil, fmt.Errorf("elements: %s: %w", path, err)
	}
	return ParseElementsYAML(path, data, inv)
}

// ParseElementsYAML reads the YAML form of the element map:
//
//	elements:
//	  - id: gnb-0001
//	    addresses: [10.1.0.1, "2001:db8:10::1"]
//	    vendor: ericsson      # optional: vendor, function, domain, site
//	sites:
//	  - site: MAN-07
//	    cidrs: [10.2.16.0/24]
//
// Addresses take the forms inventory.CanonicalAddress accepts. A site CIDR
// maps every address inside it that no element claims to the pseudo
// element "site:<name>". Every problem is reported as "name:line:col: what".
func ParseElementsYAML(name string, data []byte, inv *inventory.Inventory) (*ElementMap, error) {
	if len(data) > MaxElementFileBytes {
		return nil, fmt.Errorf("elements: %s: file exceeds %d bytes", name, MaxElementFileBytes)
	}
	var doc yaml.Node
	if err := yaml.NewDecoder(bytes.NewReader(data)).Decode(&doc); err != nil {
		return nil, fmt.Errorf("elements: %s: %v", name, err)
	}
	var errs []error
	at := func(n *yaml.Node, format string, a ...any) bool {
		errs = append(errs, fmt.Errorf("%s:%d:%d: %s", name, n.Line, n.Column, fmt.Sprintf(format, a...)))
		return len(errs) >= maxElementErrors
	}
	if len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		return nil, fmt.Errorf("elements: %s: want a mapping with elements and/or sites", name)
	}
	byID := inventoryIndex(inv)
	m := NewElementMap()
	top := yamlMapping(doc.Content[0], []string{"elements", "sites"}, at)
	entry := func(n *yaml.Node, keys []string, list string) (map[string]*yaml.Node, []netip.Prefix, bool) {
		if n.Kind != yaml.MappingNode {
			return nil, nil, at(n, "want a mapping")
		}
		f := yamlMapping(n, keys, at)
		var pfxs []netip.Prefix
		for _, a := range yamlScalars(f[list], at) {
			p, err := mgmtPrefix(a.Value)
			if err != nil {
				if at(a, "%s %q: %v", list, clip(a.Value), err) {
					return nil, nil, true
				}
				continue
			}
			pfxs = append(pfxs, p)
		}
		return f, pfxs, false
	}
	scalar := func(f map[string]*yaml.Node, k string) string {
		if n := f[k]; n != nil && n.Kind == yaml.ScalarNode && n.Tag != "!!null" {
			return strings.TrimSpace(n.Value)
		}
		return ""
	}
	if n := top["elements"]; n != nil {
		if n.Kind != yaml.SequenceNode {
			at(n, "elements: want a list")
		} else {
			for _, c := range n.Content {
				f, pfxs, stop := entry(c, []string{"id", "addresses", "vendor", "function", "domain", "site"}, "addresses")
				if stop {
					break
				}
				if f == nil {
					continue
				}
				el := Element{ID: scalar(f, "id"), Vendor: scalar(f, "vendor"), Function: scalar(f, "function"),
					Domain: scalar(f, "domain"), Site: scalar(f, "site")}
				if el.ID == "" {
					if at(c, "missing id") {
						break
					}
					continue
				}
				if strings.HasPrefix(el.ID, SitePrefix) {
					if at(f["id"], "element ids may not start with %q (reserved for sites)", SitePrefix) {
						break
					}
					continue
				}
				if byID != nil {
					ie, ok := byID[el.ID]
					if !ok {
						if at(f["id"], "element %q is not in the inventory", clip(el.ID)) {
							break
						}
						continue
					}
					el = fromInventory(ie, el)
				}
				if len(pfxs) == 0 && f["addresses"] == nil {
					if at(c, "element %s: no addresses", clip(el.ID)) {
						break
					}
					continue
				}
				for _, p := range pfxs {
					if err := m.Add(p, el); err != nil {
						at(f["addresses"], "%v", err)
					}
				}
			}
		}
	}
	if n := top["sites"]; n != nil {
		if n.Kind != yaml.SequenceNode {
			at(n, "sites: want a list")
		} else {
			for _, c := range n.Content {
				f, pfxs, stop := entry(c, []string{"site", "cidrs", "domain"}, "cidrs")
				if stop {
					break
				}
				if f == nil {
					continue
				}
				site := scalar(f, "site")
				if site == "" {
					if at(c, "missing site") {
						break
					}
					continue
				}
				el := Element{ID: SitePrefix + site, Site: site, Domain: scalar(f, "domain")}
				for _, p := range pfxs {
					if err := m.Add(p, el); err != nil {
						at(f["cidrs"], "%v", err)
					}
				}
			}
		}
	}
	if len(errs) == 0 && m.entries == 0 {
		errs = append(errs, fmt.Errorf("%s: no elements or sites", name))
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return m, nil
}

// ElementsFromInventory maps the management addresses the inventory lists
// (column management_addresses, NetBox primary_ip4/primary_ip6/oob_ip,
// TMF639 characteristic managementIpAddress) to their elements. m may be
// nil (a new map) or a map read from --elements, which wins: an address it
// already maps is not added again. Two inventory elements claiming one
// address is an error naming both. It returns the number of entries added.
func ElementsFromInventory(m *ElementMap, inv *inventory.Inventory) (*ElementMap, int, error) {
	if m == nil {
		m = NewElementMap()
	}
	if inv == nil {
		return m, 0, nil
	}
	var errs []error
	added := 0
	fromInv := map[netip.Prefix]string{}
	for i := range inv.Elements {
		ie := &inv.Elements[i]
		for _, a := range ie.ManagementAddresses {
			p, err := mgmtPrefix(a)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: element %s: management address %q: %v", ie.Origin, ie.ID, a, err))
				continue
			}
			if owner, seen := fromInv[p]; seen {
				if owner != ie.ID {
					errs = append(errs, fmt.Errorf("%s: element %s: management address %s is also element %s's", ie.Origin, ie.ID, p, owner))
				}
				continue
			}
			if _, dup := m.table.Get(p); dup {
				continue // the --elements file maps it, and wins
			}
			fromInv[p] = ie.ID
			if err := m.Add(p, fromInventory(ie, Element{})); err != nil {
				errs = append(errs, fmt.Errorf("%s: element %s: %v", ie.Origin, ie.ID, err))
				continue
			}
			added++
		}
		if len(errs) >= maxElementErrors {
			break
		}
	}
	return m, added, errors.Join(errs...)
}

// mgmtPrefix turns a management address into the prefix the map holds.
func mgmtPrefix(s string) (netip.Prefix, error) {
	c, err := inventory.CanonicalAddress(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	if strings.Contains(c, "/") {
		return netip.ParsePrefix(c)
	}
	a, err := netip.ParseAddr(c)
	if err != nil {
		return netip.Prefix{}, err
	}
	return netip.PrefixFrom(a, a.BitLen()), nil
}

func inventoryIndex(inv *inventory.Inventory) map[string]*inventory.Element {
	if inv == nil {
		return nil
	}
	byID := make(map[string]*inventory.Element, len(inv.Elements))
	for i := range inv.Elements {
		byID[inv.Elements[i].ID] = &inv.Elements[i]
	}
	return byID
}

// yamlMapping returns a mapping's values by key, reporting unknown and
// repeated keys.
func yamlMapping(n *yaml.Node, known []string, at func(*yaml.Node, string, ...any) bool) map[string]*yaml.Node {
	m := map[string]*yaml.Node{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if v.Kind == yaml.AliasNode && v.Alias != nil {
			v = v.Alias
		}
		switch {
		case !slices.Contains(known, k.Value):
			at(k, "unknown key %q (known: %s)", clip(k.Value), strings.Join(known, ", "))
		case m[k.Value] != nil:
			at(k, "key %q given twice", clip(k.Value))
		default:
			m[k.Value] = v
		}
	}
	return m
}

// yamlScalars accepts one scalar or a list of scalars.
func yamlScalars(n *yaml.Node, at func(*yaml.Node, string, ...any) bool) []*yaml.Node {
	if n == nil || (n.Kind == yaml.ScalarNode && n.Tag == "!!null") {
		return nil
	}
	if n.Kind == yaml.ScalarNode {
		return []*yaml.Node{n}
	}
	if n.Kind != yaml.SequenceNode {
		at(n, "want an address or a list of addresses")
		return nil
	}
	out := make([]*yaml.Node, 0, len(n.Content))
	for _, c := range n.Content {
		if c.Kind == yaml.AliasNode && c.Alias != nil {
			c = c.Alias
		}
		if c.Kind != yaml.ScalarNode {
			at(c, "want a plain address")
			continue
		}
		out = append(out, c)
	}
	return out
}

// clip shortens hostile text quoted in messages.
func clip(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}
