package kafka

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/netvet/netvet/internal/egress/flow"
)

// ProducerConfig sets up a RawProducer. Zero fields take the defaults in
// brackets.
type ProducerConfig struct {
	Conn  Conn
	Topic string // [netvet.egress.raw]
	// MaxBufferedRecords and MaxBufferedBytes bound what waits for Kafka
	// [10,000 datagrams, 32 MiB]; beyond them datagrams are dropped.
	MaxBufferedRecords int
	MaxBufferedBytes   int
	// DeliveryTimeout fails a buffered datagram that Kafka has not taken
	// after this long, so a dead cluster frees the buffer [30s].
	DeliveryTimeout time.Duration
	Log             *slog.Logger
}

// ProducerStats are the raw producer counters.
type ProducerStats struct {
	Offered     atomic.Uint64 // datagrams offered to Publish
	Acked       atomic.Uint64 // written to Kafka
	DropBuffer  atomic.Uint64 // buffer full: Kafka slow or away
	DropFailed  atomic.Uint64 // Kafka refused or delivery timed out
	DropInvalid atomic.Uint64 // no exporter address or bad size
}

// RawProducer publishes export datagrams to the raw topic. Publish never
// blocks; it is safe for concurrent use.
type RawProducer struct {
	cl      *kgo.Client
	topic   string
	log     *slog.Logger
	stats   ProducerStats
	ctx     context.Context
	maxRecs int64
}

// NewRawProducer connects lazily: it returns without talking to Kafka.
func NewRawProducer(cfg ProducerConfig) (*RawProducer, error) {
	if cfg.Topic == "" {
		cfg.Topic = DefaultRawTopic
	}
	if cfg.MaxBufferedRecords <= 0 {
		cfg.MaxBufferedRecords = 10_000
	}
	if cfg.MaxBufferedBytes <= 0 {
		cfg.MaxBufferedBytes = 32 << 20
	}
	if cfg.DeliveryTimeout <= 0 {
		cfg.DeliveryTimeout = 30 * time.Second
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	opts, err := cfg.Conn.opts(cfg.Log)
	if err != nil {
		return nil, err
	}
	opts = append(opts,
		kgo.DefaultProduceTopic(cfg.Topic),
		kgo.RecordPartitioner(kgo.StickyKeyPartitioner(nil)),
		kgo.MaxBufferedRecords(cfg.MaxBufferedRecords),
		kgo.MaxBufferedBytes(cfg.MaxBufferedBytes),
		kgo.RecordDeliveryTimeout(cfg.DeliveryTimeout),
		kgo.ProducerLinger(5*time.Millisecond),
	)
	opts = append(opts, cfg.Conn.Opts...)
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return nil, fmt.Errorf("kafka: raw producer: %w", err)
	}
	return &RawProducer{cl: cl, topic: cfg.Topic, log: cfg.Log, ctx: context.Background(), maxRecs: int64(cfg.MaxBufferedRecords)}, nil
}

// Stats returns the live counters.
func (p *RawProducer) Stats() *ProducerStats { return &p.stats }

// Publish queues one datagram received from exporter at recv. It copies
// pkt. It returns false when the datagram was dropped at once (bad input
// or full buffer); drops found later (buffer full, delivery failed) are
// counted in Stats.
func (p *RawProducer) Publish(exporter netip.Addr, pkt []byte, recv time.Time) bool {
	p.stats.Offered.Add(1)
	exporter = exporter.Unmap()
	if !exporter.IsValid() || exporter.IsUnspecified() || len(pkt) < MinDatagram || len(pkt) > flow.MaxDatagram {
		p.stats.DropInvalid.Add(1)
		return false
	}
	if p.cl.BufferedProduceRecords() >= p.maxRecs {
		p.dropFull()
		return false
	}
	rec := &kgo.Record{Topic: p.topic, Key: exporter.AsSlice(), Value: append([]byte(nil), pkt...), Headers: RawHeaders(exporter, recv)}
	p.cl.TryProduce(p.ctx, rec, func(r *kgo.Record, err error) {
		switch {
		case err == nil:
			p.stats.Acked.Add(1)
		case errors.Is(err, kgo.ErrMaxBuffered):
			p.dropFull()
		default:
			if p.stats.DropFailed.Add(1)%10_000 == 1 {
				p.log.Warn("kafka: raw producer: datagram not delivered", "topic", p.topic, "err", err, "failed", p.stats.DropFailed.Load())
			}
		}
	})
	return true
}

