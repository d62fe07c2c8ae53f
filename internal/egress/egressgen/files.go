package egressgen

import (
	"bytes"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// File names written by WriteFiles.
const (
	ElementsFile = "elements.csv"
	AllowFile    = "allow.yaml"
	HostsFile    = "hosts"
	IPTableFile  = "ip2asn.tsv"
)

type repo struct {
	fam     string
	addr    netip.Addr
	first   string // range in the IP table
	last    string
	asn     uint32
	country string
	org     string
}

// Vendor software repositories. Fictional assignments: see IPTable.
var repos = []repo{
	{"ericsson", mustAddr("91.207.44.10"), "91.207.44.0", "91.207.47.255", 64601, "SE", "FICTIONAL-VENDOR-E-SWDL"},
	{"huawei", mustAddr("116.204.32.10"), "116.204.32.0", "116.204.35.255", 64602, "CN", "FICTIONAL-VENDOR-H-SWDL"},
	{"nokia", mustAddr("93.158.200.10"), "93.158.200.0", "93.158.203.255", 64603, "FI", "FICTIONAL-VENDOR-N-SWDL"},
	{"cisco", mustAddr("64.90.18.10"), "64.90.16.0", "64.90.19.255", 64604, "US", "FICTIONAL-VENDOR-C-SWDL"},
	{"zte", mustAddr("117.40.84.10"), "117.40.84.0", "117.40.87.255", 64605, "CN", "FICTIONAL-VENDOR-Z-SWDL"},
	{"samsung", mustAddr("121.138.60.10"), "121.138.60.0", "121.138.63.255", 64606, "KR", "FICTIONAL-VENDOR-S-SWDL"},
	{"juniper", mustAddr("69.172.40.10"), "69.172.40.0", "69.172.43.255", 64607, "US", "FICTIONAL-VENDOR-J-SWDL"},
	{"dell", mustAddr("64.119.200.10"), "64.119.200.0", "64.119.203.255", 64608, "US", "FICTIONAL-VENDOR-D-SWDL"},
	{"utimaco", mustAddr("85.115.24.10"), "85.115.24.0", "85.115.27.255", 64609, "DE", "FICTIONAL-VENDOR-U-SWDL"},
	{"other", mustAddr("94.130.90.10"), "94.130.90.0", "94.130.93.255", 64610, "DE", "FICTIONAL-VENDOR-X-SWDL"},
}

func repoOf(fam string) repo {
	for _, r := range repos {
		if r.fam == fam {
			return r
		}
	}
	return repos[len(repos)-1]
}

func repoAddr(fam string) netip.Addr { return repoOf(fam).addr }

// ElementsCSV is the element map: management address → element, with the
// inventory's vendor, function, domain and site.
func (m *Month) ElementsCSV() []byte {
	var b bytes.Buffer
	b.WriteString("address,element,vendor,function,domain,site\n")
	for _, n := range m.nodes {
		fmt.Fprintf(&b, "%s,%s,%s,%s,%s,%s\n", n.Addr, csvField(n.ID), csvField(n.Vendor), csvField(n.Function), csvField(n.Domain), csvField(n.Site))
	}
	return b.Bytes()
}

func csvField(s string) string {
	if strings.ContainsAny(s, ",\"\n\r") {
		return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
	}
	return s
}

func yamlString(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}

// AllowYAML is the allowlist: the management templates bound to the
// operator's servers, the management stations and file server, and each
// vendor's software repository for that vendor's elements.
func (m *Month) AllowYAML() []byte {
	var b bytes.Buffer
	b.WriteString(`# Allowlist for the generated management network (netvet egressgen).
version: 1
hosts_file: hosts
servers:
  ntp: [ntp1.mgmt.operator.example, ntp2.mgmt.operator.example, ntp3.mgmt.operator.example]
  dns: [ns1.mgmt.operator.example, ns2.mgmt.operator.example]
  syslog: [syslog.mgmt.operator.example]
  snmp-trap: [trap1.mgmt.operator.example, trap2.mgmt.operator.example]
  tacacs: [tacacs1.mgmt.operator.example, tacacs2.mgmt.operator.example]
  oss: [10.20.5.0/28]   # management stations and the OSS file server
rules:
  - id: mgmt-ntp
    template: ntp
    servers: [ntp]
  - id: mgmt-dns
    template: dns
    servers: [dns]
  - id: mgmt-syslog
    template: syslog
    servers: [syslog]
  - id: mgmt-snmp-trap
    template: snmp-trap
    servers: [snmp-trap]
  - id: mgmt-tacacs
    template: tacacs
    servers: [tacacs]
  - id: mgmt-netconf-callhome
    template: netconf
    servers: [oss]
  # Sessions the management stations open (SSH, NETCONF, SNMP polls) flow
  # back to them from the element's service port; PM files and
  # configuration backups go to the file server over SFTP.
  - id: oss-sessions
    servers: [oss]
    ports: [any/tcp, any/udp]
`)
	byFam := map[string][]string{}
	for _, n := range m.nodes {
		f := Family(n.Vendor)
		if !slices.Contains(byFam[f], n.Vendor) {
			byFam[f] = append(byFam[f], n.Vendor)
		}
	}
	for _, f := range sortedKeys(byFam) {
		vs := byFam[f]
		slices.Sort(vs)
		// The family name too: an inventory that normalises vendor
		// names ("HUAWEI TECHNOLOGIES CO., LTD." -> "Huawei") still matches.
		if !slices.ContainsFunc(vs, func(v string) bool { return strings.EqualFold(v, f) }) {
			vs = append(vs, f)
		}
		q := make([]string, len(vs))
		for i, v := range vs {
			q[i] = yamlString(v)
		}
		fmt.Fprintf(&b, "  - id: swdl-%s\n    vendor: [%s]\n    names: [swdl.%s.vendor.example]\n    ports: [443/tcp]\n", f, strings.Join(q, ", "), repoOf(f).fam)
	}
	return b.Bytes()
}

// Hosts names the operator's servers and the vendor repositories.
func (m *Month) Hosts() []byte {
	var b bytes.Buffer
	b.WriteString("# Names for the generated management network (netvet egressgen).\n")
	for i, a := range ntpServers {
		fmt.Fprintf(&b, "%s ntp%d.mgmt.operator.example\n", a, i+1)
	}
	for i, a := range dnsServers {
		fmt.Fprintf(&b, "%s ns%d.mgmt.operator.example\n", a, i+1)
	}
	fmt.Fprintf(&b, "%s syslog.mgmt.operator.example\n", syslogServer)
	for i, a := range trapServers {
		fmt.Fprintf(&b, "%s trap%d.mgmt.operator.example\n", a, i+1)
	}
	for i, a := range tacacsServers {
		fmt.Fprintf(&b, "%s tacacs%d.mgmt.operator.example\n", a, i+1)
	}
	for i, a := range nmsStations {
		fmt.Fprintf(&b, "%s oss%d.mgmt.operator.example\n", a, i+1)
	}
	fmt.Fprintf(&b, "%s files.mgmt.operator.example\n", fileServer)
	for _, r := range repos {
		fmt.Fprintf(&b, "%s swdl.%s.vendor.example\n", r.addr, r.fam)
	}
	return b.Bytes()
}

// IPTable is a small IP-to-ASN/country table in the iptoasn TSV layout
// (start, end, ASN, country, organisation). The ranges are public address
// space; the assignments are fictional.
func (m *Month) IPTable() []byte {
	var b bytes.Buffer
	b.WriteString(`# FICTIONAL IP-to-ASN/country table for netvet's generated management traffic.
# The address ranges are public address space picked at random; the AS numbers
# (private-use range 64512-65534), organisations and countries assigned to them
# here are made up for tests and the demo. Do not use this table for anything else.
`)
	rows := []ipRow{
		{"103.77.12.0", "103.77.15.255", 64812, "SC", "FICTIONAL-VPS-HOSTING"},
		{"156.251.16.0", "156.251.23.255", 65010, "PA", "FICTIONAL-CLOUD-STORAGE"},
		{"185.193.124.0", "185.193.127.255", 64900, "NL", "FICTIONAL-OPEN-RESOLVER"},
		{"31.94.0.0", "31.94.127.255", 64512, "GB", "FICTIONAL-OPERATOR"},
	}
	for _, r := range repos {
		rows = append(rows, ipRow{r.first, r.last, r.asn, r.country, r.org})
	}
	slices.SortFunc(rows, func(a, c ipRow) int {
		return netip.MustParseAddr(a.first).Compare(netip.MustParseAddr(c.first))
	})
	for _, r := range rows {
		fmt.Fprintf(&b, "%s\t%s\t%d\t%s\t%s\n", r.first, r.last, r.asn, r.cc, r.org)
	}
	return b.Bytes()
}

type ipRow struct {
	first, last string
	asn         uint32
	cc, org     string
}

// WriteFiles writes elements.csv, allow.yaml, hosts and ip2asn.tsv into dir.
func (m *Month) WriteFiles(dir string) error {
	for _, f := range []struct {
		name string
		data []byte
	}{{ElementsFile, m.ElementsCSV()}, {AllowFile, m.AllowYAML()}, {HostsFile, m.Hosts()}, {IPTableFile, m.IPTable()}} {
		if err := os.WriteFile(filepath.Join(dir, f.name), f.data, 0o644); err != nil {
			return fmt.Errorf("egressgen: %w", err)
		}
	}
	return nil
}
