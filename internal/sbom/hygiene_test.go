package sbom

import (
	"strings"
	"testing"
	"time"

	"github.com/netvet/netvet/internal/firmware"
)

func comp(name, version, eco, typ string, paths ...string) firmware.Component {
	c := firmware.Component{Name: name, Version: version, Ecosystem: eco, Type: typ, FoundBy: "test"}
	for i, p := range paths {
		c.Locations = append(c.Locations, firmware.Location{Path: "img/rootfs" + p, FSPath: p, Offset: int64(100 * (i + 1)), Evidence: name + " " + version})
	}
	return c
}

func TestHygiene(t *testing.T) {
	cs := []firmware.Component{
		comp("libopenssl1.0.0", "1.0.2u-1", "opkg", "library", "/usr/lib/opkg/status"),
		comp("openssl", "1.0.2u", "binary", "library", "/usr/lib/libcrypto.so.1.0.0", "/usr/sbin/vendord"),
		comp("openssl", "1.1.1w", "binary", "library", "/opt/app/libcrypto.so.1.1"),
		comp("busybox", "1.36.1-1", "opkg", "application", "/usr/lib/opkg/status"),
		comp("busybox", "1.36.1", "binary", "application", "/bin/busybox", "/rescue/busybox"),
		comp("dropbear", "2022.83", "binary", "application", "/usr/sbin/dropbear", "/usr/bin/dbclient"),
		comp("linux-kernel", "4.14.180", "linux-kernel", "operating-system", "/kernel"),
		comp("kernel", "4.14.180-1-abcdef", "opkg", "operating-system", "/usr/lib/opkg/status"),
		comp("nf_conntrack", "", "linux-kernel-module", "library", "/lib/modules/a.ko"),
		comp("nf_conntrack", "", "linux-kernel-module", "library", "/lib/modules/b.ko"),
		comp("libssl3", "3.0.11-1~deb12u2", "deb", "library", "/var/lib/dpkg/status"),
		comp("musl", "", "binary", "library", "/lib/ld-musl-mipsel-sf.so.1"),
	}
	now := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	fs := Hygiene(cs, now)
	byTitle := map[string]firmware.Finding{}
	for _, f := range fs {
		byTitle[f.Title] = f
		if f.Analyzer != AnalyzerName || f.Rationale == "" || f.Path == "" {
			t.Errorf("incomplete: %+v", f)
		}
	}
	want := []struct {
		title    string
		rule     string
		severity firmware.Severity
		path     string
		offset   int64
		contains []string
	}{
		{"multiple versions of openssl", "NV-SBOM-001", firmware.SeverityMedium, "img/rootfs/usr/lib/libcrypto.so.1.0.0", 100,
			[]string{"3 versions of openssl", "1.0.2u in ", "/usr/lib/opkg/status (opkg)", "/usr/lib/libcrypto.so.1.0.0 (binary, 2 files)", "1.1.1w in /opt/app/libcrypto.so.1.1 (binary)", "3.0.11 in /var/lib/dpkg/status (deb)"}},
		{"3 copies of openssl", "NV-SBOM-002", firmware.SeverityLow, "img/rootfs/opt/app/libcrypto.so.1.1", 100,
			[]string{"openssl found in 3 files", "/opt/app/libcrypto.so.1.1 @0x64 (1.1.1w)", "/usr/sbin/vendord @0xc8 (1.0.2u)"}},
		{"openssl 1.0.2u is past upstream end of life", "NV-SBOM-003", firmware.SeverityHigh, "img/rootfs/usr/lib/libcrypto.so.1.0.0", 100,
			[]string{"release branch 1.0.2", "ended 2019-12-31", "libcrypto.so.1.0.0 (binary, 2 files)", "/usr/lib/opkg/status (opkg)", "source: OpenSSL"}},
		{"openssl 1.1.1w is past upstream end of life", "NV-SBOM-003", firmware.SeverityHigh, "img/rootfs/opt/app/libcrypto.so.1.1", 100, nil},
		{"linux-kernel 4.14.180 is past upstream end of life", "NV-SBOM-003", firmware.SeverityHigh, "img/rootfs/kernel", 100,
			[]string{"ended 2024-01-10", "/kernel (linux-kernel)", "/usr/lib/opkg/status (opkg)"}},
	}
	for _, w := range want {
		f, ok := byTitle[w.title]
		if !ok {
			t.Errorf("no finding %q", w.title)
			continue
		}
		if f.Rule != w.rule || f.Severity != w.severity || f.Path != w.path || f.Offset != w.offset {
			t.Errorf("%s: %+v", w.title, f)
		}
		for _, s := range w.contains {
			if !strings.Contains(f.Evidence, s) {
				t.Errorf("%s: evidence %q lacks %q", w.title, f.Evidence, s)
			}
		}
	}
	if len(fs) != len(want) {
		for _, f := range fs {
			t.Logf("%s %s: %s", f.Rule, f.Title, f.Evidence)
		}
		t.Errorf("%d findings, want %d (no busybox versions: 1.36.1-1 is 1.36.1; no copies of programs; no deb end of life; modules not grouped)", len(fs), len(want))
	}
	// EndOfLife is set on the components past it, deb packages excepted.
	for _, c := range cs {
		wantEOL := ""
		switch {
		case strings.HasPrefix(c.Version, "1.0.2u"):
			wantEOL = "2019-12-31"
		case c.Version == "1.1.1w":
			wantEOL = "2023-09-11"
		case strings.HasPrefix(c.Version, "4.14.180"):
			wantEOL = "2024-01-10"
		}
		if c.EndOfLife != wantEOL {
			t.Errorf("%s %s (%s): EndOfLife %q, want %q", c.Name, c.Version, c.Ecosystem, c.EndOfLife, wantEOL)
		}
	}
	// Less than a year past the end: medium.
	recent := []firmware.Component{comp("openwrt", "23.05.2", "os-release", "operating-system", "/etc/os-release")}
	fs = Hygiene(recent, now)
	if len(fs) != 1 || fs[0].Severity != firmware.SeverityMedium {
		t.Errorf("recent end of life: %+v", fs)
	}
	// Deterministic.
	a := Hygiene(cs, now)
	b := Hygiene(cs, now)
	for i := range a {
		if a[i].Evidence != b[i].Evidence || a[i].Title != b[i].Title {
			t.Fatal("two runs differ")
		}
	}
	if Hygiene(nil, now) != nil {
		t.Error("findings for no components")
	}
}

// Evidence names at most maxListed places.
func TestHygieneBoundedEvidence(t *testing.T) {
	var paths []string
	for i := 0; i < 50; i++ {
		paths = append(paths, "/lib/copy"+strings.Repeat("x", i))
	}
	cs := []firmware.Component{comp("zlib", "1.2.13", "binary", "library", paths...)}
	fs := Hygiene(cs, time.Now())
	if len(fs) != 1 || !strings.Contains(fs[0].Evidence, "and 40 more") || fs[0].Title != "50 copies of zlib" {
		t.Errorf("%+v", fs)
	}
}

func TestRules(t *testing.T) {
	seen := map[string]bool{}
	for _, r := range Rules() {
		if !strings.HasPrefix(r.ID, "NV-SBOM-") || r.Title == "" || r.Rationale == "" || r.Severity == firmware.SeverityUnknown || seen[r.ID] {
			t.Errorf("bad rule %+v", r)
		}
		seen[r.ID] = true
	}
}
