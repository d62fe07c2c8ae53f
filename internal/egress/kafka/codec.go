package kafka

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"net/netip"
	"strconv"
	"time"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/netvet/netvet/internal/egress/flow"
)

// Flows record format.
const (
	// FlowVersion is the version of FlowMessage this netvet writes and reads.
	FlowVersion = 1
	// MaxFlowMessage is the largest flows record value accepted.
	MaxFlowMessage = 2048
	// MaxElementID is the longest element ID a flows record may carry.
	MaxElementID = 256
)

// FlowMessage is the value of a flows record: one normalised flow record
// as a JSON object, with fields in this order. Times are Unix nanoseconds
// (UTC) so that ClickHouse's JSONEachRow reads them without date parsing.
// Direction is 0 unknown, 1 ingress, 2 egress.
type FlowMessage struct {
	V            int    `json:"v"`
	Element      string `json:"element"`
	Exporter     string `json:"exporter"`
	Protocol     string `json:"protocol"`
	ObsDomain    uint32 `json:"obs_domain"`
	Src          string `json:"src"`
	Dst          string `json:"dst"`
	SrcPort      uint16 `json:"src_port"`
	DstPort      uint16 `json:"dst_port"`
	Proto        uint8  `json:"proto"`
	TCPFlags     uint8  `json:"tcp_flags"`
	Direction    uint8  `json:"direction"`
	InIf         uint32 `json:"in_if"`
	OutIf        uint32 `json:"out_if"`
	Bytes        uint64 `json:"bytes"`
	Packets      uint64 `json:"packets"`
	Sampled      bool   `json:"sampled"`
	SamplingRate uint32 `json:"sampling_rate"`
	StartNs      int64  `json:"start_ns"`
	EndNs        int64  `json:"end_ns"`
	TimeSource   string `json:"time_source"`
}

var protocols = map[string]flow.Protocol{}

var timeSources = map[string]flow.TimeSource{}

func init() {
	for _, p := range []flow.Protocol{flow.ProtoNetFlowV5, flow.ProtoNetFlowV9, flow.ProtoIPFIX, flow.ProtoSFlowV5} {
		protocols[string(p)] = p
	}
	for _, t := range []flow.TimeSource{flow.TimeAbsoluteNs, flow.TimeAbsoluteUs, flow.TimeAbsoluteMs, flow.TimeAbsoluteSeconds,
		flow.TimeStartDuration, flow.TimeUptimeRelative, flow.TimeExportFallback, flow.TimeSFlowReceive} {
		timeSources[string(t)] = t
	}
}

// ErrFlowEncode is returned by AppendFlow for records it cannot carry.
var ErrFlowEncode = errors.New("flows record")

