package endpoints

import (
	"bytes"
	"cmp"
	"errors"
	"io"
	"net/netip"
	"slices"
	"strings"
)

// Kind is the form an endpoint was written in.
type Kind uint8

const (
	KindIPv4 Kind = iota + 1
	KindIPv6
	KindURL
	KindDomain
)

var kindNames = [...]string{"", "IPv4", "IPv6", "URL", "domain"}

func (k Kind) String() string {
	if int(k) < len(kindNames) && k != 0 {
		return kindNames[k]
	}
	return "unknown"
}

// Match is one endpoint found in the data.
type Match struct {
	Kind Kind
	// Value is the normalised endpoint: the canonical address, the
	// lower-case name, or the URL with scheme and host lower-cased and any
	// password redacted.
	Value string
	// Host is a URL's host (lower-case, without brackets or port).
	Host  string
	Class Class
	// Offset and Len locate the text as written in the data.
	Offset int64
	Len    int
	// Line is the 1-based line in text mode, 0 in binary mode.
	Line int
	// Scheme is a URL's scheme; Credentials says the URL carried a user
	// name or password (redacted in Value).
	Scheme      string
	Credentials bool
}

// Options tune the extractor.
type Options struct {
	// Binary selects the strict rules for binaries: names must be lower
	// case and a name followed by "/" (a Go module path, a file path) is
	// not taken. Text mode counts lines.
	Binary bool
	// MinRun is the shortest run of printable characters examined
	// (default 4, as strings(1)).
	MinRun int
}

// maxRun is the longest run of printable characters examined at once; a
// longer run is cut at its last blank or quote, which no endpoint
// contains.
const maxRun = 64 << 10

// chunkSize is how much Scan reads at a time.
const chunkSize = 256 << 10

// printable marks the bytes strings(1) keeps: ASCII graphic characters,
// space and tab.
var printable = func() (t [256]bool) {
	for c := 0x20; c < 0x7f; c++ {
		t[c] = true
	}
	t['\t'] = true
	return t
}()

// errStop ends a scan early when the callback asks.
var errStop = errors.New("stop")

// Scan reads r to the end (or max bytes, when max > 0) and calls fn for
// every endpoint in order of offset within each run of printable
// characters. It returns the number of bytes read. fn returns false to
// stop the scan. Memory use is bounded by the chunk and run sizes,
// whatever the input.
func Scan(r io.Reader, opt Options, max int64, fn func(Match) bool) (int64, error) {
	return scan(r, opt, max, make([]byte, chunkSize), fn)
}

// scan is Scan reading through buf, which the analyser reuses from file
// to file.
func scan(r io.Reader, opt Options, max int64, buf []byte, fn func(Match) bool) (int64, error) {
	if opt.MinRun <= 0 {
		opt.MinRun = 4
	}
	s := &scanner{opt: opt, fn: fn, line: 1, run: make([]byte, 0, 4096)}
	if max > 0 {
		r = io.LimitReader(r, max)
	}
	var total int64
	for {
		n, err := r.Read(buf)
		if n > 0 {
			if s.feed(buf[:n], total) != nil {
				return total + int64(n), nil
			}
			total += int64(n)
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return total, err
		}
	}
	s.flush()
	return total, nil
}

// ScanBytes is Scan over a byte slice.
func ScanBytes(b []byte, opt Options, fn func(Match) bool) {
	Scan(bytes.NewReader(b), opt, 0, fn)
}

type scanner struct {
	opt      Options
	fn       func(Match) bool
	run      []byte
	runStart int64
	runLine  int
	line     int
	stopped  bool
	// out and sp are reused from run to run.
	out []Match
	sp  []span
}

func (s *scanner) feed(b []byte, base int64) error {
	i := 0
	for i < len(b) {
		if s.stopped {
			return errStop
		}
		// Skip non-printable bytes fast.
		if !printable[b[i]] {
			if len(s.run) > 0 {
				s.flush()
			}
			for i < len(b) && !printable[b[i]] {
				if b[i] == '\n' {
					s.line++
				}
				i++
			}
			continue
		}
		j := i
		for j < len(b) && printable[b[j]] {
			j++
		}
		if len(s.run) == 0 && j < len(b) && j-i < maxRun {
			// The whole run is in this chunk: examine it in place.
			s.runStart, s.runLine = base+int64(i), s.line
			s.extract(b[i:j])
			i = j
			continue
		}
		if len(s.run) == 0 {
			s.runStart, s.runLine = base+int64(i), s.line
		}
		seg := b[i:j]
		for len(seg) > 0 {
			room := maxRun - len(s.run)
			take := min(room, len(seg))
			s.run = append(s.run, seg[:take]...)
			seg = seg[take:]
			if len(s.run) >= maxRun {
				s.cut()
			}
		}
		i = j
	}
	if s.stopped {
		return errStop
	}
	return nil
}

