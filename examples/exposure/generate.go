// Package exposure holds the example operator inventory that `netvet demo`
// and the exposure examples run on, and the deterministic generator that
// writes it (also used, at larger sizes, by the benchmarks).
//
// The operator is fictional but shaped like a national mobile and fixed
// operator: radio sites in eight regions, each region with one RAN vendor;
// full-fibre OLTs; a 5G core and a legacy EPC/IMS in three data centres;
// cell-site, aggregation and core routers, optical and microwave
// transmission; element managers; security; lawful interception; cloud
// servers. Huawei holds two RAN regions (4G and 5G), part of the EPC, some
// aggregation routers, optical, microwave and OLTs, so that the shipped
// policy packs find violations.
package exposure

import (
	_ "embed"
	"encoding/csv"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"
)

// OperatorCSV is examples/exposure/operator.csv: about 5,000 elements.
//
//go:embed operator.csv
var OperatorCSV []byte

// Operator2026Q4CSV is the same operator at the end of 2026, after Huawei
// removals in RAN and core and a few new installs: the second snapshot
// for `netvet exposure diff`.
//
//go:embed operator-2026q4.csv
var Operator2026Q4CSV []byte

// File names of the embedded snapshots.
const (
	OperatorName       = "operator.csv"
	Operator2026Q4Name = "operator-2026q4.csv"
)

// Config sizes a generated inventory.
type Config struct {
	Elements int    // target element count; 0 means 5,000
	Seed     uint64 // 0 means the fixed default seed
	Later    bool   // write the 2026-Q4 snapshot instead of the base one
}

// Header is the CSV header the generator writes.
var Header = []string{"id", "name", "vendor", "model", "software_version", "domain", "function",
	"generation", "plane", "site", "site_sensitivity", "install_date", "purchase_date",
	"traffic_share", "premises_served", "managed_by", "support_location", "sanctions_affected",
	"nesas_report_id", "evidence_scheme", "evaluated_versions", "tags"}

type element struct {
	id, name, vendor, model, version, domain, function, generation, plane, site, sensitivity string
	install, purchase                                                                        time.Time
	weight                                                                                   float64 // traffic weight, normalised per domain
	premises                                                                                 int
	managedBy, support                                                                       string
	sanctions                                                                                bool
	report, evaluated                                                                        string
	tags                                                                                     []string
	removed                                                                                  bool // gone in the later snapshot
}

type vendor struct {
	raw     []string // spellings used in the file
	id      string
	country string
}

var (
	huawei   = vendor{[]string{"HUAWEI TECHNOLOGIES CO., LTD.", "Huawei", "Huawei Technologies Co Ltd"}, "huawei", "CN"}
	zte      = vendor{[]string{"ZTE Corporation", "ZTE"}, "zte", "CN"}
	ericsson = vendor{[]string{"Ericsson AB", "Ericsson", "Telefonaktiebolaget LM Ericsson"}, "ericsson", "SE"}
	nokia    = vendor{[]string{"Nokia Solutions and Networks", "Nokia", "Alcatel-Lucent"}, "nokia", "FI"}
	samsung  = vendor{[]string{"Samsung Electronics Co., Ltd.", "Samsung"}, "samsung", "KR"}
	cisco    = vendor{[]string{"Cisco Systems, Inc.", "Cisco"}, "cisco", "US"}
	juniper  = vendor{[]string{"Juniper Networks", "Juniper Networks, Inc."}, "juniper", "US"}
	dell     = vendor{[]string{"Dell Technologies"}, "dell", "US"}
	utimaco  = vendor{[]string{"Utimaco GmbH"}, "utimaco", "DE"}
)

type region struct {
	code, name string
	share      float64 // of sites
	ran        vendor
	urban      float64 // probability a site is dense-urban
	fiveG      float64 // probability a site has 5G
}

var regions = []region{
	{"LDN", "London", 0.20, ericsson, 0.55, 0.85},
	{"MAN", "Manchester", 0.12, huawei, 0.25, 0.70},
	{"BHM", "Birmingham", 0.12, nokia, 0.25, 0.65},
	{"GLA", "Glasgow", 0.10, huawei, 0.20, 0.55},
	{"LDS", "Leeds", 0.12, ericsson, 0.20, 0.60},
	{"CDF", "Cardiff", 0.10, samsung, 0.15, 0.50},
	{"BRS", "Bristol", 0.12, nokia, 0.20, 0.55},
	{"BEL", "Belfast", 0.12, zte, 0.15, 0.40},
}

