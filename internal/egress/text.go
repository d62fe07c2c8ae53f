package egress

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Text renders an alert as one line: time, rule, score, element,
// destination, counts, then the evidence (exporter, sampling,
// self-reporting) and the reason. Fields supplied by the network (names,
// organisations) are quoted so a line cannot be split or forged.
func (a *Alert) Text() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s score=%d (%s) element=%s", a.Raised.UTC().Format(time.RFC3339), a.Rule, a.Score, a.Band, quote(a.Element.ID))
	el := a.Element
	var attrs []string
	for _, kv := range [][2]string{{"vendor", el.Vendor}, {"function", el.Function}, {"site", el.Site}} {
		if kv[1] != "" {
			attrs = append(attrs, kv[0]+"="+quote(kv[1]))
		}
	}
	if len(attrs) > 0 {
		fmt.Fprintf(&b, " [%s]", strings.Join(attrs, " "))
	}
	if d := a.Destination; d != nil {
		fmt.Fprintf(&b, " dst=%s class=%s", d.Address, d.Class)
		if d.ASN != 0 {
			fmt.Fprintf(&b, " AS%d", d.ASN)
		}
		if d.Org != "" {
			fmt.Fprintf(&b, " org=%s", quote(d.Org))
		}
		if d.Country != "" {
			fmt.Fprintf(&b, " country=%s", quote(d.Country))
		}
		if d.Name != "" {
			fmt.Fprintf(&b, " name=%s", quote(d.Name))
		}
	}
	if len(a.Ports) > 0 {
		fmt.Fprintf(&b, " ports=%s", strings.Join(a.Ports, ","))
	}
	fmt.Fprintf(&b, " bytes=%d packets=%d flows=%d first=%s last=%s", a.Bytes, a.Packets, a.Flows,
		a.FirstSeen.UTC().Format(time.RFC3339), a.LastSeen.UTC().Format(time.RFC3339))
	if !a.KnownSince.IsZero() {
		fmt.Fprintf(&b, " known_since=%s", a.KnownSince.UTC().Format(time.RFC3339))
	}
	if a.Repeat > 0 {
		fmt.Fprintf(&b, " repeat=%d", a.Repeat)
	}
	b.WriteString(" evidence=")
	b.WriteString(a.EvidenceText())
	if a.SelfReported {
		b.WriteString(" SELF-REPORTED")
	}
	fmt.Fprintf(&b, " reason=%s", quote(a.Reason))
	return b.String()
}

// EvidenceText says in a few words where the flows came from and whether
// they were sampled, e.g. "10.0.0.1/netflow-v9/unsampled,capture:x.pcap/pcap/unsampled".
func (a *Alert) EvidenceText() string {
	if len(a.Evidence) == 0 {
		return "none"
	}
	parts := make([]string, 0, len(a.Evidence)+1)
	for _, e := range a.Evidence {
		src := e.Exporter
		if src == "" {
			src = "capture:" + quote(e.Capture)
		}
		s := src + "/" + string(e.Protocol) + "/"
		if e.Sampled {
			s += "sampled-1:" + strconv.FormatUint(uint64(e.SamplingRate), 10)
		} else {
			s += "unsampled"
		}
		if e.SelfReported {
			s += "/self"
		}
		parts = append(parts, s)
	}
	if a.MoreExporters > 0 {
		parts = append(parts, fmt.Sprintf("+%d-more", a.MoreExporters))
	}
	return strings.Join(parts, ",")
}

// quote returns s bare when it is a plain token, else Go-quoted.
func quote(s string) string {
	if s == "" {
		return `""`
	}
	for _, r := range s {
		if r <= ' ' || r == '"' || r == '=' || r == '\\' || r > '~' {
			return strconv.Quote(s)
		}
	}
	return s
}
