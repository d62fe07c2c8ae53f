package fsperm

import (
	"bytes"
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/netvet/netvet/internal/firmware"
	"github.com/netvet/netvet/internal/firmware/fwtest"
)

const elf = "\x7fELF\x02\x01\x01\x00 a program"

func bbBinary() string {
	return "\x7fELF\x01\x01\x01\x00" + strings.Repeat("\x00", 5000) + "BusyBox v1.36.1 (2024-03-01 10:00:00 UTC) multi-call binary.\x00[\x00[[\x00ash\x00sh\x00"
}

func run(t *testing.T, tr *firmware.Tree) []firmware.Finding {
	t.Helper()
	var got []firmware.Finding
	err := New().Analyze(context.Background(), tr, firmware.ReporterFunc(func(f firmware.Finding) { got = append(got, f) }))
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// want is one expected finding: rule, file and, when set, line and an
// evidence substring.
type want struct {
	rule, path string
	line       int
	offset     int64
	ev         string
}

func check(t *testing.T, got []firmware.Finding, wants []want) {
	t.Helper()
	if len(got) != len(wants) {
		for _, g := range got {
			t.Logf("got %s %s line %d off %d: %s", g.Rule, g.FSPath, g.Line, g.Offset, g.Evidence)
		}
		t.Fatalf("got %d findings, want %d", len(got), len(wants))
	}
	for _, w := range wants {
		ok := false
		for _, g := range got {
			if g.Rule == w.rule && g.FSPath == w.path && (w.line == 0 || g.Line == w.line) &&
				(w.offset == 0 || g.Offset == w.offset) && strings.Contains(g.Evidence, w.ev) && g.Analyzer == "fsperm" {
				ok = true
			}
		}
		if !ok {
			for _, g := range got {
				t.Logf("got %s %s line %d off %d: %s", g.Rule, g.FSPath, g.Line, g.Offset, g.Evidence)
			}
			t.Fatalf("missing %+v", w)
		}
	}
}

func TestFindings(t *testing.T) {
	dev := func(p string, typ firmware.EntryType, mode fs.FileMode) fwtest.FSEntry {
		return fwtest.FSEntry{Path: p, Type: typ, Mode: mode}
	}
	dir := func(p string, mode fs.FileMode) fwtest.FSEntry {
		return fwtest.FSEntry{Path: p, Type: firmware.TypeDir, Mode: mode}
	}
	suid := func(p, data string, mode fs.FileMode, uid int64) fwtest.FSEntry {
		return fwtest.FSEntry{Path: p, Data: data, Mode: mode, UID: uid}
	}
	const update = "#!/bin/sh\n# fetch and flash\nURL=http://update.vendor.example/fw/latest.bin\nwget -O /tmp/fw.bin $URL\nmtd write /tmp/fw.bin firmware\n"
	cases := []struct {
		name    string
		entries []fwtest.FSEntry
		wants   []want
	}{
		{"setuid bash", []fwtest.FSEntry{suid("/bin/bash", elf, 0o755|fs.ModeSetuid, 0)},
			[]want{{rule: "NV-FS-001", path: "/bin/bash", offset: -1, ev: "setuid 04755 owner 0:0 /bin/bash"}}},
		{"setuid shell in a dot directory", []fwtest.FSEntry{suid("/usr/lib/.cache/sh", elf, 0o755|fs.ModeSetuid, 0)},
			[]want{{rule: "NV-FS-002", path: "/usr/lib/.cache/sh", ev: "hidden directory .cache"}}},
		{"setuid file in tmp", []fwtest.FSEntry{suid("/tmp/helper", elf, 0o711|fs.ModeSetuid, 0)},
			[]want{{rule: "NV-FS-002", path: "/tmp/helper", ev: "setuid 04711 owner 0:0 /tmp/helper (under /tmp)"}}},
		{"setgid file under var", []fwtest.FSEntry{suid("/var/run/x", elf, 0o755|fs.ModeSetgid, 0)},
			[]want{{rule: "NV-FS-002", path: "/var/run/x", ev: "setgid 02755"}}},
		{"setuid cgi", []fwtest.FSEntry{suid("/usr/www/cgi-bin/ping.cgi", elf, 0o755|fs.ModeSetuid, 0)},
			[]want{{rule: "NV-FS-002", path: "/usr/www/cgi-bin/ping.cgi", ev: "web tree www"}}},
		{"setuid busybox", []fwtest.FSEntry{suid("/bin/busybox", bbBinary(), 0o755|fs.ModeSetuid, 0), fwtest.SymlinkEntry("/bin/sh", "busybox")},
			[]want{{rule: "NV-FS-003", path: "/bin/busybox", ev: "BusyBox"}}},
		{"setuid busybox named sh", []fwtest.FSEntry{suid("/bin/sh", bbBinary(), 0o755|fs.ModeSetuid, 0)},
			[]want{{rule: "NV-FS-003", path: "/bin/sh"}}},
		{"setuid root passwd", []fwtest.FSEntry{suid("/usr/bin/passwd", elf, 0o755|fs.ModeSetuid, 0)},
			[]want{{rule: "NV-FS-004", path: "/usr/bin/passwd"}}},
		{"setgid wall and setuid non-root", []fwtest.FSEntry{
			{Path: "/usr/bin/wall", Data: elf, Mode: 0o755 | fs.ModeSetgid, GID: 5},
			suid("/usr/bin/game", elf, 0o755|fs.ModeSetuid, 1000)},
			[]want{{rule: "NV-FS-005", path: "/usr/bin/wall", ev: "setgid 02755 owner 0:5"}, {rule: "NV-FS-005", path: "/usr/bin/game", ev: "owner 1000:0"}}},
		{"world-writable files and dirs", []fwtest.FSEntry{
			fwtest.FileEntry("/etc/config/network", "config x\n", 0o666),
			fwtest.FileEntry("/etc/init.d/S50app", "#!/bin/sh\necho hi\n", 0o777),
			dir("/tmp", 0o777|fs.ModeSticky),
			dir("/var/run", 0o777),
			dir("/usr/sbin", 0o777),
			dir("/etc/rc3.d", 0o777),
			dev("/dev/null", firmware.TypeCharDevice, 0o666),
			dev("/dev/ptyp0", firmware.TypeCharDevice, 0o666),
			dev("/dev/ttypf", firmware.TypeCharDevice, 0o666),
			dev("/dev/ttyS0", firmware.TypeCharDevice, 0o666),
			dev("/dev/mtdblock0", firmware.TypeBlockDevice, 0o666),
			fwtest.SymlinkEntry("/etc/localtime", "/tmp/TZ")},
			[]want{
				{rule: "NV-FS-006", path: "/etc/config/network", ev: "world-writable file 0666"},
				{rule: "NV-FS-007", path: "/etc/init.d/S50app"},
				{rule: "NV-FS-006", path: "/var/run", ev: "no sticky bit"},
				{rule: "NV-FS-007", path: "/usr/sbin"},
				{rule: "NV-FS-007", path: "/etc/rc3.d"},
				{rule: "NV-FS-006", path: "/dev/mtdblock0", ev: "blockdev"},
				{rule: "NV-FS-006", path: "/dev/ttyS0", ev: "chardev 0666"},
			}},
		{"memory device nodes", []fwtest.FSEntry{
			dev("/dev/mem", firmware.TypeCharDevice, 0o666),
			{Path: "/dev/kmem", Type: firmware.TypeCharDevice, Mode: 0o640, GID: 15}},
			[]want{{rule: "NV-FS-009", path: "/dev/mem", ev: "every user"}, {rule: "NV-FS-010", path: "/dev/kmem", ev: "0640 owner 0:15"}}},
		{"serial console in uEnv.txt", []fwtest.FSEntry{
			fwtest.FileEntry("/boot/uEnv.txt", "# board\nbootargs=console=ttyS0,115200 root=/dev/mmcblk0p2 rw\nuenvcmd=run boot\n", 0o644)},
			[]want{{rule: "NV-FS-008", path: "/boot/uEnv.txt", line: 2, offset: 17, ev: `serial console ttyS0,115200 in "bootargs=console=ttyS0,115200 root=/dev/mmcblk0p2 rw"`}}},
		{"vga console is not serial", []fwtest.FSEntry{
			fwtest.FileEntry("/boot/cmdline.txt", "console=tty1 root=/dev/sda2\n", 0o644)}, nil},
		{"console in an ordinary file is not looked at", []fwtest.FSEntry{
			fwtest.FileEntry("/usr/share/doc/readme", "console=ttyS0\n", 0o644)}, nil},
		{"devmem in a script", []fwtest.FSEntry{
			fwtest.FileEntry("/etc/init.d/gpio", "#!/bin/sh\n# devmem in a comment does not count\nstart() {\n\tdevmem 0x18040000 32 0x1\n\tdd if=/dev/mem bs=4 count=1 skip=1\n}\n", 0o755)},
			[]want{{rule: "NV-FS-011", path: "/etc/init.d/gpio", line: 4, ev: "(2 lines use physical memory)"}}},
		{"update over http with a variable", []fwtest.FSEntry{fwtest.FileEntry("/usr/sbin/fwupdate.sh", update, 0o755)},
			[]want{{rule: "NV-FS-012", path: "/usr/sbin/fwupdate.sh", line: 4, offset: int64(strings.Index(update, "wget")),
				ev: "fetches http://update.vendor.example/fw/latest.bin over a protocol with no integrity protection; the script then writes it to flash (line 5: mtd write)"}}},
		{"update checked with usign", []fwtest.FSEntry{fwtest.FileEntry("/usr/sbin/fwupdate.sh",
			update+"usign -V -m /tmp/fw.bin -P /etc/opkg/keys\n", 0o755)}, nil},
		{"update over https", []fwtest.FSEntry{fwtest.FileEntry("/usr/sbin/fwupdate.sh",
			strings.ReplaceAll(update, "http://", "https://"), 0o755)}, nil},
		{"tftp then sysupgrade", []fwtest.FSEntry{fwtest.FileEntry("/sbin/netboot",
			"#!/bin/ash\ncd /tmp\ntftp -g -r openwrt.bin 192.168.1.10\nsysupgrade -n /tmp/openwrt.bin\n", 0o755)},
			[]want{{rule: "NV-FS-012", path: "/sbin/netboot", line: 3, ev: "fetches a file by tftp"}}},
		{"pipe into a shell", []fwtest.FSEntry{fwtest.FileEntry("/usr/bin/remote-setup",
			"#!/bin/sh\nwget -qO- http://203.0.113.5/install | sh\n", 0o755)},
			[]want{{rule: "NV-FS-012", path: "/usr/bin/remote-setup", line: 2, ev: "runs or installs downloaded code"}}},
		{"connectivity check is not an update", []fwtest.FSEntry{fwtest.FileEntry("/usr/bin/netcheck",
			"#!/bin/sh\nwget -q -O /dev/null http://connectivity.example/\nchmod 644 /tmp/state\n", 0o755)}, nil},
		{"flash step before the download does not count", []fwtest.FSEntry{fwtest.FileEntry("/usr/bin/x.sh",
			"#!/bin/sh\nmtd write /tmp/a firmware\nwget -q -O /tmp/status http://203.0.113.5/ping\n", 0o755)}, nil},
		{"binary with a url is not a script", []fwtest.FSEntry{fwtest.FileEntry("/usr/bin/upd",
			"\x7fELF\x00wget http://x/fw.bin; mtd write", 0o755)}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			check(t, run(t, fwtest.FS(t, tc.entries...)), tc.wants)
		})
	}
}

