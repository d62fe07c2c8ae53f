// Package secrets finds credentials written into the text files of an
// unpacked image: configuration, scripts and web files. It runs the
// default rules of gitleaks v8 (tokens and keys of cloud and SaaS
// services) and netvet's own firmware rules, which gitleaks does not
// have: Wi-Fi keys (OpenWrt UCI wireless, wpa_supplicant, hostapd), SNMP
// community strings (snmpd.conf, UCI, IOS-style configs), passwords in
// configuration files (key=value, UCI, XML elements and attributes),
// PPPoE and other WAN access credentials, and TR-069 ACS credentials.
// Binary and compressed files are skipped. Evidence shows the line with
// the secret redacted to a short prefix.
package secrets

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"path"
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/netvet/netvet/internal/firmware"
)

// Rules reported by the analyser.
var (
	RuleGitleaks = firmware.Rule{
		ID: "NV-SECRET-001", Title: "Credential or token matching a gitleaks rule", Severity: firmware.SeverityHigh,
		Rationale:  "an access token or key of a known service ships in every copy of the image; whoever downloads the firmware can use it",
		References: []string{"https://github.com/gitleaks/gitleaks", "https://cwe.mitre.org/data/definitions/798.html"},
	}
	RuleGitleaksGeneric = firmware.Rule{
		ID: "NV-SECRET-002", Title: "Possible secret matching the gitleaks generic rule", Severity: firmware.SeverityMedium,
		Rationale:  "a high-entropy value assigned to a name like key, token or secret is likely a credential shared by every unit",
		References: []string{"https://github.com/gitleaks/gitleaks", "https://cwe.mitre.org/data/definitions/798.html"},
	}
	RuleWiFi = firmware.Rule{
		ID: "NV-SECRET-003", Title: "Wi-Fi key in configuration", Severity: firmware.SeverityHigh,
		Rationale:  "a Wi-Fi passphrase in the image is the factory key of every unit that keeps its defaults: anyone in radio range can join",
		References: []string{"https://cwe.mitre.org/data/definitions/1392.html"},
	}
	RuleSNMPDefault = firmware.Rule{
		ID: "NV-SECRET-004", Title: "Default SNMP community (public or private)", Severity: firmware.SeverityHigh,
		Rationale:  "the default communities are the first guess of every scanner; SNMP read access leaks configuration and write access changes it",
		References: []string{"https://www.cisa.gov/news-events/alerts/2017/06/05/reducing-risk-snmp-abuse", "https://cwe.mitre.org/data/definitions/1392.html"},
	}
	RuleSNMP = firmware.Rule{
		ID: "NV-SECRET-005", Title: "SNMP community string in configuration", Severity: firmware.SeverityMedium,
		Rationale:  "an SNMPv1/v2c community is a clear-text password shared by every unit built from the image",
		References: []string{"https://cwe.mitre.org/data/definitions/798.html"},
	}
	RulePassword = firmware.Rule{
		ID: "NV-SECRET-006", Title: "Password or secret in a configuration file", Severity: firmware.SeverityMedium,
		Rationale:  "a password written into the image is the same on every unit and readable by anyone with the firmware",
		References: []string{"https://cwe.mitre.org/data/definitions/260.html", "https://cwe.mitre.org/data/definitions/798.html"},
	}
	RuleWAN = firmware.Rule{
		ID: "NV-SECRET-007", Title: "WAN access credentials (PPPoE, PPTP, L2TP, mobile APN)", Severity: firmware.SeverityHigh,
		Rationale:  "operator access credentials in the image let anyone with the firmware authenticate as the subscriber or the operator's device",
		References: []string{"https://cwe.mitre.org/data/definitions/798.html"},
	}
	RuleTR069 = firmware.Rule{
		ID: "NV-SECRET-008", Title: "TR-069 (CWMP) ACS or connection-request credentials", Severity: firmware.SeverityHigh,
		Rationale:  "with the ACS credentials one can impersonate the device to the operator's ACS or, with the connection-request ones, trigger and steer management sessions that can push configuration and firmware",
		References: []string{"https://cwe.mitre.org/data/definitions/798.html"},
	}
)

var allRules = []firmware.Rule{
	RuleGitleaks, RuleGitleaksGeneric, RuleWiFi, RuleSNMPDefault, RuleSNMP, RulePassword, RuleWAN, RuleTR069,
}

// Options tune the analyser. The zero value gives the defaults.
type Options struct {
	// MaxFileSize is the largest file read (default 4 MiB).
	MaxFileSize int64
	// NoGitleaks turns the gitleaks rules off, leaving the firmware rules.
	NoGitleaks bool
	// Logger receives notes about skipped files (default: discarded).
	Logger *slog.Logger
}

