package inventory

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"unicode"

	"gopkg.in/yaml.v3"
)

// Aliases maps vendor names as inventories write them to a canonical
// vendor ID ("HUAWEI TECHNOLOGIES CO., LTD." -> "huawei"). The zero value
// and nil behave as DefaultAliases.
type Aliases struct {
	byKey   map[string]string // alias key (see aliasKey) -> vendor ID
	display map[string]string // vendor ID -> display name
}

// defaultAliasTable: vendor ID -> display name, then aliases. Each alias
// is matched after case folding, punctuation removal and legal-suffix
// stripping, so "Ericsson AB" and "ERICSSON" need no entry of their own.
var defaultAliasTable = []struct {
	id, display string
	aliases     []string
}{
	{"huawei", "Huawei", []string{"huawei", "huawei technologies", "huawei tech investment",
		"huawei device", "huawei international", "hisilicon", "华为", "华为技术"}},
	{"zte", "ZTE", []string{"zte", "zhongxing telecommunication equipment", "zhongxing", "zte kangxun", "中兴", "中兴通讯"}},
	{"ericsson", "Ericsson", []string{"ericsson", "telefonaktiebolaget lm ericsson", "lm ericsson", "ericsson telecom"}},
	{"nokia", "Nokia", []string{"nokia", "nokia solutions and networks", "nokia networks", "nsn",
		"nokia siemens", "nokia siemens networks", "alcatel", "alcatel lucent", "alcatel lucent enterprise",
		"alcatel sbell", "nokia shanghai bell", "lucent", "siemens networks", "infinera"}},
	{"samsung", "Samsung", []string{"samsung", "samsung electronics", "samsung networks"}},
	{"cisco", "Cisco", []string{"cisco", "cisco systems", "tail f", "acacia communications", "starent"}},
	{"juniper", "Juniper", []string{"juniper", "juniper networks", "hpe juniper networking"}},
	{"ciena", "Ciena", []string{"ciena", "blue planet"}},
	{"fiberhome", "FiberHome", []string{"fiberhome", "fiber home", "fiberhome telecommunication",
		"wuhan fiberhome", "烽火", "烽火通信"}},
	{"h3c", "H3C", []string{"h3c", "new h3c", "hangzhou h3c", "huawei 3com", "新华三"}},
	{"hikvision", "Hikvision", []string{"hikvision", "hangzhou hikvision", "hangzhou hikvision digital", "海康威视"}},
	{"dahua", "Dahua", []string{"dahua", "zhejiang dahua", "大华"}},
	{"mavenir", "Mavenir", []string{"mavenir", "mavenir systems"}},
	{"nec", "NEC", []string{"nec", "nippon electric"}},
	{"fujitsu", "Fujitsu", []string{"fujitsu", "1finity"}},
	{"calix", "Calix", []string{"calix"}},
	{"adtran", "Adtran", []string{"adtran", "adva", "adva optical", "adtran networks"}},
	{"arista", "Arista", []string{"arista", "arista networks"}},
	{"parallel-wireless", "Parallel Wireless", []string{"parallel wireless"}},
	{"mikrotik", "MikroTik", []string{"mikrotik", "mikrotikls"}},
	{"hpe", "HPE", []string{"hpe", "hewlett packard enterprise", "aruba"}},
	{"dell", "Dell", []string{"dell", "dell emc"}},
	{"oracle", "Oracle", []string{"oracle", "oracle communications"}},
	{"affirmed", "Microsoft Affirmed", []string{"affirmed", "affirmed networks"}},
	{"palo-alto", "Palo Alto Networks", []string{"palo alto", "palo alto networks"}},
	{"fortinet", "Fortinet", []string{"fortinet"}},
	{"utstarcom", "UTStarcom", []string{"utstarcom"}},
	{"tp-link", "TP-Link", []string{"tp link", "tplink"}},
	{"china-mobile", "China Mobile", []string{"china mobile", "china mobile iot"}},
	{"inspur", "Inspur", []string{"inspur", "浪潮"}},
}

// legalSuffixes are dropped from the end of a name before lookup and when
// building the slug of an unknown vendor.
var legalSuffixes = map[string]bool{
	"co": true, "company": true, "corp": true, "corporation": true, "inc": true, "incorporated": true,
	"ltd": true, "limited": true, "llc": true, "lp": true, "llp": true, "plc": true, "gmbh": true,
	"ag": true, "kg": true, "se": true, "sa": true, "sas": true, "sarl": true, "spa": true, "srl": true,
	"ab": true, "publ": true, "oy": true, "oyj": true, "as": true, "asa": true, "nv": true, "bv": true,
	"kk": true, "pte": true, "pty": true, "bhd": true, "sdn": true, "jsc": true, "pjsc": true, "ooo": true,
	"the": true, "of": true, "and": true,
}

