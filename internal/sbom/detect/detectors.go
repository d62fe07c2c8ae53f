package detect

import (
	"regexp"
	"strings"
)

// The detectors. Each pattern was checked against the strings of real
// builds (Debian bookworm packages and OpenWrt images); the comment gives
// an example of the text it matches. Versions are release numbers only:
// a distribution suffix stays in the evidence, not in the version.
var detectors = []*detector{
	// BusyBox v1.36.1 (2023-11-14 10:00:00 UTC) multi-call binary.
	// BusyBox v1.35.0 (Debian 1:1.35.0-4+deb12u1+b1)
	{name: "busybox", foundBy: "netvet-busybox", anchor: []byte("BusyBox v"),
		re: regexp.MustCompile(`^BusyBox v([0-9]+\.[0-9]+(?:\.[0-9]+)?)(?:[.-][A-Za-z0-9._+-]{1,40})? \(`), scope: scopeELF},
	// SSH-2.0-dropbear_2022.83 (the server's identification string)
	{name: "dropbear", foundBy: "netvet-dropbear", anchor: []byte("SSH-2.0-dropbear_"),
		re: regexp.MustCompile(`^SSH-2\.0-dropbear_([0-9]+\.[0-9]+(?:\.[0-9]+)?)`), scope: scopeELF},
	// OpenSSL 1.0.2k  26 Jan 2017 / OpenSSL 3.0.22 25 Aug 2026 /
	// OpenSSL 1.0.2k-fips  26 Jan 2017: OPENSSL_VERSION_TEXT, in libcrypto
	// and in every program that links it statically. Programs that only
	// print the version of the headers they were built with (hostapd,
	// wpa_supplicant) carry the text too, but not the build information
	// OpenSSL_version() returns beside it ("built on: ", "platform: "),
	// which a real copy of libcrypto has. libssl is skipped: it ships
	// with a libcrypto that carries the same version, and would count as
	// a second copy.
	{name: "openssl", foundBy: "netvet-openssl", anchor: []byte("OpenSSL "),
		re:      regexp.MustCompile(`^OpenSSL ([0-9]+\.[0-9]+\.[0-9]+[a-z]{0,2})(?:-[A-Za-z0-9]{1,16})? {1,2}[0-9]{1,2} [A-Z][a-z]{2} [0-9]{4}`),
		scope:   scopeELF,
		skip:    func(base string) bool { return strings.HasPrefix(base, "libssl") },
		confirm: [][]byte{[]byte("built on: "), []byte("platform: ")}},
	// LibreSSL 3.8.2
	{name: "libressl", foundBy: "netvet-libressl", anchor: []byte("LibreSSL "),
		re: regexp.MustCompile(`^LibreSSL ([0-9]+\.[0-9]+\.[0-9]+)\x00`), scope: scopeELF},
	// wolfSSL 5.5.4
	{name: "wolfssl", foundBy: "netvet-wolfssl", anchor: []byte("wolfSSL "),
		re: regexp.MustCompile(`^wolfSSL ([0-9]+\.[0-9]+\.[0-9]+)\x00`), scope: scopeELF},
	// mbed TLS 2.28.3 (2.x) / Mbed TLS 3.6.0 (3.x): MBEDTLS_VERSION_STRING_FULL
	{name: "mbedtls", foundBy: "netvet-mbedtls", anchor: []byte("mbed TLS "),
		re: regexp.MustCompile(`^mbed TLS ([0-9]+\.[0-9]+\.[0-9]+)\x00`), scope: scopeELF},
	{name: "mbedtls", foundBy: "netvet-mbedtls", anchor: []byte("Mbed TLS "),
		re: regexp.MustCompile(`^Mbed TLS ([0-9]+\.[0-9]+\.[0-9]+)\x00`), scope: scopeELF},
	// libcurl/7.88.1 (curl_version(), in libcurl and static copies)
	{name: "libcurl", foundBy: "netvet-curl", anchor: []byte("libcurl/"),
		re: regexp.MustCompile(`^libcurl/([0-9]+\.[0-9]+\.[0-9]+)`), scope: scopeELF},
	// curl 7.88.1 (x86_64-pc-linux-gnu) %s  (the curl program's --version)
	{name: "curl", foundBy: "netvet-curl", anchor: []byte("curl "),
		re:    regexp.MustCompile(`^curl ([0-9]+\.[0-9]+\.[0-9]+)(?:-DEV)? \([A-Za-z0-9_.-]{3,64}\) `),
		scope: scopeELF, reject: notAfterWordChar},
	// dnsmasq-2.90 (the version.bind answer)
	{name: "dnsmasq", foundBy: "netvet-dnsmasq", anchor: []byte("dnsmasq-"),
		re: regexp.MustCompile(`^dnsmasq-([0-9]+\.[0-9]+(?:\.[0-9]+)?(?:rc[0-9]+|test[0-9]+)?)\x00`), scope: scopeELF},
	// hostapd v2.10 (OpenWrt builds keep the literal; Debian's uses a
	// format, see markers)
	{name: "hostapd", foundBy: "netvet-hostapd", anchor: []byte("hostapd v"),
		re: regexp.MustCompile(`^hostapd v([0-9]+\.[0-9]+(?:\.[0-9]+)?(?:-devel|-rc[0-9]*)?)[\x00\n ]`), scope: scopeELF},
	// wpa_supplicant v2.10
	{name: "wpa_supplicant", foundBy: "netvet-wpa-supplicant", anchor: []byte("wpa_supplicant v"),
		re: regexp.MustCompile(`^wpa_supplicant v([0-9]+\.[0-9]+(?:\.[0-9]+)?(?:-devel|-rc[0-9]*)?)[\x00\n ]`), scope: scopeELF},
	// lighttpd/1.4.69
	{name: "lighttpd", foundBy: "netvet-lighttpd", anchor: []byte("lighttpd/"),
		re: regexp.MustCompile(`^lighttpd/([0-9]+\.[0-9]+\.[0-9]+)`), scope: scopeELF},
	// Boa/0.94.14rc21 (the Server header)
	{name: "boa", foundBy: "netvet-boa", anchor: []byte("Boa/"),
		re: regexp.MustCompile(`^Boa/([0-9]+\.[0-9]+\.[0-9]+(?:rc[0-9]+)?)`), scope: scopeELF, reject: notAfterWordChar},
	// GoAhead/3.6.5, GoAhead-Webs/2.5.0, GoAhead-http/5.1.1
	{name: "goahead", foundBy: "netvet-goahead", anchor: []byte("GoAhead"),
		re: regexp.MustCompile(`^GoAhead(?:-Webs|-http)?/([0-9]+\.[0-9]+\.[0-9]+)`), scope: scopeELF},
	// mini_httpd/1.30 26Oct2018
	{name: "mini_httpd", foundBy: "netvet-mini-httpd", anchor: []byte("mini_httpd/"),
		re: regexp.MustCompile(`^mini_httpd/([0-9]+\.[0-9]+[a-z]?)`), scope: scopeELF},
	// thttpd/2.29 23May2018
	{name: "thttpd", foundBy: "netvet-thttpd", anchor: []byte("thttpd/"),
		re: regexp.MustCompile(`^thttpd/([0-9]+\.[0-9]+[a-z]?)`), scope: scopeELF, reject: notAfterWordChar},
	// Server: Debian/%s UPnP/1.1 MiniUPnPd/2.3.1
	{name: "miniupnpd", foundBy: "netvet-miniupnpd", anchor: []byte("MiniUPnPd/"),
		re: regexp.MustCompile(`^MiniUPnPd/([0-9]+\.[0-9]+(?:\.[0-9]+)?)`), scope: scopeELF},
	// miniupnpd 2.3.1 Dec 21 2022
	{name: "miniupnpd", foundBy: "netvet-miniupnpd", anchor: []byte("miniupnpd "),
		re:    regexp.MustCompile(`^miniupnpd ([0-9]+\.[0-9]+(?:\.[0-9]+)?) [A-Z][a-z]{2} [ 0-9][0-9] [0-9]{4}`),
		scope: scopeELF},
	// OpenVPN 2.6.14 x86_64-pc-linux-gnu [SSL (OpenSSL)] [LZO] ...
	{name: "openvpn", foundBy: "netvet-openvpn", anchor: []byte("OpenVPN "),
		re: regexp.MustCompile(`^OpenVPN ([0-9]+\.[0-9]+\.[0-9]+)(?:_[A-Za-z0-9]+)? [A-Za-z0-9_]+-[A-Za-z0-9_.-]+ \[`), scope: scopeELF},
	// SAMBA_4.17.12_DEBIAN_SAMBA4: the version tag of Samba's private
	// libraries, in the server programs that link them. Only the servers
	// are read: every Samba client tool carries the same tag.
	{name: "samba", foundBy: "netvet-samba", anchor: []byte("SAMBA_"),
		re: regexp.MustCompile(`^SAMBA_([0-9]+\.[0-9]+\.[0-9]+)(?:_|\x00)`), scope: scopeELF,
		skip: func(base string) bool { return base != "smbd" && base != "nmbd" && base != "samba" }},
	// GNU C Library (Debian GLIBC 2.36-9+deb12u4) stable release version 2.36.
	{name: "glibc", foundBy: "netvet-glibc", anchor: []byte("GNU C Library "),
		re: regexp.MustCompile(`^GNU C Library [^\x00\n]{0,120}?version ([0-9]+\.[0-9]+(?:\.[0-9]+)?)`), scope: scopeELF},
	// Linux version 4.14.180 (builder@host) (gcc version 9.3.0) #1 SMP ...
	{name: "linux-kernel", foundBy: "netvet-kernel", anchor: []byte("Linux version "),
		re:    regexp.MustCompile(`^Linux version ([0-9]+\.[0-9]+(?:\.[0-9]+)?)[^\s\x00]{0,64} \([^\x00\n]{1,200}`),
		scope: scopeELF | scopeBlob},
	// U-Boot 2016.03 (Mar 01 2026 - 10:00:00 +0000)
	{name: "u-boot", foundBy: "netvet-u-boot", anchor: []byte("U-Boot "),
		re:    regexp.MustCompile(`^U-Boot (?:SPL )?([0-9]{4}\.[0-9]{2}(?:\.[0-9]+)?(?:-rc[0-9]+)?)[^\s\x00]{0,64} \([A-Z][a-z]{2} [ 0-9][0-9] [0-9]{4}`),
		scope: scopeELF | scopeBlob},
}

