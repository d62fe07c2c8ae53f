package inventory

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
)

// lineTracker records where the newlines are in what a json.Decoder has
// read, so that a decoder offset can be turned into a line and column.
// Queries must not go backwards; offsets before the last query are
// dropped, so memory is bounded by the decoder's buffer.
type lineTracker struct {
	r       io.Reader
	n       int64   // bytes read
	nls     []int64 // offsets of newlines not yet passed by a query
	line    int     // line of the last query (1-based)
	lineOff int64   // offset where that line starts
}

func (t *lineTracker) Read(p []byte) (int, error) {
	n, err := t.r.Read(p)
	for i, c := range p[:n] {
		if c == '\n' {
			t.nls = append(t.nls, t.n+int64(i))
		}
	}
	t.n += int64(n)
	return n, err
}

// pos returns the 1-based line and byte column of offset off.
func (t *lineTracker) pos(off int64) (int, int) {
	i := 0
	for i < len(t.nls) && t.nls[i] < off {
		t.line++
		t.lineOff = t.nls[i] + 1
		i++
	}
	if i > 0 {
		t.nls = append(t.nls[:0], t.nls[i:]...)
	}
	return t.line, int(off-t.lineOff) + 1
}

// jsonMember is one top-level member of a JSON object with where its
// value starts, relative to the object.
type jsonMember struct {
	key string
	val json.RawMessage
	off int
}

// objectMembers splits a JSON object into its top-level members.
func objectMembers(raw json.RawMessage) ([]jsonMember, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, fmt.Errorf("want an object, got %s", describeToken(tok))
	}
	var out []jsonMember
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		k, _ := tok.(string)
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, err
		}
		out = append(out, jsonMember{key: k, val: v, off: int(dec.InputOffset()) - len(v)})
	}
	return out, nil
}

func describeToken(tok any) string {
	switch v := tok.(type) {
	case json.Delim:
		if v == '[' {
			return "an array"
		}
		return "an object"
	case string:
		return "a string"
	case nil:
		return "null"
	case bool:
		return "a boolean"
	default:
		return "a number"
	}
}

// posIn returns the line and column of offset off inside raw, given that
// raw starts at line, col.
func posIn(raw []byte, off, line, col int) (int, int) {
	if off > len(raw) {
		off = len(raw)
	}
	if off < 0 {
		off = 0
	}
	pre := raw[:off]
	if n := bytes.Count(pre, []byte{'\n'}); n > 0 {
		return line + n, off - bytes.LastIndexByte(pre, '\n')
	}
	return line, col + off
}

// jsonItem is one element of the stream with where it starts.
type jsonItem struct {
	raw       json.RawMessage
	line, col int
}

// streamJSON walks a JSON document that is an array of objects, or an
// object whose member named one of keys is such an array (or a single
// object), calling fn for each object. With single set, a top-level
// object without any of keys is itself the one item. It returns a
// *LoadError for a document it cannot walk.
func streamJSON(ctx context.Context, r io.Reader, name string, keys []string, single bool, fn func(jsonItem) error) error {
	lt := &lineTracker{r: r, line: 1}
	var dec *json.Decoder
	br := &boundedReader{r: lt, start: func() int64 { return dec.InputOffset() }, max: MaxLineBytes + 64<<10, what: "JSON value"}
	dec = json.NewDecoder(br)
	dec.UseNumber()
	fail := func(err error) error {
		p := Problem{Input: name, Reason: jsonReason(err)}
		var se *json.SyntaxError
		off := dec.InputOffset()
		if errors.As(err, &se) {
			off = se.Offset
		}
		if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
			p.Reason = "unexpected end of input"
			off = lt.n
		}
		p.Line, p.Column = lt.pos(off)
		return &LoadError{Problem: p}
	}
	count := 0
	each := func() error { // inside an array: decode items until ']'
		for dec.More() {
			if count&1023 == 0 {
				if err := ctx.Err(); err != nil {
					return err
				}
			}
			count++
			var raw json.RawMessage
			if err := dec.Decode(&raw); err != nil {
				return fail(err)
			}
			start := dec.InputOffset() - int64(len(raw))
			line, col := lt.pos(start)
			if err := fn(jsonItem{raw: raw, line: line, col: col}); err != nil {
				return err
			}
		}
		if _, err := dec.Token(); err != nil { // ']'
			return fail(err)
		}
		return nil
	}
	tok, err := dec.Token()
	if err != nil {
		if errors.Is(err, io.EOF) {
			return &LoadError{Problem: Problem{Input: name, Reason: "empty input: want a JSON array or object"}}
		}
		return fail(err)
	}
	d, ok := tok.(json.Delim)
	if !ok {
		return fail(fmt.Errorf("want an array or an object, got %s", describeToken(tok)))
	}
	if d == '[' {
		if err := each(); err != nil {
			return err
		}
		return trailing(dec, fail)
	}
	// An object: look for the member that holds the items.
	startLine, startCol := lt.pos(dec.InputOffset() - 1)
	var rest []jsonMember // for single: the other members, to rebuild the object
	var restBytes int
	found := false
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return fail(err)
		}
		k, _ := tok.(string)
		if contains(keys, k) && !found {
			found = true
			tok, err := dec.Token()
			if err != nil {
				return fail(err)
			}
			switch tok {
			case json.Delim('['):
				if err := each(); err != nil {
					return err
				}
			case json.Delim('{'):
				line, col := lt.pos(dec.InputOffset() - 1)
				raw, err := rebuildObject(dec)
				if err != nil {
					return fail(err)
				}
				if err := fn(jsonItem{raw: raw, line: line, col: col}); err != nil {
					return err
				}
			default:
				return fail(fmt.Errorf("member %q: want an array of objects, got %s", k, describeToken(tok)))
			}
			continue
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return fail(err)
		}
		if single && !found {
			restBytes += len(v) + len(k)
			if restBytes > MaxLineBytes {
				return fail(fmt.Errorf("%w: JSON object longer than %d bytes", ErrTooLarge, MaxLineBytes))
			}
			rest = append(rest, jsonMember{key: k, val: v})
		}
	}
	if _, err := dec.Token(); err != nil { // '}'
		return fail(err)
	}
	if !found {
		if !single {
			return &LoadError{Problem: Problem{Input: name, Line: startLine, Column: startCol,
				Reason: fmt.Sprintf("object has no %q member: want {%q: [...]} or an array", keys[0], keys[0])}}
		}
		raw, err := joinMembers(rest)
		if err != nil {
			return fail(err)
		}
		if err := fn(jsonItem{raw: raw, line: startLine, col: startCol}); err != nil {
			return err
		}
	}
	return trailing(dec, fail)
}

