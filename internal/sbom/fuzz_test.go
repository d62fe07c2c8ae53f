package sbom

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"

	"github.com/netvet/netvet/internal/firmware"
)

var fakeFile = firmware.File{Path: "img/rootfs/usr/lib/opkg/status", FSPath: "/usr/lib/opkg/status"}

// FuzzScanContent runs every detector over arbitrary content: no panic,
// and every hit points at its anchor inside the content with a version
// its pattern accepts.
func FuzzScanContent(f *testing.F) {
	for _, s := range []string{
		"BusyBox v1.36.1 (2023-11-14 10:00:00 UTC) multi-call binary.",
		"SSH-2.0-dropbear_2022.83\r\n",
		"OpenSSL 1.0.2k  26 Jan 2017\x00built on: x",
		"Linux version 4.14.180 (builder@vendor-build) (gcc version 9.3.0) #1 SMP",
		"U-Boot 2016.03 (Mar 01 2026 - 10:00:00 +0000)",
		"hostapd v%s\x002.10\x00",
		"musl libc (mips)\x001.2.4\x00",
		"libcurl/7.88.1\x00curl 7.88.1 (x86_64-pc-linux-gnu) %s",
		"dnsmasq-2.90\x00MiniUPnPd/2.3.1\x00miniupnpd 2.3.1 Dec 21 2022\x00",
		"OpenVPN 2.6.14 x86_64-pc-linux-gnu [SSL]\x00SAMBA_4.17.12_X\x00mbed TLS 2.28.3\x00",
		"GNU C Library (GNU libc) stable release version 2.31.\x00wolfSSL 5.5.4\x00LibreSSL 3.8.2\x00",
	} {
		f.Add([]byte(s))
	}
	buf := make([]byte, window+span)
	f.Fuzz(func(t *testing.T, data []byte) {
		hits, marks, err := scanContent(context.Background(), bytes.NewReader(data), int64(len(data)), detectors, markers, buf)
		if err != nil && err != errTooManyAnchors {
			t.Fatal(err)
		}
		for _, h := range hits {
			if h.offset < 0 || h.offset >= int64(len(data)) {
				t.Fatalf("offset %d outside %d bytes", h.offset, len(data))
			}
			if !bytes.HasPrefix(data[h.offset:], h.det.anchor) {
				t.Fatalf("offset %d does not hold anchor %q", h.offset, h.det.anchor)
			}
			if h.version == "" || len(h.text) > maxEvidence || !strings.Contains(string(data[h.offset:]), h.version) {
				t.Fatalf("bad hit %+v", h)
			}
		}
		for _, m := range marks {
			if !bytes.HasPrefix(data[m.offset:], m.det.marker) {
				t.Fatalf("marker offset %d wrong", m.offset)
			}
			got, err := standaloneStrings(context.Background(), bytes.NewReader(data), int64(len(data)), m.det.version, 16, buf)
			if err != nil {
				t.Fatal(err)
			}
			for _, h := range got {
				if !m.det.version.MatchString(h.version) || string(data[h.offset:h.offset+int64(len(h.version))]) != h.version {
					t.Fatalf("bad standalone string %+v", h)
				}
			}
		}
	})
}

// FuzzParseControl reads arbitrary opkg databases and makes components of
// them.
func FuzzParseControl(f *testing.F) {
	for _, p := range []string{"testdata/opkg/status", "testdata/opkg/busybox.control"} {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("Package: a\r\nVersion: 1:2.3-4\r\n Status: x\n\nPackage:\n"))
	osr := &osRelease{fields: map[string]string{"ID": "openwrt", "VERSION_ID": "23.05.2"}}
	f.Fuzz(func(t *testing.T, data []byte) {
		st, _, _ := parseControl(data)
		if len(st) > maxStanzas {
			t.Fatalf("%d stanzas", len(st))
		}
		for _, s := range st {
			if s.offset < 0 || s.offset >= int64(len(data)) || s.line < 1 {
				t.Fatalf("stanza at %d line %d", s.offset, s.line)
			}
			if len(s.fields) > maxStanzaFields {
				t.Fatalf("%d fields", len(s.fields))
			}
			for _, v := range s.fields {
				if len(v) > maxFieldValue {
					t.Fatalf("value of %d bytes", len(v))
				}
			}
			if r, ok := opkgRecord(s, &fakeFile, osr); ok && (r.name == "" || r.version == "" || !strings.HasPrefix(r.purl, "pkg:opkg/openwrt/")) {
				t.Fatalf("bad record %+v", r)
			}
		}
	})
}