// markers recognise programs whose version is not next to their name.
var markers = []*markerDetector{
	// Debian's hostapd prints "hostapd v%s" with the version stored apart.
	{name: "hostapd", foundBy: "netvet-hostapd", marker: []byte("hostapd v%s"),
		version: regexp.MustCompile(`^2\.[0-9]{1,2}(?:-devel|-rc[0-9]*)?$`)},
	{name: "wpa_supplicant", foundBy: "netvet-wpa-supplicant", marker: []byte("wpa_supplicant v%s"),
		version: regexp.MustCompile(`^2\.[0-9]{1,2}(?:-devel|-rc[0-9]*)?$`)},
	// musl's dynamic loader (which is its libc) prints
	// "musl libc (x86_64)\nVersion %s\n", the version stored apart.
	{name: "musl", foundBy: "netvet-musl", marker: []byte("musl libc ("),
		version: regexp.MustCompile(`^[01]\.[0-9]{1,2}\.[0-9]{1,2}$`)},
}

// nameDetectors recognise libraries by their file names.
var nameDetectors = []*nameDetector{
	// libuClibc-0.9.33.2.so, ld-uClibc-1.0.45.so: uClibc-ng took over the
	// name at 1.0.0.
	{name: "uclibc", foundBy: "netvet-libc-name",
		re:      regexp.MustCompile(`^(?:lib|ld-)uClibc-([0-9]+\.[0-9]+\.[0-9]+(?:\.[0-9]+)?)\.so$`),
		product: uclibcProduct},
	// ld-uClibc.so.0, ld-uClibc.so.1: the loader of either, no version.
	{name: "uclibc", foundBy: "netvet-libc-name", re: regexp.MustCompile(`^ld-uClibc\.so\.[01]$`),
		product: uclibcProduct},
	// ld-musl-mipsel-sf.so.1: musl's loader and libc in one file.
	{name: "musl", foundBy: "netvet-libc-name", re: regexp.MustCompile(`^ld-musl-[a-z0-9_]+(?:-[a-z0-9]+)*\.so\.1$`)},
	// uhttpd, OpenWrt's web server, has no version string at all.
	{name: "uhttpd", foundBy: "netvet-uhttpd", re: regexp.MustCompile(`^uhttpd$`)},
}

func uclibcProduct(version string) string {
	if version != "" && CompareVersions(version, "1") >= 0 {
		return "uclibc-ng"
	}
	return "uclibc"
}

// notAfterWordChar rejects a match glued to a preceding letter, digit or
// underscore ("libcurl/" must not count as "curl/").
func notAfterWordChar(before []byte) bool {
	if len(before) == 0 {
		return false
	}
	c := before[len(before)-1]
	return c == '_' || isDigit(c) || (c|0x20 >= 'a' && c|0x20 <= 'z')
}