func trailing(dec *json.Decoder, fail func(error) error) error {
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		if err == nil {
			err = &json.SyntaxError{Offset: dec.InputOffset() - 1}
			return fail(errTrailing{err})
		}
		return fail(err)
	}
	return nil
}

// errTrailing is data after the document; it carries the offset.
type errTrailing struct{ error }

func (errTrailing) Error() string   { return "data after the end of the document" }
func (e errTrailing) Unwrap() error { return e.error }

// rebuildObject reads the members of an object whose '{' the decoder has
// just returned, through its '}', and returns the object's JSON.
func rebuildObject(dec *json.Decoder) (json.RawMessage, error) {
	var ms []jsonMember
	n := 0
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		k, _ := tok.(string)
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, err
		}
		n += len(k) + len(v)
		if n > MaxLineBytes {
			return nil, fmt.Errorf("%w: JSON object longer than %d bytes", ErrTooLarge, MaxLineBytes)
		}
		ms = append(ms, jsonMember{key: k, val: v})
	}
	if _, err := dec.Token(); err != nil {
		return nil, err
	}
	return joinMembers(ms)
}

func joinMembers(ms []jsonMember) (json.RawMessage, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, m := range ms {
		if i > 0 {
			b.WriteByte(',')
		}
		k, err := json.Marshal(m.key)
		if err != nil {
			return nil, err
		}
		b.Write(k)
		b.WriteByte(':')
		b.Write(m.val)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// jsonReason words a decoding error for a user.
func jsonReason(err error) string {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	var tr errTrailing
	switch {
	case errors.As(err, &tr):
		return tr.Error()
	case errors.As(err, &se):
		return "invalid JSON: " + se.Error()
	case errors.As(err, &te):
		where := te.Field
		if where == "" {
			where = "value"
		}
		return fmt.Sprintf("%s: want %s, got %s", where, kindName(te.Type), te.Value)
	}
	return err.Error()
}

// scalarText turns a JSON scalar (string, number, bool, null) into text;
// ok is false for arrays and objects.
func scalarText(raw json.RawMessage) (string, bool, error) {
	t := bytes.TrimSpace(raw)
	if len(t) == 0 {
		return "", true, nil
	}
	switch t[0] {
	case '"':
		var s string
		if err := json.Unmarshal(t, &s); err != nil {
			return "", false, err
		}
		return s, true, nil
	case '[', '{':
		return "", false, nil
	case 'n':
		return "", true, nil
	default: // number, true, false
		return string(t), true, nil
	}
}

// listText turns a JSON array of scalars into strings.
func listText(raw json.RawMessage) ([]string, error) {
	var items []json.RawMessage
	if err := json.Unmarshal(raw, &items); err != nil {
		return nil, err
	}
	out := make([]string, 0, len(items))
	for _, it := range items {
		s, ok, err := scalarText(it)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, errors.New("want a list of strings")
		}
		out = append(out, s)
	}
	return out, nil
}

func kindName(t reflect.Type) string {
	if t == nil {
		return "another type"
	}
	switch t.Kind() {
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.Struct, reflect.Map:
		return "an object"
	case reflect.Pointer:
		return kindName(t.Elem())
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "a boolean"
	default:
		return "a number"
	}
}