// TestBootBlobOutsideFilesystem: a U-Boot environment partition carved
// from the image (no filesystem) is searched too, and a match in the
// image itself is left to the extracted blob.
func TestBootBlobOutsideFilesystem(t *testing.T) {
	dir := t.TempDir()
	env := append([]byte{0x12, 0x34, 0x56, 0x78}, []byte("baudrate=115200\x00bootargs=console=ttyAMA0,115200 earlycon root=/dev/mtdblock3\x00bootcmd=bootm\x00\x00")...)
	img := append(append([]byte("HEADER--"), env...), bytes.Repeat([]byte{0xff}, 64)...)
	if err := os.WriteFile(filepath.Join(dir, "img"), img, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "env"), env, 0o644); err != nil {
		t.Fatal(err)
	}
	files := []*firmware.File{
		{Path: "img.bin", Type: firmware.TypeFile, Disk: "img", UID: -1, GID: -1},
		{Path: "img.bin/8.ubootenv", Type: firmware.TypeFile, Disk: "env", UID: -1, GID: -1},
	}
	tr, err := firmware.NewTree(dir, "", files)
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	got := run(t, tr)
	if len(got) != 1 || got[0].Rule != "NV-FS-008" || got[0].Path != "img.bin/8.ubootenv" || got[0].Offset != int64(bytes.Index(env, []byte("console="))) {
		t.Fatalf("got %+v", got)
	}
	if !strings.Contains(got[0].Evidence, `"bootargs=console=ttyAMA0,115200 earlycon root=/dev/mtdblock3"`) {
		t.Fatalf("evidence %q", got[0].Evidence)
	}
}

