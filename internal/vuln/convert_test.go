package vuln

import (
	"strings"
	"testing"

	syftPkg "github.com/anchore/syft/syft/pkg"

	"github.com/netvet/netvet/internal/firmware"
)

func TestUpstreamVersion(t *testing.T) {
	cases := map[string]string{
		"1.36.1-1":              "1.36.1",
		"2022.82-5":             "2022.82",
		"3.0.11-1~deb12u2":      "3.0.11",
		"1:9.18.19-1~deb12u1":   "9.18.19",
		"1.36.1-r29":            "1.36.1",
		"2.9.14+dfsg-1.3":       "2.9.14+dfsg",
		"3.0.13":                "3.0.13",
		"2023-01-15":            "2023-01-15",
		"2023-05-23-75a3b870-1": "2023-05-23-75a3b870",
		"1.0.2k-fips":           "1.0.2k-fips",
		"5.15.0-91-generic":     "5.15.0-91-generic",
		"-1":                    "-1",
		"":                      "",
	}
	for in, want := range cases {
		if got := UpstreamVersion(in); got != want {
			t.Errorf("UpstreamVersion(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestPrepare(t *testing.T) {
	cases := []struct {
		name     string
		c        firmware.Component
		strategy string
		typ      syftPkg.Type
		version  string
		cpeVer   string
		distro   string
		skip     string
	}{
		{"binary", comp("a", "busybox", "1.35.0", "binary", "", cpeBusybox), strategyCPE, syftPkg.BinaryPkg, "1.35.0", "", "", ""},
		{"opkg", comp("a", "busybox", "1.36.1-1", "opkg", "", "cpe:2.3:a:busybox:busybox:1.36.1-1:*:*:*:*:*:*:*"), strategyCPE, syftPkg.BinaryPkg, "1.36.1", "1.36.1", "", ""},
		{"opkg, CPE without version", comp("a", "busybox", "1.36.1-1", "opkg", "", cpeBusybox), strategyCPE, syftPkg.BinaryPkg, "1.36.1", "1.36.1", "", ""},
		{"deb on debian", comp("a", "openssl", "3.0.11-1~deb12u2", "deb", "pkg:deb/debian/openssl@3.0.11-1~deb12u2?distro=debian-12"), strategyDistro, syftPkg.DebPkg, "3.0.11-1~deb12u2", "", "debian 12", ""},
		{"apk on alpine", comp("a", "busybox", "1.36.1-r29", "apk", "pkg:apk/alpine/busybox@1.36.1-r29?arch=x86_64&distro=alpine-3.20.1"), strategyDistro, syftPkg.ApkPkg, "1.36.1-r29", "", "alpine 3.20.1", ""},
		{"deb, unknown distro", comp("a", "openssl", "3.0.11-1", "deb", "pkg:deb/openwrt/openssl@3.0.11-1?distro=openwrt-23.05", cpeOpenSSL), strategyCPE, syftPkg.BinaryPkg, "3.0.11", "3.0.11", "", ""},
		{"deb, distro without version", comp("a", "openssl", "3.0.11-1", "deb", "pkg:deb/debian/openssl@3.0.11-1?distro=debian", cpeOpenSSL), strategyCPE, syftPkg.BinaryPkg, "3.0.11", "3.0.11", "", ""},
		{"python", comp("a", "requests", "2.19.0", "python", "pkg:pypi/requests@2.19.0"), strategyEco, syftPkg.PythonPkg, "2.19.0", "", "", ""},
		{"kernel", comp("a", "linux-kernel", "4.14.180", "linux-kernel", "", "cpe:2.3:o:linux:linux_kernel:4.14.180:*:*:*:*:*:*:*"), strategyCPE, syftPkg.LinuxKernelPkg, "4.14.180", "4.14.180", "", ""},
		{"no version", comp("a", "busybox", "", "binary", "", cpeBusybox), "", "", "", "", "", "no version"},
		{"no cpe", comp("a", "busybox", "1.0", "binary", ""), "", "", "", "", "", "no CPE"},
		{"bad cpe only", comp("a", "busybox", "1.0", "binary", "", "cpe:2.3:not a cpe"), "", "", "", "", "", "no CPE"},
		{"long version", comp("a", "busybox", strings.Repeat("1.", 100), "binary", "", cpeBusybox), "", "", "", "", "", "version"},
		{"NUL in name", comp("a", "busy\x00box", "1.0", "binary", "", cpeBusybox), "", "", "", "", "", "name"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := prepare(tc.c, 0)
			if tc.skip != "" {
				if !strings.Contains(p.skip, tc.skip) {
					t.Fatalf("skip = %q, want %q", p.skip, tc.skip)
				}
				return
			}
			if p.skip != "" {
				t.Fatalf("skipped: %s", p.skip)
			}
			if p.strategy != tc.strategy || p.pkg.Type != tc.typ || p.pkg.Version != tc.version {
				t.Errorf("strategy %q type %q version %q", p.strategy, p.pkg.Type, p.pkg.Version)
			}
			if tc.cpeVer != "" && (len(p.pkg.CPEs) == 0 || p.pkg.CPEs[0].Attributes.Version != tc.cpeVer) {
				t.Errorf("CPEs %v, want version %q", p.pkg.CPEs, tc.cpeVer)
			}
			got := ""
			if p.pkg.Distro != nil {
				got = string(p.pkg.Distro.Type) + " " + p.pkg.Distro.VersionString()
			}
			if got != tc.distro {
				t.Errorf("distro %q, want %q", got, tc.distro)
			}
		})
	}
}

func TestPrepareCapsCPEs(t *testing.T) {
	c := comp("a", "x", "1.0", "binary", "")
	for i := 0; i < 100; i++ {
		c.CPEs = append(c.CPEs, "cpe:2.3:a:vendor:product"+strings.Repeat("x", i%50)+":*:*:*:*:*:*:*:*")
	}
	p := prepare(c, 0)
	if len(p.pkg.CPEs) != maxCPEs {
		t.Fatalf("%d CPEs kept, want %d", len(p.pkg.CPEs), maxCPEs)
	}
}

func TestSeverity(t *testing.T) {
	if severityOf("Critical") != firmware.SeverityCritical || severityOf("Negligible") != firmware.SeverityInfo || severityOf("Unknown") != firmware.SeverityUnknown {
		t.Error("severityOf")
	}
	cases := []struct {
		cs   []firmware.CVSS
		want firmware.Severity
	}{
		{nil, firmware.SeverityUnknown},
		{[]firmware.CVSS{{Version: "3.1", Score: 9.8}}, firmware.SeverityCritical},
		{[]firmware.CVSS{{Version: "3.1", Score: 7.5}, {Version: "2.0", Score: 10}}, firmware.SeverityHigh},
		{[]firmware.CVSS{{Version: "2.0", Score: 5.0}}, firmware.SeverityMedium},
		{[]firmware.CVSS{{Version: "4.0", Score: 2.1}}, firmware.SeverityLow},
	}
	for _, tc := range cases {
		if got := severityFromCVSS(tc.cs); got != tc.want {
			t.Errorf("severityFromCVSS(%v) = %v, want %v", tc.cs, got, tc.want)
		}
	}
}

func TestNarrow(t *testing.T) {
	c := ">= 1.0.2, < 1.0.2zk||>= 3.0.0, < 3.0.15||>= 3.0.1, < 3.0.1x"
	fixed := []string{"1.0.2zk", "3.0.1x", "3.0.15"}
	got, fix := narrow(c, fixed, "3.0.13")
	if got != ">= 3.0.0, < 3.0.15 || >= 3.0.1, < 3.0.1x" && got != ">= 3.0.0, < 3.0.15" {
		t.Errorf("narrow constraint = %q", got)
	}
	for _, f := range fix {
		if f == "1.0.2zk" {
			t.Errorf("fix %v kept a branch the version is not on", fix)
		}
	}
	if got, fix := narrow("<= 2022.83", nil, "2022.83"); got != "<= 2022.83" || fix != nil {
		t.Errorf("single range changed: %q %v", got, fix)
	}
	if !endsAt(">= 3.0.0, < 3.0.15", "3.0.15") || endsAt(">= 3.0.0, < 3.0.15", "3.0.1") || endsAt("<= 3.0.15", "3.0.15") {
		t.Error("endsAt")
	}
}
