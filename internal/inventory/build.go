package inventory

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Limits on hostile input. Each has its own error.
const (
	MaxLineBytes    = 1 << 20 // one CSV record, or one JSON element
	MaxFields       = 256     // CSV columns
	MaxFieldBytes   = 64 << 10
	MaxProblems     = 1000 // problems kept; the rest are counted in Inventory.MoreProblems
	MaxListItems    = 256  // tags, evaluated versions
	maxInternedKeys = 1 << 16
	maxMemoKeys     = 1 << 12
)

// Canonical field (column) names, as in the Element JSON.
const (
	fID                = "id"
	fName              = "name"
	fVendor            = "vendor"
	fModel             = "model"
	fSoftwareVersion   = "software_version"
	fDomain            = "domain"
	fFunction          = "function"
	fGeneration        = "generation"
	fPlane             = "plane"
	fSite              = "site"
	fSiteSensitivity   = "site_sensitivity"
	fInstallDate       = "install_date"
	fPurchaseDate      = "purchase_date"
	fTrafficShare      = "traffic_share"
	fPremisesServed    = "premises_served"
	fManagedBy         = "managed_by"
	fSupportLocation   = "support_location"
	fSanctionsAffected = "sanctions_affected"
	fNESASReportID     = "nesas_report_id"
	fEvidenceScheme    = "evidence_scheme"
	fEvaluatedVersions = "evaluated_versions"
	fTags              = "tags"
	fMgmtAddresses     = "management_addresses"
	fEvidence          = "evidence"   // JSON only: a list of Evidence objects
	fVendorRaw         = "vendor_raw" // JSON only
	fOrigin            = "origin"     // JSON only
)

// FieldNames lists the canonical column names in documentation order.
var FieldNames = []string{fID, fName, fVendor, fModel, fSoftwareVersion, fDomain, fFunction,
	fGeneration, fPlane, fSite, fSiteSensitivity, fInstallDate, fPurchaseDate, fTrafficShare,
	fPremisesServed, fManagedBy, fSupportLocation, fSanctionsAffected, fNESASReportID,
	fEvidenceScheme, fEvaluatedVersions, fTags, fMgmtAddresses}

// fieldSynonyms maps a folded column / characteristic / custom-field name
// to its canonical field.
var fieldSynonyms = map[string]string{}

func init() {
	for _, f := range FieldNames {
		fieldSynonyms[foldKey(f)] = f
	}
	for k, v := range map[string]string{
		"swversion": fSoftwareVersion, "version": fSoftwareVersion, "softwarerelease": fSoftwareVersion,
		"networkdomain": fDomain, "networkfunction": fFunction, "nf": fFunction,
		"manufacturer": fVendor, "vendorname": fVendor,
		"procurementdate": fPurchaseDate, "premises": fPremisesServed,
		"managedserviceprovider": fManagedBy, "msp": fManagedBy,
		"remotesupportlocation": fSupportLocation, "supportcountry": fSupportLocation,
		"sanctioned": fSanctionsAffected, "nesasreport": fNESASReportID, "scasreportid": fNESASReportID,
		"evaluationreportid": fNESASReportID, "evaluatedversion": fEvaluatedVersions,
		"sitesensitivity": fSiteSensitivity, "sensitivity": fSiteSensitivity,
		"tag": fTags, "elementid": fID, "elementname": fName, "hostname": fName,
		"installationdate": fInstallDate, "rat": fGeneration, "technology": fGeneration,
		"managementaddress": fMgmtAddresses, "managementip": fMgmtAddresses, "managementips": fMgmtAddresses,
		"managementipaddress": fMgmtAddresses, "mgmtip": fMgmtAddresses, "mgmtaddress": fMgmtAddresses,
		"mgmtaddresses": fMgmtAddresses, "mgmtips": fMgmtAddresses, "oamip": fMgmtAddresses,
	} {
		fieldSynonyms[k] = v
	}
	fieldSynonyms[foldKey(fEvidence)] = fEvidence
	fieldSynonyms[foldKey(fVendorRaw)] = fVendorRaw
	fieldSynonyms[foldKey(fOrigin)] = fOrigin
}

