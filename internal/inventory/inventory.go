// Package inventory holds an operator's network elements: the types, the
// controlled vocabulary of domains and functions, vendor normalisation,
// and the loaders (CSV, JSON, TMF639 JSON, NetBox REST API).
package inventory

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"time"
)

// Element is one network element of an operator's inventory.
type Element struct {
	ID                string     `json:"id"`
	Name              string     `json:"name,omitempty"`
	Vendor            string     `json:"vendor"`               // normalised, e.g. "huawei"
	VendorRaw         string     `json:"vendor_raw,omitempty"` // as the source wrote it
	Model             string     `json:"model,omitempty"`
	SoftwareVersion   string     `json:"software_version,omitempty"`
	Domain            string     `json:"domain"`               // vocabulary: ran, access-fixed, core-5g, ...
	Function          string     `json:"function,omitempty"`   // vocabulary: gnb, olt, amf, ...
	Generation        string     `json:"generation,omitempty"` // 2G, 3G, 4G, 5G-NSA, 5G-SA, FTTP
	Plane             string     `json:"plane,omitempty"`      // user, control, management
	Site              string     `json:"site,omitempty"`
	SiteSensitivity   string     `json:"site_sensitivity,omitempty"` // national-security, cni-safety-critical, military, nuclear, dense-urban, ...
	InstallDate       Date       `json:"install_date,omitzero"`
	PurchaseDate      Date       `json:"purchase_date,omitzero"`
	TrafficShare      float64    `json:"traffic_share,omitempty"`    // the element's share of the operator's traffic, 0..1
	PremisesServed    int64      `json:"premises_served,omitempty"`  // premises served (fixed access)
	ManagedBy         string     `json:"managed_by,omitempty"`       // managed-service provider
	SupportLocation   string     `json:"support_location,omitempty"` // ISO 3166 alpha-2 country of remote support
	SanctionsAffected bool       `json:"sanctions_affected,omitempty"`
	Evidence          []Evidence `json:"evidence,omitempty"`
	Tags              []string   `json:"tags,omitempty"`
	// ManagementAddresses are the addresses (or per-element prefixes) the
	// element's own traffic leaves from, in canonical form: what egress
	// watch maps flow sources to.
	ManagementAddresses []string `json:"management_addresses,omitempty"`

	// Where the element came from, for messages: "inv.csv:42".
	Origin string `json:"origin,omitempty"`
}

// Evidence is a security evaluation that covers an element.
type Evidence struct {
	Scheme            string   `json:"scheme"`    // NESAS, SCAS, CC, BSZ, ...
	ReportID          string   `json:"report_id"` // the lab's report reference
	EvaluatedVersions []string `json:"evaluated_versions,omitempty"`
}

// Date is a calendar day (UTC midnight); the zero value means unknown.
type Date struct{ time.Time }

// ParseDate reads YYYY-MM-DD.
func ParseDate(s string) (Date, error) {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return Date{}, fmt.Errorf("%q is not a date (want YYYY-MM-DD)", s)
	}
	return Date{t}, nil
}

func (d Date) String() string {
	if d.IsZero() {
		return ""
	}
	return d.Format(time.DateOnly)
}

// MarshalText writes YYYY-MM-DD.
func (d Date) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// MarshalJSON writes "YYYY-MM-DD" ("" when unknown); it overrides the
// embedded time.Time's RFC 3339 encoding.
func (d Date) MarshalJSON() ([]byte, error) { return []byte(`"` + d.String() + `"`), nil }

// UnmarshalJSON reads "YYYY-MM-DD", "" or null.
func (d *Date) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*d = Date{}
		return nil
	}
	if len(b) < 2 || b[0] != '"' || b[len(b)-1] != '"' {
		return fmt.Errorf("%s is not a date string (want \"YYYY-MM-DD\")", b)
	}
	return d.UnmarshalText(b[1 : len(b)-1])
}

// UnmarshalText reads YYYY-MM-DD (or an empty string for unknown).
func (d *Date) UnmarshalText(b []byte) error {
	if len(b) == 0 {
		*d = Date{}
		return nil
	}
	v, err := ParseDate(string(b))
	if err != nil {
		return err
	}
	*d = v
	return nil
}

// Problem is one malformed input row or field.
type Problem struct {
	Input  string `json:"input"`            // file name or URL
	Line   int    `json:"line,omitempty"`   // 1-based; 0 when not applicable
	Column int    `json:"column,omitempty"` // 1-based; 0 when not applicable
	Field  string `json:"field,omitempty"`
	Reason string `json:"reason"`
	// Warning marks a problem that did not stop the row from loading
	// (an unknown function, generation or plane; an unknown column).
	Warning bool `json:"warning,omitempty"`
}

func (p Problem) Error() string {
	loc := p.Input
	if p.Line > 0 {
		loc += fmt.Sprintf(":%d", p.Line)
		if p.Column > 0 {
			loc += fmt.Sprintf(":%d", p.Column)
		}
	}
	reason := p.Reason
	if p.Warning {
		reason = "warning: " + reason
	}
	if p.Field != "" {
		return fmt.Sprintf("%s: field %s: %s", loc, p.Field, reason)
	}
	return fmt.Sprintf("%s: %s", loc, reason)
}

// Inventory is a loaded set of elements, and what could not be loaded.
type Inventory struct {
	Source   string    `json:"source"`
	Elements []Element `json:"elements"`
	Skipped  int       `json:"skipped"`            // rows not loaded
	Problems []Problem `json:"problems,omitempty"` // why, and warnings about rows that were loaded
	// MoreProblems counts problems beyond the first MaxProblems, which are
	// not kept.
	MoreProblems int `json:"more_problems,omitempty"`
}

// CanonicalAddress reads a management address: an IP address, a prefix
// with the host bits zero (the element owns the whole prefix), or an
// interface address in CIDR form such as NetBox writes ("10.0.0.1/24",
// host bits set), which names the host 10.0.0.1. IPv4-mapped IPv6 is
// unmapped. The result is an address or a prefix in canonical text.
func CanonicalAddress(s string) (string, error) {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '%'); i >= 0 {
		return "", errors.New("zoned addresses are not accepted")
	}
	if !strings.Contains(s, "/") {
		a, err := netip.ParseAddr(s)
		if err != nil {
			return "", errors.New("not an IP address or prefix")
		}
		return a.Unmap().String(), nil
	}
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return "", errors.New("not an IP address or prefix")
	}
	a := p.Addr()
	if a.Is4In6() {
		bits := p.Bits() - 96
		if bits < 0 {
			return "", errors.New("IPv4-mapped prefix shorter than /96")
		}
		p = netip.PrefixFrom(a.Unmap(), bits)
	}
	if p.Masked() == p {
		if p.IsSingleIP() {
			return p.Addr().String(), nil
		}
		return p.String(), nil
	}
	return p.Addr().String(), nil // an interface address: the host itself
}