type gen struct {
	r   *rand.Rand
	els []*element
}

func (g *gen) pick(v vendor) string { return v.raw[g.r.IntN(len(v.raw))] }

func (g *gen) date(fromYear, toYear int) time.Time {
	from := time.Date(fromYear, 1, 1, 0, 0, 0, 0, time.UTC)
	to := time.Date(toYear, 12, 31, 0, 0, 0, 0, time.UTC)
	days := int(to.Sub(from).Hours() / 24)
	return from.AddDate(0, 0, g.r.IntN(days+1))
}

func (g *gen) add(e *element) *element {
	e.purchase = e.install.AddDate(0, -3-g.r.IntN(6), 0)
	g.els = append(g.els, e)
	return e
}

var ranModels = map[string][3]string{ // baseband 4G, baseband 5G, radio unit
	"huawei":   {"BBU3910", "BBU5900", "AAU5613"},
	"ericsson": {"Baseband 6630", "Baseband 6648", "AIR 6449"},
	"nokia":    {"Flexi Multiradio 10", "AirScale System Module", "AirScale MAA 64T64R"},
	"samsung":  {"CDU 30", "vRAN CDU", "MMU 64T64R"},
	"zte":      {"ZXSDR B8200", "V9200", "AAU A9611"},
}

var ranVersions = map[string][2]string{
	"huawei":   {"V100R015C10", "V100R019C10SPC300"},
	"ericsson": {"21.Q4", "24.Q2"},
	"nokia":    {"FL19A", "24R1"},
	"samsung":  {"v20.5", "v23.1"},
	"zte":      {"V4.20.10", "V5.65.20"},
}

// Generate writes a generated operator inventory as CSV.
func Generate(w io.Writer, cfg Config) error {
	if cfg.Elements <= 0 {
		cfg.Elements = 5000
	}
	if cfg.Seed == 0 {
		cfg.Seed = 20260401
	}
	g := &gen{r: rand.New(rand.NewPCG(cfg.Seed, cfg.Seed^0x9e3779b97f4a7c15))}
	scale := float64(cfg.Elements) / 5000
	sites := max(10, int(math.Round(1500*scale)))
	g.ran(sites)
	g.fixed(max(4, int(math.Round(400*scale))), max(2, int(math.Round(250*scale))))
	g.core(max(1, int(math.Round(scale))))
	g.transport(sites, scale)
	g.management(max(1, int(math.Round(scale))))
	if cfg.Later {
		g.later()
	}
	return g.write(w)
}

func (g *gen) ran(sites int) {
	n := 0
	for ri, rg := range regions {
		count := int(math.Round(float64(sites) * rg.share))
		if ri == len(regions)-1 {
			count = sites - n
		}
		n += count
		for i := 1; i <= count; i++ {
			site := fmt.Sprintf("%s-%05d", rg.code, i)
			sens := ""
			weight := 0.5 + g.r.Float64()
			switch x := g.r.Float64(); {
			case x < 0.02:
				sens = "national-security"
			case x < 0.025:
				sens = "military"
			case x < 0.028:
				sens = "cni-safety-critical"
			case x < 0.03:
				sens = "nuclear"
			case x < 0.03+rg.urban*0.5:
				sens = "dense-urban"
				weight *= 2.5
			}
			v := rg.ran
			// A few sites in a Huawei region are served by a neighbour's vendor.
			if v.id == "huawei" && g.r.Float64() < 0.08 {
				v = ericsson
			}
			models, versions := ranModels[v.id], ranVersions[v.id]
			managed := ""
			if v.id == "huawei" || v.id == "ericsson" {
				if g.r.Float64() < 0.3 {
					managed = g.pick(v)
				}
			}
			support := v.country
			if g.r.Float64() < 0.4 {
				support = "GB"
			}
			enb := g.add(&element{id: "enb-" + site, name: rg.name + " " + site + " eNB", vendor: g.pick(v),
				model: models[0], version: versions[0], domain: "ran", function: "enb", generation: "4G",
				plane: "user", site: site, sensitivity: sens, install: g.date(2016, 2020), weight: weight * 0.55,
				managedBy: managed, support: support})
			_ = enb
			if g.r.Float64() < rg.fiveG {
				gen := "5G-NSA"
				first := 2019
				if rg.code == "LDN" && g.r.Float64() < 0.4 {
					gen = "5G-SA"
					first = 2022
				}
				last := 2026
				if v.id == "huawei" {
					last = 2022 // few Huawei 5G installs after the 2020 decision
					if g.r.Float64() < 0.97 {
						last = 2021
					}
				}
				inst := g.date(first, last)
				g.add(&element{id: "gnb-" + site, name: rg.name + " " + site + " gNB", vendor: g.pick(v),
					model: models[1], version: versions[1], domain: "ran", function: "gnb", generation: gen,
					plane: "user", site: site, sensitivity: sens, install: inst, weight: weight * 0.4,
					managedBy: managed, support: support})
				g.add(&element{id: "ru-" + site + "-1", name: rg.name + " " + site + " AAU 1", vendor: g.pick(v),
					model: models[2], version: versions[1], domain: "ran", function: "ru", generation: gen,
					plane: "user", site: site, sensitivity: sens, install: inst, weight: weight * 0.05,
					managedBy: managed, support: support})
			}
		}
	}
}

