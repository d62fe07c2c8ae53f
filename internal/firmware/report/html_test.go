package report

import (
	"bytes"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/netvet/netvet/internal/firmware"
)

// TestHTMLEscaping renders a report whose every image-derived string is
// hostile and checks that none of it reaches the page as markup.
func TestHTMLEscaping(t *testing.T) {
	out := string(render(t, hostileReport(), HTML, Options{}))
	lower := strings.ToLower(out)
	for _, bad := range []string{"<script", "</script", "onerror=", "javascript:", "\x1b", "\x07", "\u202e", `alert("x")`, "' \" &"} {
		if strings.Contains(lower, strings.ToLower(bad)) {
			i := strings.Index(lower, strings.ToLower(bad))
			t.Errorf("page contains %q: ...%s...", bad, out[max(0, i-80):min(len(out), i+80)])
		}
	}
	for _, want := range []string{
		"&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &#39; &#34; &amp; \\x1b[2J\\x1b]0;pwned\\x07 \\u202eevil",
		"<title>Firmware scan: demo-router.bin&lt;script&gt;",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("page lacks the escaped form %q", want)
		}
	}
}

// TestHTMLSelfContained: nothing is loaded from anywhere and no script
// runs.
func TestHTMLSelfContained(t *testing.T) {
	for _, r := range []*firmware.ScanReport{fullReport(), hostileReport(), emptyReport()} {
		out := string(render(t, r, HTML, Options{}))
		for _, bad := range []*regexp.Regexp{
			regexp.MustCompile(`(?i)<script`),
			regexp.MustCompile(`(?i)<(link|img|iframe|object|embed|base|form|a)\b`),
			regexp.MustCompile(`(?i)\s(src|href|action|formaction)=`),
			regexp.MustCompile(`(?i)\son[a-z]+=`),
			regexp.MustCompile(`(?i)url\(`),
			regexp.MustCompile(`(?i)@import`),
		} {
			if loc := bad.FindStringIndex(out); loc != nil {
				t.Errorf("%s: page has %q near %q", r.Image.Name, bad, out[max(0, loc[0]-60):min(len(out), loc[1]+60)])
			}
		}
		checkTags(t, out)
		if !strings.Contains(out, `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">`) {
			t.Error("no Content-Security-Policy")
		}
		if !strings.HasPrefix(out, "<!DOCTYPE html>") || !strings.HasSuffix(out, "</html>\n") {
			t.Error("not a whole HTML document")
		}
	}
}

// htmlTag matches a tag, a comment or a doctype.
var htmlTag = regexp.MustCompile(`<(/?)([a-zA-Z!][a-zA-Z0-9-]*)([^>]*)>`)

// htmlAttr matches one attribute name, once quoted values are emptied.
var (
	htmlAttr   = regexp.MustCompile(`\s([^\s=]+)=`)
	htmlQuoted = regexp.MustCompile(`"[^"]*"`)
)

// checkTags fails unless every tag in page is one the template writes,
// with attributes the template writes: markup from the data would show
// up as another tag or attribute.
func checkTags(t testing.TB, page string) {
	t.Helper()
	if p := tagProblem(page); p != "" {
		t.Fatalf("html: %s", p)
	}
}

func tagProblem(page string) string {
	tags := map[string]bool{}
	for _, n := range strings.Fields("!DOCTYPE html head meta title style body h1 h2 h3 table tr th td span strong code " +
		"ul li p br div details summary svg text rect") {
		tags[n] = true
	}
	attrs := map[string]bool{}
	for _, n := range strings.Fields("lang charset http-equiv content name class xmlns width height viewBox role " +
		"aria-label x y dx dy") {
		attrs[n] = true
	}
	for _, m := range htmlTag.FindAllStringSubmatch(page, -1) {
		if !tags[m[2]] {
			return fmt.Sprintf("unexpected tag %q", m[0])
		}
		rest := htmlQuoted.ReplaceAllString(m[3], `""`)
		if strings.ContainsAny(rest, "'<") {
			return fmt.Sprintf("unquoted or odd attribute in %q", m[0])
		}
		for _, a := range htmlAttr.FindAllStringSubmatch(rest, -1) {
			if !attrs[a[1]] {
				return fmt.Sprintf("unexpected attribute %q in %q", a[1], m[0])
			}
		}
	}
	return ""
}