// canonicalField maps a column name in any accepted spelling to its
// canonical field name, or "" when it is not one.
func canonicalField(name string) string { return fieldSynonyms[foldKey(strings.TrimSpace(name))] }

// A value is one field of one input record, with where it was found.
type value struct {
	field     string   // canonical field name
	label     string   // as the input spelt it (column header, JSON key, custom field)
	text      string   // scalar value
	list      []string // list value (tags, evaluated_versions) when isList
	isList    bool
	line, col int
}

// builder turns the values of one record into an Element, recording a
// Problem for each bad value. Errors drop the record; warnings keep it.
type builder struct {
	input  string
	al     *Aliases
	cache  map[string]string // raw vendor -> normalised
	intern map[string]string
	sites  map[string]string // sites are many: they get their own table
	site   string            // the last site, as rows of one site tend to follow each other
	memo   [nMemo]map[string]memoed
	probs  []Problem
	bad    bool

	// The per-row strings that are not shared (id, name, report id,
	// origin) are copied into one buffer and made into one string.
	own   []byte
	slots [nSlots]slot
}

// Per-row strings gathered by keep and made by settle.
const (
	sID = iota
	sName
	sReportID
	sOrigin
	sSite
	nSlots
)

type slot struct {
	off, n int
	set    bool
}

// Kinds of memoised normalisations of low-cardinality columns.
const (
	mGeneration = iota
	mPlane
	mSensitivity
	mSupport
	mScheme
	nMemo
)

// memoed is the outcome of normalising one raw value.
type memoed struct {
	out string
	ok  bool
}

func newBuilder(input string, al *Aliases) *builder {
	if al == nil {
		al = builtinAliases()
	}
	return &builder{input: input, al: al, cache: map[string]string{}, intern: map[string]string{}, sites: map[string]string{}}
}

func (b *builder) reset() {
	b.probs = b.probs[:0]
	b.bad = false
	b.own = b.own[:0]
	b.slots = [nSlots]slot{}
}

// keep arranges for slot i to hold a copy of s, made by settle.
func (b *builder) keep(i int, s string) {
	b.slots[i] = slot{off: len(b.own), n: len(s), set: true}
	b.own = append(b.own, s...)
}

// keepOrigin arranges for the origin slot to hold "name:line".
func (b *builder) keepOrigin(name string, line int) {
	off := len(b.own)
	b.own = append(b.own, name...)
	b.own = append(b.own, ':')
	b.own = strconv.AppendInt(b.own, int64(line), 10)
	b.slots[sOrigin] = slot{off: off, n: len(b.own) - off, set: true}
}

// settle makes the strings that keep and keepOrigin arranged, with one
// allocation, and stores them in e; it returns the report id.
func (b *builder) settle(e *Element) (reportID string) {
	s := string(b.own)
	for i := range b.slots {
		sl := b.slots[i]
		if !sl.set {
			continue
		}
		v := s[sl.off : sl.off+sl.n]
		switch i {
		case sID:
			e.ID = v
		case sName:
			e.Name = v
		case sReportID:
			reportID = v
		case sOrigin:
			e.Origin = v
		case sSite:
			e.Site = v
			b.site = v
		}
	}
	b.own = b.own[:0]
	b.slots = [nSlots]slot{}
	return reportID
}

// memoise returns f(s), remembered for short values of a column that
// has few distinct ones. f must depend on s only.
func (b *builder) memoise(kind int, s string, f func(string) (string, bool)) (string, bool) {
	m := b.memo[kind]
	if m == nil {
		m = map[string]memoed{}
		b.memo[kind] = m
	}
	if r, ok := m[s]; ok {
		return r.out, r.ok
	}
	out, ok := f(s)
	if len(m) < maxMemoKeys && len(s) <= 64 {
		m[strings.Clone(s)] = memoed{out: out, ok: ok}
	}
	return out, ok
}

