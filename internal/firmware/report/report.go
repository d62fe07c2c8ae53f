// Package report renders a firmware scan report (firmware.ScanReport) in
// the formats `netvet firmware scan --format` offers: text for a person at
// a terminal, JSON (the stable machine contract), SARIF 2.1.0 for code
// scanning tools, CycloneDX 1.6 and SPDX 2.3 SBOMs, and one self-contained
// HTML page.
//
// Every renderer is deterministic: the same report gives the same bytes.
// Nothing here reads the clock, the environment or the network; a creation
// time is written only when the caller passes one in Options.Created.
// Everything that comes from the image (paths, evidence, names) is treated
// as hostile: escaped for HTML, stripped of terminal control sequences for
// text.
//
// docs/scan-report.md describes how each format maps the report.
package report

import (
	"bytes"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/netvet/netvet/internal/firmware"
)

// Output formats.
const (
	Text      = "text"
	JSON      = "json"
	SARIF     = "sarif"
	CycloneDX = "cyclonedx"
	SPDX      = "spdx"
	HTML      = "html"
)

// Formats lists the output formats, the default first.
func Formats() []string { return []string{Text, JSON, SARIF, CycloneDX, SPDX, HTML} }

// DefaultTop is how many findings and vulnerabilities the text output
// lists when Options.Top is zero.
const DefaultTop = 10

// Options tune the renderers. The zero value is the default.
type Options struct {
	// Top is how many findings and how many vulnerabilities the text
	// output lists: 0 means DefaultTop, a negative number means all.
	Top int
	// Color turns on ANSI colours in the text output. The caller decides
	// (a terminal, no NO_COLOR); the renderer never guesses.
	Color bool
	// Created is written as the SPDX creationInfo.created and the
	// CycloneDX metadata.timestamp. When zero, SPDX gets the fixed time
	// 1970-01-01T00:00:00Z (SPDX requires one) and CycloneDX none, so that
	// the output depends only on the report.
	Created time.Time
}

// Write renders r to w in format ("" means text). The output is built in
// memory first: on error nothing is written.
func Write(w io.Writer, r *firmware.ScanReport, format string, opts Options) error {
	if r == nil {
		return errors.New("scan report: nothing to write (nil report)")
	}
	var buf bytes.Buffer
	var err error
	switch format {
	case Text, "":
		err = writeText(&buf, r, opts)
	case JSON:
		err = writeJSON(&buf, r)
	case SARIF:
		err = writeSARIF(&buf, r)
	case CycloneDX:
		err = writeCycloneDX(&buf, r, opts)
	case SPDX:
		err = writeSPDX(&buf, r, opts)
	case HTML:
		err = writeHTML(&buf, r)
	default:
		return fmt.Errorf("scan report: no %q output (use %s)", format, strings.Join(Formats(), ", "))
	}
	if err != nil {
		return fmt.Errorf("scan report: %s: %w", formatName(format), err)
	}
	_, err = w.Write(buf.Bytes())
	return err
}

func formatName(f string) string {
	if f == "" {
		return Text
	}
	return f
}

// toolName is the report's tool, "netvet" when the report does not say.
func toolName(r *firmware.ScanReport) string {
	if r.Tool != "" {
		return r.Tool
	}
	return "netvet"
}

// nsURL is the RFC 9562 namespace for URL names.
var nsURL = [16]byte{0x6b, 0xa7, 0xb8, 0x11, 0x9d, 0xad, 0x11, 0xd1, 0x80, 0xb4, 0x00, 0xc0, 0x4f, 0xd4, 0x30, 0xc8}