// TestCleanRootfs: an ordinary OpenWrt-like tree gives nothing high or
// critical.
func TestCleanRootfs(t *testing.T) {
	tr := fwtest.FS(t,
		fwtest.FileEntry("/bin/busybox", bbBinary(), 0o755),
		fwtest.SymlinkEntry("/bin/sh", "busybox"),
		fwtest.SymlinkEntry("/bin/ash", "busybox"),
		fwtest.FileEntry("/usr/sbin/dropbear", elf, 0o755),
		fwtest.FSEntry{Path: "/tmp", Type: firmware.TypeDir, Mode: 0o777 | fs.ModeSticky},
		fwtest.SymlinkEntry("/var", "tmp"),
		fwtest.FSEntry{Path: "/dev/null", Type: firmware.TypeCharDevice, Mode: 0o666},
		fwtest.FSEntry{Path: "/dev/console", Type: firmware.TypeCharDevice, Mode: 0o600},
		fwtest.FileEntry("/etc/init.d/dropbear", "#!/bin/sh /etc/rc.common\nSTART=19\nUSE_PROCD=1\nPROG=/usr/sbin/dropbear\nstart_service() {\n\tprocd_open_instance\n\tprocd_set_param command \"$PROG\" -F -P /var/run/dropbear.pid -s\n\tprocd_close_instance\n}\n", 0o755),
		fwtest.FileEntry("/etc/init.d/sysntpd", "#!/bin/sh /etc/rc.common\nSTART=98\nstart() { ntpd -n -p 0.openwrt.pool.ntp.org; }\n", 0o755),
		fwtest.FileEntry("/sbin/sysupgrade", "#!/bin/sh\n. /lib/functions.sh\nfwtool -q -s /tmp/sysupgrade.ucert \"$IMAGE\"\nusign -V -q -x /tmp/sysupgrade.sig -P /etc/opkg/keys -m \"$IMAGE\"\nwget -O /tmp/fw.bin http://192.168.1.2/fw.bin\nmtd write /tmp/fw.bin firmware\n", 0o755),
		fwtest.FileEntry("/etc/passwd", "root:x:0:0:root:/root:/bin/ash\n", 0o644),
		fwtest.FSEntry{Path: "/usr/bin/passwd", Data: elf, Mode: 0o755},
	)
	for _, f := range run(t, tr) {
		if f.Severity >= firmware.SeverityHigh {
			t.Errorf("clean tree: %s %s %s", f.Rule, f.FSPath, f.Evidence)
		}
	}
}

