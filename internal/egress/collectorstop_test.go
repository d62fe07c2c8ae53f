package egress

import (
	"context"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/netvet/netvet/internal/egress/flow"
	"github.com/netvet/netvet/internal/egress/flow/flowtest"
)

// TestCollectorStopReadsQueued: datagrams already queued on the socket when
// the collector is stopped are decoded and alerted on, not lost.
func TestCollectorStopReadsQueued(t *testing.T) {
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
	out, err := net.Dial("udp", conn.LocalAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	const n = 100
	now := time.Now().UTC().Truncate(time.Millisecond)
	for i := range n {
		d := flowtest.V5(now.Add(-time.Hour), now, 0, []flowtest.Flow{{Src: netip.MustParseAddr("10.1.0.1"), Dst: netip.MustParseAddr("45.0.0.9"),
			SrcPort: uint16(1000 + i), DstPort: 443, Proto: 6, Bytes: 10, Packets: 1, Start: now.Add(-time.Second), End: now}})
		if _, err := out.Write(d); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // stopped before it read anything
	var got []Alert
	c := &Collector{Conn: conn, Decoder: dec, Pipeline: p, Interval: time.Hour, Emit: func(a []Alert) { got = append(got, a...) }}
	if err := c.Run(ctx); err != nil {
		t.Fatal(err)
	}
	if v := dec.Stats().Packets.Load(); v != n {
		t.Errorf("decoded %d datagrams of the %d queued at the stop", v, n)
	}
	if len(got) != 1 || got[0].Rule != RuleNotAllowlisted || got[0].Flows != n {
		t.Errorf("alerts %+v, want one not-allowlisted alert over %d flows", got, n)
	}
}

// TestCollectorFlowTime: periodic collections happen in flow time, as in a
// replay, but never later than the wall clock.
func TestCollectorFlowTime(t *testing.T) {
	wall := time.Date(2026, 3, 5, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name       string
		flow, want time.Time
	}{
		{"no flows yet", time.Time{}, time.Time{}},
		{"flows behind the clock", wall.Add(-72 * time.Hour), wall.Add(-72 * time.Hour)},
		{"flows dated in the future", wall.Add(24 * time.Hour), wall},
	} {
		if got := collectAt(tc.flow, wall); !got.Equal(tc.want) {
			t.Errorf("%s: collectAt(%s, %s) = %s, want %s", tc.name, tc.flow, wall, got, tc.want)
		}
	}

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
	alerts := make(chan []Alert, 16)
	c := &Collector{Conn: conn, Decoder: dec, Pipeline: p, Interval: 20 * time.Millisecond, Emit: func(a []Alert) {
		if len(a) > 0 {
			alerts <- a
		}
	}}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	out, err := net.Dial("udp", conn.LocalAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	old := time.Now().UTC().Add(-72 * time.Hour).Truncate(time.Millisecond)
	d := flowtest.V5(old.Add(-time.Hour), old.Add(time.Minute), 0, []flowtest.Flow{{Src: netip.MustParseAddr("10.1.0.1"), Dst: netip.MustParseAddr("45.0.0.9"),
		SrcPort: 1000, DstPort: 443, Proto: 6, Bytes: 10, Packets: 1, Start: old, End: old.Add(time.Second)}})
	if _, err := out.Write(d); err != nil {
		t.Fatal(err)
	}
	var got []Alert
	select {
	case got = <-alerts:
	case <-time.After(10 * time.Second):
		t.Fatal("no alert within 10 s")
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || !got[0].Raised.Equal(old.Add(time.Second)) {
		t.Fatalf("alerts %+v: want one raised at the flow's end %s", got, old.Add(time.Second))
	}
}
