package egress_test

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"testing"

	"github.com/netvet/netvet/internal/egress"
	"github.com/netvet/netvet/internal/egress/allow"
	"github.com/netvet/netvet/internal/egress/egressgen"
	"github.com/netvet/netvet/internal/egress/flow"
	"github.com/netvet/netvet/internal/egress/ipinfo"
	"github.com/netvet/netvet/internal/egress/pcap"
	"github.com/netvet/netvet/internal/inventory"
)

// TestDemoCapture replays the committed capture the way
// `netvet egress replay` does and checks that exactly the planted alerts
// come out, with the inventory supplying the element details.
func TestDemoCapture(t *testing.T) {
	ctx := context.Background()
	inv, err := inventory.Load(ctx, "../exposure/operator.csv", inventory.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, withInv := range []*inventory.Inventory{nil, inv} {
		em, err := egress.LoadElements(egressgen.ElementsFile, withInv)
		if err != nil {
			t.Fatal(err)
		}
		pol, err := allow.Load(egressgen.AllowFile)
		if err != nil {
			t.Fatal(err)
		}
		hosts, err := allow.LoadHosts(egressgen.HostsFile)
		if err != nil {
			t.Fatal(err)
		}
		db := ipinfo.New(ipinfo.Limits{})
		if st, err := db.LoadFile(ctx, egressgen.IPTableFile); err != nil || st.Errors > 0 {
			t.Fatalf("%s: %v, %d bad lines", egressgen.IPTableFile, err, st.Errors)
		}
		p, err := egress.New(egress.Config{Elements: em, Policy: pol, Geo: db, Hosts: hosts})
		if err != nil {
			t.Fatal(err)
		}
		dec, err := flow.NewDecoder(flow.Config{Exporters: []netip.Prefix{netip.PrefixFrom(demoExporter, 32)}})
		if err != nil {
			t.Fatal(err)
		}
		st, err := pcap.ExtractFile(ctx, CaptureFile, pcap.Limits{}, pcap.ExtractConfig{}, dec, func(r flow.Record) { p.Add(&r) })
		if err != nil {
			t.Fatal(err)
		}
		ds := dec.Stats()
		if st.Records == 0 || ds.DecodeErrors.Load() != 0 || ds.TemplateMisses.Load() != 0 || p.Stats().DropUnknownSource.Load() != 0 {
			t.Fatalf("%d records, %d decode errors, %d template misses, %d from unknown sources",
				st.Records, ds.DecodeErrors.Load(), ds.TemplateMisses.Load(), p.Stats().DropUnknownSource.Load())
		}
		var got []string
		for _, a := range p.Finish() {
			got = append(got, fmt.Sprintf("%s %s %s", a.Rule, a.Element.ID, a.Destination.Address))
			if a.SelfReported || a.Sampled || len(a.Evidence) != 1 || a.Evidence[0].Exporter != demoExporter.String() {
				t.Errorf("%s: evidence %+v", a.Rule, a.Evidence)
			}
			if withInv != nil && a.Element.Site == "" {
				t.Errorf("%s: no site for %s from the inventory", a.Rule, a.Element.ID)
			}
		}
		var want []string
		for _, pl := range plantedInCapture(t) {
			switch pl.Kind {
			case egressgen.Beacon:
				want = append(want, fmt.Sprintf("%s %s %s", egress.RuleNotAllowlisted, pl.Element, pl.Dst),
					fmt.Sprintf("%s %s %s", egress.RuleBeacon, pl.Element, pl.Dst))
			case egressgen.DailyUpload:
				// Two uploads in two days: not a schedule yet, but a
				// destination outside the allowlist.
				want = append(want, fmt.Sprintf("%s %s %s", egress.RuleNotAllowlisted, pl.Element, pl.Dst))
			}
		}
		slices.Sort(got)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("alerts (inventory %v):\n got %q\nwant %q", withInv != nil, got, want)
		}
	}
}

// plantedInCapture regenerates the demo's plan (not its records) to know
// which elements carry the planted behaviour.
func plantedInCapture(t *testing.T) []egressgen.Planted {
	return demoMonth(t).Planted()
}
