package services

import (
	"strings"
)

// This file holds the line parsers for init and service configuration:
// inittab, systemd units, inetd.conf, xinetd, crontabs, OpenWrt UCI and
// sshd_config. Each takes the file text and returns entries with their
// line numbers and byte offsets; malformed lines are skipped.

// textLine is one line of a file with its position.
type textLine struct {
	no   int
	off  int64
	text string // without the newline and a trailing CR
}

func splitLines(src string) []textLine {
	var out []textLine
	off := 0
	for no := 1; off < len(src); no++ {
		end := strings.IndexByte(src[off:], '\n')
		if end < 0 {
			end = len(src) - off
		}
		out = append(out, textLine{no: no, off: int64(off), text: strings.TrimRight(src[off:off+end], "\r")})
		off += end + 1
	}
	return out
}

// --- inittab ----------------------------------------------------------------

// inittabEntry is one id:runlevels:action:process line (SysV init and
// BusyBox init use the same layout; BusyBox's id is the tty).
type inittabEntry struct {
	id, runlevels, action, process string
	line                           textLine
}

func parseInittab(src string) []inittabEntry {
	var out []inittabEntry
	for _, l := range splitLines(src) {
		t := strings.TrimSpace(l.text)
		if t == "" || t[0] == '#' {
			continue
		}
		f := strings.SplitN(t, ":", 4)
		if len(f) != 4 {
			continue
		}
		out = append(out, inittabEntry{
			id: strings.TrimSpace(f[0]), runlevels: strings.TrimSpace(f[1]),
			action: strings.ToLower(strings.TrimSpace(f[2])), process: strings.TrimSpace(f[3]), line: l,
		})
	}
	return out
}

// bootActions are the inittab actions that run while the system comes up.
var bootActions = map[string]bool{
	"sysinit": true, "boot": true, "bootwait": true, "wait": true, "once": true,
	"respawn": true, "askfirst": true, "askconsole": true,
}

// consoleActions attach a program to a terminal.
var consoleActions = map[string]bool{"respawn": true, "askfirst": true, "askconsole": true, "once": true, "wait": true, "sysinit": true}

// runsAtBoot reports whether an entry runs in the default runlevel.
func runsAtBoot(e inittabEntry, defaultLevel string) bool {
	if !bootActions[e.action] {
		return false
	}
	switch e.action {
	case "sysinit", "boot", "bootwait":
		return true
	}
	if e.runlevels == "" {
		return true
	}
	if defaultLevel != "" {
		return strings.Contains(e.runlevels, defaultLevel)
	}
	return strings.ContainsAny(e.runlevels, "2345Ss")
}

// --- systemd ----------------------------------------------------------------

type unitKey struct {
	section, key, value string
	line                textLine
}

// parseUnit reads a systemd unit file: [Section] headers and Key=Value
// lines, with backslash continuation lines joined.
func parseUnit(src string) []unitKey {
	var out []unitKey
	section := ""
	lines := splitLines(src)
	for i := 0; i < len(lines); i++ {
		l := lines[i]
		t := strings.TrimSpace(l.text)
		if t == "" || t[0] == '#' || t[0] == ';' {
			continue
		}
		if t[0] == '[' && strings.HasSuffix(t, "]") {
			section = t[1 : len(t)-1]
			continue
		}
		k, v, ok := strings.Cut(t, "=")
		if !ok {
			continue
		}
		v = strings.TrimSpace(v)
		for strings.HasSuffix(v, "\\") && i+1 < len(lines) && len(v) < 65536 {
			i++
			v = strings.TrimSuffix(v, "\\") + " " + strings.TrimSpace(lines[i].text)
		}
		out = append(out, unitKey{section: section, key: strings.TrimSpace(k), value: v, line: l})
	}
	return out
}

// execCommand strips the systemd prefixes (@ - : + !) from an Exec line.
func execCommand(v string) string {
	return strings.TrimLeft(v, "@-:+!")
}

// --- inetd ------------------------------------------------------------------

