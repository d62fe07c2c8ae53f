package fsperm

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"path"
	"regexp"
	"strings"

	"github.com/netvet/netvet/internal/firmware"
)

// streamFind calls hit with the offset of every occurrence of needle in
// the first max bytes of f, reading in chunks that overlap by
// len(needle)-1 bytes. It stops early when hit returns false.
func streamFind(ctx context.Context, t *firmware.Tree, f *firmware.File, needle []byte, max int64, hit func(off int64) bool) error {
	fh, err := t.Open(f)
	if err != nil {
		return err
	}
	defer fh.Close()
	chunk := 1 << 20
	if f.Size > 0 && f.Size < int64(chunk) {
		chunk = int(f.Size) + 1
	}
	keep := len(needle) - 1
	buf := make([]byte, keep+chunk)
	have := 0      // bytes in buf carried from the previous chunk
	var base int64 // file offset of buf[0]
	for base+int64(have) < max {
		if err := ctx.Err(); err != nil {
			return err
		}
		want := chunk
		if rest := max - base - int64(have); rest < int64(want) {
			want = int(rest)
		}
		n, rerr := io.ReadFull(fh, buf[have:have+want])
		data := buf[:have+n]
		for i := 0; ; {
			j := bytes.Index(data[i:], needle)
			if j < 0 {
				break
			}
			if !hit(base + int64(i+j)) {
				return nil
			}
			i += j + 1
		}
		if rerr != nil {
			if errors.Is(rerr, io.EOF) || errors.Is(rerr, io.ErrUnexpectedEOF) {
				return nil
			}
			return rerr
		}
		// Carry the tail that could start a match across the boundary.
		if len(data) > keep {
			base += int64(len(data) - keep)
			copy(buf, data[len(data)-keep:])
			have = keep
		} else {
			have = len(data)
		}
	}
	return nil
}

// busyboxCache remembers which files are BusyBox multi-call binaries.
type busyboxCache struct {
	t    *firmware.Tree
	seen map[*firmware.File]bool
}

func newBusyboxCache(t *firmware.Tree) *busyboxCache {
	return &busyboxCache{t: t, seen: map[*firmware.File]bool{}}
}

// is reports whether f carries the BusyBox banner.
func (c *busyboxCache) is(ctx context.Context, f *firmware.File) bool {
	if v, ok := c.seen[f]; ok {
		return v
	}
	found := false
	_ = streamFind(ctx, c.t, f, []byte("BusyBox v"), 32<<20, func(int64) bool {
		found = true
		return false
	})
	c.seen[f] = found
	return found
}

// --- kernel command line ---------------------------------------------------

var bootNames = map[string]bool{
	"uEnv.txt": true, "uenv.txt": true, "cmdline": true, "cmdline.txt": true, "bootargs": true,
	"extlinux.conf": true, "grub.cfg": true, "boot.cmd": true, "boot.scr": true, "boot.txt": true,
}

var bootSuffixes = []string{".dtb", ".itb", ".fit", ".env", ".scr", ".its"}

// bootBlob reports whether f may hold a kernel command line: a blob
// outside any filesystem (kernel, bootloader, environment partition,
// device tree), or a boot file inside one.
func bootBlob(f *firmware.File) bool {
	if f.Root == nil {
		return true
	}
	n := f.Name()
	if bootNames[n] || strings.HasPrefix(f.FSPath, "/boot/") {
		return true
	}
	ln := strings.ToLower(n)
	if strings.HasPrefix(ln, "u-boot") || strings.HasPrefix(ln, "uboot") {
		return true
	}
	for _, s := range bootSuffixes {
		if strings.HasSuffix(ln, s) {
			return true
		}
	}
	return false
}

// serialConsole matches a console= argument naming a UART (not a VT such
// as tty0/tty1).
var serialConsole = regexp.MustCompile(`^console=((?:tty[A-Za-z]+|hvc|ttymxc|ttyAMA)[0-9]+[^ "'\x00]*)`)

const (
	maxCmdlinePerFile = 8
	maxCmdlineHits    = 64
	cmdlineWindow     = 512
	maxCmdlineText    = 300
)

func (a *Analyzer) scanCmdline(ctx context.Context, t *firmware.Tree, f *firmware.File) ([]firmware.Finding, error) {
	var offs []int64
	err := streamFind(ctx, t, f, []byte("console="), a.opts.MaxScanBytes, func(off int64) bool {
		offs = append(offs, off)
		return len(offs) < maxCmdlineHits
	})
	if err != nil || len(offs) == 0 {
		return nil, err
	}
	fh, err := t.Open(f)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	var whole []byte // text boot files: for line numbers
	if f.Root != nil && f.Size <= a.opts.MaxScriptBytes {
		whole, _ = t.ReadFile(f, a.opts.MaxScriptBytes)
	}
	var out []firmware.Finding
	seen := map[string]bool{}
	for _, o := range offs {
		start := o - cmdlineWindow
		if start < 0 {
			start = 0
		}
		win := make([]byte, o+cmdlineWindow-start)
		n, _ := fh.ReadAt(win, start)
		win = win[:n]
		rel := int(o - start)
		if rel >= len(win) {
			continue
		}
		m := serialConsole.FindSubmatch(win[rel:])
		if m == nil {
			continue
		}
		text := printableRun(win, rel)
		if seen[text] {
			continue
		}
		seen[text] = true
		line := 0
		if whole != nil && o < int64(len(whole)) {
			line = bytes.Count(whole[:o], []byte("\n")) + 1
		}
		fd := ruleSerialConsole.Finding(f, o, fmt.Sprintf("serial console %s in %q", m[1], text))
		fd.Line = line
		fd.Analyzer = name
		out = append(out, fd)
		if len(out) >= maxCmdlinePerFile {
			break
		}
	}
	return out, nil
}

