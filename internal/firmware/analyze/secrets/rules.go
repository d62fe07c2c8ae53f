package secrets

import (
	"bytes"
	"fmt"
	"path"
	"regexp"
	"strings"

	"github.com/netvet/netvet/internal/firmware"
	"github.com/zricethezav/gitleaks/v8/report"
)

// placeholder reports values that are not secrets: empty, variables and
// templates, masks, and words that mean "unset".
func placeholder(v string) bool {
	v = strings.TrimSpace(v)
	if v == "" {
		return true
	}
	switch v[0] {
	case '$', '%', '<', '`', '(', '@':
		return true
	}
	if strings.HasPrefix(v, "{{") || strings.HasPrefix(v, "${") || strings.Contains(v, "$(") {
		return true
	}
	if strings.Trim(v, "*xX.#-_ ") == "" {
		return true
	}
	switch strings.ToLower(v) {
	case "none", "null", "nil", "true", "false", "yes", "no", "on", "off", "empty", "undefined", "unset", "0", "1":
		return true
	}
	return false
}

var wifiKeyName = regexp.MustCompile(`^(wpa|wep|wlan|wifi|wireless|wl|ath|ra|wlan_)[0-9]*[_.-]?(key|wpa_key|wep_key|psk|passphrase|keypassphrase)[0-9]?$`)

// secretName reports option and key names that hold a secret.
func secretName(name string) bool {
	n := strings.TrimRight(strings.ToLower(name), "0123456789")
	for _, s := range []string{"password", "passwd", "passphrase", "pwd", "secret", "psk", "presharedkey", "community"} {
		if strings.HasSuffix(n, s) {
			return true
		}
	}
	if n == "pass" || strings.HasSuffix(n, "_pass") || strings.HasSuffix(n, ".pass") || strings.HasSuffix(n, "-pass") {
		return true
	}
	return wifiKeyName.MatchString(n)
}

// classify picks the rule for a secret from its name and context.
func classify(name, ctx string, value string) firmware.Rule {
	n := strings.ToLower(name)
	c := strings.ToLower(ctx)
	switch {
	case strings.Contains(n, "community"):
		return snmpRule(value)
	case containsAny(c, "managementserver", "cwmp", "tr069", "tr-069") ||
		containsAny(n, "cwmp", "tr069", "tr-069", "managementserver", "connectionrequest", "connreq", "conn_req") ||
		strings.HasPrefix(n, "acs") || containsAny(n, "_acs", ".acs", "-acs"):
		return RuleTR069
	case containsAny(n, "ppp", "pptp", "l2tp", "apn", "wan_") || containsAny(c, "wanpppconnection", "ppp"):
		return RuleWAN
	case wifiKeyName.MatchString(strings.TrimRight(n, "0123456789")) ||
		containsAny(n, "wpa", "wep", "psk", "wifi", "wlan", "wireless", "presharedkey", "keypassphrase") ||
		containsAny(c, "wlanconfiguration"):
		return RuleWiFi
	}
	return RulePassword
}

func containsAny(s string, subs ...string) bool {
	for _, x := range subs {
		if strings.Contains(s, x) {
			return true
		}
	}
	return false
}

// defaultCommunities are the SNMP communities of factory configurations.
func snmpRule(v string) firmware.Rule {
	if strings.EqualFold(v, "public") || strings.EqualFold(v, "private") {
		return RuleSNMPDefault
	}
	return RuleSNMP
}

// fileCtx is what the rules need to know about a file.
type fileCtx struct {
	f      *firmware.File
	name   string
	data   []byte
	script bool // shell script: only whole-line assignments count
	config bool // configuration file: key=value anywhere counts
	wifi   bool // wpa_supplicant or hostapd configuration
	cwmp   bool // TR-069 client configuration
	ppp    bool // under /etc/ppp
}

// codeExts are web and program sources: gitleaks covers them; key=value
// there is code, not configuration.
var codeExts = map[string]bool{
	".js": true, ".html": true, ".htm": true, ".php": true, ".lua": true, ".asp": true, ".c": true, ".h": true,
	".css": true, ".py": true, ".pl": true, ".java": true, ".go": true, ".rb": true, ".tcl": true, ".cgi": true,
	".sh": true, ".md": true, ".pm": true, ".pod": true, ".t": true, ".cc": true, ".cpp": true, ".hpp": true,
	".ts": true, ".vim": true, ".el": true, ".rs": true,
}

