package kafka

import (
	"bytes"
	"context"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/netvet/netvet/internal/egress/metrics"
)

func TestForwardAndTee(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(2, testRaw))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	p, err := NewRawProducer(ProducerConfig{Conn: Conn{Brokers: c.ListenAddrs()}, Topic: testRaw})
	if err != nil {
		t.Fatal(err)
	}
	conn, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	lo := netip.MustParseAddr("127.0.0.1")
	accept := func(a netip.Addr) bool { return a == lo }
	var st ForwardStats
	fctx, fstop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := p.Forward(fctx, conn, accept, &st); err != nil {
			t.Error(err)
		}
	}()
	send := func(from string, payload []byte) {
		s, err := net.DialUDP("udp4", net.UDPAddrFromAddrPort(netip.MustParseAddrPort(from)), conn.LocalAddr().(*net.UDPAddr))
		if err != nil {
			t.Skipf("cannot send from %s: %v", from, err)
		}
		defer s.Close()
		if _, err := s.Write(payload); err != nil {
			t.Fatal(err)
		}
	}
	payloads := [][]byte{{0, 9, 0, 1, 'a'}, {0, 10, 0, 5, 'b', 'c'}, {0, 5, 0, 0}}
	for _, pl := range payloads {
		send("127.0.0.1:0", pl)
	}
	send("127.0.0.2:0", []byte{0, 9, 0, 0}) // not accepted
	waitFor(t, "datagrams forwarded", 10*time.Second, func() bool { return st.Datagrams.Load() == 4 })
	fstop()
	wg.Wait()
	if st.DropUnknown.Load() != 1 || st.PublishedOrTried.Load() != 3 {
		t.Errorf("forward stats: %d unknown, %d published", st.DropUnknown.Load(), st.PublishedOrTried.Load())
	}

	// the tee publishes what its reader gets, unchanged
	tee := p.Tee(conn, accept)
	send("127.0.0.1:0", []byte{0, 9, 0, 2, 'z'})
	buf := make([]byte, 100)
	_ = tee.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, _, err := tee.ReadFrom(buf)
	if err != nil || !bytes.Equal(buf[:n], []byte{0, 9, 0, 2, 'z'}) {
		t.Fatalf("tee read %q, %v", buf[:n], err)
	}
	payloads = append(payloads, buf[:n:n])
	if err := p.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if p.Stats().Acked.Load() != 4 {
		t.Fatalf("acked %d datagrams, want 4", p.Stats().Acked.Load())
	}

	cl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...), kgo.ConsumeTopics(testRaw), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	var got [][]byte
	parts := map[int32]bool{}
	for len(got) < len(payloads) {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("read %d of %d records", len(got), len(payloads))
		}
		fs.EachRecord(func(r *kgo.Record) {
			raw, err := ParseRaw(r.Key, r.Headers, r.Value)
			if err != nil || raw.Exporter != lo {
				t.Errorf("record %v: %+v %v", r.Key, raw, err)
			}
			parts[r.Partition] = true
			got = append(got, r.Value)
		})
	}
	if len(parts) != 1 {
		t.Errorf("one exporter's datagrams spread over partitions %v", parts)
	}
	for i := range payloads {
		if !bytes.Equal(got[i], payloads[i]) {
			t.Errorf("record %d = %v, want %v (order kept)", i, got[i], payloads[i])
		}
	}
}

// TestPublishNeverBlocks: with no reachable broker the buffer fills and
// further datagrams are dropped and counted at once.
func TestPublishNeverBlocks(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	p, err := NewRawProducer(ProducerConfig{Conn: Conn{Brokers: []string{addr}}, MaxBufferedRecords: 5, DeliveryTimeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	e := netip.MustParseAddr("10.9.0.1")
	ok := 0
	for i := 0; i < 1000; i++ {
		if p.Publish(e, []byte{0, 9, 0, 0}, t0) {
			ok++
		}
	}
	if !p.Publish(netip.Addr{}, []byte{0, 9, 0, 0}, t0) && p.Stats().DropInvalid.Load() != 1 {
		t.Error("a datagram without exporter was not counted as invalid")
	}
	if p.Publish(e, []byte{1, 2}, t0) || p.Stats().DropInvalid.Load() != 2 {
		t.Error("a 2-byte datagram was accepted")
	}
	if ok > 5 || ok == 0 {
		t.Errorf("%d datagrams queued with a buffer of 5", ok)
	}
	waitFor(t, "drops counted", 5*time.Second, func() bool { return p.Stats().DropBuffer.Load() >= uint64(1000-5) })
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if err := p.Close(ctx); err == nil {
		t.Error("Close reported success with undelivered datagrams")
	}
}

func TestFamilies(t *testing.T) {
	var b bytes.Buffer
	p := &RawProducer{}
	p.stats.DropBuffer.Add(3)
	d := &DecodeStage{}
	d.stats.Drops.add(ReasonVersion)
	a := &AnalyseStage{}
	a.stats.Drops.add(ReasonKey)
	fams := append(append(p.Families(&ForwardStats{}), d.Families()...), a.Families()...)
	if err := metrics.Write(&b, fams); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`netvet_kafka_raw_dropped_total{reason="buffer_full"} 3`, `netvet_kafka_decode_dropped_total{reason="version"} 1`,
		`netvet_kafka_analyse_dropped_total{reason="key"} 1`} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("metrics lack %s:\n%s", want, b.String())
		}
	}
}
