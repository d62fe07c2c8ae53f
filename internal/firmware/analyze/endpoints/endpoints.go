// Package endpoints is the "endpoints" analyser: it lists the IPv4 and
// IPv6 addresses, URLs and domain names written into an image's configs,
// scripts and binaries, with the file and byte offset of each, and
// classifies them with net/netip (public, private, loopback, link-local,
// documentation, multicast, unspecified, broadcast, CGNAT, reserved).
// Public endpoints are where the device could send data and get their
// own rules; the rest are reported at info level.
//
// Binaries are read as strings(1) does, as runs of at least four
// printable characters; text files are read the same way and also get
// line numbers. The extractor is strict on purpose, to keep version
// numbers, file names and code out of the report: dotted quads need
// octets of 0-255 without leading zeros and nothing dotted, alphanumeric
// or a version word next to them; names need a top-level domain from an
// embedded list (one that is also a file extension or a common word is
// only taken in a URL, an e-mail address or after "www."); in binaries
// names must be lower case and not start a path.
package endpoints

import (
	"bytes"
	"context"
	"debug/elf"
	"fmt"
	"io"
	"net/netip"
	"sort"
	"strings"

	"github.com/netvet/netvet/internal/firmware"
)

// Defaults for the limits.
const (
	// DefaultMaxBytes is how much of one file is scanned.
	DefaultMaxBytes = 128 << 20
	// DefaultMaxPerFile is how many distinct endpoints of one file are
	// reported; the rest are counted in an NV-NET-007 finding.
	DefaultMaxPerFile = 200
)

var (
	rulePublicIP = firmware.Rule{
		ID: "NV-NET-001", Severity: firmware.SeverityMedium,
		Title:     "Hard-coded public IP address",
		Rationale: "A fixed public address is a place the device can send data or take orders from that DNS-based controls and vendor documentation may not show; check who owns it and why it is there.",
	}
	ruleURLClear = firmware.Rule{
		ID: "NV-NET-002", Severity: firmware.SeverityMedium,
		Title:      "Hard-coded URL to a public host over a cleartext protocol",
		Rationale:  "Data sent to this URL (updates, telemetry, configuration) can be read and changed on the way.",
		References: []string{"https://cwe.mitre.org/data/definitions/319.html"},
	}
	ruleURLSecure = firmware.Rule{
		ID: "NV-NET-003", Severity: firmware.SeverityLow,
		Title:     "Hard-coded URL to a public host",
		Rationale: "An encrypted endpoint the device may contact; list it in the egress allowlist or find out why it is there.",
	}
	ruleDomain = firmware.Rule{
		ID: "NV-NET-004", Severity: firmware.SeverityLow,
		Title:     "Hard-coded public domain name",
		Rationale: "A name the device may resolve and contact (NTP, update, cloud or telemetry servers); compare with the vendor's declared endpoints.",
	}
	ruleInternal = firmware.Rule{
		ID: "NV-NET-005", Severity: firmware.SeverityInfo,
		Title:     "Hard-coded non-public address or name",
		Rationale: "Private, loopback, link-local, CGNAT, multicast, broadcast, reserved addresses and local names show the networks the vendor configured or tested on.",
	}
	ruleDoc = firmware.Rule{
		ID: "NV-NET-006", Severity: firmware.SeverityInfo,
		Title:     "Documentation address or example name",
		Rationale: "Addresses reserved for documentation (RFC 5737, RFC 3849, RFC 9637) and example names (RFC 2606) are placeholders; one left in a shipped config is a default nobody changed.",
	}
	ruleIncomplete = firmware.Rule{
		ID: "NV-NET-007", Severity: firmware.SeverityInfo,
		Title:     "Endpoint list of a file is incomplete",
		Rationale: "The file held more distinct endpoints than are listed, or was larger than the scan limit; search it by hand.",
	}
	ruleReference = firmware.Rule{
		ID: "NV-NET-008", Severity: firmware.SeverityInfo,
		Title:     "Public endpoint in documentation or used as an identifier",
		Rationale: "Endpoints in manuals, change logs and message catalogs, and XML namespace or DTD identifiers, are text the device does not contact; they are listed so that none is hidden, without the weight of a hard-coded endpoint.",
	}
	rules = []firmware.Rule{rulePublicIP, ruleURLClear, ruleURLSecure, ruleDomain, ruleInternal, ruleDoc, ruleIncomplete, ruleReference}
)