// nssSources are the name-service sources of nsswitch.conf
// ("passwd: files systemd").
var nssSources = map[string]bool{
	"files": true, "compat": true, "db": true, "systemd": true, "nis": true, "nisplus": true, "ldap": true,
	"sss": true, "winbind": true, "dns": true, "mymachines": true, "resolve": true, "myhostname": true,
	"extrausers": true, "cache": true, "altfiles": true,
}

// debArchs are the architecture qualifiers of Debian package names
// ("passwd:amd64" in dpkg's log and status).
var debArchs = map[string]bool{
	"all": true, "amd64": true, "arm64": true, "armel": true, "armhf": true, "i386": true, "mips": true,
	"mipsel": true, "mips64el": true, "ppc64el": true, "riscv64": true, "s390x": true, "powerpc": true,
	"loong64": true, "x32": true,
}

// notSecretColon reports a "name: value" that is not a secret: an
// nsswitch.conf database line ("passwd: files") or a Debian package name
// with its architecture ("base-passwd:amd64" in dpkg's log). The name
// spans t[start:end].
func notSecretColon(c fileCtx, t string, start, end int, v string) bool {
	rest := strings.TrimLeft(t[end:], "\"' \t")
	if !strings.HasPrefix(rest, ":") {
		return false
	}
	if end < len(t) && t[end] == ':' && debArchs[v] {
		return true
	}
	if c.name == "nsswitch.conf" {
		return true
	}
	return strings.TrimSpace(t[:start]) == "" && nssSources[strings.ToLower(v)]
}

// docDirs hold manuals, change logs and READMEs: "passwd: files" or
// "secret = ..." there is prose or an example, not configuration.
var docDirs = []string{"/usr/share/doc/", "/usr/share/man/", "/usr/share/info/", "/usr/share/gtk-doc/",
	"/usr/share/help/", "/usr/share/lintian/", "/usr/share/common-licenses/"}

// docFile reports a file in a documentation folder; files unpacked from
// a compressed file (a .gz change log) have no fs_path, so the manifest
// path is checked too.
func docFile(f *firmware.File) bool {
	for _, d := range docDirs {
		if strings.HasPrefix(f.FSPath, d) || strings.Contains(f.Path, d) {
			return true
		}
	}
	return false
}

func newFileCtx(f *firmware.File, data []byte) fileCtx {
	c := fileCtx{f: f, name: baseName(f), data: data}
	ext := strings.ToLower(path.Ext(c.name))
	shebang := bytes.HasPrefix(data, []byte("#!"))
	c.script = ext == ".sh" || (shebang && bytes.Contains(firstLine(data), []byte("sh")))
	c.config = !shebang && !codeExts[ext] && !docFile(f)
	lname := strings.ToLower(c.name)
	c.wifi = strings.Contains(lname, "wpa_supplicant") || strings.Contains(lname, "hostapd") ||
		bytes.Contains(data, []byte("network={")) || bytes.Contains(data, []byte("\nssid=")) || bytes.HasPrefix(data, []byte("ssid="))
	c.cwmp = containsAny(lname, "cwmp", "tr069", "tr-069", "tr98", "tr181")
	c.ppp = strings.HasPrefix(f.FSPath, "/etc/ppp/")
	return c
}

func firstLine(b []byte) []byte {
	if i := bytes.IndexByte(b, '\n'); i >= 0 {
		return b[:i]
	}
	return b
}

// firmwareRules applies netvet's own rules to one text file.
func firmwareRules(f *firmware.File, data []byte) []match {
	c := newFileCtx(f, data)
	if sections, _, err := parseUCI(data); err == nil {
		return uciRules(c, sections)
	}
	return lineRules(c)
}

// addMatch records a match unless its value range is already taken.
type matchSet struct {
	ms []match
}

func (s *matchSet) add(m match) {
	for _, o := range s.ms {
		if m.valOff() < o.valEnd() && o.valOff() < m.valEnd() {
			return
		}
	}
	s.ms = append(s.ms, m)
}

// lineMatch builds a match on line l for the value at [vs, ve) of its text.
func lineMatch(rule firmware.Rule, l line, vs, ve int, note string) match {
	return match{rule: rule, l: l, vs: vs, ve: ve, note: note}
}

