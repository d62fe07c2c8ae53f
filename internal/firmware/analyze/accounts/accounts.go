// Package accounts checks the local accounts of an unpacked image: the
// passwd, shadow and group files of every filesystem (glibc, musl and
// busybox layouts, and the OpenWrt style where passwd holds the hash).
// It reports empty passwords, passwords from a bundled list of
// well-known vendor defaults (tested by computing DES, MD5, SHA-256,
// SHA-512 crypt and bcrypt within a fixed work budget), extra UID 0
// accounts, system accounts with a login shell, weak hash algorithms and
// exposed hashes. Evidence shows the line with the hash redacted: the
// algorithm, its parameters and the salt stay, so a reader can recompute
// the hash of a listed password by hand.
package accounts

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"path"
	"strings"
	"time"

	"github.com/netvet/netvet/internal/firmware"
)

// Rules reported by the analyser.
var (
	RuleEmptyLogin = firmware.Rule{
		ID: "NV-ACCT-001", Title: "Account with an empty password and a login shell", Severity: firmware.SeverityCritical,
		Rationale:  "anyone who reaches a login service (console, telnet, SSH) gets a shell on every unit without a password",
		References: []string{"https://cwe.mitre.org/data/definitions/258.html"},
	}
	RuleEmptyNoShell = firmware.Rule{
		ID: "NV-ACCT-002", Title: "Account with an empty password and no login shell", Severity: firmware.SeverityMedium,
		Rationale:  "services that authenticate against the system accounts (FTP, web UI, SSH forwarding) accept it without a password",
		References: []string{"https://cwe.mitre.org/data/definitions/258.html"},
	}
	RuleDefault = firmware.Rule{
		ID: "NV-ACCT-003", Title: "Password is a well-known default", Severity: firmware.SeverityCritical,
		Rationale: "the password is in public default-credential lists that botnets such as Mirai try on every device they reach",
		References: []string{
			"https://cwe.mitre.org/data/definitions/1392.html",
			"https://www.cisa.gov/news-events/alerts/2016/10/14/heightened-ddos-threat-posed-mirai-and-other-botnets",
		},
	}
	RuleExtraRoot = firmware.Rule{
		ID: "NV-ACCT-004", Title: "Additional account with UID 0", Severity: firmware.SeverityHigh,
		Rationale:  "a second superuser account is a classic hidden-access pattern and escapes reviews that look only at root",
		References: []string{"https://cwe.mitre.org/data/definitions/269.html"},
	}
	RuleSystemShell = firmware.Rule{
		ID: "NV-ACCT-005", Title: "System account with a login shell and a usable password", Severity: firmware.SeverityMedium,
		Rationale: "service accounts need no interactive login; one that has a shell and a password is an extra way in",
	}
	RuleSystemShellLocked = firmware.Rule{
		ID: "NV-ACCT-006", Title: "System account with a login shell", Severity: firmware.SeverityLow,
		Rationale: "service accounts need no interactive login; with a shell, a key or a later password change opens one",
	}
	RuleDES = firmware.Rule{
		ID: "NV-ACCT-007", Title: "Password hashed with DES crypt", Severity: firmware.SeverityHigh,
		Rationale:  "DES crypt uses only the first 8 characters and 4096 salts; every such password can be recovered by exhaustive search",
		References: []string{"https://cwe.mitre.org/data/definitions/916.html"},
	}
	RuleMD5 = firmware.Rule{
		ID: "NV-ACCT-008", Title: "Password hashed with MD5-crypt", Severity: firmware.SeverityMedium,
		Rationale:  "MD5-crypt is fast to compute on GPUs; its author declared it unsafe in 2012",
		References: []string{"https://cwe.mitre.org/data/definitions/916.html"},
	}
	RuleHashInPasswd = firmware.Rule{
		ID: "NV-ACCT-009", Title: "Password hash in a world-readable passwd file", Severity: firmware.SeverityLow,
		Rationale:  "passwd is readable by every local user and process, so the hash can be taken and cracked offline",
		References: []string{"https://cwe.mitre.org/data/definitions/522.html"},
	}
	RuleUnchecked = firmware.Rule{
		ID: "NV-ACCT-010", Title: "Password hash not tested against default passwords", Severity: firmware.SeverityInfo,
		Rationale: "the hash uses an algorithm netvet does not compute (yescrypt, scrypt, ...) or is not a crypt(3) hash; check it by other means",
	}
	RuleIncomplete = firmware.Rule{
		ID: "NV-ACCT-011", Title: "Default-password check incomplete", Severity: firmware.SeverityInfo,
		Rationale: "the work budget ran out before every listed default was tested against this hash",
	}
	RuleShadowReadable = firmware.Rule{
		ID: "NV-ACCT-012", Title: "Shadow file readable by all users", Severity: firmware.SeverityMedium,
		Rationale:  "shadow must be readable by root only; otherwise any process can read the hashes and crack them offline",
		References: []string{"https://cwe.mitre.org/data/definitions/732.html"},
	}
)

