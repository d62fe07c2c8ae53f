package services

import (
	"strings"
	"testing"

	"github.com/netvet/netvet/internal/firmware"
	"github.com/netvet/netvet/internal/firmware/fwtest"
)

// dropbearInitBoot is dropbearInit with the boot() function OpenWrt's
// real script has: boot() calls rc.common's start, which runs
// start_service for procd scripts.
var dropbearInitBoot = strings.Replace(dropbearInit, "start_service()\n", "boot()\n{\n\tBOOT=1\n\tstart \"$@\"\n}\n\nstart_service()\n", 1)

// telnetInit is the shape of OpenWrt's old /etc/init.d/telnet: it only
// asks whether the SSH servers' init scripts are enabled.
const telnetInit = `#!/bin/sh /etc/rc.common
START=50
USE_PROCD=1
PROG=/usr/sbin/telnetd

has_ssh() {
	/etc/init.d/dropbear enabled 2> /dev/null && grep -qs "ssh-" /etc/dropbear/authorized_keys
}

start_service() {
	if ( ! /etc/init.d/dropbear enabled 2> /dev/null && ! /etc/init.d/sshd enabled 2> /dev/null ); then
		procd_open_instance
		procd_set_param command "$PROG" -F -l /bin/login.sh
		procd_close_instance
	fi
}
`

// TestOpenWrtStock: stock OpenWrt's dropbear (password logins on) is
// started from /etc/rc.d/S19dropbear through boot() -> start ->
// start_service, and "/etc/init.d/dropbear enabled" in another script
// is a query, not a start.
func TestOpenWrtStock(t *testing.T) {
	base := withoutLink(openwrtBase(), "/etc/init.d/dropbear")
	cases := []struct {
		name  string
		es    []fwtest.FSEntry
		wants []want
	}{
		{
			name: "procd dropbear with boot() and password logins",
			es: entries(busybox(), base, []fwtest.FSEntry{
				file("/etc/init.d/dropbear", dropbearInitBoot),
				fwtest.FileEntry("/etc/config/dropbear", "config dropbear\n\toption PasswordAuth 'on'\n\toption RootPasswordAuth 'on'\n\toption Port '22'\n", 0o644),
			}),
			wants: []want{
				{rule: "NV-SVC-009", path: "/etc/init.d/dropbear", ev: []string{"dropbear accepts password logins", "PasswordAuth on", "started at boot"}},
				{rule: "NV-SVC-016", path: "/etc/init.d/uhttpd"},
			},
		},
		{
			name: "enabled query in the telnet script starts nothing",
			es: entries(busybox("telnetd"), base, []fwtest.FSEntry{
				file("/etc/init.d/dropbear", dropbearInitBoot),
				fwtest.FileEntry("/etc/config/dropbear", "config dropbear\n\toption PasswordAuth 'off'\n\toption RootPasswordAuth 'off'\n", 0o644),
				file("/etc/init.d/telnet", telnetInit),
				fwtest.SymlinkEntry("/etc/rc.d/S50telnet", "../init.d/telnet"),
				file("/bin/login.sh", "#!/bin/sh\nexec /bin/ash --login\n"),
			}),
			wants: []want{
				{rule: "NV-SVC-012", path: "/etc/init.d/dropbear", ev: []string{"started at boot"}},
				{rule: "NV-SVC-016", path: "/etc/init.d/uhttpd"},
				{rule: "NV-SVC-002", path: "/etc/init.d/telnet", ev: []string{"telnetd with login program /bin/login.sh", "started at boot"}},
			},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := run(t, c.es)
			for _, g := range got {
				if g.FSPath == "/etc/init.d/telnet" && (strings.Contains(g.Evidence, "dropbear") || strings.Contains(g.Evidence, "sshd")) {
					t.Errorf("SSH server attributed to the telnet script: %s %s", g.Rule, g.Evidence)
				}
				if g.Rule == "NV-SVC-019" && g.FSPath == "/usr/sbin/dropbear" {
					t.Errorf("dropbear reported as not started: %s", g.Evidence)
				}
			}
			var keep []firmware.Finding
			for _, g := range got {
				if g.Severity > firmware.SeverityInfo || g.Rule == "NV-SVC-012" || g.Rule == "NV-SVC-016" {
					keep = append(keep, g)
				}
			}
			check(t, keep, c.wants)
		})
	}
}

// TestWrapperScriptIsDaemon: a wrapper script outside the init folders
// keeps counting as the daemon it is named after.
func TestWrapperScriptIsDaemon(t *testing.T) {
	got := run(t, entries(busybox(), []fwtest.FSEntry{
		file("/etc/inittab", "::respawn:/usr/sbin/telnetd -F -l /bin/sh\n"),
		file("/usr/sbin/telnetd", "#!/bin/sh\nexec /usr/sbin/telnetd.real \"$@\"\n"),
		file("/usr/sbin/telnetd.real", elf),
	}))
	for _, g := range got {
		if g.Rule == "NV-SVC-001" && g.FSPath == "/etc/inittab" {
			return
		}
	}
	for _, g := range got {
		t.Logf("got %s %s: %s", g.Rule, g.FSPath, g.Evidence)
	}
	t.Fatal("telnetd wrapper started by inittab not reported as NV-SVC-001")
}
