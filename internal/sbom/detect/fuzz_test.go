package detect

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"
)

// FuzzScan runs Scan over arbitrary content under arbitrary file names:
// no panic, every hit inside the content, every anchored hit at its
// anchor, and a version only where the content holds it.
func FuzzScan(f *testing.F) {
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
		"\x00license=GPL\x00name=xt_foo\x00vermagic=5.15.137 SMP mod_unload \x00",
	} {
		f.Add([]byte("\x7fELF"+s), "busybox")
		f.Add([]byte("\x00"+s), "zImage")
	}
	f.Add([]byte("\x7fELF\x00vermagic=4.4\x00"), "xt_a.ko")
	f.Add([]byte("\x7fELF"), "libuClibc-0.9.33.2.so")
	buf := make([]byte, BufferSize)
	f.Fuzz(func(t *testing.T, data []byte, name string) {
		for _, inFS := range []bool{true, false} {
			res, err := Scan(context.Background(), bytes.NewReader(data), File{Name: name, FSPath: "/x/" + name, InFS: inFS}, int64(len(data)), buf)
			if err != nil {
				t.Fatal(err)
			}
			for _, h := range res.Hits {
				if h.Offset < -1 || h.Offset >= int64(len(data)) || h.Name == "" || !strings.HasPrefix(h.FoundBy, "netvet-") {
					t.Fatalf("bad hit %+v", h)
				}
				if len(h.Evidence) > maxEvidence+200 {
					t.Fatalf("evidence of %d bytes", len(h.Evidence))
				}
				if h.Offset >= 0 && h.Version != "" && !strings.Contains(string(data[h.Offset:min(int64(len(data)), h.Offset+span)]), h.Version) {
					t.Fatalf("version %q not at offset %d", h.Version, h.Offset)
				}
			}
			if mi := res.Modinfo; mi != nil && !bytes.HasPrefix(data[mi.VermagicOffset:], []byte("vermagic="+mi.Vermagic)) {
				t.Fatalf("bad modinfo %+v", mi)
			}
		}
	})
}

// FuzzScanContent runs the search engine alone over arbitrary content:
// every hit points at its anchor with a version its pattern accepts, and
// every standalone string found is where it is said to be.
func FuzzScanContent(f *testing.F) {
	f.Add([]byte("BusyBox v1.36.1 (x\x00hostapd v%s\x002.10\x00"))
	f.Add([]byte("OpenSSL 1.0.2k  26 Jan 2017\x00built on: x"))
	buf := make([]byte, BufferSize)
	f.Fuzz(func(t *testing.T, data []byte) {
		hits, marks, err := scanContent(context.Background(), bytes.NewReader(data), int64(len(data)), detectors, markers, buf)
		if err != nil && err != ErrTooManyAnchors {
			t.Fatal(err)
		}
		for _, h := range hits {
			if h.offset < 0 || h.offset >= int64(len(data)) || !bytes.HasPrefix(data[h.offset:], h.det.anchor) {
				t.Fatalf("hit %+v not at its anchor", h)
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

// FuzzParseControl reads arbitrary opkg databases.
func FuzzParseControl(f *testing.F) {
	for _, p := range []string{"testdata/opkg/status", "testdata/opkg/busybox.control"} {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("Package: a\r\nVersion: 1:2.3-4\r\n Status: x\n\nPackage:\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		st, _, _ := ParseControl(data)
		if len(st) > maxStanzas {
			t.Fatalf("%d stanzas", len(st))
		}
		for _, s := range st {
			if s.Offset < 0 || s.Offset >= int64(len(data)) || s.Line < 1 {
				t.Fatalf("stanza at %d line %d", s.Offset, s.Line)
			}
			if len(s.Fields) > maxStanzaFields {
				t.Fatalf("%d fields", len(s.Fields))
			}
			for k, v := range s.Fields {
				if len(v) > maxFieldValue || k == "" || strings.ContainsAny(k, " \t\n") {
					t.Fatalf("field %q of %d bytes", k, len(v))
				}
			}
			_ = s.Installed()
			prod := ProductName(s.Get("package"), "opkg")
			for _, c := range CPEs(prod, UpstreamVersion(s.Get("version"))) {
				if strings.Count(c, ":") < 12 || strings.ContainsAny(c, "\x00\n ") {
					t.Fatalf("bad CPE %q", c)
				}
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
		mi, ok := ParseModinfo(data)
		if !ok {
			return
		}
		if mi.Vermagic == "" || mi.VermagicOffset < 0 || !bytes.HasPrefix(data[mi.VermagicOffset:], []byte("vermagic="+mi.Vermagic)) {
			t.Fatalf("bad vermagic %+v", mi)
		}
		if mi.Version != "" && !bytes.HasPrefix(data[mi.VersionOffset:], []byte("version="+mi.Version)) {
			t.Fatalf("bad version %+v", mi)
		}
		_ = KernelRelease(mi.Vermagic)
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
		fields, offsets := ParseOSRelease(data)
		for k := range fields {
			if o := offsets[k]; o < 0 || o >= int64(len(data)) {
				t.Fatalf("%s at %d", k, o)
			}
		}
		o := &OSRelease{Fields: fields, Offsets: offsets}
		if q := o.Distro(); strings.ContainsAny(q, "/?#&= ") {
			t.Fatalf("unsafe distro %q", q)
		}
		if id := o.ID(); strings.ContainsAny(id, "/?#&= ") {
			t.Fatalf("unsafe id %q", id)
		}
	})
}

// FuzzVersions checks the version helpers on arbitrary strings.
func FuzzVersions(f *testing.F) {
	for _, p := range [][2]string{{"1.0.2k", "1.0.2"}, {"1:1.35.0-4+deb12u1", "2023-09-08-e5ccbfc6-6"}, {"4.14.180", "4.9"}, {"", "x"}} {
		f.Add(p[0], p[1])
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		if c1, c2 := CompareVersions(a, b), CompareVersions(b, a); c1 != -c2 {
			t.Fatalf("compare(%q,%q)=%d but compare(%q,%q)=%d", a, b, c1, b, a, c2)
		}
		if CompareVersions(a, a) != 0 {
			t.Fatalf("compare(%q,%q) != 0", a, a)
		}
		up := UpstreamVersion(a)
		if len(up) > MaxVersionLen || (up != "" && !isDigit(up[0])) {
			t.Fatalf("upstream(%q) = %q", a, up)
		}
		for _, p := range []string{"openssl", "linux-kernel", "openvpn", "openwrt"} {
			if r, ok := EndOfLife(p, a); ok && (r.Date == "" || r.Branch == "") {
				t.Fatalf("endOfLife(%s, %q) = %+v", p, a, r)
			}
		}
		for n := 1; n <= 3; n++ {
			_ = branchOf(a, n)
		}
		if c := PrimaryCPE("openssl", up); up != "" && !strings.HasPrefix(c, "cpe:2.3:a:openssl:openssl:") {
			t.Fatalf("CPE %q for %q", c, up)
		}
	})
}