func (g *gen) fixed(olts, onts int) {
	for i := 1; i <= olts; i++ {
		rg := regions[g.r.IntN(len(regions))]
		var v vendor
		var model, ver string
		switch x := g.r.Float64(); {
		case x < 0.45:
			v, model, ver = huawei, "MA5800-X17", "V100R021C10"
		case x < 0.85:
			v, model, ver = nokia, "Lightspan FX-16", "23.6"
		default:
			v, model, ver = zte, "TITAN C600", "V1.2.1"
		}
		inst := g.date(2018, 2026)
		e := g.add(&element{id: fmt.Sprintf("olt-%s-%04d", strings.ToLower(rg.code), i),
			name: rg.name + " exchange OLT " + strconv.Itoa(i), vendor: g.pick(v), model: model, version: ver,
			domain: "access-fixed", function: "olt", generation: "FTTP", plane: "user",
			site: fmt.Sprintf("%s-EX-%03d", rg.code, 1+g.r.IntN(60)), install: inst,
			premises: 500 + g.r.IntN(3500), support: v.country})
		e.weight = float64(e.premises)
		if v.id == "huawei" && inst.After(time.Date(2022, 10, 13, 0, 0, 0, 0, time.UTC)) && g.r.Float64() < 0.25 {
			e.sanctions = true
			e.tags = append(e.tags, "sanctions-review")
		}
	}
	for i := 1; i <= onts; i++ {
		rg := regions[g.r.IntN(len(regions))]
		v, model := nokia, "G-240W-F"
		if g.r.Float64() < 0.5 {
			v, model = huawei, "OptiXstar HN8245X6"
		}
		sens := ""
		if g.r.Float64() < 0.1 {
			sens = "national-security"
		}
		g.add(&element{id: fmt.Sprintf("ont-%s-%05d", strings.ToLower(rg.code), i), name: "Business ONT " + strconv.Itoa(i),
			vendor: g.pick(v), model: model, version: "V5R020", domain: "access-fixed", function: "ont",
			generation: "FTTP", plane: "user", site: fmt.Sprintf("%s-BIZ-%05d", rg.code, i), sensitivity: sens,
			install: g.date(2018, 2026), premises: 1, weight: 1, support: v.country, tags: []string{"business"}})
	}
}

var dcs = []string{"DC-SLOUGH", "DC-MANCHESTER", "DC-NEWPORT"}

