package secrets

import (
	"testing"

	"github.com/netvet/netvet/internal/firmware/fwtest"
)

// TestNotConfiguration: files from a Debian root that the line rules took
// for configuration (a Perl module, a README, lintian overrides, a manual
// page) raise nothing; the same line in /etc still does.
func TestNotConfiguration(t *testing.T) {
	tr := fwtest.FS(t,
		fwtest.FileEntry("/usr/lib/perl-base/Cwd.pm", "sub _win32_cwd {\n    $pwd = Win32::GetCwd();\n    $pwd =~ s:\\\\:/:g ;\n    return $pwd;\n}\n", 0o644),
		fwtest.FileEntry("/usr/share/doc/libc6/README.hesiod", "To use it, put\n\npasswd:\t  files hesiod\n\nin /etc/nsswitch.conf.\n", 0o644),
		fwtest.FileEntry("/usr/share/lintian/overrides/base-passwd", "base-passwd: no-debconf-config\n", 0o644),
		fwtest.FileEntry("/usr/share/man/man1/openssl-passphrase-options.1ssl", ".IX Item \"pass:password\"\n", 0o644),
		fwtest.FileEntry("/etc/app.conf", "secret = Xk9#mQ2$vL7pR4wZ\n", 0o644),
	)
	got := keys(analyze(t, New(), tr))
	if len(got) != 1 || got[0] != "NV-SECRET-006 /etc/app.conf:1" {
		t.Errorf("got %v, want only NV-SECRET-006 /etc/app.conf:1", got)
	}
}

// TestNameServiceAndPackages: Debian's nsswitch.conf and dpkg's log name
// the passwd database and the passwd package, not a password.
func TestNameServiceAndPackages(t *testing.T) {
	tr := fwtest.FS(t,
		fwtest.FileEntry("/etc/nsswitch.conf", "# /etc/nsswitch.conf\n\npasswd:         files\ngroup:          files\nshadow:         files\n", 0o644),
		fwtest.FileEntry("/usr/share/libc-bin/nsswitch.conf", "passwd:         files systemd\n", 0o644),
		fwtest.FileEntry("/var/log/dpkg.log", "2026-12-06 06:24:20 install base-passwd:amd64 <none> 3.6.1\n2026-12-06 06:25:23 status unpacked passwd:amd64 1:4.13+dfsg1-1+deb12u2\n", 0o644),
		fwtest.FileEntry("/etc/hosts.conf", "order hosts,bind\n", 0o644),
		fwtest.FileEntry("/etc/app.conf", "passwd: files\npasswd:Adm1nPass\n", 0o644),
	)
	got := keys(analyze(t, New(), tr))
	want := []string{"NV-SECRET-006 /etc/app.conf:2"}
	if len(got) != 1 || got[0] != want[0] {
		t.Errorf("got %v, want %v", got, want)
	}
}