// AppendFlow appends the FlowMessage of r, reported for element, to dst.
// The output is the same for the same input (fixed field order).
func AppendFlow(dst []byte, element string, r *flow.Record) ([]byte, error) {
	switch {
	case element == "" || len(element) > MaxElementID || !utf8.ValidString(element):
		return dst, fmt.Errorf("%w: element ID %.40q: empty, longer than %d bytes or not UTF-8", ErrFlowEncode, element, MaxElementID)
	case !r.Exporter.IsValid() || !r.Src.IsValid() || !r.Dst.IsValid():
		return dst, fmt.Errorf("%w: exporter, source or destination missing", ErrFlowEncode)
	case r.Start.IsZero() || r.Start.Before(minRecv) || !r.Start.Before(maxRecv):
		return dst, fmt.Errorf("%w: start time %s outside 2000..2200", ErrFlowEncode, r.Start.Format(time.RFC3339))
	}
	if _, ok := protocols[string(r.Protocol)]; !ok {
		return dst, fmt.Errorf("%w: protocol %.40q", ErrFlowEncode, r.Protocol)
	}
	if _, ok := timeSources[string(r.TimeSource)]; !ok {
		return dst, fmt.Errorf("%w: time source %.40q", ErrFlowEncode, r.TimeSource)
	}
	end := r.End
	if end.Before(r.Start) {
		end = r.Start
	}
	b := append(dst, `{"v":`...)
	b = strconv.AppendInt(b, FlowVersion, 10)
	b = append(b, `,"element":`...)
	b = appendString(b, element)
	b = append(b, `,"exporter":"`...)
	b = r.Exporter.Unmap().AppendTo(b)
	b = append(b, `","protocol":"`...)
	b = append(b, r.Protocol...)
	b = append(b, `","obs_domain":`...)
	b = strconv.AppendUint(b, uint64(r.ObservationDomain), 10)
	b = append(b, `,"src":"`...)
	b = r.Src.Unmap().AppendTo(b)
	b = append(b, `","dst":"`...)
	b = r.Dst.Unmap().AppendTo(b)
	b = append(b, `","src_port":`...)
	b = strconv.AppendUint(b, uint64(r.SrcPort), 10)
	b = append(b, `,"dst_port":`...)
	b = strconv.AppendUint(b, uint64(r.DstPort), 10)
	b = append(b, `,"proto":`...)
	b = strconv.AppendUint(b, uint64(r.Proto), 10)
	b = append(b, `,"tcp_flags":`...)
	b = strconv.AppendUint(b, uint64(r.TCPFlags), 10)
	b = append(b, `,"direction":`...)
	b = strconv.AppendUint(b, uint64(min(r.Direction, flow.DirectionEgress)), 10)
	b = append(b, `,"in_if":`...)
	b = strconv.AppendUint(b, uint64(r.InIf), 10)
	b = append(b, `,"out_if":`...)
	b = strconv.AppendUint(b, uint64(r.OutIf), 10)
	b = append(b, `,"bytes":`...)
	b = strconv.AppendUint(b, r.Bytes, 10)
	b = append(b, `,"packets":`...)
	b = strconv.AppendUint(b, r.Packets, 10)
	b = append(b, `,"sampled":`...)
	b = strconv.AppendBool(b, r.Sampled)
	b = append(b, `,"sampling_rate":`...)
	b = strconv.AppendUint(b, uint64(max(r.SamplingRate, 1)), 10)
	b = append(b, `,"start_ns":`...)
	b = strconv.AppendInt(b, r.Start.UnixNano(), 10)
	b = append(b, `,"end_ns":`...)
	b = strconv.AppendInt(b, end.UnixNano(), 10)
	b = append(b, `,"time_source":"`...)
	b = append(b, r.TimeSource...)
	b = append(b, `"}`...)
	return b, nil
}

// appendString writes s as a JSON string; s is valid UTF-8.
func appendString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c < 0x20 || c == '<' || c == '>' || c == '&':
			b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&15])
		default:
			b = append(b, c)
		}
	}
	return append(b, '"')
}

// FlowError says why a flows record was refused.
type FlowError struct {
	Reason Reason
	Msg    string
}

func (e *FlowError) Error() string { return "flows record: " + e.Msg }

func flowErr(r Reason, format string, args ...any) *FlowError {
	return &FlowError{Reason: r, Msg: fmt.Sprintf(format, args...)}
}

