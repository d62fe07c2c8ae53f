package allow

import (
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const hostsText = `# operator hosts
10.10.0.5   ems.vendor.example ems
10.10.0.6   ems.vendor.example
2001:db8:10::5 ems6.vendor.example
10.20.0.1 ntp1.mgmt.example
`

const policyText = `version: 1
hosts_file: hosts
servers:
  ntp: [ntp1.mgmt.example, 10.20.0.2]
  syslog: [10.30.0.0/28]
rules:
  - id: mgmt-ntp
    template: ntp
    servers: [ntp]
  - id: mgmt-syslog
    template: syslog
    servers: [syslog]
  - id: ems-acme
    vendor: acme
    names: [ems.vendor.example, ems6.vendor.example]
    ports: [443/tcp, 8443/tcp]
  - id: acme-updates
    vendor: [acme]
    function: [ran]
    asns: [AS64500]
    ports: [443/tcp]
  - id: core-domain-de
    domain: core
    countries: [de]
    ports: ["1000-2000/udp"]
  - id: bs-001-special
    element: BS-001
    cidrs: [192.0.2.0/24, 192.0.2.128/25]
    ports: [icmp, 22/tcp]
`

type fakeGeo map[netip.Addr]struct {
	asn uint32
	cc  string
}

func (g fakeGeo) LookupGeo(a netip.Addr) (uint32, [2]byte) {
	var c [2]byte
	copy(c[:], g[a].cc)
	return g[a].asn, c
}

func loadTestPolicy(t testing.TB) *Policy {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "hosts"), []byte(hostsText), 0o600); err != nil {
		t.Fatal(err)
	}
	pp := filepath.Join(dir, "policy.yaml")
	if err := os.WriteFile(pp, []byte(policyText), 0o600); err != nil {
		t.Fatal(err)
	}
	p, err := Load(pp)
	if err != nil {
		t.Fatal(err)
	}
	p.SetGeo(fakeGeo{
		netip.MustParseAddr("198.51.100.9"): {64500, "US"},
		netip.MustParseAddr("198.51.100.7"): {64501, "DE"},
	})
	return p
}