// siteStr interns a site name. When the table is full it returns "" and
// leaves the copy to settle.
func (b *builder) siteStr(s string) string {
	b.slots[sSite] = slot{} // a later value wins over an earlier one
	if s == "" {
		return ""
	}
	if s == b.site {
		return b.site
	}
	v, ok := b.sites[s]
	if !ok {
		if len(b.sites) >= maxInternedKeys || len(s) > 64 {
			// Not kept: a copy in the row's string, made by settle.
			b.keep(sSite, s)
			return ""
		}
		v = strings.Clone(s)
		b.sites[v] = v
	}
	b.site = v
	return v
}

func (b *builder) errorf(v *value, format string, args ...any) {
	b.bad = true
	b.probs = append(b.probs, Problem{Input: b.input, Line: v.line, Column: v.col, Field: v.label, Reason: fmt.Sprintf(format, args...)})
}

func (b *builder) warnf(v *value, format string, args ...any) {
	b.probs = append(b.probs, Problem{Input: b.input, Line: v.line, Column: v.col, Field: v.label, Reason: fmt.Sprintf(format, args...), Warning: true})
}

// str interns short repeated strings (models, versions, sites) so that a
// million elements share them, and copies the rest off the input buffer.
func (b *builder) str(s string) string {
	if s == "" {
		return ""
	}
	if v, ok := b.intern[s]; ok {
		return v
	}
	c := strings.Clone(s)
	if len(b.intern) < maxInternedKeys && len(s) <= 64 {
		b.intern[c] = c
	}
	return c
}

func (b *builder) vendor(raw string) string {
	if v, ok := b.cache[raw]; ok {
		return v
	}
	n := b.al.Normalise(raw)
	if len(b.cache) < maxInternedKeys {
		b.cache[strings.Clone(raw)] = n
	}
	return n
}

