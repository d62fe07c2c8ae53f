package cramfs

import (
	"testing"

	"github.com/netvet/netvet/internal/firmware/fwtest"
)

// BenchmarkExtract extracts the image named by NETVET_BENCH_CRAMFS
// (skipped when unset), e.g. one made from a large directory tree.
func BenchmarkExtract(b *testing.B) {
	fwtest.BenchExtract(b, New(), "NETVET_BENCH_CRAMFS")
}