func TestEvaluate(t *testing.T) {
	p := loadTestPolicy(t)
	acmeRAN := Element{ID: "bs-001", Vendor: "ACME", Function: "ran", Domain: "access"}
	acmeCore := Element{ID: "mme-1", Vendor: "acme", Function: "mme", Domain: "core"}
	other := Element{ID: "r-9", Vendor: "other"}
	tests := []struct {
		name     string
		el       Element
		dst      string
		port     uint16
		proto    uint8
		allowed  bool
		rule     string
		near     string
		inReason string
	}{
		{"ntp by name", other, "10.20.0.1", 123, ProtoUDP, true, "mgmt-ntp", "", ""},
		{"ntp by address", other, "10.20.0.2", 123, ProtoUDP, true, "mgmt-ntp", "", ""},
		{"ntp wrong proto", other, "10.20.0.2", 123, ProtoTCP, false, "", "mgmt-ntp", "not this port"},
		{"ntp to outsider", other, "8.8.8.8", 123, ProtoUDP, false, "", "", "matches none"},
		{"syslog tls", other, "10.30.0.14", 6514, ProtoTCP, true, "mgmt-syslog", "", ""},
		{"syslog outside /28", other, "10.30.0.16", 514, ProtoUDP, false, "", "", ""},
		{"ems by hosts name", acmeRAN, "10.10.0.6", 443, ProtoTCP, true, "ems-acme", "", ""},
		{"ems v6 mapped", acmeRAN, "2001:db8:10::5", 8443, ProtoTCP, true, "ems-acme", "", ""},
		{"ems other vendor", other, "10.10.0.6", 443, ProtoTCP, false, "", "", ""},
		{"asn rule", acmeRAN, "198.51.100.9", 443, ProtoTCP, true, "acme-updates", "", ""},
		{"asn rule wrong function", acmeCore, "198.51.100.9", 443, ProtoTCP, false, "", "", "AS64500"},
		{"country rule", acmeCore, "198.51.100.7", 1500, ProtoUDP, true, "core-domain-de", "", ""},
		{"country rule port", acmeCore, "198.51.100.7", 2500, ProtoUDP, false, "", "core-domain-de", ""},
		{"nested cidr keeps outer rule", acmeRAN, "192.0.2.200", 22, ProtoTCP, true, "bs-001-special", "", ""},
		{"icmp", acmeRAN, "192.0.2.1", 0, ProtoICMP, true, "bs-001-special", "", ""},
		{"element id case-insensitive", Element{ID: "BS-001"}, "192.0.2.1", 22, ProtoTCP, true, "bs-001-special", "", ""},
		{"ipv4-mapped destination", other, "::ffff:10.20.0.1", 123, ProtoUDP, true, "mgmt-ntp", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := p.Evaluate(tt.el, netip.MustParseAddr(tt.dst), tt.port, tt.proto)
			if d.Allowed != tt.allowed || d.Rule != tt.rule || strings.Join(d.Near, ",") != tt.near {
				t.Errorf("got %+v", d)
			}
			if !strings.Contains(d.Reason(), tt.inReason) {
				t.Errorf("reason %q lacks %q", d.Reason(), tt.inReason)
			}
			if !d.Allowed && d.Reason() == "" {
				t.Error("denied without reason")
			}
		})
	}
	// Elements selected by the same rules share one compiled Set.
	if p.ForElement(Element{ID: "a", Vendor: "x"}) != p.ForElement(Element{ID: "b", Vendor: "y"}) {
		t.Error("equal rule selections did not share a Set")
	}
	if got := strings.Join(p.ForElement(acmeRAN).Rules(), ","); got != "mgmt-ntp,mgmt-syslog,ems-acme,acme-updates,bs-001-special" {
		t.Errorf("rules for acmeRAN: %s", got)
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name, yaml string
		want       []string
	}{
		{"not yaml", "version: [1", []string{"p.yaml"}},
		{"no version", "rules: [{id: a, cidrs: [10.0.0.0/8]}]", []string{"p.yaml:1:1: missing version"}},
		{"unknown key", "version: 1\nrules:\n  - id: a\n    cidr: [10.0.0.0/8]\n", []string{"p.yaml:4:5: unknown key \"cidr\""}},
		{"template unbound", "version: 1\nrules:\n  - id: ntp\n    template: ntp\n", []string{"p.yaml:4:15: template \"ntp\" needs servers"}},
		{"template asn", "version: 1\nrules:\n  - id: ntp\n    template: ntp\n    cidrs: [10.0.0.1]\n    asns: [1]\n", []string{"must be bound to your own servers"}},
		{"template broad", "version: 1\nrules:\n  - id: ntp\n    template: ntp\n    cidrs: [0.0.0.0/0]\n", []string{"too broad"}},
		{"template ports", "version: 1\nrules:\n  - id: ntp\n    template: ntp\n    cidrs: [10.0.0.1]\n    ports: [1/tcp]\n", []string{"remove ports"}},
		{"unknown template", "version: 1\nrules:\n  - id: x\n    template: ftp\n    cidrs: [10.0.0.1]\n", []string{"unknown template \"ftp\""}},
		{"bad values", "version: 1\nrules:\n  - id: x\n    cidrs: [10.0.0.1/8, 300.1.1.1]\n    asns: [ASx]\n    countries: [Germany]\n    ports: [70000/tcp, 22/gre]\n",
			[]string{"p.yaml:4:13: 10.0.0.1/8 has host bits set", "p.yaml:4:25: bad CIDR", "p.yaml:5:12: bad ASN", "p.yaml:6:17: bad country", "p.yaml:7:13: port \"70000/tcp\"", "p.yaml:7:24: port \"22/gre\": unknown protocol"}},
		{"duplicate id", "version: 1\nrules:\n  - {id: a, cidrs: [10.0.0.1]}\n  - {id: a, cidrs: [10.0.0.2]}\n", []string{"p.yaml:4:10: rule id \"a\" already used on line 3"}},
		{"unresolved name", "version: 1\nrules:\n  - id: a\n    names: [ems.example]\n", []string{"p.yaml:4:13: host name \"ems.example\" is not in the hosts file"}},
		{"unknown server set", "version: 1\nrules:\n  - id: a\n    servers: [nope]\n", []string{"unknown server set \"nope\""}},
		{"no destination", "version: 1\nrules:\n  - id: a\n    vendor: x\n", []string{"allows no destination"}},
		{"empty rules", "version: 1\nrules: []\n", []string{"rules must be a non-empty list"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("p.yaml", []byte(tt.yaml), nil)
			if err == nil {
				t.Fatal("accepted")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error\n%v\nlacks %q", err, w)
				}
			}
		})
	}
}

