package services

import (
	"strings"
)

// This file holds a small parser for the POSIX shell subset that boot
// scripts use: simple commands with quoting and redirections, pipelines,
// && and || lists, if/while/until, for loops, case, functions, brace
// groups and subshells. It is a heuristic reader, not a shell: command
// substitution and arithmetic are kept as opaque text, and anything it
// does not understand is skipped up to the next line. Every loop is
// bounded by the input length, and nesting by maxNest.

// word is one shell word.
type word struct {
	lit string // text with quotes removed; $-expansions kept verbatim
	// quoted is set when any part of the word was quoted; an unquoted word
	// that expands a variable is split on blanks after expansion.
	quoted bool
	off    int64 // byte offset of the word in the script
	line   int
}

type tokKind uint8

const (
	tWord tokKind = iota
	tOp           // ; & && | || ;; ( ) and the case terminators
	tNewline
	tEOF
)

type token struct {
	kind tokKind
	w    word   // for tWord
	op   string // for tOp
	line int
	off  int64
}

// lexer splits a script into tokens.
type lexer struct {
	src  string
	pos  int
	line int
	// heredocs waiting for the end of the current line.
	pending []heredoc
}

type heredoc struct {
	delim string
	strip bool // <<- strips leading tabs
}

func newLexer(src string) *lexer { return &lexer{src: src, line: 1} }

func (lx *lexer) peekByte(i int) byte {
	if lx.pos+i < len(lx.src) {
		return lx.src[lx.pos+i]
	}
	return 0
}

// next returns the next token. Redirections and their targets are
// dropped: they never name the program that runs.
func (lx *lexer) next() token {
	for {
		// Blanks, line continuations and comments.
		for lx.pos < len(lx.src) {
			c := lx.src[lx.pos]
			if c == ' ' || c == '\t' || c == '\r' {
				lx.pos++
				continue
			}
			if c == '\\' && lx.peekByte(1) == '\n' {
				lx.pos += 2
				lx.line++
				continue
			}
			if c == '#' {
				for lx.pos < len(lx.src) && lx.src[lx.pos] != '\n' {
					lx.pos++
				}
				continue
			}
			break
		}
		if lx.pos >= len(lx.src) {
			return token{kind: tEOF, line: lx.line, off: int64(lx.pos)}
		}
		start, line := lx.pos, lx.line
		c := lx.src[lx.pos]
		switch c {
		case '\n':
			lx.pos++
			lx.line++
			lx.skipHeredocs()
			return token{kind: tNewline, line: line, off: int64(start)}
		case ';':
			if lx.peekByte(1) == ';' {
				lx.pos += 2
				if lx.peekByte(0) == '&' {
					lx.pos++
				}
				return token{kind: tOp, op: ";;", line: line, off: int64(start)}
			}
			if lx.peekByte(1) == '&' {
				lx.pos += 2
				return token{kind: tOp, op: ";;", line: line, off: int64(start)}
			}
			lx.pos++
			return token{kind: tOp, op: ";", line: line, off: int64(start)}
		case '&', '|':
			if lx.peekByte(1) == c {
				lx.pos += 2
				return token{kind: tOp, op: string([]byte{c, c}), line: line, off: int64(start)}
			}
			lx.pos++
			if c == '|' && lx.peekByte(0) == '&' { // |& pipes stderr too
				lx.pos++
			}
			return token{kind: tOp, op: string(c), line: line, off: int64(start)}
		case '(', ')':
			lx.pos++
			return token{kind: tOp, op: string(c), line: line, off: int64(start)}
		case '<', '>':
			lx.redirect()
			continue
		}
		w, isFD := lx.word()
		if isFD && (lx.peekByte(0) == '<' || lx.peekByte(0) == '>') {
			// "2>/dev/null": the digits name a file descriptor.
			lx.redirect()
			continue
		}
		w.off, w.line = int64(start), line
		return token{kind: tWord, w: w, line: line, off: int64(start)}
	}
}