// printableRun returns the run of printable bytes around b[i], cut to
// maxCmdlineText bytes, with a leading bootargs= or similar kept.
func printableRun(b []byte, i int) string {
	lo, hi := i, i
	for lo > 0 && printable(b[lo-1]) {
		lo--
	}
	for hi < len(b) && printable(b[hi]) {
		hi++
	}
	if lo < i-maxCmdlineText/2 {
		lo = i - maxCmdlineText/2
	}
	if hi > lo+maxCmdlineText {
		hi = lo + maxCmdlineText
	}
	return string(b[lo:hi])
}

func printable(c byte) bool { return c == '\t' || (c >= 0x20 && c <= 0x7e) }

// --- scripts ---------------------------------------------------------------

// scriptKind reports whether the prefix looks like a shell script.
func isShellScript(f *firmware.File, prefix []byte) bool {
	if bytes.IndexByte(prefix, 0) >= 0 {
		return false
	}
	if bytes.HasPrefix(prefix, []byte("#!")) {
		first := prefix
		if i := bytes.IndexByte(first, '\n'); i >= 0 {
			first = first[:i]
		}
		for _, w := range strings.Fields(strings.TrimPrefix(string(first), "#!")) {
			if shells[path.Base(w)] || path.Base(w) == "busybox" || strings.HasSuffix(w, "rc.common") {
				return true
			}
		}
		return false
	}
	return strings.HasSuffix(f.Name(), ".sh")
}

// scriptLine is one logical line of a script, comment removed.
type scriptLine struct {
	no   int
	off  int64
	text string
	raw  string
}

func splitLines(data []byte) []scriptLine {
	var out []scriptLine
	off := 0
	for no := 1; off < len(data); no++ {
		end := bytes.IndexByte(data[off:], '\n')
		if end < 0 {
			end = len(data) - off
		}
		raw := string(data[off : off+end])
		out = append(out, scriptLine{no: no, off: int64(off), text: stripComment(raw), raw: strings.TrimRight(raw, "\r")})
		off += end + 1
	}
	return out
}

// stripComment removes a # comment that starts a word outside quotes.
func stripComment(s string) string {
	var q byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case q != 0:
			if c == q {
				q = 0
			} else if c == '\\' && q == '"' {
				i++
			}
		case c == '\\':
			i++
		case c == '\'' || c == '"':
			q = c
		case c == '#' && (i == 0 || s[i-1] == ' ' || s[i-1] == '\t' || s[i-1] == ';'):
			return s[:i]
		}
	}
	return s
}

var (
	assignRe = regexp.MustCompile(`^\s*(?:export\s+|local\s+|readonly\s+)?([A-Za-z_][A-Za-z0-9_]*)=("[^"]*"|'[^']*'|[^\s;&|]*)`)
	varRe    = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)`)
	wordSep  = func(r rune) bool {
		return r == ' ' || r == '\t' || r == ';' || r == '|' || r == '&' || r == '(' || r == ')' || r == '`' || r == '"' || r == '\'' || r == '\r'
	}
)

// expand substitutes the script's literal variables, a few times for
// variables defined from others.
func expand(s string, vars map[string]string) string {
	for range 3 {
		n := varRe.ReplaceAllStringFunc(s, func(m string) string {
			k := strings.Trim(m, "${}")
			if v, ok := vars[k]; ok {
				return v
			}
			return m
		})
		if n == s {
			break
		}
		s = n
		if len(s) > 4096 {
			s = s[:4096]
			break
		}
	}
	return s
}

var downloadTools = map[string]bool{
	"wget": true, "curl": true, "uclient-fetch": true, "fetch": true, "lftp": true, "wget-ssl": true,
	"tftp": true, "atftp": true, "ftpget": true, "ncftpget": true,
}

// plainTools speak a protocol with no TLS at all.
var plainTools = map[string]bool{"tftp": true, "atftp": true, "ftpget": true, "ncftpget": true}

