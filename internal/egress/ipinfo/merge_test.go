package ipinfo

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"strings"
	"testing"
)

// genRange is one generated range with its payload.
type genRange struct {
	start, end netip.Addr
	asn        uint32
	cc         string
}

var ccPool = []string{"DE", "FI", "US", "CN", "SE", "RU", "BR", "JP"}

// randRanges returns n ranges of mixed sizes, unaligned so that each turns
// into several prefixes; about one in four is IPv6 (inside 2000::/3, with a
// few 6to4 ranges so that embedded addresses have data too). Large ranges
// cover smaller ones to exercise nesting.
func randRanges(rng *rand.Rand, n int) []genRange {
	out := make([]genRange, 0, n)
	for len(out) < n {
		g := genRange{asn: 64512 + rng.Uint32N(2000), cc: ccPool[rng.IntN(len(ccPool))]}
		if rng.IntN(4) == 0 {
			var b [16]byte
			for i := range b {
				b[i] = byte(rng.UintN(256))
			}
			b[0] = 0x20 | b[0]&0x1f // 2000::/3
			if rng.IntN(5) == 0 {
				b[1] = 0x01 // 2001::/16 holds Teredo and other special blocks
			}
			start := netip.AddrFrom16(b)
			bitsSet := rng.IntN(100)
			e := b
			for i := 0; i < bitsSet; i++ {
				e[15-i/8] |= 1 << (i % 8)
			}
			g.start, g.end = start, netip.AddrFrom16(e)
		} else {
			a := rng.Uint32()
			size := uint32(1) << rng.IntN(25)
			b := a + rng.Uint32N(size)
			if b < a {
				b = 0xffffffff
			}
			g.start, g.end = u32Addr(a), u32Addr(b)
		}
		out = append(out, g)
	}
	return out
}

func u32Addr(a uint32) netip.Addr {
	return netip.AddrFrom4([4]byte{byte(a >> 24), byte(a >> 16), byte(a >> 8), byte(a)})
}

// loadGenerated loads four files the way an operator would: an ASN CSV, a
// country CSV with different boundaries, an iptoasn TSV carrying both, and
// a second ASN CSV that overrides part of the first.
func loadGenerated(t testing.TB, rng *rand.Rand, n int) (*DB, []genRange) {
	t.Helper()
	asn1, cc1, both, asn2 := randRanges(rng, n), randRanges(rng, n), randRanges(rng, n/4), randRanges(rng, n/8)
	asn2 = append(asn2, asn1[:n/8]...)
	for i := len(asn2) - n/8; i < len(asn2); i++ {
		asn2[i].asn++ // same range, other ASN: the later file wins
	}
	var files [4]strings.Builder
	for _, g := range asn1 {
		fmt.Fprintf(&files[0], "%s,%s,%d,org%d\n", g.start, g.end, g.asn, g.asn%97)
	}
	for _, g := range cc1 {
		fmt.Fprintf(&files[1], "%s,%s,%s\n", g.start, g.end, g.cc)
	}
	for _, g := range both {
		fmt.Fprintf(&files[2], "%s\t%s\t%d\t%s\tname%d\n", g.start, g.end, g.asn, g.cc, g.asn%31)
	}
	for _, g := range asn2 {
		fmt.Fprintf(&files[3], "%s,%s,%d,later%d\n", g.start, g.end, g.asn, g.asn%89)
	}
	db := New(Limits{})
	for i := range files {
		if _, err := db.LoadText(context.Background(), fmt.Sprintf("gen%d", i), strings.NewReader(files[i].String())); err != nil {
			t.Fatal(err)
		}
	}
	all := append(append(append(asn1, cc1...), both...), asn2...)
	return db, all
}

// probeAddrs returns, for every range, its ends, the addresses just
// outside and one inside, plus uniformly random addresses of both families
// and Teredo/6to4 addresses embedding range addresses.
func probeAddrs(rng *rand.Rand, rs []genRange, uniform int) []netip.Addr {
	var out []netip.Addr
	for _, g := range rs {
		out = append(out, g.start, g.end, g.start.Prev(), g.end.Next())
		if g.start.Is4() {
			s, e := g.start.As4(), g.end.As4()
			a := uint32(s[0])<<24 | uint32(s[1])<<16 | uint32(s[2])<<8 | uint32(s[3])
			b := uint32(e[0])<<24 | uint32(e[1])<<16 | uint32(e[2])<<8 | uint32(e[3])
			in := u32Addr(a + rng.Uint32N(b-a+1))
			v := in.As4()
			sixToFour := netip.AddrFrom16([16]byte{0x20, 0x02, v[0], v[1], v[2], v[3], 15: 1})
			teredo := netip.AddrFrom16([16]byte{0x20, 0x01, 0, 0, 12: ^v[0], 13: ^v[1], 14: ^v[2], 15: ^v[3]})
			out = append(out, in, netip.AddrFrom16(in.As16()), sixToFour, teredo)
		} else {
			b := g.start.As16()
			b[15] ^= byte(rng.UintN(256)) & ^g.end.As16()[15]
			out = append(out, netip.AddrFrom16(b))
		}
	}
	for i := 0; i < uniform; i++ {
		out = append(out, u32Addr(rng.Uint32()))
		var b [16]byte
		for j := range b {
			b[j] = byte(rng.UintN(256))
		}
		b[0] = 0x20 | b[0]&0x1f
		out = append(out, netip.AddrFrom16(b))
	}
	return out
}