// uciWiFiOptions are the wifi-iface options that hold keys.
var uciWiFiOptions = map[string]bool{
	"key": true, "key1": true, "key2": true, "key3": true, "key4": true, "password": true,
	"sae_password": true, "auth_secret": true, "acct_secret": true, "priv_key_pwd": true, "priv_key2_pwd": true,
	"dae_secret": true, "wpa_psk": true,
}

var uciWANProtos = map[string]bool{
	"pppoe": true, "pppoa": true, "pptp": true, "l2tp": true, "ppp": true, "3g": true, "qmi": true,
	"ncm": true, "mbim": true, "modemmanager": true, "wwan": true,
}

func uciRules(c fileCtx, sections []*uciSection) []match {
	var set matchSet
	for _, s := range sections {
		for _, o := range s.Options {
			name := strings.ToLower(o.Name)
			if placeholder(o.Value) {
				continue
			}
			var rule firmware.Rule
			note := ""
			switch {
			case s.Type == "wifi-iface" && uciWiFiOptions[name]:
				enc := strings.ToLower(s.Get("encryption"))
				if name == "key" && strings.HasPrefix(enc, "wep") && len(o.Value) == 1 && o.Value >= "1" && o.Value <= "4" {
					continue // the index of key1..key4, not a key
				}
				rule = RuleWiFi
				if ssid := s.Get("ssid"); ssid != "" {
					note = fmt.Sprintf("SSID %q", ssid)
				}
				if enc != "" {
					note = strings.TrimPrefix(note+", encryption "+enc, ", ")
				}
			case strings.Contains(name, "community"):
				rule = snmpRule(o.Value)
				note = "config " + s.Type
			case s.Type == "interface" && uciWANProtos[strings.ToLower(s.Get("proto"))] && secretName(name):
				rule = RuleWAN
				note = "interface " + s.Name + ", proto " + s.Get("proto")
				if u := s.Get("username"); u != "" {
					note += fmt.Sprintf(", username %q", u)
				}
			case (c.cwmp || s.Type == "acs" || s.Type == "cwmp") && secretName(name):
				rule = RuleTR069
				note = "config " + s.Type
				if u := s.Get("url"); u != "" {
					note += fmt.Sprintf(", url %q", u)
				}
			case secretName(name), name == "private_key", name == "preshared_key":
				rule = classify(name, s.Type, o.Value)
				note = "config " + s.Type
			default:
				continue
			}
			vs, ve := int(o.ValOff-o.Off), int(o.ValEnd-o.Off)
			l := line{Text: o.Text, No: o.Line, Offset: o.Off}
			set.add(lineMatch(rule, l, vs, ve, note))
		}
	}
	sortMatches(set.ms)
	return set.ms
}

var (
	// wpa_supplicant and hostapd: key=value at the start of a line.
	reWiFiLine = regexp.MustCompile(`^\s*(wpa_passphrase|wpa_psk|sae_password|psk|password|wep_key[0-3])\s*=\s*(\S.*?)\s*$`)
	// snmpd.conf and IOS-style directives.
	reSNMPCommunity = regexp.MustCompile(`^\s*(rocommunity6?|rwcommunity6?|trapcommunity)\s+([^\s#]+)`)
	reSNMPCom2sec   = regexp.MustCompile(`^\s*com2sec6?\s+(?:-Cn\s+\S+\s+)?\S+\s+\S+\s+([^\s#]+)`)
	reSNMPSink      = regexp.MustCompile(`^\s*(?:trapsink|trap2sink|informsink)\s+\S+\s+([^\s#]+)`)
	reSNMPServer    = regexp.MustCompile(`^\s*snmp-server\s+community\s+(\S+)(?:\s+(\S+))?`)
	reSNMPUser      = regexp.MustCompile(`^\s*createUser\s+(?:-e\s+\S+\s+)?\S+\s+(?:MD5|SHA\S*)\s+("[^"]*"|\S+)(?:\s+(?:DES|AES\S*)\s+("[^"]*"|\S+))?`)
	// ppp options and peers files.
	rePPPPassword = regexp.MustCompile(`^\s*password\s+("[^"]*"|\S+)`)
	// key=value or key: value, quoted or bare, anywhere in a config line.
	reAssign = regexp.MustCompile(`(?:^|[^A-Za-z0-9_.\-])["']?([A-Za-z_][A-Za-z0-9_.\-]{0,63})["']?\s*[:=]\s*("[^"\n]{0,256}"|'[^'\n]{0,256}'|[^\s"',;<>#&{}\[\]]{1,256})`)
	// NAME=value as a whole shell line.
	reShellAssign = regexp.MustCompile(`^\s*(?:export\s+|local\s+|readonly\s+)?([A-Za-z_][A-Za-z0-9_]*)=("[^"$` + "`" + `\\]*"|'[^']*'|[^\s"'$` + "`" + `;&|<>()]+)\s*(?:#.*)?$`)
	// <Name>value</Name> on one line.
	reXMLElement = regexp.MustCompile(`<([A-Za-z_][\w.:-]{0,63})(?:\s[^>]*)?>([^<\n]{1,256})</([A-Za-z_][\w.:-]{0,63})>`)
)

