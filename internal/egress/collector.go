package egress

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"time"

	"github.com/netvet/netvet/internal/egress/flow"
	"github.com/netvet/netvet/internal/egress/metrics"
)

// Collector reads flow export datagrams from a socket, decodes them, feeds
// the pipeline and hands the alerts to Emit every Interval.
type Collector struct {
	Conn     net.PacketConn
	Decoder  *flow.Decoder
	Pipeline *Pipeline
	Interval time.Duration // how often alerts are collected [10s]
	Emit     func([]Alert) // called from Run's goroutine
	Now      func() time.Time
}

// Run reads until ctx is done or the socket fails. When ctx is done it
// first reads the datagrams already queued on the socket (for at most
// 200 ms), then closes the volume hours and emits what is left.
func (c *Collector) Run(ctx context.Context) error {
	if c.Conn == nil || c.Decoder == nil || c.Pipeline == nil || c.Emit == nil {
		return errors.New("egress: collector needs a socket, a decoder, a pipeline and an output")
	}
	interval := c.Interval
	if interval <= 0 {
		interval = 10 * time.Second
	}
	now := c.Now
	if now == nil {
		now = time.Now
	}
	buf := make([]byte, flow.MaxDatagram+1)
	recs := make([]flow.Record, 0, 64)
	next := now().Add(interval)
	var deadline time.Time
	for {
		if ctx.Err() != nil {
			c.drain(buf, recs, now)
			c.Emit(c.Pipeline.Finish())
			return nil
		}
		// The deadline wakes the loop to check ctx (every second) and to
		// collect; it is only moved once passed, not per datagram.
		if t := now(); deadline.IsZero() || !t.Before(deadline) || deadline.After(next) {
			deadline = t.Add(time.Second)
			if next.Before(deadline) {
				deadline = next
			}
			if err := c.Conn.SetReadDeadline(deadline); err != nil {
				return fmt.Errorf("egress: collector: %w", err)
			}
		}
		n, from, err := c.Conn.ReadFrom(buf)
		if err != nil && !errors.Is(err, os.ErrDeadlineExceeded) {
			if ctx.Err() != nil {
				c.Emit(c.Pipeline.Finish())
				return nil
			}
			return fmt.Errorf("egress: collector: %w", err)
		}
		if err == nil {
			recs = c.take(buf[:n], from, now, recs)
		}
		if t := now(); !t.Before(next) {
			c.Emit(c.Pipeline.Collect(collectAt(c.Pipeline.Now(), t.UTC())))
			next = t.Add(interval)
		}
	}
}

// collectAt is the time of a periodic collection: flow time, as in a
// replay, so that the beacon window, the repeat interval and the alerts'
// raised time follow the flows even when they are older than the clock
// (exporters with long active timeouts, a capture metered with softflowd
// -r); but never later than the wall clock, so that one record dated in
// the future cannot move every later collection there.
func collectAt(flowNow, wall time.Time) time.Time {
	if flowNow.After(wall) {
		return wall
	}
	return flowNow
}

// take decodes one datagram and feeds its records to the pipeline (the
// decoder counts an oversized one as malformed).
func (c *Collector) take(pkt []byte, from net.Addr, now func() time.Time, recs []flow.Record) []flow.Record {
	recs, _ = c.Decoder.Decode(addrOf(from), pkt, now().UTC(), recs[:0])
	for i := range recs {
		c.Pipeline.Add(&recs[i])
	}
	return recs
}

// Stopping: the datagrams already queued on the socket are read for at
// most drainFor and up to drainMax of them, so that a stop does not lose
// what the exporters sent before it.
const (
	drainFor = 200 * time.Millisecond
	drainMax = 1 << 16
)

func (c *Collector) drain(buf []byte, recs []flow.Record, now func() time.Time) {
	if err := c.Conn.SetReadDeadline(time.Now().Add(drainFor)); err != nil {
		return
	}
	for range drainMax {
		n, from, err := c.Conn.ReadFrom(buf)
		if err != nil {
			return
		}
		recs = c.take(buf[:n], from, now, recs)
	}
}