func (g *gen) core(k int) {
	type nf struct {
		fn, plane string
		n         int
		w         float64
	}
	nfs := []nf{{"amf", "control", 4, 1}, {"smf", "control", 4, 1}, {"upf", "user", 8, 8}, {"ausf", "control", 2, 0.2},
		{"udm", "control", 2, 0.3}, {"udr", "control", 2, 0.2}, {"pcf", "control", 2, 0.3}, {"nrf", "control", 2, 0.1},
		{"nssf", "control", 2, 0.1}, {"nef", "control", 2, 0.1}, {"sepp", "control", 2, 0.3}, {"scp", "control", 2, 0.2},
		{"bsf", "control", 2, 0.1}, {"chf", "control", 2, 0.2}, {"nwdaf", "control", 1, 0.1}}
	n := 0
	for _, f := range nfs {
		for i := 1; i <= f.n*k; i++ {
			n++
			dc := dcs[(i-1)%len(dcs)]
			v := ericsson
			if n%3 == 0 {
				v = nokia
			}
			model, ver := "Cloud Native "+strings.ToUpper(f.fn), "1.14"
			if v.id == "nokia" {
				ver = "24.2"
			}
			// Two Huawei UPFs at an edge site: the core violation.
			if f.fn == "upf" && i > f.n*k-2 {
				v, model, ver, dc = huawei, "UDG", "V100R023C00", "EDGE-GLA-01"
			}
			e := g.add(&element{id: fmt.Sprintf("5gc-%s-%02d", f.fn, i), name: strings.ToUpper(f.fn) + " " + dc,
				vendor: g.pick(v), model: model, version: ver, domain: "core-5g", function: f.fn, generation: "5G-SA",
				plane: f.plane, site: dc, sensitivity: "national-security", install: g.date(2021, 2025), weight: f.w,
				support: "GB"})
			g.evidence(e, 0.7)
		}
	}
	epc := []nf{{"mme", "control", 6, 1}, {"sgw", "user", 6, 4}, {"pgw", "user", 6, 4}, {"hss", "control", 3, 0.5},
		{"pcrf", "control", 3, 0.3}, {"dra", "control", 2, 0.2}, {"epdg", "user", 2, 0.5}, {"p-cscf", "control", 3, 0.3},
		{"s-cscf", "control", 3, 0.3}, {"i-cscf", "control", 2, 0.2}, {"tas", "control", 2, 0.3}, {"msc", "control", 2, 0.3}}
	n = 0
	for _, f := range epc {
		for i := 1; i <= f.n*k; i++ {
			n++
			dc := dcs[(i-1)%len(dcs)]
			v, model, ver := nokia, "Flexi NS", "20.0"
			switch {
			case n%4 == 0:
				v, model, ver = huawei, "CloudEPC "+strings.ToUpper(f.fn), "V100R019C10"
			case n%4 == 1:
				v, model, ver = ericsson, "vEPC "+strings.ToUpper(f.fn), "1.10"
			}
			e := g.add(&element{id: fmt.Sprintf("epc-%s-%02d", f.fn, i), name: strings.ToUpper(f.fn) + " " + dc,
				vendor: g.pick(v), model: model, version: ver, domain: "core-epc", function: f.fn, generation: "4G",
				plane: f.plane, site: dc, sensitivity: "national-security", install: g.date(2016, 2021), weight: f.w,
				support: v.country})
			g.evidence(e, 0.4)
		}
	}
	// Cloud infrastructure under the core.
	for i := 1; i <= 50*k; i++ {
		dc := dcs[(i-1)%len(dcs)]
		v, model := dell, "PowerEdge R760"
		if i%5 == 0 {
			v, model = huawei, "FusionServer 2288H V5"
		}
		g.add(&element{id: fmt.Sprintf("nfvi-%03d", i), name: "NFVI host " + strconv.Itoa(i), vendor: g.pick(v),
			model: model, version: "BIOS 2.1", domain: "cloud-infra", function: "server", site: dc,
			sensitivity: "national-security", install: g.date(2019, 2025), weight: 1, support: v.country})
	}
}

func (g *gen) evidence(e *element, p float64) {
	if g.r.Float64() >= p {
		return
	}
	e.report = fmt.Sprintf("NESAS-%d-%04d", 2021+g.r.IntN(5), g.r.IntN(10000))
	if g.r.Float64() < 0.8 {
		e.evaluated = e.version // the deployed version was evaluated
	} else {
		e.evaluated = "0.9;1.0" // evaluated, but not this version
	}
}

