// Package fsperm checks what the filesystems of an image allow and expose:
// setuid and setgid programs (shells, BusyBox, files in odd places),
// world-writable files and directories, debug interfaces (a serial
// console on the kernel command line, /dev/mem-style device nodes and
// scripts that poke memory) and update scripts that fetch code over
// plain HTTP, FTP or TFTP with no signature check.
//
// Script checks read shell scripts line by line with a tokenising
// heuristic: they see literal commands and simple NAME=value variables,
// not what the shell would compute at run time.
package fsperm

import (
	"context"
	"io/fs"
	"log/slog"
	"path"
	"strconv"
	"strings"

	"github.com/netvet/netvet/internal/firmware"
)

// Options tune the analyser. The zero value is usable.
type Options struct {
	Logger *slog.Logger
	// MaxScriptBytes caps the size of a script that is read (default 1 MiB).
	MaxScriptBytes int64
	// MaxScanBytes caps how much of a boot blob is searched for a kernel
	// command line (default 256 MiB).
	MaxScanBytes int64
}

// Analyzer is the filesystem permission and debug-interface analyser.
type Analyzer struct{ opts Options }

var _ firmware.Analyzer = (*Analyzer)(nil)

// New returns the analyser with default options.
func New() firmware.Analyzer { return NewWithOptions(Options{}) }

// NewWithOptions returns the analyser with the given options.
func NewWithOptions(o Options) *Analyzer {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.MaxScriptBytes <= 0 {
		o.MaxScriptBytes = 1 << 20
	}
	if o.MaxScanBytes <= 0 {
		o.MaxScanBytes = 256 << 20
	}
	return &Analyzer{opts: o}
}

const name = "fsperm"

// Info lists every rule.
func (a *Analyzer) Info() firmware.AnalyzerInfo {
	return firmware.AnalyzerInfo{
		Name:        name,
		Description: "setuid/setgid programs, world-writable paths, debug interfaces and unsigned plain-text updates",
		Rules:       append([]firmware.Rule(nil), allRules...),
	}
}

// Analyze checks every object of the tree.
func (a *Analyzer) Analyze(ctx context.Context, t *firmware.Tree, out firmware.Reporter) error {
	var found []firmware.Finding
	add := func(r firmware.Rule, f *firmware.File, off int64, line int, ev string) {
		fd := r.Finding(f, off, ev)
		fd.Line = line
		fd.Analyzer = name
		found = append(found, fd)
	}
	bb := newBusyboxCache(t)
	for _, f := range t.Files {
		if err := ctx.Err(); err != nil {
			return err
		}
		if f.Root == nil || !unixModes(f.Root) {
			continue
		}
		a.checkSetid(ctx, bb, f, add)
		checkWorldWritable(f, add)
		checkMemNode(f, add)
	}
	var cmdline []firmware.Finding
	for _, f := range t.Regular() {
		if err := ctx.Err(); err != nil {
			return err
		}
		if f.Root != nil {
			if err := a.checkScript(t, f, add); err != nil {
				a.opts.Logger.Debug("fsperm: script skipped", "path", f.Path, "err", err)
			}
		}
		if bootBlob(f) {
			hits, err := a.scanCmdline(ctx, t, f)
			if err != nil {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				a.opts.Logger.Debug("fsperm: boot blob skipped", "path", f.Path, "err", err)
			}
			cmdline = append(cmdline, hits...)
		}
	}
	found = append(found, dropAncestors(cmdline)...)
	firmware.SortFindings(found)
	for _, fd := range found {
		out.Report(fd)
	}
	return nil
}

// unixModes reports a root whose mode bits are the ones a device's file
// system has. A zip (a .jar or .apk in a root file system, or an update
// package) records modes only when the tool that made it chose to, often
// 0666 for everything, and its entries are never installed with them.
func unixModes(r *firmware.Root) bool { return r.Format != "zip" }

type addFunc func(r firmware.Rule, f *firmware.File, off int64, line int, ev string)

// shells are the base names of command interpreters.
var shells = map[string]bool{
	"sh": true, "ash": true, "bash": true, "dash": true, "hush": true, "msh": true,
	"zsh": true, "ksh": true, "mksh": true, "csh": true, "tcsh": true, "rbash": true,
}

