package sbom

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/netvet/netvet/internal/firmware"
	"github.com/netvet/netvet/internal/sbom/detect"
)

// routerRoot builds a router-like root filesystem from real Debian
// binaries, plus an OpenWrt opkg database and os-release from testdata, a
// statically linked copy of BusyBox, and links. It returns the folder and
// the Debian package versions.
func routerRoot(t *testing.T) (string, map[string]string) {
	t.Helper()
	root, versions := debRoot(t)
	copyFile := func(src, dst string) {
		t.Helper()
		b, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		dst = filepath.Join(root, dst)
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(dst, b, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	copyFile("detect/testdata/opkg/status", "usr/lib/opkg/status")
	copyFile("detect/testdata/opkg/busybox.control", "usr/lib/opkg/info/busybox.control")
	copyFile("detect/testdata/os-release-openwrt", "usr/lib/os-release")
	if err := os.MkdirAll(filepath.Join(root, "etc"), 0o755); err != nil {
		t.Fatal(err)
	}
	// The absolute link must resolve inside the filesystem, not on the host.
	if err := os.Symlink("/usr/lib/os-release", filepath.Join(root, "etc/os-release")); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "bin/busybox")); err == nil {
		copyFile(filepath.Join(root, "bin/busybox"), "rescue/busybox")
		if err := os.Symlink("busybox", filepath.Join(root, "rescue/sh")); err != nil {
			t.Fatal(err)
		}
	}
	// A vendor's own copy of libcrypto, beside the system's.
	if _, err := os.Stat(filepath.Join(root, "usr/lib/x86_64-linux-gnu/libcrypto.so.3")); err == nil {
		copyFile(filepath.Join(root, "usr/lib/x86_64-linux-gnu/libcrypto.so.3"), "opt/vendor/lib/libcrypto.so.3")
	}
	if _, err := os.Stat("/usr/lib/x86_64-linux-gnu/libc.so.6"); err == nil {
		copyFile("/usr/lib/x86_64-linux-gnu/libc.so.6", "lib/libc.so.6")
	}
	return root, versions
}