type inetdEntry struct {
	service, socktype, proto, wait, user, server string
	args                                         []string // argv, argv[0] first
	line                                         textLine
}

func parseInetd(src string) []inetdEntry {
	var out []inetdEntry
	for _, l := range splitLines(src) {
		t := strings.TrimSpace(l.text)
		if t == "" || t[0] == '#' {
			continue
		}
		f := strings.Fields(t)
		if len(f) < 6 {
			continue
		}
		e := inetdEntry{service: f[0], socktype: f[1], proto: f[2], wait: f[3], user: f[4], server: f[5], line: l}
		if len(f) > 6 {
			e.args = f[6:]
		}
		if len(e.args) > 256 {
			e.args = e.args[:256]
		}
		out = append(out, e)
	}
	return out
}

// --- xinetd -----------------------------------------------------------------

type xinetdService struct {
	name  string
	attrs map[string]string
	lines map[string]textLine // where each attribute was set
	head  textLine
}

func parseXinetd(src string) []xinetdService {
	var out []xinetdService
	var cur *xinetdService
	for _, l := range splitLines(src) {
		t := strings.TrimSpace(l.text)
		if t == "" || t[0] == '#' {
			continue
		}
		if cur == nil {
			if strings.HasPrefix(t, "service ") || strings.HasPrefix(t, "service\t") {
				name := strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(t[len("service"):]), "{"))
				cur = &xinetdService{name: name, attrs: map[string]string{}, lines: map[string]textLine{}, head: l}
			}
			continue
		}
		if t == "{" {
			continue
		}
		if strings.HasPrefix(t, "}") {
			out = append(out, *cur)
			cur = nil
			continue
		}
		k, v, ok := strings.Cut(t, "=")
		if !ok {
			continue
		}
		k = strings.TrimSpace(strings.TrimRight(k, "+-"))
		if len(cur.attrs) < 256 {
			cur.attrs[k] = strings.TrimSpace(v)
			cur.lines[k] = l
		}
	}
	return out
}

// --- cron -------------------------------------------------------------------

type cronEntry struct {
	schedule, user, command string
	line                    textLine
}

// parseCrontab reads a crontab; system crontabs (/etc/crontab,
// /etc/cron.d) carry a user name before the command.
func parseCrontab(src string, system bool) []cronEntry {
	var out []cronEntry
	for _, l := range splitLines(src) {
		t := strings.TrimSpace(l.text)
		if t == "" || t[0] == '#' || assignWord.MatchString(t) {
			continue
		}
		var sched string
		rest := t
		if t[0] == '@' {
			sched, rest, _ = strings.Cut(t, " ")
			if strings.ContainsAny(sched, "\t") {
				sched, rest, _ = strings.Cut(t, "\t")
			}
		} else {
			f := fieldsN(t, 5)
			if len(f) < 6 {
				continue
			}
			sched, rest = strings.Join(f[:5], " "), f[5]
		}
		rest = strings.TrimSpace(rest)
		user := ""
		if system {
			u, r, ok := cutField(rest)
			if !ok {
				continue
			}
			user, rest = u, r
		}
		// An unescaped % ends the command; the rest is its stdin.
		if i := unescapedPercent(rest); i >= 0 {
			rest = rest[:i]
		}
		if rest == "" {
			continue
		}
		out = append(out, cronEntry{schedule: sched, user: user, command: rest, line: l})
	}
	return out
}

// fieldsN splits off the first n blank-separated fields and returns them
// followed by the rest of the line.
func fieldsN(s string, n int) []string {
	var out []string
	for len(out) < n {
		f, r, ok := cutField(s)
		if !ok {
			return out
		}
		out = append(out, f)
		s = r
	}
	return append(out, strings.TrimSpace(s))
}

func cutField(s string) (string, string, bool) {
	s = strings.TrimLeft(s, " \t")
	if s == "" {
		return "", "", false
	}
	i := strings.IndexAny(s, " \t")
	if i < 0 {
		return s, "", true
	}
	return s[:i], strings.TrimLeft(s[i:], " \t"), true
}