// oddDirs are top-level directories where a setuid program has no
// business: writable at run time, device or web trees.
var oddDirs = map[string]bool{
	"tmp": true, "var": true, "dev": true, "www": true, "home": true, "mnt": true,
	"media": true, "run": true, "root": true, "proc": true, "sys": true, "data": true,
}

// webDirs mark web-served trees wherever they sit.
var webDirs = map[string]bool{"www": true, "htdocs": true, "cgi-bin": true, "webroot": true, "web": true}

func oddPlace(fspath string) (string, bool) {
	parts := strings.Split(strings.TrimPrefix(fspath, "/"), "/")
	if len(parts) > 1 && oddDirs[parts[0]] {
		return "under /" + parts[0], true
	}
	for i, p := range parts {
		if strings.HasPrefix(p, ".") && p != "." && p != ".." {
			if i == len(parts)-1 {
				return "hidden file name " + p, true
			}
			return "in hidden directory " + p, true
		}
		if i < len(parts)-1 && webDirs[p] {
			return "in web tree " + p, true
		}
	}
	return "", false
}

const (
	modeSetuid = fs.ModeSetuid
	modeSetgid = fs.ModeSetgid
	modeSticky = fs.ModeSticky
)

// modeString renders the mode the way ls and stat print it in octal.
func modeString(f *firmware.File) string {
	v := uint64(f.Mode.Perm())
	if f.Mode&modeSetuid != 0 {
		v |= 0o4000
	}
	if f.Mode&modeSetgid != 0 {
		v |= 0o2000
	}
	if f.Mode&modeSticky != 0 {
		v |= 0o1000
	}
	return "0" + strconv.FormatUint(v, 8)
}

func owner(f *firmware.File) string {
	uid, gid := "?", "?"
	if f.UID >= 0 {
		uid = strconv.FormatInt(f.UID, 10)
	}
	if f.GID >= 0 {
		gid = strconv.FormatInt(f.GID, 10)
	}
	return uid + ":" + gid
}

func (a *Analyzer) checkSetid(ctx context.Context, bb *busyboxCache, f *firmware.File, add addFunc) {
	if f.Type != firmware.TypeFile || f.Mode&(modeSetuid|modeSetgid) == 0 {
		return
	}
	kind := "setgid"
	if f.Mode&modeSetuid != 0 {
		kind = "setuid"
		if f.Mode&modeSetgid != 0 {
			kind = "setuid+setgid"
		}
	}
	ev := kind + " " + modeString(f) + " owner " + owner(f) + " " + f.FSPath
	rootOwned := f.UID <= 0 // 0 or unknown (-1)
	if where, ok := oddPlace(f.FSPath); ok {
		add(ruleSetuidOddPlace, f, -1, 0, ev+" ("+where+")")
		return
	}
	isBB := bb.is(ctx, f)
	if shells[f.Name()] && !isBB {
		add(ruleSetuidShell, f, -1, 0, ev+" (command interpreter)")
		return
	}
	if isBB {
		add(ruleSetuidBusybox, f, -1, 0, ev+" (BusyBox multi-call binary)")
		return
	}
	if f.Mode&modeSetuid != 0 && rootOwned {
		add(ruleSetuidRoot, f, -1, 0, ev)
		return
	}
	add(ruleSetgidOther, f, -1, 0, ev)
}

// harmlessDevices are device nodes that are world-writable by design.
var harmlessDevices = map[string]bool{
	"/dev/null": true, "/dev/zero": true, "/dev/full": true, "/dev/random": true,
	"/dev/urandom": true, "/dev/tty": true, "/dev/ptmx": true, "/dev/net/tun": true,
	"/dev/fuse": true, "/dev/kmsg": true,
}

