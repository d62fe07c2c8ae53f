package egress

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"time"

	"github.com/netvet/netvet/internal/egress/flow"
)

// MaxRecordLine is the longest line ReadRecords accepts.
const MaxRecordLine = 4096

// JSONRecord is the JSON-lines form of a flow record, for archives and
// for replaying flows that were collected elsewhere.
type JSONRecord struct {
	Exporter     string    `json:"exporter,omitempty"`
	Capture      string    `json:"capture,omitempty"`
	Protocol     string    `json:"protocol,omitempty"`
	Src          string    `json:"src"`
	Dst          string    `json:"dst"`
	SrcPort      uint16    `json:"src_port,omitempty"`
	DstPort      uint16    `json:"dst_port,omitempty"`
	Proto        uint8     `json:"proto"`
	Bytes        uint64    `json:"bytes"`
	Packets      uint64    `json:"packets"`
	Start        time.Time `json:"start"`
	End          time.Time `json:"end,omitzero"`
	SamplingRate uint32    `json:"sampling_rate,omitempty"`
}

// ToJSON converts a record.
func ToJSON(r *flow.Record) JSONRecord {
	j := JSONRecord{Capture: r.Source, Protocol: string(r.Protocol), Src: r.Src.String(), Dst: r.Dst.String(),
		SrcPort: r.SrcPort, DstPort: r.DstPort, Proto: r.Proto, Bytes: r.Bytes, Packets: r.Packets,
		Start: r.Start.UTC(), End: r.End.UTC(), SamplingRate: r.SamplingRate}
	if r.Exporter.IsValid() {
		j.Exporter = r.Exporter.String()
	}
	return j
}

// ReadRecords reads JSON lines of JSONRecord from r and calls emit for
// each valid one. Bad lines are reported as "name: line N: what" and
// skipped; reading stops after maxErrors of them. It returns the number
// of records read.
func ReadRecords(name string, r io.Reader, maxErrors int, emit func(*flow.Record)) (int, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	var errs []error
	line, n := 0, 0
	for {
		raw, err := readRecordLine(br)
		if err == io.EOF {
			break
		}
		line++
		if err != nil && !errors.Is(err, errLongRecord) {
			errs = append(errs, fmt.Errorf("%s: line %d: %w", name, line, err))
			break
		}
		var rec flow.Record
		if err == nil {
			t := bytes.TrimSpace(raw)
			if len(t) == 0 || t[0] == '#' {
				continue
			}
			rec, err = parseRecord(t)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: line %d: %w", name, line, err))
			if len(errs) >= maxErrors {
				errs = append(errs, fmt.Errorf("%s: stopped after %d bad lines", name, maxErrors))
				break
			}
			continue
		}
		n++
		emit(&rec)
	}
	return n, errors.Join(errs...)
}

func parseRecord(b []byte) (flow.Record, error) {
	var j JSONRecord
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&j); err != nil {
		return flow.Record{}, err
	}
	r := flow.Record{Source: j.Capture, Protocol: flow.Protocol(j.Protocol), SrcPort: j.SrcPort, DstPort: j.DstPort,
		Proto: j.Proto, Bytes: j.Bytes, Packets: j.Packets, Start: j.Start.UTC(), End: j.End.UTC(), SamplingRate: max(j.SamplingRate, 1)}
	r.Sampled = r.SamplingRate > 1
	var err error
	if j.Exporter != "" {
		if r.Exporter, err = netip.ParseAddr(j.Exporter); err != nil {
			return r, fmt.Errorf("exporter: %w", err)
		}
		r.Exporter = r.Exporter.Unmap()
	}
	if r.Src, err = netip.ParseAddr(j.Src); err != nil {
		return r, fmt.Errorf("src: %w", err)
	}
	if r.Dst, err = netip.ParseAddr(j.Dst); err != nil {
		return r, fmt.Errorf("dst: %w", err)
	}
	r.Src, r.Dst = r.Src.Unmap(), r.Dst.Unmap()
	if r.Start.IsZero() {
		return r, errors.New("no start time")
	}
	if r.End.IsZero() {
		r.End = r.Start
	}
	if r.End.Before(r.Start) {
		return r, errors.New("end before start")
	}
	if r.Protocol == "" {
		r.Protocol = "jsonl"
	}
	r.TimeSource = flow.TimeSource("recorded")
	return r, nil
}

var errLongRecord = fmt.Errorf("line longer than %d bytes", MaxRecordLine)

func readRecordLine(br *bufio.Reader) ([]byte, error) {
	var buf []byte
	for {
		chunk, err := br.ReadSlice('\n')
		if len(buf)+len(chunk) > MaxRecordLine+1 {
			for err == bufio.ErrBufferFull {
				_, err = br.ReadSlice('\n')
			}
			if err != nil && err != io.EOF {
				return nil, err
			}
			return nil, errLongRecord
		}
		buf = append(buf, chunk...)
		switch err {
		case nil:
			return bytes.TrimRight(buf, "\r\n"), nil
		case bufio.ErrBufferFull:
			continue
		case io.EOF:
			if len(buf) == 0 {
				return nil, io.EOF
			}
			return bytes.TrimRight(buf, "\r\n"), nil
		default:
			return nil, err
		}
	}
}
