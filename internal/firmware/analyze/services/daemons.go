package services

import "strings"

// kind groups daemons that are judged the same way.
type kind uint8

const (
	kNone kind = iota
	kTelnet
	kRsh
	kTFTP
	kFTP
	kSSHD
	kDropbear
	kWeb
	kSNMP
	kNetcat
	kSocat
	kGDB
	kShell // a command interpreter whose stdin/stdout is a network socket
)

var kindNames = map[kind]string{
	kTelnet: "telnet server", kRsh: "r-services daemon", kTFTP: "TFTP server", kFTP: "FTP server",
	kSSHD: "OpenSSH server", kDropbear: "Dropbear SSH server", kWeb: "web server", kSNMP: "SNMP agent",
	kNetcat: "netcat", kSocat: "socat", kGDB: "gdbserver", kShell: "shell",
}

// daemons maps program base names to their kind.
var daemons = map[string]kind{
	"telnetd": kTelnet, "utelnetd": kTelnet, "in.telnetd": kTelnet, "telnetd.busybox": kTelnet,
	"rshd": kRsh, "in.rshd": kRsh, "rlogind": kRsh, "in.rlogind": kRsh, "rexecd": kRsh, "in.rexecd": kRsh,
	"tftpd": kTFTP, "in.tftpd": kTFTP, "atftpd": kTFTP, "uftpd": kTFTP, "opentftpd": kTFTP,
	"ftpd": kFTP, "in.ftpd": kFTP, "vsftpd": kFTP, "proftpd": kFTP, "pure-ftpd": kFTP, "bftpd": kFTP,
	"sshd":     kSSHD,
	"dropbear": kDropbear,
	"uhttpd":   kWeb, "lighttpd": kWeb, "boa": kWeb, "goahead": kWeb, "webs": kWeb, "httpd": kWeb,
	"mini_httpd": kWeb, "nginx": kWeb, "thttpd": kWeb, "apache2": kWeb, "shttpd": kWeb, "mongoose": kWeb,
	"snmpd": kSNMP, "mini_snmpd": kSNMP,
	"nc": kNetcat, "netcat": kNetcat, "ncat": kNetcat, "nc.traditional": kNetcat, "nc.openbsd": kNetcat,
	"socat":     kSocat,
	"gdbserver": kGDB,
}

// shells are command interpreters.
var shells = map[string]bool{
	"sh": true, "ash": true, "bash": true, "dash": true, "hush": true, "msh": true,
	"zsh": true, "ksh": true, "mksh": true, "csh": true, "tcsh": true, "rbash": true,
}

func isShellName(s string) bool { return shells[strings.TrimPrefix(baseName(s), "-")] }

// riskyAbsent are the kinds whose mere presence is worth a low finding.
func riskyAbsent(k kind) bool {
	switch k {
	case kTelnet, kRsh, kTFTP, kGDB:
		return true
	}
	return false
}

func baseName(p string) string {
	if i := strings.LastIndexByte(p, '/'); i >= 0 {
		return p[i+1:]
	}
	return p
}