// Option configures the analyser.
type Option func(*analyzer)

// WithMaxBytes sets how much of each file is scanned.
func WithMaxBytes(n int64) Option { return func(a *analyzer) { a.maxBytes = n } }

// WithMaxPerFile sets how many distinct endpoints per file are reported.
func WithMaxPerFile(n int) Option { return func(a *analyzer) { a.maxPerFile = n } }

type analyzer struct {
	maxBytes   int64
	maxPerFile int
}

// New returns the endpoints analyser.
func New(opts ...Option) firmware.Analyzer {
	a := &analyzer{maxBytes: DefaultMaxBytes, maxPerFile: DefaultMaxPerFile}
	for _, o := range opts {
		o(a)
	}
	return a
}

var _ firmware.Analyzer = (*analyzer)(nil)

func (a *analyzer) Info() firmware.AnalyzerInfo {
	return firmware.AnalyzerInfo{
		Name:        "endpoints",
		Description: "hard-coded IP addresses, URLs and domain names, classified public or not",
		Rules:       append([]firmware.Rule(nil), rules...),
	}
}

func (a *analyzer) Analyze(ctx context.Context, t *firmware.Tree, out firmware.Reporter) error {
	buf := make([]byte, chunkSize)
	for _, f := range t.Regular() {
		if err := ctx.Err(); err != nil {
			return err
		}
		// A container's content is scanned in the files unpacked from it.
		if f.Format != "" {
			continue
		}
		if err := a.file(ctx, t, f, out, buf); err != nil {
			return err
		}
	}
	return nil
}

// entry is one distinct endpoint of a file.
type entry struct {
	m     Match
	count int
}

// ctxReader stops reading when the context is cancelled.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

func (a *analyzer) file(ctx context.Context, t *firmware.Tree, f *firmware.File, out firmware.Reporter, buf []byte) error {
	fh, err := t.Open(f)
	if err != nil {
		return nil
	}
	defer fh.Close()
	n, _ := fh.ReadAt(buf[:8<<10], 0)
	head := buf[:n]
	binary := bytes.IndexByte(head, 0) >= 0 || bytes.HasPrefix(head, []byte(elf.ELFMAG))
	if n == 0 {
		return nil
	}

	seen := map[string]*entry{}
	var list []*entry
	omitted := 0
	read, err := scan(ctxReader{ctx, fh}, Options{Binary: binary}, a.maxBytes, buf, func(m Match) bool {
		key := string(rune('0'+m.Kind)) + m.Value
		if e := seen[key]; e != nil {
			e.count++
			return true
		}
		if len(list) >= a.maxPerFile {
			omitted++
			return true
		}
		e := &entry{m: m, count: 1}
		seen[key] = e
		list = append(list, e)
		return true
	})
	// A read error ends the scan of this file; what was read is reported.
	if err != nil && ctx.Err() != nil {
		return ctx.Err()
	}
	sort.SliceStable(list, func(i, j int) bool { return list[i].m.Offset < list[j].m.Offset })
	docs := docFile(f)
	for _, e := range list {
		r := ruleFor(e.m)
		if r.Severity > firmware.SeverityInfo && (docs || identifierURL(e.m)) {
			r = ruleReference
		}
		fd := r.Finding(f, e.m.Offset, evidence(e))
		fd.Line = e.m.Line
		fd.Analyzer = "endpoints"
		out.Report(fd)
	}
	var why []string
	if omitted > 0 {
		why = append(why, fmt.Sprintf("%d more occurrences of endpoints beyond the first %d distinct ones", omitted, a.maxPerFile))
	}
	if st, err := fh.Stat(); err == nil && read < st.Size() {
		why = append(why, fmt.Sprintf("only the first %d of %d bytes were scanned", read, st.Size()))
	}
	if len(why) > 0 {
		fd := ruleIncomplete.Finding(f, -1, strings.Join(why, "; "))
		fd.Analyzer = "endpoints"
		out.Report(fd)
	}
	return nil
}

