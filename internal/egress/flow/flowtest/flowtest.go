// Package flowtest builds byte-exact NetFlow v5 (Cisco format), NetFlow v9
// (RFC 3954), IPFIX (RFC 7011) and sFlow v5 datagrams, and pcap files that
// carry them or carry plain packets, for tests and benchmarks.
package flowtest

import (
	"encoding/binary"
	"net/netip"
	"time"
)

// Flow is one flow to encode.
type Flow struct {
	Src, Dst         netip.Addr
	SrcPort, DstPort uint16
	Proto, TCPFlags  uint8
	In, Out          uint32
	Bytes, Packets   uint64
	Start, End       time.Time
}

// V5 encodes a NetFlow v5 datagram exported at export by a device booted at
// boot (First/Last are milliseconds since boot). sampling is the raw header
// field (mode in the top 2 bits, interval in the low 14).
func V5(boot, export time.Time, sampling uint16, flows []Flow) []byte {
	b := make([]byte, 24, 24+48*len(flows))
	be := binary.BigEndian
	be.PutUint16(b[0:], 5)
	be.PutUint16(b[2:], uint16(len(flows)))
	be.PutUint32(b[4:], uint32(export.Sub(boot).Milliseconds()))
	be.PutUint32(b[8:], uint32(export.Unix()))
	be.PutUint32(b[12:], uint32(export.Nanosecond()))
	be.PutUint32(b[16:], 1)
	b[20], b[21] = 0, 7
	be.PutUint16(b[22:], sampling)
	for _, f := range flows {
		r := make([]byte, 48)
		copy(r[0:], f.Src.AsSlice())
		copy(r[4:], f.Dst.AsSlice())
		be.PutUint16(r[12:], uint16(f.In))
		be.PutUint16(r[14:], uint16(f.Out))
		be.PutUint32(r[16:], uint32(f.Packets))
		be.PutUint32(r[20:], uint32(f.Bytes))
		be.PutUint32(r[24:], uint32(f.Start.Sub(boot).Milliseconds()))
		be.PutUint32(r[28:], uint32(f.End.Sub(boot).Milliseconds()))
		be.PutUint16(r[32:], f.SrcPort)
		be.PutUint16(r[34:], f.DstPort)
		r[37], r[38] = f.TCPFlags, f.Proto
		b = append(b, r...)
	}
	return b
}

// Field is a template field specifier.
type Field struct{ Type, Length uint16 }

// TimeMode selects the time fields of a template.
type TimeMode int

// Time layouts exporters use.
const (
	TimeUptime     TimeMode = iota // IEs 22/21
	TimeSeconds                    // IEs 150/151
	TimeMillis                     // IEs 152/153
	TimeMicros                     // IEs 154/155 (NTP format)
	TimeNanos                      // IEs 156/157 (NTP format)
	TimeStartDurMs                 // IEs 152 + 161
	TimeNone                       // no time fields
)

// Fields returns the template of a flow record with the given time layout.
func Fields(mode TimeMode, v6 bool) []Field {
	var fs []Field
	if v6 {
		fs = append(fs, Field{27, 16}, Field{28, 16})
	} else {
		fs = append(fs, Field{8, 4}, Field{12, 4})
	}
	fs = append(fs, Field{7, 2}, Field{11, 2}, Field{4, 1}, Field{6, 1}, Field{10, 4}, Field{14, 4}, Field{1, 8}, Field{2, 8})
	switch mode {
	case TimeUptime:
		fs = append(fs, Field{22, 4}, Field{21, 4})
	case TimeSeconds:
		fs = append(fs, Field{150, 4}, Field{151, 4})
	case TimeMillis:
		fs = append(fs, Field{152, 8}, Field{153, 8})
	case TimeMicros:
		fs = append(fs, Field{154, 8}, Field{155, 8})
	case TimeNanos:
		fs = append(fs, Field{156, 8}, Field{157, 8})
	case TimeStartDurMs:
		fs = append(fs, Field{152, 8}, Field{161, 4})
	}
	return fs
}

// NTP encodes t as an RFC 7011 dateTimeNanoseconds value.
func NTP(t time.Time) uint64 {
	sec := uint64(t.Unix() + 2208988800)
	frac := (uint64(t.Nanosecond())<<32 + 999_999_999) / 1e9
	return sec<<32 | frac
}