// cut examines a full run up to its last blank or quote and keeps the
// rest as the start of the next run.
func (s *scanner) cut() {
	k := bytes.LastIndexAny(s.run, " \t\"'<>")
	if k <= 0 {
		k = len(s.run)
	}
	s.extract(s.run[:k])
	rest := len(s.run) - k
	copy(s.run, s.run[k:])
	s.run = s.run[:rest]
	s.runStart += int64(k)
}

func (s *scanner) flush() {
	if len(s.run) >= s.opt.MinRun {
		s.extract(s.run)
	}
	s.run = s.run[:0]
}

func (s *scanner) emit(m Match) {
	if s.stopped {
		return
	}
	if !s.opt.Binary {
		m.Line = s.runLine
	}
	if !s.fn(m) {
		s.stopped = true
	}
}

// span is a byte range of the run already claimed by an endpoint.
type span struct{ s, e int }

func covered(sp []span, s, e int) bool {
	for _, c := range sp {
		if s < c.e && e > c.s {
			return true
		}
	}
	return false
}

// extract finds the endpoints in one run of printable characters. URLs
// come first, then IPv6 and IPv4 addresses, then names; text inside an
// earlier match is not taken again.
func (s *scanner) extract(run []byte) {
	if s.stopped || len(run) < s.opt.MinRun {
		return
	}
	hasDot := bytes.IndexByte(run, '.') >= 0
	colons := bytes.Count(run, []byte{':'})
	if !hasDot && colons < 2 {
		return
	}
	sp, out := s.sp[:0], s.out[:0]
	defer func() { s.sp, s.out = sp[:0], out[:0] }()
	if colons > 0 {
		out, sp = s.urls(run, out, sp)
	}
	if colons >= 2 {
		out, sp = ipv6s(run, out, sp)
	}
	if hasDot {
		out, sp = ipv4s(run, out, sp)
		out = s.domains(run, out, sp)
	}
	sortMatches(out)
	for _, m := range out {
		m.Offset += s.runStart
		s.emit(m)
	}
}

func sortMatches(ms []Match) {
	slices.SortStableFunc(ms, func(a, b Match) int { return cmp.Compare(a.Offset, b.Offset) })
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }
func isAlpha(c byte) bool { return c|0x20 >= 'a' && c|0x20 <= 'z' }
func isAlnum(c byte) bool { return isDigit(c) || isAlpha(c) }
func isWord(c byte) bool  { return isAlnum(c) || c == '_' }
func isHex(c byte) bool   { return isDigit(c) || (c|0x20 >= 'a' && c|0x20 <= 'f') }

// schemes are the URL schemes taken, and whether the protocol encrypts.
var schemes = map[string]bool{
	"http": false, "https": true, "ftp": false, "ftps": true, "tftp": false,
	"mqtt": false, "mqtts": true, "ws": false, "wss": true, "coap": false, "coaps": true,
	"rtsp": false, "rtsps": true, "sip": false, "sips": true, "ldap": false, "ldaps": true,
	"telnet": false, "ssh": true,
}

// urlStop are the characters that end a URL.
var urlStop = func() (t [256]bool) {
	for _, c := range []byte(" \t\"'<>`\\{}|^") {
		t[c] = true
	}
	return t
}()

func (s *scanner) urls(run []byte, out []Match, sp []span) ([]Match, []span) {
	for i := 0; i < len(run); {
		k := bytes.Index(run[i:], []byte("://"))
		if k < 0 {
			break
		}
		k += i
		st := k
		for st > 0 && st > k-8 && isAlpha(run[st-1]) {
			st--
		}
		if st == k || (st > 0 && isWord(run[st-1])) {
			i = k + 3
			continue
		}
		scheme := strings.ToLower(string(run[st:k]))
		if _, ok := schemes[scheme]; !ok {
			i = k + 3
			continue
		}
		e := k + 3
		for e < len(run) && !urlStop[run[e]] {
			e++
		}
		for e > k+3 && strings.IndexByte(".,;:!?)]}", run[e-1]) >= 0 {
			e--
		}
		m, ok := parseURL(scheme, run[k+3:e])
		if !ok {
			i = k + 3
			continue
		}
		m.Offset, m.Len = int64(st), e-st
		out = append(out, m)
		sp = append(sp, span{st, e})
		i = e
	}
	return out, sp
}