// redirect consumes a redirection operator and its target word.
func (lx *lexer) redirect() {
	heredocOp := strings.HasPrefix(lx.src[lx.pos:], "<<") && !strings.HasPrefix(lx.src[lx.pos:], "<<<")
	strip := strings.HasPrefix(lx.src[lx.pos:], "<<-")
	for lx.pos < len(lx.src) && strings.IndexByte("<>&|-", lx.src[lx.pos]) >= 0 {
		lx.pos++
	}
	for lx.pos < len(lx.src) && (lx.src[lx.pos] == ' ' || lx.src[lx.pos] == '\t') {
		lx.pos++
	}
	if lx.pos >= len(lx.src) || strings.IndexByte("\n;&|()", lx.src[lx.pos]) >= 0 {
		return
	}
	w, _ := lx.word()
	if heredocOp && len(lx.pending) < 16 {
		lx.pending = append(lx.pending, heredoc{delim: w.lit, strip: strip})
	}
}

// skipHeredocs skips the bodies of here-documents opened on the line
// that just ended.
func (lx *lexer) skipHeredocs() {
	for _, h := range lx.pending {
		for lx.pos < len(lx.src) {
			end := strings.IndexByte(lx.src[lx.pos:], '\n')
			var l string
			if end < 0 {
				l = lx.src[lx.pos:]
				lx.pos = len(lx.src)
			} else {
				l = lx.src[lx.pos : lx.pos+end]
				lx.pos += end + 1
				lx.line++
			}
			l = strings.TrimRight(l, "\r")
			if h.strip {
				l = strings.TrimLeft(l, "\t")
			}
			if l == h.delim {
				break
			}
		}
	}
	lx.pending = lx.pending[:0]
}

// word reads one word; isFD reports that it is all digits and unquoted.
func (lx *lexer) word() (word, bool) {
	var b strings.Builder
	quoted := false
	digits := true
	for lx.pos < len(lx.src) {
		c := lx.src[lx.pos]
		switch {
		case c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == ';' || c == '&' || c == '|' || c == '(' || c == ')' || c == '<' || c == '>':
			if c == '(' && b.Len() > 0 && strings.HasSuffix(b.String(), "=") {
				// array assignment a=(x y): read to the closing paren
				b.WriteString(lx.balanced('(', ')'))
				continue
			}
			return word{lit: b.String(), quoted: quoted}, digits && b.Len() > 0 && !quoted
		case c == '\\':
			quoted = true
			digits = false
			if lx.pos+1 < len(lx.src) {
				if lx.src[lx.pos+1] == '\n' {
					lx.line++
				} else {
					b.WriteByte(lx.src[lx.pos+1])
				}
				lx.pos += 2
			} else {
				lx.pos++
			}
		case c == '\'':
			quoted = true
			digits = false
			lx.pos++
			end := strings.IndexByte(lx.src[lx.pos:], '\'')
			if end < 0 {
				end = len(lx.src) - lx.pos
			}
			s := lx.src[lx.pos : lx.pos+end]
			lx.line += strings.Count(s, "\n")
			b.WriteString(s)
			lx.pos += end + 1
		case c == '"':
			quoted = true
			digits = false
			lx.pos++
			lx.doubleQuoted(&b)
		case c == '`':
			digits = false
			b.WriteString(lx.backquoted())
		case c == '$' && (lx.peekByte(1) == '(' || lx.peekByte(1) == '{'):
			digits = false
			b.WriteByte('$')
			lx.pos++
			if lx.src[lx.pos] == '(' {
				b.WriteString(lx.balanced('(', ')'))
			} else {
				b.WriteString(lx.balanced('{', '}'))
			}
		default:
			if c < '0' || c > '9' {
				digits = false
			}
			b.WriteByte(c)
			lx.pos++
		}
	}
	return word{lit: b.String(), quoted: quoted}, digits && b.Len() > 0 && !quoted
}

