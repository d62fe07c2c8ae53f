package flow

import (
	"bytes"
	"net/netip"
	"syscall"
	"testing"
	"time"

	"github.com/netsampler/goflow2/v2/decoders/netflow"
	"github.com/netsampler/goflow2/v2/decoders/netflowlegacy"
	"github.com/netsampler/goflow2/v2/producer"
	protoproducer "github.com/netsampler/goflow2/v2/producer/proto"

	"github.com/netvet/netvet/internal/egress/flow/flowtest"
)

// benchPackets returns one template datagram (nil for v5) and one data
// datagram of 30 records for each protocol.
func benchPackets() map[string][2][]byte {
	fs := testFlows(false, 30)
	return map[string][2][]byte{
		"v5": {nil, flowtest.V5(boot, export, 0, fs)},
		"v9": {flowtest.NewV9(boot, export, 1, 1).Template(300, flowtest.Fields(flowtest.TimeUptime, false)).Bytes(),
			flowtest.NewV9(boot, export, 2, 1).Data(300, records(flowtest.TimeUptime, false, fs)...).Bytes()},
		"ipfix": {flowtest.NewIPFIX(export, 1, 1).Template(300, flowtest.Fields(flowtest.TimeMillis, false)).Bytes(),
			flowtest.NewIPFIX(export, 2, 1).Data(300, records(flowtest.TimeMillis, false, fs)...).Bytes()},
	}
}

// cpuTime is the process's user+system CPU time; with -cpu 1 it measures
// flows per CPU-second even on a shared, loaded machine.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkDecode compares our decode+normalise path with goflow2's
// decode+producer/proto path on the same datagrams. flows/s is per core
// (run with -cpu 1).
func BenchmarkDecode(b *testing.B) {
	pkts := benchPackets()
	for _, name := range []string{"v5", "v9", "ipfix"} {
		tmpl, data := pkts[name][0], pkts[name][1]
		b.Run(name+"/netvet", func(b *testing.B) {
			d := newTestDecoder(b)
			if tmpl != nil {
				if _, err := d.Decode(exporter, tmpl, export, nil); err != nil {
					b.Fatal(err)
				}
			}
			out := make([]Record, 0, 64)
			b.ReportAllocs()
			b.SetBytes(int64(len(data)))
			n := 0
			c0 := cpuTime()
			for b.Loop() {
				recs, err := d.Decode(exporter, data, export, out[:0])
				if err != nil || len(recs) != 30 {
					b.Fatalf("%d records, %v", len(recs), err)
				}
				n += len(recs)
			}
			b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "flows/s")
			b.ReportMetric(float64(n)/(cpuTime()-c0).Seconds(), "flows/cpu-s")
		})
		b.Run(name+"/goflow2", func(b *testing.B) {
			cfg, err := (&protoproducer.ProducerConfig{}).Compile()
			if err != nil {
				b.Fatal(err)
			}
			prod, err := protoproducer.CreateProtoProducer(cfg, protoproducer.CreateSamplingSystem)
			if err != nil {
				b.Fatal(err)
			}
			ts := netflow.CreateTemplateSystem()
			args := &producer.ProduceArgs{Src: netip.AddrPortFrom(exporter, 2055), SamplerAddress: exporter, TimeReceived: time.Now()}
			if tmpl != nil {
				var v9 netflow.NFv9Packet
				var ipfix netflow.IPFIXPacket
				if err := netflow.DecodeMessageVersion(bytes.NewBuffer(tmpl), ts, &v9, &ipfix); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportAllocs()
			b.SetBytes(int64(len(data)))
			n := 0
			c0 := cpuTime()
			for b.Loop() {
				var msg any
				if name == "v5" {
					var p netflowlegacy.PacketNetFlowV5
					if err := netflowlegacy.DecodeMessageVersion(bytes.NewBuffer(data), &p); err != nil {
						b.Fatal(err)
					}
					msg = &p
				} else {
					var v9 netflow.NFv9Packet
					var ipfix netflow.IPFIXPacket
					if err := netflow.DecodeMessageVersion(bytes.NewBuffer(data), ts, &v9, &ipfix); err != nil {
						b.Fatal(err)
					}
					msg = &v9
					if name == "ipfix" {
						msg = &ipfix
					}
				}
				msgs, err := prod.Produce(msg, args)
				if err != nil || len(msgs) != 30 {
					b.Fatalf("%d messages, %v", len(msgs), err)
				}
				n += len(msgs)
				prod.Commit(msgs)
			}
			b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "flows/s")
			b.ReportMetric(float64(n)/(cpuTime()-c0).Seconds(), "flows/cpu-s")
		})
	}
}
