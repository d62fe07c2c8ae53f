package secrets

import (
	"errors"
	"fmt"
	"strings"
)

// OpenWrt's Unified Configuration Interface stores settings as
//
//	config <type> ['<name>']
//		option <name> '<value>'
//		list <name> '<value>'
//
// with shell-like quoting: single quotes, double quotes with backslash
// escapes, and bare words; adjacent pieces join ('a'"b"c is abc). '#'
// starts a comment where a word could start.

// uciOption is one option or list value.
type uciOption struct {
	Name  string
	Value string
	List  bool
	Line  int   // 1-based
	Off   int64 // byte offset of the line's first non-blank byte
	// ValOff and ValEnd delimit the value as written, quotes included.
	ValOff, ValEnd int64
	Text           string // the line without surrounding blanks
}

// uciSection is a config block with its options in file order.
type uciSection struct {
	Type, Name string
	Line       int
	Options    []uciOption
}

// Get returns the first value of an option, "" if unset.
func (s *uciSection) Get(name string) string {
	for _, o := range s.Options {
		if o.Name == name {
			return o.Value
		}
	}
	return ""
}

// uciToken is a word with its place in the line.
type uciToken struct {
	Text       string
	Start, End int
}

var errUCIQuote = errors.New("unterminated quote")

// uciTokens splits a line into words.
func uciTokens(line string) ([]uciToken, error) {
	var out []uciToken
	i := 0
	for i < len(line) {
		for i < len(line) && (line[i] == ' ' || line[i] == '\t') {
			i++
		}
		if i >= len(line) || line[i] == '#' {
			break
		}
		start := i
		var b strings.Builder
	word:
		for i < len(line) {
			switch c := line[i]; c {
			case ' ', '\t':
				break word
			case '\'':
				j := strings.IndexByte(line[i+1:], '\'')
				if j < 0 {
					return nil, errUCIQuote
				}
				b.WriteString(line[i+1 : i+1+j])
				i += j + 2
			case '"':
				i++
				closed := false
				for i < len(line) {
					if line[i] == '\\' && i+1 < len(line) {
						b.WriteByte(line[i+1])
						i += 2
						continue
					}
					if line[i] == '"' {
						closed = true
						i++
						break
					}
					b.WriteByte(line[i])
					i++
				}
				if !closed {
					return nil, errUCIQuote
				}
			case '\\':
				if i+1 < len(line) {
					b.WriteByte(line[i+1])
					i += 2
				} else {
					i++
				}
			default:
				b.WriteByte(c)
				i++
			}
		}
		out = append(out, uciToken{Text: b.String(), Start: start, End: i})
	}
	return out, nil
}

// maxUCILine bounds a UCI line.
const maxUCILine = 16 << 10

// parseUCI reads a UCI file. It returns the sections and the number of
// lines that are not UCI; a file with no section, or with more bad lines
// than good ones, is not UCI.
func parseUCI(data []byte) ([]*uciSection, int, error) {
	var (
		sections []*uciSection
		cur      *uciSection
		good     int
		bad      int
	)
	for _, l := range splitLines(data) {
		trimmed := strings.TrimLeft(l.Text, " \t")
		if trimmed == "" || trimmed[0] == '#' {
			continue
		}
		if len(l.Text) > maxUCILine {
			bad++
			continue
		}
		toks, err := uciTokens(l.Text)
		if err != nil || len(toks) == 0 {
			bad++
			continue
		}
		switch toks[0].Text {
		case "package":
			good++
		case "config":
			if len(toks) < 2 || len(toks) > 3 {
				bad++
				continue
			}
			cur = &uciSection{Type: toks[1].Text, Line: l.No}
			if len(toks) == 3 {
				cur.Name = toks[2].Text
			}
			sections = append(sections, cur)
			good++
		case "option", "list":
			if cur == nil || len(toks) != 3 {
				bad++
				continue
			}
			lead := len(l.Text) - len(trimmed)
			cur.Options = append(cur.Options, uciOption{
				Name: toks[1].Text, Value: toks[2].Text, List: toks[0].Text == "list", Line: l.No,
				Off: l.Offset + int64(lead), ValOff: l.Offset + int64(toks[2].Start), ValEnd: l.Offset + int64(toks[2].End),
				Text: strings.TrimSpace(l.Text),
			})
			good++
		default:
			bad++
		}
	}
	if len(sections) == 0 {
		return nil, bad, errors.New("no config section")
	}
	if bad > good {
		return nil, bad, fmt.Errorf("%d of %d lines are not UCI", bad, bad+good)
	}
	return sections, bad, nil
}

// line is one line of a text file with its place in the file.
type line struct {
	Text   string // without the line ending
	No     int    // 1-based
	Offset int64  // byte offset of the line's first byte
}

// splitLines cuts data into lines, dropping a trailing "\r".
func splitLines(data []byte) []line {
	var out []line
	no := 0
	for off := 0; off < len(data); {
		no++
		end := off
		for end < len(data) && data[end] != '\n' {
			end++
		}
		out = append(out, line{Text: strings.TrimSuffix(string(data[off:end]), "\r"), No: no, Offset: int64(off)})
		off = end + 1
	}
	return out
}