// build fills e from vals. pos is where the record starts, for problems
// about a missing field. It reports whether e should be kept.
func (b *builder) build(e *Element, vals []value, pos value) bool {
	var ev Evidence
	var haveEvidence bool
	var domainVal, functionVal, idVal, vendorVal *value
	for i := range vals {
		v := &vals[i]
		t := strings.TrimSpace(v.text)
		if len(t) > MaxFieldBytes {
			b.errorf(v, "value longer than %d bytes", MaxFieldBytes)
			continue
		}
		switch v.field {
		case fID:
			b.keep(sID, t)
			idVal = v
		case fName:
			b.keep(sName, t)
		case fVendor:
			vendorVal = v
			if t != "" {
				e.VendorRaw = b.str(t)
				e.Vendor = b.vendor(t)
			}
		case fVendorRaw:
			e.VendorRaw = b.str(t)
		case fModel:
			e.Model = b.str(t)
		case fSoftwareVersion:
			e.SoftwareVersion = b.str(t)
		case fDomain:
			e.Domain = strings.ToLower(t)
			domainVal = v
		case fFunction:
			e.Function = strings.ToLower(t)
			functionVal = v
		case fGeneration:
			if t == "" {
				continue
			}
			if g, ok := b.memoise(mGeneration, t, CanonicalGeneration); ok {
				e.Generation = g
			} else {
				e.Generation = b.str(strings.ToUpper(t))
				b.warnf(v, "generation %q is not one of %s; kept as written", t, strings.Join(Generations, ", "))
			}
		case fPlane:
			if t == "" {
				continue
			}
			if p, ok := b.memoise(mPlane, t, CanonicalPlane); ok {
				e.Plane = p
			} else {
				e.Plane = b.str(strings.ToLower(t))
				b.warnf(v, "plane %q is not one of %s; kept as written", t, strings.Join(Planes, ", "))
			}
		case fSite:
			e.Site = b.siteStr(t)
		case fSiteSensitivity:
			e.SiteSensitivity, _ = b.memoise(mSensitivity, t, func(s string) (string, bool) { return b.str(slug(s)), true })
		case fInstallDate, fPurchaseDate:
			if t == "" {
				continue
			}
			d, err := parseDateLoose(t)
			if err != nil {
				b.errorf(v, "%v", err)
				continue
			}
			if v.field == fInstallDate {
				e.InstallDate = d
			} else {
				e.PurchaseDate = d
			}
		case fTrafficShare:
			if t == "" {
				continue
			}
			f, err := strconv.ParseFloat(strings.TrimSuffix(t, "%"), 64)
			if err == nil && strings.HasSuffix(t, "%") {
				f /= 100
			}
			switch {
			case err != nil:
				b.errorf(v, "%q is not a number", t)
			case math.IsNaN(f) || f < 0 || f > 1:
				b.errorf(v, "%s is outside 0..1 (a share of the operator's traffic)", t)
			default:
				e.TrafficShare = f
			}
		case fPremisesServed:
			if t == "" {
				continue
			}
			n, err := strconv.ParseInt(t, 10, 64)
			if err != nil {
				if f, ferr := strconv.ParseFloat(t, 64); ferr == nil && f == math.Trunc(f) && f >= 0 && f < 1e15 {
					n, err = int64(f), nil
				}
			}
			switch {
			case err != nil:
				b.errorf(v, "%q is not a whole number", t)
			case n < 0:
				b.errorf(v, "%d is negative", n)
			default:
				e.PremisesServed = n
			}
		case fManagedBy:
			if t != "" {
				e.ManagedBy = b.vendor(t)
			}
		case fSupportLocation:
			if t == "" {
				continue
			}
			u, ok := b.memoise(mSupport, t, func(s string) (string, bool) {
				u := b.str(strings.ToUpper(s))
				return u, isCountryCode(u)
			})
			if !ok {
				b.warnf(v, "%q is not an ISO 3166 alpha-2 country code; kept as written", t)
			}
			e.SupportLocation = u
		case fSanctionsAffected:
			if t == "" {
				continue
			}
			bv, ok := parseBool(t)
			if !ok {
				b.errorf(v, "%q is not true or false", t)
				continue
			}
			e.SanctionsAffected = bv
		case fNESASReportID:
			if t != "" {
				b.keep(sReportID, t)
				haveEvidence = true
			}
		case fEvidenceScheme:
			if t != "" {
				ev.Scheme, _ = b.memoise(mScheme, t, func(s string) (string, bool) { return b.str(strings.ToUpper(s)), true })
			}
		case fEvaluatedVersions:
			ev.EvaluatedVersions = b.list(v, t)
		case fTags:
			e.Tags = append(e.Tags, b.list(v, t)...)
		case fMgmtAddresses:
			for _, a := range b.list(v, t) {
				c, err := CanonicalAddress(a)
				if err != nil {
					b.errorf(v, "management address %q: %v", a, err)
					continue
				}
				if !slices.Contains(e.ManagementAddresses, c) {
					e.ManagementAddresses = append(e.ManagementAddresses, b.str(c))
				}
			}
		}
	}
	if rid := b.settle(e); haveEvidence {
		ev.ReportID = rid
		if ev.Scheme == "" {
			ev.Scheme = "NESAS"
		}
		e.Evidence = append(e.Evidence, ev)
	} else if ev.Scheme != "" || len(ev.EvaluatedVersions) > 0 {
		b.warnf(&pos, "evidence_scheme or evaluated_versions given without nesas_report_id; ignored")
	}
	b.check(e, pos, idVal, vendorVal, domainVal, functionVal)
	return !b.bad
}

func (b *builder) list(v *value, t string) []string {
	var items []string
	if v.isList {
		items = v.list
	} else if t != "" {
		items = strings.Split(t, ";")
	}
	var out []string
	for _, it := range items {
		it = strings.TrimSpace(it)
		if it == "" {
			continue
		}
		if len(out) == MaxListItems {
			b.warnf(v, "more than %d items; the rest ignored", MaxListItems)
			break
		}
		out = append(out, b.str(it))
	}
	return out
}

