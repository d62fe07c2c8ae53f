package flow

import (
	"net/netip"
	"testing"
	"time"

	"github.com/netvet/netvet/internal/egress/flow/flowtest"
)

func fuzzSeeds() [][]byte {
	fs := testFlows(false, 2)
	fs6 := testFlows(true, 2)
	var seeds [][]byte
	seeds = append(seeds, flowtest.V5(boot, export, 1<<14|10, fs))
	for _, tm := range timeModes {
		seeds = append(seeds,
			flowtest.NewV9(boot, export, 1, 1).Template(300, flowtest.Fields(tm.mode, false)).Data(300, records(tm.mode, false, fs)...).Bytes(),
			flowtest.NewIPFIX(export, 1, 1).Template(300, flowtest.Fields(tm.mode, true)).Data(300, records(tm.mode, true, fs6)...).Bytes())
	}
	seeds = append(seeds,
		flowtest.NewIPFIX(export, 1, 7).OptionsTemplate(400, []flowtest.Field{{Type: 149, Length: 4}}, []flowtest.Field{{Type: 160, Length: 8}, {Type: 34, Length: 4}}).
			Data(400, make([]byte, 16)).Bytes(),
		flowtest.NewV9(boot, export, 1, 9).OptionsTemplate(260, []flowtest.Field{{Type: 1, Length: 4}}, []flowtest.Field{{Type: 48, Length: 1}, {Type: 50, Length: 4}}).
			Data(260, make([]byte, 9)).Bytes(),
		flowtest.NewIPFIX(export, 1, 1).Template(300, []flowtest.Field{{Type: 8, Length: 0xffff}, {Type: 0x8000 | 12, Length: 4}}).Data(300, []byte{4, 1, 2, 3, 4}).Bytes())
	fr := flowtest.Frame(netip.MustParseAddrPort("[2001:db8::1]:5353"), netip.MustParseAddrPort("[2001:db8::2]:53"), 17, 0, []byte("q"))
	fr4 := flowtest.Frame(netip.MustParseAddrPort("10.0.0.1:1234"), netip.MustParseAddrPort("10.0.0.2:443"), 6, 2, nil)
	seeds = append(seeds, flowtest.SFlow(exporter, 1, 1, []flowtest.SFlowSample{{Rate: 10, Frame: fr, FrameLength: 100}, {Rate: 10, Frame: fr4, FrameLength: 64, Expanded: true}}))
	return seeds
}

// FuzzDecode feeds arbitrary datagrams to every decoder entry point through
// Decode, twice on one Decoder so that templates from the first pass are
// used by the second. Decode must not panic (a recovered panic is a failure
// here), must keep its caps, and every record must carry addresses.
func FuzzDecode(f *testing.F) {
	for _, s := range fuzzSeeds() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		d, err := NewDecoder(Config{Exporters: []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24")}, MaxTemplatesPerExporter: 8})
		if err != nil {
			t.Fatal(err)
		}
		for pass := 0; pass < 2; pass++ {
			recs, _ := d.Decode(exporter, b, export.Add(time.Duration(pass)*time.Second), nil)
			for _, r := range recs {
				if !r.Src.IsValid() || !r.Dst.IsValid() || r.TimeSource == "" || r.SamplingRate == 0 {
					t.Fatalf("bad record %+v", r)
				}
			}
		}
		if d.Stats().Panics.Load() != 0 {
			t.Fatal("decoder panicked")
		}
		if d.Templates(exporter) > 8 {
			t.Fatalf("%d templates over the cap", d.Templates(exporter))
		}
	})
}
