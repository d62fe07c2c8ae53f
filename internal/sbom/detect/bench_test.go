package detect

import (
	"bytes"
	"context"
	"testing"
)

// BenchmarkScanContent measures the detectors' search rate on 64 MiB of
// machine code-like bytes with a few anchors.
func BenchmarkScanContent(b *testing.B) {
	data := make([]byte, 64<<20)
	for i := range data {
		data[i] = byte(i*7 + i>>9)
	}
	copy(data[40<<20:], "\x00OpenSSL 1.1.1w  11 Sep 2023\x00built on: x\x00")
	buf := make([]byte, window+span)
	b.SetBytes(int64(len(data)))
	for i := 0; i < b.N; i++ {
		hits, _, err := scanContent(context.Background(), bytes.NewReader(data), int64(len(data)), detectors, markers, buf)
		if err != nil || len(hits) != 1 {
			b.Fatal(hits, err)
		}
	}
}