type analyzer struct{ opts Options }

// New returns the analyser with default options.
func New() firmware.Analyzer { return NewWithOptions(Options{}) }

// NewWithOptions returns the analyser with the given options.
func NewWithOptions(o Options) firmware.Analyzer {
	if o.MaxFileSize <= 0 {
		o.MaxFileSize = 4 << 20
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return &analyzer{opts: o}
}

var _ firmware.Analyzer = (*analyzer)(nil)

const analyzerName = "secrets"

func (a *analyzer) Info() firmware.AnalyzerInfo {
	return firmware.AnalyzerInfo{
		Name:        analyzerName,
		Description: "credentials in text files: gitleaks rules plus Wi-Fi keys, SNMP communities, configuration passwords, WAN and TR-069 credentials",
		Rules:       append([]firmware.Rule(nil), allRules...),
	}
}

func (a *analyzer) Analyze(ctx context.Context, t *firmware.Tree, out firmware.Reporter) error {
	files := t.Regular()
	// Files are searched by a few workers; each keeps its results by file
	// index, so the findings come out in the same order whatever the
	// scheduling.
	results := make([][]firmware.Finding, len(files))
	var (
		glFail atomic.Pointer[error]
		next   atomic.Int64
		wg     sync.WaitGroup
	)
	for range max(1, min(runtime.GOMAXPROCS(0), 4)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= len(files) || ctx.Err() != nil {
					return
				}
				results[i] = a.file(ctx, t, files[i], &glFail)
			}
		}()
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return err
	}
	var found []firmware.Finding
	for _, r := range results {
		found = append(found, r...)
	}
	firmware.SortFindings(found)
	for _, f := range found {
		out.Report(f)
	}
	if e := glFail.Load(); e != nil {
		return fmt.Errorf("secrets: gitleaks rules not run: %w", *e)
	}
	return nil
}

// file searches one file.
func (a *analyzer) file(ctx context.Context, t *firmware.Tree, f *firmware.File, glFail *atomic.Pointer[error]) []firmware.Finding {
	data, ok := a.read(t, f)
	if !ok {
		return nil
	}
	ms := firmwareRules(f, data)
	if !a.opts.NoGitleaks && glFail.Load() == nil {
		gl, err := runGitleaks(ctx, f.FSPath, data)
		if err != nil {
			glFail.CompareAndSwap(nil, &err)
		}
		ms = append(ms, gitleaksMatches(data, gl, ms)...)
	}
	render(ms)
	var found []firmware.Finding
	for _, m := range ms {
		fd := m.rule.Finding(f, m.evOff, m.evidence)
		fd.Line, fd.Analyzer = m.l.No, analyzerName
		found = append(found, fd)
	}
	return found
}

// read returns a file's content when it is text worth searching.
func (a *analyzer) read(t *firmware.Tree, f *firmware.File) ([]byte, bool) {
	if f.Size > a.opts.MaxFileSize || f.Format != "" {
		return nil, false
	}
	// Most files of an image are binaries: decide on the first 8 KiB
	// before reading the rest.
	head, err := t.ReadPrefix(f, 8192)
	if err != nil || !textLike(head) {
		return nil, false
	}
	data, err := t.ReadFile(f, a.opts.MaxFileSize)
	if err != nil {
		a.opts.Logger.Debug("file skipped", "path", f.Path, "err", err)
		return nil, false
	}
	if !textLike(data) {
		return nil, false
	}
	return data, true
}

// binaryMagic are the starts of binary and compressed formats.
var binaryMagic = [][]byte{
	[]byte("\x7fELF"), []byte("\x1f\x8b"), []byte("\xfd7zXZ\x00"), []byte("BZh"), []byte("\x28\xb5\x2f\xfd"),
	[]byte("\x5d\x00\x00"), []byte("PK\x03\x04"), []byte("7z\xbc\xaf\x27\x1c"), []byte("hsqs"), []byte("sqsh"),
	[]byte("\x89PNG"), []byte("\xff\xd8\xff"), []byte("GIF8"), []byte("\x04\x22\x4d\x18"), []byte("UBI#"),
	[]byte("\x27\x05\x19\x56"), []byte("\xd0\x0d\xfe\xed"), []byte("%PDF"), []byte("\x00asm"),
}

