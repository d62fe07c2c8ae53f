package report

import (
	"github.com/netvet/netvet/internal/firmware"
)

// hostile is text an adversary controls, as it could appear in evidence,
// paths and names: markup, quotes, a terminal escape that clears the
// screen and sets the window title, a bidirectional override.
const hostile = "<script>alert(\"x\")</script> ' \" & \x1b[2J\x1b]0;pwned\x07 \u202eevil"

// fullReport is a scan of a router image with something in every part of
// the model: findings of every severity (one dispositioned, one whose rule
// is missing from Rules), components of several ecosystems, vulnerabilities
// with and without CVSS and dispositions, hardening, notes and errors.
func fullReport() *firmware.ScanReport {
	const shadow = "demo-router.bin/0x0.chk/kernel/partition-1/etc/shadow"
	return &firmware.ScanReport{
		Tool:    "netvet",
		Version: "v0.9.0-test",
		Image: firmware.ImageRef{
			Name:   "demo-router.bin",
			Size:   4194304,
			SHA256: "9f2c1f0a5b8e4d3c2a1b0f9e8d7c6b5a49382716a5b4c3d2e1f0a9b8c7d6e5f4",
		},
		Summary: firmware.Summary{
			Verdict:         "fail",
			Findings:        firmware.Counts{Critical: 1, High: 2, Medium: 1, Low: 1, Info: 1},
			Vulnerabilities: firmware.Counts{Critical: 1, High: 1, Medium: 1, Low: 1},
			Components:      5,
			Dispositioned:   3,
		},
		Unpack: firmware.UnpackInfo{
			Complete: false,
			Errors:   []string{"demo-router.bin/0x0.chk/kernel/partition-2: jffs2: bad node CRC at 0x1200"},
			Files:    312, Chunks: 3, Bytes: 12345678,
		},
		Analyzers: []firmware.AnalyzerRun{
			{Name: "accounts", Findings: 2},
			{Name: "keys", Findings: 1},
			{Name: "secrets", Findings: 1},
			{Name: "services", Findings: 1, Error: "inittab parser: line 40: too long"},
		},
		Database: &firmware.Database{
			Path: "db", SchemaVersion: "v6.0.2", Built: "2025-11-30T04:05:06Z",
			Checksum: "sha256:0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f9",
		},
		Notes: []string{"component catalogue incomplete: python: site-packages: unreadable RECORD"},
		Components: []firmware.Component{
			{
				ID: "pkg:generic/busybox@1.33.1?package-id=1a2b", Name: "busybox", Version: "1.33.1",
				Type: "application", Ecosystem: "binary", PURL: "pkg:generic/busybox@1.33.1",
				CPEs:     []string{"cpe:2.3:a:busybox:busybox:1.33.1:*:*:*:*:*:*:*", "cpe:2.3:a:busybox_project:busybox:1.33.1:*:*:*:*:*:*:*"},
				Licenses: []string{"GPL-2.0-only"}, FoundBy: "netvet-busybox",
				Locations: []firmware.Location{{Path: "demo-router.bin/0x0.chk/kernel/partition-1/bin/busybox", FSPath: "/bin/busybox",
					Offset: 0x2f3a0, Evidence: "BusyBox v1.33.1 (2024-01-01 00:00:00 UTC)"}},
			},
			{
				ID: "pkg:opkg/dropbear@2020.81?package-id=3c4d", Name: "dropbear", Version: "2020.81",
				Type: "application", Ecosystem: "opkg", PURL: "pkg:opkg/dropbear@2020.81?arch=mips_24kc",
				CPEs:     []string{"cpe:2.3:a:dropbear_ssh_project:dropbear_ssh:2020.81:*:*:*:*:*:*:*"},
				Licenses: []string{"MIT"}, Supplier: "OpenWrt", FoundBy: "opkg-status-cataloger", EndOfLife: "2022-11-14",
				Locations: []firmware.Location{{Path: "demo-router.bin/0x0.chk/kernel/partition-1/usr/lib/opkg/status", FSPath: "/usr/lib/opkg/status",
					Offset: 512, Evidence: "Package: dropbear"}},
			},
			{
				ID: "pkg:opkg/libfoo@3.2?package-id=5e6f", Name: "libfoo", Version: "3.2",
				Type: "library", Ecosystem: "opkg", PURL: "pkg:opkg/libfoo@3.2",
				Licenses: []string{"MIT OR Apache-2.0", "Vendor Proprietary Licence v2"}, FoundBy: "opkg-status-cataloger",
				Locations: []firmware.Location{{Path: "demo-router.bin/0x0.chk/kernel/partition-1/usr/lib/opkg/status", FSPath: "/usr/lib/opkg/status",
					Offset: 2048, Evidence: "Package: libfoo"}},
			},
			{
				ID: "pkg:generic/linux@4.14.221?package-id=7a8b", Name: "linux", Version: "4.14.221",
				Type: "operating-system", Ecosystem: "linux-kernel", PURL: "pkg:generic/linux@4.14.221",
				CPEs: []string{"cpe:2.3:o:linux:linux_kernel:4.14.221:*:*:*:*:*:*:*"}, Licenses: []string{"GPL-2.0-only"},
				FoundBy: "netvet-kernel",
				Locations: []firmware.Location{{Path: "demo-router.bin/0x0.chk/kernel/0x40.lzma", Offset: 0x40,
					Evidence: "Linux version 4.14.221 (builder@buildhost)"}},
			},
			{
				ID: "pkg:opkg/openssl@1.0.2g?package-id=9c0d", Name: "openssl", Version: "1.0.2g",
				Type: "library", Ecosystem: "opkg", PURL: "pkg:opkg/openssl@1.0.2g",
				CPEs: []string{"cpe:2.3:a:openssl:openssl:1.0.2g:*:*:*:*:*:*:*"}, Licenses: []string{"OpenSSL"},
				FoundBy: "opkg-status-cataloger",
				Locations: []firmware.Location{{Path: "demo-router.bin/0x0.chk/kernel/partition-1/usr/lib/opkg/status", FSPath: "/usr/lib/opkg/status",
					Offset: 4096, Evidence: "Package: libopenssl1.0.0"}},
			},
		},
		Vulnerabilities: []firmware.Vulnerability{
			{
				ID: "CVE-2022-48174", Severity: firmware.SeverityCritical,
				CVSS:      []firmware.CVSS{{Version: "3.1", Vector: "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", Score: 9.8, Source: "nvd@nist.gov"}},
				Component: "pkg:generic/busybox@1.33.1?package-id=1a2b", ComponentName: "busybox", ComponentVersion: "1.33.1",
				FixState: "not-fixed", MatchType: "cpe-match", MatchedOn: "cpe:2.3:a:busybox:busybox:1.33.1:*:*:*:*:*:*:*",
				Constraint:  "< 1.35.0",
				Description: "There is a stack overflow vulnerability in ash.c:6030 in busybox before 1.35. In the environment of Internet of Vehicles, this vulnerability can be executed from command to arbitrary code execution.",
				URLs:        []string{"https://bugs.busybox.net/show_bug.cgi?id=15216"},
				Disposition: &firmware.Disposition{Status: "accepted", Statement: "ash is not reachable from the network on this model", Source: "vex/netvet.openvex.json"},
			},
			{
				ID: "CVE-2016-2105", Aliases: []string{"GHSA-xxxx-openssl-2105"}, Severity: firmware.SeverityHigh,
				CVSS: []firmware.CVSS{
					{Version: "2.0", Vector: "AV:N/AC:L/Au:N/C:N/I:N/A:P", Score: 5.0, Source: "nvd@nist.gov"},
					{Version: "3.0", Vector: "CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H", Score: 7.5, Source: "nvd@nist.gov"},
				},
				Component: "pkg:opkg/openssl@1.0.2g?package-id=9c0d", ComponentName: "openssl", ComponentVersion: "1.0.2g",
				FixedIn: []string{"1.0.2h"}, FixState: "fixed", MatchType: "exact-direct-match", MatchedOn: "pkg:opkg/openssl@1.0.2g",
				Constraint: "< 1.0.2h", Description: "Integer overflow in the EVP_EncodeUpdate function in OpenSSL before 1.0.2h.",
				URLs: []string{"https://www.openssl.org/news/secadv/20160503.txt"}, KEV: true, EPSS: 0.0421,
			},
			{
				ID: "CVE-2023-48795", Severity: firmware.SeverityMedium,
				CVSS:      []firmware.CVSS{{Version: "3.1", Vector: "CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:N/I:H/A:N", Score: 5.9, Source: "nvd@nist.gov"}},
				Component: "pkg:opkg/dropbear@2020.81?package-id=3c4d", ComponentName: "dropbear", ComponentVersion: "2020.81",
				FixedIn: []string{"2022.83"}, FixState: "fixed", MatchType: "cpe-match",
				MatchedOn:   "cpe:2.3:a:dropbear_ssh_project:dropbear_ssh:2020.81:*:*:*:*:*:*:*",
				Description: "The SSH transport protocol with certain OpenSSH extensions allows remote attackers to bypass integrity checks (Terrapin).",
				URLs:        []string{"https://terrapin-attack.com/"}, EPSS: 0.94,
				Disposition: &firmware.Disposition{Status: "not_affected", Justification: "vulnerable_code_not_in_execute_path",
					Statement: "chacha20-poly1305 and -etm MACs are disabled in the shipped config", Source: "vex/netvet.openvex.json"},
			},
			{
				ID: "GHSA-abcd-efgh-ijkl", Severity: firmware.SeverityLow,
				Component: "pkg:opkg/libfoo@3.2?package-id=5e6f", ComponentName: "libfoo", ComponentVersion: "3.2",
				FixState: "unknown", MatchType: "exact-direct-match", MatchedOn: "pkg:opkg/libfoo@3.2",
				Disposition: &firmware.Disposition{Status: "under_investigation", Source: "vex/netvet.openvex.json"},
			},
		},
		Findings: []firmware.Finding{
			{
				Rule: "NV-ACCT-001", Severity: firmware.SeverityCritical, Title: "Account with an empty password",
				Path: shadow, FSPath: "/etc/shadow", Offset: 0, Line: 1, Evidence: "root::0:0:99999:7:::",
				Rationale:  "Anyone who reaches a login service gets in as this account.",
				References: []string{"https://cwe.mitre.org/data/definitions/258.html"}, Analyzer: "accounts",
			},
			{
				Rule: "NV-KEY-001", Severity: firmware.SeverityHigh, Title: "Private key in the image",
				Path: "demo-router.bin/0x0.chk/kernel/partition-1/etc/dropbear/dropbear_rsa_host_key", FSPath: "/etc/dropbear/dropbear_rsa_host_key",
				Offset: -1, Evidence: "dropbear RSA private key, 2048 bits, fingerprint SHA256:Ab3d****",
				Rationale:  "Every device of this model shares the key: one leak exposes them all.",
				References: []string{"CWE-321", "https://cwe.mitre.org/data/definitions/321.html"}, Analyzer: "keys",
				Disposition: &firmware.Disposition{Status: "accepted", Justification: "regenerated on first boot",
					Statement: "the init script replaces the key before dropbear starts", Source: "vex/netvet.openvex.json"},
			},
			{
				Rule: "NV-SVC-001", Severity: firmware.SeverityHigh, Title: "Telnet server started at boot",
				Path: "demo-router.bin/0x0.chk/kernel/partition-1/etc/inittab", FSPath: "/etc/inittab",
				Offset: 0x1f, Line: 3, Evidence: "::respawn:/usr/sbin/telnetd -l /bin/sh " + hostile,
				Rationale: "Telnet sends credentials in clear and this one needs none.", Analyzer: "services",
			},
			{
				Rule: "NV-SEC-002", Severity: firmware.SeverityMedium, Title: "Cloud access key",
				Path: "demo-router.bin/0x0.chk/kernel/0x40.lzma.carved/blob/0x2000.bin", Offset: 0x2000,
				Evidence: "aws_access_key_id=AKIA************", Rationale: "A key that works outside the device.",
				Analyzer: "secrets",
			},
			{
				Rule: "NV-HYG-001", Severity: firmware.SeverityLow, Title: "Component past end of life",
				Path: "demo-router.bin/0x0.chk/kernel/partition-1/usr/lib/opkg/status", FSPath: "/usr/lib/opkg/status",
				Offset: 512, Evidence: "dropbear 2020.81: support ended 2022-11-14",
				Rationale: "No more security fixes upstream.", References: []string{"https://endoflife.date/dropbear"},
			},
			{
				Rule: "NV-ACCT-004", Severity: firmware.SeverityInfo, Title: "Account with a login shell",
				Path: "demo-router.bin/0x0.chk/kernel/partition-1/etc/passwd", FSPath: "/etc/passwd",
				Offset: 0x25, Line: 2, Evidence: "admin:x:1000:1000::/home/admin:/bin/ash",
				Rationale: "Shows who can log in.", Analyzer: "accounts",
			},
		},
		Hardening: firmware.HardeningSummary{Binaries: 4, NX: 100, PIE: 25, RELRO: 25, Canary: 50, Fortify: 0, Stripped: 100},
		Binaries: []firmware.Binary{
			{Path: "demo-router.bin/0x0.chk/kernel/partition-1/bin/busybox", FSPath: "/bin/busybox", Machine: "MIPS", Class: 32, Endian: "big",
				Type: "exec", NX: true, RELRO: "none", Stripped: true, Imports: []string{"gets", "strcpy", "system"}},
			{Path: "demo-router.bin/0x0.chk/kernel/partition-1/usr/sbin/dropbear", FSPath: "/usr/sbin/dropbear", Machine: "MIPS", Class: 32, Endian: "big",
				Type: "dyn", NX: true, PIE: true, RELRO: "full", Canary: true, Stripped: true, RunPath: "/usr/lib"},
		},
		Rules: []firmware.Rule{
			{ID: "NV-ACCT-001", Title: "Account with an empty password", Severity: firmware.SeverityCritical,
				Rationale: "Anyone who reaches a login service gets in as this account.", References: []string{"https://cwe.mitre.org/data/definitions/258.html"}},
			{ID: "NV-ACCT-004", Title: "Account with a login shell", Severity: firmware.SeverityInfo, Rationale: "Shows who can log in."},
			{ID: "NV-KEY-001", Title: "Private key in the image", Severity: firmware.SeverityHigh,
				Rationale: "Every device of this model shares the key: one leak exposes them all.", References: []string{"CWE-321", "https://cwe.mitre.org/data/definitions/321.html"}},
			{ID: "NV-SEC-002", Title: "Cloud access key", Severity: firmware.SeverityMedium, Rationale: "A key that works outside the device."},
			{ID: "NV-SVC-001", Title: "Telnet server started at boot", Severity: firmware.SeverityHigh, Rationale: "Telnet sends credentials in clear and this one needs none."},
		},
		VEX: []string{"vex/netvet.openvex.json"},
	}
}

