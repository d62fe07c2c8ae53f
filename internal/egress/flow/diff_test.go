package flow

import (
	"bytes"
	"testing"

	"github.com/netsampler/goflow2/v2/decoders/netflow"

	"github.com/netvet/netvet/internal/egress/flow/flowtest"
)

// viaGoflow2 decodes a whole message with goflow2's message decoder and
// maps its DataRecords with our field mapping: the reference for the direct
// data-set reader.
func viaGoflow2(t *testing.T, d *Decoder, pkts ...[]byte) []Record {
	t.Helper()
	ts := netflow.CreateTemplateSystem()
	st := &exporterState{templates: newTemplateStore(d), sysInit: map[uint32]int64{}, sampling: map[samplerKey]uint32{}}
	var out []Record
	for _, pkt := range pkts {
		var v9 netflow.NFv9Packet
		var ipfix netflow.IPFIXPacket
		if err := netflow.DecodeMessageVersion(bytes.NewBuffer(pkt), ts, &v9, &ipfix); err != nil {
			t.Fatal(err)
		}
		h := nfHeader{proto: ProtoIPFIX, obs: ipfix.ObservationDomainId, exportSec: ipfix.ExportTime}
		sets := ipfix.FlowSets
		if v9.Version == 9 {
			h = nfHeader{proto: ProtoNetFlowV9, obs: v9.SourceId, exportSec: v9.UnixSeconds, uptime: v9.SystemUptime, hasUptime: true}
			sets = v9.FlowSets
		}
		for _, s := range sets {
			if o, ok := s.(netflow.OptionsDataFlowSet); ok {
				d.learnOptions(st, h.obs, o)
			}
		}
		for _, s := range sets {
			ds, ok := s.(netflow.DataFlowSet)
			if !ok {
				continue
			}
			for _, rec := range ds.Records {
				var f nfFields
				r := Record{Exporter: exporter, Protocol: h.proto, ObservationDomain: h.obs}
				for _, v := range rec.Values {
					if !v.PenProvided {
						d.field(&r, &f, v.Type, v.Value.([]byte))
					}
				}
				out = d.finish(st, &h, &f, r, out)
			}
		}
	}
	return out
}

// TestDirectReaderMatchesGoflow2 checks the direct data-set reader against
// goflow2's full decode on every time layout, IPv4 and IPv6, variable-length
// and enterprise fields, and options in a previous message.
func TestDirectReaderMatchesGoflow2(t *testing.T) {
	var cases [][][]byte
	for _, tm := range timeModes {
		for _, v6 := range []bool{false, true} {
			fs := testFlows(v6, 7)
			cases = append(cases,
				[][]byte{flowtest.NewV9(boot, export, 1, 3).Template(300, flowtest.Fields(tm.mode, v6)).Data(300, records(tm.mode, v6, fs)...).Bytes()},
				[][]byte{flowtest.NewIPFIX(export, 1, 3).Template(300, flowtest.Fields(tm.mode, v6)).Data(300, records(tm.mode, v6, fs)...).Bytes()})
		}
	}
	// variable-length and enterprise fields around the flow fields
	fields := append([]flowtest.Field{{Type: 82, Length: 0xffff}, {Type: 0x8000 | 1, Length: 4}}, flowtest.Fields(flowtest.TimeMillis, false)...)
	var rs [][]byte
	for i, f := range testFlows(false, 4) {
		name := bytes.Repeat([]byte("x"), i*100)
		var r []byte
		if len(name) < 255 {
			r = append([]byte{byte(len(name))}, name...)
		} else {
			r = append([]byte{255, byte(len(name) >> 8), byte(len(name))}, name...)
		}
		r = append(r, 1, 2, 3, 4) // enterprise field value
		rs = append(rs, append(r, flowtest.Record(flowtest.TimeMillis, false, f, boot)...))
	}
	cases = append(cases, [][]byte{ipfixWithPEN(fields, rs)})
	// options with IE 160 and a sampling rate in one message, data in the next
	fs := testFlows(false, 3)
	cases = append(cases, [][]byte{
		flowtest.NewIPFIX(export, 1, 7).OptionsTemplate(400, []flowtest.Field{{Type: 149, Length: 4}}, []flowtest.Field{{Type: 160, Length: 8}, {Type: 34, Length: 4}}).
			Data(400, append(append([]byte{0, 0, 0, 7}, u64(uint64(boot.UnixMilli()))...), 0, 0, 0, 100)).Bytes(),
		flowtest.NewIPFIX(export, 2, 7).Template(300, flowtest.Fields(flowtest.TimeUptime, false)).Data(300, records(flowtest.TimeUptime, false, fs)...).Bytes(),
	})
	for i, pkts := range cases {
		d := newTestDecoder(t)
		var got []Record
		for _, p := range pkts {
			var err error
			got, err = d.Decode(exporter, p, export, got)
			if err != nil {
				t.Fatalf("case %d: %v", i, err)
			}
		}
		want := viaGoflow2(t, newTestDecoder(t), pkts...)
		if len(got) != len(want) || len(got) == 0 {
			t.Fatalf("case %d: %d records, goflow2 path %d", i, len(got), len(want))
		}
		for j := range got {
			if got[j] != want[j] {
				t.Errorf("case %d record %d:\n direct  %+v\n goflow2 %+v", i, j, got[j], want[j])
			}
		}
	}
}

func u64(v uint64) []byte {
	return []byte{byte(v >> 56), byte(v >> 48), byte(v >> 40), byte(v >> 32), byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}
}

// ipfixWithPEN builds an IPFIX message whose template has an enterprise
// field (flowtest.Msg writes 4-byte specifiers only).
func ipfixWithPEN(fields []flowtest.Field, recs [][]byte) []byte {
	var tmpl []byte
	tmpl = append(tmpl, 1, 44, 0, byte(len(fields))) // template 300
	for _, f := range fields {
		tmpl = append(tmpl, byte(f.Type>>8), byte(f.Type), byte(f.Length>>8), byte(f.Length))
		if f.Type&0x8000 != 0 {
			tmpl = append(tmpl, 0, 0, 0x7f, 0xff)
		}
	}
	m := flowtest.NewIPFIX(export, 1, 3)
	msg := m.Bytes()
	set := append([]byte{0, 2, byte((len(tmpl) + 4) >> 8), byte(len(tmpl) + 4)}, tmpl...)
	msg = append(msg, set...)
	var data []byte
	for _, r := range recs {
		data = append(data, r...)
	}
	msg = append(msg, append([]byte{1, 44, byte((len(data) + 4) >> 8), byte(len(data) + 4)}, data...)...)
	msg[2], msg[3] = byte(len(msg)>>8), byte(len(msg))
	return msg
}
