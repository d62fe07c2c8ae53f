package equiv

import (
	"bytes"
	"fmt"
	"path"
	"regexp"
	"strings"
)

// Bounds of the text diff.
const (
	maxTextBytes = 1 << 20 // larger files get no unified diff
	maxTextLines = 20000
	maxEditDist  = 2000 // beyond this many inserted+deleted lines, one block
	diffContext  = 3
)

// isText reports whether b looks like text: no NUL byte.
func isText(b []byte) bool { return bytes.IndexByte(b, 0) < 0 }

// textLines splits b into lines without their '\n'; noEOL says the last
// line has none.
type textLines struct {
	lines []string
	// offs[i] is the byte offset of line i.
	offs  []int64
	noEOL bool
}

func splitLines(b []byte) textLines {
	var t textLines
	pos := 0
	for pos < len(b) {
		i := bytes.IndexByte(b[pos:], '\n')
		t.offs = append(t.offs, int64(pos))
		if i < 0 {
			t.lines = append(t.lines, string(b[pos:]))
			t.noEOL = true
			break
		}
		t.lines = append(t.lines, string(b[pos:pos+i]))
		pos += i + 1
	}
	return t
}

// edit is one step of an edit script: ' ' keep, '-' delete from A, '+'
// insert from B; a and b index the lines.
type edit struct {
	op   byte
	a, b int
}

// lineEdits computes an edit script from a to b: the common prefix and
// suffix, and Myers' O(ND) difference of the middle. When the middle needs
// more than maxEditDist edits, it is given as one deleted and one inserted
// block (still a correct diff, not a minimal one).
func lineEdits(a, b []string) []edit {
	pre := 0
	for pre < len(a) && pre < len(b) && a[pre] == b[pre] {
		pre++
	}
	suf := 0
	for suf < len(a)-pre && suf < len(b)-pre && a[len(a)-1-suf] == b[len(b)-1-suf] {
		suf++
	}
	var out []edit
	for i := 0; i < pre; i++ {
		out = append(out, edit{' ', i, i})
	}
	ma, mb := a[pre:len(a)-suf], b[pre:len(b)-suf]
	mid, ok := myers(ma, mb, maxEditDist)
	if !ok {
		mid = mid[:0]
		for i := range ma {
			mid = append(mid, edit{'-', i, -1})
		}
		for j := range mb {
			mid = append(mid, edit{'+', -1, j})
		}
	}
	for _, e := range mid {
		if e.a >= 0 {
			e.a += pre
		}
		if e.b >= 0 {
			e.b += pre
		}
		out = append(out, e)
	}
	for i := 0; i < suf; i++ {
		out = append(out, edit{' ', len(a) - suf + i, len(b) - suf + i})
	}
	return out
}

// myers is Myers' greedy O(ND) algorithm with the trace kept per step
// (only the 2d+1 diagonals step d can reach), so memory is O(maxD²).
func myers(a, b []string, maxD int) ([]edit, bool) {
	n, m := len(a), len(b)
	if n == 0 || m == 0 {
		var out []edit
		for i := range a {
			out = append(out, edit{'-', i, -1})
		}
		for j := range b {
			out = append(out, edit{'+', -1, j})
		}
		return out, n+m <= maxD
	}
	off := maxD + 1
	v := make([]int, 2*maxD+3)
	var trace [][]int
	for d := 0; d <= maxD; d++ {
		for k := -d; k <= d; k += 2 {
			var x int
			if k == -d || (k != d && v[off+k-1] < v[off+k+1]) {
				x = v[off+k+1]
			} else {
				x = v[off+k-1] + 1
			}
			y := x - k
			for x < n && y < m && a[x] == b[y] {
				x++
				y++
			}
			v[off+k] = x
			if x >= n && y >= m {
				trace = append(trace, append([]int(nil), v[off-d:off+d+1]...))
				return backtrack(trace, n, m), true
			}
		}
		trace = append(trace, append([]int(nil), v[off-d:off+d+1]...))
	}
	return nil, false
}

func backtrack(trace [][]int, n, m int) []edit {
	var rev []edit
	x, y := n, m
	for d := len(trace) - 1; d > 0; d-- {
		prev := trace[d-1] // diagonals -(d-1)..d-1
		at := func(k int) int { return prev[k+d-1] }
		k := x - y
		var pk int
		if k == -d || (k != d && at(k-1) < at(k+1)) {
			pk = k + 1
		} else {
			pk = k - 1
		}
		px := at(pk)
		py := px - pk
		for x > px && y > py {
			x--
			y--
			rev = append(rev, edit{' ', x, y})
		}
		if x == px {
			y--
			rev = append(rev, edit{'+', -1, y})
		} else {
			x--
			rev = append(rev, edit{'-', x, -1})
		}
	}
	for x > 0 && y > 0 {
		x--
		y--
		rev = append(rev, edit{' ', x, y})
	}
	out := make([]edit, len(rev))
	for i, e := range rev {
		out[len(rev)-1-i] = e
	}
	return out
}