func (lx *lexer) doubleQuoted(b *strings.Builder) {
	for lx.pos < len(lx.src) {
		c := lx.src[lx.pos]
		switch {
		case c == '"':
			lx.pos++
			return
		case c == '\\' && lx.pos+1 < len(lx.src):
			n := lx.src[lx.pos+1]
			if strings.IndexByte("\"\\$`\n", n) >= 0 {
				if n == '\n' {
					lx.line++
				} else {
					b.WriteByte(n)
				}
				lx.pos += 2
				continue
			}
			b.WriteByte(c)
			lx.pos++
		case c == '`':
			b.WriteString(lx.backquoted())
		case c == '$' && (lx.peekByte(1) == '(' || lx.peekByte(1) == '{'):
			b.WriteByte('$')
			lx.pos++
			if lx.src[lx.pos] == '(' {
				b.WriteString(lx.balanced('(', ')'))
			} else {
				b.WriteString(lx.balanced('{', '}'))
			}
		default:
			if c == '\n' {
				lx.line++
			}
			b.WriteByte(c)
			lx.pos++
		}
	}
}

// backquoted returns `...` verbatim, the position past its end.
func (lx *lexer) backquoted() string {
	start := lx.pos
	lx.pos++
	for lx.pos < len(lx.src) && lx.src[lx.pos] != '`' {
		if lx.src[lx.pos] == '\\' {
			lx.pos++
		}
		if lx.pos < len(lx.src) && lx.src[lx.pos] == '\n' {
			lx.line++
		}
		lx.pos++
	}
	if lx.pos < len(lx.src) {
		lx.pos++
	}
	return lx.src[start:min(lx.pos, len(lx.src))]
}

// balanced returns text from an opening bracket at lx.pos to its match,
// skipping quoted parts.
func (lx *lexer) balanced(open, close byte) string {
	start := lx.pos
	depth := 0
	for lx.pos < len(lx.src) {
		c := lx.src[lx.pos]
		switch c {
		case '\\':
			lx.pos++
		case '\'':
			if end := strings.IndexByte(lx.src[lx.pos+1:], '\''); end >= 0 {
				lx.line += strings.Count(lx.src[lx.pos+1:lx.pos+1+end], "\n")
				lx.pos += end + 1
			}
		case '\n':
			lx.line++
		case open:
			depth++
		case close:
			depth--
			if depth == 0 {
				lx.pos++
				return lx.src[start:lx.pos]
			}
		}
		lx.pos++
	}
	return lx.src[start:min(lx.pos, len(lx.src))]
}

// --- parser -----------------------------------------------------------------

type nodeKind uint8

const (
	nCmd  nodeKind = iota // a simple command
	nList                 // a group of nodes (if, while, brace group, subshell, && lists)
	nPipe                 // a pipeline of two or more commands
	nFor                  // for NAME in ITEMS; do BODY; done
	nCase                 // case SUBJECT in ARMS esac
	nFunc                 // NAME() BODY
)

type node struct {
	kind nodeKind
	// nCmd
	words []word
	bg    bool
	line  int
	off   int64
	// nList, nPipe, nFor, nFunc: children / body.
	body []*node
	// cond marks a part that runs only when some test passes.
	cond bool
	// nFor
	name  string // also the function name for nFunc
	items []word
	// nCase
	subject word
	arms    []caseArm
}

type caseArm struct {
	patterns []word
	body     []*node
}

const maxNest = 64

// parser is a recursive-descent reader over the lexer's tokens.
type parser struct {
	lx    *lexer
	tok   token
	depth int
	// budget bounds the number of nodes built.
	budget int
}

func parseScript(src string) []*node {
	p := &parser{lx: newLexer(src), budget: 200000}
	p.advance()
	var out []*node
	for p.tok.kind != tEOF && p.budget > 0 {
		before := p.lx.pos
		out = append(out, p.list(nil)...)
		if p.tok.kind != tEOF {
			// A stray closing word or operator: skip it.
			p.advance()
		}
		if p.lx.pos == before && p.tok.kind != tEOF {
			p.advance()
		}
	}
	return out
}

func (p *parser) advance() { p.tok = p.lx.next() }

func (p *parser) isWord(s string) bool {
	return p.tok.kind == tWord && !p.tok.w.quoted && p.tok.w.lit == s
}

func (p *parser) skipNewlines() {
	for p.tok.kind == tNewline || (p.tok.kind == tOp && p.tok.op == ";") {
		p.advance()
	}
}