// parseURL checks the authority of a URL and builds its normalised form.
func parseURL(scheme string, rest []byte) (Match, bool) {
	end := len(rest)
	if j := bytes.IndexAny(rest, "/?#"); j >= 0 {
		end = j
	}
	auth, tail := rest[:end], rest[end:]
	var user []byte
	creds := false
	if at := bytes.LastIndexByte(auth, '@'); at >= 0 {
		user, auth = auth[:at], auth[at+1:]
		creds = true
	}
	host, port := auth, []byte(nil)
	if len(host) > 0 && host[0] == '[' {
		c := bytes.IndexByte(host, ']')
		if c < 0 {
			return Match{}, false
		}
		host, port = host[1:c], host[c+1:]
		if len(port) > 0 && port[0] != ':' {
			return Match{}, false
		}
	} else if c := bytes.LastIndexByte(host, ':'); c >= 0 {
		host, port = host[:c], host[c:]
	}
	if len(port) > 0 {
		if len(port) == 1 || len(port) > 6 {
			return Match{}, false
		}
		for _, c := range port[1:] {
			if !isDigit(c) {
				return Match{}, false
			}
		}
	}
	h := strings.ToLower(string(host))
	m := Match{Kind: KindURL, Scheme: scheme, Credentials: creds}
	if a, err := netip.ParseAddr(h); err == nil && a.Zone() == "" {
		if a.Is4() && !strictIPv4(host) {
			return Match{}, false
		}
		m.Host, m.Class = a.String(), ClassifyAddr(a)
	} else if validHostname(h) {
		m.Host, m.Class = h, ClassifyName(h)
	} else {
		return Match{}, false
	}
	var b strings.Builder
	b.WriteString(scheme)
	b.WriteString("://")
	if creds {
		b.WriteString(redactUserinfo(string(user)))
		b.WriteByte('@')
	}
	b.WriteString(strings.ToLower(string(auth)))
	b.Write(tail)
	m.Value = b.String()
	if len(m.Value) > 512 {
		m.Value = m.Value[:509] + "..."
	}
	return m, true
}

// redactUserinfo keeps a user name and replaces a password with
// asterisks; a long user name alone (a token) keeps its first 4
// characters.
func redactUserinfo(u string) string {
	if c := strings.IndexByte(u, ':'); c >= 0 {
		return u[:c] + ":****"
	}
	if len(u) > 12 {
		return u[:4] + "****"
	}
	return u
}

// validHostname accepts a host name of letters, digits, hyphens and dots
// with labels of 1 to 63 characters.
func validHostname(h string) bool {
	h = strings.TrimSuffix(h, ".")
	if h == "" || len(h) > 253 {
		return false
	}
	for h != "" {
		l := h
		if d := strings.IndexByte(h, '.'); d >= 0 {
			l, h = h[:d], h[d+1:]
			if h == "" {
				return false
			}
		} else {
			h = ""
		}
		if !validLabel(l) {
			return false
		}
	}
	return true
}

func validLabel(l string) bool {
	if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
		return false
	}
	for i := 0; i < len(l); i++ {
		if c := l[i]; !isAlnum(c) && c != '-' {
			return false
		}
	}
	return true
}

// strictIPv4 rejects dotted quads with leading zeros (octal to inet_aton).
func strictIPv4(b []byte) bool {
	for _, part := range bytes.Split(b, []byte{'.'}) {
		if len(part) > 1 && part[0] == '0' {
			return false
		}
	}
	return true
}