// TestCatalogDebianBinaries runs Catalog, syft included, over real Debian
// builds of the daemons and libraries found in network equipment, and
// checks every version against the package it came from.
func TestCatalogDebianBinaries(t *testing.T) {
	root, versions := routerRoot(t)
	tr, dir := unpackImage(t, tarDir(t, root))
	cs, err := Catalog(context.Background(), tr, Options{Dir: dir, Now: fixedNow, Parallelism: 2})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d components", len(cs))

	lib := "/usr/lib/x86_64-linux-gnu/"
	cases := []struct {
		pkg, name, foundBy, fspath, evidencePrefix string
	}{
		{"busybox-static", "busybox", "netvet-busybox", "/bin/busybox", "BusyBox v"},
		{"dropbear-bin", "dropbear", "netvet-dropbear", "/usr/sbin/dropbear", "SSH-2.0-dropbear_"},
		{"libssl3", "openssl", "netvet-openssl", lib + "libcrypto.so.3", "OpenSSL "},
		{"curl", "curl", "netvet-curl", "/usr/bin/curl", "curl "},
		{"libcurl4", "libcurl", "netvet-curl", lib + "libcurl.so.4.8.0", "libcurl/"},
		{"dnsmasq-base", "dnsmasq", "netvet-dnsmasq", "/usr/sbin/dnsmasq", "dnsmasq-"},
		{"hostapd", "hostapd", "netvet-hostapd", "/usr/sbin/hostapd", "marker \"hostapd v%s\" at 0x"},
		{"wpasupplicant", "wpa_supplicant", "netvet-wpa-supplicant", "/sbin/wpa_supplicant", "wpa_supplicant v"},
		{"lighttpd", "lighttpd", "netvet-lighttpd", "/usr/sbin/lighttpd", "lighttpd/"},
		{"openvpn", "openvpn", "netvet-openvpn", "/usr/sbin/openvpn", "OpenVPN "},
		{"mini-httpd", "mini_httpd", "netvet-mini-httpd", "/usr/sbin/mini_httpd", "mini_httpd/"},
		{"miniupnpd-nftables", "miniupnpd", "netvet-miniupnpd", "/usr/sbin/miniupnpd", ""},
		{"musl", "musl", "netvet-musl", "/lib/x86_64-linux-musl/libc.so", "marker \"musl libc (\""},
		{"samba", "samba", "netvet-samba", "/usr/sbin/smbd", "SAMBA_"},
		{"libmbedcrypto7", "mbedtls", "netvet-mbedtls", lib + "libmbedcrypto.so.2.28.3", "mbed TLS "},
		{"libwolfssl35", "wolfssl", "netvet-wolfssl", lib + "libwolfssl.so.35.3.0", "wolfSSL "},
	}
	for _, c := range cases {
		t.Run(c.pkg, func(t *testing.T) {
			ver, ok := versions[c.pkg]
			if !ok {
				t.Skipf("%s not extracted", c.pkg)
			}
			want := detect.UpstreamVersion(ver)
			var got *firmware.Component
			for _, comp := range findComponents(cs, c.name, c.foundBy) {
				for _, l := range comp.Locations {
					if l.FSPath == c.fspath {
						comp := comp
						got = &comp
					}
				}
			}
			if got == nil {
				t.Fatalf("%s not found in %s\n%s", c.name, c.fspath, dump(findComponents(cs, c.name, "")))
			}
			if got.Version != want {
				t.Errorf("version %q, want %q (package %s %s)", got.Version, want, c.pkg, ver)
			}
			var loc firmware.Location
			for _, l := range got.Locations {
				if l.FSPath == c.fspath {
					loc = l
				}
			}
			if !strings.HasPrefix(loc.Evidence, c.evidencePrefix) || !strings.Contains(loc.Evidence, want) {
				t.Errorf("evidence %q", loc.Evidence)
			}
			// The offset holds the version string.
			data, err := tr.ReadFile(tr.File(loc.Path), 64<<20)
			if err != nil {
				t.Fatal(err)
			}
			if loc.Offset < 0 || loc.Offset >= int64(len(data)) {
				t.Fatalf("offset %d outside the file", loc.Offset)
			}
			at := string(data[loc.Offset:min(int64(len(data)), loc.Offset+200)])
			if !strings.Contains(at, want) {
				t.Errorf("offset 0x%x holds %q, not the version", loc.Offset, at)
			}
			if got.PURL != "pkg:generic/"+c.name+"@"+want {
				t.Errorf("purl %q", got.PURL)
			}
			if wantCPE := detect.PrimaryCPE(c.name, want); wantCPE == "" || len(got.CPEs) == 0 || got.CPEs[0] != wantCPE {
				t.Errorf("CPEs %v, want %q first", got.CPEs, wantCPE)
			}
		})
	}

	t.Run("headers' version quoted by hostapd is not a copy", func(t *testing.T) {
		// hostapd and wpa_supplicant print the OpenSSL version they were
		// compiled against; they link libcrypto dynamically.
		for _, c := range findComponents(cs, "openssl", "") {
			for _, l := range c.Locations {
				if strings.HasSuffix(l.FSPath, "hostapd") || strings.HasSuffix(l.FSPath, "wpa_supplicant") {
					t.Errorf("openssl %s reported in %s", c.Version, l.FSPath)
				}
			}
		}
	})
	t.Run("libssl is not a second copy", func(t *testing.T) {
		for _, c := range findComponents(cs, "openssl", "") {
			for _, l := range c.Locations {
				if strings.Contains(l.FSPath, "libssl") {
					t.Errorf("openssl reported in %s", l.FSPath)
				}
			}
		}
	})
	t.Run("glibc", func(t *testing.T) {
		if _, err := os.Stat(filepath.Join(root, "lib/libc.so.6")); err != nil {
			t.Skip("no host libc.so.6")
		}
		out, err := exec.Command("getconf", "GNU_LIBC_VERSION").Output()
		if err != nil {
			t.Skip("getconf GNU_LIBC_VERSION failed")
		}
		want := strings.TrimPrefix(strings.TrimSpace(string(out)), "glibc ")
		g := findComponents(cs, "glibc", "netvet-glibc")
		if len(g) != 1 || g[0].Version != want {
			t.Errorf("glibc: want %s\n%s", want, dump(g))
		}
	})
	t.Run("static copy merged as a second location", func(t *testing.T) {
		bb := findComponents(cs, "busybox", "netvet-busybox")
		if len(bb) != 1 || len(bb[0].Locations) != 2 || bb[0].Locations[1].FSPath != "/rescue/busybox" {
			t.Errorf("busybox:\n%s", dump(bb))
		}
	})
	t.Run("syft binary classifier deduplicated", func(t *testing.T) {
		// syft's busybox classifier reads the same file; netvet's record,
		// which has the offset, replaces it.
		for _, c := range findComponents(cs, "busybox", "binary-classifier-cataloger") {
			t.Errorf("syft busybox kept: %+v", c)
		}
	})
	t.Run("opkg", func(t *testing.T) {
		checkOpkg(t, cs)
	})
	t.Run("no deb packages from the opkg database", func(t *testing.T) {
		for _, c := range cs {
			if c.Ecosystem == "deb" {
				t.Errorf("syft's deb reading of opkg kept: %+v", c)
			}
		}
	})
	t.Run("os-release through an absolute link", func(t *testing.T) {
		o := findComponents(cs, "openwrt", "netvet-os-release")
		if len(o) != 1 || o[0].Version != "23.05.2" || o[0].EndOfLife != "2025-08-16" ||
			len(o[0].CPEs) != 1 || o[0].CPEs[0] != "cpe:2.3:o:openwrt:openwrt:23.05.2:*:*:*:*:*:*:*" ||
			o[0].Locations[0].FSPath != "/usr/lib/os-release" {
			t.Errorf("openwrt:\n%s", dump(o))
		}
	})
	t.Run("hygiene", func(t *testing.T) {
		fs := Hygiene(cs, fixedNow)
		has := func(rule, title string) bool {
			for _, f := range fs {
				if f.Rule == rule && f.Title == title {
					return true
				}
			}
			return false
		}
		for _, w := range []struct{ rule, title string }{
			{"NV-SBOM-001", "multiple versions of busybox"},  // opkg 1.36.1-1 and the binaries' 1.35.0
			{"NV-SBOM-001", "multiple versions of dropbear"}, // opkg 2022.82-5, binary 2022.83
			{"NV-SBOM-002", "2 copies of openssl"},           // libcrypto.so.3 and the vendor's copy
			{"NV-SBOM-003", "openwrt 23.05.2 is past upstream end of life"},
		} {
			if !has(w.rule, w.title) {
				t.Errorf("no %s %q in\n%v", w.rule, w.title, fs)
			}
		}
		for _, f := range fs {
			if f.Rule == "NV-SBOM-002" && f.Title != "2 copies of openssl" {
				t.Errorf("copies of a program reported: %+v", f)
			}
			if f.Analyzer != AnalyzerName || f.Path == "" || f.Evidence == "" || f.Rationale == "" {
				t.Errorf("incomplete finding %+v", f)
			}
		}
	})
	t.Logf("%s", dump(cs))
}