func TestInfo(t *testing.T) {
	info := New().Info()
	if info.Name != "fsperm" || len(info.Rules) != 12 {
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

func TestStreamFindAcrossChunks(t *testing.T) {
	data := make([]byte, 3<<20)
	for _, off := range []int{0, 1<<20 - 3, 2<<20 - 1, 3<<20 - 8} {
		copy(data[off:], "console=")
	}
	tr := fwtest.FS(t, fwtest.FileEntry("/boot/blob", string(data), 0o644))
	f := tr.Files[len(tr.Files)-1]
	var got []int64
	if err := streamFind(context.Background(), tr, f, []byte("console="), 1<<30, func(o int64) bool { got = append(got, o); return true }); err != nil {
		t.Fatal(err)
	}
	want := []int64{0, 1<<20 - 3, 2<<20 - 1, 3<<20 - 8}
	if len(got) != len(want) {
		t.Fatalf("got %v want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("got %v want %v", got, want)
		}
	}
	// The cap is honoured.
	got = nil
	_ = streamFind(context.Background(), tr, f, []byte("console="), 1<<20, func(o int64) bool { got = append(got, o); return true })
	if len(got) != 1 {
		t.Fatalf("capped: got %v", got)
	}
}

// fuzzTree is a one-file tree whose content a fuzz target rewrites on
// each run, so that no folder is made per input.
type fuzzTree struct {
	dir string
	tr  *firmware.Tree
	f   *firmware.File
}

func newFuzzTree(f *testing.F, fspath string) *fuzzTree {
	dir := f.TempDir()
	disk := filepath.Join(dir, "file")
	if err := os.WriteFile(disk, nil, 0o644); err != nil {
		f.Fatal(err)
	}
	root := &firmware.Root{Path: "img/rootfs", Format: "squashfs"}
	file := &firmware.File{Path: "img/rootfs" + fspath, FSPath: fspath, Root: root, Type: firmware.TypeFile, Mode: 0o755, Disk: "file"}
	tr, err := firmware.NewTree(dir, "", []*firmware.File{file})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { tr.Close() })
	return &fuzzTree{dir: dir, tr: tr, f: file}
}

func (ft *fuzzTree) set(t *testing.T, data []byte) {
	if err := os.WriteFile(filepath.Join(ft.dir, "file"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	ft.f.Size = int64(len(data))
}

func FuzzScript(f *testing.F) {
	f.Add([]byte("#!/bin/sh\nURL=http://x/fw.bin\nwget $URL\nmtd write /tmp/fw.bin firmware\ndevmem 0x1 32\n"))
	f.Add([]byte("#!/bin/sh\nA=$B\nB=$A\nwget ${A}${B}\n'unterminated \"quote # x\n"))
	f.Add([]byte("#!/bin/ash\n" + strings.Repeat("X=$X$X\n", 10) + "tftp -g $X | sh\n"))
	a := NewWithOptions(Options{})
	ft := newFuzzTree(f, "/etc/init.d/x.sh")
	f.Fuzz(func(t *testing.T, data []byte) {
		ft.set(t, data)
		_ = a.checkScript(ft.tr, ft.f, func(r firmware.Rule, file *firmware.File, off int64, line int, ev string) {
			if off < -1 || off > int64(len(data)) || line < 0 {
				t.Fatalf("bad location %d %d", off, line)
			}
		})
	})
}

func FuzzCmdline(f *testing.F) {
	f.Add([]byte("bootargs=console=ttyS0,115200\x00"))
	f.Add([]byte("console=console=console=ttyAMA0"))
	a := NewWithOptions(Options{})
	ft := newFuzzTree(f, "/boot/uEnv.txt")
	f.Fuzz(func(t *testing.T, data []byte) {
		ft.set(t, data)
		got, err := a.scanCmdline(context.Background(), ft.tr, ft.f)
		if err != nil {
			t.Fatal(err)
		}
		for _, g := range got {
			if g.Offset < 0 || g.Offset >= int64(len(data)) || !strings.HasPrefix(string(data[g.Offset:]), "console=") {
				t.Fatalf("bad offset %d", g.Offset)
			}
		}
	})
}
