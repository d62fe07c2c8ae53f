package ipinfo

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/maxmind/mmdbwriter"
	"github.com/maxmind/mmdbwriter/mmdbtype"
)

func TestClassify(t *testing.T) {
	tests := []struct {
		addr string
		want Class
	}{
		{"8.8.8.8", Public},
		{"10.1.2.3", Private},
		{"172.31.255.255", Private},
		{"172.32.0.1", Public},
		{"192.168.1.1", Private},
		{"100.64.0.1", SharedCGNAT},
		{"100.128.0.1", Public},
		{"127.0.0.1", Loopback},
		{"169.254.10.1", LinkLocal},
		{"192.0.2.7", Documentation},
		{"198.51.100.7", Documentation},
		{"203.0.113.10", Documentation},
		{"198.18.0.1", Benchmarking},
		{"198.19.255.255", Benchmarking},
		{"224.0.0.251", Multicast},
		{"239.255.255.250", Multicast},
		{"240.0.0.1", Reserved},
		{"255.255.255.255", Broadcast},
		{"0.0.0.0", Unspecified},
		{"0.1.2.3", ThisNetwork},
		{"192.0.0.9", Reserved},
		{"192.88.99.1", Translation},
		{"::ffff:10.0.0.1", Private},
		{"::ffff:8.8.8.8", Public},
		{"2a00:1450::1", Public},
		{"::1", Loopback},
		{"::", Unspecified},
		{"fe80::1", LinkLocal},
		{"fd00::1", Private},
		{"ff02::1", Multicast},
		{"2001:db8::1", Documentation},
		{"3fff::1", Documentation},
		{"2001:2::1", Benchmarking},
		{"2001:0:4136:e378:8000:63bf:3fff:fdd2", Teredo},
		{"2002:c000:0204::1", SixToFour},
		{"64:ff9b::808:808", Translation},
		{"100::1", Discard},
		{"4000::1", Bogon},
		{"::2", Bogon},
		{"2001:10::1", Reserved},
	}
	for _, tt := range tests {
		if got := Classify(netip.MustParseAddr(tt.addr)); got != tt.want {
			t.Errorf("Classify(%s) = %s, want %s", tt.addr, got, tt.want)
		}
	}
	if Classify(netip.Addr{}) != Invalid {
		t.Error("zero Addr not Invalid")
	}
}

func TestEmbeddedIPv4(t *testing.T) {
	// RFC 4380 example: client 192.0.2.45 obfuscated as 3fff:fdd2.
	v4, ok := EmbeddedIPv4(netip.MustParseAddr("2001:0:4136:e378:8000:63bf:3fff:fdd2"))
	if !ok || v4 != netip.MustParseAddr("192.0.2.45") {
		t.Errorf("teredo: got %v %v", v4, ok)
	}
	v4, ok = EmbeddedIPv4(netip.MustParseAddr("2002:0808:0404::1"))
	if !ok || v4 != netip.MustParseAddr("8.8.4.4") {
		t.Errorf("6to4: got %v %v", v4, ok)
	}
	if _, ok := EmbeddedIPv4(netip.MustParseAddr("2a00::1")); ok {
		t.Error("plain IPv6 has no embedded IPv4")
	}
}