func TestHosts(t *testing.T) {
	h, err := ParseHosts("h", strings.NewReader(hostsText+"bad-line\n999.1.1.1 x\n10.0.0.1 bad!name\n"))
	if err == nil {
		t.Fatal("bad lines accepted")
	}
	for _, w := range []string{"h:6: expected an address", "h:7: bad address", "h:8: bad host name"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %v lacks %q", err, w)
		}
	}
	if got := fmt.Sprint(h["ems.vendor.example"]); got != "[10.10.0.5 10.10.0.6]" {
		t.Errorf("ems = %s", got)
	}
	if got := fmt.Sprint(h["ems"]); got != "[10.10.0.5]" {
		t.Errorf("alias = %s", got)
	}
	long := strings.Repeat("a", maxHostsLine+10)
	if _, err := ParseHosts("h", strings.NewReader("10.0.0.1 "+long+"\n")); err == nil {
		t.Error("over-long line accepted")
	}
}

// realistic builds a policy of 7 templates plus 200 vendor/function rules
// with 10 CIDRs each and a few ASN/country rules.
func realistic(tb testing.TB) *Policy {
	var b strings.Builder
	b.WriteString("version: 1\nservers:\n  mgmt: [10.0.0.0/24, 10.0.1.0/24, 2001:db8:ff::/48]\nrules:\n")
	for _, tpl := range templateNames() {
		fmt.Fprintf(&b, "  - {id: mgmt-%s, template: %s, servers: [mgmt]}\n", tpl, tpl)
	}
	for i := 0; i < 200; i++ {
		fmt.Fprintf(&b, "  - id: r%d\n    vendor: v%d\n    function: [f%d]\n    cidrs: [", i, i%10, i%4)
		for j := 0; j < 10; j++ {
			if j > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "%d.%d.%d.0/24", 20+i%50, i, j*8)
		}
		b.WriteString("]\n    ports: [443/tcp, 8443/tcp, 161/udp]\n")
	}
	b.WriteString("  - {id: geo, vendor: v1, asns: [64500, 64501], countries: [DE, FI]}\n")
	p, err := Parse("bench.yaml", []byte(b.String()), nil)
	if err != nil {
		tb.Fatal(err)
	}
	p.SetGeo(fakeGeo{})
	return p
}

func TestRealisticPolicy(t *testing.T) {
	p := realistic(t)
	s := p.ForElement(Element{ID: "e", Vendor: "v1", Function: "f1"})
	if d := s.Evaluate(netip.MustParseAddr("41.21.0.9"), 443, ProtoTCP); !d.Allowed || d.Rule != "r21" {
		t.Errorf("%+v", d)
	}
	if d := s.Evaluate(netip.MustParseAddr("10.0.1.9"), 162, ProtoUDP); !d.Allowed || d.Rule != "mgmt-snmp-trap" {
		t.Errorf("%+v", d)
	}
	if d := s.Evaluate(netip.MustParseAddr("41.22.0.9"), 443, ProtoTCP); d.Allowed {
		t.Errorf("other vendor's EMS allowed: %+v", d)
	}
}

func BenchmarkEvaluate(b *testing.B) {
	p := realistic(b)
	el := Element{ID: "e", Vendor: "v1", Function: "f1"}
	s := p.ForElement(el)
	dsts := []netip.Addr{
		netip.MustParseAddr("41.21.0.9"), netip.MustParseAddr("10.0.1.9"),
		netip.MustParseAddr("8.8.8.8"), netip.MustParseAddr("2001:db8:ff::1"),
	}
	ports := []uint16{443, 162, 443, 830}
	protos := []uint8{ProtoTCP, ProtoUDP, ProtoTCP, ProtoTCP}
	b.Run("Set/allowed-prefix", func(b *testing.B) { cpuLoop(b, func(int) { _ = s.Evaluate(dsts[0], 443, ProtoTCP) }) })
	b.Run("Set/allowed-mixed-v4-v6", func(b *testing.B) {
		cpuLoop(b, func(i int) {
			j := []int{0, 1, 3}[i%3]
			_ = s.Evaluate(dsts[j], ports[j], protos[j])
		})
	})
	b.Run("Set/denied-with-geo", func(b *testing.B) { cpuLoop(b, func(int) { _ = s.Evaluate(dsts[2], 443, ProtoTCP) }) })
	b.Run("Policy/allowed", func(b *testing.B) { cpuLoop(b, func(int) { _ = p.Evaluate(el, dsts[0], 443, ProtoTCP) }) })
}
