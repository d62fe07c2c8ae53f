package egress_test

import (
	"cmp"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/netvet/netvet/internal/egress/egressgen"
	"github.com/netvet/netvet/internal/egress/flow"
	"github.com/netvet/netvet/internal/egress/flow/flowtest"
)

// The demo: file names and how it was generated.
const (
	CaptureFile  = "demo-egress.pcap"
	DemoElements = 20
	DemoDays     = 2
	DemoSeed     = 6
)

var (
	demoExporter  = netip.MustParseAddr("10.255.0.1")
	demoCollector = netip.MustParseAddrPort("10.255.0.2:4739")
	demoStart     = time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC) // a Monday
)

func demoMonth(t testing.TB) *egressgen.Month {
	t.Helper()
	path := filepath.Join("..", "exposure", "operator.csv")
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	inv, err := egressgen.ReadInventory(path, f)
	if err != nil {
		t.Fatal(err)
	}
	m, err := egressgen.New(egressgen.Config{Seed: DemoSeed, Start: demoStart, Days: DemoDays, Exporter: demoExporter,
		Elements: egressgen.Pick(inv, DemoElements, DemoSeed), Plant: []string{egressgen.Beacon, egressgen.DailyUpload}})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// IPFIX export as a meter does it: a record leaves idleExport after its
// flow ended; datagrams carry up to perDatagram records exported within
// flushEvery of each other, and the template is sent again every ten
// minutes of export time.
const (
	idleExport  = 15 * time.Second
	perDatagram = 26
	templateID  = 256
	refresh     = 10 * time.Minute
	flushEvery  = time.Minute
)

func writeCapture(m *egressgen.Month, path string) (int, error) {
	var recs []flow.Record
	m.Run(func(r *flow.Record) { recs = append(recs, *r) })
	slices.SortStableFunc(recs, func(a, b flow.Record) int { return cmp.Compare(a.End.UnixNano(), b.End.UnixNano()) })
	fields := flowtest.Fields(flowtest.TimeStartDurMs, false)
	var pkts []flowtest.Packet
	var seq uint32
	var lastTemplate time.Time
	src := netip.AddrPortFrom(demoExporter, 50123)
	for i := 0; i < len(recs); {
		first := recs[i].End.Add(idleExport)
		j := i
		var data [][]byte
		for j < len(recs) && j-i < perDatagram && recs[j].End.Add(idleExport).Sub(first) < flushEvery {
			r := recs[j]
			data = append(data, flowtest.Record(flowtest.TimeStartDurMs, false, flowtest.Flow{Src: r.Src, Dst: r.Dst, SrcPort: r.SrcPort, DstPort: r.DstPort,
				Proto: r.Proto, Bytes: r.Bytes, Packets: r.Packets, Start: r.Start, End: r.End}, time.Time{}))
			j++
		}
		export := recs[j-1].End.Add(idleExport).Truncate(time.Second).Add(time.Second)
		msg := flowtest.NewIPFIX(export, seq, 1)
		if lastTemplate.IsZero() || export.Sub(lastTemplate) >= refresh {
			msg.Template(templateID, fields)
			lastTemplate = export
		}
		msg.Data(templateID, data...)
		seq += uint32(len(data))
		pkts = append(pkts, flowtest.Packet{Time: export.Add(time.Duration(len(pkts)%1000) * time.Microsecond),
			Frame: flowtest.Frame(src, demoCollector, 17, 0, msg.Bytes())})
		i = j
	}
	return len(recs), flowtest.WritePcap(path, pkts)
}