// check validates the required fields and the vocabulary.
func (b *builder) check(e *Element, pos value, idVal, vendorVal, domainVal, functionVal *value) {
	at := func(v *value, field string) *value {
		if v != nil {
			return v
		}
		p := pos
		p.label = field
		return &p
	}
	if e.ID == "" {
		b.errorf(at(idVal, fID), "missing id")
	}
	if e.Vendor == "" {
		b.errorf(at(vendorVal, fVendor), "missing vendor")
	}
	switch {
	case e.Domain == "":
		b.errorf(at(domainVal, fDomain), "missing domain (one of %s)", strings.Join(DomainNames(), ", "))
	case !KnownDomain(e.Domain):
		hint := ""
		if ds := FunctionDomains(e.Domain); len(ds) > 0 {
			hint = fmt.Sprintf(" (%q is a function of %s)", e.Domain, strings.Join(ds, ", "))
		}
		b.errorf(at(domainVal, fDomain), "unknown domain %q%s; want one of %s", e.Domain, hint, strings.Join(DomainNames(), ", "))
	default:
		if d, ok := domainNames[e.Domain]; ok {
			e.Domain = d
		}
		if e.Function != "" {
			if !KnownFunction(e.Domain, e.Function) {
				hint := ""
				if ds := FunctionDomains(e.Function); len(ds) > 0 {
					hint = fmt.Sprintf(" (it belongs to %s)", strings.Join(ds, ", "))
				}
				b.warnf(at(functionVal, fFunction), "function %q is not in the vocabulary of domain %s%s; kept as written", e.Function, e.Domain, hint)
				e.Function = b.str(e.Function)
			} else {
				e.Function = functionNames[e.Function]
			}
		}
	}
}

// Interned vocabulary strings, so that elements do not hold the input.
var domainNames, functionNames = func() (map[string]string, map[string]string) {
	d, f := map[string]string{}, map[string]string{}
	for k, fs := range Domains {
		d[k] = k
		for _, x := range fs {
			f[x] = x
		}
	}
	return d, f
}()

func isCountryCode(s string) bool {
	return len(s) == 2 && s[0] >= 'A' && s[0] <= 'Z' && s[1] >= 'A' && s[1] <= 'Z'
}

func parseBool(s string) (bool, bool) {
	switch strings.ToLower(s) {
	case "true", "yes", "y", "1", "t":
		return true, true
	case "false", "no", "n", "0", "f":
		return false, true
	}
	return false, false
}

// parseDateLoose reads YYYY-MM-DD, or an RFC 3339 timestamp (its date as
// written), and rejects years outside 1900..2199.
func parseDateLoose(s string) (Date, error) {
	if d, ok := fastDate(s); ok {
		return d, nil
	}
	var t time.Time
	var err error
	if len(s) > 10 {
		t, err = time.Parse(time.RFC3339Nano, s)
		if err == nil {
			t = time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
		}
	} else {
		t, err = time.Parse(time.DateOnly, s)
	}
	if err != nil {
		if len(s) > 40 {
			s = s[:40] + "..."
		}
		return Date{}, fmt.Errorf("%q is not a date (want YYYY-MM-DD)", s)
	}
	if y := t.Year(); y < 1900 || y > 2199 {
		return Date{}, fmt.Errorf("%s: year %d is outside 1900..2199", s, y)
	}
	return Date{t}, nil
}