// DecodeFlow parses and checks a flows record value: one flat JSON object
// with the FlowMessage fields, in any order, each at most once. Unknown or
// missing fields, null, nested values, trailing data, out-of-range numbers
// and values longer than MaxFlowMessage are refused. It reads the input
// once, without recursion, and allocates only the element ID.
func DecodeFlow(b []byte) (element string, r flow.Record, err error) {
	if len(b) == 0 || len(b) > MaxFlowMessage {
		return "", r, flowErr(ReasonSize, "%d bytes (want 1..%d)", len(b), MaxFlowMessage)
	}
	var m FlowMessage
	if err := parseFlowJSON(b, &m); err != nil {
		return "", r, err
	}
	if m.V != FlowVersion {
		return "", r, flowErr(ReasonVersion, "format version %d (this netvet reads %d)", m.V, FlowVersion)
	}
	if m.Element == "" || len(m.Element) > MaxElementID {
		return "", r, flowErr(ReasonMalformed, "element ID of %d bytes (want 1..%d)", len(m.Element), MaxElementID)
	}
	proto, ok := protocols[m.Protocol]
	if !ok {
		return "", r, flowErr(ReasonMalformed, "protocol %.40q", m.Protocol)
	}
	ts, ok := timeSources[m.TimeSource]
	if !ok {
		return "", r, flowErr(ReasonMalformed, "time source %.40q", m.TimeSource)
	}
	addr := func(name, s string) (netip.Addr, error) {
		a, err := netip.ParseAddr(s)
		if err != nil || a.Zone() != "" || a.Is4In6() {
			return a, flowErr(ReasonMalformed, "%s %.60q is not a plain IP address", name, s)
		}
		return a, nil
	}
	if r.Exporter, err = addr("exporter", m.Exporter); err != nil {
		return "", r, err
	}
	if r.Src, err = addr("src", m.Src); err != nil {
		return "", r, err
	}
	if r.Dst, err = addr("dst", m.Dst); err != nil {
		return "", r, err
	}
	if m.Direction > uint8(flow.DirectionEgress) {
		return "", r, flowErr(ReasonMalformed, "direction %d (want 0..2)", m.Direction)
	}
	if m.SamplingRate == 0 {
		return "", r, flowErr(ReasonMalformed, "sampling rate 0")
	}
	start, end := time.Unix(0, m.StartNs).UTC(), time.Unix(0, m.EndNs).UTC()
	if start.Before(minRecv) || !start.Before(maxRecv) {
		return "", r, flowErr(ReasonMalformed, "start_ns %d outside 2000..2200", m.StartNs)
	}
	if m.EndNs < m.StartNs || !end.Before(maxRecv) {
		return "", r, flowErr(ReasonMalformed, "end_ns %d before start or after 2200", m.EndNs)
	}
	r.Protocol, r.TimeSource = proto, ts
	r.ObservationDomain = m.ObsDomain
	r.SrcPort, r.DstPort, r.Proto, r.TCPFlags = m.SrcPort, m.DstPort, m.Proto, m.TCPFlags
	r.Direction = flow.Direction(m.Direction)
	r.InIf, r.OutIf = m.InIf, m.OutIf
	r.Bytes, r.Packets = m.Bytes, m.Packets
	r.Sampled, r.SamplingRate = m.Sampled, m.SamplingRate
	r.Start, r.End = start, end
	return m.Element, r, nil
}

// flowFields lists the FlowMessage keys; parseFlowJSON needs all of them.
var flowFields = [...]string{"v", "element", "exporter", "protocol", "obs_domain", "src", "dst", "src_port", "dst_port",
	"proto", "tcp_flags", "direction", "in_if", "out_if", "bytes", "packets", "sampled", "sampling_rate",
	"start_ns", "end_ns", "time_source"}

func flowFieldIndex(key []byte) (int, bool) {
	switch string(key) {
	case "v":
		return 0, true
	case "element":
		return 1, true
	case "exporter":
		return 2, true
	case "protocol":
		return 3, true
	case "obs_domain":
		return 4, true
	case "src":
		return 5, true
	case "dst":
		return 6, true
	case "src_port":
		return 7, true
	case "dst_port":
		return 8, true
	case "proto":
		return 9, true
	case "tcp_flags":
		return 10, true
	case "direction":
		return 11, true
	case "in_if":
		return 12, true
	case "out_if":
		return 13, true
	case "bytes":
		return 14, true
	case "packets":
		return 15, true
	case "sampled":
		return 16, true
	case "sampling_rate":
		return 17, true
	case "start_ns":
		return 18, true
	case "end_ns":
		return 19, true
	case "time_source":
		return 20, true
	}
	return 0, false
}

// jsonValue is one scalar read by the scanner.
type jsonValue struct {
	kind byte   // 's' string, 'n' number, 'b' bool
	str  []byte // string contents (unescaped) or number text
	b    bool
	// numbers: the magnitude when the text is a whole number that fits
	u     uint64
	neg   bool
	whole bool
}