// Record encodes f for Fields(mode, v6); boot is the device's uptime origin.
func Record(mode TimeMode, v6 bool, f Flow, boot time.Time) []byte {
	be := binary.BigEndian
	var b []byte
	if v6 {
		s, d := f.Src.As16(), f.Dst.As16()
		b = append(b, s[:]...)
		b = append(b, d[:]...)
	} else {
		s, d := f.Src.As4(), f.Dst.As4()
		b = append(b, s[:]...)
		b = append(b, d[:]...)
	}
	b = be.AppendUint16(b, f.SrcPort)
	b = be.AppendUint16(b, f.DstPort)
	b = append(b, f.Proto, f.TCPFlags)
	b = be.AppendUint32(b, f.In)
	b = be.AppendUint32(b, f.Out)
	b = be.AppendUint64(b, f.Bytes)
	b = be.AppendUint64(b, f.Packets)
	switch mode {
	case TimeUptime:
		b = be.AppendUint32(b, uint32(f.Start.Sub(boot).Milliseconds()))
		b = be.AppendUint32(b, uint32(f.End.Sub(boot).Milliseconds()))
	case TimeSeconds:
		b = be.AppendUint32(b, uint32(f.Start.Unix()))
		b = be.AppendUint32(b, uint32(f.End.Unix()))
	case TimeMillis:
		b = be.AppendUint64(b, uint64(f.Start.UnixMilli()))
		b = be.AppendUint64(b, uint64(f.End.UnixMilli()))
	case TimeMicros, TimeNanos:
		b = be.AppendUint64(b, NTP(f.Start))
		b = be.AppendUint64(b, NTP(f.End))
	case TimeStartDurMs:
		b = be.AppendUint64(b, uint64(f.Start.UnixMilli()))
		b = be.AppendUint32(b, uint32(f.End.Sub(f.Start).Milliseconds()))
	}
	return b
}

// Msg builds a NetFlow v9 or IPFIX message set by set.
type Msg struct {
	version uint16
	b       []byte
	count   int // v9: records (template and data) in the message
}

// NewV9 starts a NetFlow v9 message (RFC 3954 section 5.1).
func NewV9(boot, export time.Time, seq, sourceID uint32) *Msg {
	m := &Msg{version: 9, b: make([]byte, 20)}
	be := binary.BigEndian
	be.PutUint16(m.b, 9)
	be.PutUint32(m.b[4:], uint32(export.Sub(boot).Milliseconds()))
	be.PutUint32(m.b[8:], uint32(export.Unix()))
	be.PutUint32(m.b[12:], seq)
	be.PutUint32(m.b[16:], sourceID)
	return m
}

// NewIPFIX starts an IPFIX message (RFC 7011 section 3.1).
func NewIPFIX(export time.Time, seq, obs uint32) *Msg {
	m := &Msg{version: 10, b: make([]byte, 16)}
	be := binary.BigEndian
	be.PutUint16(m.b, 10)
	be.PutUint32(m.b[4:], uint32(export.Unix()))
	be.PutUint32(m.b[8:], seq)
	be.PutUint32(m.b[12:], obs)
	return m
}

func (m *Msg) set(id uint16, body []byte) {
	// pad to 4 bytes as both RFCs recommend
	for len(body)%4 != 0 {
		body = append(body, 0)
	}
	m.b = binary.BigEndian.AppendUint16(m.b, id)
	m.b = binary.BigEndian.AppendUint16(m.b, uint16(4+len(body)))
	m.b = append(m.b, body...)
}

// Template adds a template set with one template.
func (m *Msg) Template(id uint16, fields []Field) *Msg {
	be := binary.BigEndian
	body := be.AppendUint16(nil, id)
	body = be.AppendUint16(body, uint16(len(fields)))
	for _, f := range fields {
		body = be.AppendUint16(body, f.Type)
		body = be.AppendUint16(body, f.Length)
	}
	setID := uint16(0)
	if m.version == 10 {
		setID = 2
	}
	m.set(setID, body)
	m.count++
	return m
}