// unified writes the edit script as a unified diff with three lines of
// context, at most maxLines lines of hunks. redA and redB hide secrets.
func unified(nameA, nameB string, a, b textLines, edits []edit, maxLines int, redA, redB func(int, string) string) (string, bool) {
	var sb strings.Builder
	fmt.Fprintf(&sb, "--- %s\n+++ %s\n", nameA, nameB)
	lines := 0
	truncated := false
	i := 0
	for i < len(edits) {
		// Find the next change.
		for i < len(edits) && edits[i].op == ' ' {
			i++
		}
		if i >= len(edits) {
			break
		}
		start := max(0, i-diffContext)
		// Extend the hunk while changes are within 2*context of each other.
		end := i
		for j := i; j < len(edits); j++ {
			if edits[j].op != ' ' {
				end = j
				continue
			}
			if j-end > 2*diffContext {
				break
			}
		}
		stop := min(len(edits), end+diffContext+1)
		h := edits[start:stop]
		aStart, bStart, aLen, bLen := -1, -1, 0, 0
		for _, e := range h {
			if e.op != '+' {
				if aStart < 0 {
					aStart = e.a
				}
				aLen++
			}
			if e.op != '-' {
				if bStart < 0 {
					bStart = e.b
				}
				bLen++
			}
		}
		fmt.Fprintf(&sb, "@@ -%s +%s @@\n", hunkRange(aStart, aLen, a, h, true), hunkRange(bStart, bLen, b, h, false))
		for _, e := range h {
			if lines >= maxLines {
				truncated = true
				break
			}
			switch e.op {
			case ' ':
				sb.WriteString(" " + redB(e.b, b.lines[e.b]) + "\n")
			case '-':
				sb.WriteString("-" + redA(e.a, a.lines[e.a]) + "\n")
				if a.noEOL && e.a == len(a.lines)-1 {
					sb.WriteString("\\ No newline at end of file\n")
				}
			case '+':
				sb.WriteString("+" + redB(e.b, b.lines[e.b]) + "\n")
				if b.noEOL && e.b == len(b.lines)-1 {
					sb.WriteString("\\ No newline at end of file\n")
				}
			}
			lines++
		}
		if truncated {
			break
		}
		i = stop
	}
	return sb.String(), truncated
}

// hunkRange formats "start,len" (1-based; "N,0" for an empty side, after
// line N).
func hunkRange(start, n int, t textLines, h []edit, isA bool) string {
	if n == 0 {
		// The line before the hunk on this side.
		before := 0
		for _, e := range h {
			idx := e.b
			if isA {
				idx = e.a
			}
			if idx >= 0 {
				before = idx
				break
			}
		}
		return fmt.Sprintf("%d,0", before)
	}
	if n == 1 {
		return fmt.Sprintf("%d", start+1)
	}
	return fmt.Sprintf("%d,%d", start+1, n)
}

// Redaction of secrets in diff lines and evidence.
var (
	reSecretKV = regexp.MustCompile(`(?i)((?:pass(?:word|wd|phrase)?|secret|token|psk|\bkey|api[_-]?key|private[_-]?key|community|wpa_passphrase|auth[_-]?key)[A-Za-z0-9_]*['"]?\s*(?:[=:]|\s)\s*['"]?)([^'"\s;]{3,})`)
)

// redactor returns a function that hides secrets in the lines of one
// file: the hash field of shadow-style files, lines inside a PEM private
// key block, and values after password-like keys.
func redactor(fsPath string, t textLines) func(int, string) string {
	base := path.Base(fsPath)
	shadowLike := base == "shadow" || base == "gshadow" || base == "master.passwd" || base == "shadow-" || base == "passwd" || base == "passwd-"
	inKey := make([]bool, len(t.lines))
	in := false
	for i, l := range t.lines {
		if strings.Contains(l, "-----BEGIN") && strings.Contains(l, "PRIVATE KEY") {
			in = true
			continue
		}
		if strings.Contains(l, "-----END") {
			in = false
			continue
		}
		inKey[i] = in
	}
	return func(i int, l string) string {
		if i >= 0 && i < len(inKey) && inKey[i] {
			return "[REDACTED]"
		}
		if shadowLike {
			if f := strings.SplitN(l, ":", 3); len(f) == 3 && len(f[1]) > 1 {
				return f[0] + ":" + redactValue(f[1]) + ":" + f[2]
			}
		}
		return reSecretKV.ReplaceAllStringFunc(l, func(s string) string {
			m := reSecretKV.FindStringSubmatch(s)
			return m[1] + redactValue(m[2])
		})
	}
}

// redactValue keeps a short prefix ("$6$" of a crypt hash, or two
// characters) and replaces the rest with '*'.
func redactValue(v string) string {
	keep := 2
	if strings.HasPrefix(v, "$") {
		if i := strings.IndexByte(v[1:], '$'); i >= 0 && i < 4 {
			keep = i + 2
		}
	}
	if len(v) <= keep {
		return strings.Repeat("*", len(v))
	}
	return v[:keep] + strings.Repeat("*", min(len(v)-keep, 16))
}

// textDiff diffs two text files, or returns "" when they are not text or
// too large.
func textDiff(nameA, nameB, fsPath string, a, b []byte, maxLines int) (string, bool, []edit, textLines, textLines) {
	if !isText(a) || !isText(b) || len(a) > maxTextBytes || len(b) > maxTextBytes {
		return "", false, nil, textLines{}, textLines{}
	}
	ta, tb := splitLines(a), splitLines(b)
	if len(ta.lines) > maxTextLines || len(tb.lines) > maxTextLines {
		return "", false, nil, ta, tb
	}
	edits := lineEdits(ta.lines, tb.lines)
	s, trunc := unified(nameA, nameB, ta, tb, edits, maxLines, redactor(fsPath, ta), redactor(fsPath, tb))
	return s, trunc, edits, ta, tb
}
