package sbom

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/netvet/netvet/internal/firmware"
	"github.com/netvet/netvet/internal/firmware/fwtest"
	"github.com/netvet/netvet/internal/sbom/detect"
)

// elf returns content that starts like an ELF file and holds the given
// strings, each NUL-terminated, between filler bytes.
func elf(strs ...string) string {
	var b bytes.Buffer
	b.WriteString("\x7fELF\x01\x01\x01\x00")
	b.Write(bytes.Repeat([]byte{0x90}, 100))
	for _, s := range strs {
		b.WriteByte(0)
		b.WriteString(s)
		b.WriteByte(0)
		b.Write(bytes.Repeat([]byte{0x41}, 37))
	}
	return b.String()
}

// catalogFS runs Catalog without syft over a test tree.
func catalogFS(t *testing.T, entries ...fwtest.FSEntry) ([]firmware.Component, *firmware.Tree) {
	t.Helper()
	tr := fwtest.FS(t, entries...)
	cs, err := Catalog(context.Background(), tr, Options{NoSyft: true, Now: fixedNow, Parallelism: 2})
	if err != nil {
		t.Fatal(err)
	}
	return cs, tr
}

func TestDetectors(t *testing.T) {
	cases := []struct {
		name    string
		path    string
		content string
		comp    string // component expected, "" for none
		version string
		foundBy string
	}{
		{"busybox openwrt", "/bin/busybox", elf("BusyBox v1.36.1 (2023-11-14 10:00:00 UTC) multi-call binary."), "busybox", "1.36.1", "netvet-busybox"},
		{"busybox old", "/bin/busybox", elf("BusyBox v1.01 (2005.04.04-14:34+0000) multi-call binary"), "busybox", "1.01", "netvet-busybox"},
		{"busybox git", "/bin/busybox", elf("BusyBox v1.37.0.git (2024-01-01 00:00:00 UTC)"), "busybox", "1.37.0", "netvet-busybox"},
		{"busybox format only", "/bin/busybox", elf("BusyBox v%s (%s)"), "", "", ""},
		{"dropbear", "/usr/sbin/dropbear", elf("SSH-2.0-dropbear_2020.81\r\n"), "dropbear", "2020.81", "netvet-dropbear"},
		{"dropbear old", "/usr/sbin/dropbear", elf("SSH-2.0-dropbear_0.52"), "dropbear", "0.52", "netvet-dropbear"},
		{"openssl 1.0.2", "/usr/lib/libcrypto.so.1.0.0", elf("OpenSSL 1.0.2k  26 Jan 2017", "built on: reproducible build, date unspecified"), "openssl", "1.0.2k", "netvet-openssl"},
		{"openssl fips", "/usr/sbin/vendord", elf("OpenSSL 1.0.2k-fips  26 Jan 2017", "platform: linux-mips32"), "openssl", "1.0.2k", "netvet-openssl"},
		{"openssl 3", "/usr/lib/libcrypto.so.3", elf("OpenSSL 3.0.13 30 Jan 2024", "built on: Tue Jan 30 2024"), "openssl", "3.0.13", "netvet-openssl"},
		{"openssl headers only", "/usr/sbin/hostapd2", elf("OpenSSL 3.0.13 30 Jan 2024"), "", "", ""},
		{"openssl in libssl", "/usr/lib/libssl.so.1.0.0", elf("TLSv1 part of OpenSSL 1.0.2k  26 Jan 2017", "OpenSSL 1.0.2k  26 Jan 2017", "built on: x"), "", "", ""},
		{"openssl no date", "/usr/bin/app", elf("OpenSSL 3.0 or later is required", "built on: x"), "", "", ""},
		{"libressl", "/usr/lib/libcrypto.so.50", elf("LibreSSL 3.8.2"), "libressl", "3.8.2", "netvet-libressl"},
		{"wolfssl", "/usr/lib/libwolfssl.so.5", elf("wolfSSL 5.6.4"), "wolfssl", "5.6.4", "netvet-wolfssl"},
		{"mbedtls 2", "/usr/lib/libmbedcrypto.so.7", elf("mbed TLS 2.16.12"), "mbedtls", "2.16.12", "netvet-mbedtls"},
		{"mbedtls 3", "/usr/lib/libmbedcrypto.so.15", elf("Mbed TLS 3.6.0"), "mbedtls", "3.6.0", "netvet-mbedtls"},
		{"libcurl", "/usr/lib/libcurl.so.4", elf("libcurl/7.29.0"), "libcurl", "7.29.0", "netvet-curl"},
		{"curl program", "/usr/bin/curl", elf("curl 8.5.0 (mips-openwrt-linux-gnu) "), "curl", "8.5.0", "netvet-curl"},
		{"curl inside libcurl text", "/usr/bin/x", elf("libcurl 8.5.0 (mips-openwrt-linux-gnu) "), "", "", ""},
		{"dnsmasq", "/usr/sbin/dnsmasq", elf("dnsmasq-2.80"), "dnsmasq", "2.80", "netvet-dnsmasq"},
		{"dnsmasq format", "/usr/sbin/dnsmasq", elf("dnsmasq-%s"), "", "", ""},
		{"hostapd literal", "/usr/sbin/hostapd", elf("hostapd v2.11-devel\nUser space daemon"), "hostapd", "2.11-devel", "netvet-hostapd"},
		{"hostapd marker", "/usr/sbin/hostapd", elf("hostapd v%s", "2.9"), "hostapd", "2.9", "netvet-hostapd"},
		{"hostapd marker ambiguous", "/usr/sbin/hostapd", elf("hostapd v%s", "2.9", "2.10"), "hostapd", "", "netvet-hostapd"},
		{"wpa_supplicant", "/usr/sbin/wpa_supplicant", elf("wpa_supplicant v2.10\nCopyright"), "wpa_supplicant", "2.10", "netvet-wpa-supplicant"},
		{"lighttpd", "/usr/sbin/lighttpd", elf("lighttpd/1.4.59"), "lighttpd", "1.4.59", "netvet-lighttpd"},
		{"boa", "/bin/boa", elf("Server: Boa/0.94.14rc21"), "boa", "0.94.14rc21", "netvet-boa"},
		{"goahead", "/bin/webs", elf("GoAhead-Webs/2.5.0"), "goahead", "2.5.0", "netvet-goahead"},
		{"goahead 3", "/bin/goahead", elf("GoAhead/3.6.5"), "goahead", "3.6.5", "netvet-goahead"},
		{"mini_httpd", "/usr/sbin/mini_httpd", elf("mini_httpd/1.19 19dec2003"), "mini_httpd", "1.19", "netvet-mini-httpd"},
		{"thttpd", "/usr/sbin/thttpd", elf("thttpd/2.29 23May2018"), "thttpd", "2.29", "netvet-thttpd"},
		{"miniupnpd header", "/usr/sbin/miniupnpd", elf("OpenWRT/%s UPnP/1.1 MiniUPnPd/2.3.3"), "miniupnpd", "2.3.3", "netvet-miniupnpd"},
		{"miniupnpd banner", "/usr/sbin/miniupnpd", elf("miniupnpd 1.9 Aug  3 2015"), "miniupnpd", "1.9", "netvet-miniupnpd"},
		{"openvpn", "/usr/sbin/openvpn", elf("OpenVPN 2.4.7 mips-openwrt-linux-gnu [SSL (OpenSSL)] [LZO]"), "openvpn", "2.4.7", "netvet-openvpn"},
		{"openvpn prose", "/usr/sbin/openvpn", elf("removed in OpenVPN 2.7. Use --x"), "", "", ""},
		{"samba in smbd", "/usr/sbin/smbd", elf("SAMBA_4.11.16"), "samba", "4.11.16", "netvet-samba"},
		{"samba tag in a client", "/usr/bin/smbclient", elf("SAMBA_4.11.16"), "", "", ""},
		{"glibc", "/lib/libc.so.6", elf("GNU C Library (GNU libc) stable release version 2.31."), "glibc", "2.31", "netvet-glibc"},
		{"kernel banner in ELF vmlinux", "/boot/vmlinux", elf("Linux version 5.10.176 (builder@buildhost) (mipsel-openwrt-linux-musl-gcc (OpenWrt GCC 12.3.0 r23630-842932a63d) 12.3.0, GNU ld (GNU Binutils) 2.40.0) #0 SMP Sun Nov 12 00:00:00 2023"), "linux-kernel", "5.10.176", "netvet-kernel"},
		{"kernel banner in a blob", "/boot/zImage", "\x00\x00Linux version 4.4.60 (root@vendor) (gcc version 4.6.3 (Buildroot 2012.11.1) ) #1 PREEMPT\n\x00", "linux-kernel", "4.4.60", "netvet-kernel"},
		{"kernel format string", "/sbin/uname", elf("Linux version %s (%s)"), "", "", ""},
		{"u-boot", "/boot/u-boot.bin", "\x00U-Boot 2016.03-00123-gabcdef (Mar 01 2026 - 10:00:00 +0000)\x00", "u-boot", "2016.03", "netvet-u-boot"},
		{"text file not read", "/etc/banner", "BusyBox v1.36.1 (2023-11-14 10:00:00 UTC) built-in shell (ash)\n", "", "", ""},
		{"uclibc by name", "/lib/libuClibc-0.9.33.2.so", elf(), "uclibc", "0.9.33.2", "netvet-libc-name"},
		{"uclibc-ng by name", "/lib/ld-uClibc-1.0.45.so", elf(), "uclibc-ng", "1.0.45", "netvet-libc-name"},
		{"uclibc loader", "/lib/ld-uClibc.so.0", elf(), "uclibc", "", "netvet-libc-name"},
		{"musl loader by name", "/lib/ld-musl-mipsel-sf.so.1", elf(), "musl", "", "netvet-libc-name"},
		{"musl marker", "/lib/ld-musl-mipsel-sf.so.1", elf("musl libc (mipsel)", "1.2.4"), "musl", "1.2.4", "netvet-musl"},
		{"uhttpd", "/usr/sbin/uhttpd", elf("Usage: %s -p [addr:]port -h docroot"), "uhttpd", "", "netvet-uhttpd"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cs, tr := catalogFS(t, fwtest.FileEntry(c.path, c.content, 0o755))
			if c.comp == "" {
				if len(cs) != 0 {
					t.Fatalf("want nothing, got\n%s", dump(cs))
				}
				return
			}
			if len(cs) != 1 {
				t.Fatalf("want one %s, got\n%s", c.comp, dump(cs))
			}
			got := cs[0]
			if got.Name != c.comp || got.Version != c.version || got.FoundBy != c.foundBy || len(got.Locations) != 1 {
				t.Fatalf("got %+v", got)
			}
			l := got.Locations[0]
			if l.FSPath != c.path || l.Path != fwtest.TreeImage+"/rootfs"+c.path {
				t.Errorf("location %+v", l)
			}
			if l.Offset >= 0 {
				data, err := tr.ReadFile(tr.File(l.Path), 1<<20)
				if err != nil {
					t.Fatal(err)
				}
				// The offset points at the start of the evidence text, or
				// at the version string for marker finds.
				at := string(data[l.Offset:])
				if !strings.HasPrefix(at, strings.SplitN(l.Evidence, "\x00", 2)[0]) && !strings.HasPrefix(at, c.version) {
					t.Errorf("offset %d holds %q, evidence %q", l.Offset, at[:min(40, len(at))], l.Evidence)
				}
			}
			if c.version != "" && got.PURL != "pkg:generic/"+c.comp+"@"+c.version {
				t.Errorf("purl %q", got.PURL)
			}
			if want := detect.CPEs(c.comp, detect.UpstreamVersion(c.version)); !slicesEqual(got.CPEs, want) {
				t.Errorf("cpes %v, want %v", got.CPEs, want)
			}
			if c.version == "" && (got.PURL != "" || len(got.CPEs) != 0) {
				t.Errorf("a component without version has purl %q cpes %v", got.PURL, got.CPEs)
			}
		})
	}
}

