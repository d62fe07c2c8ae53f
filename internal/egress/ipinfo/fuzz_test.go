package ipinfo

import (
	"context"
	"net/netip"
	"os"
	"strings"
	"testing"

	"github.com/maxmind/mmdbwriter/mmdbtype"
)

func FuzzLoadText(f *testing.F) {
	f.Add("1.0.0.0\t1.0.0.255\t13335\tUS\tCLOUDFLARENET\n")
	f.Add("start,end,asn,org\n1.0.0.0,1.0.0.255,13335,\"Cloud, \"\"flare\"\"\"\n")
	f.Add("1.0.0.0,1.0.0.255,AU\n::,ffff::,DE\n")
	f.Add("16777216,16777471,AU\n")
	f.Add("2001:200::,2001:200:ffff:ffff:ffff:ffff:ffff:ffff,2500,WIDE\n")
	f.Fuzz(func(t *testing.T, data string) {
		db := New(Limits{MaxPrefixes: 10_000, MaxLineBytes: 512})
		st, _ := db.LoadText(context.Background(), "fuzz", strings.NewReader(data))
		a, c := db.Prefixes()
		if a != st.ASNPrefixes && a > st.ASNPrefixes {
			t.Fatalf("asn table %d > inserted %d", a, st.ASNPrefixes)
		}
		if c > st.CountryPrefixes {
			t.Fatalf("country table %d > inserted %d", c, st.CountryPrefixes)
		}
		for _, s := range []string{"1.0.0.1", "::1", "2001:200::1", "203.0.113.1"} {
			r := db.Lookup(netip.MustParseAddr(s))
			if r.Class != Public && r.Known() {
				t.Fatalf("special address %s got data %+v", s, r)
			}
		}
	})
}

// FuzzLoadMMDB feeds mutated MMDB files to the loader: it must return an
// error or a table, never crash.
func FuzzLoadMMDB(f *testing.F) {
	for _, recs := range []map[string]mmdbtype.Map{
		{"1.0.0.0/24": {"autonomous_system_number": mmdbtype.Uint32(13335), "autonomous_system_organization": mmdbtype.String("CF")}},
		{"2a00::/16": {"country": mmdbtype.Map{"iso_code": mmdbtype.String("DE")}}, "5.0.0.0/8": {"country_code": mmdbtype.String("FI")}},
	} {
		data, err := os.ReadFile(writeMMDB(f, "seed", recs))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		db := New(Limits{MaxPrefixes: 10_000})
		_, _ = db.LoadMMDBBytes(context.Background(), "fuzz.mmdb", data)
		_ = db.Lookup(netip.MustParseAddr("1.0.0.1"))
	})
}
