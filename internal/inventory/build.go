package inventory

import (
	"errors"
	"fmt"
	"math"
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
	fEvidence          = "evidence"   // JSON only: a list of Evidence objects
	fVendorRaw         = "vendor_raw" // JSON only
	fOrigin            = "origin"     // JSON only
)

// FieldNames lists the canonical column names in documentation order.
var FieldNames = []string{fID, fName, fVendor, fModel, fSoftwareVersion, fDomain, fFunction,
	fGeneration, fPlane, fSite, fSiteSensitivity, fInstallDate, fPurchaseDate, fTrafficShare,
	fPremisesServed, fManagedBy, fSupportLocation, fSanctionsAffected, fNESASReportID,
	fEvidenceScheme, fEvaluatedVersions, fTags}

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
	probs  []Problem
	bad    bool
}

func newBuilder(input string, al *Aliases) *builder {
	if al == nil {
		al = builtinAliases()
	}
	return &builder{input: input, al: al, cache: map[string]string{}, intern: map[string]string{}}
}

func (b *builder) reset() { b.probs = b.probs[:0]; b.bad = false }

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
			e.ID = strings.Clone(t)
			idVal = v
		case fName:
			e.Name = strings.Clone(t)
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
			if g, ok := CanonicalGeneration(t); ok {
				e.Generation = g
			} else {
				e.Generation = b.str(strings.ToUpper(t))
				b.warnf(v, "generation %q is not one of %s; kept as written", t, strings.Join(Generations, ", "))
			}
		case fPlane:
			if t == "" {
				continue
			}
			if p, ok := CanonicalPlane(t); ok {
				e.Plane = p
			} else {
				e.Plane = b.str(strings.ToLower(t))
				b.warnf(v, "plane %q is not one of %s; kept as written", t, strings.Join(Planes, ", "))
			}
		case fSite:
			e.Site = b.str(t)
		case fSiteSensitivity:
			e.SiteSensitivity = b.str(slug(t))
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
			u := strings.ToUpper(t)
			if !isCountryCode(u) {
				b.warnf(v, "%q is not an ISO 3166 alpha-2 country code; kept as written", t)
			}
			e.SupportLocation = b.str(u)
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
				ev.ReportID = strings.Clone(t)
				haveEvidence = true
			}
		case fEvidenceScheme:
			if t != "" {
				ev.Scheme = b.str(strings.ToUpper(t))
			}
		case fEvaluatedVersions:
			ev.EvaluatedVersions = b.list(v, t)
		case fTags:
			e.Tags = append(e.Tags, b.list(v, t)...)
		}
	}
	if haveEvidence {
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

// collector gathers the elements and problems of one load.
type collector struct {
	inv    *Inventory
	strict bool
	seen   map[string]string // id -> origin of its first element
}

func newCollector(source string, opts LoadOptions) *collector {
	return &collector{inv: &Inventory{Source: source}, strict: opts.Strict, seen: map[string]string{}}
}

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