// parseFlowJSON fills m from a flat JSON object.
func parseFlowJSON(b []byte, m *FlowMessage) error {
	sc := scanner{b: b}
	var seen [len(flowFields)]bool
	sc.ws()
	if !sc.eat('{') {
		return sc.fail("want an object")
	}
	sc.ws()
	if sc.eat('}') {
		return flowErr(ReasonVersion, "empty object: no format version")
	}
	for {
		sc.ws()
		key, err := sc.str()
		if err != nil {
			return err
		}
		i, ok := flowFieldIndex(key)
		if !ok {
			return sc.fail(fmt.Sprintf("unknown field %.40q", key))
		}
		if seen[i] {
			return sc.fail(fmt.Sprintf("field %q twice", flowFields[i]))
		}
		seen[i] = true
		sc.ws()
		if !sc.eat(':') {
			return sc.fail("want ':'")
		}
		sc.ws()
		v, err := sc.value()
		if err != nil {
			return err
		}
		if err := setFlowField(m, i, v); err != nil {
			return err
		}
		sc.ws()
		if sc.eat(',') {
			continue
		}
		if sc.eat('}') {
			break
		}
		return sc.fail("want ',' or '}'")
	}
	sc.ws()
	if sc.i != len(sc.b) {
		return flowErr(ReasonMalformed, "%d bytes after the object", len(sc.b)-sc.i)
	}
	if !seen[0] {
		return flowErr(ReasonVersion, "no format version")
	}
	for i, ok := range seen {
		if !ok {
			return flowErr(ReasonMalformed, "field %q missing", flowFields[i])
		}
	}
	return nil
}

func setFlowField(m *FlowMessage, i int, v jsonValue) error {
	name := flowFields[i]
	want := byte('n')
	switch name {
	case "element", "exporter", "protocol", "src", "dst", "time_source":
		want = 's'
	case "sampled":
		want = 'b'
	}
	if v.kind != want {
		return flowErr(ReasonMalformed, "field %q has the wrong type", name)
	}
	var u uint64
	var err error
	errRange := errors.New("range")
	num := func(bits int) {
		if !v.whole || v.neg || (bits < 64 && v.u >= 1<<bits) {
			err = errRange
		}
		u = v.u
	}
	signed := func(bits int) int64 {
		lim := uint64(1) << (bits - 1)
		switch {
		case !v.whole || (v.neg && v.u > lim) || (!v.neg && v.u >= lim):
			err = errRange
			return 0
		case v.neg:
			return -int64(v.u-1) - 1
		}
		return int64(v.u)
	}
	switch name {
	case "v":
		m.V = int(signed(32))
	case "element":
		m.Element = string(v.str)
	case "exporter":
		m.Exporter = string(v.str)
	case "protocol":
		m.Protocol = string(v.str)
	case "src":
		m.Src = string(v.str)
	case "dst":
		m.Dst = string(v.str)
	case "time_source":
		m.TimeSource = string(v.str)
	case "sampled":
		m.Sampled = v.b
	case "obs_domain":
		num(32)
		m.ObsDomain = uint32(u)
	case "src_port":
		num(16)
		m.SrcPort = uint16(u)
	case "dst_port":
		num(16)
		m.DstPort = uint16(u)
	case "proto":
		num(8)
		m.Proto = uint8(u)
	case "tcp_flags":
		num(8)
		m.TCPFlags = uint8(u)
	case "direction":
		num(8)
		m.Direction = uint8(u)
	case "in_if":
		num(32)
		m.InIf = uint32(u)
	case "out_if":
		num(32)
		m.OutIf = uint32(u)
	case "bytes":
		num(64)
		m.Bytes = u
	case "packets":
		num(64)
		m.Packets = u
	case "sampling_rate":
		num(32)
		m.SamplingRate = uint32(u)
	case "start_ns":
		m.StartNs = signed(64)
	case "end_ns":
		m.EndNs = signed(64)
	}
	if err != nil {
		return flowErr(ReasonMalformed, "field %q: %.40s is not a whole number in range", name, v.str)
	}
	return nil
}

// scanner reads JSON scalars from b; every step advances or fails.
type scanner struct {
	b []byte
	i int
}

func (s *scanner) fail(what string) error {
	return flowErr(ReasonMalformed, "offset %d: %s", s.i, what)
}

func (s *scanner) ws() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

func (s *scanner) eat(c byte) bool {
	if s.i < len(s.b) && s.b[s.i] == c {
		s.i++
		return true
	}
	return false
}

func (s *scanner) lit(word string) bool {
	if len(s.b)-s.i >= len(word) && string(s.b[s.i:s.i+len(word)]) == word {
		s.i += len(word)
		return true
	}
	return false
}

// value reads a string, a number, true or false.
func (s *scanner) value() (jsonValue, error) {
	if s.i >= len(s.b) {
		return jsonValue{}, s.fail("value missing")
	}
	switch c := s.b[s.i]; {
	case c == '"':
		str, err := s.str()
		return jsonValue{kind: 's', str: str}, err
	case c == 't' && s.lit("true"):
		return jsonValue{kind: 'b', b: true}, nil
	case c == 'f' && s.lit("false"):
		return jsonValue{kind: 'b'}, nil
	case c == '-' || (c >= '0' && c <= '9'):
		return s.number()
	}
	return jsonValue{}, s.fail("want a string, a number, true or false")
}

