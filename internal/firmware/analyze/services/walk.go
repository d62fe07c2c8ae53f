package services

import (
	"bytes"
	"context"
	"path"
	"regexp"
	"strings"

	"github.com/netvet/netvet/internal/firmware"
)

// site is where a program is started: a line of a script, of inittab, of
// a unit file, of inetd.conf or of a crontab.
type site struct {
	file *firmware.File
	line int
	off  int64
	text string
}

// launch is one start of a network daemon found in the boot files.
type launch struct {
	name   string         // daemon name: the applet or program base name
	kind   kind           // what it is
	prog   *firmware.File // resolved program, nil when not in the image
	viaBB  bool           // prog is BusyBox, name is the applet
	args   []string       // arguments after the program
	cond   map[int]bool   // indices of args appended under a condition
	site   site
	how    string   // "inittab (respawn)", "init script", "systemd unit ...", "inetd", "cron"
	chain  []string // how the site was reached, outermost first
	boot   bool
	onPort bool // stdin and stdout are a network connection (inetd, tcpsvd, socket units)
	// pipeShell: the daemon shares a pipeline with a shell (nc -l | sh).
	pipeShell bool
	// script is the text of the script holding the site, for daemon-specific
	// checks (OpenWrt's dropbear script reads UCI options).
	script string
	// unverified: BusyBox's applet list could not be read, so the applet
	// is assumed present.
	unverified bool
}

// key identifies the program a launch runs, to match launches with the
// files present.
func (l *launch) key() string {
	if l.prog == nil {
		return "?" + l.name
	}
	if l.viaBB {
		return l.prog.FSPath + "#" + l.name
	}
	return l.prog.FSPath
}

// env is the interpreter state of one script invocation.
type env struct {
	vars  map[string]string
	funcs map[string]*funcDef
	args  []string
	file  *firmware.File // the script, nil for inittab/unit/inetd/cron lines
	src   string
	lines []int // line start offsets of src
	chain []string
	boot  bool
	how   string
	// fixed, when set, is the site of every command (inittab, unit and
	// crontab lines hold one command each).
	fixed *site
	depth int
	procd *launch // last procd_set_param command, for procd_append_param
	// config is the UCI package named by config_load.
	config string
}

func (e *env) child() *env {
	c := *e
	c.vars = make(map[string]string, len(e.vars))
	for k, v := range e.vars {
		c.vars[k] = v
	}
	c.funcs = map[string]*funcDef{}
	c.procd = nil
	return &c
}

// control is what a command does to the flow of its script.
type control uint8

const (
	ctlNext control = iota
	ctlReturn
	ctlExit
)

const (
	maxDepth      = 16
	maxSteps      = 200000
	maxWork       = 32 << 20 // bytes of expanded words, parsed text and scripts per root
	maxLoopItems  = 512
	maxVisits     = 4  // per script and argument list
	maxPerScript  = 64 // per script, all argument lists together
	maxScripts    = 4096
	maxFuncDepth  = 32
	maxWordLength = 4096
	maxArgs       = 1024
)

// walker interprets the boot files of one root.
type walker struct {
	a     *Analyzer
	ctx   context.Context
	t     *firmware.Tree
	root  *firmware.Root
	bb    *busyboxCache
	steps int

	work     int64 // see maxWork
	launches []*launch
	direct   []firmware.Finding // findings made while walking (console shells)
	visits   map[string]int
	// perScript counts runs of each script, whatever the arguments.
	perScript map[*firmware.File]int
	running   map[*firmware.File]bool
	scripts   map[*firmware.File]*parsed
	nScripts  int
	// started records super-servers started at boot: inetd, xinetd, cron.
	started map[string][]string // name -> configuration paths named on the command line
	// visited init scripts, to find the ones nothing runs.
	seen map[*firmware.File]bool
	kids map[string][]*firmware.File // directory -> entries, see children
}

type parsed struct {
	src   string
	lines []int
	ast   []*node
	ok    bool
}