// ruleFor picks the rule for an endpoint from its class and form.
func ruleFor(m Match) firmware.Rule {
	switch m.Class {
	case ClassPublic:
		switch m.Kind {
		case KindIPv4, KindIPv6:
			return rulePublicIP
		case KindURL:
			if _, err := netip.ParseAddr(m.Host); err == nil {
				return rulePublicIP
			}
			if schemes[m.Scheme] {
				return ruleURLSecure
			}
			return ruleURLClear
		}
		return ruleDomain
	case ClassDocumentation:
		return ruleDoc
	}
	return ruleInternal
}

// docDirs hold documentation and package databases (versions, home pages
// and descriptions of packages): no program contacts an endpoint written
// there.
var docDirs = []string{"/usr/share/doc/", "/usr/share/man/", "/usr/share/info/", "/usr/share/locale/",
	"/usr/share/gtk-doc/", "/usr/share/help/", "/usr/share/common-licenses/", "/usr/share/lintian/",
	"/var/lib/dpkg/", "/var/lib/apt/lists/", "/var/lib/opkg/", "/usr/lib/opkg/"}

// docFile reports a file in a documentation folder or a gettext message
// catalog. Files unpacked from a compressed file (a .gz change log) have
// no fs_path, so the manifest path is checked too.
func docFile(f *firmware.File) bool {
	if strings.HasSuffix(f.FSPath, ".mo") {
		return true
	}
	for _, d := range docDirs {
		if strings.HasPrefix(f.FSPath, d) || strings.Contains(f.Path, d) {
			return true
		}
	}
	return false
}

// identifierPrefixes are the hosts (with a path prefix where the host
// also serves content) of XML namespace and DTD identifiers: parsers
// compare them as strings and do not fetch them.
var identifierPrefixes = []string{
	"www.w3.org/", "schemas.xmlsoap.org/", "schemas.microsoft.com/", "schemas.openxmlformats.org/",
	"purl.org/", "xmlns.com/", "ns.adobe.com/", "xmlns.jcp.org/", "java.sun.com/xml/ns/",
	"www.freedesktop.org/standards/", "maven.apache.org/pom/", "maven.apache.org/xsd/",
}

// identifierURL reports a cleartext URL that is an XML namespace or DTD
// identifier.
func identifierURL(m Match) bool {
	if m.Kind != KindURL || m.Credentials {
		return false
	}
	_, rest, ok := strings.Cut(m.Value, "://")
	if !ok {
		return false
	}
	rest = strings.ToLower(rest)
	for _, p := range identifierPrefixes {
		if strings.HasPrefix(rest, p) {
			return true
		}
	}
	return false
}

func evidence(e *entry) string {
	m := e.m
	var desc string
	switch m.Kind {
	case KindURL:
		desc = fmt.Sprintf("URL, host %s, %s", m.Host, m.Class)
		if schemes[m.Scheme] {
			desc += ", encrypted " + m.Scheme
		} else {
			desc += ", cleartext " + m.Scheme
		}
		if m.Credentials {
			desc += ", carries credentials (redacted)"
		}
	default:
		desc = fmt.Sprintf("%s, %s", m.Kind, m.Class)
	}
	occ := "occurrence"
	if e.count != 1 {
		occ = "occurrences"
	}
	return fmt.Sprintf("%s (%s); %d %s, first at offset %#x", m.Value, desc, e.count, occ, m.Offset)
}
