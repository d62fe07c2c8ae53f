package policy

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/netvet/netvet/internal/inventory"
)

// genInventory builds n elements shaped like a national operator's
// network: many RAN and fixed-access elements over thousands of sites, a
// small core, transport and management, seven vendors, a few sensitive
// sites. IDs are zero-padded, so the inventory is sorted by ID.
func genInventory(n int, seed uint64) *inventory.Inventory {
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	type dom struct {
		name  string
		w     int
		fns   []string
		gens  []string
		vends []string
	}
	doms := []dom{
		{"ran", 55, []string{"gnb", "enb", "o-ru", "o-du", "antenna", "small-cell"}, []string{"4G", "5G-NSA", "5G-SA", "3G", "2G"}, []string{"huawei", "ericsson", "nokia", "samsung", "zte"}},
		{"access-fixed", 25, []string{"olt", "ont", "dslam", "msan", "bng"}, []string{"FTTP", "FTTP", ""}, []string{"huawei", "nokia", "zte", "calix"}},
		{"transport", 10, []string{"csr", "agg-router", "ip-core-router", "mw-backhaul", "optical-dwdm", "pe"}, []string{""}, []string{"cisco", "juniper", "huawei", "nokia", "ericsson"}},
		{"core-5g", 2, []string{"amf", "smf", "upf", "udm", "nrf", "ausf"}, []string{"5G-SA"}, []string{"ericsson", "nokia", "huawei"}},
		{"core-epc", 2, []string{"mme", "sgw", "pgw", "hss"}, []string{"4G"}, []string{"ericsson", "nokia", "huawei", "zte"}},
		{"oss-management", 3, []string{"ems", "nms", "oss"}, []string{"", "5G-SA", "4G"}, []string{"ericsson", "nokia", "huawei"}},
		{"cloud-infra", 3, []string{"server", "nfvi", "k8s-cluster"}, []string{""}, []string{"dell", "hpe", "huawei"}},
	}
	total := 0
	for _, d := range doms {
		total += d.w
	}
	sens := []string{"national-security", "military", "nuclear", "cni-safety-critical", "dense-urban"}
	nSites := n/50 + 1
	siteSens := make([]string, nSites)
	siteNames := make([]string, nSites) // shared, as the loaders intern them
	for i := range siteSens {
		siteNames[i] = fmt.Sprintf("site-%05d", i)
		if rng.IntN(100) < 3 {
			siteSens[i] = sens[rng.IntN(len(sens))]
		}
	}
	base := time.Date(2012, 1, 1, 0, 0, 0, 0, time.UTC)
	inv := &inventory.Inventory{Source: "generated", Elements: make([]inventory.Element, n)}
	for i := range inv.Elements {
		x := rng.IntN(total)
		var d dom
		for _, d = range doms {
			if x < d.w {
				break
			}
			x -= d.w
		}
		site := rng.IntN(nSites)
		el := &inv.Elements[i]
		el.ID = fmt.Sprintf("el-%07d", i)
		el.Vendor = d.vends[rng.IntN(len(d.vends))]
		el.Domain = d.name
		el.Function = d.fns[rng.IntN(len(d.fns))]
		el.Generation = d.gens[rng.IntN(len(d.gens))]
		el.Site = siteNames[site]
		el.SiteSensitivity = siteSens[site]
		el.InstallDate = inventory.Date{Time: base.AddDate(0, 0, rng.IntN(14*365))}
		if rng.IntN(4) == 0 {
			el.PurchaseDate = inventory.Date{Time: el.InstallDate.AddDate(0, 0, -rng.IntN(200))}
		}
		el.TrafficShare = rng.Float64() / float64(n)
		if d.name == "access-fixed" {
			el.PremisesServed = int64(rng.IntN(64))
		}
		if rng.IntN(10) == 0 {
			el.SupportLocation = []string{"SE", "GB", "CN", "DE"}[rng.IntN(4)]
		}
		if el.Vendor == "huawei" && rng.IntN(5) == 0 {
			el.SanctionsAffected = true
		}
		switch rng.IntN(50) {
		case 0:
			el.Tags = []string{"usf-funded"}
		case 1:
			el.Tags = []string{"critical-component"}
		case 2:
			el.Tags = []string{"kritis-critical", "hosts-core"}
		}
		if rng.IntN(3) == 0 {
			el.SoftwareVersion = "21.1"
			el.Evidence = []inventory.Evidence{{Scheme: "NESAS", ReportID: "r-1", EvaluatedVersions: []string{"21.1"}}}
		}
	}
	return inv
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkEvaluate1M evaluates 1,000,000 generated elements against every
// shipped pack. The target is under one second of CPU per evaluation.
func BenchmarkEvaluate1M(b *testing.B) {
	packs, err := LoadPacks("all")
	if err != nil {
		b.Fatal(err)
	}
	eng, err := Compile(packs)
	if err != nil {
		b.Fatal(err)
	}
	inv := genInventory(1_000_000, 1)
	at, _ := inventory.ParseDate("2027-12-31")
	runtime.GC()
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := cpuTime()
	var res *Result
	for b.Loop() {
		res = eng.Evaluate(inv, at)
	}
	cpu := cpuTime() - cpu0
	b.ReportMetric(cpu.Seconds()/float64(b.N), "cpu-s/op")
	b.ReportMetric(float64(len(inv.Elements)), "elements")
	b.ReportMetric(float64(len(res.Violations)), "violations")
}
