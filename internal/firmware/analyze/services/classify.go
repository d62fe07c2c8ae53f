package services

import (
	"fmt"
	"sort"
	"strings"

	"github.com/netvet/netvet/internal/firmware"
)

// verdict is what a launch amounts to: the rule and a sentence on what
// the daemon does.
type verdict struct {
	rule   firmware.Rule
	detail string
}

// findings turns the walk into findings: one per start site, one per
// daemon that is installed but that nothing starts.
func (w *walker) findings() []firmware.Finding {
	out := append([]firmware.Finding(nil), w.direct...)
	// Drop repeated launches (a script reached twice, config_foreach over
	// several sections with the same command line).
	seen := map[string]bool{}
	var launches []*launch
	for _, l := range w.launches {
		if l.site.file == nil {
			continue
		}
		k := fmt.Sprintf("%s\x00%d\x00%d\x00%s\x00%s\x00%v", l.site.file.Path, l.site.line, l.site.off, l.name, strings.Join(l.args, " "), l.boot)
		if seen[k] {
			continue
		}
		seen[k] = true
		launches = append(launches, l)
	}
	bootKeys := map[string]bool{}
	anyKeys := map[string]bool{}
	for _, l := range launches {
		anyKeys[l.key()] = true
		if l.boot {
			bootKeys[l.key()] = true
		}
	}
	for _, l := range launches {
		v, ok := w.classify(l)
		if !ok {
			continue
		}
		where := describeSite(l.site)
		var ev strings.Builder
		if l.boot {
			fmt.Fprintf(&ev, "%s; started at boot by %s at %s", v.detail, l.how, where)
		} else {
			if bootKeys[l.key()] {
				continue // the same program is started at boot elsewhere
			}
			fmt.Fprintf(&ev, "%s; only started by %s at %s", v.detail, l.how, where)
		}
		if chain := nonEmpty(l.chain); len(chain) > 0 {
			fmt.Fprintf(&ev, " (reached via %s)", strings.Join(chain, " -> "))
		}
		if l.site.text != "" {
			fmt.Fprintf(&ev, ": %q", clip(l.site.text))
		}
		if l.prog == nil {
			ev.WriteString(" [program not found in this filesystem]")
		}
		if l.unverified {
			ev.WriteString(" [BusyBox applet list not readable: applet assumed present]")
		}
		rule := v.rule
		if !l.boot {
			rule = rulePresent
			if v.rule.Severity >= firmware.SeverityHigh {
				rule = rulePresentRisky
			}
		}
		fd := rule.Finding(l.site.file, l.site.off, ev.String())
		fd.Line = l.site.line
		out = append(out, fd)
	}
	out = append(out, w.installed(anyKeys)...)
	return out
}