// FuzzParseModinfo reads arbitrary bytes as a kernel module.
func FuzzParseModinfo(f *testing.F) {
	f.Add([]byte("\x00license=GPL\x00name=xt_foo\x00vermagic=5.15.137 SMP mod_unload \x00"))
	f.Add([]byte("junk#version=1.2\x00vermagic=4.9.0\x00\x00\x00name=a\x00"))
	f.Add([]byte("\x00vermagic=\x00vermagic=1\x00"))
	f.Fuzz(func(t *testing.T, data []byte) {
		mi, ok := parseModinfo(data)
		if !ok {
			return
		}
		if mi.vermagic == "" || mi.vermagicOffset < 0 || !bytes.HasPrefix(data[mi.vermagicOffset:], []byte("vermagic="+mi.vermagic)) {
			t.Fatalf("bad vermagic %+v", mi)
		}
		if mi.version != "" && !bytes.HasPrefix(data[mi.versionOffset:], []byte("version="+mi.version)) {
			t.Fatalf("bad version %+v", mi)
		}
		_ = kernelRelease(mi.vermagic)
	})
}

// FuzzParseOSRelease reads arbitrary os-release files.
func FuzzParseOSRelease(f *testing.F) {
	b, err := os.ReadFile("testdata/os-release-openwrt")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	f.Add([]byte("ID='a'\nVERSION_ID=\"1\\\"\"\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		fields, offsets := parseOSRelease(data)
		for k := range fields {
			if o := offsets[k]; o < 0 || o >= int64(len(data)) {
				t.Fatalf("%s at %d", k, o)
			}
		}
		o := &osRelease{fields: fields, offsets: offsets}
		q := o.distroQualifier()
		if strings.ContainsAny(q, "/?#&= ") {
			t.Fatalf("unsafe distro %q", q)
		}
		osComponent(o)
	})
}

// FuzzVersions checks the version helpers on arbitrary strings.
func FuzzVersions(f *testing.F) {
	for _, p := range [][2]string{{"1.0.2k", "1.0.2"}, {"1:1.35.0-4+deb12u1", "2023-09-08-e5ccbfc6-6"}, {"4.14.180", "4.9"}, {"", "x"}} {
		f.Add(p[0], p[1])
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		if c1, c2 := compareVersions(a, b), compareVersions(b, a); c1 != -c2 {
			t.Fatalf("compare(%q,%q)=%d but compare(%q,%q)=%d", a, b, c1, b, a, c2)
		}
		if compareVersions(a, a) != 0 {
			t.Fatalf("compare(%q,%q) != 0", a, a)
		}
		up := upstreamVersion(a)
		if len(up) > maxVersionLen || (up != "" && !isDigit(up[0])) {
			t.Fatalf("upstream(%q) = %q", a, up)
		}
		for _, p := range []string{"openssl", "linux-kernel", "openvpn", "openwrt"} {
			if r, ok := endOfLife(p, a); ok && (r.date == "" || r.branch == "") {
				t.Fatalf("endOfLife(%s, %q) = %+v", p, a, r)
			}
		}
		for n := 1; n <= 3; n++ {
			_ = branchOf(a, n)
		}
		_ = cpesFor("openssl", up)
		_ = genericPURL(a, b)
	})
}
