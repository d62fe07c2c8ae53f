package sbom

import (
	"os"
	"testing"

	"github.com/netvet/netvet/internal/firmware/fwtest"
)

func TestOpkgComponents(t *testing.T) {
	status, _ := os.ReadFile("detect/testdata/opkg/status")
	control, _ := os.ReadFile("detect/testdata/opkg/busybox.control")
	osr, _ := os.ReadFile("detect/testdata/os-release-openwrt")
	cs, _ := catalogFS(t,
		fwtest.FileEntry("/usr/lib/opkg/status", string(status), 0o644),
		fwtest.FileEntry("/usr/lib/opkg/info/busybox.control", string(control), 0o644),
		fwtest.FileEntry("/usr/lib/os-release", string(osr), 0o644),
		fwtest.SymlinkEntry("/etc/os-release", "../usr/lib/os-release"),
		// not opkg databases
		fwtest.FileEntry("/etc/opkg/status", string(status), 0o644),
		fwtest.FileEntry("/usr/lib/opkg/info/busybox.list", "/bin/busybox\n", 0o644),
	)
	checkOpkg(t, cs)
	bb := findComponents(cs, "busybox", "netvet-opkg")
	if len(bb) == 1 && (len(bb[0].Licenses) != 1 || bb[0].Licenses[0] != "GPL-2.0" || bb[0].Supplier != "Felix Fietkau <nbd@nbd.name>") {
		t.Errorf("busybox control fields: %+v", bb[0])
	}
	// Without os-release, the package URL has no namespace or distro.
	cs, _ = catalogFS(t, fwtest.FileEntry("/var/lib/opkg/status", string(status), 0o644))
	d := findComponents(cs, "dropbear", "netvet-opkg")
	if len(d) != 1 || d[0].PURL != "pkg:opkg/dropbear@2022.82-5?arch=mipsel_24kc" {
		t.Errorf("dropbear without os-release: %s", dump(d))
	}
}
