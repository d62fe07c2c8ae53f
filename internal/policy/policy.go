// Package policy holds the policy packs that restrict high-risk vendors:
// rule kinds, scopes written in CEL over element fields, designated
// vendors, deadlines and sources, and their evaluation against an
// inventory. It is pure: no I/O beyond reading pack files.
package policy

import (
	"github.com/netvet/netvet/internal/inventory"
)

// Kind is what a rule demands.
type Kind string

const (
	KindForbid          Kind = "forbid"           // no element of a designated vendor in scope
	KindShareCap        Kind = "share_cap"        // designated vendors' share of scope at most Cap, by Metric
	KindNoNewInstall    Kind = "no_new_install"   // nothing installed (or purchased) in scope after Deadline
	KindRemoveBy        Kind = "remove_by"        // nothing in scope from Deadline on
	KindRequireEvidence Kind = "require_evidence" // elements in scope carry evaluation evidence (e.g. NESAS)
	KindSupportLocality Kind = "support_locality" // remote support located in the allowed countries
)

// Metric measures a share.
type Metric string

const (
	MetricElements Metric = "elements"
	MetricSites    Metric = "sites"
	MetricTraffic  Metric = "traffic"
	MetricPremises Metric = "premises"
)

// Status says how solid a rule's source is.
type Status string

const (
	StatusVerified   Status = "verified"
	StatusPartial    Status = "partial"
	StatusUnverified Status = "unverified"
)

// Pack is one jurisdiction's (or one operator's) set of rules.
type Pack struct {
	ID           string `json:"id"` // "uk", "de", ...
	Name         string `json:"name"`
	Jurisdiction string `json:"jurisdiction"`
	Version      string `json:"version"`
	File         string `json:"file,omitempty"`
	// Vendors are the pack's designated vendors by normalised name: the
	// default designation of forbid, remove_by, no_new_install and
	// share_cap rules that name neither vendors nor vendor_criteria.
	Vendors     []string `json:"vendors,omitempty"`
	Description string   `json:"description,omitempty"`
	Rules       []*Rule  `json:"rules"`
}

// Rule is one requirement of a pack.
type Rule struct {
	ID               string         `json:"id"`   // stable, e.g. "uk-5g-remove"
	Pack             string         `json:"pack"` // ID of the pack holding the rule
	Title            string         `json:"title"`
	Kind             Kind           `json:"kind"`
	Scope            string         `json:"scope"`                     // CEL over element fields; "" = every element
	Vendors          []string       `json:"vendors,omitempty"`         // designated vendors by normalised name
	VendorCriteria   string         `json:"vendor_criteria,omitempty"` // CEL designating vendors by criteria
	Metric           Metric         `json:"metric,omitempty"`          // share_cap
	Cap              float64        `json:"cap,omitempty"`             // share_cap, 0..1
	Deadline         inventory.Date `json:"deadline,omitzero"`
	DateField        DateField      `json:"date_field,omitempty"`        // no_new_install: which date is compared
	Evidence         []string       `json:"evidence,omitempty"`          // require_evidence: accepted schemes
	AllowedLocations []string       `json:"allowed_locations,omitempty"` // support_locality: countries
	Source           string         `json:"source"`
	SourceURL        string         `json:"source_url,omitempty"`
	Status           Status         `json:"status"`
	Notes            string         `json:"notes,omitempty"`
	// Proposal marks a rule drawn from a proposed instrument, not law in force.
	Proposal bool `json:"proposal,omitempty"`

	// Operator overrides (ApplyOverrides).
	Disabled         bool           `json:"disabled,omitempty"`
	OriginalDeadline inventory.Date `json:"original_deadline,omitzero"` // set when an override moved the deadline
	OverrideNote     string         `json:"override_note,omitempty"`

	Line int `json:"-"` // line in the pack file, for messages
}

// DateField says which element date a no_new_install rule compares with
// its deadline. The other date is used when the chosen one is unknown.
type DateField string

const (
	DateInstall  DateField = "install_date"  // the default
	DatePurchase DateField = "purchase_date" // for procurement bans
)

// Violation is one rule broken (or to be broken by its deadline) by the
// inventory at the date of evaluation.
type Violation struct {
	Pack     string         `json:"pack"`
	RuleID   string         `json:"rule"`
	Kind     Kind           `json:"kind"`
	Title    string         `json:"title"`
	Source   string         `json:"source"`
	Status   Status         `json:"status"`
	Deadline inventory.Date `json:"deadline,omitzero"`
	// Due is true when the deadline has passed at the evaluation date (or
	// the rule has none): the violation is current, not upcoming.
	Due bool `json:"due"`
	// DaysLeft until the deadline from the evaluation date; negative when overdue.
	DaysLeft int `json:"days_left"`
	// Elements are the IDs of the elements at fault, sorted. For a share
	// cap, the designated elements in scope.
	Elements []string `json:"elements"`
	// Share and Cap for share_cap rules, by Metric.
	Metric Metric  `json:"metric,omitempty"`
	Share  float64 `json:"share,omitempty"`
	Cap    float64 `json:"cap,omitempty"`
	// Proposal is true for a rule from a proposed instrument.
	Proposal bool `json:"proposal,omitempty"`
	// Note is the operator's override note for the rule, if any.
	Note string `json:"note,omitempty"`
	// Message says what is wrong, for people.
	Message string `json:"message"`
}

// Result is the evaluation of packs against an inventory at a date.
type Result struct {
	At         inventory.Date `json:"at"`
	Packs      []string       `json:"packs"`
	Violations []Violation    `json:"violations"` // sorted by deadline, pack, rule
	// Warnings are conditions that may hide a violation: elements whose
	// scope could not be evaluated, or whose install date is unknown.
	Warnings []string `json:"warnings,omitempty"`
}
