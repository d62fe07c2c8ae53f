package equiv

import (
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"path"
	"regexp"
	"strings"

	"github.com/netvet/netvet/internal/firmware"
)

// The rules of the security-relevant changes between two builds.
var (
	RuleSetuid = firmware.Rule{
		ID: "NV-EQV-001", Title: "New set-user-ID or set-group-ID file", Severity: firmware.SeverityHigh,
		Rationale:  "A program that runs with its owner's rights appeared or gained the bit after the evaluation: a privilege escalation path nobody reviewed.",
		References: []string{"https://attack.mitre.org/techniques/T1548/001/", "https://cwe.mitre.org/data/definitions/250.html"},
	}
	RuleInit = firmware.Rule{
		ID: "NV-EQV-002", Title: "Init script or boot hook added or changed", Severity: firmware.SeverityHigh,
		Rationale:  "What runs at boot decides which services start and with which options: a change here alters the device without changing any binary.",
		References: []string{"https://attack.mitre.org/techniques/T1037/"},
	}
	RuleDaemon = firmware.Rule{
		ID: "NV-EQV-003", Title: "Network daemon added or changed", Severity: firmware.SeverityHigh,
		Rationale:  "A new or modified program that accepts connections is a new way into the device.",
		References: []string{"https://attack.mitre.org/techniques/T1543/"},
	}
	RuleAuthorizedKeys = firmware.Rule{
		ID: "NV-EQV-004", Title: "SSH authorized_keys added or changed", Severity: firmware.SeverityCritical,
		Rationale:  "A key in authorized_keys lets its holder log in without a password: a changed file can hand remote access to whoever holds the new key.",
		References: []string{"https://attack.mitre.org/techniques/T1098/004/"},
	}
	RuleAccounts = firmware.Rule{
		ID: "NV-EQV-005", Title: "Account database changed", Severity: firmware.SeverityHigh,
		Rationale:  "A new user, a new UID 0 account or a changed password hash is a way in that no review of the programs would find.",
		References: []string{"https://attack.mitre.org/techniques/T1136/"},
	}
)

// Rules returns the rules of the comparison's findings, sorted by ID.
func Rules() []firmware.Rule {
	return []firmware.Rule{RuleSetuid, RuleInit, RuleDaemon, RuleAuthorizedKeys, RuleAccounts}
}

var reInitPath = regexp.MustCompile(`^(?:/etc/init\.d/|/etc/rc\.d/|/etc/rc[0-6sS]\.d/|/etc/inittab$|/etc/rc\.local$|/etc/rc\.common$|/etc/preinit$|/lib/preinit/|/etc/systemd/system/|/lib/systemd/system/|/usr/lib/systemd/system/|/etc/init/|/etc/uci-defaults/|/etc/crontab$|/etc/crontabs/|/etc/cron\.d/|/var/spool/cron/|/etc/hotplug\.d/|/etc/rcS$|/etc/init\.rc$|/init\.rc$)`)

func isInitPath(p string) bool { return reInitPath.MatchString(p) }

// knownDaemons are programs that listen on the network.
var knownDaemons = map[string]bool{
	"telnetd": true, "utelnetd": true, "in.telnetd": true, "dropbear": true, "sshd": true, "httpd": true,
	"uhttpd": true, "lighttpd": true, "mini_httpd": true, "thttpd": true, "boa": true, "goahead": true,
	"webs": true, "nginx": true, "apache2": true, "tftpd": true, "in.tftpd": true, "atftpd": true,
	"ftpd": true, "vsftpd": true, "proftpd": true, "pure-ftpd": true, "bftpd": true, "snmpd": true,
	"mini_snmpd": true, "nc": true, "netcat": true, "ncat": true, "socat": true, "gdbserver": true,
	"tcpsvd": true, "udpsvd": true, "inetd": true, "xinetd": true, "rlogind": true, "rshd": true,
	"rexecd": true, "in.rlogind": true, "in.rshd": true, "miniupnpd": true, "upnpd": true, "smbd": true,
	"nmbd": true, "rpcbind": true, "portmap": true, "mosquitto": true, "cwmpd": true, "tr069": true,
	"tr69c": true, "lldpd": true, "zebra": true, "bgpd": true, "ospfd": true, "vtysh": true,
}

var accountFiles = map[string]bool{"/etc/passwd": true, "/etc/shadow": true, "/etc/group": true, "/etc/gshadow": true,
	"/etc/sudoers": true, "/etc/master.passwd": true, "/etc/doas.conf": true}