func ipv6s(run []byte, out []Match, sp []span) ([]Match, []span) {
	for i := 0; i < len(run); {
		c := run[i]
		if !isHex(c) && c != ':' {
			i++
			continue
		}
		st := i
		for i < len(run) && (isHex(run[i]) || run[i] == ':' || run[i] == '.') {
			i++
		}
		e := i
		if (st > 0 && isWord(run[st-1])) || (e < len(run) && isWord(run[e])) {
			continue
		}
		for e > st && run[e-1] == '.' {
			e--
		}
		if e-st >= 2 && run[e-1] == ':' && run[e-2] != ':' {
			e--
		}
		tok := run[st:e]
		if bytes.Count(tok, []byte{':'}) < 2 || covered(sp, st, e) {
			continue
		}
		if string(tok) == "::" && !(st > 0 && run[st-1] == '[' && e < len(run) && run[e] == ']') {
			continue
		}
		a, err := netip.ParseAddr(string(tok))
		if err != nil || !a.Is6() || !plausibleIPv6(tok) {
			continue
		}
		out = append(out, Match{Kind: KindIPv6, Value: a.String(), Class: ClassifyAddr(a), Offset: int64(st), Len: e - st})
		sp = append(sp, span{st, e})
	}
	return out, sp
}

// plausibleIPv6 rejects short hex words joined by colons ("a::b",
// "ab:cd::ef", "::ffb", "1677::") that appear in code and data: an
// address must be "::", "::1", carry an IPv4 part, or have 4+ groups, or
// 2+ groups one of which has 3+ hex digits ("fe80::1").
func plausibleIPv6(tok []byte) bool {
	s := string(tok)
	if s == "::" || s == "::1" || strings.Contains(s, ".") {
		return true
	}
	groups, long := 0, false
	for _, g := range strings.Split(s, ":") {
		if g == "" {
			continue
		}
		groups++
		long = long || len(g) >= 3
	}
	return groups >= 4 || (groups >= 2 && long)
}

// versionWords are the words after which a dotted quad is a version
// number, not an address ("version 1.2.3.4", "fw: 2.6.36.4").
var versionWords = []string{"version", "ver", "firmware", "fw", "build", "release", "rev", "revision", "v"}

func afterVersionWord(run []byte, st int) bool {
	j := st
	for j > 0 && st-j < 4 && strings.IndexByte(" \t:=-_#", run[j-1]) >= 0 {
		j--
	}
	w := j
	for w > 0 && j-w < 10 && isAlpha(run[w-1]) {
		w--
	}
	if w == j || (w > 0 && isWord(run[w-1])) {
		return false
	}
	word := strings.ToLower(string(run[w:j]))
	for _, v := range versionWords {
		if word == v {
			return true
		}
	}
	return false
}

func ipv4s(run []byte, out []Match, sp []span) ([]Match, []span) {
	for i := 0; i < len(run); i++ {
		if !isDigit(run[i]) || (i > 0 && (isWord(run[i-1]) || run[i-1] == '.')) {
			continue
		}
		var q [4]byte
		j, ok := i, true
		for part := 0; part < 4 && ok; part++ {
			if part > 0 {
				if j >= len(run) || run[j] != '.' {
					ok = false
					break
				}
				j++
			}
			k := j
			v := 0
			for k < len(run) && isDigit(run[k]) && k-j < 4 {
				v = v*10 + int(run[k]-'0')
				k++
			}
			n := k - j
			if n == 0 || n > 3 || v > 255 || (n > 1 && run[j] == '0') {
				ok = false
				break
			}
			q[part] = byte(v)
			j = k
		}
		if !ok {
			continue
		}
		if j < len(run) {
			c := run[j]
			if isWord(c) || (c == '.' && j+1 < len(run) && isAlnum(run[j+1])) {
				continue
			}
		}
		if covered(sp, i, j) || afterVersionWord(run, i) {
			continue
		}
		if oidLike(q) {
			i = j - 1
			continue
		}
		if q[0] == 255 && isNetmask(q) && q != [4]byte{255, 255, 255, 255} {
			i = j - 1
			continue
		}
		a := netip.AddrFrom4(q)
		out = append(out, Match{Kind: KindIPv4, Value: a.String(), Class: ClassifyAddr(a), Offset: int64(i), Len: j - i})
		sp = append(sp, span{i, j})
		i = j - 1
	}
	return out, sp
}

// oidLike reports dotted quads under the common ASN.1 object identifier
// arcs (1.2 member-body, 1.3 identified-organization, 2.5 directory
// services, 2.16 country, 2.23 international organisations): libcrypto
// and SNMP code hold "1.3.101.112" and the like as strings.
func oidLike(q [4]byte) bool {
	switch [2]byte{q[0], q[1]} {
	case [2]byte{1, 2}, [2]byte{1, 3}, [2]byte{2, 5}, [2]byte{2, 16}, [2]byte{2, 23}:
		return true
	}
	return false
}

