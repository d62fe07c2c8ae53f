package services

import (
	"path"
	"regexp"
	"sort"
	"strings"

	"github.com/netvet/netvet/internal/firmware"
)

// This file expands words the way the shell would, as far as a static
// reader can: known variables and positional parameters, defaults, globs
// against the filesystem, and case patterns.

var varRef = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*|[0-9@*#])(?::?[-=?+][^}]*)?\}|\$([A-Za-z_][A-Za-z0-9_]*|[0-9@*#])`)

// expandString substitutes the variables and positional parameters that
// are known; unknown ones stay as written. ${NAME:-default} and
// ${NAME-default} give the default when NAME is unknown. Values that
// hold references are expanded again, three times at most, and the
// result is cut at maxWordLength.
func (e *env) expandString(s string) string {
	for range 3 {
		if !strings.Contains(s, "$") {
			return s
		}
		n, changed := e.expandOnce(s)
		if !changed {
			return n
		}
		s = n
	}
	return s
}

func isNameStart(c byte) bool { return c == '_' || (c|0x20 >= 'a' && c|0x20 <= 'z') }

func isNameChar(c byte) bool { return isNameStart(c) || (c >= '0' && c <= '9') }

func isSpecialParam(c byte) bool { return (c >= '0' && c <= '9') || c == '@' || c == '*' || c == '#' }

func (e *env) expandOnce(s string) (string, bool) {
	var b strings.Builder
	changed := false
	for i := 0; i < len(s) && b.Len() < maxWordLength; {
		c := s[i]
		if c != '$' || i+1 >= len(s) {
			b.WriteByte(c)
			i++
			continue
		}
		j := i + 1
		switch {
		case s[j] == '{':
			end := strings.IndexByte(s[j:], '}')
			if end < 0 {
				b.WriteString(s[i:])
				i = len(s)
				continue
			}
			inner := s[j+1 : j+end]
			k := 0
			if k < len(inner) && isSpecialParam(inner[k]) {
				k = 1
			} else {
				for k < len(inner) && isNameChar(inner[k]) {
					k++
				}
			}
			name, rest := inner[:k], inner[k:]
			v, ok := "", false
			if name != "" {
				v, ok = e.param(name)
			}
			switch {
			case ok && !strings.HasPrefix(rest, "#") && !strings.HasPrefix(rest, "%") && !strings.HasPrefix(rest, "/"):
				b.WriteString(v)
				changed = true
			case !ok && name != "" && strings.HasPrefix(rest, ":-"):
				b.WriteString(rest[2:])
				changed = true
			case !ok && name != "" && strings.HasPrefix(rest, "-"):
				b.WriteString(rest[1:])
				changed = true
			default:
				b.WriteString(s[i : j+end+1])
			}
			i = j + end + 1
		case isSpecialParam(s[j]):
			if v, ok := e.param(s[j : j+1]); ok {
				b.WriteString(v)
				changed = true
			} else {
				b.WriteString(s[i : j+1])
			}
			i = j + 1
		case isNameStart(s[j]):
			k := j
			for k < len(s) && isNameChar(s[k]) {
				k++
			}
			if v, ok := e.param(s[j:k]); ok {
				b.WriteString(v)
				changed = true
			} else {
				b.WriteString(s[i:k])
			}
			i = k
		default:
			b.WriteByte(c)
			i++
		}
	}
	out := b.String()
	if len(out) > maxWordLength {
		out = out[:maxWordLength]
	}
	return out, changed
}

func (e *env) param(name string) (string, bool) {
	switch {
	case name == "@" || name == "*":
		return strings.Join(e.args, " "), true
	case name == "#":
		return itoa(len(e.args)), true
	case len(name) == 1 && name[0] >= '0' && name[0] <= '9':
		i := int(name[0] - '0')
		if i == 0 {
			if e.file != nil {
				return e.file.FSPath, true
			}
			return "", false
		}
		if i <= len(e.args) {
			return e.args[i-1], true
		}
		return "", false
	}
	v, ok := e.vars[name]
	return v, ok
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b [20]byte
	i := len(b)
	for n > 0 {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
	}
	return string(b[i:])
}

// expandWords expands words; an unquoted word made of an expansion is
// split on blanks, as the shell does.
func (e *env) expandWords(ws []word) []string {
	var out []string
	for _, w := range ws {
		if len(out) > maxArgs {
			break
		}
		s := e.expandString(w.lit)
		if !w.quoted && s != w.lit {
			out = append(out, strings.Fields(s)...)
			continue
		}
		if !w.quoted && (w.lit == `"$@"` || w.lit == "$@") {
			out = append(out, e.args...)
			continue
		}
		out = append(out, s)
	}
	return out
}

func unknown(s string) bool { return strings.ContainsAny(s, "$`") }

// glob expands a pattern against the root's files; unknown variables
// match anything within one path element.
func (w *walker) glob(pattern string) []string {
	if !strings.ContainsAny(pattern, "*?[$`") {
		return []string{pattern}
	}
	pat := varRef.ReplaceAllString(pattern, "*")
	pat = strings.ReplaceAll(pat, "`", "")
	if !strings.HasPrefix(pat, "/") {
		return []string{pattern}
	}
	dir := path.Dir(pat)
	if strings.ContainsAny(dir, "*?[") {
		return nil
	}
	d := w.root.Lookup(dir)
	if d == nil || d.Type != firmware.TypeDir {
		return nil
	}
	var out []string
	for _, f := range w.children(d.FSPath) {
		name := path.Base(f.FSPath)
		if ok, err := path.Match(path.Base(pat), name); err == nil && ok {
			out = append(out, path.Join(dir, name))
		}
		if len(out) >= maxLoopItems {
			break
		}
	}
	sort.Strings(out)
	return out
}

// children returns the entries directly inside dir, sorted by path. The
// index is built on first use.
func (w *walker) children(dir string) []*firmware.File {
	if w.kids == nil {
		w.kids = map[string][]*firmware.File{}
		for _, f := range w.root.Files() {
			if f.FSPath == "/" {
				continue
			}
			p := path.Dir(f.FSPath)
			w.kids[p] = append(w.kids[p], f)
		}
	}
	return w.kids[dir]
}

func armMatches(arm caseArm, subj string, e *env) bool {
	for _, p := range arm.patterns {
		pat := e.expandString(p.lit)
		if p.quoted {
			if pat == subj {
				return true
			}
			continue
		}
		if shellMatch(pat, subj) {
			return true
		}
	}
	return false
}

// shellMatch matches a case pattern: * and ? match any character,
// slashes included, and [...] a set (with ! or ^ to negate).
func shellMatch(pat, s string) bool {
	// Iterative matcher with one backtrack point for the last *.
	p, i := 0, 0
	star, mark := -1, 0
	for steps := 0; i < len(s); steps++ {
		if steps > 1<<20 {
			return false
		}
		if p < len(pat) {
			switch pat[p] {
			case '*':
				star, mark = p, i
				p++
				continue
			case '?':
				p++
				i++
				continue
			case '[':
				if end, ok := matchSet(pat[p:], s[i]); end > 0 {
					if ok {
						p += end
						i++
						continue
					}
				} else if s[i] == '[' {
					p++
					i++
					continue
				}
			case '\\':
				if p+1 < len(pat) && pat[p+1] == s[i] {
					p += 2
					i++
					continue
				}
			default:
				if pat[p] == s[i] {
					p++
					i++
					continue
				}
			}
		}
		if star >= 0 {
			p = star + 1
			mark++
			i = mark
			continue
		}
		return false
	}
	for p < len(pat) && pat[p] == '*' {
		p++
	}
	return p == len(pat)
}

// matchSet matches c against the bracket expression at the start of pat
// and returns its length (0 when it is not a complete bracket expression).
func matchSet(pat string, c byte) (int, bool) {
	i := 1
	neg := false
	if i < len(pat) && (pat[i] == '!' || pat[i] == '^') {
		neg = true
		i++
	}
	match := false
	first := true
	for i < len(pat) && (pat[i] != ']' || first) {
		first = false
		lo := pat[i]
		hi := lo
		if i+2 < len(pat) && pat[i+1] == '-' && pat[i+2] != ']' {
			hi = pat[i+2]
			i += 2
		}
		if lo <= c && c <= hi {
			match = true
		}
		i++
	}
	if i >= len(pat) {
		return 0, false
	}
	return i + 1, match != neg
}
