package services

import (
	"fmt"
	"path"
	"sort"
	"strings"

	"github.com/netvet/netvet/internal/firmware"
)

// walkRoot follows every boot path of the root, then the init scripts and
// units nothing starts.
func (w *walker) walkRoot() {
	level := w.inittab()
	w.rcLinks(level)
	w.systemd()
	w.superServers()
	w.unusedInitScripts()
}

func (w *walker) bootEnv(how string, boot bool) *env {
	return &env{vars: map[string]string{}, funcs: map[string]*funcDef{}, boot: boot, how: how}
}

func (w *walker) readText(f *firmware.File) (string, bool) { return w.readFile(f) }

// inittab runs the boot entries of /etc/inittab, or BusyBox init's
// built-in defaults when there is none. It returns the default runlevel.
func (w *walker) inittab() string {
	f := w.root.Lookup("/etc/inittab")
	src, ok := w.readText(f)
	if !ok {
		w.noInittab()
		return ""
	}
	entries := parseInittab(src)
	level := ""
	for _, e := range entries {
		if e.action == "initdefault" && e.runlevels != "" {
			level = e.runlevels[:1]
		}
	}
	for _, e := range entries {
		if w.stop() {
			return level
		}
		if !runsAtBoot(e, level) {
			continue
		}
		proc := strings.TrimLeft(e.process, "-+")
		s := site{file: f, line: e.line.no, off: e.line.off, text: strings.TrimSpace(e.line.text)}
		en := w.bootEnv("inittab ("+e.action+")", true)
		en.fixed = &s
		if consoleActions[e.action] {
			w.consoleShell(e, proc, s, en)
		}
		w.exec(parseScript(proc), en, false, false)
	}
	return level
}

// noInittab handles a root without /etc/inittab: BusyBox init then runs
// /etc/init.d/rcS and an askfirst shell on the console; other inits are
// given the usual rc scripts.
func (w *walker) noInittab() {
	init := w.root.Lookup("/sbin/init")
	if init != nil && w.bb.is(w.ctx, init) {
		link := w.root.Get("/sbin/init")
		if w.bb.hasApplet(w.ctx, init, "sh") || w.bb.hasApplet(w.ctx, init, "ash") {
			fd := ruleConsoleShell.Finding(link, -1,
				"no /etc/inittab: BusyBox init (/sbin/init -> "+init.FSPath+") falls back to ::askfirst:-/bin/sh on the console, a root shell with no login")
			w.direct = append(w.direct, fd)
		}
		if rcs := w.root.Lookup("/etc/init.d/rcS"); rcs != nil && rcs.Type == firmware.TypeFile {
			s := site{file: link, off: -1, text: "BusyBox init built-in ::sysinit:/etc/init.d/rcS"}
			w.follow(rcs, nil, w.bootEnv("BusyBox init (built-in sysinit)", true), s, false)
		}
		return
	}
	if init != nil && strings.Contains(init.FSPath, "systemd") {
		return
	}
	for _, p := range []string{"/etc/init.d/rcS", "/etc/rcS", "/etc/rc"} {
		if f := w.root.Lookup(p); f != nil && f.Type == firmware.TypeFile {
			w.follow(f, nil, w.bootEnv("boot script", true), site{}, false)
		}
	}
}

// consoleShell reports an inittab entry that puts a shell, or a login
// that asks for no password, on a terminal.
func (w *walker) consoleShell(e inittabEntry, proc string, s site, en *env) {
	words := strings.Fields(proc)
	if len(words) == 0 {
		return
	}
	prog, args := words[0], words[1:]
	base := baseName(prog)
	if f := w.resolveProg(prog, en); f != nil && w.bb.is(w.ctx, f) && !w.bb.hasApplet(w.ctx, f, base) {
		return
	}
	what := ""
	switch {
	case isShellName(base):
		for _, a := range args {
			if !strings.HasPrefix(a, "-") {
				return // runs a script or a command, not an interactive shell
			}
		}
		what = "runs " + prog + " with no login"
	case base == "login":
		for i, a := range args {
			if a == "-f" && i+1 < len(args) {
				what = "logs in " + args[i+1] + " without a password (login -f)"
			}
		}
	case base == "getty" || base == "agetty" || base == "mingetty":
		noPrompt := false
		loginProg := ""
		for i, a := range args {
			switch {
			case a == "-n" || a == "--skip-login":
				noPrompt = true
			case (a == "-l" || a == "--login-program") && i+1 < len(args):
				loginProg = args[i+1]
			case (a == "-a" || a == "--autologin") && i+1 < len(args):
				what = "logs in " + args[i+1] + " automatically (" + a + ")"
			case strings.HasPrefix(a, "--autologin="):
				what = "logs in " + strings.TrimPrefix(a, "--autologin=") + " automatically"
			}
		}
		if noPrompt && loginProg != "" && isShellName(loginProg) {
			what = "runs " + loginProg + " instead of login (-n -l)"
		}
	}
	if what == "" && interactiveActions[e.action] {
		if f := w.resolveProg(prog, en); f != nil && !w.bb.is(w.ctx, f) {
			what = w.scriptShell(f)
		}
	}
	if what == "" {
		return
	}
	tty := e.id
	if !strings.HasPrefix(tty, "tty") && tty != "console" {
		tty = ""
		for _, a := range args {
			if strings.HasPrefix(a, "tty") || a == "console" || strings.HasPrefix(a, "/dev/tty") {
				tty = strings.TrimPrefix(a, "/dev/")
			}
		}
	}
	if tty == "" {
		tty = "console"
	}
	ev := fmt.Sprintf("%s line %d (%s) %s on %s: %q", s.file.FSPath, s.line, e.action, what, tty, clip(s.text))
	fd := ruleConsoleShell.Finding(s.file, s.off, ev)
	fd.Line = s.line
	w.direct = append(w.direct, fd)
}

