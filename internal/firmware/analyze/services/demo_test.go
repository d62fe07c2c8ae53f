package services_test

import (
	"context"
	"io/fs"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/netvet/netvet/internal/firmware"
	"github.com/netvet/netvet/internal/firmware/analyze/backdoor"
	"github.com/netvet/netvet/internal/firmware/analyze/fsperm"
	"github.com/netvet/netvet/internal/firmware/analyze/services"
	"github.com/netvet/netvet/internal/firmware/format/all"
	"github.com/netvet/netvet/internal/firmware/fwtest"
	"github.com/netvet/netvet/internal/unpack"
)

func unpackDemo(t *testing.T) *firmware.Tree {
	t.Helper()
	image := filepath.Join("..", "..", "..", "..", "examples", "firmware", "demo-router.bin")
	out := filepath.Join(t.TempDir(), "out")
	reg := all.Registry()
	m, err := unpack.Unpack(context.Background(), image, out, unpack.Options{Registry: reg, Limits: unpack.DefaultLimits(), Workers: 2})
	if err != nil {
		t.Fatalf("unpack %s: %v", image, err)
	}
	tr, err := m.Tree(out, image, reg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tr.Close() })
	return tr
}

func analyse(t *testing.T, tr *firmware.Tree, as ...firmware.Analyzer) []firmware.Finding {
	t.Helper()
	var got []firmware.Finding
	for _, a := range as {
		if err := a.Analyze(context.Background(), tr, firmware.ReporterFunc(func(f firmware.Finding) { got = append(got, f) })); err != nil {
			t.Fatal(err)
		}
	}
	return got
}

// TestDemoImage runs the three analysers on the bundled demo image,
// unpacked by the real driver, and checks each finding's line and offset
// against the extracted bytes.
func TestDemoImage(t *testing.T) {
	tr := unpackDemo(t)
	got := analyse(t, tr, services.New(), fsperm.New(), backdoor.New())
	want := []struct {
		rule, fspath string
		line         int
		text         string // what the line at the offset starts with
	}{
		{"NV-SVC-001", "/etc/inittab", 2, "::respawn:/usr/sbin/telnetd -F -l /bin/ash -p 2323"},
		{"NV-SVC-003", "/etc/init.d/rcS", 6, "/usr/bin/nc -l -p 9999 -e /bin/ash &"},
		{"NV-SVC-017", "/etc/inittab", 3, "ttyS0::respawn:/bin/ash"},
		{"NV-SVC-009", "/etc/init.d/rcS", 4, "/usr/sbin/dropbear -r /etc/dropbear/dropbear_rsa_host_key -p 22 &"},
		{"NV-FS-003", "/bin/busybox", 0, ""},
	}
	if len(got) != len(want) {
		for _, f := range got {
			t.Logf("%s %s:%d %s", f.Rule, f.FSPath, f.Line, f.Evidence)
		}
		t.Fatalf("got %d findings, want %d", len(got), len(want))
	}
	for i, w := range want {
		f := got[i]
		if f.Rule != w.rule || f.FSPath != w.fspath || f.Line != w.line {
			t.Fatalf("finding %d: got %s %s:%d, want %s %s:%d", i, f.Rule, f.FSPath, f.Line, w.rule, w.fspath, w.line)
		}
		if !strings.HasPrefix(f.Path, "demo-router.bin/") {
			t.Errorf("manifest path %q", f.Path)
		}
		if w.text == "" {
			continue
		}
		data, err := tr.ReadFile(tr.File(f.Path), 1<<20)
		if err != nil {
			t.Fatal(err)
		}
		if f.Offset < 0 || !strings.HasPrefix(string(data[f.Offset:]), w.text) {
			t.Errorf("%s: offset %d does not hold %q", f.Rule, f.Offset, w.text)
		}
		if !strings.Contains(f.Evidence, w.text) {
			t.Errorf("%s: evidence lacks the line: %s", f.Rule, f.Evidence)
		}
	}
	// Same image, same findings, same order.
	if again := analyse(t, tr, services.New(), fsperm.New(), backdoor.New()); !reflect.DeepEqual(again, got) {
		t.Fatal("second run differs")
	}
}

