package flow

import (
	"encoding/binary"
	"testing"
	"time"

	"github.com/netvet/netvet/internal/egress/flow/flowtest"
)

func TestNearExport(t *testing.T) {
	const period = int64(1) << 32
	exp := int64(1_800_000_000_000) // ms, 2027
	for _, tc := range []struct {
		name   string
		t, exp int64
		want   int64
	}{
		{"same period", exp - 3_600_000, exp, exp - 3_600_000},
		{"just under half a period before", exp - period/2 + 1, exp, exp - period/2 + 1},
		// ties go the way uptimeDelta sends them for v5 and v9
		{"half a period before", exp - period/2, exp, exp + period/2},
		{"just over half a period before", exp - period/2 - 1, exp, exp + period/2 - 1},
		{"half a period after", exp + period/2, exp, exp + period/2},
		{"just over half a period after", exp + period/2 + 1, exp, exp - period/2 + 1},
		{"one wrap ahead", exp - 3_600_000 + period, exp, exp - 3_600_000},
		{"four wraps behind", exp - 3_600_000 - 4*period, exp, exp - 3_600_000},
		{"no export time", exp + period, 0, exp + period},
		{"time beyond any clock", 1 << 62, exp, 1 << 62},
		{"negative beyond any clock", -(1 << 62), exp, -(1 << 62)},
		{"export beyond any clock", exp, 1 << 62, exp},
	} {
		if got := nearExport(tc.t, tc.exp); got != tc.want {
			t.Errorf("%s: nearExport(%d, %d) = %d, want %d", tc.name, tc.t, tc.exp, got, tc.want)
		}
	}
}

// TestIPFIXSysInitWrap: IEs 22/21 with IE 160 when the 32-bit uptime has
// wrapped (a device up for longer than 49.7 days) and when the exporter's
// uptime origin is later than its flows (softflowd -r without -a: origin
// from the wall clock, flows from an older capture, so the uptimes are
// "negative" and wrap). Both give the flows' real times, as v5 and v9 do.
func TestIPFIXSysInitWrap(t *testing.T) {
	sysInit := []flowtest.Field{{Type: 160, Length: 8}}
	for _, tc := range []struct {
		name string
		boot time.Time
	}{
		{"up 10 days", export.Add(-10 * 24 * time.Hour)},
		{"up 60 days, one wrap", export.Add(-60 * 24 * time.Hour)},
		{"up 3 years, 22 wraps", export.Add(-3 * 365 * 24 * time.Hour)},
		{"origin 1 h after the flows", export.Add(-10 * time.Second)},
		{"origin 20 days after the flows", export.Add(20 * 24 * time.Hour)},
	} {
		for _, inRecord := range []bool{false, true} {
			name := tc.name + map[bool]string{false: "/options record", true: "/in the data record"}[inRecord]
			t.Run(name, func(t *testing.T) {
				d := newTestDecoder(t)
				fs := testFlows(false, 3)
				m := flowtest.NewIPFIX(export, 1, 7)
				fields := flowtest.Fields(flowtest.TimeUptime, false)
				var recs [][]byte
				for _, f := range fs {
					r := flowtest.Record(flowtest.TimeUptime, false, f, tc.boot)
					if inRecord {
						r = binary.BigEndian.AppendUint64(r, uint64(tc.boot.UnixMilli()))
					}
					recs = append(recs, r)
				}
				if inRecord {
					fields = append(fields, sysInit...)
				} else {
					m.OptionsTemplate(400, []flowtest.Field{{Type: 149, Length: 4}}, sysInit)
					m.Data(400, binary.BigEndian.AppendUint64(binary.BigEndian.AppendUint32(nil, 7), uint64(tc.boot.UnixMilli())))
				}
				pkt := m.Template(300, fields).Data(300, recs...).Bytes()
				got, err := d.Decode(exporter, pkt, export, nil)
				if err != nil {
					t.Fatal(err)
				}
				checkRecords(t, got, fs, TimeUptimeRelative, 1, time.Millisecond)
			})
		}
	}
}

// TestV9SysInitWrap: the same for NetFlow v9 records carrying IE 160
// themselves (the header uptime is then not used).
func TestV9SysInitWrap(t *testing.T) {
	bootAt := export.Add(-60 * 24 * time.Hour)
	fs := testFlows(false, 2)
	fields := append(flowtest.Fields(flowtest.TimeUptime, false), flowtest.Field{Type: 160, Length: 8})
	var recs [][]byte
	for _, f := range fs {
		recs = append(recs, binary.BigEndian.AppendUint64(flowtest.Record(flowtest.TimeUptime, false, f, bootAt), uint64(bootAt.UnixMilli())))
	}
	d := newTestDecoder(t)
	got, err := d.Decode(exporter, flowtest.NewV9(bootAt, export, 1, 1).Template(300, fields).Data(300, recs...).Bytes(), export, nil)
	if err != nil {
		t.Fatal(err)
	}
	checkRecords(t, got, fs, TimeUptimeRelative, 1, time.Millisecond)
}