// fastDate reads a valid YYYY-MM-DD in 1900..2199 without time.Parse;
// ok is false for anything else, which parseDateLoose then handles.
func fastDate(s string) (Date, bool) {
	if len(s) != 10 || s[4] != '-' || s[7] != '-' {
		return Date{}, false
	}
	num := func(s string) (int, bool) {
		n := 0
		for i := 0; i < len(s); i++ {
			c := s[i]
			if c < '0' || c > '9' {
				return 0, false
			}
			n = n*10 + int(c-'0')
		}
		return n, true
	}
	y, ok1 := num(s[:4])
	m, ok2 := num(s[5:7])
	d, ok3 := num(s[8:])
	if !ok1 || !ok2 || !ok3 || y < 1900 || y > 2199 || m < 1 || m > 12 || d < 1 || d > daysIn(time.Month(m), y) {
		return Date{}, false
	}
	return Date{time.Date(y, time.Month(m), d, 0, 0, 0, 0, time.UTC)}, true
}

func daysIn(m time.Month, y int) int {
	switch m {
	case time.February:
		if y%4 == 0 && (y%100 != 0 || y%400 == 0) {
			return 29
		}
		return 28
	case time.April, time.June, time.September, time.November:
		return 30
	}
	return 31
}

// collector gathers the elements and problems of one load.
type collector struct {
	inv    *Inventory
	strict bool
	seen   map[string]string // id -> origin of its first element
}

func newCollector(source string, opts LoadOptions) *collector {
	return &collector{inv: &Inventory{Source: source}, strict: opts.Strict, seen: map[string]string{}}
}

// reserve makes room for n more elements, so that a large load does not
// copy its elements and rehash its ids as it grows.
func (c *collector) reserve(n int) {
	if n <= 0 {
		return
	}
	// A crafted file can start with short rows and end with long ones:
	// never reserve more than a large real inventory needs.
	n = min(n, maxReserve)
	c.inv.Elements = slices.Grow(c.inv.Elements, n)
	seen := make(map[string]string, len(c.seen)+n)
	for k, v := range c.seen {
		seen[k] = v
	}
	c.seen = seen
}

// maxReserve bounds the elements reserved ahead from an estimate.
const maxReserve = 2 << 20

// problem records p; in strict mode it returns the error that ends the load.
func (c *collector) problem(p Problem) error {
	if c.strict {
		return &StrictError{Problem: p}
	}
	if len(c.inv.Problems) < MaxProblems {
		c.inv.Problems = append(c.inv.Problems, p)
	} else {
		c.inv.MoreProblems++
	}
	return nil
}

// record takes the outcome of one builder run: its problems, and the
// element if it is to be kept. idVal locates the id for a duplicate.
func (c *collector) record(b *builder, e *Element, keep bool, idVal value) error {
	if keep {
		if first, dup := c.seen[e.ID]; dup {
			b.bad = true
			keep = false
			b.probs = append(b.probs, Problem{Input: b.input, Line: idVal.line, Column: idVal.col, Field: idVal.label,
				Reason: fmt.Sprintf("duplicate id %q (first at %s)", truncate(e.ID, 80), first)})
		}
	}
	for _, p := range b.probs {
		if err := c.problem(p); err != nil {
			return err
		}
	}
	if !keep {
		c.inv.Skipped++
		return nil
	}
	c.seen[e.ID] = e.Origin
	c.inv.Elements = append(c.inv.Elements, *e)
	return nil
}

// fatal records a problem that stops the load in every mode.
func (c *collector) fatal(p Problem) error {
	if len(c.inv.Problems) < MaxProblems {
		c.inv.Problems = append(c.inv.Problems, p)
	}
	return &LoadError{Problem: p}
}

// StrictError is returned by a strict load at its first problem.
type StrictError struct{ Problem Problem }

func (e *StrictError) Error() string { return "strict: " + e.Problem.Error() }
func (e *StrictError) Unwrap() error { return e.Problem }

// LoadError is a problem that stops a load in any mode: an unreadable
// file, a missing required column, a broken JSON document. The returned
// Inventory, when not nil, holds what was read before it.
type LoadError struct{ Problem Problem }

func (e *LoadError) Error() string { return e.Problem.Error() }
func (e *LoadError) Unwrap() error { return e.Problem }

// ErrTooLarge is wrapped by the errors of every size limit.
var ErrTooLarge = errors.New("inventory: input over a size limit")

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