func newWalker(ctx context.Context, a *Analyzer, t *firmware.Tree, r *firmware.Root, bb *busyboxCache) *walker {
	return &walker{
		a: a, ctx: ctx, t: t, root: r, bb: bb,
		visits: map[string]int{}, perScript: map[*firmware.File]int{}, running: map[*firmware.File]bool{},
		scripts: map[*firmware.File]*parsed{}, started: map[string][]string{},
		seen: map[*firmware.File]bool{},
	}
}

func (w *walker) stop() bool {
	w.steps++
	return w.steps > maxSteps || w.work > maxWork || w.ctx.Err() != nil
}

// lineStarts indexes the start of every line.
func lineStarts(src string) []int {
	starts := []int{0}
	for i := 0; i < len(src); i++ {
		if src[i] == '\n' {
			starts = append(starts, i+1)
		}
	}
	return starts
}

func lineText(src string, starts []int, line int) string {
	if line < 1 || line > len(starts) {
		return ""
	}
	s := starts[line-1]
	e := len(src)
	if line < len(starts) {
		e = starts[line] - 1
	}
	return strings.TrimSpace(strings.TrimRight(src[s:e], "\r"))
}

// load reads and parses a script once.
func (w *walker) load(f *firmware.File) *parsed {
	if p, ok := w.scripts[f]; ok {
		return p
	}
	p := &parsed{}
	w.scripts[f] = p
	if w.nScripts >= maxScripts {
		return p
	}
	w.nScripts++
	data, err := w.t.ReadFile(f, w.a.opts.MaxScriptBytes)
	if err != nil || !isText(data) {
		return p
	}
	w.work += int64(len(data))
	p.src = string(data)
	p.lines = lineStarts(p.src)
	p.ast = parseScript(p.src)
	p.ok = true
	return p
}

// initScriptPath reports a path into an init script folder
// (/etc/init.d/sshd, /etc/rc.d/S50telnet), named after a daemon but never
// the daemon itself.
func initScriptPath(p string) bool {
	return strings.Contains(p, "/init.d/") || strings.Contains(p, "/rc.d/")
}

// isScript reports whether f starts with "#!", read from its first bytes
// only so that daemon binaries are not loaded.
func (w *walker) isScript(f *firmware.File) bool {
	head, err := w.t.ReadPrefix(f, 2)
	return err == nil && string(head) == "#!"
}

// isText reports whether data looks like a script rather than a binary.
func isText(data []byte) bool {
	head := data
	if len(head) > 4096 {
		head = head[:4096]
	}
	return bytes.IndexByte(head, 0) < 0 && !bytes.HasPrefix(data, []byte("\x7fELF"))
}

// --- interpretation -------------------------------------------------------

// exec runs a list of nodes. cond marks code that runs only if a test
// passes; a return or exit under a condition does not stop the walk.
func (w *walker) exec(nodes []*node, e *env, cond bool, pipeShell bool) control {
	for _, n := range nodes {
		if w.stop() {
			return ctlExit
		}
		if c := w.node(n, e, cond, pipeShell); c != ctlNext {
			return c
		}
	}
	return ctlNext
}