// number reads a JSON number; only integers are useful, but fractions and
// exponents are read (and later refused) so that the error is clear.
func (s *scanner) number() (jsonValue, error) {
	start := s.i
	v := jsonValue{kind: 'n', whole: true}
	v.neg = s.eat('-')
	first := s.i
	for s.i < len(s.b) && s.b[s.i] >= '0' && s.b[s.i] <= '9' {
		d := uint64(s.b[s.i] - '0')
		if v.u > (math.MaxUint64-d)/10 {
			v.whole = false // too large for any field
		}
		v.u = v.u*10 + d
		s.i++
	}
	digits := func() int {
		n := 0
		for s.i < len(s.b) && s.b[s.i] >= '0' && s.b[s.i] <= '9' {
			s.i++
			n++
		}
		return n
	}
	switch {
	case s.i == first:
		return v, s.fail("bad number")
	case s.b[first] == '0' && s.i-first > 1:
		return v, s.fail("number with a leading zero")
	}
	if s.eat('.') {
		v.whole = false
		if digits() == 0 {
			return v, s.fail("bad fraction")
		}
	}
	if s.eat('e') || s.eat('E') {
		v.whole = false
		if !s.eat('+') {
			s.eat('-')
		}
		if digits() == 0 {
			return v, s.fail("bad exponent")
		}
	}
	v.str = s.b[start:s.i]
	return v, nil
}

// str reads a JSON string: a slice of the input when it has no escapes,
// else an unescaped copy. The result is valid UTF-8.
func (s *scanner) str() ([]byte, error) {
	if !s.eat('"') {
		return nil, s.fail("want a string")
	}
	start := s.i
	if j := bytes.IndexByte(s.b[start:], '"'); j >= 0 {
		seg := s.b[start : start+j]
		if bytes.IndexByte(seg, '\\') < 0 && !hasControl(seg) {
			s.i = start + j + 1
			if !utf8.Valid(seg) {
				return nil, s.fail("string is not UTF-8")
			}
			return seg, nil
		}
	}
	out := append(make([]byte, 0, s.i-start+16), s.b[start:s.i]...)
	for {
		if s.i >= len(s.b) {
			return nil, s.fail("unterminated string")
		}
		c := s.b[s.i]
		switch {
		case c == '"':
			s.i++
			if !utf8.Valid(out) {
				return nil, s.fail("string is not UTF-8")
			}
			return out, nil
		case c < 0x20:
			return nil, s.fail("control character in a string")
		case c != '\\':
			out = append(out, c)
			s.i++
			continue
		}
		s.i++
		if s.i >= len(s.b) {
			return nil, s.fail("unterminated escape")
		}
		e := s.b[s.i]
		s.i++
		switch e {
		case '"', '\\', '/':
			out = append(out, e)
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'u':
			r, ok := s.hex4()
			if !ok {
				return nil, s.fail("bad \\u escape")
			}
			if utf16.IsSurrogate(r) {
				r2 := rune(-1)
				if s.lit("\\u") {
					r2, _ = s.hex4()
				}
				if r = utf16.DecodeRune(r, r2); r == utf8.RuneError {
					return nil, s.fail("bad surrogate pair")
				}
			}
			out = utf8.AppendRune(out, r)
		default:
			return nil, s.fail("bad escape")
		}
	}
}

func hasControl(b []byte) bool {
	for _, c := range b {
		if c < 0x20 {
			return true
		}
	}
	return false
}

func (s *scanner) hex4() (rune, bool) {
	if len(s.b)-s.i < 4 {
		return 0, false
	}
	var r rune
	for _, c := range s.b[s.i : s.i+4] {
		r <<= 4
		switch {
		case c >= '0' && c <= '9':
			r |= rune(c - '0')
		case c >= 'a' && c <= 'f':
			r |= rune(c - 'a' + 10)
		case c >= 'A' && c <= 'F':
			r |= rune(c - 'A' + 10)
		default:
			return 0, false
		}
	}
	s.i += 4
	return r, true
}
