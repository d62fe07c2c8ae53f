package policy

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/netvet/netvet/internal/inventory"
)

// FormatVersion is the pack format this netvet reads (the `format:` key).
const FormatVersion = 1

// Limits on pack files, which may be crafted.
const (
	MaxPackSize  = 4 << 20 // bytes in one pack or override file
	maxYAMLNodes = 200_000 // YAML nodes in one file
	maxRules     = 10_000  // rules in one pack
	maxListLen   = 1_000   // entries in vendors, evidence, allowed_locations
	maxLintErrs  = 1_000   // errors reported for one file
)

// LintError is one problem in a pack file, positioned at the YAML node at
// fault. Line and Column are 1-based; Field is a path such as
// "rules[2].cap".
type LintError struct {
	File   string `json:"file"`
	Line   int    `json:"line"`
	Column int    `json:"column"`
	Field  string `json:"field,omitempty"`
	Msg    string `json:"message"`
}

func (e LintError) Error() string {
	if e.Field == "" {
		return fmt.Sprintf("%s:%d:%d: %s", e.File, e.Line, e.Column, e.Msg)
	}
	return fmt.Sprintf("%s:%d:%d: %s: %s", e.File, e.Line, e.Column, e.Field, e.Msg)
}

// LintErrors is every problem found in a file; LoadPack returns it as its
// error.
type LintErrors []LintError

func (l LintErrors) Error() string {
	s := make([]string, len(l))
	for i, e := range l {
		s[i] = e.Error()
	}
	return strings.Join(s, "\n")
}

// Lint reads the pack at path and returns every problem in it, or nil
// when it is clean.
func Lint(path string) []LintError {
	b, err := readBounded(path)
	if err != nil {
		return []LintError{{File: path, Line: 0, Column: 0, Msg: err.Error()}}
	}
	_, errs := parsePack(path, b)
	return errs
}

// LoadPack reads and checks the pack at path. A pack with any problem is
// refused; the error is a LintErrors listing all of them.
func LoadPack(path string) (*Pack, error) {
	b, err := readBounded(path)
	if err != nil {
		return nil, LintErrors{{File: path, Msg: err.Error()}}
	}
	return ParsePack(path, b)
}

// ParsePack checks the pack in data; name is used in messages.
func ParsePack(name string, data []byte) (*Pack, error) {
	p, errs := parsePack(name, data)
	if len(errs) > 0 {
		return nil, LintErrors(errs)
	}
	return p, nil
}

// ReadPack reads a pack from r (at most MaxPackSize bytes).
func ReadPack(name string, r io.Reader) (*Pack, error) {
	b, err := readLimited(r)
	if err != nil {
		return nil, LintErrors{{File: name, Msg: err.Error()}}
	}
	return ParsePack(name, b)
}

func readBounded(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil && st.IsDir() {
		return nil, errors.New("is a directory, not a policy file")
	}
	return readLimited(f) // pipes and devices get the same bound
}

func readLimited(r io.Reader) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, MaxPackSize+1))
	if err != nil {
		return nil, err
	}
	if len(b) > MaxPackSize {
		return nil, fmt.Errorf("file is larger than %d bytes, the limit for a policy file", MaxPackSize)
	}
	return b, nil
}

// yamlLineRE finds the line in a yaml.v3 error message.
var yamlLineRE = regexp.MustCompile(`line (\d+)(?:, column (\d+))?`)