// security turns the classified changes into findings.
func (c *comparer) security(rep *Report) {
	for _, r := range c.recs {
		if r.b == nil || r.b.root == nil || (r.st != StatusAdded && r.st != StatusDifferent) {
			continue
		}
		b, a, ch := r.b, r.a, r.ch
		p := b.fsPath()
		add := func(rule firmware.Rule, off int64, line int, ev string) {
			f := rule.Finding(nil, off, ev)
			f.Path, f.FSPath, f.Line, f.Analyzer = b.m.Path, p, line, "equiv"
			rep.Findings = append(rep.Findings, f)
			ch.Security = append(ch.Security, rule.ID)
		}
		typ := b.m.Type
		fileish := typ == "file" || typ == "hardlink"
		// 1. Set-user-ID and set-group-ID.
		if fileish {
			var was uint32
			if a != nil {
				was = setuidBits(a.m.Mode)
			}
			if now := setuidBits(b.m.Mode); now&^was != 0 {
				ev := fmt.Sprintf("mode %s, owner %s", b.m.Mode, owner(b))
				if a != nil {
					ev = fmt.Sprintf("mode %s → %s, owner %s", a.m.Mode, b.m.Mode, owner(b))
				}
				add(RuleSetuid, -1, 0, ev)
			}
		}
		contentChanged := r.st == StatusAdded || ch.SHA256A != ch.SHA256B || (a != nil && a.m.LinkTarget != b.m.LinkTarget) || (a != nil && a.m.Type != b.m.Type)
		// 2. Init scripts and boot hooks.
		if isInitPath(p) && (fileish || typ == "symlink") && (contentChanged || r.st == StatusAdded || modeChanged(a, b)) {
			off, line, ev := c.textEvidence(a, b)
			add(RuleInit, off, line, ev)
		}
		// 3. Network daemons: by name, or by what an added program imports.
		name := path.Base(p)
		if (fileish || typ == "symlink") && contentChanged {
			if knownDaemons[name] {
				ev := "added"
				if r.st == StatusDifferent {
					ev = "changed"
				}
				if typ == "symlink" {
					ev += " symlink → " + b.m.LinkTarget
				} else {
					ev += fmt.Sprintf(" %s, mode %s, %d bytes", typ, b.m.Mode, b.m.Size)
					if ch.TLSH != nil && ch.TLSH.Distance != nil {
						ev += fmt.Sprintf(", TLSH distance %d", *ch.TLSH.Distance)
					}
				}
				add(RuleDaemon, -1, 0, ev)
			} else if fileish {
				if ev := c.newListener(a, b); ev != "" {
					add(RuleDaemon, -1, 0, ev)
				}
			}
		}
		// 4. authorized_keys.
		if (name == "authorized_keys" || name == "authorized_keys2") && fileish && contentChanged {
			off, line, ev := c.keyEvidence(a, b)
			add(RuleAuthorizedKeys, off, line, ev)
		}
		// 5. Account databases.
		if (accountFiles[p] || strings.HasPrefix(p, "/etc/sudoers.d/")) && fileish && contentChanged {
			off, line, ev := c.textEvidence(a, b)
			add(RuleAccounts, off, line, ev)
		}
	}
}

func owner(n *node) string {
	if n.m.UID == nil || n.m.GID == nil {
		return "unknown"
	}
	return fmt.Sprintf("%d:%d", *n.m.UID, *n.m.GID)
}

func modeChanged(a, b *node) bool { return a != nil && a.m.Mode != b.m.Mode }

// readText returns a small text file's content.
func readText(s *Side, n *node) ([]byte, bool) {
	if n == nil || !n.content() || n.m.Size > maxTextBytes {
		return nil, false
	}
	b, _, ok, err := s.read(n, maxTextBytes)
	if err != nil || !ok || !isText(b) {
		return nil, false
	}
	return b, true
}

// textEvidence describes a text change by its first added line in B (or
// the first removed line), with secrets redacted.
func (c *comparer) textEvidence(a, b *node) (int64, int, string) {
	if b.m.Type == "symlink" {
		if a != nil {
			return -1, 0, fmt.Sprintf("symlink %s → %s", a.m.LinkTarget, b.m.LinkTarget)
		}
		return -1, 0, "added symlink → " + b.m.LinkTarget
	}
	db, okB := readText(c.b, b)
	if !okB {
		if a == nil {
			return -1, 0, fmt.Sprintf("added, %d bytes, mode %s", b.m.Size, b.m.Mode)
		}
		return -1, 0, fmt.Sprintf("changed, %d → %d bytes", a.m.Size, b.m.Size)
	}
	var da []byte
	if a != nil {
		da, _ = readText(c.a, a)
	}
	ta, tb := splitLines(da), splitLines(db)
	red := redactor(b.fsPath(), tb)
	redA := redactor(b.fsPath(), ta)
	edits := lineEdits(ta.lines, tb.lines)
	// The first added line that says something: not blank, not a comment
	// (a shebang tells nothing), else the first added line.
	pick := -1
	for _, e := range edits {
		if e.op != '+' {
			continue
		}
		if pick < 0 {
			pick = e.b
		}
		if l := strings.TrimSpace(tb.lines[e.b]); l != "" && !strings.HasPrefix(l, "#") {
			pick = e.b
			break
		}
	}
	if pick >= 0 {
		verb := "line %d added: %s"
		if a == nil {
			verb = "new file, line %d: %s"
		}
		return tb.offs[pick], pick + 1, fmt.Sprintf(verb, pick+1, clip(red(pick, tb.lines[pick])))
	}
	for _, e := range edits {
		if e.op == '-' {
			return -1, 0, fmt.Sprintf("line %d of A removed: %s", e.a+1, clip(redA(e.a, ta.lines[e.a])))
		}
	}
	if a != nil && a.m.Mode != b.m.Mode {
		return -1, 0, fmt.Sprintf("mode %s → %s", a.m.Mode, b.m.Mode)
	}
	return -1, 0, "content changed"
}