// scriptShell looks into a console program that is a script (OpenWrt's
// /usr/libexec/login.sh, vendor login wrappers) for a command that starts
// an interactive shell: a shell with no script or command argument.
func (w *walker) scriptShell(f *firmware.File) string {
	p := w.load(f)
	if !p.ok {
		return ""
	}
	found := ""
	var walk func(ns []*node, cond bool)
	walk = func(ns []*node, cond bool) {
		for _, n := range ns {
			if found != "" {
				return
			}
			switch n.kind {
			case nCmd:
				ws := n.words
				for len(ws) > 0 && (ws[0].lit == "exec" || assignWord.MatchString(ws[0].lit)) {
					ws = ws[1:]
				}
				if len(ws) == 0 || !isShellName(ws[0].lit) {
					continue
				}
				interactive := true
				for _, a := range ws[1:] {
					if !strings.HasPrefix(a.lit, "-") || a.lit == "-c" {
						interactive = false
					}
				}
				if interactive {
					var args []string
					for _, a := range ws {
						args = append(args, a.lit)
					}
					found = fmt.Sprintf("runs %s, which starts %q without login at line %d", f.FSPath, strings.Join(args, " "), n.line)
					if cond {
						found += " (under a condition the image cannot settle)"
					}
				}
			case nList:
				walk(n.body, cond || n.cond)
			case nCase:
				for _, a := range n.arms {
					walk(a.body, true)
				}
			case nFor, nFunc:
				walk(n.body, true)
			}
		}
	}
	walk(p.ast, false)
	return found
}

// interactiveActions put a program on a terminal for a person to use.
var interactiveActions = map[string]bool{"respawn": true, "askfirst": true, "askconsole": true}