// list reads and-or lists until EOF, a closing operator, or one of the
// reserved words in stop (at command position).
func (p *parser) list(stop map[string]bool) []*node {
	var out []*node
	for p.budget > 0 {
		p.skipNewlines()
		if p.tok.kind == tEOF {
			return out
		}
		if p.tok.kind == tOp && (p.tok.op == ")" || p.tok.op == ";;") {
			return out
		}
		if p.tok.kind == tWord && !p.tok.w.quoted && (stop[p.tok.w.lit] || p.tok.w.lit == "}") {
			return out
		}
		before := p.lx.pos
		n := p.andOr(stop)
		if n != nil {
			out = append(out, n)
		}
		if p.tok.kind == tOp && p.tok.op == "&" {
			markBackground(n)
			p.advance()
		}
		if p.lx.pos == before && p.tok.kind != tEOF {
			// No progress: drop the token to stay bounded.
			p.advance()
		}
	}
	return out
}

func markBackground(n *node) {
	if n == nil {
		return
	}
	if n.kind == nCmd {
		n.bg = true
		return
	}
	if n.kind == nList || n.kind == nPipe {
		for _, c := range n.body {
			markBackground(c)
		}
	}
}

// andOr reads pipeline ((&& | ||) pipeline)*; the right-hand sides are
// conditional.
func (p *parser) andOr(stop map[string]bool) *node {
	first := p.pipeline(stop)
	if !(p.tok.kind == tOp && (p.tok.op == "&&" || p.tok.op == "||")) {
		return first
	}
	grp := &node{kind: nList}
	if first != nil {
		grp.body = append(grp.body, first)
	}
	for p.tok.kind == tOp && (p.tok.op == "&&" || p.tok.op == "||") && p.budget > 0 {
		p.advance()
		for p.tok.kind == tNewline {
			p.advance()
		}
		if n := p.pipeline(stop); n != nil {
			grp.body = append(grp.body, &node{kind: nList, cond: true, body: []*node{n}})
		} else {
			break
		}
	}
	return grp
}

func (p *parser) pipeline(stop map[string]bool) *node {
	if p.isWord("!") {
		p.advance()
	}
	first := p.command(stop)
	if !(p.tok.kind == tOp && p.tok.op == "|") {
		return first
	}
	pipe := &node{kind: nPipe}
	if first != nil {
		pipe.body = append(pipe.body, first)
	}
	for p.tok.kind == tOp && p.tok.op == "|" && p.budget > 0 {
		p.advance()
		for p.tok.kind == tNewline {
			p.advance()
		}
		if n := p.command(stop); n != nil {
			pipe.body = append(pipe.body, n)
		} else {
			break
		}
	}
	return pipe
}

var reserved = map[string]bool{
	"if": true, "then": true, "else": true, "elif": true, "fi": true, "while": true, "until": true,
	"do": true, "done": true, "case": true, "esac": true, "for": true, "{": true, "}": true,
	"function": true, "in": true,
}

func (p *parser) command(stop map[string]bool) *node {
	p.budget--
	if p.depth >= maxNest || p.budget <= 0 {
		p.skipLine()
		return nil
	}
	p.depth++
	defer func() { p.depth-- }()
	if p.tok.kind == tOp && p.tok.op == "(" {
		p.advance()
		body := p.list(nil)
		if p.tok.kind == tOp && p.tok.op == ")" {
			p.advance()
		}
		return &node{kind: nList, body: body}
	}
	if p.tok.kind != tWord {
		return nil
	}
	if !p.tok.w.quoted {
		switch p.tok.w.lit {
		case "if":
			return p.ifClause()
		case "while", "until":
			p.advance()
			cond := p.list(map[string]bool{"do": true})
			p.expect("do")
			body := p.list(map[string]bool{"done": true})
			p.expect("done")
			return &node{kind: nList, cond: true, body: append(cond, body...)}
		case "for":
			return p.forClause()
		case "case":
			return p.caseClause()
		case "{":
			p.advance()
			body := p.list(nil)
			p.expect("}")
			return &node{kind: nList, body: body}
		case "function":
			p.advance()
			if p.tok.kind != tWord {
				return nil
			}
			name := p.tok.w.lit
			p.advance()
			if p.tok.kind == tOp && p.tok.op == "(" {
				p.advance()
				if p.tok.kind == tOp && p.tok.op == ")" {
					p.advance()
				}
			}
			return p.funcBody(name)
		}
		if reserved[p.tok.w.lit] || stop[p.tok.w.lit] {
			return nil
		}
	}
	// A simple command, or NAME() BODY.
	n := &node{kind: nCmd, line: p.tok.line, off: p.tok.off}
	for p.tok.kind == tWord && p.budget > 0 {
		n.words = append(n.words, p.tok.w)
		p.advance()
		if len(n.words) == 1 && p.tok.kind == tOp && p.tok.op == "(" {
			// Function definition.
			name := n.words[0].lit
			p.advance()
			if p.tok.kind == tOp && p.tok.op == ")" {
				p.advance()
			}
			return p.funcBody(name)
		}
		if len(n.words) > 4096 {
			p.skipLine()
			break
		}
	}
	if len(n.words) == 0 {
		return nil
	}
	return n
}

