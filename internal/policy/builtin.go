package policy

import (
	"fmt"
	"io/fs"
	"os"
	"path"
	"sort"
	"strings"

	"github.com/netvet/netvet/policies"
)

// Builtin returns the IDs of the shipped packs, sorted.
func Builtin() []string {
	ents, err := fs.ReadDir(policies.FS, ".")
	if err != nil {
		return nil
	}
	var ids []string
	for _, e := range ents {
		if n := e.Name(); !e.IsDir() && strings.HasSuffix(n, ".yaml") {
			ids = append(ids, strings.TrimSuffix(n, ".yaml"))
		}
	}
	sort.Strings(ids)
	return ids
}

// LoadBuiltin loads one shipped pack by ID.
func LoadBuiltin(id string) (*Pack, error) {
	if !idRE.MatchString(id) {
		return nil, fmt.Errorf("policy: no shipped pack %q (shipped: %s)", id, strings.Join(Builtin(), ", "))
	}
	b, err := fs.ReadFile(policies.FS, id+".yaml")
	if err != nil {
		return nil, fmt.Errorf("policy: no shipped pack %q (shipped: %s)", id, strings.Join(Builtin(), ", "))
	}
	return ParsePack(path.Join("policies", id+".yaml"), b)
}

// LoadPacks loads a comma-separated list of shipped pack IDs and pack
// file paths ("uk,de,./mine.yaml"); "all" stands for every shipped pack.
// An entry is a path when it contains a path separator or ends in .yaml
// or .yml. Pack IDs and rule IDs must be unique across the list.
func LoadPacks(spec string) ([]*Pack, error) {
	var packs []*Pack
	seen := map[string]string{}
	rules := map[string]string{}
	add := func(p *Pack, from string) error {
		if prev, dup := seen[p.ID]; dup {
			return fmt.Errorf("policy: pack ID %q given twice (%s and %s)", p.ID, prev, from)
		}
		seen[p.ID] = from
		for _, r := range p.Rules {
			if prev, dup := rules[r.ID]; dup {
				return fmt.Errorf("policy: rule ID %q is in pack %q and in %s; rule IDs must be unique", r.ID, prev, from)
			}
			rules[r.ID] = p.ID
		}
		packs = append(packs, p)
		return nil
	}
	for _, item := range strings.Split(spec, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		var list []*Pack
		switch {
		case item == "all":
			for _, id := range Builtin() {
				p, err := LoadBuiltin(id)
				if err != nil {
					return nil, err
				}
				list = append(list, p)
			}
		case isPath(item):
			p, err := LoadPack(item)
			if err != nil {
				return nil, err
			}
			list = append(list, p)
		default:
			p, err := LoadBuiltin(strings.ToLower(item))
			if err != nil {
				return nil, err
			}
			list = append(list, p)
		}
		for _, p := range list {
			if err := add(p, p.File); err != nil {
				return nil, err
			}
		}
	}
	if len(packs) == 0 {
		return nil, fmt.Errorf("policy: no packs given (shipped: %s)", strings.Join(Builtin(), ", "))
	}
	return packs, nil
}

func isPath(s string) bool {
	if strings.ContainsAny(s, `/\`) || strings.HasSuffix(s, ".yaml") || strings.HasSuffix(s, ".yml") {
		return true
	}
	if st, err := os.Stat(s); err == nil && !st.IsDir() {
		return !idRE.MatchString(s)
	}
	return false
}
