package egress

import (
	"context"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/netvet/netvet/internal/egress/flow"
	"github.com/netvet/netvet/internal/egress/flow/flowtest"
	"github.com/netvet/netvet/internal/egress/metrics"
)

func TestCollector(t *testing.T) {
	p := testPipeline(t, nil)
	dec, err := flow.NewDecoder(flow.Config{Exporters: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}})
	if err != nil {
		t.Fatal(err)
	}
	conn, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var mu sync.Mutex
	var got []Alert
	c := &Collector{Conn: conn, Decoder: dec, Pipeline: p, Interval: 50 * time.Millisecond, Emit: func(a []Alert) {
		mu.Lock()
		got = append(got, a...)
		mu.Unlock()
	}}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()

	out, err := net.Dial("udp", conn.LocalAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	now := time.Now().UTC().Truncate(time.Millisecond)
	v5 := flowtest.V5(now.Add(-time.Hour), now, 0, []flowtest.Flow{
		{Src: netip.MustParseAddr("10.1.0.1"), Dst: netip.MustParseAddr("45.0.0.9"), SrcPort: 1, DstPort: 443, Proto: 6, Bytes: 10, Packets: 1, Start: now.Add(-time.Second), End: now},
		{Src: netip.MustParseAddr("172.16.0.1"), Dst: netip.MustParseAddr("45.0.0.9"), SrcPort: 1, DstPort: 443, Proto: 6, Bytes: 10, Packets: 1, Start: now.Add(-time.Second), End: now},
	})
	if _, err := out.Write(v5); err != nil {
		t.Fatal(err)
	}
	if _, err := out.Write([]byte{0, 5, 0, 1}); err != nil { // truncated
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		mu.Lock()
		n := len(got)
		mu.Unlock()
		if n > 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Element.ID != "gnb-1" || got[0].Rule != RuleNotAllowlisted || got[0].Evidence[0].Exporter != "127.0.0.1" {
		t.Fatalf("alerts %+v", got)
	}
	var b strings.Builder
	if err := metrics.Write(&b, append(DecoderFamilies(dec.Stats()), p.Families()...)); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"netvet_flow_packets_total 2\n",
		"netvet_flow_records_total 2\n",
		`netvet_flow_datagrams_dropped_total{reason="malformed"} 1` + "\n",
		`netvet_egress_records_dropped_total{reason="unknown_source"} 1` + "\n",
		`netvet_egress_alerts_total{rule="not-allowlisted"} 1` + "\n",
		"netvet_egress_records_accepted_total 1\n",
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("metrics lack %q:\n%s", want, b.String())
		}
	}
}