func (g *gen) transport(sites int, scale float64) {
	// Cell-site routers at four in ten sites.
	for i := 1; i <= int(float64(sites)*0.4); i++ {
		rg := regions[g.r.IntN(len(regions))]
		v, model, ver := cisco, "NCS 540", "7.9.2"
		switch x := g.r.Float64(); {
		case x < 0.2:
			v, model, ver = huawei, "ATN 910C", "V300R007C10"
		case x < 0.45:
			v, model, ver = juniper, "ACX7100", "23.2R1"
		}
		g.add(&element{id: fmt.Sprintf("csr-%05d", i), name: "Cell-site router " + strconv.Itoa(i), vendor: g.pick(v),
			model: model, version: ver, domain: "transport", function: "csr", plane: "user",
			site:    fmt.Sprintf("%s-%05d", rg.code, 1+g.r.IntN(max(1, int(float64(sites)*rg.share)))),
			install: g.date(2016, 2026), weight: 1, support: v.country})
	}
	for i := 1; i <= max(2, int(80*scale)); i++ {
		rg := regions[i%len(regions)]
		v, model, ver := cisco, "ASR 9903", "7.8.2"
		switch {
		case i%4 == 0:
			v, model, ver = huawei, "NE40E-X8A", "V800R021C10"
		case i%4 == 1:
			v, model, ver = juniper, "MX10003", "22.4R3"
		}
		g.add(&element{id: fmt.Sprintf("agg-%03d", i), name: rg.name + " aggregation " + strconv.Itoa(i), vendor: g.pick(v),
			model: model, version: ver, domain: "transport", function: "agg-router", plane: "user",
			site: rg.code + "-AGG-" + strconv.Itoa(1+i%6), install: g.date(2016, 2025), weight: 8, support: v.country})
	}
	for i := 1; i <= max(2, int(24*scale)); i++ {
		v, model, ver := juniper, "PTX10008", "23.2R1"
		if i%2 == 0 {
			v, model, ver = cisco, "8808", "7.10.1"
		}
		e := g.add(&element{id: fmt.Sprintf("core-rtr-%02d", i), name: "IP core router " + strconv.Itoa(i), vendor: g.pick(v),
			model: model, version: ver, domain: "transport", function: "ip-core-router", plane: "user",
			site: dcs[i%len(dcs)], sensitivity: "national-security", install: g.date(2017, 2024), weight: 40, support: v.country})
		e.tags = []string{"high-data-rate", "intra-core"}
	}
	for i := 1; i <= max(2, int(40*scale)); i++ {
		v, model, ver := nokia, "1830 PSS-32", "23.6"
		if i%3 != 0 {
			v, model, ver = huawei, "OptiX OSN 9800", "V100R019C10"
		}
		e := g.add(&element{id: fmt.Sprintf("dwdm-%03d", i), name: "DWDM node " + strconv.Itoa(i), vendor: g.pick(v),
			model: model, version: ver, domain: "transport", function: "optical-dwdm", plane: "user",
			site: regions[i%len(regions)].code + "-AGG-" + strconv.Itoa(1+i%6), install: g.date(2016, 2023), weight: 20,
			support: v.country})
		e.tags = []string{"high-data-rate"}
		if i%10 == 0 {
			e.tags = append(e.tags, "inter-operator")
		}
	}
	for i := 1; i <= max(2, int(200*scale)); i++ {
		v, model, ver := ericsson, "MINI-LINK 6352", "2.12"
		switch x := g.r.Float64(); {
		case x < 0.4:
			v, model, ver = huawei, "OptiX RTN 950A", "V100R012C10"
		case x < 0.7:
			v, model, ver = nokia, "Wavence UBT-SA", "22.0"
		}
		rg := regions[g.r.IntN(len(regions))]
		g.add(&element{id: fmt.Sprintf("mw-%04d", i), name: "Microwave link " + strconv.Itoa(i), vendor: g.pick(v),
			model: model, version: ver, domain: "transport", function: "mw-backhaul", plane: "user",
			site:    fmt.Sprintf("%s-%05d", rg.code, 1+g.r.IntN(max(1, int(float64(1500*scale)*rg.share)))),
			install: g.date(2016, 2025), weight: 0.5, support: v.country})
	}
}