// maxRuleLine bounds the lines the line rules look at; longer lines are
// left to gitleaks.
const maxRuleLine = 4096

func unquote(s string) string {
	if len(s) >= 2 && (s[0] == '"' || s[0] == '\'') && s[len(s)-1] == s[0] {
		return s[1 : len(s)-1]
	}
	return s
}

// xmlContext names the TR-069 object an offset lies in, from the last
// unclosed element of interest in the 4 KiB before it.
func xmlContext(data []byte, off int64) string {
	from := max(0, off-4096)
	win := data[from:off]
	best, bestAt := "", -1
	for _, name := range []string{"ManagementServer", "WANPPPConnection", "WLANConfiguration"} {
		open := bytes.LastIndex(win, []byte("<"+name))
		closeAt := bytes.LastIndex(win, []byte("</"+name))
		if open > closeAt && open > bestAt {
			best, bestAt = name, open
		}
	}
	return best
}

// xmlComments returns the byte ranges of <!-- --> comments.
func xmlComments(data []byte) [][2]int64 {
	var out [][2]int64
	for at := 0; at < len(data); {
		i := bytes.Index(data[at:], []byte("<!--"))
		if i < 0 {
			break
		}
		start := at + i
		j := bytes.Index(data[start+4:], []byte("-->"))
		if j < 0 {
			out = append(out, [2]int64{int64(start), int64(len(data))})
			break
		}
		end := start + 4 + j + 3
		out = append(out, [2]int64{int64(start), int64(end)})
		at = end
	}
	return out
}

func inRanges(rs [][2]int64, off int64) bool {
	for _, r := range rs {
		if off >= r[0] && off < r[1] {
			return true
		}
	}
	return false
}