// uuidV5 returns the name-based (SHA-1) UUID of name in namespace ns.
func uuidV5(ns [16]byte, name string) string {
	h := sha1.New()
	h.Write(ns[:])
	h.Write([]byte(name))
	s := h.Sum(nil)
	s[6] = s[6]&0x0f | 0x50
	s[8] = s[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", s[0:4], s[4:6], s[6:8], s[8:10], s[10:16])
}

// documentName is what the SBOM identifiers are derived from: the image
// digest, the tool and its version, the vulnerability database and the
// disposition documents applied. The same scan gives the same name; a
// different database or set of dispositions, a different one.
func documentName(kind string, r *firmware.ScanReport) string {
	q := url.Values{}
	q.Set("tool", toolName(r))
	q.Set("version", r.Version)
	if db := r.Database; db != nil {
		q.Set("db", db.SchemaVersion+"/"+db.Built+"/"+db.Checksum)
	}
	for _, v := range r.VEX {
		q.Add("vex", v)
	}
	return "https://netvet.dev/" + kind + "/" + r.Image.SHA256 + "?" + q.Encode()
}

// isSHA256 reports whether s is a lower-case hex SHA-256 digest, the only
// form the SBOM formats accept as a hash.
func isSHA256(s string) bool {
	if len(s) != 64 {
		return false
	}
	for _, c := range s {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// fingerprint is a stable hex digest of parts.
func fingerprint(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil))
}

// hexOffset writes an offset as 0x hex; -1 (the whole file) as "".
func hexOffset(off int64) string {
	if off < 0 {
		return ""
	}
	return "0x" + strconv.FormatInt(off, 16)
}

// webURL reports whether s is an absolute http(s) URL without spaces: the
// only references the renderers turn into URIs.
func webURL(s string) bool {
	if s == "" || strings.ContainsAny(s, " \t\r\n\"<>\\^`{|}") {
		return false
	}
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "https" || u.Scheme == "http") && u.Host != ""
}

// firstWebURL returns the first of refs that is a web URL.
func firstWebURL(refs []string) string {
	for _, r := range refs {
		if webURL(r) {
			return r
		}
	}
	return ""
}

// advisoryURL is where a vulnerability is described: its first web URL,
// else the NVD page of a CVE or the GitHub page of a GHSA.
func advisoryURL(v *firmware.Vulnerability) string {
	if u := firstWebURL(v.URLs); u != "" {
		return u
	}
	switch {
	case strings.HasPrefix(v.ID, "CVE-") && safeID(v.ID):
		return "https://nvd.nist.gov/vuln/detail/" + v.ID
	case strings.HasPrefix(v.ID, "GHSA-") && safeID(v.ID):
		return "https://github.com/advisories/" + v.ID
	}
	return ""
}

// safeID reports whether id holds only letters, digits, '-', '_' and '.'.
func safeID(id string) bool {
	for _, c := range id {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return id != ""
}

// maxScore is the highest CVSS base score of v, 0 if none.
func maxScore(v *firmware.Vulnerability) float64 {
	s := 0.0
	for _, c := range v.CVSS {
		s = max(s, c.Score)
	}
	return s
}

// severityOrder lists the severities from the highest down.
var severityOrder = []firmware.Severity{
	firmware.SeverityCritical, firmware.SeverityHigh, firmware.SeverityMedium,
	firmware.SeverityLow, firmware.SeverityInfo, firmware.SeverityUnknown,
}

// countOf returns c's count for s.
func countOf(c firmware.Counts, s firmware.Severity) int {
	switch s {
	case firmware.SeverityCritical:
		return c.Critical
	case firmware.SeverityHigh:
		return c.High
	case firmware.SeverityMedium:
		return c.Medium
	case firmware.SeverityLow:
		return c.Low
	case firmware.SeverityInfo:
		return c.Info
	}
	return c.Unknown
}

// componentIndex maps component IDs to components.
func componentIndex(r *firmware.ScanReport) map[string]*firmware.Component {
	m := make(map[string]*firmware.Component, len(r.Components))
	for i := range r.Components {
		c := &r.Components[i]
		if _, dup := m[c.ID]; !dup {
			m[c.ID] = c
		}
	}
	return m
}

// humanBytes writes n in binary units with one decimal.
func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit && exp < 5; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
