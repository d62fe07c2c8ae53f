package services

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/netvet/netvet/internal/firmware"
)

// checkLines verifies that a parser's line positions point into src.
func checkLine(t *testing.T, src string, l textLine) {
	t.Helper()
	if l.no < 1 || l.off < 0 || l.off > int64(len(src)) || !strings.HasPrefix(src[l.off:], l.text) {
		t.Fatalf("bad line %+v", l)
	}
	if l.off > 0 && src[l.off-1] != '\n' {
		t.Fatalf("offset %d is not a line start", l.off)
	}
}

func FuzzInittab(f *testing.F) {
	for _, s := range []string{
		"::sysinit:/etc/init.d/rcS\nttyS0::askfirst:-/bin/sh\n",
		"id:3:initdefault:\nT0:23:respawn:/sbin/getty -L ttyS0\n::::\n:::\n",
		"\r\n#\n::respawn:/usr/sbin/telnetd -l /bin/sh",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		for _, e := range parseInittab(src) {
			checkLine(t, src, e.line)
			_ = runsAtBoot(e, "3")
		}
	})
}

func FuzzUnit(f *testing.F) {
	for _, s := range []string{
		"[Service]\nExecStart=-/usr/sbin/in.telnetd\n",
		"[Socket]\nListenStream=23\nAccept=yes\n[Service]\nExecStart=/bin/a \\\n b \\\n",
		"[\n]\n=\n[Service\nExecStart\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		for _, k := range parseUnit(src) {
			checkLine(t, src, k.line)
			_ = execCommand(k.value)
		}
	})
}

func FuzzInetd(f *testing.F) {
	f.Add("telnet stream tcp nowait root /usr/sbin/telnetd telnetd -i -l /bin/sh\n")
	f.Add("9999 stream tcp nowait root /bin/sh sh -i\n# x\n\t\t\n")
	f.Fuzz(func(t *testing.T, src string) {
		for _, e := range parseInetd(src) {
			checkLine(t, src, e.line)
			if e.server == "" || len(e.args) > 256 {
				t.Fatalf("entry %+v", e)
			}
		}
		for _, x := range parseXinetd(src) {
			checkLine(t, src, x.head)
			for _, l := range x.lines {
				checkLine(t, src, l)
			}
		}
	})
}

func FuzzCrontab(f *testing.F) {
	f.Add("*/5 * * * * /bin/a % in\n@reboot /bin/b\nA=b\n", true)
	f.Add("1 2 3 4 5 root cmd\n@daily\n", false)
	f.Fuzz(func(t *testing.T, src string, system bool) {
		for _, c := range parseCrontab(src, system) {
			checkLine(t, src, c.line)
			if c.command == "" || c.schedule == "" {
				t.Fatalf("entry %+v", c)
			}
		}
	})
}

func FuzzConfigFiles(f *testing.F) {
	f.Add("config dropbear\n\toption PasswordAuth 'off'\nlist x \"a b\"\n")
	f.Add("PermitRootLogin yes\nMatch all\nPasswordAuthentication=no\n")
	f.Fuzz(func(t *testing.T, src string) {
		for _, s := range uciSections(src, "") {
			for _, l := range s.lines {
				checkLine(t, src, l)
			}
		}
		for _, o := range parseSSHDConfig(src) {
			checkLine(t, src, o.line)
		}
		for _, o := range parseKeyValue(src) {
			checkLine(t, src, o.line)
		}
	})
}

func FuzzShellMatch(f *testing.F) {
	f.Add("*.sh", "/etc/init.d/x.sh")
	f.Add("[!a-c]*?\\", "[x")
	f.Fuzz(func(t *testing.T, pat, s string) {
		if len(pat) > 64 || len(s) > 256 {
			return
		}
		got := shellMatch(pat, s)
		if !strings.ContainsAny(pat, "*?[\\") && got != (pat == s) {
			t.Fatalf("literal pattern %q vs %q: %v", pat, s, got)
		}
		if pat == "*" && !got {
			t.Fatal("* must match anything")
		}
	})
}