// OptionsTemplate adds an options template set with one template.
func (m *Msg) OptionsTemplate(id uint16, scopes, options []Field) *Msg {
	be := binary.BigEndian
	body := be.AppendUint16(nil, id)
	if m.version == 9 {
		body = be.AppendUint16(body, uint16(4*len(scopes)))
		body = be.AppendUint16(body, uint16(4*len(options)))
	} else {
		body = be.AppendUint16(body, uint16(len(scopes)+len(options)))
		body = be.AppendUint16(body, uint16(len(scopes)))
	}
	for _, f := range append(append([]Field{}, scopes...), options...) {
		body = be.AppendUint16(body, f.Type)
		body = be.AppendUint16(body, f.Length)
	}
	setID := uint16(1)
	if m.version == 10 {
		setID = 3
	}
	m.set(setID, body)
	m.count++
	return m
}

// Data adds a data set of records for template id.
func (m *Msg) Data(id uint16, records ...[]byte) *Msg {
	var body []byte
	for _, r := range records {
		body = append(body, r...)
	}
	m.set(id, body)
	m.count += len(records)
	return m
}

// Bytes finishes the message (count or length) and returns it.
func (m *Msg) Bytes() []byte {
	if m.version == 9 {
		binary.BigEndian.PutUint16(m.b[2:], uint16(m.count))
	} else {
		binary.BigEndian.PutUint16(m.b[2:], uint16(len(m.b)))
	}
	return append([]byte(nil), m.b...)
}

// SFlowSample is one sFlow flow sample of a captured frame.
type SFlowSample struct {
	Rate, Input, Output uint32
	Frame               []byte // Ethernet frame (only the first 128 bytes are sent)
	FrameLength         uint32 // original frame length
	Expanded            bool   // encode as expanded flow sample (format 3)
}

// SFlow encodes an sFlow v5 datagram (sflow_version_5.txt).
func SFlow(agent netip.Addr, uptimeMs, seq uint32, samples []SFlowSample) []byte {
	be := binary.BigEndian
	b := be.AppendUint32(nil, 5)
	if agent.Is4() {
		b = be.AppendUint32(b, 1)
	} else {
		b = be.AppendUint32(b, 2)
	}
	b = append(b, agent.AsSlice()...)
	b = be.AppendUint32(b, 0) // sub-agent
	b = be.AppendUint32(b, seq)
	b = be.AppendUint32(b, uptimeMs)
	b = be.AppendUint32(b, uint32(len(samples)))
	for i, s := range samples {
		hdr := s.Frame
		if len(hdr) > 128 {
			hdr = hdr[:128]
		}
		rec := be.AppendUint32(nil, 1) // header_protocol ethernet
		rec = be.AppendUint32(rec, s.FrameLength)
		rec = be.AppendUint32(rec, 4) // stripped (FCS)
		rec = be.AppendUint32(rec, uint32(len(hdr)))
		rec = append(rec, hdr...)
		for len(rec)%4 != 0 {
			rec = append(rec, 0)
		}
		var body []byte
		body = be.AppendUint32(body, uint32(i+1))
		if s.Expanded {
			body = be.AppendUint32(body, 0)
			body = be.AppendUint32(body, s.Input)
		} else {
			body = be.AppendUint32(body, s.Input)
		}
		body = be.AppendUint32(body, s.Rate)
		body = be.AppendUint32(body, s.Rate*uint32(i+1)) // sample pool
		body = be.AppendUint32(body, 0)                  // drops
		if s.Expanded {
			body = be.AppendUint32(body, 0)
			body = be.AppendUint32(body, s.Input)
			body = be.AppendUint32(body, 0)
			body = be.AppendUint32(body, s.Output)
		} else {
			body = be.AppendUint32(body, s.Input)
			body = be.AppendUint32(body, s.Output)
		}
		body = be.AppendUint32(body, 1) // one record
		body = be.AppendUint32(body, 1) // raw packet header
		body = be.AppendUint32(body, uint32(len(rec)))
		body = append(body, rec...)
		format := uint32(1)
		if s.Expanded {
			format = 3
		}
		b = be.AppendUint32(b, format)
		b = be.AppendUint32(b, uint32(len(body)))
		b = append(b, body...)
	}
	return b
}