// genericWords are dropped from the end of a name for lookup only
// ("Juniper Networks" -> "juniper"); an unknown vendor keeps them in its slug.
var genericWords = map[string]bool{
	"technologies": true, "technology": true, "tech": true, "networks": true, "network": true,
	"communications": true, "communication": true, "telecommunications": true, "telecommunication": true,
	"telecom": true, "systems": true, "system": true, "electronics": true, "holdings": true, "holding": true,
	"group": true, "international": true, "solutions": true, "equipment": true, "industries": true,
	"digital": true, "global": true, "usa": true, "uk": true, "china": true, "europe": true, "gmbh": true,
}

var (
	defaultOnce sync.Once
	defaultAl   *Aliases
)

func builtinAliases() *Aliases {
	defaultOnce.Do(func() {
		a := &Aliases{byKey: map[string]string{}, display: map[string]string{}}
		for _, v := range defaultAliasTable {
			a.display[v.id] = v.display
			a.byKey[strings.Join(words(v.id), " ")] = v.id
			for _, al := range v.aliases {
				a.byKey[strings.Join(words(al), " ")] = v.id
			}
		}
		defaultAl = a
	})
	return defaultAl
}

// DefaultAliases returns a fresh copy of the built-in alias table, which
// covers the vendors the shipped policy packs name and the common telecom
// vendors.
func DefaultAliases() *Aliases { return builtinAliases().clone() }

func (a *Aliases) clone() *Aliases {
	c := &Aliases{byKey: make(map[string]string, len(a.byKey)), display: make(map[string]string, len(a.display))}
	for k, v := range a.byKey {
		c.byKey[k] = v
	}
	for k, v := range a.display {
		c.display[k] = v
	}
	return c
}

func (a *Aliases) table() *Aliases {
	if a == nil || a.byKey == nil {
		return builtinAliases()
	}
	return a
}

// Add maps alias to vendor ID id (itself normalised to a slug).
func (a *Aliases) Add(alias, id string) error {
	if a.byKey == nil {
		*a = *DefaultAliases()
	}
	ws := words(alias)
	if len(ws) == 0 {
		return fmt.Errorf("alias %q has no letters or digits", alias)
	}
	s := slug(id)
	if s == "" {
		return fmt.Errorf("vendor %q for alias %q has no letters or digits", id, alias)
	}
	a.byKey[strings.Join(ws, " ")] = s
	a.byKey[strings.Join(trimTrailing(ws, legalSuffixes), " ")] = s
	if _, ok := a.display[s]; !ok {
		a.display[s] = strings.TrimSpace(id)
	}
	return nil
}

// Normalise returns the canonical vendor ID for a vendor name: a known
// alias maps to its vendor; an unknown name becomes a lowercase slug with
// legal suffixes removed ("Acme Radio Ltd." -> "acme-radio"). An empty
// name gives "".
func (a *Aliases) Normalise(raw string) string {
	t := a.table()
	ws := words(raw)
	if len(ws) == 0 {
		return ""
	}
	// Full name, then with trailing legal suffixes and generic words dropped.
	if id, ok := t.byKey[strings.Join(ws, " ")]; ok {
		return id
	}
	legal := trimTrailing(ws, legalSuffixes)
	cur := legal
	for {
		if id, ok := t.byKey[strings.Join(cur, " ")]; ok {
			return id
		}
		next := trimTrailing(cur, genericWords)
		next = trimTrailing(next, legalSuffixes)
		if len(next) == len(cur) || len(next) == 0 {
			break
		}
		cur = next
	}
	// A distinctive first word: "Huawei Marine", "Nokia Bell Labs".
	if id, ok := t.byKey[ws[0]]; ok && len(ws[0]) >= 3 {
		return id
	}
	if len(legal) == 0 {
		legal = ws
	}
	out := slug(strings.Join(legal, " "))
	if len(out) >= 60 {
		// A cut may leave a legal suffix at the end: drop it, so that an
		// ID normalises to itself.
		out = slug(strings.Join(trimTrailing(words(out), legalSuffixes), " "))
	}
	return out
}

// Display returns a vendor ID's display name ("huawei" -> "Huawei"), or
// the ID itself when the table has none.
func (a *Aliases) Display(id string) string {
	if d, ok := a.table().display[id]; ok {
		return d
	}
	return id
}

// Vendors returns the vendor IDs the table knows, sorted.
func (a *Aliases) Vendors() []string {
	t := a.table()
	out := make([]string, 0, len(t.display))
	for id := range t.display {
		out = append(out, id)
	}
	sort.Strings(out)
	return out
}