func nonEmpty(ss []string) []string {
	var out []string
	for _, s := range ss {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}

// installed reports daemons present in the root that no launch runs.
func (w *walker) installed(launched map[string]bool) []firmware.Finding {
	type hit struct {
		files []*firmware.File
		k     kind
		bb    bool
		prog  *firmware.File
	}
	byKey := map[string]*hit{}
	var keys []string
	for _, f := range w.root.Files() {
		name := f.Name()
		k := daemons[name]
		if k == kNone || (f.Type != firmware.TypeFile && f.Type != firmware.TypeSymlink && f.Type != firmware.TypeHardlink) {
			continue
		}
		if !programDir(f.FSPath) {
			continue // an init script or a configuration file of the same name
		}
		target := w.root.Lookup(f.FSPath)
		if target == nil || target.Type != firmware.TypeFile || (target.Mode.Perm()&0o111 == 0 && target.Mode.Perm() != 0) {
			continue
		}
		key := target.FSPath
		bb := w.bb.is(w.ctx, target)
		if bb {
			if !w.bb.hasApplet(w.ctx, target, name) {
				continue
			}
			key += "#" + name
		}
		if launched[key] {
			continue
		}
		h := byKey[key]
		if h == nil {
			h = &hit{k: k, bb: bb, prog: target}
			byKey[key] = h
			keys = append(keys, key)
		}
		h.files = append(h.files, f)
	}
	sort.Strings(keys)
	var out []firmware.Finding
	for _, key := range keys {
		h := byKey[key]
		f := h.files[0]
		var ev strings.Builder
		fmt.Fprintf(&ev, "%s (%s) installed at %s", f.Name(), kindNames[h.k], f.FSPath)
		if f.Type == firmware.TypeSymlink {
			fmt.Fprintf(&ev, " -> %s", h.prog.FSPath)
		}
		if h.bb {
			ev.WriteString(", an applet of BusyBox")
			if !w.bb.verified(w.ctx, h.prog) {
				ev.WriteString(" (applet list not readable: assumed present)")
			}
		}
		if len(h.files) > 1 {
			fmt.Fprintf(&ev, " (and %d other links)", len(h.files)-1)
		}
		ev.WriteString("; no inittab entry, boot script, systemd unit, inetd/xinetd or cron entry found starts it")
		rule := rulePresent
		if riskyAbsent(h.k) {
			rule = rulePresentRisky
		}
		out = append(out, rule.Finding(f, -1, ev.String()))
	}
	return out
}

// programDir reports whether p sits in a directory that holds programs:
// */bin, */sbin, */libexec and their subdirectories.
func programDir(p string) bool {
	parts := strings.Split(strings.TrimPrefix(p, "/"), "/")
	for _, d := range parts[:len(parts)-1] {
		if d == "bin" || d == "sbin" || d == "libexec" || strings.HasSuffix(d, "bin") {
			return true
		}
	}
	return false
}

// classify decides what a launch amounts to.
func (w *walker) classify(l *launch) (verdict, bool) {
	switch l.kind {
	case kTelnet:
		prog := optValue(l.args, "-l", "-L")
		if prog == "" {
			prog = "/bin/login"
		}
		port := optValue(l.args, "-p")
		at := ""
		if port != "" {
			at = " on port " + port
		}
		if w.isShellProg(prog) {
			return verdict{ruleTelnetShell, fmt.Sprintf("%s%s runs %s for every connection, with no login", l.name, at, prog)}, true
		}
		return verdict{ruleTelnetLogin, fmt.Sprintf("%s%s with login program %s", l.name, at, prog)}, true
	case kShell:
		return verdict{ruleShellOnPort, fmt.Sprintf("%s is attached to each network connection", l.name)}, true
	case kNetcat:
		return netcatVerdict(l, w)
	case kSocat:
		return socatVerdict(l)
	case kRsh:
		if where, ok := w.trustAll(); ok {
			return verdict{ruleRshTrustAll, fmt.Sprintf("%s with %s", l.name, where)}, true
		}
		return verdict{ruleRsh, l.name}, true
	case kTFTP:
		d := l.name + " serves files without authentication"
		if hasFlag(l.args, 'c', "") || hasFlag(l.args, 'w', "") {
			d += " and accepts uploads (-c/-w)"
		}
		return verdict{ruleTFTP, d}, true
	case kGDB:
		return verdict{ruleGDB, fmt.Sprintf("%s %s", l.name, strings.Join(l.args, " "))}, true
	case kFTP:
		return w.ftpVerdict(l), true
	case kSSHD:
		return w.sshdVerdict(l), true
	case kDropbear:
		return w.dropbearVerdict(l), true
	case kSNMP:
		return verdict{ruleSNMP, l.name + " answers SNMP requests"}, true
	case kWeb:
		return verdict{ruleWeb, l.name + " serves HTTP"}, true
	}
	return verdict{}, false
}

// isShellProg reports whether a login program is a shell.
func (w *walker) isShellProg(p string) bool {
	if isShellName(p) {
		return true
	}
	if f := w.root.Lookup(p); f != nil && f.Type == firmware.TypeFile {
		return isShellName(f.Name())
	}
	return false
}

// optValue returns the value of the first of the options present
// ("-l PROG" or "-lPROG").
func optValue(args []string, opts ...string) string {
	for i, a := range args {
		for _, o := range opts {
			if a == o && i+1 < len(args) {
				return args[i+1]
			}
			if strings.HasPrefix(a, o) && len(a) > len(o) && !strings.HasPrefix(a, "--") {
				return a[len(o):]
			}
		}
	}
	return ""
}

// hasFlag reports a short flag c among grouped short options; withValue
// lists the flags that take a value (the rest of the group is the value).
func hasFlag(args []string, c byte, withValue string) bool {
	for _, a := range args {
		if len(a) < 2 || a[0] != '-' || a[1] == '-' {
			continue
		}
		for i := 1; i < len(a); i++ {
			if a[i] == c {
				return true
			}
			if strings.IndexByte(withValue, a[i]) >= 0 {
				break
			}
		}
	}
	return false
}

func netcatVerdict(l *launch, w *walker) (verdict, bool) {
	listen := false
	execProg, execCmd := "", ""
	for i := 0; i < len(l.args); i++ {
		a := l.args[i]
		if len(a) < 2 || a[0] != '-' || a[1] == '-' {
			continue
		}
	flags:
		for j := 1; j < len(a); j++ {
			switch a[j] {
			case 'l':
				listen = true
			case 'e', 'c', 'p', 's', 'q', 'w', 'i', 'O', 'I', 'T', 'x', 'X', 'W', 'P', 'M', 'm':
				val := a[j+1:]
				if val == "" && i+1 < len(l.args) {
					i++
					val = l.args[i]
				}
				if a[j] == 'e' {
					execProg = val
				}
				if a[j] == 'c' {
					execCmd = val
				}
				break flags
			}
		}
	}
	shell := ""
	switch {
	case execProg != "" && (isShellName(execProg) || w.isShellProg(execProg)):
		shell = "-e " + execProg
	case execCmd != "":
		shell = "-c " + execCmd
	case l.pipeShell:
		shell = "a pipeline into a shell"
	}
	switch {
	case listen && shell != "":
		return verdict{ruleShellOnPort, fmt.Sprintf("%s listens and hands each connection a shell (%s)", l.name, shell)}, true
	case shell != "":
		return verdict{ruleShellOnPort, fmt.Sprintf("%s connects out and hands the peer a shell (%s, a reverse shell)", l.name, shell)}, true
	case listen:
		return verdict{ruleListener, l.name + " listens for connections (-l)"}, true
	}
	return verdict{}, false
}

func socatVerdict(l *launch) (verdict, bool) {
	listen, shell := "", ""
	for _, a := range l.args {
		u := strings.ToUpper(a)
		if strings.Contains(u, "-LISTEN:") || strings.HasPrefix(u, "TCP-L:") || strings.HasPrefix(u, "TCP4-L:") {
			listen = a
		}
		if strings.HasPrefix(u, "SYSTEM:") || (strings.HasPrefix(u, "EXEC:") && execIsShell(a[len("EXEC:"):])) {
			shell = a
		}
	}
	switch {
	case listen != "" && shell != "":
		return verdict{ruleShellOnPort, fmt.Sprintf("socat joins %s to %s", listen, shell)}, true
	case shell != "":
		return verdict{ruleShellOnPort, fmt.Sprintf("socat connects out and joins the peer to %s (a reverse shell)", shell)}, true
	case listen != "":
		return verdict{ruleListener, "socat listens on " + listen}, true
	}
	return verdict{}, false
}

func execIsShell(spec string) bool {
	prog := spec
	if i := strings.IndexAny(prog, " ,"); i >= 0 {
		prog = prog[:i]
	}
	return isShellName(prog)
}

// trustAll reports a host trust file with a lone '+' host entry.
func (w *walker) trustAll() (string, bool) {
	for _, p := range []string{"/etc/hosts.equiv", "/root/.rhosts", "/.rhosts"} {
		src, ok := w.readText(w.root.Lookup(p))
		if !ok {
			continue
		}
		for _, l := range splitLines(src) {
			f := strings.Fields(l.text)
			if len(f) > 0 && f[0] == "+" {
				return fmt.Sprintf("%s line %d: %q", p, l.no, strings.TrimSpace(l.text)), true
			}
		}
	}
	return "", false
}

func (w *walker) ftpVerdict(l *launch) verdict {
	switch l.name {
	case "ftpd":
		if v := optValue(l.args, "-a"); v != "" {
			return verdict{ruleFTPAnon, fmt.Sprintf("ftpd accepts anonymous logins as user %s (-a)", v)}
		}
	case "vsftpd":
		conf := "/etc/vsftpd.conf"
		for _, a := range l.args {
			if strings.HasPrefix(a, "/") {
				conf = a
			}
		}
		for _, p := range []string{conf, "/etc/vsftpd/vsftpd.conf"} {
			if src, ok := w.readText(w.root.Lookup(p)); ok {
				kv := parseKeyValue(src)
				if o, ok := kv["anonymous_enable"]; ok && strings.EqualFold(o.value, "YES") {
					return verdict{ruleFTPAnon, fmt.Sprintf("vsftpd with anonymous_enable=YES (%s line %d)", p, o.line.no)}
				}
				break
			}
		}
	case "proftpd":
		if src, ok := w.readText(w.root.Lookup("/etc/proftpd.conf")); ok && strings.Contains(src, "<Anonymous") {
			return verdict{ruleFTPAnon, "proftpd with an <Anonymous> section in /etc/proftpd.conf"}
		}
	}
	return verdict{ruleFTP, l.name + " serves FTP"}
}

// sshdVerdict reads sshd_config (-f) and -o overrides.
func (w *walker) sshdVerdict(l *launch) verdict {
	conf := "/etc/ssh/sshd_config"
	over := map[string]string{}
	for i := 0; i < len(l.args); i++ {
		a := l.args[i]
		switch {
		case a == "-f" && i+1 < len(l.args):
			conf = l.args[i+1]
			i++
		case a == "-o" && i+1 < len(l.args):
			k, v, _ := strings.Cut(strings.Replace(l.args[i+1], " ", "=", 1), "=")
			over[strings.ToLower(k)] = v
			i++
		case strings.HasPrefix(a, "-o") && len(a) > 2:
			k, v, _ := strings.Cut(a[2:], "=")
			over[strings.ToLower(k)] = v
		}
	}
	var cfg map[string]sshOpt
	if src, ok := w.readText(w.root.Lookup(conf)); ok {
		cfg = parseSSHDConfig(src)
	}
	get := func(k, def string) (string, string) {
		if v, ok := over[k]; ok {
			return strings.ToLower(v), "-o on the command line"
		}
		if o, ok := cfg[k]; ok {
			return strings.ToLower(o.value), fmt.Sprintf("%s line %d", conf, o.line.no)
		}
		return def, "default"
	}
	pw, pwFrom := get("passwordauthentication", "yes")
	root, rootFrom := get("permitrootlogin", "prohibit-password")
	empty, emptyFrom := get("permitemptypasswords", "no")
	switch {
	case pw == "yes" && empty == "yes":
		return verdict{ruleSSHWeak, fmt.Sprintf("sshd accepts empty passwords (PermitEmptyPasswords yes, %s)", emptyFrom)}
	case pw == "yes" && root == "yes":
		return verdict{ruleSSHWeak, fmt.Sprintf("sshd accepts root password logins (PermitRootLogin yes, %s; PasswordAuthentication yes, %s)", rootFrom, pwFrom)}
	case pw == "yes":
		return verdict{ruleSSHNoRootPw, fmt.Sprintf("sshd accepts password logins (PasswordAuthentication yes, %s) except for root (PermitRootLogin %s, %s)", pwFrom, root, rootFrom)}
	}
	return verdict{ruleSSHKeys, fmt.Sprintf("sshd with PasswordAuthentication %s (%s)", pw, pwFrom)}
}

// dropbearVerdict reads dropbear's flags: -s (no password logins), -g
// (no root password logins), -w (no root logins), -B (blank passwords).
// A flag that lowers the risk counts only when it is always passed; an
// OpenWrt init script that builds the flags from UCI is judged from
// /etc/config/dropbear instead.
func (w *walker) dropbearVerdict(l *launch) verdict {
	const withValue = "bcdrpPWKITGDjkaAe"
	flags := map[byte]bool{}
	var notes []string
	for i, a := range l.args {
		if len(a) < 2 || a[0] != '-' || a[1] == '-' {
			continue
		}
		for j := 1; j < len(a); j++ {
			c := a[j]
			if strings.IndexByte(withValue, c) >= 0 {
				break
			}
			if l.cond[i] && c != 'B' {
				notes = append(notes, "-"+string(c)+" is only passed under a condition")
				continue
			}
			flags[c] = true
		}
	}
	if strings.Contains(l.script, "PasswordAuth") {
		if src, ok := w.readText(w.root.Lookup("/etc/config/dropbear")); ok {
			pwOn, rootPwOn, rootOn := false, false, false
			for _, s := range uciSections(src, "dropbear") {
				if uciFalse(s.opts["enable"]) {
					continue
				}
				if !uciFalse(s.opts["PasswordAuth"]) {
					pwOn = true
				}
				if !uciFalse(s.opts["RootPasswordAuth"]) {
					rootPwOn = true
				}
				if !uciFalse(s.opts["RootLogin"]) {
					rootOn = true
				}
			}
			flags['s'], flags['g'], flags['w'] = !pwOn, !rootPwOn, !rootOn
			notes = []string{fmt.Sprintf("options from /etc/config/dropbear: PasswordAuth %s, RootPasswordAuth %s", onOff(pwOn), onOff(rootPwOn))}
		}
	}
	note := ""
	if len(notes) > 0 {
		note = " (" + strings.Join(notes, "; ") + ")"
	}
	switch {
	case flags['B'] && !flags['s']:
		return verdict{ruleSSHWeak, "dropbear accepts blank passwords (-B)" + note}
	case flags['s']:
		return verdict{ruleSSHKeys, "dropbear with password logins disabled (-s)" + note}
	case flags['g'] || flags['w']:
		return verdict{ruleSSHNoRootPw, "dropbear accepts password logins except for root (-g/-w)" + note}
	}
	return verdict{ruleSSHPassword, "dropbear accepts password logins, root's included (no -s or -g)" + note}
}

func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}

func clip(s string) string {
	const max = 200
	if len(s) > max {
		return s[:max] + "..."
	}
	return s
}
