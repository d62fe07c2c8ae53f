// Package ipinfo classifies destination addresses and maps them to an
// autonomous system and a country from data files the operator supplies.
//
// Special-purpose ranges (private, documentation, bogons, ...) are decided
// first from a built-in copy of the IANA registries, so that a stale or
// sloppy geolocation file cannot place TEST-NET-3 in a country. Public
// addresses are then looked up in prefix tables (gaissmai/bart) loaded from
// MMDB files (GeoLite2-ASN/-Country/-City layouts and the ip-location-db
// layouts) or from CSV/TSV range files (iptoasn, DB-IP Lite,
// ip-location-db). The package ships no data.
package ipinfo

import (
	"net/netip"

	"github.com/gaissmai/bart"
)

// Result is what is known about one address.
type Result struct {
	Addr    netip.Addr
	Class   Class
	ASN     uint32 // 0 when unknown
	Org     string // AS organisation, "" when unknown
	Country string // ISO 3166-1 alpha-2 upper case, "" when unknown
	// Via is the address that was looked up when it differs from Addr
	// (the IPv4 address embedded in a Teredo or 6to4 address).
	Via netip.Addr
}

// Known reports whether any ASN or country data was found.
func (r Result) Known() bool { return r.ASN != 0 || r.Country != "" }

type asnRec struct {
	asn uint32
	org uint32 // index into DB.orgs
}

// DB holds the ASN and country tables. Build it with the Load* methods,
// then use it read-only: Lookup is safe for concurrent use once loading is
// finished.
type DB struct {
	asn     bart.Fast[asnRec]
	country bart.Fast[[2]byte]
	orgs    []string
	orgIdx  map[string]uint32
	limits  Limits
	entries int // prefixes inserted in both tables together
}

// Limits bound what a loader accepts from a file.
type Limits struct {
	MaxFileBytes int64 // larger files are refused; default 1 GiB
	MaxPrefixes  int   // total prefixes over all files; default 8,000,000
	MaxLineBytes int   // longest CSV/TSV line; default 4096
	MaxErrors    int   // line errors reported before giving up on a file; default 20
}

func (l Limits) withDefaults() Limits {
	if l.MaxFileBytes <= 0 {
		l.MaxFileBytes = 1 << 30
	}
	if l.MaxPrefixes <= 0 {
		l.MaxPrefixes = 8_000_000
	}
	if l.MaxLineBytes <= 0 {
		l.MaxLineBytes = 4096
	}
	if l.MaxErrors <= 0 {
		l.MaxErrors = 20
	}
	return l
}

// New returns an empty DB with the given limits (zero values take defaults).
func New(l Limits) *DB {
	return &DB{orgIdx: map[string]uint32{"": 0}, orgs: []string{""}, limits: l.withDefaults()}
}

// Prefixes returns the number of ASN and country prefixes loaded.
func (db *DB) Prefixes() (asn, country int) { return db.asn.Size(), db.country.Size() }

func (db *DB) intern(org string) uint32 {
	if i, ok := db.orgIdx[org]; ok {
		return i
	}
	i := uint32(len(db.orgs))
	db.orgs = append(db.orgs, org)
	db.orgIdx[org] = i
	return i
}

// Lookup classifies addr and, for routable addresses, returns its ASN and
// country. Special-purpose addresses never get ASN or country data.
func (db *DB) Lookup(addr netip.Addr) Result {
	r := Result{Addr: addr, Class: Classify(addr)}
	if !r.Class.Routable() {
		return r
	}
	q := addr.Unmap()
	if r.Class != Public {
		v4, ok := EmbeddedIPv4(q)
		if !ok || Classify(v4) != Public {
			return r
		}
		q, r.Via = v4, v4
	}
	if a, ok := db.asn.Lookup(q); ok {
		r.ASN, r.Org = a.asn, db.orgs[a.org]
	}
	if c, ok := db.country.Lookup(q); ok {
		r.Country = countryString(c)
	}
	return r
}

// LookupASN is the allocation-free fast path: the ASN of a public address,
// 0 when unknown or not public.
func (db *DB) LookupASN(addr netip.Addr) uint32 {
	addr = addr.Unmap()
	if Classify(addr) != Public {
		return 0
	}
	a, _ := db.asn.Lookup(addr)
	return a.asn
}

// LookupCountry is the allocation-free fast path for the country code of a
// public address; the zero array when unknown.
func (db *DB) LookupCountry(addr netip.Addr) [2]byte {
	addr = addr.Unmap()
	if Classify(addr) != Public {
		return [2]byte{}
	}
	c, _ := db.country.Lookup(addr)
	return c
}

// ccStrings holds every two-letter code so that Lookup does not allocate.
var ccStrings = func() (t [26 * 26]string) {
	for i := range t {
		t[i] = string([]byte{byte('A' + i/26), byte('A' + i%26)})
	}
	return t
}()

func countryString(c [2]byte) string {
	if c[0] < 'A' || c[0] > 'Z' || c[1] < 'A' || c[1] > 'Z' {
		return ""
	}
	return ccStrings[int(c[0]-'A')*26+int(c[1]-'A')]
}
