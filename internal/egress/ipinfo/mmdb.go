package ipinfo

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"strings"

	"github.com/oschwald/maxminddb-golang/v2"
)

// mmdbRecord holds the fields read from any supported MMDB layout:
// GeoLite2-ASN (autonomous_system_*), GeoLite2-Country/-City
// (country.iso_code, falling back to registered_country.iso_code) and the
// ip-location-db layouts (autonomous_system_* or country_code).
type mmdbRecord struct {
	ASN         uint32 `maxminddb:"autonomous_system_number"`
	Org         string `maxminddb:"autonomous_system_organization"`
	CountryCode string `maxminddb:"country_code"`
	Country     struct {
		ISOCode string `maxminddb:"iso_code"`
	} `maxminddb:"country"`
	Registered struct {
		ISOCode string `maxminddb:"iso_code"`
	} `maxminddb:"registered_country"`
}

// LoadMMDB walks every network of an MMDB file into the prefix tables, so
// that lookups do not pay the MMDB decoding cost. Records that fail to
// decode are reported with their network and skipped.
func (db *DB) LoadMMDB(ctx context.Context, path string) (st Stats, err error) {
	st = Stats{File: path, Format: "mmdb"}
	fi, err := os.Stat(path)
	if err != nil {
		return st, fmt.Errorf("ipinfo: %w", err)
	}
	if !fi.Mode().IsRegular() || fi.Size() > db.limits.MaxFileBytes {
		return st, fmt.Errorf("%w: %s: not a regular file of at most %d bytes", errTooBig, path, db.limits.MaxFileBytes)
	}
	r, err := maxminddb.Open(path)
	if err != nil {
		return st, fmt.Errorf("ipinfo: %s: open mmdb: %w", path, err)
	}
	defer r.Close()
	return db.loadMMDB(ctx, path, r)
}

// LoadMMDBBytes is LoadMMDB for a database held in memory.
func (db *DB) LoadMMDBBytes(ctx context.Context, name string, data []byte) (Stats, error) {
	if int64(len(data)) > db.limits.MaxFileBytes {
		return Stats{File: name, Format: "mmdb"}, fmt.Errorf("%w: %s", errTooBig, name)
	}
	r, err := maxminddb.OpenBytes(data)
	if err != nil {
		return Stats{File: name, Format: "mmdb"}, fmt.Errorf("ipinfo: %s: open mmdb: %w", name, err)
	}
	return db.loadMMDB(ctx, name, r)
}

func (db *DB) loadMMDB(ctx context.Context, path string, r *maxminddb.Reader) (st Stats, err error) {
	st = Stats{File: path, Format: "mmdb"}
	db.split()
	defer db.merge() // after the recover below, so a partial load is still merged
	defer func() {
		// The reader validates its input, but a hostile file must never
		// take the process down.
		if p := recover(); p != nil {
			err = errors.Join(err, fmt.Errorf("ipinfo: %s: corrupt mmdb: %v", path, p))
		}
	}()
	var errs []error
	for res := range r.Networks() {
		st.Lines++
		if st.Lines%4096 == 0 && ctx.Err() != nil {
			errs = append(errs, ctx.Err())
			break
		}
		if e := res.Err(); e != nil {
			st.Errors++
			errs = append(errs, fmt.Errorf("ipinfo: %s: walk networks: %w", path, e))
			break
		}
		var rec mmdbRecord
		if e := res.Decode(&rec); e != nil {
			st.Errors++
			errs = append(errs, fmt.Errorf("ipinfo: %s: network %s: %w", path, res.Prefix(), e))
			if len(errs) >= db.limits.MaxErrors {
				break
			}
			continue
		}
		country := rec.CountryCode
		if country == "" {
			country = rec.Country.ISOCode
		}
		if country == "" {
			country = rec.Registered.ISOCode
		}
		cc, ccOK := parseCountry(strings.TrimSpace(country))
		if rec.ASN == 0 && !ccOK {
			st.Skipped++
			continue
		}
		p := res.Prefix()
		if !p.IsValid() {
			st.Errors++
			continue
		}
		if p.Addr().Is4In6() {
			// IPv4 networks reached through an IPv6 tree without aliasing.
			bits := p.Bits() - 96
			if bits < 0 {
				st.Skipped++
				continue
			}
			p = netipPrefix4(p, bits)
		}
		one := [1]netip.Prefix{p}
		if e := db.insert(&st, one[:], rec.ASN, rec.Org, cc, ccOK); e != nil {
			errs = append(errs, fmt.Errorf("ipinfo: %s: network %s: %w", path, p, e))
			break
		}
	}
	if st.Lines == 0 && len(errs) == 0 {
		errs = append(errs, fmt.Errorf("ipinfo: %s: mmdb holds no networks", path))
	}
	return st, errors.Join(errs...)
}