func (p *parser) funcBody(name string) *node {
	for p.tok.kind == tNewline {
		p.advance()
	}
	body := p.command(nil)
	f := &node{kind: nFunc, name: name}
	if body != nil {
		f.body = []*node{body}
	}
	return f
}

func (p *parser) expect(w string) {
	p.skipNewlines()
	if p.isWord(w) {
		p.advance()
	}
}

func (p *parser) skipLine() {
	for p.tok.kind != tNewline && p.tok.kind != tEOF {
		p.advance()
	}
}

func (p *parser) ifClause() *node {
	p.advance() // if
	grp := &node{kind: nList, cond: true}
	stops := map[string]bool{"then": true, "elif": true, "else": true, "fi": true}
	for p.budget > 0 {
		grp.body = append(grp.body, p.list(stops)...)
		p.skipNewlines()
		switch {
		case p.isWord("then"), p.isWord("elif"), p.isWord("else"):
			p.advance()
			continue
		case p.isWord("fi"):
			p.advance()
		}
		break
	}
	return grp
}

func (p *parser) forClause() *node {
	p.advance() // for
	if p.tok.kind != tWord {
		return nil
	}
	n := &node{kind: nFor, name: p.tok.w.lit, line: p.tok.line, off: p.tok.off}
	p.advance()
	for p.tok.kind == tNewline {
		p.advance()
	}
	if p.isWord("in") {
		p.advance()
		for p.tok.kind == tWord && p.budget > 0 && len(n.items) < 4096 {
			n.items = append(n.items, p.tok.w)
			p.advance()
		}
	} else {
		n.items = []word{{lit: "$@"}}
	}
	p.expect("do")
	n.body = p.list(map[string]bool{"done": true})
	p.expect("done")
	return n
}

func (p *parser) caseClause() *node {
	p.advance() // case
	if p.tok.kind != tWord {
		return nil
	}
	n := &node{kind: nCase, subject: p.tok.w, line: p.tok.line, off: p.tok.off}
	p.advance()
	for p.tok.kind == tNewline {
		p.advance()
	}
	p.expect("in")
	for p.budget > 0 {
		p.skipNewlines()
		if p.tok.kind == tEOF || p.isWord("esac") {
			break
		}
		if p.tok.kind == tOp && p.tok.op == "(" {
			p.advance()
		}
		var arm caseArm
		for p.tok.kind == tWord || (p.tok.kind == tOp && p.tok.op == "|") {
			if p.tok.kind == tWord {
				arm.patterns = append(arm.patterns, p.tok.w)
			}
			p.advance()
			if len(arm.patterns) > 256 {
				break
			}
		}
		if !(p.tok.kind == tOp && p.tok.op == ")") {
			// Not a pattern list: give up on this case statement.
			p.skipLine()
			continue
		}
		p.advance()
		arm.body = p.list(map[string]bool{"esac": true})
		n.arms = append(n.arms, arm)
		if p.tok.kind == tOp && p.tok.op == ";;" {
			p.advance()
		}
	}
	p.expect("esac")
	return n
}