// parseYAML decodes one YAML document into a node tree and refuses the
// constructs a hostile file uses to blow up: aliases, too many nodes,
// several documents.
func parseYAML(name string, data []byte) (*yaml.Node, []LintError) {
	if len(data) > MaxPackSize {
		return nil, []LintError{{File: name, Msg: fmt.Sprintf("file is larger than %d bytes, the limit for a policy file", MaxPackSize)}}
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := decodeSafe(dec, &doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, []LintError{{File: name, Line: 1, Column: 1, Msg: "empty file"}}
		}
		return nil, []LintError{yamlError(name, err)}
	}
	var extra yaml.Node
	if err := decodeSafe(dec, &extra); err == nil {
		return nil, []LintError{{File: name, Line: extra.Line, Column: extra.Column, Msg: "more than one YAML document; a policy file holds one"}}
	} else if !errors.Is(err, io.EOF) {
		return nil, []LintError{yamlError(name, err)}
	}
	var errs []LintError
	n := 0
	var walk func(nd *yaml.Node, depth int) bool
	walk = func(nd *yaml.Node, depth int) bool {
		n++
		if n > maxYAMLNodes {
			errs = append(errs, LintError{File: name, Line: nd.Line, Column: nd.Column, Msg: fmt.Sprintf("more than %d YAML nodes", maxYAMLNodes)})
			return false
		}
		if depth > 64 {
			errs = append(errs, LintError{File: name, Line: nd.Line, Column: nd.Column, Msg: "YAML nested more than 64 levels deep"})
			return false
		}
		if nd.Kind == yaml.AliasNode {
			errs = append(errs, LintError{File: name, Line: nd.Line, Column: nd.Column, Msg: "YAML aliases are not allowed in policy files"})
			return true
		}
		for _, c := range nd.Content {
			if !walk(c, depth+1) {
				return false
			}
		}
		return true
	}
	walk(&doc, 0)
	if len(errs) > 0 {
		return nil, errs
	}
	if len(doc.Content) == 0 {
		return nil, []LintError{{File: name, Line: 1, Column: 1, Msg: "empty file"}}
	}
	return doc.Content[0], nil
}

// decodeSafe turns a panic inside the YAML decoder into an error: the
// decoder is not ours and its input is hostile.
func decodeSafe(dec *yaml.Decoder, v *yaml.Node) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("yaml: malformed document (%v)", r)
		}
	}()
	return dec.Decode(v)
}

func yamlError(name string, err error) LintError {
	msg := err.Error()
	le := LintError{File: name, Line: 1, Column: 1}
	if m := yamlLineRE.FindStringSubmatch(msg); m != nil {
		le.Line, _ = strconv.Atoi(m[1])
		if m[2] != "" {
			le.Column, _ = strconv.Atoi(m[2])
		}
	}
	msg = strings.TrimPrefix(msg, "yaml: ")
	if i := strings.Index(msg, ": "); i >= 0 && strings.HasPrefix(msg, "line ") {
		msg = msg[i+2:]
	}
	le.Msg = "YAML: " + msg
	return le
}

// parser collects lint errors while it walks a pack's node tree.
type parser struct {
	file string
	errs []LintError
}

func (p *parser) errAt(n *yaml.Node, field, format string, args ...any) {
	if len(p.errs) >= maxLintErrs {
		return
	}
	le := LintError{File: p.file, Field: field, Msg: fmt.Sprintf(format, args...)}
	if n != nil {
		le.Line, le.Column = n.Line, n.Column
	}
	p.errs = append(p.errs, le)
	if len(p.errs) == maxLintErrs {
		p.errs = append(p.errs, LintError{File: p.file, Line: le.Line, Column: le.Column, Msg: fmt.Sprintf("more than %d problems; stopped", maxLintErrs)})
	}
}

// mapping checks that n is a mapping and returns its keys and values in
// order, reporting unknown and duplicate keys.
func (p *parser) mapping(n *yaml.Node, field string, known map[string]bool) (keys []*yaml.Node, vals []*yaml.Node, ok bool) {
	if n.Kind != yaml.MappingNode {
		p.errAt(n, field, "want a mapping (key: value lines), got %s", kindName(n))
		return nil, nil, false
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		path := join(field, k.Value)
		if k.Kind != yaml.ScalarNode {
			p.errAt(k, field, "want a plain key, got %s", kindName(k))
			continue
		}
		if !known[k.Value] {
			p.errAt(k, path, "unknown field%s", suggest(k.Value, known))
			continue
		}
		if seen[k.Value] {
			p.errAt(k, path, "duplicate field")
			continue
		}
		seen[k.Value] = true
		keys = append(keys, k)
		vals = append(vals, v)
	}
	return keys, vals, true
}

