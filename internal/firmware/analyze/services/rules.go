package services

import "github.com/netvet/netvet/internal/firmware"

var (
	ruleTelnetShell = firmware.Rule{
		ID: "NV-SVC-001", Title: "Telnet server that spawns a shell without login, started at boot",
		Severity:   firmware.SeverityCritical,
		Rationale:  "anyone who reaches the port gets a root shell with no password",
		References: []string{"https://cwe.mitre.org/data/definitions/306.html"},
	}
	ruleTelnetLogin = firmware.Rule{
		ID: "NV-SVC-002", Title: "Telnet server started at boot",
		Severity:   firmware.SeverityHigh,
		Rationale:  "telnet sends passwords in clear text and is the first thing botnets such as Mirai try",
		References: []string{"https://cwe.mitre.org/data/definitions/319.html"},
	}
	ruleShellOnPort = firmware.Rule{
		ID: "NV-SVC-003", Title: "Shell bound to a network port at boot",
		Severity:   firmware.SeverityCritical,
		Rationale:  "a listener hands a command interpreter to whoever connects: a remote root shell with no authentication",
		References: []string{"https://attack.mitre.org/techniques/T1059/004/"},
	}
	ruleRsh = firmware.Rule{
		ID: "NV-SVC-004", Title: "rlogin/rsh/rexec daemon started at boot",
		Severity:  firmware.SeverityHigh,
		Rationale: "the r-services send credentials in clear text and trust hosts by address",
	}
	ruleRshTrustAll = firmware.Rule{
		ID: "NV-SVC-005", Title: "rlogin/rsh daemon at boot with a host trust file that admits any host",
		Severity:  firmware.SeverityCritical,
		Rationale: "a '+' entry in hosts.equiv or .rhosts lets any host log in without a password",
	}
	ruleTFTP = firmware.Rule{
		ID: "NV-SVC-006", Title: "TFTP server started at boot",
		Severity:  firmware.SeverityHigh,
		Rationale: "TFTP has no authentication: anyone on the network can read, and often write, the served tree",
	}
	ruleGDB = firmware.Rule{
		ID: "NV-SVC-007", Title: "Debug server (gdbserver) started at boot",
		Severity:  firmware.SeverityHigh,
		Rationale: "gdbserver gives whoever connects control of a process: memory, registers and code execution, without authentication",
	}
	ruleListener = firmware.Rule{
		ID: "NV-SVC-008", Title: "netcat/socat listener started at boot",
		Severity:  firmware.SeverityMedium,
		Rationale: "an ad hoc listener with no authentication exposes whatever it is wired to",
	}
	ruleSSHPassword = firmware.Rule{
		ID: "NV-SVC-009", Title: "SSH server with password authentication started at boot",
		Severity:  firmware.SeverityMedium,
		Rationale: "password logins, root's included, can be guessed remotely; key-only authentication removes that",
	}
	ruleSSHWeak = firmware.Rule{
		ID: "NV-SVC-010", Title: "SSH server allowing root password login or empty passwords, started at boot",
		Severity:   firmware.SeverityHigh,
		Rationale:  "a root password (or none at all) is the only barrier to a remote root shell",
		References: []string{"https://man.openbsd.org/sshd_config"},
	}
	ruleSSHNoRootPw = firmware.Rule{
		ID: "NV-SVC-011", Title: "SSH server with password authentication for non-root users, started at boot",
		Severity:  firmware.SeverityLow,
		Rationale: "root password logins are refused, other accounts can still be guessed",
	}
	ruleSSHKeys = firmware.Rule{
		ID: "NV-SVC-012", Title: "SSH server with key-only authentication, started at boot",
		Severity:  firmware.SeverityInfo,
		Rationale: "listed so the exposure inventory is complete",
	}
	ruleFTP = firmware.Rule{
		ID: "NV-SVC-013", Title: "FTP server started at boot",
		Severity:  firmware.SeverityMedium,
		Rationale: "FTP sends passwords and files in clear text",
	}
	ruleFTPAnon = firmware.Rule{
		ID: "NV-SVC-014", Title: "FTP server with anonymous access started at boot",
		Severity:  firmware.SeverityHigh,
		Rationale: "anyone can log in without a password and read, or write, the served tree",
	}
	ruleSNMP = firmware.Rule{
		ID: "NV-SVC-015", Title: "SNMP agent started at boot",
		Severity:  firmware.SeverityMedium,
		Rationale: "SNMPv1/v2c authenticate with a community string sent in clear text; communities are checked by the secrets analyser",
	}
	ruleWeb = firmware.Rule{
		ID: "NV-SVC-016", Title: "Web server started at boot",
		Severity:  firmware.SeverityInfo,
		Rationale: "listed so the exposure inventory is complete; the management interface is the usual remote attack surface",
	}
	ruleConsoleShell = firmware.Rule{
		ID: "NV-SVC-017", Title: "Root shell on the console without login",
		Severity:  firmware.SeverityHigh,
		Rationale: "whoever reaches the serial or local console gets a root shell without a password",
	}
	rulePresentRisky = firmware.Rule{
		ID: "NV-SVC-018", Title: "Remote-access or debug daemon present but not started at boot",
		Severity:  firmware.SeverityLow,
		Rationale: "not started by any boot path found, but one command (from a web page, a script or an attacker) starts it",
	}
	rulePresent = firmware.Rule{
		ID: "NV-SVC-019", Title: "Network daemon present but not started at boot",
		Severity:  firmware.SeverityInfo,
		Rationale: "listed so the exposure inventory is complete",
	}
)

var allRules = []firmware.Rule{
	ruleTelnetShell, ruleTelnetLogin, ruleShellOnPort, ruleRsh, ruleRshTrustAll, ruleTFTP, ruleGDB,
	ruleListener, ruleSSHPassword, ruleSSHWeak, ruleSSHNoRootPw, ruleSSHKeys, ruleFTP, ruleFTPAnon,
	ruleSNMP, ruleWeb, ruleConsoleShell, rulePresentRisky, rulePresent,
}
