package sbom

import (
	"bytes"
	"fmt"
	"strings"
)

// Limits of the control-file parser. A status database of a large
// OpenWrt or Yocto image holds a few thousand packages of a few dozen
// fields each.
const (
	maxStanzas      = 100_000
	maxStanzaFields = 256
	maxFieldValue   = 4096
)

// stanza is one paragraph of an opkg status database or control file: a
// package's fields, with where the paragraph starts.
type stanza struct {
	offset int64 // byte offset of the first line
	line   int   // 1-based line of the first line
	// fields by lower-case name; continuation lines are joined with "\n".
	fields map[string]string
}

func (s stanza) get(k string) string { return s.fields[k] }

// parseControl splits an opkg (or dpkg) control-format file into stanzas:
// "Name: value" lines, continuation lines starting with a space or tab,
// and blank lines between paragraphs. Lines that are neither are skipped
// and counted in bad. It stops with an error after maxStanzas paragraphs,
// returning those read.
func parseControl(data []byte) (out []stanza, bad int, err error) {
	var cur *stanza
	var last string // field the next continuation line belongs to
	line := 0
	for off := 0; off < len(data); {
		end := bytes.IndexByte(data[off:], '\n')
		next := len(data)
		if end >= 0 {
			next = off + end + 1
			end = off + end
		} else {
			end = len(data)
		}
		line++
		l := bytes.TrimRight(data[off:end], "\r")
		start := off
		off = next

		if len(bytes.TrimSpace(l)) == 0 {
			if cur != nil {
				out = append(out, *cur)
				cur, last = nil, ""
			}
			continue
		}
		if l[0] == ' ' || l[0] == '\t' {
			if cur == nil || last == "" {
				bad++
				continue
			}
			v := cur.fields[last]
			if len(v) < maxFieldValue {
				v += "\n" + string(bytes.TrimSpace(l))
				if len(v) > maxFieldValue {
					v = v[:maxFieldValue]
				}
				cur.fields[last] = v
			}
			continue
		}
		colon := bytes.IndexByte(l, ':')
		if colon <= 0 {
			bad++
			last = ""
			continue
		}
		name := strings.ToLower(string(bytes.TrimSpace(l[:colon])))
		if name == "" || strings.ContainsAny(name, " \t") {
			bad++
			last = ""
			continue
		}
		if cur == nil {
			if len(out) >= maxStanzas {
				return out, bad, fmt.Errorf("more than %d package entries", maxStanzas)
			}
			cur = &stanza{offset: int64(start), line: line, fields: map[string]string{}}
		}
		if _, dup := cur.fields[name]; dup || len(cur.fields) >= maxStanzaFields {
			last = ""
			continue
		}
		v := string(bytes.TrimSpace(l[colon+1:]))
		if len(v) > maxFieldValue {
			v = v[:maxFieldValue]
		}
		cur.fields[name] = v
		last = name
	}
	if cur != nil {
		out = append(out, *cur)
	}
	return out, bad, nil
}

// installed reports whether a status-database entry describes an
// installed package. Control files have no Status field: their package is
// installed by definition.
func (s stanza) installed() bool {
	st, ok := s.fields["status"]
	if !ok {
		return true
	}
	f := strings.Fields(st)
	return len(f) == 3 && f[2] == "installed"
}