var allRules = []firmware.Rule{
	RuleEmptyLogin, RuleEmptyNoShell, RuleDefault, RuleExtraRoot, RuleSystemShell, RuleSystemShellLocked,
	RuleDES, RuleMD5, RuleHashInPasswd, RuleUnchecked, RuleIncomplete, RuleShadowReadable,
}

// Options tune the analyser. The zero value gives the defaults.
type Options struct {
	// CrackBudget bounds the total work of the default-password check,
	// counted in reference CPU time so that reports do not depend on the
	// machine (default 2 s).
	CrackBudget time.Duration
	// CrackPerHash bounds the work spent on one hash (default 500 ms).
	CrackPerHash time.Duration
	// CrackTimeout is a wall-clock limit on the check as a whole, a guard
	// for very slow machines (default 10 s).
	CrackTimeout time.Duration
	// MaxFileSize is the largest account file read (default 4 MiB).
	MaxFileSize int64
	// Passwords replaces the bundled default list when not nil.
	Passwords []string
	// Logger receives notes about skipped files (default: discarded).
	Logger *slog.Logger
}

type analyzer struct {
	opts Options
	list []defaultPassword
}

// New returns the analyser with default options.
func New() firmware.Analyzer { return NewWithOptions(Options{}) }

// NewWithOptions returns the analyser with the given options.
func NewWithOptions(o Options) firmware.Analyzer {
	if o.CrackBudget <= 0 {
		o.CrackBudget = 2 * time.Second
	}
	if o.CrackPerHash <= 0 {
		o.CrackPerHash = 500 * time.Millisecond
	}
	if o.CrackTimeout <= 0 {
		o.CrackTimeout = 10 * time.Second
	}
	if o.MaxFileSize <= 0 {
		o.MaxFileSize = 4 << 20
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	list := defaultPasswords
	if o.Passwords != nil {
		list = make([]defaultPassword, len(o.Passwords))
		for i, p := range o.Passwords {
			list[i] = defaultPassword{p, "caller's list"}
		}
	}
	return &analyzer{opts: o, list: list}
}

var _ firmware.Analyzer = (*analyzer)(nil)

const analyzerName = "accounts"

func (a *analyzer) Info() firmware.AnalyzerInfo {
	return firmware.AnalyzerInfo{
		Name:        analyzerName,
		Description: "passwd, shadow and group files: empty and default passwords, extra UID 0, system accounts with shells, weak hashes",
		Rules:       append([]firmware.Rule(nil), allRules...),
	}
}

// run holds the state of one Analyze call.
type run struct {
	a        *analyzer
	t        *firmware.Tree
	ctx      context.Context
	cr       *cracker
	findings []firmware.Finding
}

func (a *analyzer) Analyze(ctx context.Context, t *firmware.Tree, out firmware.Reporter) error {
	r := &run{a: a, t: t, ctx: ctx, cr: newCracker(a.list, a.opts.CrackBudget, a.opts.CrackPerHash, a.opts.CrackTimeout)}
	for _, root := range t.Roots {
		if err := ctx.Err(); err != nil {
			return err
		}
		r.root(root)
	}
	firmware.SortFindings(r.findings)
	for _, f := range r.findings {
		out.Report(f)
	}
	return ctx.Err()
}

func (r *run) report(rule firmware.Rule, f *firmware.File, l line, evidence string) {
	fd := rule.Finding(f, l.Offset, evidence)
	fd.Line = l.No
	fd.Analyzer = analyzerName
	r.findings = append(r.findings, fd)
}

// accountFile is a passwd, shadow or group file and the paths it was
// found under (a symlink such as /etc/passwd -> /var/passwd adds one).
type accountFile struct {
	f     *firmware.File
	paths []string
}

// kindOf maps a file name to the kind of account file it is.
func kindOf(name string) string {
	switch name {
	case "passwd", "passwd-":
		return "passwd"
	case "shadow", "shadow-":
		return "shadow"
	case "group", "group-":
		return "group"
	}
	return ""
}

// sibling is the file of another kind next to one: passwd- pairs with
// shadow-.
func sibling(p, kind string) string {
	name := kind
	if strings.HasSuffix(p, "-") {
		name += "-"
	}
	return path.Join(path.Dir(p), name)
}

// collect finds the account files of a root by name, plus whatever
// /etc/passwd, /etc/shadow and /etc/group resolve to.
func collect(root *firmware.Root) map[string][]*accountFile {
	byFile := map[*firmware.File]*accountFile{}
	out := map[string][]*accountFile{}
	add := func(kind string, f *firmware.File, p string) {
		if f == nil || f.Type != firmware.TypeFile || f.Disk == "" {
			return
		}
		if af := byFile[f]; af != nil {
			if af.paths[len(af.paths)-1] != p {
				af.paths = append(af.paths, p)
			}
			return
		}
		af := &accountFile{f: f, paths: []string{f.FSPath}}
		if p != f.FSPath {
			af.paths = append(af.paths, p)
		}
		byFile[f] = af
		out[kind] = append(out[kind], af)
	}
	for _, f := range root.Files() {
		if k := kindOf(f.Name()); k != "" {
			add(k, f, f.FSPath)
		}
	}
	for _, k := range []string{"passwd", "shadow", "group"} {
		p := "/etc/" + k
		if f := root.Lookup(p); f != nil && f.FSPath != p {
			add(k, f, p)
		}
	}
	return out
}

// read returns a file's content, or nil when it is too large, unreadable
// or binary.
func (r *run) read(f *firmware.File) []byte {
	b, err := r.t.ReadFile(f, r.a.opts.MaxFileSize)
	if err != nil {
		r.a.opts.Logger.Debug("account file skipped", "path", f.Path, "err", err)
		return nil
	}
	if bytes.IndexByte(b[:min(len(b), 8192)], 0) >= 0 {
		r.a.opts.Logger.Debug("account file skipped: binary", "path", f.Path)
		return nil
	}
	return b
}

type shadowLine struct {
	e    shadowEntry
	l    line
	used bool
}

// shadowFile is a parsed shadow file.
type shadowFile struct {
	af      *accountFile
	entries []*shadowLine
	byName  map[string]*shadowLine
}

func (r *run) parseShadow(af *accountFile) *shadowFile {
	data := r.read(af.f)
	if data == nil {
		return nil
	}
	sf := &shadowFile{af: af, byName: map[string]*shadowLine{}}
	for _, l := range splitLines(data) {
		if skipLine(l.Text) {
			continue
		}
		e, err := parseShadowLine(l.Text)
		if err != nil {
			r.a.opts.Logger.Debug("shadow line skipped", "path", af.f.Path, "line", l.No, "err", err)
			continue
		}
		sl := &shadowLine{e: e, l: l}
		sf.entries = append(sf.entries, sl)
		if sf.byName[e.Name] == nil {
			sf.byName[e.Name] = sl
		}
	}
	if len(sf.entries) == 0 {
		return nil
	}
	return sf
}

func (r *run) root(root *firmware.Root) {
	files := collect(root)
	shadows := map[*firmware.File]*shadowFile{}
	for _, af := range files["shadow"] {
		if sf := r.parseShadow(af); sf != nil {
			shadows[af.f] = sf
			r.shadowMode(sf)
		}
	}
	paired := map[*shadowFile]bool{}
	for _, af := range files["passwd"] {
		if r.ctx.Err() != nil {
			return
		}
		var sf *shadowFile
		for _, p := range af.paths {
			if s := root.Lookup(sibling(p, "shadow")); s != nil && shadows[s] != nil {
				sf = shadows[s]
				break
			}
		}
		if r.passwd(af, sf) && sf != nil {
			paired[sf] = true
		}
	}
	for _, af := range files["shadow"] {
		if sf := shadows[af.f]; sf != nil {
			r.orphanShadow(sf, paired[sf])
		}
	}
	for _, af := range files["group"] {
		if r.ctx.Err() != nil {
			return
		}
		r.group(af)
	}
}

// shadowMode reports a shadow file that others can read, when it holds a
// hash worth taking.
func (r *run) shadowMode(sf *shadowFile) {
	if sf.af.f.Mode.Perm()&0o004 == 0 {
		return
	}
	n := 0
	for _, sl := range sf.entries {
		if sl.e.Hash != "" && !locked(sl.e.Hash) {
			n++
		}
	}
	if n == 0 {
		return
	}
	fd := RuleShadowReadable.Finding(sf.af.f, -1, fmt.Sprintf("mode %04o, %d password hash(es)", sf.af.f.Mode.Perm(), n))
	fd.Analyzer = analyzerName
	r.findings = append(r.findings, fd)
}

// nonLoginShells are shells that give no interactive session.
var nonLoginShells = map[string]bool{
	"false": true, "nologin": true, "true": true, "sync": true, "shutdown": true, "halt": true, "null": true,
}

// loginShell reports whether shell gives an interactive session; an empty
// field means /bin/sh.
func loginShell(shell string) bool {
	shell = strings.TrimSpace(shell)
	if shell == "" {
		return true
	}
	return !nonLoginShells[path.Base(shell)]
}

// systemNames are service accounts whatever their UID.
var systemNames = map[string]bool{
	"daemon": true, "bin": true, "sys": true, "sync": true, "games": true, "man": true, "lp": true,
	"mail": true, "news": true, "uucp": true, "proxy": true, "www-data": true, "www": true, "backup": true,
	"list": true, "irc": true, "gnats": true, "nobody": true, "nogroup": true, "ftp": true, "sshd": true,
	"dnsmasq": true, "network": true, "ntp": true, "messagebus": true, "systemd-network": true,
	"operator": true, "halt": true, "shutdown": true, "http": true, "mysql": true, "postgres": true,
}

func shellNote(shell string) string {
	if strings.TrimSpace(shell) == "" {
		return "shell field empty, so /bin/sh"
	}
	return "shell " + shell
}

// passwd checks one passwd file; it returns false when the file held no
// passwd entries (a PAM file or a binary of the same name).
func (r *run) passwd(af *accountFile, sf *shadowFile) bool {
	data := r.read(af.f)
	if data == nil {
		return false
	}
	type entry struct {
		e passwdEntry
		l line
	}
	var entries []entry
	for _, l := range splitLines(data) {
		if skipLine(l.Text) {
			continue
		}
		e, err := parsePasswdLine(l.Text)
		if err != nil {
			r.a.opts.Logger.Debug("passwd line skipped", "path", af.f.Path, "line", l.No, "err", err)
			continue
		}
		entries = append(entries, entry{e, l})
	}
	if len(entries) == 0 {
		return false
	}
	worldReadable := af.f.Mode.Perm()&0o004 != 0
	for _, en := range entries {
		e, l := en.e, en.l
		login := loginShell(e.Shell)
		shadowNote := ""
		if sf != nil {
			shadowNote = "shadow " + sf.af.f.FSPath
		}
		// Where the password is: "x" sends login to shadow; anything else
		// in passwd is the hash itself.
		usable := false
		if e.Password == "x" {
			if sf != nil {
				if sl := sf.byName[e.Name]; sl != nil {
					sl.used = true
					usable = r.password(sf.af.f, sl.l, sl.e.fields, sl.e.Hash, e.Name, login, e.Shell, false, "")
				}
			}
		} else {
			if sf != nil {
				if sl := sf.byName[e.Name]; sl != nil {
					sl.used = true // login reads passwd's own field; shadow's is unused
				}
			}
			usable = r.password(af.f, l, e.fields, e.Password, e.Name, login, e.Shell, worldReadable, shadowNote)
		}
		if e.UID == 0 && e.Name != "root" {
			r.report(RuleExtraRoot, af.f, l, fmt.Sprintf("%s (UID 0, %s)", redactedLine(e.fields), shellNote(e.Shell)))
		}
		if e.UID != 0 && (e.UID < 1000 || systemNames[e.Name]) && login {
			rule, state := RuleSystemShellLocked, "password locked or absent"
			if usable {
				rule, state = RuleSystemShell, "password usable"
			}
			r.report(rule, af.f, l, fmt.Sprintf("%s (UID %d, %s, %s)", redactedLine(e.fields), e.UID, shellNote(e.Shell), state))
		}
	}
	return true
}

// password checks one password field. It returns whether the field lets
// someone log in (empty, or a hash that is not locked).
func (r *run) password(f *firmware.File, l line, fields []string, pw, user string, login bool, shell string, exposed bool, note string) bool {
	ev := redactedLine(fields)
	if pw == "" {
		rule := RuleEmptyNoShell
		if login {
			rule = RuleEmptyLogin
		}
		r.report(rule, f, l, fmt.Sprintf("%s (password field empty, %s)", ev, shellNote(shell)))
		return true
	}
	if locked(pw) {
		return false
	}
	if exposed {
		extra := ""
		if note != "" {
			extra = "; " + note + " is not consulted for this account"
		}
		r.report(RuleHashInPasswd, f, l, fmt.Sprintf("%s (hash in %s, mode %04o%s)", ev, f.FSPath, f.Mode.Perm(), extra))
	}
	r.hash(f, l, ev, pw, user, func() {
		rule := RuleEmptyNoShell
		if login {
			rule = RuleEmptyLogin
		}
		r.report(rule, f, l, fmt.Sprintf("%s (hash of the empty password, %s)", ev, shellNote(shell)))
	})
	return true
}

// hash classifies a hash and tests it against the default list. onEmpty
// is called when the hash is that of the empty password.
func (r *run) hash(f *firmware.File, l line, ev, pw, user string, onEmpty func()) {
	h, err := parseCryptHash(pw)
	if err != nil {
		r.report(RuleUnchecked, f, l, fmt.Sprintf("%s (not a crypt(3) hash: %v)", ev, err))
		return
	}
	switch h.Alg {
	case algDES:
		r.report(RuleDES, f, l, ev+" (13-character DES crypt hash, salt "+h.Salt+")")
	case algMD5:
		r.report(RuleMD5, f, l, ev+" (MD5-crypt hash, salt "+h.Salt+")")
	}
	if !h.Supported() {
		r.report(RuleUnchecked, f, l, fmt.Sprintf("%s (%s hash: not computed by netvet)", ev, h.Alg))
		return
	}
	res := r.cr.crack(r.ctx, h, user)
	switch {
	case res.Found && res.Password == "":
		onEmpty()
	case res.Found:
		where := "the account's own name"
		if res.Entry > 0 {
			where = fmt.Sprintf("default list entry %d, %s", res.Entry, res.Source)
			if res.Password == user {
				where += ", and the account's own name"
			}
		}
		r.report(RuleDefault, f, l, fmt.Sprintf("%s (%s hash of the password %q: %s)", ev, h.Alg, redactSecret(res.Password), where))
	case res.Incomplete != "":
		r.report(RuleIncomplete, f, l, fmt.Sprintf("%s (%s hash: %d of %d candidates tested; %s)", ev, h.Alg, res.Tested, res.Total, res.Incomplete))
	}
}

// orphanShadow checks shadow entries no passwd entry used: a shadow file
// with no passwd beside it, or names passwd does not list.
func (r *run) orphanShadow(sf *shadowFile, paired bool) {
	for _, sl := range sf.entries {
		if r.ctx.Err() != nil {
			return
		}
		if sl.used {
			continue
		}
		note := "no account of this name in passwd"
		login := false
		if !paired {
			note = "no passwd file beside it: shell unknown, taken as a login shell"
			login = true
		}
		ev := redactedLine(sl.e.fields)
		if sl.e.Hash == "" {
			rule := RuleEmptyNoShell
			if login {
				rule = RuleEmptyLogin
			}
			r.report(rule, sf.af.f, sl.l, fmt.Sprintf("%s (password field empty; %s)", ev, note))
			continue
		}
		if locked(sl.e.Hash) {
			continue
		}
		r.hash(sf.af.f, sl.l, ev, sl.e.Hash, sl.e.Name, func() {
			rule := RuleEmptyNoShell
			if login {
				rule = RuleEmptyLogin
			}
			r.report(rule, sf.af.f, sl.l, fmt.Sprintf("%s (hash of the empty password; %s)", ev, note))
		})
	}
}

// group checks the password hashes of a group file (newgrp(1) asks
// non-members for them).
func (r *run) group(af *accountFile) {
	data := r.read(af.f)
	if data == nil {
		return
	}
	for _, l := range splitLines(data) {
		if skipLine(l.Text) {
			continue
		}
		e, err := parseGroupLine(l.Text)
		if err != nil {
			continue
		}
		if e.Password == "" || locked(e.Password) {
			continue
		}
		ev := redactedLine(e.fields)
		r.hash(af.f, l, ev, e.Password, e.Name, func() {
			r.report(RuleEmptyNoShell, af.f, l, ev+" (group password is the hash of the empty password)")
		})
	}
}

// redactSecret keeps a short prefix of a secret and stars the rest.
func redactSecret(s string) string {
	keep := min(len(s)/4, 4)
	return s[:keep] + strings.Repeat("*", len(s)-keep)
}