// separate answers from the ASN and country tables looked up one by one,
// the way lookups worked before the tables were merged.
func separate(db *DB, addr netip.Addr) Result {
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

// TestMergedMatchesSeparate compares the merged table with the two tables
// it is built from on random IPv4 and IPv6 addresses.
func TestMergedMatchesSeparate(t *testing.T) {
	for _, seed := range []uint64{1, 2, 3} {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seed, 0x6e6574766574))
			db, rs := loadGenerated(t, rng, 2000)
			db.split() // the per-file tables, as the next load would see them
			defer db.merge()
			asnN, ccN := db.Prefixes()
			if asnN != db.asn.Size() || ccN != db.country.Size() {
				t.Errorf("Prefixes() = %d, %d; the split tables hold %d, %d", asnN, ccN, db.asn.Size(), db.country.Size())
			}
			if asnN < 2000 || ccN < 2000 || db.geo.Size() < max(asnN, ccN) {
				t.Fatalf("tables too small: asn %d country %d merged %d", asnN, ccN, db.geo.Size())
			}
			probes := probeAddrs(rng, rs, 20000)
			var known, via, v6 int
			for _, a := range probes {
				want, got := separate(db, a), db.Lookup(a)
				if got != want {
					t.Fatalf("Lookup(%s) = %+v, separate tables say %+v", a, got, want)
				}
				asn, cc := db.LookupGeo(a)
				if want.Via.IsValid() {
					via++
					asn, cc = db.LookupGeo(want.Via)
				}
				if asn != want.ASN || countryString(cc) != want.Country {
					t.Fatalf("LookupGeo(%s) = %d %q, want %d %q", a, asn, cc, want.ASN, want.Country)
				}
				if want.Known() {
					known++
					if a.Is6() && !a.Is4In6() && !want.Via.IsValid() {
						v6++
					}
				}
			}
			// The probes must reach data in both families and through
			// embedded addresses, or the comparison proves little.
			if known < len(probes)/4 || v6 < 500 || via < 1000 {
				t.Errorf("weak probe set: %d of %d known, %d IPv6 known, %d embedded", known, len(probes), v6, via)
			}
		})
	}
}

// TestMergedNaive checks the merged table against a linear scan over every
// inserted prefix: the most specific one wins, and for equal prefixes the
// one loaded last. A third file, loaded after the merge of the first two,
// gives some ranges of the first another ASN and adds new ones.
func TestMergedNaive(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	asnRanges, ccRanges := randRanges(rng, 150), randRanges(rng, 150)
	later := randRanges(rng, 40)
	for _, g := range asnRanges[:40] {
		g.asn += 7
		later = append(later, g)
	}
	type ent struct {
		p   netip.Prefix
		asn uint32
		cc  [2]byte
	}
	var asnList, ccList []ent
	var a, c strings.Builder
	for _, g := range asnRanges {
		fmt.Fprintf(&a, "%s,%s,%d\n", g.start, g.end, g.asn)
		ps, err := rangePrefixes(nil, g.start, g.end)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range ps {
			asnList = append(asnList, ent{p: p, asn: g.asn})
		}
	}
	for _, g := range ccRanges {
		fmt.Fprintf(&c, "%s,%s,%s\n", g.start, g.end, g.cc)
		ps, _ := rangePrefixes(nil, g.start, g.end)
		for _, p := range ps {
			ccList = append(ccList, ent{p: p, cc: [2]byte{g.cc[0], g.cc[1]}})
		}
	}
	db := New(Limits{})
	ctx := context.Background()
	if _, err := db.LoadText(ctx, "asn", strings.NewReader(a.String())); err != nil {
		t.Fatal(err)
	}
	if _, err := db.LoadText(ctx, "cc", strings.NewReader(c.String())); err != nil {
		t.Fatal(err)
	}
	var l strings.Builder
	for _, g := range later {
		fmt.Fprintf(&l, "%s,%s,%d\n", g.start, g.end, g.asn)
		ps, _ := rangePrefixes(nil, g.start, g.end)
		for _, p := range ps {
			asnList = append(asnList, ent{p: p, asn: g.asn})
		}
	}
	if _, err := db.LoadText(ctx, "later", strings.NewReader(l.String())); err != nil {
		t.Fatal(err)
	}
	lpm := func(l []ent, addr netip.Addr) (best ent) {
		bestBits := -1
		for _, e := range l {
			if e.p.Contains(addr) && e.p.Bits() >= bestBits {
				if c, ok := specialTable.LookupPrefix(e.p); ok && !c.Routable() {
					continue // never loaded
				}
				best, bestBits = e, e.p.Bits()
			}
		}
		return best
	}
	var hits, both int
	var overridden int
	for _, addr := range probeAddrs(rng, append(append(asnRanges, ccRanges...), later...), 500) {
		if Classify(addr) != Public {
			continue
		}
		wantASN, wantCC := lpm(asnList, addr.Unmap()).asn, lpm(ccList, addr.Unmap()).cc
		asn, cc := db.LookupGeo(addr)
		if asn != wantASN || cc != wantCC {
			t.Fatalf("LookupGeo(%s) = %d %q, linear scan says %d %q", addr, asn, cc, wantASN, wantCC)
		}
		if asn != 0 || cc != [2]byte{} {
			hits++
		}
		if asn != 0 && cc != [2]byte{} {
			both++
		}
		for _, g := range later[40:] {
			if asn == g.asn && !addr.Unmap().Less(g.start) && !g.end.Less(addr.Unmap()) {
				overridden++
				break
			}
		}
	}
	if overridden < 40 {
		t.Errorf("only %d probes saw an ASN the later file set", overridden)
	}
	if hits < 300 || both < 10 {
		t.Errorf("weak probe set: %d probes found data, %d both an ASN and a country", hits, both)
	}
}

