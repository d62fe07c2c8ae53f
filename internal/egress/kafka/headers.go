package kafka

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/netvet/netvet/internal/egress/flow"
)

// Raw record headers. Values are binary: the version one byte, the
// exporter 4 or 16 bytes (the same bytes as the record key), the receive
// time 8 bytes big-endian Unix nanoseconds.
const (
	HeaderVersion  = "netvet-raw-version"
	HeaderExporter = "netvet-exporter"
	HeaderRecv     = "netvet-recv-ns"
	RawVersion     = 1
	// MaxRawHeaders is the most headers a raw record may carry; headers
	// not named netvet-* are ignored (brokers and mirrors may add some).
	MaxRawHeaders = 16
	MinDatagram   = 4
)

// Receive times outside [minRecv, maxRecv) are refused.
var (
	minRecv = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
	maxRecv = time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC)
)

// RawHeaders returns the headers of a raw record.
func RawHeaders(exporter netip.Addr, recv time.Time) []kgo.RecordHeader {
	return []kgo.RecordHeader{
		{Key: HeaderVersion, Value: []byte{RawVersion}},
		{Key: HeaderExporter, Value: exporter.Unmap().AsSlice()},
		{Key: HeaderRecv, Value: binary.BigEndian.AppendUint64(nil, uint64(recv.UnixNano()))},
	}
}

// Raw is a checked raw record.
type Raw struct {
	Exporter netip.Addr
	Recv     time.Time // UTC
}

// RawError says why a raw record was refused. Reason is one of the
// Reason* values.
type RawError struct {
	Reason Reason
	Msg    string
}

func (e *RawError) Error() string { return "raw record: " + e.Msg }

func rawErr(r Reason, format string, args ...any) *RawError {
	return &RawError{Reason: r, Msg: fmt.Sprintf(format, args...)}
}

// ParseRaw checks a raw record's key, headers and value size. It neither
// allocates from nor trusts anything in the record.
func ParseRaw(key []byte, headers []kgo.RecordHeader, value []byte) (Raw, error) {
	if len(value) < MinDatagram || len(value) > flow.MaxDatagram {
		return Raw{}, rawErr(ReasonSize, "datagram of %d bytes (want %d..%d)", len(value), MinDatagram, flow.MaxDatagram)
	}
	if len(headers) > MaxRawHeaders {
		return Raw{}, rawErr(ReasonHeaders, "%d headers (at most %d)", len(headers), MaxRawHeaders)
	}
	var ver, exp, recv []byte
	var seen [3]bool
	for _, h := range headers {
		var slot *[]byte
		var i int
		switch h.Key {
		case HeaderVersion:
			slot, i = &ver, 0
		case HeaderExporter:
			slot, i = &exp, 1
		case HeaderRecv:
			slot, i = &recv, 2
		default:
			if strings.HasPrefix(h.Key, "netvet-") {
				return Raw{}, rawErr(ReasonHeaders, "unknown header %.40q", h.Key)
			}
			continue
		}
		if seen[i] {
			return Raw{}, rawErr(ReasonHeaders, "header %s twice", h.Key)
		}
		seen[i], *slot = true, h.Value
	}
	switch {
	case !seen[0]:
		return Raw{}, rawErr(ReasonHeaders, "no %s header", HeaderVersion)
	case len(ver) != 1:
		return Raw{}, rawErr(ReasonHeaders, "%s is %d bytes, want 1", HeaderVersion, len(ver))
	case ver[0] != RawVersion:
		return Raw{}, rawErr(ReasonVersion, "format version %d (this netvet reads %d)", ver[0], RawVersion)
	case !seen[1]:
		return Raw{}, rawErr(ReasonHeaders, "no %s header", HeaderExporter)
	case len(exp) != 4 && len(exp) != 16:
		return Raw{}, rawErr(ReasonExporter, "%s is %d bytes, want 4 or 16", HeaderExporter, len(exp))
	case string(exp) != string(key):
		return Raw{}, rawErr(ReasonExporter, "record key is not the %s header", HeaderExporter)
	case !seen[2]:
		return Raw{}, rawErr(ReasonHeaders, "no %s header", HeaderRecv)
	case len(recv) != 8:
		return Raw{}, rawErr(ReasonHeaders, "%s is %d bytes, want 8", HeaderRecv, len(recv))
	}
	a, _ := netip.AddrFromSlice(exp)
	if a.Is4In6() {
		return Raw{}, rawErr(ReasonExporter, "exporter %s is IPv4-mapped; send 4 bytes", a)
	}
	if !a.IsValid() || a.IsUnspecified() {
		return Raw{}, rawErr(ReasonExporter, "exporter %s is not usable", a)
	}
	ns := int64(binary.BigEndian.Uint64(recv))
	t := time.Unix(0, ns).UTC()
	if t.Before(minRecv) || !t.Before(maxRecv) {
		return Raw{}, rawErr(ReasonRecvTime, "receive time %d ns is outside 2000..2200", ns)
	}
	return Raw{Exporter: a, Recv: t}, nil
}
