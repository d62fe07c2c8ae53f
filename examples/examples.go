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
