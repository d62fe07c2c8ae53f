package backdoor

import (
	"github.com/netvet/netvet/internal/firmware"
)

// A signature is one publicly documented backdoor marker. It fires on a
// file when every pattern of at least one of its groups occurs in the
// file, or when the file's name is one of names.
type signature struct {
	rule firmware.Rule
	// groups: the signature matches when all patterns of any one group
	// are found. Most signatures have one group of one pattern.
	groups [][]pattern
	// names are file base names that are themselves the indicator.
	names []string
	// elfOnly restricts byte patterns to ELF files.
	elfOnly bool
	// secret marks patterns that are working credentials: the evidence
	// keeps the first secretKeep bytes of the match and masks the rest.
	secret bool
}

// secretKeep is how many bytes of a credential match stay readable.
const secretKeep = 4

// signatures is the rule set. Every entry cites public write-ups or
// advisories that name the exact string; see
// docs/analyzers-services-fs-backdoor.md for the table.
var signatures = []signature{
	{
		rule: firmware.Rule{
			ID:        "NV-BD-001",
			Title:     "D-Link/Alpha Networks web authentication bypass User-Agent (xmlset_roodkcableoj28840ybtide)",
			Severity:  firmware.SeverityCritical,
			Rationale: "a web server holding this string skips authentication for any request sent with it as User-Agent",
			References: []string{
				"https://nvd.nist.gov/vuln/detail/CVE-2013-6026",
				"http://www.devttys0.com/2013/10/reverse-engineering-a-d-link-backdoor/",
				"https://www.kb.cert.org/vuls/id/248083",
			},
		},
		groups: lits("xmlset_roodkcableoj28840ybtide"),
	},
	{
		rule: firmware.Rule{
			ID:        "NV-BD-002",
			Title:     "Tenda manufacturing UDP backdoor magic (w302r_mfg / rlink_mfg)",
			Severity:  firmware.SeverityCritical,
			Rationale: "the web server of affected Tenda/Medialink routers runs any command sent in a UDP packet (port 7329 or 24151) that starts with this string",
			References: []string{
				"http://www.devttys0.com/2013/10/from-china-with-love/",
				"http://ea.github.io/blog/2013/10/18/tenda-backdoor/",
			},
		},
		groups: lits("w302r_mfg", "rlink_mfg"),
	},
	{
		rule: firmware.Rule{
			ID:        "NV-BD-003",
			Title:     "NETGEAR TelnetEnable magic-packet daemon (AMBIT_TELNET_ENABLE+)",
			Severity:  firmware.SeverityHigh,
			Rationale: "a hidden daemon starts a root telnet service when it receives a magic packet; older firmware accepts the fixed Gearguy/Geardog credentials, newer firmware the web password",
			References: []string{
				"https://nvd.nist.gov/vuln/detail/CVE-2026-24714",
				"https://jvn.jp/en/jp/JVN46722282/",
				"https://wiki.openwrt.org/toh/netgear/telnet.console",
			},
		},
		groups: lits("AMBIT_TELNET_ENABLE+"),
	},
	{
		rule: firmware.Rule{
			ID:        "NV-BD-004",
			Title:     "SerComm configuration manager backdoor binary (scfgmgr, TCP 32764)",
			Severity:  firmware.SeverityHigh,
			Rationale: "scfgmgr answers unauthenticated ScMM/MMcS commands (configuration dump, command execution) on TCP 32764; patched builds keep it and can re-enable the TCP listener",
			References: []string{
				"https://github.com/elvanderb/TCP-32764",
			},
		},
		names: []string{"scfgmgr"},
	},
	{
		rule: firmware.Rule{
			ID:        "NV-BD-005",
			Title:     "Netcore/Netis igdmptd backdoor daemon (UDP 53413)",
			Severity:  firmware.SeverityCritical,
			Rationale: "igdmptd listens on UDP 53413 from the WAN side with one hard-coded password shared by all devices and runs commands and file transfers for whoever knows it",
			References: []string{
				"http://blog.trendmicro.com/trendlabs-security-intelligence/netis-routers-leave-wide-open-backdoor/",
				"https://blog.trendmicro.com/netis-router-backdoor-update/",
			},
		},
		groups: lits("IGD MPT Interface daemon"),
	},
	{
		rule: firmware.Rule{
			ID:        "NV-BD-006",
			Title:     "Juniper ScreenOS authentication backdoor password",
			Severity:  firmware.SeverityCritical,
			Rationale: "this string, disguised as a format string, was accepted as the password for any user over SSH and telnet",
			References: []string{
				"https://nvd.nist.gov/vuln/detail/CVE-2015-7755",
				"https://community.rapid7.com/community/infosec/blog/2015/12/20/cve-2015-7755-juniper-screenos-authentication-backdoor",
			},
		},
		groups: lits("<<< %s(un='%s') = %u"),
		secret: true,
	},
	{
		rule: firmware.Rule{
			ID:        "NV-BD-007",
			Title:     "Fortinet FortiOS SSH challenge-response backdoor secret",
			Severity:  firmware.SeverityCritical,
			Rationale: "the hidden Fortimanager_Access SSH account answers a challenge derived from this fixed secret, giving administrator access",
			References: []string{
				"https://nvd.nist.gov/vuln/detail/CVE-2016-1909",
				"https://blog.fortinet.com/post/brief-statement-regarding-issues-found-with-fortios",
			},
		},
		groups: lits("FGTAbc11*xy+Qqz27"),
		secret: true,
	},
	{
		rule: firmware.Rule{
			ID:        "NV-BD-008",
			Title:     "Zyxel undocumented zyfwp account password",
			Severity:  firmware.SeverityCritical,
			Rationale: "the zyfwp account with this fixed plain-text password logs in with administrator rights over SSH and the web interface",
			References: []string{
				"https://nvd.nist.gov/vuln/detail/CVE-2020-29583",
				"https://www.zyxel.com/support/CVE-2020-29583.shtml",
			},
		},
		groups: lits("PrOw!aN_fXp"),
		secret: true,
	},
	{
		rule: firmware.Rule{
			ID:        "NV-BD-009",
			Title:     "Alpha Networks hard-coded telnet account (-u Alphanetworks:$image_sign)",
			Severity:  firmware.SeverityCritical,
			Rationale: "D-Link/Alpha Networks boot scripts start telnetd with the fixed user Alphanetworks and a password read from /etc/config/image_sign, identical on every unit of a model",
			References: []string{
				"https://nvd.nist.gov/vuln/detail/CVE-2024-22853",
				"https://nvd.nist.gov/vuln/detail/CVE-2026-42376",
			},
		},
		groups: lits("-u Alphanetworks:"),
	},
	{
		rule: firmware.Rule{
			ID:        "NV-BD-010",
			Title:     "ZTE/Asus/Digicom hard-coded telnet password suffix (airocon)",
			Severity:  firmware.SeverityCritical,
			Rationale: "the telnet admin password of affected DSL routers is the last four characters of the MAC address followed by airocon; the MAC is readable over SNMP",
			References: []string{
				"https://nvd.nist.gov/vuln/detail/CVE-2014-0329",
				"https://www.kb.cert.org/vuls/id/228886",
			},
		},
		groups: lits("airocon"),
	},
	{
		rule: firmware.Rule{
			ID:        "NV-BD-011",
			Title:     "xz/liblzma backdoor code (CVE-2024-3094)",
			Severity:  firmware.SeverityCritical,
			Rationale: "this machine code is the injected function of the backdoored liblzma 5.6.0/5.6.1 that hijacks sshd's RSA key verification",
			References: []string{
				"https://nvd.nist.gov/vuln/detail/CVE-2024-3094",
				"https://www.openwall.com/lists/oss-security/2024/03/29/4",
				"https://github.com/Neo23x0/signature-base/blob/6b8e2a00e5aafcfcfc767f3f53ae986cf81f968a/yara/bkdr_xz_util_cve_2024_3094.yar",
			},
		},
		groups: [][]pattern{
			{
				mustHex("48 8d 7c 24 08 f3 ab 48 8d 44 24 08 48 89 d1 4c 89 c7 48 89 c2 e8 ?? ?? ?? ?? 89 c2"),
				mustHex("31 c0 49 89 ff b9 16 00 00 00 4d 89 c5 48 8d 7c 24 48 4d 89 ce f3 ab 48 8d 44 24 48"),
				mustHex("4d 8b 6c 24 08 45 8b 3c 24 4c 8b 63 10 89 85 78 f1 ff ff 31 c0 83 bd 78 f1 ff ff 00 f3 ab 79 07"),
			},
			{
				mustHex("f3 0f 1e fa 55 48 89 f5 4c 89 ce 53 89 fb 81 e7 00 00 00 80 48 83 ec 28 48 89 54 24 18 48 89 4c 24 10"),
			},
		},
		elfOnly: true,
	},
}

// lits builds one single-pattern group per literal: any of them matches.
func lits(ss ...string) [][]pattern {
	out := make([][]pattern, 0, len(ss))
	for _, s := range ss {
		out = append(out, []pattern{literal(s)})
	}
	return out
}

func mustHex(s string) pattern {
	p, err := parseHex(s)
	if err != nil {
		panic("backdoor: bad built-in pattern: " + err.Error())
	}
	return p
}