func isNetmask(q [4]byte) bool {
	v := uint32(q[0])<<24 | uint32(q[1])<<16 | uint32(q[2])<<8 | uint32(q[3])
	inv := ^v
	return inv&(inv+1) == 0
}

// secondLevel are the labels registries use under a country code
// ("com.cn", "co.uk", "or.jp").
var secondLevel = map[string]bool{"com": true, "net": true, "org": true, "gov": true, "edu": true, "ac": true,
	"co": true, "or": true, "ne": true, "go": true, "mil": true, "gob": true, "nic": true}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return false
		}
	}
	return s != ""
}

func isDomainChar(c byte) bool { return isAlnum(c) || c == '-' || c == '.' }

func (s *scanner) domains(run []byte, out []Match, sp []span) []Match {
	for i := 0; i < len(run); {
		if !isDomainChar(run[i]) {
			i++
			continue
		}
		st := i
		for i < len(run) && isDomainChar(run[i]) {
			i++
		}
		e := i
		if m, ok := s.domain(run, st, e, sp); ok {
			out = append(out, m)
		}
	}
	return out
}

func (s *scanner) domain(run []byte, st, e int, sp []span) (Match, bool) {
	if bytes.IndexByte(run[st:e], '.') < 0 {
		return Match{}, false
	}
	var prev, next byte
	if st > 0 {
		prev = run[st-1]
	}
	if e < len(run) {
		next = run[e]
	}
	if prev == '_' || prev == '\\' || next == '_' || next == '@' || next == '(' {
		return Match{}, false
	}
	if s.opt.Binary && next == '/' {
		return Match{}, false
	}
	if prev == '/' && !(st >= 2 && run[st-2] == '/') {
		// "/etc/issue.net": a file name, not a host ("//cdn.x.com" is one).
		return Match{}, false
	}
	if s.opt.Binary && run[st] == '.' {
		// ".data.rel.ro", ".example.so": a section or file extension.
		return Match{}, false
	}
	if prev == '%' {
		// "%s.example.com": the first label is a format verb.
		d := bytes.IndexByte(run[st:e], '.')
		st += d + 1
	}
	for st < e && (run[st] == '.' || run[st] == '-') {
		st++
	}
	for e > st && (run[e-1] == '.' || run[e-1] == '-') {
		e--
	}
	if e-st < 4 || covered(sp, st, e) {
		return Match{}, false
	}
	tok := run[st:e]
	// Cheap tests on the bytes first: most dotted tokens in binaries and
	// code end in something that is not a top-level domain.
	d := bytes.LastIndexByte(tok, '.')
	if d < 1 || len(tok)-d-1 < 2 || len(tok)-d-1 > 63 {
		return Match{}, false
	}
	var lower [63]byte
	tl := lower[:len(tok)-d-1]
	for k, c := range tok[d+1:] {
		if s.opt.Binary && c >= 'A' && c <= 'Z' {
			return Match{}, false
		}
		tl[k] = c | 0x20
	}
	kind := tlds[string(tl)]
	if kind == tldNone {
		return Match{}, false
	}
	if s.opt.Binary {
		for _, c := range tok {
			if c >= 'A' && c <= 'Z' {
				return Match{}, false
			}
		}
	}
	name := strings.ToLower(string(tok))
	if !validHostname(name) {
		return Match{}, false
	}
	labels := strings.Split(name, ".")
	tld, sld := labels[len(labels)-1], labels[len(labels)-2]
	www := labels[0] == "www"
	switch kind {
	case tldAmbiguous:
		if prev != '@' && !www {
			return Match{}, false
		}
	case tldCore:
		// In binaries, "pkg.xx" and "value.cr" are identifiers far more
		// often than names under a country code.
		if s.opt.Binary && len(tld) == 2 && prev != '@' && !www && !(secondLevel[sld] && len(labels) >= 3) {
			return Match{}, false
		}
	}
	// "4.lu", "9.hu": a bare number is not a registrable name ("smtp.163.com" is).
	if allDigits(sld) && len(labels) < 3 {
		return Match{}, false
	}
	return Match{Kind: KindDomain, Value: name, Class: ClassifyName(name), Offset: int64(st), Len: e - st}, true
}