// TestTagProblem: the markup check can fail.
func TestTagProblem(t *testing.T) {
	for page, bad := range map[string]bool{
		`<td class="n">x</td>`:               false,
		`<td class="a b" onclick="x">`:       true,
		`<img src=x>`:                        true,
		`<td class='x'>`:                     true,
		`<span class="x"><script>`:           true,
		`<rect x="1" y="2" width="3"/>`:      false,
		`&lt;img src=x&gt; <td onclick="a">`: true,
		`&lt;img src=x onerror=alert(1)&gt;`: false,
		`<meta content="width=1, a-b=1">`:    false,
		`<td class="x" data-x="1">`:          true,
	} {
		if got := tagProblem(page) != ""; got != bad {
			t.Errorf("tagProblem(%q) = %v, want %v", page, got, bad)
		}
	}
}

func TestHTMLContent(t *testing.T) {
	r := fullReport()
	out := string(render(t, r, HTML, Options{}))
	for _, want := range []string{
		`<span class="verdict verdict-fail">FAIL</span>`,
		// Findings grouped by severity, in order, with counts.
		`<span class="badge sev-critical">CRITICAL</span> 1</h3>`,
		`<span class="badge sev-high">HIGH</span> 2</h3>`,
		`<span class="badge sev-info">INFO</span> 1</h3>`,
		// Offsets in hex, whole-file findings said so, lines.
		`<td class="n mono">0x1f</td><td class="n">3</td>`,
		`<td class="n mono">whole file</td>`,
		// Dispositioned rows marked and explained.
		`<tr class="disp"><td class="mono id">NV-KEY-001</td>`,
		`accepted (regenerated on first boot): the init script replaces the key before dropbear starts`,
		// Charts: one bar per severity and kind, one per ecosystem.
		`<title>2 high findings</title>`,
		`<title>1 critical vulnerabilities</title>`,
		`<title>opkg: 3 components</title>`,
		// Vulnerabilities, components, hardening, rules, notes.
		`<span class="kev">known exploited</span>`,
		`fixed in 1.0.2h`,
		`<td>busybox</td><td>1.33.1</td><td>binary</td>`,
		`<tr><th>PIE</th><td class="n">25.0%</td>`,
		`<td class="mono id">NV-HYG-001</td>`,
		`analyser services: inittab parser: line 40: too long`,
		`schema v6.0.2, built 2025-11-30T04:05:06Z`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	// Severity groups come highest first.
	if strings.Index(out, "sev-critical\">CRITICAL") > strings.Index(out, "sev-high\">HIGH") ||
		strings.Index(out, "sev-high\">HIGH") > strings.Index(out, "sev-medium\">MEDIUM") {
		t.Error("severity groups out of order")
	}

	empty := string(render(t, emptyReport(), HTML, Options{}))
	for _, want := range []string{"No findings.", "Vulnerability matching was skipped", "No components catalogued.", "No ELF executables were profiled."} {
		if !strings.Contains(empty, want) {
			t.Errorf("empty report page lacks %q", want)
		}
	}
}

// TestHTMLManyEcosystems: more ecosystems than chart rows fold into
// "other" with the right count.
func TestHTMLManyEcosystems(t *testing.T) {
	r := emptyReport()
	for i := range 20 {
		r.Components = append(r.Components, firmware.Component{ID: string(rune('a' + i)), Name: "c", Ecosystem: string(rune('a' + i))})
	}
	out := render(t, r, HTML, Options{})
	if n := bytes.Count(out, []byte(`<rect class="eco"`)); n != maxEcoRows {
		t.Errorf("%d ecosystem bars, want %d", n, maxEcoRows)
	}
	if !bytes.Contains(out, []byte(`<title>other: 9 components</title>`)) {
		t.Error(`no "other" bar with the 9 remaining components`)
	}
}