func TestRangePrefixes(t *testing.T) {
	tests := []struct {
		start, end string
		want       string
	}{
		{"1.0.0.0", "1.0.0.255", "1.0.0.0/24"},
		{"1.0.0.1", "1.0.0.6", "1.0.0.1/32 1.0.0.2/31 1.0.0.4/31 1.0.0.6/32"},
		{"0.0.0.0", "255.255.255.255", "0.0.0.0/0"},
		{"255.255.255.255", "255.255.255.255", "255.255.255.255/32"},
		{"2001:200::", "2001:200:ffff:ffff:ffff:ffff:ffff:ffff", "2001:200::/32"},
		{"::", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "::/0"},
		{"2001:db8::1", "2001:db8::2", "2001:db8::1/128 2001:db8::2/128"},
		{"ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe/127"},
	}
	for _, tt := range tests {
		got, err := rangePrefixes(nil, netip.MustParseAddr(tt.start), netip.MustParseAddr(tt.end))
		if err != nil {
			t.Fatalf("%s-%s: %v", tt.start, tt.end, err)
		}
		var s []string
		for _, p := range got {
			s = append(s, p.String())
		}
		if strings.Join(s, " ") != tt.want {
			t.Errorf("%s-%s = %v, want %s", tt.start, tt.end, s, tt.want)
		}
	}
	if _, err := rangePrefixes(nil, netip.MustParseAddr("1.0.0.9"), netip.MustParseAddr("1.0.0.1")); err == nil {
		t.Error("reversed range accepted")
	}
	if _, err := rangePrefixes(nil, netip.MustParseAddr("1.0.0.9"), netip.MustParseAddr("::1")); err == nil {
		t.Error("mixed family accepted")
	}
}

func writeFile(t testing.TB, name, data string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLoadTextLayouts(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name, data       string
		format           string
		addr             string
		asn              uint32
		org, country     string
		asnPfx, countryP int
	}{
		{"iptoasn", "1.0.0.0\t1.0.0.255\t13335\tUS\tCLOUDFLARENET\n1.0.1.0\t1.0.3.255\t0\tNone\tNot routed\n2a00:1450::\t2a00:1450:ffff:ffff:ffff:ffff:ffff:ffff\t15169\tUS\tGOOGLE\n",
			"iptoasn-tsv", "1.0.0.7", 13335, "CLOUDFLARENET", "US", 2, 2},
		{"dbip-asn", "1.0.0.0,1.0.0.255,13335,\"Cloudflare, Inc.\"\n",
			"csv-asn", "1.0.0.7", 13335, "Cloudflare, Inc.", "", 1, 0},
		{"ipdb-asn-header", "start,end,asn,org\n# comment\n8.8.8.0,8.8.8.255,15169,Google LLC\n",
			"csv-asn", "8.8.8.8", 15169, "Google LLC", "", 1, 0},
		{"dbip-country", "1.0.0.0,1.0.0.255,au\n1.0.1.0,1.0.3.255,CN\n",
			"csv-country", "1.0.2.1", 0, "", "CN", 0, 3},
		{"tor-geoip-int", "# tor geoip\n16777216,16777471,AU\n",
			"csv-country", "1.0.0.1", 0, "", "AU", 0, 1},
		{"crlf", "9.9.9.0,9.9.9.255,AS19281,Quad9\r\n",
			"csv-asn", "9.9.9.9", 19281, "Quad9", "", 1, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db := New(Limits{})
			st, err := db.LoadFile(ctx, writeFile(t, tt.name+".txt", tt.data))
			if err != nil {
				t.Fatal(err)
			}
			if st.Format != tt.format || st.ASNPrefixes != tt.asnPfx || st.CountryPrefixes != tt.countryP {
				t.Errorf("stats = %+v", st)
			}
			r := db.Lookup(netip.MustParseAddr(tt.addr))
			if r.ASN != tt.asn || r.Org != tt.org || r.Country != tt.country {
				t.Errorf("Lookup(%s) = %+v", tt.addr, r)
			}
		})
	}
}