// TestCleanControl: a normal OpenWrt-like rootfs (BusyBox without setuid,
// dropbear on keys only, uhttpd, usign-checked sysupgrade) gives no high
// or critical finding from any of the three analysers.
func TestCleanControl(t *testing.T) {
	bb := "\x7fELF\x01\x01\x01\x00" + strings.Repeat("\x00", 4000) + "BusyBox v1.36.1 (2024-03-01 10:00:00 UTC) multi-call binary.\x00" +
		"\x00[\x00[[\x00ash\x00cat\x00echo\x00ls\x00mount\x00sh\x00sleep\x00nc\x00\x00"
	elf := "\x7fELF\x01\x01\x01\x00" + strings.Repeat("\x5a", 3000)
	dir := func(p string, m fs.FileMode) fwtest.FSEntry {
		return fwtest.FSEntry{Path: p, Type: firmware.TypeDir, Mode: m}
	}
	tr := fwtest.FS(t,
		fwtest.FileEntry("/bin/busybox", bb, 0o755),
		fwtest.SymlinkEntry("/bin/sh", "busybox"),
		fwtest.SymlinkEntry("/bin/ash", "busybox"),
		fwtest.SymlinkEntry("/usr/bin/nc", "../../bin/busybox"),
		fwtest.FileEntry("/sbin/procd", elf, 0o755),
		fwtest.SymlinkEntry("/sbin/init", "procd"),
		fwtest.FileEntry("/usr/sbin/dropbear", elf, 0o755),
		fwtest.FileEntry("/usr/sbin/uhttpd", elf, 0o755),
		dir("/tmp", 0o777|fs.ModeSticky),
		fwtest.SymlinkEntry("/var", "tmp"),
		fwtest.FSEntry{Path: "/dev/null", Type: firmware.TypeCharDevice, Mode: 0o666},
		fwtest.FileEntry("/etc/inittab", "::sysinit:/etc/init.d/rcS S boot\n::shutdown:/etc/init.d/rcS K shutdown\n::askconsole:/usr/libexec/login.sh\n", 0o644),
		fwtest.FileEntry("/usr/libexec/login.sh", "#!/bin/sh\nexec /bin/login\n", 0o755),
		fwtest.FileEntry("/etc/init.d/rcS", "#!/bin/sh\nrun_scripts() {\n\tfor i in /etc/rc.d/$1*; do\n\t\t[ -x $i ] && $i $2 2>&1\n\tdone\n}\nrun_scripts \"$1\" \"$2\" &\n", 0o755),
		fwtest.FileEntry("/etc/init.d/dropbear", "#!/bin/sh /etc/rc.common\nSTART=19\nUSE_PROCD=1\nPROG=/usr/sbin/dropbear\nstart_service() {\n\tprocd_open_instance\n\tprocd_set_param command \"$PROG\" -F -P /var/run/dropbear.pid -s -g\n\tprocd_close_instance\n}\n", 0o755),
		fwtest.SymlinkEntry("/etc/rc.d/S19dropbear", "../init.d/dropbear"),
		fwtest.FileEntry("/etc/init.d/uhttpd", "#!/bin/sh /etc/rc.common\nSTART=50\nUSE_PROCD=1\nstart_service() {\n\tprocd_open_instance\n\tprocd_set_param command /usr/sbin/uhttpd -f -h /www -p 0.0.0.0:80\n\tprocd_close_instance\n}\n", 0o755),
		fwtest.SymlinkEntry("/etc/rc.d/S50uhttpd", "../init.d/uhttpd"),
		fwtest.FileEntry("/sbin/sysupgrade", "#!/bin/sh\nwget -O /tmp/fw.bin http://192.168.1.2/fw.bin\nusign -V -q -m /tmp/fw.bin -P /etc/opkg/keys || exit 1\nmtd write /tmp/fw.bin firmware\n", 0o755),
		fwtest.FileEntry("/etc/passwd", "root:x:0:0:root:/root:/bin/ash\n", 0o644),
		fwtest.FileEntry("/www/index.html", "<html>router</html>", 0o644),
		fwtest.FileEntry("/boot/uEnv.txt", "bootargs=console=tty1 root=/dev/mmcblk0p2\n", 0o644),
	)
	got := analyse(t, tr, services.New(), fsperm.New(), backdoor.New())
	rules := map[string]bool{}
	for _, f := range got {
		rules[f.Rule] = true
		if f.Severity >= firmware.SeverityHigh {
			t.Errorf("clean control: %s %s %s:%d %s", f.Severity, f.Rule, f.FSPath, f.Line, f.Evidence)
		}
	}
	// The inventory is still there: dropbear (keys only) and uhttpd.
	if !rules["NV-SVC-012"] || !rules["NV-SVC-016"] {
		t.Errorf("want NV-SVC-012 and NV-SVC-016, got %v", rules)
	}
}
