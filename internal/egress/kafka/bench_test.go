package kafka

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/netvet/netvet/internal/egress"
	"github.com/netvet/netvet/internal/egress/allow"
	"github.com/netvet/netvet/internal/egress/flow"
)

// BenchmarkAnalyseRecord measures what an analyse member does per flows
// record without Kafka: decode the JSON, check key and element, feed the
// pipeline (1,000 elements × 10 destinations, with an allowlist).
func BenchmarkAnalyseRecord(b *testing.B) {
	var csv strings.Builder
	csv.WriteString("address,element\n")
	for i := 0; i < 1000; i++ {
		fmt.Fprintf(&csv, "10.1.%d.%d,el-%d\n", i/250, i%250+1, i)
	}
	em, err := egress.ParseElements("elements.csv", strings.NewReader(csv.String()), nil)
	if err != nil {
		b.Fatal(err)
	}
	pol, err := allow.Parse("allow.yaml", []byte(testPolicy), nil)
	if err != nil {
		b.Fatal(err)
	}
	p, err := egress.New(egress.Config{Elements: em, Policy: pol})
	if err != nil {
		b.Fatal(err)
	}
	type msg struct{ key, val []byte }
	var msgs []msg
	for i := 0; i < 1000; i++ {
		for d := 0; d < 10; d++ {
			r := flow.Record{Exporter: netip.MustParseAddr("10.9.0.1"), Protocol: flow.ProtoIPFIX,
				Src: netip.AddrFrom4([4]byte{10, 1, byte(i / 250), byte(i%250 + 1)}), Dst: netip.AddrFrom4([4]byte{45, 0, byte(d), 9}),
				SrcPort: 40000, DstPort: 443, Proto: 6, Bytes: 900, Packets: 6, SamplingRate: 1,
				Start: t0.Add(time.Duration(d) * time.Second), End: t0.Add(time.Duration(d)*time.Second + time.Second), TimeSource: flow.TimeAbsoluteMs}
			el := fmt.Sprintf("el-%d", i)
			v, err := AppendFlow(nil, el, &r)
			if err != nil {
				b.Fatal(err)
			}
			msgs = append(msgs, msg{[]byte(el), v})
		}
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		m := msgs[i%len(msgs)]
		i++
		element, rec, err := DecodeFlow(m.val)
		if err != nil || string(m.key) != element {
			b.Fatal(err)
		}
		if el, ok := em.Lookup(rec.Src); !ok || el.ID != element {
			b.Fatal("element mismatch")
		}
		p.Add(&rec)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
}