func clip(s string) string {
	if len(s) > 160 {
		return s[:160] + "…"
	}
	return s
}

// newListener reports an added program, or a changed one, that imports
// socket, bind and listen when the old one did not.
func (c *comparer) newListener(a, b *node) string {
	db, _, ok, err := c.b.read(b, c.opt.MaxCompareBytes)
	if err != nil || !ok || !isELF(db) {
		return ""
	}
	eb, err := parseELF(db)
	if err != nil || !eb.program || !listens(eb.imports) {
		return ""
	}
	if a != nil {
		if da, _, ok, err := c.a.read(a, c.opt.MaxCompareBytes); err == nil && ok && isELF(da) {
			if ea, err := parseELF(da); err == nil && listens(ea.imports) {
				return ""
			}
		}
		return "changed program now imports socket, bind and listen"
	}
	return "added program imports socket, bind and listen"
}

// sshKey is one line of an authorized_keys file.
type sshKey struct {
	line        int
	off         int64
	typ         string
	fingerprint string
	comment     string
	options     string
}

var keyTypes = []string{"ssh-rsa", "ssh-dss", "ssh-ed25519", "ssh-ed448", "ecdsa-sha2-", "sk-ssh-ed25519@openssh.com", "sk-ecdsa-sha2-", "ssh-xmss"}

func isKeyType(s string) bool {
	for _, t := range keyTypes {
		if s == t || (strings.HasSuffix(t, "-") && strings.HasPrefix(s, t)) {
			return true
		}
	}
	return false
}

// parseAuthorizedKeys reads the keys of an authorized_keys file: optional
// options, a key type, the base64 key and a comment. Lines it cannot read
// are returned with type "unparsable".
func parseAuthorizedKeys(b []byte) []sshKey {
	t := splitLines(b)
	var out []sshKey
	for i, l := range t.lines {
		s := strings.TrimSpace(l)
		if s == "" || strings.HasPrefix(s, "#") {
			continue
		}
		fields := strings.Fields(s)
		k := sshKey{line: i + 1, off: t.offs[i], typ: "unparsable"}
		for j, f := range fields {
			if !isKeyType(f) || j+1 >= len(fields) {
				continue
			}
			k.typ = f
			k.options = strings.Join(fields[:j], " ")
			blob, err := base64.StdEncoding.DecodeString(fields[j+1])
			if err != nil {
				blob, err = base64.RawStdEncoding.DecodeString(strings.TrimRight(fields[j+1], "="))
			}
			if err == nil {
				sum := sha256.Sum256(blob)
				k.fingerprint = "SHA256:" + base64.RawStdEncoding.EncodeToString(sum[:])
			} else {
				k.fingerprint = "undecodable key"
			}
			k.comment = strings.Join(fields[j+2:], " ")
			break
		}
		if k.typ == "unparsable" {
			k.fingerprint = "line not read as a key: " + clip(redactValue(s))
		}
		out = append(out, k)
	}
	return out
}

func (k sshKey) String() string {
	s := k.typ + " " + k.fingerprint
	if k.comment != "" {
		s += " " + clip(k.comment)
	}
	if k.options != "" {
		s += " (options: " + clip(k.options) + ")"
	}
	return s
}

// keyEvidence names the first key added to authorized_keys (or removed,
// or whose options changed).
func (c *comparer) keyEvidence(a, b *node) (int64, int, string) {
	db, okB := readText(c.b, b)
	if !okB {
		return -1, 0, fmt.Sprintf("changed, %d bytes (not readable as text)", b.m.Size)
	}
	var da []byte
	if a != nil {
		da, _ = readText(c.a, a)
	}
	ka, kb := parseAuthorizedKeys(da), parseAuthorizedKeys(db)
	had := map[string]sshKey{}
	for _, k := range ka {
		had[k.typ+" "+k.fingerprint] = k
	}
	has := map[string]bool{}
	var added []sshKey
	for _, k := range kb {
		has[k.typ+" "+k.fingerprint] = true
		if _, ok := had[k.typ+" "+k.fingerprint]; !ok {
			added = append(added, k)
		}
	}
	if len(added) > 0 {
		k := added[0]
		ev := fmt.Sprintf("key added at line %d: %s", k.line, k)
		if len(added) > 1 {
			ev += fmt.Sprintf(" (and %d more)", len(added)-1)
		}
		return k.off, k.line, ev
	}
	for _, k := range ka {
		if !has[k.typ+" "+k.fingerprint] {
			return -1, 0, fmt.Sprintf("key removed (line %d of A): %s", k.line, k)
		}
	}
	for _, k := range kb {
		if o := had[k.typ+" "+k.fingerprint]; o.options != k.options {
			return k.off, k.line, fmt.Sprintf("options of a key changed at line %d: %q → %q", k.line, clip(o.options), clip(k.options))
		}
	}
	return -1, 0, "file changed, same keys"
}
