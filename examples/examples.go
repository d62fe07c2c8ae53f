// Package examples holds the bundled example data that `netvet demo` runs
// on: a router firmware image built by firmware/make.sh.
package examples

import _ "embed"

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