// FuzzParseScript checks the parser alone: it ends, and every command
// position lies inside the source.
func FuzzParseScript(f *testing.F) {
	for _, s := range []string{
		"for i in /etc/init.d/S??*; do $i start; done\n",
		"case \"$1\" in start) a;; *) b;; esac\nf() { g; }\n",
		"cat <<EOF\nx\nEOF\n$(( ( ))) `a` ${b} \"c\\\"\" 'd\n",
		"if a; then b; elif c; then d; else e; fi | while x; do y; done &&\n z || ( q )",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		var check func(ns []*node)
		check = func(ns []*node) {
			for _, n := range ns {
				if n.kind == nCmd && (n.off < 0 || n.off > int64(len(src)) || n.line < 1) {
					t.Fatalf("bad position %d line %d", n.off, n.line)
				}
				check(n.body)
				for _, a := range n.arms {
					check(a.body)
				}
			}
		}
		check(parseScript(src))
	})
}

// FuzzInitScript runs the whole analyser on a tree whose inittab, rcS,
// inetd.conf and crontab come from the fuzzer: it must end, and every
// finding must point into its file. The tree is made once and its files
// are rewritten for each input.
func FuzzInitScript(f *testing.F) {
	f.Add("::sysinit:/etc/init.d/rcS\n::respawn:/usr/sbin/telnetd -l /bin/sh\n", "#!/bin/sh\nfor i in /etc/init.d/S*; do $i start; done\nnc -l -p 1 -e /bin/sh &\n")
	f.Add("::sysinit:/etc/init.d/rcS S boot\n", "#!/bin/sh\nf() { f $1$1; }\nf x\n. /etc/init.d/rcS\neval \"$0\"\nsh -c \"$0 $@\"\n")
	f.Add("", "")
	dir := f.TempDir()
	root := &firmware.Root{Path: "img/rootfs", Format: "squashfs"}
	var files []*firmware.File
	disk := map[string]string{}
	add := func(p string, typ firmware.EntryType, link, data string) *firmware.File {
		fl := &firmware.File{Path: "img/rootfs" + p, FSPath: p, Root: root, Type: typ, Mode: 0o755, LinkTarget: link}
		if typ == firmware.TypeFile {
			fl.Disk = strings.ReplaceAll(strings.TrimPrefix(p, "/"), "/", "_")
			disk[p] = fl.Disk
			if err := os.WriteFile(filepath.Join(dir, fl.Disk), []byte(data), 0o644); err != nil {
				f.Fatal(err)
			}
			fl.Size = int64(len(data))
		}
		files = append(files, fl)
		return fl
	}
	for _, d := range []string{"/", "/bin", "/usr", "/usr/sbin", "/usr/bin", "/etc", "/etc/init.d", "/etc/crontabs"} {
		add(d, firmware.TypeDir, "", "")
	}
	add("/bin/busybox", firmware.TypeFile, "", bbApplets("telnetd", "nc", "inetd", "crond"))
	add("/bin/sh", firmware.TypeSymlink, "busybox", "")
	add("/usr/sbin/telnetd", firmware.TypeSymlink, "../../bin/busybox", "")
	add("/usr/bin/nc", firmware.TypeSymlink, "../../bin/busybox", "")
	add("/etc/init.d/S50x", firmware.TypeSymlink, "rcS", "")
	inittab := add("/etc/inittab", firmware.TypeFile, "", "")
	rcs := add("/etc/init.d/rcS", firmware.TypeFile, "", "")
	inetd := add("/etc/inetd.conf", firmware.TypeFile, "", "")
	cron := add("/etc/crontabs/root", firmware.TypeFile, "", "")
	tr, err := firmware.NewTree(dir, "", files)
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { tr.Close() })
	a := NewWithOptions(Options{})
	f.Fuzz(func(t *testing.T, tab, script string) {
		if len(tab) > 4096 || len(script) > 8192 {
			return
		}
		for fl, data := range map[*firmware.File]string{inittab: tab, rcs: script, inetd: script, cron: tab} {
			if err := os.WriteFile(filepath.Join(dir, fl.Disk), []byte(data), 0o644); err != nil {
				t.Fatal(err)
			}
			fl.Size = int64(len(data))
		}
		sizes := map[string]int{"/etc/inittab": len(tab), "/etc/init.d/rcS": len(script), "/etc/inetd.conf": len(script), "/etc/crontabs/root": len(tab)}
		err := a.Analyze(context.Background(), tr, firmware.ReporterFunc(func(fd firmware.Finding) {
			if n, ok := sizes[fd.FSPath]; ok && (fd.Offset > int64(n) || fd.Offset < -1) {
				t.Fatalf("offset %d outside %s (%d bytes)", fd.Offset, fd.FSPath, n)
			}
		}))
		if err != nil {
			t.Fatal(err)
		}
	})
}