func (g *gen) management(k int) {
	type ems struct {
		v               vendor
		model, ver, dom string
		fn              string
	}
	list := []ems{
		{huawei, "iMaster MAE", "V100R023C10", "oss-management", "ems"},
		{huawei, "U2020", "V200R021C10", "oss-management", "ems"},
		{huawei, "iMaster NCE", "V100R022C00", "oss-management", "nms"},
		{ericsson, "Ericsson Network Manager", "23.2", "oss-management", "ems"},
		{nokia, "MantaRay NM", "24.0", "oss-management", "ems"},
		{nokia, "NSP", "23.11", "oss-management", "nms"},
		{samsung, "USM", "v23", "oss-management", "ems"},
		{zte, "UME", "V16.23", "oss-management", "ems"},
		{cisco, "Crosswork", "6.0", "oss-management", "nms"},
		{ericsson, "EO", "2.30", "oss-management", "nfvo"},
	}
	i := 0
	for r := 0; r < 3*k; r++ {
		for _, m := range list {
			i++
			dc := dcs[r%len(dcs)]
			e := g.add(&element{id: fmt.Sprintf("oss-%s-%02d", strings.ReplaceAll(strings.ToLower(m.model), " ", "-"), r+1),
				name: m.model + " " + dc, vendor: g.pick(m.v), model: m.model, version: m.ver, domain: m.dom,
				function: m.fn, plane: "management", site: dc, sensitivity: "national-security",
				install: g.date(2017, 2025), weight: 1, support: m.v.country})
			if m.v.id == "huawei" {
				e.managedBy = g.pick(huawei)
			}
		}
	}
	sec := []ems{
		{cisco, "Firepower 4145", "7.4", "security", "firewall"},
		{juniper, "SRX5800", "23.2R1", "security", "firewall"},
		{huawei, "USG6650E", "V600R007C20", "security", "seg"},
		{cisco, "ASR 1009-X SEG", "17.9", "security", "seg"},
		{juniper, "SRX4600", "23.2R1", "security", "signalling-firewall"},
		{nokia, "Deepfield Defender", "23.0", "security", "firewall"},
		{cisco, "Umbrella DNS", "3.2", "security", "dns"},
		{ericsson, "AAA", "3.4", "security", "aaa"},
	}
	for r := 0; r < 5*k; r++ {
		for _, m := range sec {
			dc := dcs[r%len(dcs)]
			g.add(&element{id: fmt.Sprintf("sec-%s-%02d", strings.ReplaceAll(strings.ToLower(m.model), " ", "-"), r+1),
				name: m.model + " " + dc, vendor: g.pick(m.v), model: m.model, version: m.ver, domain: m.dom,
				function: m.fn, plane: "control", site: dc, sensitivity: "national-security",
				install: g.date(2017, 2025), weight: 1, support: m.v.country})
		}
	}
	li := []string{"admf", "lipf", "poi", "tf", "mdf2", "mdf3", "lmisf", "licf", "x1", "x2"}
	for r := 0; r < k; r++ {
		for _, fn := range li {
			g.add(&element{id: fmt.Sprintf("li-%s-%02d", fn, r+1), name: "LI " + strings.ToUpper(fn), vendor: g.pick(utimaco),
				model: "LIMS", version: "5.4", domain: "lawful-interception", function: fn, plane: "control",
				site: "DC-SLOUGH", sensitivity: "national-security", install: g.date(2018, 2024), weight: 1, support: "GB"})
		}
	}
}

