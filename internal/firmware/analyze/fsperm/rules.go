package fsperm

import "github.com/netvet/netvet/internal/firmware"

var (
	ruleSetuidShell = firmware.Rule{
		ID: "NV-FS-001", Title: "Setuid or setgid shell",
		Severity:   firmware.SeverityCritical,
		Rationale:  "any local user or any process that can run it gets a root shell",
		References: []string{"https://cwe.mitre.org/data/definitions/250.html"},
	}
	ruleSetuidOddPlace = firmware.Rule{
		ID: "NV-FS-002", Title: "Setuid or setgid file in a hidden, writable or web-served location",
		Severity:   firmware.SeverityCritical,
		Rationale:  "setuid programs belong in the system binary directories; one under /tmp, /var, /dev, a web root or a dot-directory is a classic planted root backdoor",
		References: []string{"https://attack.mitre.org/techniques/T1548/001/"},
	}
	ruleSetuidBusybox = firmware.Rule{
		ID: "NV-FS-003", Title: "Setuid BusyBox multi-call binary",
		Severity:  firmware.SeverityHigh,
		Rationale: "every applet, including sh, runs from a setuid-root binary; BusyBox only drops privileges for applets it was built to, which a static image cannot show",
	}
	ruleSetuidRoot = firmware.Rule{
		ID: "NV-FS-004", Title: "Setuid-root program",
		Severity:  firmware.SeverityLow,
		Rationale: "a setuid-root program is attack surface for local privilege escalation; listed for review",
	}
	ruleSetgidOther = firmware.Rule{
		ID: "NV-FS-005", Title: "Setgid program or setuid to a non-root owner",
		Severity:  firmware.SeverityInfo,
		Rationale: "runs with the privileges of another user or group; listed for review",
	}
	ruleWorldWritable = firmware.Rule{
		ID: "NV-FS-006", Title: "World-writable file or directory without the sticky bit",
		Severity:   firmware.SeverityMedium,
		Rationale:  "any local user or compromised service can change or replace what is there",
		References: []string{"https://cwe.mitre.org/data/definitions/732.html"},
	}
	ruleWorldWritableBoot = firmware.Rule{
		ID: "NV-FS-007", Title: "World-writable file or directory on a boot or system path",
		Severity:   firmware.SeverityHigh,
		Rationale:  "what is written there runs as root at the next boot, cron run or login",
		References: []string{"https://cwe.mitre.org/data/definitions/732.html"},
	}
	ruleSerialConsole = firmware.Rule{
		ID: "NV-FS-008", Title: "Serial console enabled on the kernel command line",
		Severity:   firmware.SeverityLow,
		Rationale:  "the kernel and init talk on a UART, a debug port reachable by anyone with the board; a shell on it is reported by the services analyser",
		References: []string{"https://www.kernel.org/doc/html/latest/admin-guide/serial-console.html"},
	}
	ruleMemNodeOpen = firmware.Rule{
		ID: "NV-FS-009", Title: "Physical or kernel memory device node accessible to all users",
		Severity:   firmware.SeverityHigh,
		Rationale:  "/dev/mem, /dev/kmem or /dev/port readable or writable by every user exposes all of memory, keys included",
		References: []string{"https://man7.org/linux/man-pages/man4/mem.4.html"},
	}
	ruleMemNode = firmware.Rule{
		ID: "NV-FS-010", Title: "Physical or kernel memory device node present",
		Severity:   firmware.SeverityLow,
		Rationale:  "a static /dev/mem, /dev/kmem or /dev/port node is a debug interface into all of memory for root and its group",
		References: []string{"https://man7.org/linux/man-pages/man4/mem.4.html"},
	}
	ruleDevmemScript = firmware.Rule{
		ID: "NV-FS-011", Title: "Script reads or writes physical memory (devmem, /dev/mem)",
		Severity:  firmware.SeverityLow,
		Rationale: "register pokes from scripts are a debug interface; check what is written and when",
	}
	ruleInsecureUpdate = firmware.Rule{
		ID: "NV-FS-012", Title: "Firmware or script fetched over plain HTTP, FTP or TFTP without a signature check",
		Severity:   firmware.SeverityHigh,
		Rationale:  "anyone on the path can substitute the download, and the script installs or runs it",
		References: []string{"https://cwe.mitre.org/data/definitions/494.html"},
	}
)

var allRules = []firmware.Rule{
	ruleSetuidShell, ruleSetuidOddPlace, ruleSetuidBusybox, ruleSetuidRoot, ruleSetgidOther,
	ruleWorldWritable, ruleWorldWritableBoot, ruleSerialConsole, ruleMemNodeOpen, ruleMemNode,
	ruleDevmemScript, ruleInsecureUpdate,
}
