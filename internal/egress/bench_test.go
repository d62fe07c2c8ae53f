package egress

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/netvet/netvet/internal/egress/allow"
	"github.com/netvet/netvet/internal/egress/flow"
)

// BenchmarkPipelineAdd feeds 1,000 elements × 10 destinations (one
// not allowlisted, with an ASN lookup) through the allowlist, beacon
// tracker and baseline: the per-flow cost after decoding.
func BenchmarkPipelineAdd(b *testing.B) {
	var sb strings.Builder
	sb.WriteString("address,element,vendor,function\n")
	for i := 0; i < 1000; i++ {
		fmt.Fprintf(&sb, "10.1.%d.%d,e%d,acme,gnb\n", i/250, i%250+1, i)
	}
	em, err := ParseElements("b", strings.NewReader(sb.String()), nil)
	if err != nil {
		b.Fatal(err)
	}
	pol, err := allow.Parse("b", []byte(testPolicy), nil)
	if err != nil {
		b.Fatal(err)
	}
	p, err := New(Config{Elements: em, Policy: pol})
	if err != nil {
		b.Fatal(err)
	}
	recs := make([]flow.Record, 10000)
	for i := range recs {
		el := i % 1000
		dst := netip.MustParseAddr("10.30.0.5")
		if i/1000%10 == 9 {
			dst = netip.MustParseAddr("45.0.0.9")
		} else if i/1000%10 > 4 {
			dst = netip.AddrFrom4([4]byte{10, 30, 0, byte(i / 1000)})
		}
		recs[i] = flow.Record{Src: netip.AddrFrom4([4]byte{10, 1, byte(el / 250), byte(el%250 + 1)}), Dst: dst, SrcPort: 40000,
			DstPort: 443, Proto: 6, Bytes: 1000, Packets: 5, Exporter: netip.MustParseAddr("10.9.0.1"), Protocol: flow.ProtoIPFIX, SamplingRate: 1}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		r := &recs[i%len(recs)]
		r.Start = t0.Add(time.Duration(i) * time.Millisecond)
		r.End = r.Start.Add(time.Second)
		p.Add(r)
	}
}