// MaxScanBytes bounds the bytes read from one file.
func TestScanLimit(t *testing.T) {
	const mib = 1 << 20
	content := make([]byte, 2*mib)
	copy(content, "\x7fELF")
	copy(content[mib+100:], "SSH-2.0-dropbear_2022.83\x00")
	tr := fwtest.FS(t, fwtest.FileEntry("/usr/sbin/dropbear", string(content), 0o755))
	cs, err := Catalog(context.Background(), tr, Options{NoSyft: true, MaxScanBytes: mib})
	if err != nil {
		t.Fatal(err)
	}
	if len(cs) != 0 {
		t.Errorf("found past the limit:\n%s", dump(cs))
	}
	cs, err = Catalog(context.Background(), tr, Options{NoSyft: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(cs) != 1 {
		t.Errorf("not found within the default limit:\n%s", dump(cs))
	}
}

// A file crafted to hold millions of anchors is read no further than
// maxAnchorHits of them, and the run goes on.
func TestScanManyAnchors(t *testing.T) {
	content := "\x7fELF" + strings.Repeat("OpenSSL ", 300_000) + "\x00SSH-2.0-dropbear_2022.83\x00"
	cs, _ := catalogFS(t,
		fwtest.FileEntry("/usr/sbin/evil", content, 0o755),
		fwtest.FileEntry("/usr/sbin/dropbear", elf("SSH-2.0-dropbear_2022.83"), 0o755),
	)
	db := findComponents(cs, "dropbear", "")
	if len(db) != 1 || len(db[0].Locations) != 1 || db[0].Locations[0].FSPath != "/usr/sbin/dropbear" {
		t.Errorf("got\n%s", dump(cs))
	}
}

// Several versions of one library in one file are all reported; the same
// version twice is reported once, at its first offset.
func TestScanSeveralVersionsInOneFile(t *testing.T) {
	cs, _ := catalogFS(t, fwtest.FileEntry("/usr/sbin/vendord", elf(
		"OpenSSL 1.0.2u  20 Dec 2019", "built on: x", "OpenSSL 1.1.1w  11 Sep 2023", "OpenSSL 1.0.2u  20 Dec 2019"), 0o755))
	ssl := findComponents(cs, "openssl", "")
	if len(ssl) != 2 || ssl[0].Version != "1.0.2u" || ssl[1].Version != "1.1.1w" || ssl[0].Locations[0].Offset != 109 {
		t.Errorf("got\n%s", dump(cs))
	}
}

// A kernel module built by gcc with a .modinfo section, as kbuild makes
// it: the module is a component, and its vermagic names a kernel the
// image holds no banner of.
func TestKernelModule(t *testing.T) {
	gcc, err := exec.LookPath("gcc")
	if err != nil {
		t.Skip("gcc not found")
	}
	dir := t.TempDir()
	src := filepath.Join(dir, "xt_vendor.c")
	code := `static const char modinfo[] __attribute__((section(".modinfo"), used, aligned(1))) =
	"version=2.1.0\0license=Proprietary\0description=vendor packet filter\0srcversion=0123456789ABCDEF012345\0depends=\0name=xt_vendor\0vermagic=4.14.180 SMP mod_unload MIPS32_R2 32BIT ";
int init_module(void) { return 0; }
`
	if err := os.WriteFile(src, []byte(code), 0o644); err != nil {
		t.Fatal(err)
	}
	obj := filepath.Join(dir, "xt_vendor.ko")
	if out, err := exec.Command(gcc, "-c", "-O2", "-o", obj, src).CombinedOutput(); err != nil {
		t.Fatalf("gcc: %v\n%s", err, out)
	}
	ko, err := os.ReadFile(obj)
	if err != nil {
		t.Fatal(err)
	}
	cs, tr := catalogFS(t,
		fwtest.FileEntry("/lib/modules/4.14.180/xt_vendor.ko", string(ko), 0o644),
		fwtest.FileEntry("/lib/modules/4.14.180/other.ko", string(ko), 0o644),
	)
	mods := findComponents(cs, "xt_vendor", "netvet-kmod")
	if len(mods) != 1 || mods[0].Version != "2.1.0" || mods[0].Ecosystem != "linux-kernel-module" ||
		len(mods[0].Licenses) != 1 || mods[0].Licenses[0] != "Proprietary" || len(mods[0].Locations) != 2 || len(mods[0].CPEs) != 0 {
		t.Fatalf("module:\n%s", dump(cs))
	}
	l := mods[0].Locations[0]
	data, _ := tr.ReadFile(tr.File(l.Path), 1<<20)
	if !strings.HasPrefix(string(data[l.Offset:]), "version=2.1.0\x00") {
		t.Errorf("offset %d does not hold version=", l.Offset)
	}
	k := findComponents(cs, "linux-kernel", "netvet-kmod-vermagic")
	if len(k) != 1 || k[0].Version != "4.14.180" || len(k[0].Locations) != 2 || k[0].EndOfLife != "2024-01-10" ||
		!strings.Contains(k[0].Locations[0].Evidence, "vermagic=4.14.180 SMP") || !strings.Contains(k[0].Locations[0].Evidence, "2 modules") {
		t.Errorf("kernel from vermagic:\n%s", dump(k))
	}

	// With the kernel's banner in the image, the modules add no kernel.
	cs, _ = catalogFS(t,
		fwtest.FileEntry("/lib/modules/4.14.180/xt_vendor.ko", string(ko), 0o644),
		fwtest.FileEntry("/boot/vmlinux", elf("Linux version 4.14.180 (b@h) (gcc) #1"), 0o644),
	)
	if k := findComponents(cs, "linux-kernel", ""); len(k) != 1 || k[0].FoundBy != "netvet-kernel" {
		t.Errorf("kernels:\n%s", dump(k))
	}
}

func TestCatalogCancelled(t *testing.T) {
	tr := fwtest.FS(t, fwtest.FileEntry("/bin/busybox", elf("BusyBox v1.36.1 ("), 0o755))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if cs, err := Catalog(ctx, tr, Options{NoSyft: true}); err == nil || cs != nil {
		t.Errorf("cancelled run: %v, %v", cs, err)
	}
}
