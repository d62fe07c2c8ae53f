package detect

import (
	"strings"
)

// cpeName is the part, vendor and product of a CPE as the NVD dictionary
// spells them.
type cpeName struct{ part, vendor, product string }

// product is what netvet knows about a component it detects by name: its
// CycloneDX type and the NVD names its vulnerabilities are filed under.
type product struct {
	typ  string
	cpes []cpeName
}

// products maps canonical component names to their CPE names. The vendor
// and product fields are those of the NVD CPE dictionary; a component with
// no entry (or an empty list) gets no CPE rather than a guessed one.
var products = map[string]product{
	"busybox":        {"application", []cpeName{{"a", "busybox", "busybox"}}},
	"dropbear":       {"application", []cpeName{{"a", "dropbear_ssh_project", "dropbear_ssh"}}},
	"openssl":        {"library", []cpeName{{"a", "openssl", "openssl"}}},
	"libressl":       {"library", []cpeName{{"a", "openbsd", "libressl"}}},
	"wolfssl":        {"library", []cpeName{{"a", "wolfssl", "wolfssl"}}},
	"mbedtls":        {"library", []cpeName{{"a", "arm", "mbed_tls"}}},
	"curl":           {"application", []cpeName{{"a", "haxx", "curl"}}},
	"libcurl":        {"library", []cpeName{{"a", "haxx", "libcurl"}, {"a", "haxx", "curl"}}},
	"dnsmasq":        {"application", []cpeName{{"a", "thekelleys", "dnsmasq"}}},
	"hostapd":        {"application", []cpeName{{"a", "w1.fi", "hostapd"}}},
	"wpa_supplicant": {"application", []cpeName{{"a", "w1.fi", "wpa_supplicant"}}},
	"wpad":           {"application", []cpeName{{"a", "w1.fi", "hostapd"}, {"a", "w1.fi", "wpa_supplicant"}}},
	// NVD files uhttpd's vulnerabilities under the OpenWrt operating
	// system (cpe:2.3:o:openwrt:openwrt), not under a product of its own.
	"uhttpd":       {"application", nil},
	"lighttpd":     {"application", []cpeName{{"a", "lighttpd", "lighttpd"}}},
	"boa":          {"application", []cpeName{{"a", "boa", "boa"}}},
	"goahead":      {"application", []cpeName{{"a", "embedthis", "goahead"}}},
	"mini_httpd":   {"application", []cpeName{{"a", "acme", "mini_httpd"}}},
	"thttpd":       {"application", []cpeName{{"a", "acme", "thttpd"}}},
	"miniupnpd":    {"application", []cpeName{{"a", "miniupnp_project", "miniupnpd"}}},
	"openvpn":      {"application", []cpeName{{"a", "openvpn", "openvpn"}}},
	"samba":        {"application", []cpeName{{"a", "samba", "samba"}}},
	"openssh":      {"application", []cpeName{{"a", "openbsd", "openssh"}}},
	"zlib":         {"library", []cpeName{{"a", "zlib", "zlib"}}},
	"glibc":        {"library", []cpeName{{"a", "gnu", "glibc"}}},
	"uclibc":       {"library", []cpeName{{"a", "uclibc", "uclibc"}}},
	"uclibc-ng":    {"library", []cpeName{{"a", "uclibc-ng_project", "uclibc-ng"}}},
	"musl":         {"library", []cpeName{{"a", "musl-libc", "musl"}}},
	"linux-kernel": {"operating-system", []cpeName{{"o", "linux", "linux_kernel"}}},
	"u-boot":       {"firmware", []cpeName{{"a", "denx", "u-boot"}}},
	"openwrt":      {"operating-system", []cpeName{{"o", "openwrt", "openwrt"}}},
}

// opkgProducts maps OpenWrt and Yocto package names to the canonical
// component they ship. Names not listed keep their own name and get no
// CPE. Kernel modules (kmod-*) deliberately map to nothing: their version
// is the kernel's, and every kernel CVE would be reported once per module.
var opkgProducts = map[string]string{
	"busybox": "busybox", "busybox-selinux": "busybox",
	"dropbear":        "dropbear",
	"openssl-util":    "openssl",
	"libopenssl":      "openssl",
	"libopenssl1.0.0": "openssl", "libopenssl1.1": "openssl", "libopenssl3": "openssl",
	"libopenssl-conf": "openssl", "libopenssl-legacy": "openssl", "libopenssl-afalg": "openssl",
	"libopenssl-devcrypto": "openssl", "libopenssl-padlock": "openssl",
	"libssl": "openssl", "libcrypto": "openssl", "openssl": "openssl",
	"libustream-openssl": "", "libustream-wolfssl": "", "libustream-mbedtls": "",
	"libwolfssl": "wolfssl", "wolfssl": "wolfssl",
	"libmbedtls": "mbedtls", "mbedtls": "mbedtls", "libmbedtls12": "mbedtls", "libmbedtls21": "mbedtls",
	"curl": "curl", "libcurl": "libcurl", "libcurl4": "libcurl",
	"dnsmasq": "dnsmasq", "dnsmasq-full": "dnsmasq", "dnsmasq-dhcpv6": "dnsmasq",
	"hostapd": "hostapd", "hostapd-basic": "hostapd", "hostapd-mini": "hostapd",
	"hostapd-openssl": "hostapd", "hostapd-wolfssl": "hostapd", "hostapd-mbedtls": "hostapd",
	"hostapd-basic-openssl": "hostapd", "hostapd-basic-wolfssl": "hostapd", "hostapd-basic-mbedtls": "hostapd",
	"hostapd-common": "hostapd", "hostapd-utils": "hostapd",
	"wpad": "wpad", "wpad-basic": "wpad", "wpad-mini": "wpad", "wpad-openssl": "wpad",
	"wpad-wolfssl": "wpad", "wpad-mbedtls": "wpad", "wpad-basic-openssl": "wpad",
	"wpad-basic-wolfssl": "wpad", "wpad-basic-mbedtls": "wpad", "wpad-mesh-openssl": "wpad",
	"wpad-mesh-wolfssl": "wpad", "wpad-mesh-mbedtls": "wpad",
	"wpa-supplicant": "wpa_supplicant", "wpa-supplicant-mini": "wpa_supplicant",
	"wpa-supplicant-openssl": "wpa_supplicant", "wpa-supplicant-wolfssl": "wpa_supplicant",
	"wpa-supplicant-mbedtls": "wpa_supplicant", "wpa-supplicant-basic": "wpa_supplicant",
	"wpa-cli":   "wpa_supplicant",
	"uhttpd":    "uhttpd",
	"lighttpd":  "lighttpd",
	"miniupnpd": "miniupnpd", "miniupnpd-nftables": "miniupnpd", "miniupnpd-iptables": "miniupnpd",
	"openvpn-openssl": "openvpn", "openvpn-mbedtls": "openvpn", "openvpn-wolfssl": "openvpn",
	"openvpn-nossl": "openvpn", "openvpn": "openvpn",
	"samba4-server": "samba", "samba4-libs": "samba", "samba4-client": "samba",
	"samba36-server": "samba", "samba": "samba",
	"openssh-server": "openssh", "openssh-client": "openssh", "openssh-sftp-server": "openssh",
	"zlib": "zlib", "libz": "zlib",
	"kernel":     "linux-kernel",
	"mini_httpd": "mini_httpd", "mini-httpd": "mini_httpd",
	"uclibc": "uclibc", "uclibc-ng": "uclibc-ng",
}