func join(parent, key string) string {
	if parent == "" {
		return key
	}
	return parent + "." + key
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.AliasNode:
		return "an alias"
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!null":
			return "nothing (null)"
		case "!!bool":
			return "a boolean"
		case "!!int", "!!float":
			return "a number"
		}
		return fmt.Sprintf("%q", truncate(n.Value, 40))
	}
	return "a document"
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

// suggest proposes the known key closest to an unknown one.
func suggest(k string, known map[string]bool) string {
	best, bestD := "", 3
	for c := range known {
		if d := editDistance(k, c); d < bestD || (d == bestD && best != "" && c < best) {
			best, bestD = c, d
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf(" (did you mean %q?)", best)
}

func editDistance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		return 99
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			c := prev[j-1]
			if a[i-1] != b[j-1] {
				c++
			}
			cur[j] = min(c, prev[j]+1, cur[j-1]+1)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// str reads a scalar as text. Numbers and dates are accepted as their
// text ("version: 1.2"); booleans, nulls and collections are not.
func (p *parser) str(n *yaml.Node, field string) (string, bool) {
	if n.Kind != yaml.ScalarNode {
		p.errAt(n, field, "want text, got %s", kindName(n))
		return "", false
	}
	switch n.ShortTag() {
	case "!!str", "!!int", "!!float", "!!timestamp":
		return n.Value, true
	}
	p.errAt(n, field, "want text, got %s", kindName(n))
	return "", false
}

func (p *parser) boolean(n *yaml.Node, field string) (bool, bool) {
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!bool" {
		p.errAt(n, field, "want true or false, got %s", kindName(n))
		return false, false
	}
	return n.Value == "true" || n.Value == "True" || n.Value == "TRUE", true
}

func (p *parser) date(n *yaml.Node, field string) (inventory.Date, bool) {
	s, ok := p.str(n, field)
	if !ok {
		return inventory.Date{}, false
	}
	d, err := inventory.ParseDate(s)
	if err != nil {
		p.errAt(n, field, "%v", err)
		return inventory.Date{}, false
	}
	return d, true
}

func (p *parser) strList(n *yaml.Node, field string) ([]string, bool) {
	if n.Kind != yaml.SequenceNode {
		p.errAt(n, field, "want a list, got %s", kindName(n))
		return nil, false
	}
	if len(n.Content) > maxListLen {
		p.errAt(n, field, "more than %d entries", maxListLen)
		return nil, false
	}
	out := make([]string, 0, len(n.Content))
	ok := true
	for i, c := range n.Content {
		s, good := p.str(c, fmt.Sprintf("%s[%d]", field, i))
		if !good {
			ok = false
			continue
		}
		out = append(out, s)
	}
	return out, ok
}

var (
	idRE      = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,63}$`)
	vendorRE  = regexp.MustCompile(`^[a-z0-9][a-z0-9._&+-]*( [a-z0-9._&+-]+)*$`)
	countryRE = regexp.MustCompile(`^[A-Z]{2}$`)
)

var packKeys = setOf("format", "id", "name", "jurisdiction", "version", "description", "vendors", "rules")

var ruleKeys = setOf("id", "title", "kind", "scope", "vendors", "vendor_criteria", "metric", "cap",
	"deadline", "date_field", "evidence", "allowed_locations", "source", "source_url", "status",
	"notes", "proposal")

func setOf(s ...string) map[string]bool {
	m := make(map[string]bool, len(s))
	for _, v := range s {
		m[v] = true
	}
	return m
}

// parsePack checks a pack file and builds the Pack; it reports every
// problem it finds rather than the first.
func parsePack(name string, data []byte) (*Pack, []LintError) {
	root, errs := parseYAML(name, data)
	if errs != nil {
		return nil, errs
	}
	p := &parser{file: name}
	pk := &Pack{File: name}
	keys, vals, ok := p.mapping(root, "", packKeys)
	if !ok {
		return nil, p.errs
	}
	have := map[string]bool{}
	var rulesNode *yaml.Node
	for i, k := range keys {
		v := vals[i]
		f := k.Value
		have[f] = true
		switch f {
		case "format":
			s, ok := p.str(v, f)
			if ok && s != strconv.Itoa(FormatVersion) {
				p.errAt(v, f, "unsupported pack format %q; this netvet reads format %d", s, FormatVersion)
			}
		case "id":
			if s, ok := p.str(v, f); ok {
				if !idRE.MatchString(s) {
					p.errAt(v, f, "%q is not a valid ID (lowercase letters, digits, '.', '_', '-'; at most 64)", truncate(s, 80))
				}
				pk.ID = s
			}
		case "name":
			pk.Name, _ = p.str(v, f)
		case "jurisdiction":
			pk.Jurisdiction, _ = p.str(v, f)
		case "version":
			pk.Version, _ = p.str(v, f)
		case "description":
			pk.Description, _ = p.str(v, f)
		case "vendors":
			pk.Vendors = p.vendors(v, f)
		case "rules":
			rulesNode = v
		}
	}
	for _, req := range []string{"format", "id", "name", "jurisdiction", "version", "rules"} {
		if !have[req] {
			p.errAt(root, req, "required field is missing")
		}
	}
	if rulesNode != nil {
		p.rules(pk, rulesNode)
	}
	if len(p.errs) > 0 {
		return nil, p.errs
	}
	return pk, nil
}

func (p *parser) vendors(v *yaml.Node, field string) []string {
	list, _ := p.strList(v, field)
	out := list[:0]
	for i, s := range list {
		if !vendorRE.MatchString(s) {
			p.errAt(v.Content[i], fmt.Sprintf("%s[%d]", field, i), "%q is not a normalised vendor name (lowercase, as netvet's vendor aliases give it, e.g. \"huawei\")", truncate(s, 80))
			continue
		}
		out = append(out, s)
	}
	return out
}

func (p *parser) rules(pk *Pack, n *yaml.Node) {
	if n.Kind != yaml.SequenceNode {
		p.errAt(n, "rules", "want a list of rules, got %s", kindName(n))
		return
	}
	if len(n.Content) == 0 {
		p.errAt(n, "rules", "a pack needs at least one rule")
		return
	}
	if len(n.Content) > maxRules {
		p.errAt(n, "rules", "more than %d rules", maxRules)
		return
	}
	ids := map[string]int{}
	for i, rn := range n.Content {
		field := fmt.Sprintf("rules[%d]", i)
		r := p.rule(pk, rn, field)
		if r == nil {
			continue
		}
		if r.ID != "" {
			if first, dup := ids[r.ID]; dup {
				p.errAt(idNode(rn), field+".id", "duplicate rule ID %q (first used at line %d)", r.ID, first)
			} else {
				ids[r.ID] = r.Line
			}
		}
		pk.Rules = append(pk.Rules, r)
	}
}

// idNode returns the value node of a rule's id key, or the rule itself.
func idNode(rn *yaml.Node) *yaml.Node {
	if rn.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(rn.Content); i += 2 {
			if rn.Content[i].Value == "id" {
				return rn.Content[i+1]
			}
		}
	}
	return rn
}

func (p *parser) rule(pk *Pack, rn *yaml.Node, field string) *Rule {
	keys, vals, ok := p.mapping(rn, field, ruleKeys)
	if !ok {
		return nil
	}
	r := &Rule{Pack: pk.ID, Line: rn.Line}
	at := map[string]*yaml.Node{}
	for i, k := range keys {
		v := vals[i]
		f := k.Value
		path := field + "." + f
		at[f] = v
		switch f {
		case "id":
			if s, ok := p.str(v, path); ok {
				if !idRE.MatchString(s) {
					p.errAt(v, path, "%q is not a valid rule ID (lowercase letters, digits, '.', '_', '-'; at most 64)", truncate(s, 80))
				}
				r.ID = s
			}
		case "title":
			r.Title, _ = p.str(v, path)
		case "kind":
			if s, ok := p.str(v, path); ok {
				switch k := Kind(s); k {
				case KindForbid, KindShareCap, KindNoNewInstall, KindRemoveBy, KindRequireEvidence, KindSupportLocality:
					r.Kind = k
				default:
					p.errAt(v, path, "unknown kind %q (want forbid, share_cap, no_new_install, remove_by, require_evidence or support_locality)", truncate(s, 40))
				}
			}
		case "scope":
			if s, ok := p.str(v, path); ok {
				r.Scope = s
				if strings.TrimSpace(s) != "" {
					p.checkExpr(v, path, s)
				}
			}
		case "vendor_criteria":
			if s, ok := p.str(v, path); ok {
				r.VendorCriteria = s
				if strings.TrimSpace(s) == "" {
					p.errAt(v, path, "empty expression; leave the field out instead")
				} else {
					p.checkExpr(v, path, s)
				}
			}
		case "vendors":
			r.Vendors = p.vendors(v, path)
		case "metric":
			if s, ok := p.str(v, path); ok {
				switch m := Metric(s); m {
				case MetricElements, MetricSites, MetricTraffic, MetricPremises:
					r.Metric = m
				default:
					p.errAt(v, path, "unknown metric %q (want elements, sites, traffic or premises)", truncate(s, 40))
				}
			}
		case "cap":
			if v.Kind != yaml.ScalarNode || (v.ShortTag() != "!!int" && v.ShortTag() != "!!float") {
				hint := ""
				if strings.HasSuffix(strings.TrimSpace(v.Value), "%") {
					hint = " (write 35% as 0.35)"
				}
				p.errAt(v, path, "want a number between 0 and 1, got %s%s", kindName(v), hint)
				break
			}
			c, err := strconv.ParseFloat(v.Value, 64)
			if err != nil || math.IsNaN(c) || c < 0 || c > 1 {
				p.errAt(v, path, "cap %s is outside 0..1 (a share: 0.35 is 35%%)", truncate(v.Value, 40))
				break
			}
			r.Cap = c
		case "deadline":
			r.Deadline, _ = p.date(v, path)
		case "date_field":
			if s, ok := p.str(v, path); ok {
				switch d := DateField(s); d {
				case DateInstall, DatePurchase:
					r.DateField = d
				default:
					p.errAt(v, path, "unknown date field %q (want install_date or purchase_date)", truncate(s, 40))
				}
			}
		case "evidence":
			list, _ := p.strList(v, path)
			for i, s := range list {
				if normScheme(s) == "" || len(s) > 64 {
					p.errAt(v.Content[i], fmt.Sprintf("%s[%d]", path, i), "%q is not an evidence scheme name (e.g. NESAS, CC, BSZ)", truncate(s, 80))
					continue
				}
				r.Evidence = append(r.Evidence, s)
			}
		case "allowed_locations":
			list, _ := p.strList(v, path)
			for i, s := range list {
				if !countryRE.MatchString(s) {
					p.errAt(v.Content[i], fmt.Sprintf("%s[%d]", path, i), "%q is not an ISO 3166 alpha-2 country code in capitals (e.g. SE)", truncate(s, 40))
					continue
				}
				r.AllowedLocations = append(r.AllowedLocations, s)
			}
		case "source":
			r.Source, _ = p.str(v, path)
		case "source_url":
			if s, ok := p.str(v, path); ok {
				u, err := url.Parse(s)
				if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
					p.errAt(v, path, "%q is not an http(s) URL", truncate(s, 80))
				} else {
					r.SourceURL = s
				}
			}
		case "status":
			if s, ok := p.str(v, path); ok {
				switch st := Status(s); st {
				case StatusVerified, StatusPartial, StatusUnverified:
					r.Status = st
				default:
					p.errAt(v, path, "unknown status %q (want verified, partial or unverified)", truncate(s, 40))
				}
			}
		case "notes":
			r.Notes, _ = p.str(v, path)
		case "proposal":
			r.Proposal, _ = p.boolean(v, path)
		}
	}
	for _, req := range []string{"id", "title", "kind", "source", "status"} {
		if at[req] == nil {
			p.errAt(rn, field+"."+req, "required field is missing")
		}
	}
	if at["source"] != nil && strings.TrimSpace(r.Source) == "" {
		p.errAt(at["source"], field+".source", "a rule needs a source: the instrument it comes from")
	}
	p.kindFields(pk, r, rn, field, at)
	return r
}

// kindFields checks the fields that depend on the rule's kind.
func (p *parser) kindFields(pk *Pack, r *Rule, rn *yaml.Node, field string, at map[string]*yaml.Node) {
	if r.Kind == "" {
		return
	}
	need := func(f, why string) {
		if at[f] == nil {
			p.errAt(rn, field+"."+f, "required for a %s rule: %s", r.Kind, why)
		}
	}
	only := func(f string, kinds ...Kind) {
		if at[f] == nil {
			return
		}
		for _, k := range kinds {
			if r.Kind == k {
				return
			}
		}
		names := make([]string, len(kinds))
		for i, k := range kinds {
			names[i] = string(k)
		}
		p.errAt(at[f], field+"."+f, "applies only to %s rules, not %s", strings.Join(names, " and "), r.Kind)
	}
	only("metric", KindShareCap)
	only("cap", KindShareCap)
	only("date_field", KindNoNewInstall)
	only("evidence", KindRequireEvidence)
	only("allowed_locations", KindSupportLocality)
	switch r.Kind {
	case KindShareCap:
		need("metric", "what the share is measured by (elements, sites, traffic or premises)")
		need("cap", "the largest share allowed, 0..1")
	case KindNoNewInstall:
		need("deadline", "the date from which new installs are forbidden")
	case KindRemoveBy:
		need("deadline", "the date by which the elements must be gone")
	case KindRequireEvidence:
		need("evidence", "the accepted evidence schemes")
		if at["evidence"] != nil && len(r.Evidence) == 0 && at["evidence"].Kind == yaml.SequenceNode && len(at["evidence"].Content) == 0 {
			p.errAt(at["evidence"], field+".evidence", "list at least one accepted scheme")
		}
	case KindSupportLocality:
		need("allowed_locations", "the countries remote support may come from")
		if n := at["allowed_locations"]; n != nil && n.Kind == yaml.SequenceNode && len(n.Content) == 0 {
			p.errAt(n, field+".allowed_locations", "list at least one country")
		}
	}
	switch r.Kind {
	case KindForbid, KindRemoveBy, KindNoNewInstall, KindShareCap:
		if at["vendors"] == nil && at["vendor_criteria"] == nil && len(pk.Vendors) == 0 {
			p.errAt(rn, field+".vendors", "a %s rule needs designated vendors: vendors or vendor_criteria here, or vendors at the pack level", r.Kind)
		}
	}
}

// checkExpr compiles a CEL expression and positions its errors in the
// file: for a one-line scalar, at the column of the fault.
func (p *parser) checkExpr(n *yaml.Node, field, src string) {
	_, issues := compileExpr(src)
	for _, is := range issues {
		le := LintError{File: p.file, Line: n.Line, Column: n.Column, Field: field, Msg: "CEL: " + is.msg}
		if is.line >= 1 && is.col >= 0 {
			switch n.Style {
			case 0, yaml.FlowStyle:
				if is.line == 1 && !strings.Contains(src, "\n") {
					le.Column = n.Column + is.col
				}
			case yaml.DoubleQuotedStyle, yaml.SingleQuotedStyle:
				if is.line == 1 && !strings.Contains(src, "\n") && !strings.ContainsAny(src, `\'`) {
					le.Column = n.Column + 1 + is.col
				}
			case yaml.LiteralStyle:
				// Block scalar: content starts on the next line.
				le.Line = n.Line + is.line
				le.Column = 0
			}
			if le.Column == 0 {
				le.Msg += fmt.Sprintf(" (expression line %d, column %d)", is.line, is.col+1)
				le.Column = n.Column
			}
		}
		if len(p.errs) < maxLintErrs {
			p.errs = append(p.errs, le)
		}
	}
}