// textLike accepts content without NUL bytes, not starting with a known
// binary magic, and with at most 1% control bytes in its first 8 KiB.
func textLike(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	for _, m := range binaryMagic {
		if bytes.HasPrefix(b, m) {
			return false
		}
	}
	head := b[:min(len(b), 8192)]
	if bytes.IndexByte(b, 0) >= 0 {
		return false
	}
	ctl := 0
	for _, c := range head {
		if c < 0x20 && c != '\t' && c != '\n' && c != '\r' && c != '\f' && c != '\v' && c != 0x1b {
			ctl++
		}
	}
	return ctl*100 <= len(head)
}

// match is a secret found in a file.
type match struct {
	rule firmware.Rule
	l    line
	// vs and ve delimit the secret as written in l.Text.
	vs, ve int
	// label comes before the line in the evidence, note after it.
	label, note string
	// evidence and evOff are filled by render; set directly only for a
	// match that is not on one line.
	evidence string
	evOff    int64
}

func (m match) valOff() int64 { return m.l.Offset + int64(m.vs) }
func (m match) valEnd() int64 { return m.l.Offset + int64(m.ve) }

// render writes the evidence of each match: its line with every secret
// found on that line redacted, not only its own.
func render(ms []match) {
	onLine := make([]bool, len(ms))
	for i, m := range ms {
		onLine[i] = m.evidence == ""
	}
	for i := range ms {
		m := &ms[i]
		if !onLine[i] {
			continue
		}
		var others [][2]int
		for j, o := range ms {
			if onLine[j] && o.l.Offset == m.l.Offset {
				others = append(others, [2]int{o.vs, o.ve})
			}
		}
		ev, at := evidenceLine(m.l.Text, m.vs, m.ve, others)
		if m.label != "" {
			ev = m.label + ": " + ev
		}
		if m.note != "" {
			ev += " (" + m.note + ")"
		}
		m.evidence, m.evOff = ev, m.l.Offset+int64(at)
	}
}

// redact keeps a short prefix of a secret and stars the rest.
func redact(s string) string {
	keep := min(len(s)/4, 4)
	return s[:keep] + strings.Repeat("*", len(s)-keep)
}

// redactWritten redacts a value as written, keeping its quotes.
func redactWritten(w string) string {
	if len(w) >= 2 && (w[0] == '\'' || w[0] == '"') && w[len(w)-1] == w[0] {
		return w[:1] + redact(w[1:len(w)-1]) + w[len(w)-1:]
	}
	return redact(w)
}

// maxEvidence bounds the text of a line shown as evidence.
const maxEvidence = 200

// evidenceLine shows a line with the secret at [vs, ve) and every range
// in others redacted, cut to a window around the secret when the line is
// long. It returns the text and its offset in the line.
func evidenceLine(text string, vs, ve int, others [][2]int) (string, int) {
	clamp := func(a, b int) (int, int) {
		a, b = max(0, min(a, len(text))), max(0, min(b, len(text)))
		return a, max(a, b)
	}
	vs, ve = clamp(vs, ve)
	ranges := append([][2]int{{vs, ve}}, others...)
	for i := range ranges {
		ranges[i][0], ranges[i][1] = clamp(ranges[i][0], ranges[i][1])
	}
	sort.Slice(ranges, func(i, j int) bool { return ranges[i][0] < ranges[j][0] })
	// show writes text[from:to] with the ranges inside it redacted.
	show := func(from, to int) string {
		var b strings.Builder
		at := from
		for _, r := range ranges {
			if r[0] < at || r[1] > to {
				continue
			}
			b.WriteString(text[at:r[0]])
			b.WriteString(redactWritten(text[r[0]:r[1]]))
			at = r[1]
		}
		b.WriteString(text[at:to])
		return b.String()
	}
	start := len(text) - len(strings.TrimLeft(text, " \t"))
	end := len(strings.TrimRight(text, " \t"))
	if start > vs {
		start = vs
	}
	if end < ve {
		end = ve
	}
	if end-start <= maxEvidence {
		return show(start, end), start
	}
	from, to := max(start, vs-80), min(end, ve+80)
	for _, r := range ranges {
		// Never cut through a secret at the window's edges.
		if r[0] < from && r[1] > from {
			from = r[0]
		}
		if r[0] < to && r[1] > to {
			to = r[1]
		}
	}
	prefix, suffix := "", ""
	if from > start {
		prefix = "..."
	}
	if to < end {
		suffix = "..."
	}
	return prefix + show(from, to) + suffix, from
}

// sortMatches orders a file's matches by position.
func sortMatches(ms []match) {
	sort.SliceStable(ms, func(i, j int) bool { return ms[i].valOff() < ms[j].valOff() })
}

// baseName is the last element of a file's path.
func baseName(f *firmware.File) string {
	if f.FSPath != "" {
		return path.Base(f.FSPath)
	}
	return path.Base(f.Path)
}