var (
	plainURL  = regexp.MustCompile(`(?i)\b(?:http|ftp|tftp)://[^\s"'<>;|&)]+`)
	fwHint    = regexp.MustCompile(`(?i)firmware|upgrade|update|\.(?:bin|img|trx|chk|itb|ubi|sh|ipk|tgz|tar|gz|squashfs)\b`)
	flashRe   = regexp.MustCompile(`\b(?:mtd\s+(?:-\S+\s+)*write|mtd_write|mtd-write|sysupgrade|flashcp|nandwrite|flash_erase(?:all)?|fw_upgrade|fwupgrade|ubiupdatevol)\b|\bdd\b[^\n]*\bof=/dev/(?:mtd|mmcblk|sd[a-z]|ubi|nand)`)
	execRe    = regexp.MustCompile(`\|\s*(?:/usr)?(?:/bin/)?(?:ba|a|da|z)?sh\b|\bchmod\s+(?:-\S+\s+)*(?:[ugoa]*\+[rwX]*x|[0-7]*[1357][0-7]*)\b|(?:^|[;&|]\s*|\s)(?:sh|ash|bash|source|\.)\s+/(?:tmp|var)/|\b(?:opkg|ipkg)\s+install\b|\bdpkg\s+-i\b|\brpm\s+-[iU]|\binsmod\s+/(?:tmp|var)/`)
	verifyRe  = regexp.MustCompile(`\b(?:usign|signify|gpgv?|minisign|cosign)\b|\bopenssl\s+(?:dgst|smime|cms|pkeyutl|rsautl)\b[^\n]*-verify|\bsha(?:256|384|512)sum\s+(?:-c|--check)\b`)
	devmemRe  = regexp.MustCompile(`(?:^|[\s;&|(` + "`" + `])(?:\S*/)?devmem2?(?:\s|$)|/dev/k?mem\b`)
	maxUpdate = 8
)

func (a *Analyzer) checkScript(t *firmware.Tree, f *firmware.File, add addFunc) error {
	if f.Size > a.opts.MaxScriptBytes {
		return nil
	}
	prefix, err := t.ReadPrefix(f, 256)
	if err != nil {
		return err
	}
	if !isShellScript(f, prefix) {
		return nil
	}
	data, err := t.ReadFile(f, a.opts.MaxScriptBytes)
	if err != nil {
		return err
	}
	lines := splitLines(data)
	vars := map[string]string{}
	for _, l := range lines {
		if m := assignRe.FindStringSubmatch(l.text); m != nil {
			vars[m[1]] = strings.Trim(m[2], `"'`)
		}
	}
	var code strings.Builder // the script with comments removed
	for _, l := range lines {
		code.WriteString(l.text)
		code.WriteByte('\n')
	}
	all := code.String()
	a.checkDevmem(f, lines, add)
	a.checkUpdate(f, lines, vars, all, add)
	return nil
}

func (a *Analyzer) checkDevmem(f *firmware.File, lines []scriptLine, add addFunc) {
	var first *scriptLine
	count := 0
	for i := range lines {
		if devmemRe.MatchString(lines[i].text) {
			if first == nil {
				first = &lines[i]
			}
			count++
		}
	}
	if first == nil {
		return
	}
	ev := fmt.Sprintf("line %d: %s", first.no, clip(strings.TrimSpace(first.raw)))
	if count > 1 {
		ev += fmt.Sprintf(" (%d lines use physical memory)", count)
	}
	add(ruleDevmemScript, f, first.off, first.no, ev)
}

func (a *Analyzer) checkUpdate(f *firmware.File, lines []scriptLine, vars map[string]string, all string, add addFunc) {
	if verifyRe.MatchString(all) {
		return
	}
	texts := make([]string, len(lines))
	for i, l := range lines {
		texts[i] = expand(l.text, vars)
	}
	// actionFrom returns the first flash, run or install step at or after
	// line index i.
	actionFrom := func(i int) string {
		for j := i; j < len(texts); j++ {
			if m := flashRe.FindString(texts[j]); m != "" {
				return fmt.Sprintf("writes it to flash (line %d: %s)", lines[j].no, clip(strings.TrimSpace(m)))
			}
			if m := execRe.FindString(texts[j]); m != "" {
				return fmt.Sprintf("runs or installs downloaded code (line %d: %s)", lines[j].no, clip(strings.TrimSpace(m)))
			}
		}
		return ""
	}
	n := 0
	for i, l := range lines {
		text := texts[i]
		words := strings.FieldsFunc(text, wordSep)
		tool := ""
		for k, w := range words {
			b := path.Base(w)
			if downloadTools[b] && (k == 0 || !strings.Contains(words[k-1], "=")) {
				tool = b
				break
			}
		}
		if tool == "" {
			continue
		}
		url := plainURL.FindString(text)
		if url == "" && !plainTools[tool] {
			continue
		}
		action := actionFrom(i)
		if action == "" && !fwHint.MatchString(text) {
			continue
		}
		what := url
		if what == "" {
			what = "a file by " + tool
		}
		ev := fmt.Sprintf("line %d: %s -- fetches %s over a protocol with no integrity protection", l.no, clip(strings.TrimSpace(l.raw)), what)
		if action != "" {
			ev += "; the script then " + action
		} else {
			ev += "; the download looks like firmware or a script"
		}
		ev += "; no usign/gpg/openssl -verify/sha256sum -c check in the script"
		add(ruleInsecureUpdate, f, l.off, l.no, ev)
		n++
		if n >= maxUpdate {
			return
		}
	}
}

func clip(s string) string {
	const max = 200
	if len(s) > max {
		return s[:max] + "..."
	}
	return s
}
