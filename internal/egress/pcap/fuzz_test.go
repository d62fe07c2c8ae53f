package pcap

import (
	"context"
	"net/netip"
	"os"
	"path/filepath"
	"testing"

	"github.com/netvet/netvet/internal/egress/flow"
	"github.com/netvet/netvet/internal/egress/flow/flowtest"
)

// FuzzReadCapture runs the meter and the export extraction over arbitrary
// capture files: no panic, the flow table stays within its cap, and the
// records are well formed.
func FuzzReadCapture(f *testing.F) {
	dir := f.TempDir()
	pkts, _ := exportCapture(nil)
	for i, write := range []func(string, []flowtest.Packet) error{flowtest.WritePcap, flowtest.WritePcapNg} {
		for j, ps := range [][]flowtest.Packet{meterPackets()[:12], pkts} {
			p := filepath.Join(dir, string(rune('a'+i))+string(rune('a'+j)))
			if err := write(p, ps); err != nil {
				f.Fatal(err)
			}
			b, err := os.ReadFile(p)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		path := filepath.Join(t.TempDir(), "c")
		if err := os.WriteFile(path, b, 0o600); err != nil {
			t.Fatal(err)
		}
		lim := Limits{MaxPackets: 1000, MaxSnap: 65536}
		_, _ = MeterFile(context.Background(), path, lim, MeterConfig{MaxFlows: 16}, func(r flow.Record) {
			if !r.Src.IsValid() || !r.Dst.IsValid() || r.Packets == 0 || r.End.Before(r.Start) {
				t.Fatalf("bad record %+v", r)
			}
		})
		dec, err := flow.NewDecoder(flow.Config{Exporters: []netip.Prefix{netip.MustParsePrefix("0.0.0.0/0"), netip.MustParsePrefix("::/0")}, MaxTemplatesPerExporter: 8})
		if err != nil {
			t.Fatal(err)
		}
		_, _ = ExtractFile(context.Background(), path, lim, ExtractConfig{AnyUDP: true}, dec, func(r flow.Record) {
			if !r.Src.IsValid() || !r.Dst.IsValid() {
				t.Fatalf("bad record %+v", r)
			}
		})
		if dec.Stats().Panics.Load() != 0 {
			t.Fatal("decoder panicked")
		}
	})
}
