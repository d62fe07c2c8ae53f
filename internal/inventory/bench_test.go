package inventory

import (
	"bytes"
	"os"
	"testing"

	"github.com/netvet/netvet/examples/exposure"
)

// BenchmarkLoadCSV loads a generated inventory of 1,000,000 elements
// (NETVET_BENCH_ROWS overrides the size) and reports rows per second.
func BenchmarkLoadCSV(b *testing.B) {
	n := 1_000_000
	if s := os.Getenv("NETVET_BENCH_ROWS"); s != "" {
		var v int
		for _, c := range s {
			v = v*10 + int(c-'0')
		}
		n = v
	}
	var buf bytes.Buffer
	if err := exposure.Generate(&buf, exposure.Config{Elements: n}); err != nil {
		b.Fatal(err)
	}
	data := buf.Bytes()
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	b.ResetTimer()
	var rows int
	for b.Loop() {
		inv, err := LoadCSV(bytes.NewReader(data), "bench.csv", LoadOptions{})
		if err != nil {
			b.Fatal(err)
		}
		if len(inv.Problems) > 0 {
			b.Fatalf("problems: %v", inv.Problems[0])
		}
		rows = len(inv.Elements)
	}
	b.ReportMetric(float64(rows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
	b.ReportMetric(float64(rows), "rows")
}