func lineRules(c fileCtx) []match {
	var set matchSet
	secretsFile := c.ppp && strings.HasSuffix(c.name, "-secrets")
	var comments [][2]int64
	if c.config {
		comments = xmlComments(c.data)
	}
	for _, l := range splitLines(c.data) {
		t := l.Text
		if len(t) > maxRuleLine {
			continue
		}
		trimmed := strings.TrimSpace(t)
		if trimmed == "" || trimmed[0] == '#' || strings.HasPrefix(trimmed, "//") || trimmed[0] == ';' {
			continue
		}
		if secretsFile {
			// client server secret [addresses]
			toks, err := uciTokens(t)
			if err == nil && len(toks) >= 3 && !placeholder(toks[2].Text) {
				set.add(lineMatch(RuleWAN, l, toks[2].Start, toks[2].End, fmt.Sprintf("PPP secrets file, client %q", toks[0].Text)))
			}
			continue
		}
		if m := reWiFiLine.FindStringSubmatchIndex(t); m != nil {
			key := t[m[2]:m[3]]
			if (key == "wpa_passphrase" || key == "wpa_psk" || c.wifi) && !placeholder(unquote(t[m[4]:m[5]])) {
				set.add(lineMatch(RuleWiFi, l, m[4], m[5], key))
				continue
			}
		}
		snmp := func(re *regexp.Regexp, note string) bool {
			m := re.FindStringSubmatchIndex(t)
			if m == nil {
				return false
			}
			g := len(m)/2 - 1
			if re == reSNMPCommunity {
				g, note = 2, t[m[2]:m[3]]
			}
			if re == reSNMPServer {
				g = 1
				if m[4] >= 0 {
					note += " " + t[m[4]:m[5]]
				}
			}
			v := t[m[2*g]:m[2*g+1]]
			if placeholder(v) {
				return false
			}
			set.add(lineMatch(snmpRule(v), l, m[2*g], m[2*g+1], note))
			return true
		}
		if snmp(reSNMPCommunity, "") || snmp(reSNMPCom2sec, "com2sec") || snmp(reSNMPSink, "trap sink") || snmp(reSNMPServer, "snmp-server community") {
			continue
		}
		if m := reSNMPUser.FindStringSubmatchIndex(t); m != nil {
			for g, note := range []string{1: "SNMPv3 authentication passphrase", 2: "SNMPv3 privacy passphrase"} {
				if g > 0 && m[2*g] >= 0 && !placeholder(unquote(t[m[2*g]:m[2*g+1]])) {
					set.add(lineMatch(RulePassword, l, m[2*g], m[2*g+1], note))
				}
			}
			continue
		}
		if c.ppp {
			if m := rePPPPassword.FindStringSubmatchIndex(t); m != nil && !placeholder(unquote(t[m[2]:m[3]])) {
				set.add(lineMatch(RuleWAN, l, m[2], m[3], "pppd option"))
				continue
			}
		}
		switch {
		case c.script:
			if m := reShellAssign.FindStringSubmatchIndex(t); m != nil {
				name, v := t[m[2]:m[3]], t[m[4]:m[5]]
				if secretName(name) && !placeholder(unquote(v)) {
					set.add(lineMatch(classify(name, "", unquote(v)), l, m[4], m[5], "shell variable "+name))
				}
			}
		case c.config:
			for _, m := range reXMLElement.FindAllStringSubmatchIndex(t, -1) {
				open, closing := t[m[2]:m[3]], t[m[6]:m[7]]
				v := t[m[4]:m[5]]
				if open != closing || !secretName(open) || placeholder(v) || inRanges(comments, l.Offset+int64(m[4])) {
					continue
				}
				ctx := xmlContext(c.data, l.Offset+int64(m[4]))
				set.add(lineMatch(classify(open, ctx, v), l, m[4], m[5], "element "+open+ctxNote(ctx)))
			}
			for _, m := range reAssign.FindAllStringSubmatchIndex(t, -1) {
				name, v := t[m[2]:m[3]], t[m[4]:m[5]]
				if !secretName(name) || placeholder(unquote(v)) || inRanges(comments, l.Offset+int64(m[4])) {
					continue
				}
				if notSecretColon(c, t, m[2], m[3], v) {
					continue
				}
				ctx := xmlContext(c.data, l.Offset+int64(m[4]))
				set.add(lineMatch(classify(name, ctx, unquote(v)), l, m[4], m[5], ctxNote(ctx)))
			}
		}
	}
	sortMatches(set.ms)
	return set.ms
}

func ctxNote(ctx string) string {
	if ctx == "" {
		return ""
	}
	return ", inside " + ctx
}

// gitleaksMatches turns gitleaks findings into matches, dropping those
// whose secret a firmware rule already reported.
func gitleaksMatches(data []byte, gl []report.Finding, taken []match) []match {
	var lineStarts []int64
	lineStarts = append(lineStarts, 0)
	for i, b := range data {
		if b == '\n' {
			lineStarts = append(lineStarts, int64(i+1))
		}
	}
	set := matchSet{ms: append([]match(nil), taken...)}
	n := len(taken)
	for _, g := range gl {
		rule := RuleGitleaks
		if g.RuleID == gitleaksGeneric {
			rule = RuleGitleaksGeneric
		}
		if g.StartLine < 0 || g.StartLine >= len(lineStarts) || g.Secret == "" {
			continue
		}
		ls := lineStarts[g.StartLine]
		le := int64(len(data))
		if g.StartLine+1 < len(lineStarts) {
			le = lineStarts[g.StartLine+1] - 1
		}
		text := strings.TrimSuffix(string(data[ls:le]), "\r")
		vs := strings.Index(text, g.Secret)
		if vs < 0 {
			// A secret spanning lines: point at the start of the match.
			vs = max(0, strings.Index(text, firstLineOf(g.Match)))
			set.add(match{rule: rule, l: line{Text: text, No: g.StartLine + 1, Offset: ls}, vs: vs, ve: len(text),
				evidence: fmt.Sprintf("gitleaks rule %s: multi-line match starting %q", g.RuleID, redact(firstLineOf(g.Secret))),
				evOff:    ls + int64(vs)})
			continue
		}
		l := line{Text: text, No: g.StartLine + 1, Offset: ls}
		m := lineMatch(rule, l, vs, vs+len(g.Secret), "")
		m.label = "gitleaks rule " + g.RuleID
		set.add(m)
	}
	return set.ms[n:]
}

func firstLineOf(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}