func addrOf(a net.Addr) netip.Addr {
	switch v := a.(type) {
	case *net.UDPAddr:
		ap := v.AddrPort()
		return ap.Addr().Unmap()
	}
	if ap, err := netip.ParseAddrPort(a.String()); err == nil {
		return ap.Addr().Unmap()
	}
	return netip.Addr{}
}

// Families returns the pipeline counters as Prometheus metric families.
func (p *Pipeline) Families() []metrics.Family {
	s := &p.stats
	drops := metrics.Family{Name: "netvet_egress_records_dropped_total", Help: "Flow records the pipeline dropped, by reason.", Type: metrics.Counter}
	for _, d := range []struct {
		reason string
		v      uint64
	}{{"unknown_source", s.DropUnknownSource.Load()}, {"no_address", s.DropNoAddress.Load()}, {"no_time", s.DropNoTime.Load()}, {"pair_cap", s.DropPairCap.Load()}} {
		drops.Samples = append(drops.Samples, metrics.Sample{Labels: []metrics.Label{{Name: "reason", Value: d.reason}}, Value: float64(d.v)})
	}
	alerts := metrics.Family{Name: "netvet_egress_alerts_total", Help: "Alerts raised, by rule.", Type: metrics.Counter}
	for i, r := range Rules {
		alerts.Samples = append(alerts.Samples, metrics.Sample{Labels: []metrics.Label{{Name: "rule", Value: r}}, Value: float64(s.AlertsByRule[i].Load())})
	}
	one := func(name, help string, v uint64) metrics.Family {
		return metrics.Family{Name: name, Help: help, Type: metrics.Counter, Samples: []metrics.Sample{{Value: float64(v)}}}
	}
	return []metrics.Family{
		one("netvet_egress_records_total", "Flow records offered to the pipeline.", s.Records.Load()),
		one("netvet_egress_records_accepted_total", "Flow records from known elements.", s.Accepted.Load()),
		one("netvet_egress_records_denied_total", "Flow records the allowlist did not allow.", s.Denied.Load()),
		one("netvet_egress_alerts_suppressed_total", "Alerts held back by the repeat interval.", s.Suppressed.Load()),
		one("netvet_egress_peers_evicted_total", "Destinations evicted to keep an element within its peer cap.", s.EvictedPeers.Load()),
		one("netvet_egress_denied_peers_evicted_total", "Evicted destinations the allowlist did not allow.", s.EvictedDenied.Load()),
		drops, alerts,
	}
}

// DecoderFamilies returns the flow decoder counters as metric families.
func DecoderFamilies(st *flow.Stats) []metrics.Family {
	one := func(name, help string, v uint64) metrics.Family {
		return metrics.Family{Name: name, Help: help, Type: metrics.Counter, Samples: []metrics.Sample{{Value: float64(v)}}}
	}
	drops := metrics.Family{Name: "netvet_flow_datagrams_dropped_total", Help: "Export datagrams or records the decoder dropped, by reason.", Type: metrics.Counter}
	for _, d := range []struct {
		reason string
		v      uint64
	}{
		{"unknown_exporter", st.DropUnknownExporter.Load()}, {"exporter_cap", st.DropExporterCap.Load()},
		{"template_cap", st.DropTemplateCap.Load()}, {"malformed", st.DropMalformed.Load()},
		{"unsupported", st.DropUnsupported.Load()}, {"no_address", st.DropNoAddress.Load()},
	} {
		drops.Samples = append(drops.Samples, metrics.Sample{Labels: []metrics.Label{{Name: "reason", Value: d.reason}}, Value: float64(d.v)})
	}
	return []metrics.Family{
		one("netvet_flow_packets_total", "Export datagrams offered to the decoder.", st.Packets.Load()),
		one("netvet_flow_records_total", "Flow records decoded.", st.Records.Load()),
		one("netvet_flow_decode_errors_total", "Datagrams rejected in whole or in part.", st.DecodeErrors.Load()),
		one("netvet_flow_template_misses_total", "Data sets that arrived before their template.", st.TemplateMisses.Load()),
		one("netvet_flow_decoder_panics_total", "Decoder panics recovered.", st.Panics.Load()),
		one("netvet_flow_templates_added_total", "Templates stored.", st.TemplatesAdded.Load()),
		one("netvet_flow_templates_expired_total", "Templates expired after being idle.", st.TemplatesExpired.Load()),
		drops,
	}
}
