package report

import (
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/netvet/netvet/internal/firmware"
)

func TestClean(t *testing.T) {
	for _, tc := range []struct {
		in   string
		max  int
		want string
	}{
		{"root::0:0:::", 0, "root::0:0:::"},
		{"a\tb\nc\rd", 0, `a\tb\nc\rd`},
		{"\x1b[2J\x1b]0;title\x07", 0, `\x1b[2J\x1b]0;title\x07`},
		{"\x00\x7f", 0, `\x00\x7f`},
		{"\xff\xfe ok", 0, `\xff\xfe ok`},
		{"\u0085 next line", 0, `\u0085 next line`},
		{"\u202eevil\u2066", 0, `\u202eevil\u2066`},
		{"zero\u200bwidth", 0, `zero\u200bwidth`},
		{"nb\u00a0sp", 0, `nb\u00a0sp`},
		{"tag\U000E0041", 0, `tag\U000e0041`},
		{"Grüße, 日本", 0, "Grüße, 日本"},
		{`C:\path`, 0, `C:\path`},
		{"abcdef", 3, "abc..."},
		{"日本語です", 2, "日本..."},
		{"abc", 3, "abc"},
		{"", 5, ""},
	} {
		if got := clean(tc.in, tc.max); got != tc.want {
			t.Errorf("clean(%q, %d) = %q, want %q", tc.in, tc.max, got, tc.want)
		}
	}
}

// sgr matches the colour sequences the text output may write itself.
var sgr = regexp.MustCompile(`\x1b\[[0-9;]*m`)

// TestTextNoControl: whatever the report holds, the text output has no
// control characters but newlines, and with colour on only SGR colour
// sequences.
func TestTextNoControl(t *testing.T) {
	for _, color := range []bool{false, true} {
		out := string(render(t, hostileReport(), Text, Options{Color: color, Top: -1}))
		if !color && strings.Contains(out, "\x1b") {
			t.Error("ESC in output without colour")
		}
		rest := sgr.ReplaceAllString(out, "")
		for i, r := range rest {
			if (r < 0x20 && r != '\n') || r == 0x7f || (r >= 0x80 && r < 0xa0) || r == '\u202e' {
				t.Fatalf("colour %v: control %U at %d: %q", color, r, i, rest[max(0, i-40):min(len(rest), i+40)])
			}
		}
		if !strings.Contains(out, `\x1b[2J\x1b]0;pwned\x07 \u202eevil`) {
			t.Error("hostile evidence not shown escaped")
		}
	}
}

func TestTextColor(t *testing.T) {
	plain := string(render(t, fullReport(), Text, Options{}))
	color := string(render(t, fullReport(), Text, Options{Color: true}))
	if strings.Contains(plain, "\x1b[") {
		t.Error("colour codes without Options.Color")
	}
	if !strings.Contains(color, ansiBold+ansiRed+"FAIL"+ansiReset) || !strings.Contains(color, ansiBold+ansiRed+"CRITICAL") {
		t.Error("no colour with Options.Color")
	}
	if sgr.ReplaceAllString(color, "") != plain {
		t.Error("colour changes the text itself")
	}
}

func TestTextTop(t *testing.T) {
	r := fullReport()
	for _, tc := range []struct {
		top                   int
		findings, vulns, more string
	}{
		{0, "findings (6):", "vulnerabilities (4):", ""},
		{-1, "findings (6):", "vulnerabilities (4):", ""},
		{2, "findings (top 2 of 6):", "vulnerabilities (top 2 of 4):", "  ... 4 more in the full report"},
		{100, "findings (6):", "vulnerabilities (4):", ""},
	} {
		out := string(render(t, r, Text, Options{Top: tc.top}))
		if !strings.Contains(out, tc.findings) || !strings.Contains(out, tc.vulns) {
			t.Errorf("top %d: headings missing:\n%s", tc.top, out)
		}
		if tc.more != "" && !strings.Contains(out, tc.more) {
			t.Errorf("top %d: no %q", tc.top, tc.more)
		}
	}
	// The default is ten.
	r.Findings = nil
	for i := range 25 {
		r.Findings = append(r.Findings, firmware.Finding{Rule: fmt.Sprintf("NV-X-%03d", i), Severity: firmware.SeverityLow, Offset: -1})
	}
	out := string(render(t, r, Text, Options{}))
	if !strings.Contains(out, "findings (top 10 of 25):") || strings.Contains(out, "NV-X-010") || !strings.Contains(out, "NV-X-009") {
		t.Errorf("default top:\n%s", out)
	}
}

// TestTextOrder: open findings come first, highest severity first;
// dispositioned ones after, even when more severe.
func TestTextOrder(t *testing.T) {
	out := string(render(t, fullReport(), Text, Options{Top: 3}))
	for _, want := range []string{"NV-ACCT-001", "NV-SVC-001", "NV-SEC-002"} {
		if !strings.Contains(out, want) {
			t.Errorf("top 3 lacks %s", want)
		}
	}
	if strings.Contains(out, "NV-KEY-001") {
		t.Error("a dispositioned finding is among the top 3 while open ones remain")
	}
	if i, j := strings.Index(out, "CVE-2016-2105"), strings.Index(out, "GHSA-abcd-efgh-ijkl"); i < 0 || j < 0 || i > j {
		t.Error("vulnerabilities out of order")
	}
}

func TestTextLocations(t *testing.T) {
	out := string(render(t, fullReport(), Text, Options{}))
	for _, want := range []string{
		"at /etc/shadow offset 0x0 line 1\n",
		"in demo-router.bin/0x0.chk/kernel/partition-1/etc/shadow\n",
		"at /etc/dropbear/dropbear_rsa_host_key (whole file)\n",
		"at demo-router.bin/0x0.chk/kernel/0x40.lzma.carved/blob/0x2000.bin offset 0x2000\n",
		"evidence: root::0:0:99999:7:::\n",
		"dispositioned: not_affected (vulnerable_code_not_in_execute_path) by vex/netvet.openvex.json",
		"CVE-2016-2105  openssl 1.0.2g  fixed in 1.0.2h  CVSS 7.5  known exploited  EPSS 0.042\n",
		"hardening: 4 ELF executables: NX 100.0%, PIE 25.0%, full RELRO 25.0%, canary 50.0%, fortify 0.0%, stripped 100.0%\n",
		"components: 5 (opkg 3, binary 1, linux-kernel 1)\n",
		"  - analyser services: inittab parser: line 40: too long\n",
		"  - unpack: demo-router.bin/0x0.chk/kernel/partition-2: jffs2: bad node CRC at 0x1200\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("text lacks %q", want)
		}
	}
	// Long evidence is cut.
	r := fullReport()
	r.Findings[0].Evidence = strings.Repeat("A", 1000)
	out = string(render(t, r, Text, Options{}))
	if !strings.Contains(out, "evidence: "+strings.Repeat("A", maxTextEvidence)+"...\n") {
		t.Error("long evidence not cut")
	}
}