func (w *walker) node(n *node, e *env, cond, pipeShell bool) control {
	switch n.kind {
	case nCmd:
		return w.command(n, e, cond, pipeShell)
	case nList:
		c := w.exec(n.body, e, cond || n.cond, pipeShell)
		if n.cond && c == ctlReturn {
			return ctlNext
		}
		return c
	case nPipe:
		// A shell that reads commands from the pipe (no -c, no script)
		// makes the pipeline an interpreter for whatever flows in.
		shellIn := false
		for _, c := range n.body {
			if c.kind != nCmd || len(c.words) == 0 {
				continue
			}
			ws := e.expandWords(c.words)
			if len(ws) > 0 && ws[0] == "exec" {
				ws = ws[1:]
			}
			if len(ws) == 0 || !isShellName(ws[0]) {
				continue
			}
			interactive := true
			for _, a := range ws[1:] {
				if !strings.HasPrefix(a, "-") || a == "-c" {
					interactive = false
				}
			}
			shellIn = shellIn || interactive
		}
		for _, c := range n.body {
			w.node(c, e, cond, shellIn)
		}
		return ctlNext
	case nFor:
		var items []string
		for _, it := range e.expandWords(n.items) {
			items = append(items, w.glob(it)...)
			if len(items) >= maxLoopItems {
				break
			}
		}
		for _, it := range items {
			e.vars[n.name] = it
			if c := w.exec(n.body, e, cond, pipeShell); c == ctlExit {
				return c
			}
			if w.stop() {
				return ctlExit
			}
		}
		return ctlNext
	case nCase:
		subj := e.expandString(n.subject.lit)
		known := !unknown(subj)
		for _, arm := range n.arms {
			if known {
				if armMatches(arm, subj, e) {
					return w.exec(arm.body, e, cond, pipeShell)
				}
				continue
			}
			if stopOnly(arm, e) {
				continue
			}
			w.exec(arm.body, e, true, pipeShell)
		}
		return ctlNext
	case nFunc:
		if len(e.funcs) < 4096 {
			e.funcs[n.name] = &funcDef{n: n, file: e.file, src: e.src, lines: e.lines}
		}
		return ctlNext
	}
	return ctlNext
}

// stopOnly reports an arm that only handles stopping or status.
func stopOnly(arm caseArm, e *env) bool {
	if len(arm.patterns) == 0 {
		return false
	}
	for _, p := range arm.patterns {
		s := strings.ToLower(e.expandString(p.lit))
		if strings.Contains(s, "start") || s == "*" || strings.Contains(s, "boot") {
			return false
		}
		if !(strings.Contains(s, "stop") || s == "status" || s == "kill" || s == "shutdown" || s == "disable") {
			return false
		}
	}
	return true
}

