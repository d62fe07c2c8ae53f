package ipinfo

import (
	"runtime"
	"testing"
)

// TestTableMemory reports the heap used by 500,000 ranges with ASN and
// country: the two tables loaded from the file plus the merged table
// lookups read (run with -v to see the figure).
func TestTableMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a large table")
	}
	var a, b runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&a)
	db := buildBig(t, 500_000)
	runtime.GC()
	runtime.ReadMemStats(&b)
	asn, cc := db.Prefixes()
	t.Logf("%d ASN + %d country prefixes, %d merged: %.1f MiB heap", asn, cc, db.geo.Size(), float64(b.HeapAlloc-a.HeapAlloc)/(1<<20))
	runtime.KeepAlive(db)
}
