package egress

import (
	"testing"
	"time"

	"github.com/netvet/netvet/internal/egress/allow"
	"github.com/netvet/netvet/internal/egress/flow"
)

func TestPipelineDNSTunnel(t *testing.T) {
	cases := []struct {
		name    string
		queries int
		pkts    uint64
		want    int // dns-tunnel alerts
	}{
		{"tunnel to a foreign resolver", 400, 1, 1},
		{"aggregated records count their packets", 20, 10, 1},
		{"a misconfigured fallback resolver", 30, 1, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := testPipeline(t, nil)
			for i := range c.queries {
				r := rec("10.9.0.1", "10.1.0.1", "45.0.0.9", 53, allow.ProtoUDP, t0.Add(2*time.Hour+time.Duration(i)*5*time.Second), 180*c.pkts)
				r.Packets = c.pkts
				p.Add(r)
			}
			// Later traffic closes the hour.
			p.Add(rec("10.9.0.1", "10.1.0.1", "10.20.0.2", 123, allow.ProtoUDP, t0.Add(5*time.Hour), 76))
			var dns []Alert
			for _, a := range p.Collect(time.Time{}) {
				if a.Rule == RuleDNSTunnel {
					dns = append(dns, a)
				}
			}
			if len(dns) != c.want {
				t.Fatalf("%d dns-tunnel alerts, want %d", len(dns), c.want)
			}
			if c.want == 0 {
				return
			}
			a := dns[0]
			if a.Element.ID != "gnb-1" || a.Destination.Address != "45.0.0.9" || a.Destination.ASN != 4134 || a.Destination.Name != "c2.example" ||
				a.Packets != uint64(c.queries)*c.pkts || !a.FirstSeen.Equal(t0.Add(2*time.Hour)) || a.Score < 80 || a.Band == "" || a.DNS == nil || a.DNS.Kind != "uncovered-resolver" || a.DNS.Uncovered != a.Packets ||
				len(a.Evidence) != 1 || a.Evidence[0].Exporter != "10.9.0.1" {
				t.Errorf("alert %+v", a)
			}
			if got := p.Stats().AlertsByRule[ruleIndex(RuleDNSTunnel)].Load(); got != 1 {
				t.Errorf("AlertsByRule[dns-tunnel] = %d", got)
			}
		})
	}
}

func TestPayload(t *testing.T) {
	for _, c := range []struct {
		bytes, pkts, want uint64
	}{
		{52 * 1000, 1000, 0},       // bare acknowledgements
		{1500 * 10, 10, 1436 * 10}, // full-size segments
		{0, 0, 0},
		{100, 1 << 60, 0}, // overflowing packet count
	} {
		if got := payload(&flow.Record{Bytes: c.bytes, Packets: c.pkts}); got != c.want {
			t.Errorf("payload(%d bytes, %d packets) = %d, want %d", c.bytes, c.pkts, got, c.want)
		}
	}
}
