package detect

import (
	"bytes"
	"fmt"
	"path"
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

// IsOpkgDB reports whether fspath is an opkg database file: a status
// database or a package's control file, under /usr/lib/opkg or
// /var/lib/opkg (the places opkg and syft look).
func IsOpkgDB(fspath string) bool {
	dir, file := path.Split(fspath)
	switch {
	case file == "status" && strings.HasSuffix(dir, "/lib/opkg/"):
		return true
	case strings.HasSuffix(file, ".control") && strings.HasSuffix(dir, "/lib/opkg/info/"):
		return true
	}
	return false
}

// Stanza is one paragraph of an opkg status database or control file: a
// package's fields, with where the paragraph starts.
type Stanza struct {
	Offset int64 // byte offset of the first line
	Line   int   // 1-based line of the first line
	// fields by lower-case name; continuation lines are joined with "\n".
	Fields map[string]string
}

func (s Stanza) Get(k string) string { return s.Fields[k] }

// ParseControl splits an opkg (or dpkg) control-format file into stanzas:
// "Name: value" lines, continuation lines starting with a space or tab,
// and blank lines between paragraphs. Lines that are neither are skipped
// and counted in bad. It stops with an error after maxStanzas paragraphs,
// returning those read.
func ParseControl(data []byte) (out []Stanza, bad int, err error) {
	var cur *Stanza
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
			v := cur.Fields[last]
			if len(v) < maxFieldValue {
				v += "\n" + string(bytes.TrimSpace(l))
				if len(v) > maxFieldValue {
					v = v[:maxFieldValue]
				}
				cur.Fields[last] = v
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
			cur = &Stanza{Offset: int64(start), Line: line, Fields: map[string]string{}}
		}
		if _, dup := cur.Fields[name]; dup || len(cur.Fields) >= maxStanzaFields {
			last = ""
			continue
		}
		v := string(bytes.TrimSpace(l[colon+1:]))
		if len(v) > maxFieldValue {
			v = v[:maxFieldValue]
		}
		cur.Fields[name] = v
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
func (s Stanza) Installed() bool {
	st, ok := s.Fields["status"]
	if !ok {
		return true
	}
	f := strings.Fields(st)
	return len(f) == 3 && f[2] == "installed"
}