// later turns the base snapshot into the 2026-Q4 one: Huawei out of the
// 5G core, out of national-security RAN sites and out of a third of its
// 5G RAN (replaced by Ericsson), some Huawei EPC swapped, and new sites.
func (g *gen) later() {
	cut := time.Date(2026, 7, 1, 0, 0, 0, 0, time.UTC)
	var added []*element
	for _, e := range g.els {
		isHW := strings.Contains(strings.ToLower(e.vendor), "huawei")
		if !isHW {
			continue
		}
		swap := false
		switch {
		case e.domain == "core-5g":
			swap = true
		case e.domain == "ran" && e.sensitivity == "national-security":
			swap = true
		case e.domain == "ran" && e.function != "enb" && g.r.Float64() < 0.35:
			swap = true
		case e.domain == "core-epc" && g.r.Float64() < 0.5:
			swap = true
		case e.domain == "access-fixed" && e.sanctions:
			swap = true
		}
		if !swap {
			continue
		}
		e.removed = true
		n := *e
		n.removed = false
		n.id = e.id + "-r"
		n.install = cut.AddDate(0, 0, g.r.IntN(150))
		n.purchase = n.install.AddDate(0, -4, 0)
		n.sanctions = false
		n.tags = append([]string{"huawei-swap"}, e.tags...)
		switch e.domain {
		case "ran":
			m, vv := ranModels["ericsson"], ranVersions["ericsson"]
			n.vendor, n.version, n.support, n.managedBy = g.pick(ericsson), vv[1], "SE", ""
			n.model = m[1]
			if e.function == "ru" {
				n.model = m[2]
			}
			if e.function == "enb" {
				n.model, n.version = m[0], vv[0]
			}
		case "core-5g":
			n.vendor, n.model, n.version, n.support, n.site = g.pick(nokia), "Cloud Mobility UPF", "24.2", "GB", "DC-MANCHESTER"
			n.report, n.evaluated = fmt.Sprintf("NESAS-2026-%04d", g.r.IntN(10000)), "24.2"
		case "core-epc":
			n.vendor, n.model, n.version, n.support = g.pick(nokia), "Flexi NS", "21.0", "FI"
			n.report, n.evaluated = "", ""
		case "access-fixed":
			n.vendor, n.model, n.version, n.support = g.pick(nokia), "Lightspan FX-16", "24.3", "FI"
		}
		added = append(added, &n)
	}
	// New sites in London.
	for i := 0; i < 12; i++ {
		site := fmt.Sprintf("LDN-N%04d", i+1)
		inst := cut.AddDate(0, 0, g.r.IntN(150))
		added = append(added,
			&element{id: "gnb-" + site, name: "London " + site + " gNB", vendor: g.pick(ericsson), model: "Baseband 6648",
				version: "24.Q2", domain: "ran", function: "gnb", generation: "5G-SA", plane: "user", site: site,
				sensitivity: "dense-urban", install: inst, weight: 1, support: "SE", tags: []string{"new-site"}},
			&element{id: "ru-" + site + "-1", name: "London " + site + " AAU 1", vendor: g.pick(ericsson), model: "AIR 6449",
				version: "24.Q2", domain: "ran", function: "ru", generation: "5G-SA", plane: "user", site: site,
				sensitivity: "dense-urban", install: inst, weight: 0.1, support: "SE", tags: []string{"new-site"}})
	}
	// And one new Huawei OLT in an exchange: an install after the ban on
	// sanctions-affected kit, for `diff` to flag.
	added = append(added, &element{id: "olt-man-new-01", name: "Manchester exchange OLT (new)", vendor: g.pick(huawei),
		model: "MA5800-X17", version: "V100R023C00", domain: "access-fixed", function: "olt", generation: "FTTP",
		plane: "user", site: "MAN-EX-061", install: cut.AddDate(0, 1, 0), premises: 1800, weight: 1800,
		support: "CN", sanctions: true})
	kept := g.els[:0]
	for _, e := range g.els {
		if !e.removed {
			kept = append(kept, e)
		}
	}
	g.els = append(kept, added...)
}

func (g *gen) write(w io.Writer) error {
	// Traffic shares sum to 1 per domain (before rounding).
	total := map[string]float64{}
	for _, e := range g.els {
		total[e.domain] += e.weight
	}
	cw := csv.NewWriter(w)
	if err := cw.Write(Header); err != nil {
		return err
	}
	rec := make([]string, len(Header))
	for _, e := range g.els {
		share := ""
		if t := total[e.domain]; t > 0 && e.weight > 0 {
			share = strconv.FormatFloat(e.weight/t, 'f', 7, 64)
		}
		prem := ""
		if e.premises > 0 {
			prem = strconv.Itoa(e.premises)
		}
		sanc := "false"
		if e.sanctions {
			sanc = "true"
		}
		scheme := ""
		if e.report != "" {
			scheme = "NESAS"
		}
		purchase := e.purchase
		if purchase.IsZero() {
			purchase = e.install.AddDate(0, -4, 0)
		}
		rec = append(rec[:0], e.id, e.name, e.vendor, e.model, e.version, e.domain, e.function, e.generation,
			e.plane, e.site, e.sensitivity, e.install.Format(time.DateOnly), purchase.Format(time.DateOnly), share, prem,
			e.managedBy, e.support, sanc, e.report, scheme, e.evaluated, strings.Join(e.tags, ";"))
		if err := cw.Write(rec); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}