// debProducts maps Debian binary package names (dpkg databases read by
// syft) to canonical names, so that Hygiene groups them with the binaries
// they contain.
var debProducts = map[string]string{
	"libssl3": "openssl", "libssl1.1": "openssl", "libssl1.0.2": "openssl", "libssl1.0.0": "openssl",
	"openssl": "openssl", "busybox": "busybox", "busybox-static": "busybox",
	"dropbear-bin": "dropbear", "dropbear": "dropbear", "dnsmasq-base": "dnsmasq", "dnsmasq": "dnsmasq",
	"hostapd": "hostapd", "wpasupplicant": "wpa_supplicant", "curl": "curl", "libcurl4": "libcurl",
	"libcurl3-gnutls": "libcurl", "lighttpd": "lighttpd", "openvpn": "openvpn", "samba": "samba",
	"libc6": "glibc", "musl": "musl", "miniupnpd-nftables": "miniupnpd", "miniupnpd-iptables": "miniupnpd",
	"mini-httpd": "mini_httpd", "libwolfssl35": "wolfssl", "libmbedcrypto7": "mbedtls",
}

// ProductName returns the canonical product a component stands for, used
// to group components in Hygiene: the opkg or Debian package name mapped
// to the software it ships, else the component's own name.
func ProductName(name, ecosystem string) string {
	n := strings.ToLower(name)
	switch ecosystem {
	case "opkg":
		if p, ok := opkgProducts[n]; ok && p != "" {
			return p
		}
	case "deb":
		if p, ok := debProducts[n]; ok {
			return p
		}
	case "binary":
		// syft's classifier names match ours, except for these.
		switch n {
		case "linux-kernel", "linux":
			return "linux-kernel"
		}
	}
	return n
}

// CPEs formats the CPEs of a canonical product at a version. An empty
// version gives no CPE: a CPE without a version would match every
// vulnerability of the product.
func CPEs(name, version string) []string {
	if version == "" {
		return nil
	}
	p, ok := products[name]
	if !ok {
		return nil
	}
	out := make([]string, 0, len(p.cpes))
	for _, c := range p.cpes {
		out = append(out, formatCPE(c, version))
	}
	return out
}

// formatCPE binds a CPE 2.3 formatted string (NISTIR 7695, 6.2): letters,
// digits, "_", "-" and "." stand as they are, a space becomes "_", and any
// other printable character is quoted with a backslash. Unset attributes
// are "*".
func formatCPE(c cpeName, version string) string {
	var sb strings.Builder
	sb.WriteString("cpe:2.3:")
	for i, v := range []string{c.part, c.vendor, c.product, version} {
		if i > 0 {
			sb.WriteByte(':')
		}
		sb.WriteString(cpeValue(v))
	}
	sb.WriteString(":*:*:*:*:*:*:*")
	return sb.String()
}

func cpeValue(v string) string {
	if v == "" {
		return "*"
	}
	var sb strings.Builder
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch {
		case c == ' ':
			sb.WriteByte('_')
		case c == '_' || c == '-' || c == '.' || isDigit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'):
			sb.WriteByte(c)
		case c > 0x20 && c < 0x7f:
			sb.WriteByte('\\')
			sb.WriteByte(c)
		default:
			// not printable ASCII: not part of a CPE name
		}
	}
	return sb.String()
}

// ProductType returns the CycloneDX type of a canonical product and
// whether netvet knows the product.
func ProductType(name string) (string, bool) {
	p, ok := products[name]
	return p.typ, ok
}

// PrimaryCPE returns the first CPE of a known product at a version, ""
// when there is none.
func PrimaryCPE(name, version string) string {
	if cs := CPEs(name, version); len(cs) > 0 {
		return cs[0]
	}
	return ""
}

// ComponentType returns the CycloneDX type of a canonical product.
func ComponentType(name string) string {
	if p, ok := products[name]; ok {
		return p.typ
	}
	return "application"
}