var assignWord = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*=`)

// skipFunc names functions that never start anything at boot.
var skipFunc = map[string]bool{
	"stop": true, "stop_service": true, "shutdown": true, "status": true, "disable": true,
	"service_stopped": true, "reload_service": true, "service_triggers": true,
}

func (w *walker) command(n *node, e *env, cond, pipeShell bool) control {
	words := e.expandWords(n.words)
	for _, wd := range words {
		w.work += int64(len(wd)) + 1
	}
	// Leading assignments: alone they set variables, before a command
	// they only set its environment.
	i := 0
	for i < len(words) && assignWord.MatchString(words[i]) {
		i++
	}
	if i == len(words) {
		for _, a := range words {
			k, v, _ := strings.Cut(a, "=")
			if len(e.vars) < 10000 {
				e.vars[k] = v
			}
		}
		return ctlNext
	}
	words = words[i:]
	s := site{file: e.file, line: n.line, off: n.off}
	if e.fixed != nil {
		s = *e.fixed
	} else if e.file != nil {
		s.text = lineText(e.src, e.lines, n.line)
		if n.line >= 1 && n.line <= len(e.lines) {
			s.off = int64(e.lines[n.line-1])
		}
	}
	return w.dispatch(words, e, s, cond, pipeShell, false)
}

// dispatch handles one command: wrappers, sourcing, service helpers,
// daemons and scripts.
func (w *walker) dispatch(words []string, e *env, s site, cond, pipeShell, onPort bool) control {
	if len(words) == 0 || w.stop() {
		return ctlNext
	}
	cmd := words[0]
	base := baseName(cmd)
	switch base {
	case "return":
		if !cond {
			return ctlReturn
		}
		return ctlNext
	case "exit":
		if !cond {
			return ctlExit
		}
		return ctlNext
	case "exec", "nohup", "setsid", "time", "sudo", "doas", "command", "builtin":
		return w.dispatch(skipOpts(words[1:], nil), e, s, cond, pipeShell, onPort)
	case "nice", "ionice", "chrt", "taskset", "stdbuf", "timeout", "flock":
		return w.dispatch(skipWrapperArgs(base, words[1:]), e, s, cond, pipeShell, onPort)
	case "env":
		rest := words[1:]
		for len(rest) > 0 && (assignWord.MatchString(rest[0]) || strings.HasPrefix(rest[0], "-")) {
			if rest[0] == "-u" && len(rest) > 1 {
				rest = rest[1:]
			}
			rest = rest[1:]
		}
		return w.dispatch(rest, e, s, cond, pipeShell, onPort)
	case "daemon", "start_daemon", "service_start", "daemonize", "respawn", "su-exec", "chpst",
		"setuidgid", "envuidgid", "softlimit", "runas", "minijail0", "s6-setuidgid":
		// Helpers that take a program to run somewhere in their arguments.
		for j := 1; j < len(words); j++ {
			if strings.HasPrefix(words[j], "/") || daemons[baseName(words[j])] != kNone {
				return w.dispatch(words[j:], e, s, cond, pipeShell, onPort)
			}
		}
		return ctlNext
	case "su", "runuser":
		for j := 1; j+1 < len(words); j++ {
			if words[j] == "-c" {
				w.evalString(words[j+1], e, s, cond)
				break
			}
		}
		return ctlNext
	case "eval":
		w.evalString(strings.Join(words[1:], " "), e, s, cond)
		return ctlNext
	case "start-stop-daemon":
		return w.startStopDaemon(words[1:], e, s, cond, pipeShell)
	case "procd_set_param":
		if len(words) > 2 && words[1] == "command" {
			e.procd = w.program(words[2:], e, s, cond, pipeShell, onPort)
		}
		return ctlNext
	case "procd_append_param":
		if len(words) > 2 && words[1] == "command" && e.procd != nil && len(e.procd.args) < 256 {
			for _, a := range words[2:] {
				if cond {
					if e.procd.cond == nil {
						e.procd.cond = map[int]bool{}
					}
					e.procd.cond[len(e.procd.args)] = true
				}
				e.procd.args = append(e.procd.args, a)
			}
		}
		return ctlNext
	case "config_load":
		if len(words) > 1 {
			e.config = words[1]
		}
		return ctlNext
	case "config_foreach":
		if len(words) > 1 {
			w.configForeach(words[1], words[2:], e, cond)
		}
		return ctlNext
	case "uci_load_validate":
		// uci_load_validate PACKAGE TYPE SECTION CALLBACK SPEC...: OpenWrt
		// loads the section's options as variables (SPEC gives defaults as
		// NAME:TYPE:DEFAULT) and calls CALLBACK SECTION 0.
		if len(words) > 4 {
			w.uciLoadValidate(words[1], words[3], words[4], words[5:], e, cond)
		}
		return ctlNext
	case "local", "export", "readonly", "declare", "typeset":
		for _, a := range words[1:] {
			if k, v, ok := strings.Cut(a, "="); ok && assignWord.MatchString(a) && len(e.vars) < 10000 {
				e.vars[k] = v
			}
		}
		return ctlNext
	case "service":
		if len(words) > 2 {
			if f := w.root.Lookup("/etc/init.d/" + words[1]); f != nil {
				w.follow(f, words[2:], e, s, false)
			}
		}
		return ctlNext
	case "run-parts":
		w.runParts(words[1:], e, s)
		return ctlNext
	case "tcpsvd", "udpsvd":
		rest := skipOpts(words[1:], map[string]bool{"-c": true, "-C": true, "-b": true, "-u": true, "-l": true, "-t": true})
		if len(rest) >= 3 { // IP PORT PROG ARGS
			return w.dispatch(rest[2:], e, s, cond, pipeShell, true)
		}
		return ctlNext
	case ".", "source":
		if len(words) > 1 {
			if f := w.resolvePath(words[1], e); f != nil {
				w.source(f, words[2:], e, s)
			}
		}
		return ctlNext
	}
	// Emulated helpers come before shell functions of the same name.
	if fn, ok := e.funcs[cmd]; ok && !skipFunc[cmd] {
		return w.call(fn, words[1:], e, cond)
	}
	return w.run(words, e, s, cond, pipeShell, onPort)
}

// run handles a command that is not a helper: a shell, a daemon or a
// script.
func (w *walker) run(words []string, e *env, s site, cond, pipeShell, onPort bool) control {
	cmd := words[0]
	prog := w.resolveProg(cmd, e)
	name := baseName(cmd)
	if name == "busybox" && prog == nil {
		// BusyBox not found in this filesystem: judge the applet by name.
		if len(words) < 2 {
			return ctlNext
		}
		return w.run(words[1:], e, s, cond, pipeShell, onPort)
	}
	viaBB := false
	if prog != nil && w.bb.is(w.ctx, prog) {
		viaBB = true
		if name == "busybox" || strings.HasPrefix(name, "busybox") {
			if len(words) < 2 {
				return ctlNext
			}
			words = words[1:]
			name = baseName(words[0])
		}
		if !w.bb.hasApplet(w.ctx, prog, name) {
			return ctlNext // the command would fail: BusyBox lacks the applet
		}
	}
	if isShellName(name) {
		if onPort {
			w.record(name, kShell, prog, viaBB, words[1:], e, s, cond, pipeShell, onPort)
			return ctlNext
		}
		w.shell(words[1:], e, s, cond)
		return ctlNext
	}
	switch name {
	case "inetd", "xinetd", "crond", "cron":
		if e.boot {
			key := name
			if key == "crond" {
				key = "cron"
			}
			w.started[key] = append(w.started[key], words[1:]...)
		}
		return ctlNext
	}
	// An init script named after its daemon (/etc/init.d/dropbear) is a
	// script, not the daemon: "/etc/init.d/dropbear enabled" only asks
	// whether it is enabled. A wrapper script elsewhere (/usr/sbin/telnetd
	// running telnetd.real) still counts as the daemon it is named after.
	script := (prog != nil && !viaBB && prog.Type == firmware.TypeFile && initScriptPath(prog.FSPath) && w.isScript(prog)) ||
		(prog == nil && initScriptPath(cmd))
	if k := daemons[name]; k != kNone && !script {
		w.record(name, k, prog, viaBB, words[1:], e, s, cond, pipeShell, onPort)
		return ctlNext
	}
	if prog != nil && !viaBB && prog.Type == firmware.TypeFile {
		args := words[1:]
		if len(args) > 0 {
			switch args[0] {
			case "stop", "disable", "status", "reload", "shutdown", "enabled", "running":
				return ctlNext
			case "enable":
				args = append([]string{"start"}, args[1:]...)
			}
		}
		w.follow(prog, args, e, s, false)
	}
	return ctlNext
}

// program handles a procd command line and returns the launch it made.
func (w *walker) program(words []string, e *env, s site, cond, pipeShell, onPort bool) *launch {
	before := len(w.launches)
	w.dispatch(words, e, s, cond, pipeShell, onPort)
	if len(w.launches) > before {
		return w.launches[len(w.launches)-1]
	}
	return nil
}

func (w *walker) record(name string, k kind, prog *firmware.File, viaBB bool, args []string, e *env, s site, cond, pipeShell, onPort bool) {
	if len(w.launches) >= 10000 {
		return
	}
	if len(args) > 256 {
		args = args[:256]
	}
	l := &launch{
		name: name, kind: k, prog: prog, viaBB: viaBB, args: append([]string(nil), args...),
		site: s, how: e.how, chain: e.chain, boot: e.boot, onPort: onPort, pipeShell: pipeShell,
		script: e.src,
	}
	if viaBB && prog != nil {
		l.unverified = !w.bb.verified(w.ctx, prog)
	}
	w.launches = append(w.launches, l)
}

// shell handles sh/ash/bash ... : -c strings and script files.
func (w *walker) shell(args []string, e *env, s site, cond bool) {
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "-c" && i+1 < len(args) {
			w.evalString(args[i+1], e, s, cond)
			return
		}
		if strings.HasPrefix(a, "-") || strings.HasPrefix(a, "+") {
			continue
		}
		if f := w.resolvePath(a, e); f != nil {
			w.follow(f, args[i+1:], e, s, false)
		}
		return
	}
}

// evalString runs a command string (sh -c, eval, su -c) as part of the
// current site.
func (w *walker) evalString(src string, e *env, s site, cond bool) {
	if e.depth >= maxDepth || len(src) > 65536 {
		return
	}
	w.work += int64(len(src)) + 64
	c := e.child()
	c.funcs = e.funcs
	c.depth++
	c.fixed = &s
	w.exec(parseScript(src), c, cond, false)
}

// funcDef is a shell function and the script it was defined in, so that
// the lines of its body are read from the right file.
type funcDef struct {
	n     *node
	file  *firmware.File
	src   string
	lines []int
}

// call runs a shell function with positional arguments.
func (w *walker) call(fn *funcDef, args []string, e *env, cond bool) control {
	if e.depth >= maxFuncDepth {
		return ctlNext
	}
	savedArgs, savedFile, savedSrc, savedLines := e.args, e.file, e.src, e.lines
	e.args = args
	if e.fixed == nil {
		e.file, e.src, e.lines = fn.file, fn.src, fn.lines
	}
	e.depth++
	w.exec(fn.n.body, e, cond, false)
	e.depth--
	e.args, e.file, e.src, e.lines = savedArgs, savedFile, savedSrc, savedLines
	return ctlNext
}

func (w *walker) configForeach(fnName string, rest []string, e *env, cond bool) {
	fn, ok := e.funcs[fnName]
	if !ok {
		return
	}
	typ := ""
	if len(rest) > 0 {
		typ = rest[0]
	}
	sections := []string{"cfg"}
	if e.config != "" && !unknown(e.config) {
		f := w.root.Lookup("/etc/config/" + e.config)
		if f == nil {
			return // no configuration: OpenWrt starts no instance
		}
		if src, ok := w.readFile(f); ok {
			secs := uciSections(src, typ)
			if len(secs) == 0 {
				return
			}
			sections = sections[:0]
			for _, sec := range secs {
				sections = append(sections, sec.name)
			}
		}
	}
	for _, sec := range sections {
		w.call(fn, append([]string{sec}, rest[1:]...), e, cond)
	}
}

func (w *walker) uciLoadValidate(pkg, section, callback string, specs []string, e *env, cond bool) {
	fn, ok := e.funcs[callback]
	if !ok {
		return
	}
	for _, sp := range specs {
		f := strings.SplitN(sp, ":", 3)
		if len(f) == 3 && assignWord.MatchString(f[0]+"=") {
			e.vars[f[0]] = f[2]
		}
	}
	if !unknown(pkg) {
		if src, ok := w.readFile(w.root.Lookup("/etc/config/" + pkg)); ok {
			for _, sec := range uciSections(src, "") {
				if sec.name != section {
					continue
				}
				for k, v := range sec.opts {
					if assignWord.MatchString(k + "=") {
						e.vars[k] = v
					}
				}
			}
		}
	}
	w.call(fn, []string{section, "0"}, e, cond)
}

func (w *walker) readFile(f *firmware.File) (string, bool) {
	if f == nil || f.Type != firmware.TypeFile {
		return "", false
	}
	data, err := w.t.ReadFile(f, w.a.opts.MaxScriptBytes)
	if err != nil || !isText(data) {
		return "", false
	}
	return string(data), true
}

func (w *walker) startStopDaemon(args []string, e *env, s site, cond, pipeShell bool) control {
	start := false
	prog := ""
	var progArgs []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "-S" || a == "--start":
			start = true
		case a == "-K" || a == "--stop":
			return ctlNext
		case (a == "-x" || a == "--exec" || a == "-a" || a == "--startas") && i+1 < len(args):
			if prog == "" || a == "-a" || a == "--startas" {
				prog = args[i+1]
			}
			i++
		case strings.HasPrefix(a, "--exec=") || strings.HasPrefix(a, "--startas="):
			prog = a[strings.IndexByte(a, '=')+1:]
		case a == "--":
			progArgs = args[i+1:]
			i = len(args)
		case len(a) == 2 && a[0] == '-' && strings.IndexByte("pnuNcrgdPkm", a[1]) >= 0 && i+1 < len(args):
			i++ // option with a value
		case strings.HasPrefix(a, "-S") && len(a) > 2 && !strings.HasPrefix(a, "--"):
			start = true
		}
	}
	if !start || prog == "" {
		return ctlNext
	}
	return w.dispatch(append([]string{prog}, progArgs...), e, s, cond, pipeShell, false)
}

func (w *walker) runParts(args []string, e *env, s site) {
	var pass []string
	dir := ""
	for i := 0; i < len(args); i++ {
		switch {
		case (args[i] == "-a" || args[i] == "--arg") && i+1 < len(args):
			pass = append(pass, args[i+1])
			i++
		case strings.HasPrefix(args[i], "--arg="):
			pass = append(pass, strings.TrimPrefix(args[i], "--arg="))
		case strings.HasPrefix(args[i], "-"):
		default:
			dir = args[i]
		}
	}
	if dir == "" || unknown(dir) {
		return
	}
	for _, p := range w.glob(path.Join(dir, "*")) {
		name := path.Base(p)
		if !runPartsName.MatchString(name) {
			continue
		}
		if f := w.root.Lookup(p); f != nil && f.Type == firmware.TypeFile {
			w.follow(f, pass, e, s, false)
		}
	}
}

var runPartsName = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

// pathDirs is the search path for bare command names.
var pathDirs = []string{"/usr/sbin", "/usr/bin", "/sbin", "/bin", "/usr/local/sbin", "/usr/local/bin"}

// resolveProg finds the file a command name runs.
func (w *walker) resolveProg(cmd string, e *env) *firmware.File {
	if cmd == "" || unknown(cmd) {
		return nil
	}
	if strings.Contains(cmd, "/") {
		return w.resolvePath(cmd, e)
	}
	for _, d := range pathDirs {
		if f := w.root.Lookup(d + "/" + cmd); f != nil && f.Type == firmware.TypeFile {
			return f
		}
	}
	return nil
}

func (w *walker) resolvePath(p string, e *env) *firmware.File {
	if p == "" || unknown(p) {
		return nil
	}
	if !strings.HasPrefix(p, "/") {
		dir := "/"
		if e.file != nil {
			dir = path.Dir(e.file.FSPath)
		}
		p = path.Join(dir, p)
	}
	f := w.root.Lookup(p)
	if f == nil || f.Type != firmware.TypeFile {
		return nil
	}
	return f
}

// follow runs a script in a child environment: a new process that
// inherits the variables.
func (w *walker) follow(f *firmware.File, args []string, e *env, s site, shared bool) {
	if e.depth >= maxDepth || w.running[f] {
		return
	}
	key := f.FSPath + "\x00" + strings.Join(args, "\x00")
	if w.visits[key] >= maxVisits || len(w.visits) > 20000 || w.perScript[f] >= maxPerScript {
		return
	}
	w.perScript[f]++
	w.work += int64(len(key)) + 256
	w.visits[key]++
	p := w.load(f)
	if !p.ok {
		return
	}
	w.seen[f] = true
	c := e.child()
	if shared {
		c.vars = e.vars
		c.funcs = e.funcs
	}
	c.args = args
	c.file, c.src, c.lines = f, p.src, p.lines
	c.fixed = nil
	c.depth++
	c.config = ""
	c.chain = append(append([]string(nil), e.chain...), describeSite(s))
	w.running[f] = true
	w.exec(p.ast, c, false, false)
	w.rcCommon(p, c)
	delete(w.running, f)
}

// source runs a script in the current environment (". file").
func (w *walker) source(f *firmware.File, args []string, e *env, s site) {
	if e.depth >= maxDepth || w.running[f] {
		return
	}
	p := w.load(f)
	if !p.ok {
		return
	}
	saved := *e
	e.file, e.src, e.lines = f, p.src, p.lines
	e.fixed = nil
	if len(args) > 0 {
		e.args = args
	}
	e.depth++
	w.running[f] = true
	w.exec(p.ast, e, false, false)
	delete(w.running, f)
	e.file, e.src, e.lines, e.fixed, e.args, e.depth = saved.file, saved.src, saved.lines, saved.fixed, saved.args, saved.depth
}

// rcCommon emulates OpenWrt's /etc/rc.common, the interpreter of init
// scripts whose first line is "#!/bin/sh /etc/rc.common": it calls the
// function named by the first argument (boot falls back to start, and
// procd scripts start through start_service).
func (w *walker) rcCommon(p *parsed, e *env) {
	first := p.src
	if i := strings.IndexByte(first, '\n'); i >= 0 {
		first = first[:i]
	}
	if !strings.HasPrefix(first, "#!") || !strings.Contains(first, "rc.common") {
		return
	}
	action := "start"
	if len(e.args) > 0 {
		action = e.args[0]
	}
	switch action {
	case "start", "boot", "restart", "enable":
	default:
		return
	}
	if e.vars["USE_PROCD"] == "1" {
		// rc.common's start() runs start_service for procd scripts, so a
		// script's own boot() { ...; start "$@"; } reaches it.
		if _, ok := e.funcs["start"]; !ok {
			if fn, ok := e.funcs["start_service"]; ok {
				e.funcs["start"] = fn
			}
		}
	}
	if action == "boot" {
		if fn, ok := e.funcs["boot"]; ok {
			w.call(fn, nil, e, false)
			return
		}
	}
	if e.vars["USE_PROCD"] == "1" {
		if fn, ok := e.funcs["start_service"]; ok {
			w.call(fn, nil, e, false)
		}
		return
	}
	if fn, ok := e.funcs["start"]; ok {
		w.call(fn, nil, e, false)
	}
}

func describeSite(s site) string {
	if s.file == nil {
		return ""
	}
	if s.line > 0 {
		return s.file.FSPath + " line " + itoa(s.line)
	}
	return s.file.FSPath
}

// skipOpts drops leading options; withValue names options that take a
// value.
func skipOpts(args []string, withValue map[string]bool) []string {
	for len(args) > 0 && strings.HasPrefix(args[0], "-") && args[0] != "-" {
		if args[0] == "--" {
			return args[1:]
		}
		if withValue[args[0]] && len(args) > 1 {
			args = args[1:]
		}
		args = args[1:]
	}
	return args
}

func skipWrapperArgs(base string, args []string) []string {
	switch base {
	case "nice":
		for len(args) > 0 && strings.HasPrefix(args[0], "-") {
			if args[0] == "-n" && len(args) > 1 {
				args = args[1:]
			}
			args = args[1:]
		}
	case "ionice", "chrt", "stdbuf", "flock":
		for len(args) > 0 && strings.HasPrefix(args[0], "-") {
			if len(args[0]) == 2 && len(args) > 1 && base != "stdbuf" {
				args = args[1:]
			}
			args = args[1:]
		}
		if base == "chrt" || base == "flock" {
			if len(args) > 0 {
				args = args[1:] // priority or lock file
			}
		}
	case "taskset", "timeout":
		args = skipOpts(args, map[string]bool{"-s": true, "-k": true, "--signal": true, "--kill-after": true})
		if len(args) > 0 {
			args = args[1:] // mask or duration
		}
	}
	return args
}