func TestLoadTextErrorsNameLine(t *testing.T) {
	data := "1.0.0.0,1.0.0.255,13335,CF\n1.0.1.0,1.0.1.x,13335,CF\n1.0.2.0,1.0.2.255,ASX,CF\n" +
		"1.0.4.0,1.0.3.0,1,x\n8.8.8.0,8.8.8.255,15169,G\n" + strings.Repeat("9", 5000) + "\n"
	db := New(Limits{})
	st, err := db.LoadText(context.Background(), "asn.csv", strings.NewReader(data))
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{"asn.csv: line 2: bad address", "asn.csv: line 3: bad ASN", "asn.csv: line 4: range end is before start", "asn.csv: line 6: line exceeds"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	if st.Errors != 4 || st.ASNPrefixes != 2 {
		t.Errorf("stats %+v", st)
	}
	if db.LookupASN(netip.MustParseAddr("8.8.8.8")) != 15169 {
		t.Error("good line after bad ones not loaded")
	}
}

func TestSpecialRangesNeverLookedUp(t *testing.T) {
	// A sloppy data set that puts TEST-NET-3 and RFC 1918 in a country.
	data := "203.0.113.0,203.0.113.255,AU\n10.0.0.0,10.255.255.255,US\n8.0.0.0,8.255.255.255,US\n"
	db := New(Limits{})
	st, err := db.LoadText(context.Background(), "cc.csv", strings.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	if st.Skipped != 2 {
		t.Errorf("skipped = %d, want 2", st.Skipped)
	}
	r := db.Lookup(netip.MustParseAddr("203.0.113.10"))
	if r.Country != "" || r.Class != Documentation {
		t.Errorf("TEST-NET-3: %+v", r)
	}
	if r := db.Lookup(netip.MustParseAddr("8.8.8.8")); r.Country != "US" {
		t.Errorf("8.8.8.8: %+v", r)
	}
	// 6to4 address embedding 8.8.8.8 resolves through the IPv4 address.
	r = db.Lookup(netip.MustParseAddr("2002:0808:0808::1"))
	if r.Country != "US" || r.Via != netip.MustParseAddr("8.8.8.8") {
		t.Errorf("6to4: %+v", r)
	}
}

func TestLimits(t *testing.T) {
	db := New(Limits{MaxPrefixes: 3})
	_, err := db.LoadText(context.Background(), "x.csv", strings.NewReader("1.0.0.1,1.0.0.6,5,x\n"))
	if err == nil || !strings.Contains(err.Error(), "prefix limit") {
		t.Errorf("err = %v", err)
	}
	db = New(Limits{MaxFileBytes: 10})
	_, err = db.LoadFile(context.Background(), writeFile(t, "big.csv", "1.0.0.0,1.0.0.255,5,x\n"))
	if err == nil || !strings.Contains(err.Error(), "size limit") {
		t.Errorf("err = %v", err)
	}
	db = New(Limits{MaxErrors: 2})
	st, err := db.LoadText(context.Background(), "e.csv", strings.NewReader("1.0.0.0,1.0.0.255,5,x\nx,y,z\na,b,c\nq,r,s\n"))
	if err == nil || st.Errors != 2 {
		t.Errorf("st=%+v err=%v", st, err)
	}
	if _, err := New(Limits{}).LoadText(context.Background(), "empty", strings.NewReader("# nothing\n")); err == nil {
		t.Error("empty file accepted")
	}
}

func ipnet(s string) *net.IPNet {
	_, n, err := net.ParseCIDR(s)
	if err != nil {
		panic(err)
	}
	return n
}

func writeMMDB(t testing.TB, dbType string, recs map[string]mmdbtype.Map) string {
	t.Helper()
	w, err := mmdbwriter.New(mmdbwriter.Options{DatabaseType: dbType, RecordSize: 24})
	if err != nil {
		t.Fatal(err)
	}
	for cidr, m := range recs {
		if err := w.Insert(ipnet(cidr), m); err != nil {
			t.Fatal(err)
		}
	}
	p := filepath.Join(t.TempDir(), dbType+".mmdb")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.WriteTo(f); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLoadMMDBLayouts(t *testing.T) {
	ctx := context.Background()
	asn := writeMMDB(t, "GeoLite2-ASN", map[string]mmdbtype.Map{
		"1.0.0.0/24":     {"autonomous_system_number": mmdbtype.Uint32(13335), "autonomous_system_organization": mmdbtype.String("CLOUDFLARENET")},
		"2a00:1450::/32": {"autonomous_system_number": mmdbtype.Uint32(15169), "autonomous_system_organization": mmdbtype.String("GOOGLE")},
	})
	geo := writeMMDB(t, "GeoLite2-Country", map[string]mmdbtype.Map{
		"1.0.0.0/24": {"country": mmdbtype.Map{"iso_code": mmdbtype.String("AU")}},
		"5.0.0.0/8":  {"registered_country": mmdbtype.Map{"iso_code": mmdbtype.String("DE")}},
	})
	ild := writeMMDB(t, "geo-whois-asn-country", map[string]mmdbtype.Map{
		"9.9.9.0/24": {"country_code": mmdbtype.String("CH")},
	})
	bad := writeMMDB(t, "bad", map[string]mmdbtype.Map{
		"7.0.0.0/8": {"autonomous_system_number": mmdbtype.String("not a number")},
		"6.0.0.0/8": {"autonomous_system_number": mmdbtype.Uint32(64500)},
	})
	db := New(Limits{})
	for _, p := range []string{asn, geo, ild} {
		st, err := db.LoadFile(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		if st.Format != "mmdb" {
			t.Errorf("%s: format %q", p, st.Format)
		}
	}
	checks := []struct {
		addr    string
		asn     uint32
		org, cc string
	}{
		{"1.0.0.1", 13335, "CLOUDFLARENET", "AU"},
		{"2a00:1450::5", 15169, "GOOGLE", ""},
		{"5.6.7.8", 0, "", "DE"},
		{"9.9.9.9", 0, "", "CH"},
		{"4.4.4.4", 0, "", ""},
	}
	for _, c := range checks {
		r := db.Lookup(netip.MustParseAddr(c.addr))
		if r.ASN != c.asn || r.Org != c.org || r.Country != c.cc {
			t.Errorf("Lookup(%s) = %+v", c.addr, r)
		}
	}
	st, err := db.LoadFile(ctx, bad)
	if err == nil || !strings.Contains(err.Error(), "network 7.0.0.0/8") {
		t.Errorf("bad mmdb: %v", err)
	}
	if st.ASNPrefixes != 1 || db.LookupASN(netip.MustParseAddr("6.1.1.1")) != 64500 {
		t.Errorf("good record next to a bad one not loaded: %+v", st)
	}
	// A truncated MMDB is an error, not a crash.
	data, _ := os.ReadFile(asn)
	trunc := writeFile(t, "trunc.mmdb", string(data[:len(data)/2])+string(mmdbMarker))
	if _, err := New(Limits{}).LoadFile(ctx, trunc); err == nil {
		t.Error("truncated mmdb accepted")
	}
}

// buildBig loads n /24 ranges spread over the IPv4 space plus some IPv6.
func buildBig(tb testing.TB, n int) *DB {
	var b strings.Builder
	for i := 0; i < n; i++ {
		a := uint32(0x01000000) + uint32(i)*0x300
		fmt.Fprintf(&b, "%d.%d.%d.0\t%d.%d.%d.255\t%d\t%s\torg%d\n", a>>24, a>>16&255, a>>8&255, a>>24, a>>16&255, a>>8&255, 64512+i%1000, [...]string{"DE", "FI", "US", "CN", "SE"}[i%5], i%5000)
	}
	db := New(Limits{})
	if _, err := db.LoadText(context.Background(), "big.tsv", strings.NewReader(b.String())); err != nil {
		tb.Fatal(err)
	}
	return db
}

func BenchmarkLookup(b *testing.B) {
	db := buildBig(b, 500_000)
	addrs := make([]netip.Addr, 1024)
	for i := range addrs {
		a := uint32(0x01000000) + uint32(i*487)*0x300 + 7
		addrs[i] = netip.AddrFrom4([4]byte{byte(a >> 24), byte(a >> 16), byte(a >> 8), byte(a)})
	}
	b.Run("Lookup", func(b *testing.B) { cpuLoop(b, func(i int) { _ = db.Lookup(addrs[i&1023]) }) })
	b.Run("LookupASN", func(b *testing.B) { cpuLoop(b, func(i int) { _ = db.LookupASN(addrs[i&1023]) }) })
	b.Run("LookupCountry", func(b *testing.B) { cpuLoop(b, func(i int) { _ = db.LookupCountry(addrs[i&1023]) }) })
	b.Run("Classify", func(b *testing.B) { cpuLoop(b, func(i int) { _ = Classify(addrs[i&1023]) }) })
}
