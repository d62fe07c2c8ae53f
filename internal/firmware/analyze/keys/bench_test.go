package keys

import (
	"bytes"
	"context"
	"math/rand/v2"
	"testing"
)

// BenchmarkScan measures the marker search over 16 MiB of random bytes
// with a few PEM blocks in it.
func BenchmarkScan(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 1))
	data := make([]byte, 16<<20)
	for i := range data {
		data[i] = byte(r.Uint32())
	}
	key := []byte(fixture(b, "pem_ec_sec1.key"))
	for _, at := range []int{1000, 5 << 20, 12<<20 + 7} {
		copy(data[at:], key)
	}
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		n := 0
		if err := scanMarkers(context.Background(), bytes.NewReader(data), int64(len(data)), 1<<20, func(hit) bool { n++; return true }); err != nil || n != 3 {
			b.Fatalf("%d hits, %v", n, err)
		}
	}
}