// rcLinks runs the scripts enabled by S links: OpenWrt's /etc/rc.d and
// the SysV runlevel directories.
func (w *walker) rcLinks(level string) {
	dirs := []string{"/etc/rc.d"}
	levels := []string{"S"}
	if level != "" {
		levels = append(levels, level)
	} else {
		levels = append(levels, "2", "3", "5")
	}
	for _, l := range levels {
		dirs = append(dirs, "/etc/rc"+l+".d", "/etc/rc.d/rc"+l+".d")
	}
	for _, d := range dirs {
		for _, p := range w.glob(d + "/S*") {
			if w.stop() {
				return
			}
			link := w.root.Get(p)
			target := w.root.Lookup(p)
			if link == nil || target == nil || target.Type != firmware.TypeFile {
				continue
			}
			arg := "start"
			if pr := w.load(target); pr.ok && strings.Contains(firstLine(pr.src), "rc.common") {
				arg = "boot"
			}
			s := site{file: link, off: -1}
			w.follow(target, []string{arg}, w.bootEnv("init script enabled by "+p, true), s, false)
		}
	}
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

var unitDirs = []string{
	"/etc/systemd/system", "/run/systemd/system", "/usr/local/lib/systemd/system",
	"/lib/systemd/system", "/usr/lib/systemd/system",
}

// systemd runs the ExecStart lines of enabled service and socket units,
// and, as not started at boot, those of the others.
func (w *walker) systemd() {
	units := map[string]*firmware.File{}
	masked := map[string]bool{}
	enabled := map[string]string{}
	for _, f := range w.root.Files() {
		dir, name := path.Split(f.FSPath)
		dir = strings.TrimSuffix(dir, "/")
		for _, ud := range unitDirs {
			switch {
			case dir == ud:
				if !(strings.HasSuffix(name, ".service") || strings.HasSuffix(name, ".socket")) {
					continue
				}
				if f.Type == firmware.TypeSymlink && f.LinkTarget == "/dev/null" {
					masked[name] = true
					continue
				}
				if _, ok := units[name]; !ok {
					if t := w.root.Lookup(f.FSPath); t != nil && t.Type == firmware.TypeFile {
						units[name] = t
					}
				}
			case strings.HasPrefix(dir, ud+"/") && (strings.HasSuffix(dir, ".wants") || strings.HasSuffix(dir, ".requires")) && !strings.Contains(dir[len(ud)+1:], "/"):
				if _, ok := enabled[name]; !ok {
					enabled[name] = f.FSPath
				}
			}
		}
	}
	if len(units) == 0 {
		return
	}
	isEnabled := func(name string) (string, bool) {
		if l, ok := enabled[name]; ok {
			return l, true
		}
		// A template foo@.service is enabled through instances foo@x.service.
		if i := strings.IndexByte(name, '@'); i >= 0 && strings.HasPrefix(name[i:], "@.") {
			prefix, suffix := name[:i+1], name[i+1:]
			for n, l := range enabled {
				if strings.HasPrefix(n, prefix) && strings.HasSuffix(n, suffix) {
					return l, true
				}
			}
		}
		return "", false
	}
	names := make([]string, 0, len(units))
	for n := range units {
		names = append(names, n)
	}
	sort.Strings(names)
	bySocket := map[string]bool{}
	for _, n := range names {
		if !strings.HasSuffix(n, ".socket") || masked[n] {
			continue
		}
		link, on := isEnabled(n)
		src, ok := w.readText(units[n])
		if !ok {
			continue
		}
		keys := parseUnit(src)
		accept := false
		svc := ""
		var listen []string
		for _, k := range keys {
			if k.section != "Socket" {
				continue
			}
			switch k.key {
			case "Accept":
				accept = uciTrue(k.value)
			case "Service":
				svc = k.value
			case "ListenStream", "ListenDatagram", "ListenSequentialPacket":
				listen = append(listen, k.value)
			}
		}
		if svc == "" {
			svc = strings.TrimSuffix(n, ".socket")
			if accept {
				svc += "@"
			}
			svc += ".service"
		}
		bySocket[svc] = true
		how := "systemd socket " + n + " (listening on " + strings.Join(listen, ", ") + ")"
		if on {
			how += " enabled by " + link
		}
		if f, ok := units[svc]; ok && !masked[svc] {
			w.unitExec(f, svc, how, on, accept)
		}
	}
	for _, n := range names {
		if !strings.HasSuffix(n, ".service") || masked[n] || bySocket[n] {
			continue
		}
		link, on := isEnabled(n)
		how := "systemd unit " + n
		if on {
			how += " enabled by " + link
		} else {
			how += " (not enabled)"
		}
		w.unitExec(units[n], n, how, on, false)
	}
}

func (w *walker) unitExec(f *firmware.File, name, how string, boot, onPort bool) {
	src, ok := w.readText(f)
	if !ok {
		return
	}
	w.seen[f] = true
	for _, k := range parseUnit(src) {
		// ExecStartPre/Post run helpers that must exit; only ExecStart
		// is the service.
		if k.section != "Service" || k.key != "ExecStart" {
			continue
		}
		if w.stop() {
			return
		}
		s := site{file: f, line: k.line.no, off: k.line.off, text: strings.TrimSpace(k.line.text)}
		en := w.bootEnv(how, boot)
		en.fixed = &s
		en.file = f
		words := parseScript(execCommand(k.value))
		if onPort {
			for _, n := range words {
				if n.kind == nCmd {
					w.dispatch(en.expandWords(n.words), en, s, false, false, true)
				}
			}
			continue
		}
		w.exec(words, en, false, false)
	}
}

// superServers reads inetd.conf, xinetd and the crontabs; their entries
// start at boot when the super-server itself does.
func (w *walker) superServers() {
	inetdBoot := w.startedAtBoot("inetd")
	confs := configArgs(w.started["inetd"], []string{"/etc/inetd.conf"})
	for _, p := range confs {
		f := w.root.Lookup(p)
		src, ok := w.readText(f)
		if !ok {
			continue
		}
		for _, e := range parseInetd(src) {
			if w.stop() {
				return
			}
			if e.server == "internal" {
				continue
			}
			s := site{file: f, line: e.line.no, off: e.line.off, text: strings.TrimSpace(e.line.text)}
			how := "inetd (" + e.service + "/" + e.proto + ")"
			if !inetdBoot {
				how = "inetd (" + e.service + "/" + e.proto + ", inetd not started at boot)"
			}
			en := w.bootEnv(how, inetdBoot)
			en.fixed = &s
			words := []string{e.server}
			if baseName(e.server) == "busybox" {
				words = append(words, e.args...)
			} else if len(e.args) > 1 {
				words = append(words, e.args[1:]...)
			}
			w.dispatch(words, en, s, false, false, true)
		}
	}
	xBoot := w.startedAtBoot("xinetd")
	var xfiles []*firmware.File
	if f := w.root.Lookup("/etc/xinetd.conf"); f != nil {
		xfiles = append(xfiles, f)
	}
	for _, p := range w.glob("/etc/xinetd.d/*") {
		if f := w.root.Lookup(p); f != nil {
			xfiles = append(xfiles, f)
		}
	}
	for _, f := range xfiles {
		src, ok := w.readText(f)
		if !ok {
			continue
		}
		for _, svc := range parseXinetd(src) {
			server := svc.attrs["server"]
			if server == "" || strings.EqualFold(svc.attrs["type"], "INTERNAL") {
				continue
			}
			l, ok := svc.lines["server"]
			if !ok {
				l = svc.head
			}
			s := site{file: f, line: l.no, off: l.off, text: strings.TrimSpace(l.text)}
			boot := xBoot && !strings.EqualFold(svc.attrs["disable"], "yes")
			how := "xinetd service " + svc.name
			switch {
			case strings.EqualFold(svc.attrs["disable"], "yes"):
				how += " (disable = yes)"
			case !xBoot:
				how += " (xinetd not started at boot)"
			}
			en := w.bootEnv(how, boot)
			en.fixed = &s
			words := append([]string{server}, strings.Fields(svc.attrs["server_args"])...)
			w.dispatch(words, en, s, false, false, true)
		}
	}
	cronBoot := w.startedAtBoot("cron")
	type tab struct {
		f      *firmware.File
		system bool
	}
	var tabs []tab
	if f := w.root.Lookup("/etc/crontab"); f != nil {
		tabs = append(tabs, tab{f, true})
	}
	for _, p := range w.glob("/etc/cron.d/*") {
		tabs = append(tabs, tab{w.root.Lookup(p), true})
	}
	userDirs := []string{"/etc/crontabs", "/var/spool/cron/crontabs", "/var/spool/cron"}
	userDirs = append(userDirs, configArgs(optionValues(w.started["cron"], "-c"), nil)...)
	for _, d := range userDirs {
		for _, p := range w.glob(d + "/*") {
			tabs = append(tabs, tab{w.root.Lookup(p), false})
		}
	}
	done := map[*firmware.File]bool{}
	for _, tb := range tabs {
		if tb.f == nil || done[tb.f] {
			continue
		}
		done[tb.f] = true
		src, ok := w.readText(tb.f)
		if !ok {
			continue
		}
		for _, c := range parseCrontab(src, tb.system) {
			if w.stop() {
				return
			}
			s := site{file: tb.f, line: c.line.no, off: c.line.off, text: strings.TrimSpace(c.line.text)}
			how := "cron (" + c.schedule + ")"
			if !cronBoot {
				how = "cron (" + c.schedule + ", crond not started at boot)"
			}
			en := w.bootEnv(how, cronBoot)
			en.fixed = &s
			w.exec(parseScript(c.command), en, false, false)
		}
	}
}

func (w *walker) startedAtBoot(name string) bool {
	_, ok := w.started[name]
	return ok
}

// configArgs returns the non-option arguments (configuration paths), or
// def when there are none.
func configArgs(args []string, def []string) []string {
	var out []string
	for _, a := range args {
		if strings.HasPrefix(a, "/") {
			out = append(out, a)
		}
	}
	if len(out) == 0 {
		return def
	}
	return out
}

func optionValues(args []string, opt string) []string {
	var out []string
	for i := 0; i+1 < len(args); i++ {
		if args[i] == opt {
			out = append(out, args[i+1])
		}
	}
	return out
}

// unusedInitScripts runs, as not started at boot, the init scripts that
// no boot path reached.
func (w *walker) unusedInitScripts() {
	for _, d := range []string{"/etc/init.d", "/etc/rc.d/init.d"} {
		for _, p := range w.glob(d + "/*") {
			if w.stop() {
				return
			}
			f := w.root.Lookup(p)
			if f == nil || f.Type != firmware.TypeFile || w.seen[f] {
				continue
			}
			name := path.Base(p)
			if name == "rcS" || name == "rc" || name == "rc.common" || strings.HasPrefix(name, "README") {
				continue
			}
			s := site{file: w.root.Get(p), off: -1}
			w.follow(f, []string{"start"}, w.bootEnv("init script "+p+" (no boot path runs it)", false), s, false)
		}
	}
}