// bootPaths are trees whose content runs as root at boot, from cron or at
// login, or is loaded into every process.
var bootPaths = []string{
	"/etc/init.d", "/etc/rc.d", "/etc/inittab", "/etc/rc", "/etc/rcS", "/etc/rc.local",
	"/etc/rc.common", "/etc/preinit", "/lib/preinit", "/etc/systemd", "/lib/systemd",
	"/usr/lib/systemd", "/etc/crontab", "/etc/crontabs", "/etc/cron.d", "/var/spool/cron",
	"/etc/hotplug.d", "/etc/profile", "/etc/profile.d", "/etc/inetd.conf", "/etc/xinetd.d",
	"/etc/xinetd.conf", "/etc/uci-defaults", "/etc/modules.d", "/etc/modules-load.d",
	"/etc/ld.so.preload", "/etc/ld.so.conf", "/bin", "/sbin", "/usr/bin", "/usr/sbin",
	"/lib", "/usr/lib", "/lib/modules",
}

func onBootPath(p string) bool {
	if p == "/" {
		return true
	}
	for _, b := range bootPaths {
		if p == b || strings.HasPrefix(p, b+"/") {
			return true
		}
	}
	// SysV runlevel directories /etc/rc0.d ... /etc/rcS.d.
	if strings.HasPrefix(p, "/etc/rc") {
		dir := strings.SplitN(strings.TrimPrefix(p, "/etc/"), "/", 2)[0]
		if strings.HasSuffix(dir, ".d") && len(dir) == len("rc0.d") {
			return true
		}
	}
	return false
}

func checkWorldWritable(f *firmware.File, add addFunc) {
	if f.Mode.Perm()&0o002 == 0 {
		return
	}
	switch f.Type {
	case firmware.TypeFile, firmware.TypeDir:
	case firmware.TypeCharDevice, firmware.TypeBlockDevice:
		if harmlessDevices[f.FSPath] || legacyPTY(f.FSPath) || memNode(f.FSPath) {
			return
		}
	default:
		return // symlinks are always 0777; FIFOs and sockets are runtime objects
	}
	if f.Type == firmware.TypeDir && f.Mode&modeSticky != 0 {
		return
	}
	what := f.Type.String()
	ev := "world-writable " + what + " " + modeString(f) + " owner " + owner(f) + " " + f.FSPath
	if f.Type == firmware.TypeDir {
		ev += " (no sticky bit: any user can delete or replace others' files)"
	}
	if onBootPath(f.FSPath) {
		add(ruleWorldWritableBoot, f, -1, 0, ev)
		return
	}
	add(ruleWorldWritable, f, -1, 0, ev)
}

// legacyPTY reports the BSD-style pseudo-terminals of a static /dev
// (/dev/ptyp0, /dev/ttyp0, ...), world-writable by design.
func legacyPTY(p string) bool {
	if !strings.HasPrefix(p, "/dev/") {
		return false
	}
	b := path.Base(p)
	if len(b) != 5 || (b[:3] != "pty" && b[:3] != "tty") {
		return false
	}
	c, d := b[3], b[4]
	return ((c >= 'p' && c <= 'z') || (c >= 'a' && c <= 'e')) && ((d >= '0' && d <= '9') || (d >= 'a' && d <= 'f'))
}

func memNode(p string) bool {
	if !strings.HasPrefix(p, "/dev/") {
		return false
	}
	switch path.Base(p) {
	case "mem", "kmem", "port":
		return true
	}
	return false
}

func checkMemNode(f *firmware.File, add addFunc) {
	if !memNode(f.FSPath) || (f.Type != firmware.TypeCharDevice && f.Type != firmware.TypeFile) {
		return
	}
	ev := f.Type.String() + " " + modeString(f) + " owner " + owner(f) + " " + f.FSPath
	if f.Mode.Perm()&0o006 != 0 {
		add(ruleMemNodeOpen, f, -1, 0, ev+" (readable or writable by every user)")
		return
	}
	add(ruleMemNode, f, -1, 0, ev)
}

// dropAncestors removes a finding when the same rule fired in a file
// extracted from it (the same bytes, seen at a more precise location).
func dropAncestors(list []firmware.Finding) []firmware.Finding {
	hasChild := map[string]bool{}
	for _, f := range list {
		for p := f.Path; ; {
			i := strings.LastIndexByte(p, '/')
			if i <= 0 {
				break
			}
			p = p[:i]
			hasChild[f.Rule+"\x00"+p] = true
		}
	}
	out := list[:0]
	for _, f := range list {
		if !hasChild[f.Rule+"\x00"+f.Path] {
			out = append(out, f)
		}
	}
	return out
}
