// Package examples holds the bundled example data that `netvet demo` runs
// on: a router firmware image built by firmware/make.sh, a small
// vulnerability database, and a capture of flow export datagrams.
package examples

import "embed"

// DemoFirmware is a router image: a Netgear CHK holding a Broadcom TRX with
// a U-Boot kernel image and a SquashFS root filesystem, then an
// encrypted-looking configuration blob.
//
//go:embed firmware/demo-router.bin
var DemoFirmware []byte

// DemoFirmwareName is the file name the demo image is unpacked under.
const DemoFirmwareName = "demo-router.bin"

// DemoVulnDB is a small grype v6 vulnerability database archive for the
// demo, built by vulndb/mkdb_test.go from real NVD, Debian, KEV and EPSS
// records (internal/vuln/testdata/vulndb).
//
//go:embed vulndb/demo-vulndb.tar.zst
var DemoVulnDB []byte

// DemoEgress holds egress/: a classic pcap of IPFIX export datagrams (two
// days of generated management traffic of elements of the example
// operator, with a beacon and a daily upload planted), and the element
// map, allowlist, hosts file and fictional IP-to-ASN table to replay it
// with. Built by egress/gen_test.go (build tag mkdemoegress).
//
//go:embed egress/*.pcap egress/elements.csv egress/allow.yaml egress/hosts egress/ip2asn.tsv
var DemoEgress embed.FS