func unescapedPercent(s string) int {
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' {
			i++
			continue
		}
		if s[i] == '%' {
			return i
		}
	}
	return -1
}

// --- OpenWrt UCI ------------------------------------------------------------

type uciSection struct {
	name, typ string
	opts      map[string]string
	lines     map[string]textLine
}

// uciSections reads /etc/config/<package> and returns the sections of
// type typ (all sections when typ is empty). Anonymous sections are named
// by their position, as uci does (@type[i]).
func uciSections(src, typ string) []uciSection {
	var out []uciSection
	var cur *uciSection
	count := map[string]int{}
	flush := func() {
		if cur != nil && (typ == "" || cur.typ == typ) {
			out = append(out, *cur)
		}
		cur = nil
	}
	for _, l := range splitLines(src) {
		f := uciFields(l.text)
		if len(f) == 0 {
			continue
		}
		switch f[0] {
		case "config":
			flush()
			if len(f) < 2 || len(out) > 1024 {
				continue
			}
			s := uciSection{typ: f[1], opts: map[string]string{}, lines: map[string]textLine{}}
			if len(f) > 2 {
				s.name = f[2]
			} else {
				s.name = "@" + f[1] + "[" + itoa(count[f[1]]) + "]"
			}
			count[f[1]]++
			cur = &s
		case "option", "list":
			if cur != nil && len(f) > 2 && len(cur.opts) < 1024 {
				cur.opts[f[1]] = f[2]
				cur.lines[f[1]] = l
			}
		}
	}
	flush()
	return out
}

// uciFields splits a UCI line into words, honouring ' and " quotes.
func uciFields(s string) []string {
	var out []string
	var b strings.Builder
	in := false
	var q byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case q != 0:
			if c == q {
				q = 0
			} else {
				b.WriteByte(c)
			}
		case c == '\'' || c == '"':
			q = c
			in = true
		case c == '#' && !in:
			return out
		case c == ' ' || c == '\t' || c == '\r':
			if in {
				out = append(out, b.String())
				b.Reset()
				in = false
			}
		default:
			b.WriteByte(c)
			in = true
		}
	}
	if in {
		out = append(out, b.String())
	}
	return out
}

func uciTrue(v string) bool {
	switch strings.ToLower(v) {
	case "1", "on", "yes", "true", "enabled":
		return true
	}
	return false
}

func uciFalse(v string) bool {
	switch strings.ToLower(v) {
	case "0", "off", "no", "false", "disabled":
		return true
	}
	return false
}

// --- sshd_config ------------------------------------------------------------

type sshOpt struct {
	value string
	line  textLine
}

// parseSSHDConfig returns the first value of each keyword (OpenSSH uses
// the first one it reads), lower-cased keys, up to the first Match block.
// Include directives are not followed.
func parseSSHDConfig(src string) map[string]sshOpt {
	out := map[string]sshOpt{}
	for _, l := range splitLines(src) {
		t := strings.TrimSpace(l.text)
		if t == "" || t[0] == '#' {
			continue
		}
		k, v, ok := cutField(strings.Replace(t, "=", " ", 1))
		if !ok {
			continue
		}
		k = strings.ToLower(k)
		if k == "match" {
			break
		}
		if _, seen := out[k]; !seen && len(out) < 1024 {
			out[k] = sshOpt{value: strings.Trim(strings.TrimSpace(v), `"`), line: l}
		}
	}
	return out
}

// --- vsftpd.conf ------------------------------------------------------------

// parseKeyValue reads key=value lines (vsftpd.conf); the last value wins.
func parseKeyValue(src string) map[string]sshOpt {
	out := map[string]sshOpt{}
	for _, l := range splitLines(src) {
		t := strings.TrimSpace(l.text)
		if t == "" || t[0] == '#' {
			continue
		}
		k, v, ok := strings.Cut(t, "=")
		if !ok || len(out) > 1024 {
			continue
		}
		out[strings.ToLower(strings.TrimSpace(k))] = sshOpt{value: strings.TrimSpace(v), line: l}
	}
	return out
}