func trimTrailing(ws []string, drop map[string]bool) []string {
	n := len(ws)
	for n > 1 && drop[ws[n-1]] {
		n--
	}
	return ws[:n]
}

// words lowercases s and splits it at anything but letters and digits,
// joining single letters separated by dots ("S.A." -> "sa").
func words(s string) []string {
	if len(s) > 256 {
		s = s[:256]
	}
	var out []string
	var cur strings.Builder
	flush := func() {
		if cur.Len() > 0 {
			out = append(out, cur.String())
			cur.Reset()
		}
	}
	rs := []rune(strings.ToLower(s))
	for i, r := range rs {
		switch {
		case isAlnum(r):
			cur.WriteRune(r)
		case r == '.' && cur.Len() > 0 && i+1 < len(rs) && isAlnum(rs[i+1]) && utf8Len(cur.String()) == 1:
			// "s.a." keeps going as one word
		default:
			flush()
		}
	}
	flush()
	return out
}

func utf8Len(s string) int { return len([]rune(s)) }

func isAlnum(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }

// maxAliasFile bounds an alias file.
const maxAliasFile = 4 << 20

// LoadAliases reads an alias file and merges it over the defaults. A .csv
// file has rows "alias,vendor" (an optional header "alias,vendor"); a
// .yaml/.yml file maps a vendor ID to a list of aliases:
//
//	huawei: ["Huawei Tech Investment Co"]
//	acme: ["ACME Radio Ltd", "Acme Holdings"]
func LoadAliases(path string) (*Aliases, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("vendor aliases: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxAliasFile+1))
	if err != nil {
		return nil, fmt.Errorf("vendor aliases %s: %w", path, err)
	}
	if len(b) > maxAliasFile {
		return nil, fmt.Errorf("vendor aliases %s: larger than %d bytes", path, maxAliasFile)
	}
	a := DefaultAliases()
	switch strings.ToLower(filepath.Ext(path)) {
	case ".csv":
		err = a.mergeCSV(path, b)
	case ".yaml", ".yml":
		err = a.mergeYAML(path, b)
	default:
		return nil, fmt.Errorf("vendor aliases %s: unknown file type (want .csv, .yaml or .yml)", path)
	}
	if err != nil {
		return nil, err
	}
	return a, nil
}

func (a *Aliases) mergeCSV(path string, b []byte) error {
	r := csv.NewReader(bytes.NewReader(b))
	r.FieldsPerRecord = -1
	r.TrimLeadingSpace = true
	first := true
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("vendor aliases %s: %w", path, err)
		}
		line, _ := r.FieldPos(0)
		if len(rec) == 1 && strings.TrimSpace(rec[0]) == "" || strings.HasPrefix(strings.TrimSpace(rec[0]), "#") {
			continue
		}
		if len(rec) != 2 {
			return fmt.Errorf("vendor aliases %s:%d: want 2 fields (alias,vendor), got %d", path, line, len(rec))
		}
		if first {
			first = false
			if foldKey(rec[0]) == "alias" && foldKey(rec[1]) == "vendor" {
				continue
			}
		}
		if err := a.Add(rec[0], rec[1]); err != nil {
			return fmt.Errorf("vendor aliases %s:%d: %w", path, line, err)
		}
	}
}

func (a *Aliases) mergeYAML(path string, b []byte) error {
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return fmt.Errorf("vendor aliases %s: %w", path, err)
	}
	if len(doc.Content) == 0 {
		return nil
	}
	m := doc.Content[0]
	if m.Kind != yaml.MappingNode {
		return fmt.Errorf("vendor aliases %s:%d:%d: want a mapping of vendor ID to a list of aliases", path, m.Line, m.Column)
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		k, v := m.Content[i], m.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			return fmt.Errorf("vendor aliases %s:%d:%d: vendor ID must be a string", path, k.Line, k.Column)
		}
		var list []*yaml.Node
		switch v.Kind {
		case yaml.ScalarNode:
			list = []*yaml.Node{v}
		case yaml.SequenceNode:
			list = v.Content
		default:
			return fmt.Errorf("vendor aliases %s:%d:%d: %s: want a list of aliases", path, v.Line, v.Column, k.Value)
		}
		if err := a.Add(k.Value, k.Value); err != nil {
			return fmt.Errorf("vendor aliases %s:%d:%d: %w", path, k.Line, k.Column, err)
		}
		for _, n := range list {
			if n.Kind != yaml.ScalarNode {
				return fmt.Errorf("vendor aliases %s:%d:%d: %s: alias must be a string", path, n.Line, n.Column, k.Value)
			}
			if err := a.Add(n.Value, k.Value); err != nil {
				return fmt.Errorf("vendor aliases %s:%d:%d: %w", path, n.Line, n.Column, err)
			}
		}
	}
	return nil
}