// TestEmptyDB: a DB with nothing loaded answers nothing and does not crash.
func TestEmptyDB(t *testing.T) {
	db := New(Limits{})
	for _, s := range []string{"8.8.8.8", "2a00::1", "2002:808:808::1", "10.0.0.1"} {
		a := netip.MustParseAddr(s)
		if r := db.Lookup(a); r.Known() {
			t.Errorf("Lookup(%s) = %+v on an empty DB", s, r)
		}
		if asn, cc := db.LookupGeo(a); asn != 0 || cc != [2]byte{} {
			t.Errorf("LookupGeo(%s) = %d %q on an empty DB", s, asn, cc)
		}
	}
}

// BenchmarkLookupSpread looks up 65,536 addresses spread over a table of
// 500,000 IPv4 and 100,000 IPv6 ranges, so that most lookups miss the CPU
// caches as they do on a collector facing many destinations. Combined is
// the ASN+country+class lookup of a new destination (Lookup), Geo the
// allocation-free pair (LookupGeo) and ASN+Country the two single
// lookups called one after the other.
func BenchmarkLookupSpread(b *testing.B) {
	db := buildBig(b, 500_000)
	rng := rand.New(rand.NewPCG(1, 2))
	var v6 strings.Builder
	for i := 0; i < 100_000; i++ {
		p := netip.AddrFrom16([16]byte{0x2a, byte(i >> 16), byte(i >> 8), byte(i)})
		e := p.As16()
		for j := 6; j < 16; j++ {
			e[j] = 0xff
		}
		fmt.Fprintf(&v6, "%s\t%s\t%d\t%s\tv6org%d\n", p, netip.AddrFrom16(e), 65000+i%500, ccPool[i%len(ccPool)], i%300)
	}
	if _, err := db.LoadText(context.Background(), "v6.tsv", strings.NewReader(v6.String())); err != nil {
		b.Fatal(err)
	}
	addrs := make([]netip.Addr, 1<<16)
	for i := range addrs {
		if i%4 == 3 {
			n := rng.IntN(100_000)
			addrs[i] = netip.AddrFrom16([16]byte{0x2a, byte(n >> 16), byte(n >> 8), byte(n), 15: byte(rng.UintN(256))})
			continue
		}
		addrs[i] = u32Addr(0x01000000 + uint32(rng.IntN(500_000))*0x300 + rng.Uint32N(256))
	}
	var known int
	for _, a := range addrs {
		if db.Lookup(a).ASN != 0 {
			known++
		}
	}
	if known < len(addrs)*9/10 { // 10.0.0.0/8 is inside the generated span
		b.Fatalf("only %d of %d probe addresses have data", known, len(addrs))
	}
	const mask = 1<<16 - 1
	b.Run("Combined", func(b *testing.B) { cpuLoop(b, func(i int) { _ = db.Lookup(addrs[i&mask]) }) })
	b.Run("Geo", func(b *testing.B) { cpuLoop(b, func(i int) { _, _ = db.LookupGeo(addrs[i&mask]) }) })
	b.Run("ASN+Country", func(b *testing.B) {
		cpuLoop(b, func(i int) { _, _ = db.LookupASN(addrs[i&mask]), db.LookupCountry(addrs[i&mask]) })
	})
}