func (p *RawProducer) dropFull() {
	if n := p.stats.DropBuffer.Add(1); n%10_000 == 1 {
		p.log.Warn("kafka: raw producer buffer full: dropping datagrams", "topic", p.topic, "dropped", n)
	}
}

// Flush waits until every datagram queued so far is delivered or failed.
func (p *RawProducer) Flush(ctx context.Context) error { return p.cl.Flush(ctx) }

// Close waits up to ctx for buffered datagrams, then closes the client.
func (p *RawProducer) Close(ctx context.Context) error {
	err := p.cl.Flush(ctx)
	p.cl.Close()
	if err != nil {
		return fmt.Errorf("kafka: raw producer: flushing: %w", err)
	}
	return nil
}

// Tee returns a PacketConn that publishes every datagram read through it
// whose source accept allows (nil: all), then returns it to the caller
// unchanged. It lets a collector feed Kafka and analyse locally at once.
func (p *RawProducer) Tee(conn net.PacketConn, accept func(netip.Addr) bool) net.PacketConn {
	return &teeConn{PacketConn: conn, p: p, accept: accept}
}

type teeConn struct {
	net.PacketConn
	p      *RawProducer
	accept func(netip.Addr) bool
}

func (c *teeConn) ReadFrom(b []byte) (int, net.Addr, error) {
	n, from, err := c.PacketConn.ReadFrom(b)
	if err == nil && n <= flow.MaxDatagram {
		exp := addrOf(from)
		if c.accept == nil || c.accept(exp) {
			c.p.Publish(exp, b[:n], time.Now())
		}
	}
	return n, from, err
}

// ForwardStats are the counters of Forward.
type ForwardStats struct {
	Datagrams        atomic.Uint64 // read from the socket
	DropUnknown      atomic.Uint64 // from an exporter not accepted
	DropOversize     atomic.Uint64 // larger than flow.MaxDatagram
	PublishedOrTried atomic.Uint64 // handed to Publish
}

// Forward reads datagrams from conn until ctx is done and publishes those
// whose source accept allows; it decodes nothing (the raw stage alone).
func (p *RawProducer) Forward(ctx context.Context, conn net.PacketConn, accept func(netip.Addr) bool, st *ForwardStats) error {
	if accept == nil {
		return errors.New("kafka: forward: no exporter filter")
	}
	if st == nil {
		st = new(ForwardStats)
	}
	buf := make([]byte, flow.MaxDatagram+1)
	var deadline time.Time
	for {
		if ctx.Err() != nil {
			return nil
		}
		if now := time.Now(); !now.Before(deadline) {
			deadline = now.Add(time.Second)
			if err := conn.SetReadDeadline(deadline); err != nil {
				return fmt.Errorf("kafka: forward: %w", err)
			}
		}
		n, from, err := conn.ReadFrom(buf)
		if err != nil {
			if errors.Is(err, os.ErrDeadlineExceeded) {
				continue
			}
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("kafka: forward: %w", err)
		}
		st.Datagrams.Add(1)
		if n > flow.MaxDatagram {
			st.DropOversize.Add(1)
			continue
		}
		exp := addrOf(from)
		if !accept(exp) {
			st.DropUnknown.Add(1)
			continue
		}
		st.PublishedOrTried.Add(1)
		p.Publish(exp, buf[:n], time.Now())
	}
}

func addrOf(a net.Addr) netip.Addr {
	if u, ok := a.(*net.UDPAddr); ok {
		return u.AddrPort().Addr().Unmap()
	}
	if a == nil {
		return netip.Addr{}
	}
	if ap, err := netip.ParseAddrPort(a.String()); err == nil {
		return ap.Addr().Unmap()
	}
	return netip.Addr{}
}
