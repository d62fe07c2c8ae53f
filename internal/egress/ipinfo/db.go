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
//
// At the end of every load the ASN and country tables are merged into one
// table whose value carries both answers, so that a lookup of an address
// costs one prefix-table walk however many files were loaded.
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

// geoRec is the merged answer for one prefix: the ASN and the country of
// the most specific ASN and country prefixes that cover it.
type geoRec struct {
	asn uint32
	org uint32 // index into DB.orgs
	cc  [2]byte
	own uint8 // ownASN, ownCC: the answers a file gave for this very prefix
}

const (
	ownASN = 1 << iota
	ownCC
)

// DB holds the ASN and country tables. Build it with the Load* methods,
// then use it read-only: Lookup is safe for concurrent use once loading is
// finished.
type DB struct {
	// While a load runs, asn and country hold what the files said, apart,
	// so that a later file overrides an earlier one prefix by prefix. At
	// the end of the load they are merged into geo, the table every lookup
	// reads, and dropped; geo remembers which answers came from a file at
	// each prefix, so the next load can take it apart again.
	asn     *bart.Table[asnRec]
	country *bart.Table[[2]byte]
	geo     *bart.Fast[geoRec]
	nASN    int // prefixes in the ASN table at the last merge
	nCC     int // ... and in the country table
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
func (db *DB) Prefixes() (asn, country int) { return db.nASN, db.nCC }

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
	if db.geo == nil {
		return r
	}
	if g, ok := db.geo.Lookup(q); ok {
		r.ASN, r.Country = g.asn, countryString(g.cc)
		if g.asn != 0 {
			r.Org = db.orgs[g.org]
		}
	}
	return r
}

// LookupGeo is the allocation-free fast path for both answers at once: the
// ASN (0 when unknown) and country code (the zero array when unknown) of a
// public address, with one table walk.
func (db *DB) LookupGeo(addr netip.Addr) (asn uint32, cc [2]byte) {
	addr = addr.Unmap()
	if db.geo == nil || Classify(addr) != Public {
		return 0, [2]byte{}
	}
	g, _ := db.geo.Lookup(addr)
	return g.asn, g.cc
}

// LookupASN is the allocation-free fast path: the ASN of a public address,
// 0 when unknown or not public.
func (db *DB) LookupASN(addr netip.Addr) uint32 {
	asn, _ := db.LookupGeo(addr)
	return asn
}

// LookupCountry is the allocation-free fast path for the country code of a
// public address; the zero array when unknown.
func (db *DB) LookupCountry(addr netip.Addr) [2]byte {
	_, cc := db.LookupGeo(addr)
	return cc
}

// merge rebuilds the table lookups read. Every prefix of either table gets
// one entry; its ASN is the longest ASN prefix covering it (itself
// included) and likewise its country. A longest-prefix lookup in the merged
// table lands on the most specific prefix P of either table that holds the
// address; every ASN or country prefix holding the address is P or covers
// P, so P's entry carries exactly the answers the two tables would give.
func (db *DB) merge() {
	if db.asn == nil {
		return
	}
	g := new(bart.Fast[geoRec])
	for p, a := range db.asn.All() {
		rec := geoRec{asn: a.asn, org: a.org, own: ownASN}
		if q, c, ok := db.country.LookupPrefixLPM(p); ok {
			rec.cc = c
			if q == p {
				rec.own |= ownCC
			}
		}
		g.Insert(p, rec)
	}
	for p, c := range db.country.All() {
		if _, ok := db.asn.Get(p); ok {
			continue // merged above
		}
		rec := geoRec{cc: c, own: ownCC}
		if _, a, ok := db.asn.LookupPrefixLPM(p); ok {
			rec.asn, rec.org = a.asn, a.org
		}
		g.Insert(p, rec)
	}
	db.geo, db.nASN, db.nCC = g, db.asn.Size(), db.country.Size()
	db.asn, db.country = nil, nil
}

// split rebuilds the per-file tables from the merged one, for a load to
// add to them.
func (db *DB) split() {
	db.asn, db.country = new(bart.Table[asnRec]), new(bart.Table[[2]byte])
	if db.geo == nil {
		return
	}
	for p, g := range db.geo.All() {
		if g.own&ownASN != 0 {
			db.asn.Insert(p, asnRec{asn: g.asn, org: g.org})
		}
		if g.own&ownCC != 0 {
			db.country.Insert(p, g.cc)
		}
	}
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