// emptyReport is a scan that found nothing and could not match
// vulnerabilities: nil slices everywhere.
func emptyReport() *firmware.ScanReport {
	return &firmware.ScanReport{
		Tool: "netvet", Version: "v0.9.0-test",
		Image:   firmware.ImageRef{Name: "blank.bin", Size: 1024, SHA256: "5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef"},
		Summary: firmware.Summary{Verdict: "pass"},
		Unpack:  firmware.UnpackInfo{Complete: true, Files: 1},
		Notes:   []string{"vulnerability matching skipped: no database in db; import one with `netvet db import FILE`"},
	}
}

var fixtures = []struct {
	name string
	make func() *firmware.ScanReport
}{
	{"full", fullReport},
	{"empty", emptyReport},
}

// hostileReport is fullReport with hostile text appended to everything an
// image or a database can put into a report.
func hostileReport() *firmware.ScanReport {
	const h = hostile
	r := fullReport()
	r.Image.Name += h
	r.Image.SHA256 += h
	r.Notes = append(r.Notes, h)
	r.VEX = append(r.VEX, h)
	r.Unpack.Errors = append(r.Unpack.Errors, h)
	r.Analyzers[0].Error = h
	for i := range r.Findings {
		f := &r.Findings[i]
		f.Path += "/" + h
		f.FSPath += h
		f.Evidence += h
		f.Title += h
		if f.Disposition != nil {
			f.Disposition.Statement += h
			f.Disposition.Source += h
		}
	}
	for i := range r.Rules {
		r.Rules[i].Title += h
		r.Rules[i].Rationale += h
		r.Rules[i].References = append(r.Rules[i].References, h)
	}
	for i := range r.Components {
		c := &r.Components[i]
		c.Name += h
		c.Version += h
		c.PURL += h
		c.CPEs = append(c.CPEs, h)
		c.Licenses = append(c.Licenses, h)
		c.Supplier = h
		c.FoundBy = h
		c.EndOfLife = h
		for j := range c.Locations {
			l := &c.Locations[j]
			l.Path += h
			l.FSPath += h
			l.Evidence += h
		}
	}
	for i := range r.Vulnerabilities {
		v := &r.Vulnerabilities[i]
		v.Description += h
		v.URLs = append(v.URLs, h)
		v.FixedIn = append(v.FixedIn, h)
		v.ComponentName += h
		v.ComponentVersion += h
		v.MatchedOn += h
		v.Constraint += h
		v.Aliases = append(v.Aliases, h)
		if v.Disposition != nil {
			v.Disposition.Statement += h
			v.Disposition.Justification += h
		}
	}
	for i := range r.Binaries {
		b := &r.Binaries[i]
		b.Path += h
		b.FSPath += h
		b.RPath = h
		b.Imports = append(b.Imports, h)
	}
	return r
}