// checkOpkg checks the components read from testdata/opkg in a tree whose
// os-release is testdata/os-release-openwrt.
func checkOpkg(t *testing.T, cs []firmware.Component) {
	t.Helper()
	q := "?arch=mipsel_24kc&distro=openwrt-23.05.2"
	want := []struct {
		name, version, purl string
		cpes                []string
		locations           int
	}{
		{"busybox", "1.36.1-1", "pkg:opkg/openwrt/busybox@1.36.1-1" + q,
			[]string{"cpe:2.3:a:busybox:busybox:1.36.1:*:*:*:*:*:*:*"}, 2},
		{"dropbear", "2022.82-5", "pkg:opkg/openwrt/dropbear@2022.82-5" + q,
			[]string{"cpe:2.3:a:dropbear_ssh_project:dropbear_ssh:2022.82:*:*:*:*:*:*:*"}, 1},
		{"libopenssl3", "3.0.13-1", "pkg:opkg/openwrt/libopenssl3@3.0.13-1" + q,
			[]string{"cpe:2.3:a:openssl:openssl:3.0.13:*:*:*:*:*:*:*"}, 1},
		{"hostapd-common", "2023-09-08-e5ccbfc6-6", "pkg:opkg/openwrt/hostapd-common@2023-09-08-e5ccbfc6-6" + q, nil, 1},
		{"kernel", "5.15.137-1-7e1b8fc0a5d2f0c4d0b3f5a2e1c9d8b7", "pkg:opkg/openwrt/kernel@5.15.137-1-7e1b8fc0a5d2f0c4d0b3f5a2e1c9d8b7" + q,
			[]string{"cpe:2.3:o:linux:linux_kernel:5.15.137:*:*:*:*:*:*:*"}, 1},
		{"kmod-nf-conntrack", "5.15.137-1", "pkg:opkg/openwrt/kmod-nf-conntrack@5.15.137-1" + q, nil, 1},
		{"uhttpd", "2023-06-25-34a8a74d-2", "pkg:opkg/openwrt/uhttpd@2023-06-25-34a8a74d-2" + q, nil, 1},
	}
	for _, w := range want {
		got := findComponents(cs, w.name, "netvet-opkg")
		if len(got) != 1 {
			t.Errorf("%s: %d components\n%s", w.name, len(got), dump(got))
			continue
		}
		c := got[0]
		if c.Version != w.version || c.PURL != w.purl || !slicesEqual(c.CPEs, w.cpes) || len(c.Locations) != w.locations || c.Ecosystem != "opkg" {
			t.Errorf("%s:\n got %+v\nwant %+v", w.name, c, w)
		}
		for _, l := range c.Locations {
			if !strings.Contains(l.Evidence, "Package: "+w.name) || l.Offset < 0 {
				t.Errorf("%s: location %+v", w.name, l)
			}
		}
	}
	if got := findComponents(cs, "luci-app-firewall", ""); len(got) != 0 {
		t.Errorf("package not installed reported: %v", got)
	}
}

func slicesEqual(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
