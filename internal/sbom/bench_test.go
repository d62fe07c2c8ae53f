package sbom

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/netvet/netvet/internal/firmware/format/all"
	"github.com/netvet/netvet/internal/unpack"
)

// BenchmarkCatalog measures Catalog on an unpack folder made by
// `netvet firmware unpack IMAGE -o DIR`, named by $NETVET_BENCH_UNPACKED
// (for example the tar of a rootfs made by bench/mkrootfs.sh). Run each
// sub-benchmark in its own process under /usr/bin/time -v to read its
// peak memory:
//
//	go test -c -o sbom.test ./internal/sbom
//	NETVET_BENCH_UNPACKED=DIR /usr/bin/time -v ./sbom.test -test.run '^$' -test.bench 'Catalog/syft$' -test.benchtime 1x
func BenchmarkCatalog(b *testing.B) {
	dir := os.Getenv("NETVET_BENCH_UNPACKED")
	if dir == "" {
		b.Skip("NETVET_BENCH_UNPACKED not set")
	}
	mf, err := os.Open(filepath.Join(dir, "manifest.json"))
	if err != nil {
		b.Fatal(err)
	}
	m, err := unpack.ReadManifest(mf)
	mf.Close()
	if err != nil {
		b.Fatal(err)
	}
	tr, err := m.Tree(dir, "", all.Registry())
	if err != nil {
		b.Fatal(err)
	}
	defer tr.Close()
	var bytesTotal int64
	for _, f := range tr.Regular() {
		bytesTotal += f.Size
	}
	ctx := context.Background()
	run := func(b *testing.B, f func() int) {
		b.SetBytes(bytesTotal)
		n := 0
		for i := 0; i < b.N; i++ {
			n = f()
		}
		b.ReportMetric(float64(n), "components")
	}
	b.Run("detectors", func(b *testing.B) {
		run(b, func() int {
			cs, err := Catalog(ctx, tr, Options{NoSyft: true})
			if err != nil {
				b.Fatal(err)
			}
			return len(cs)
		})
	})
	b.Run("syft", func(b *testing.B) {
		opts := Options{Dir: dir}.withDefaults()
		run(b, func() int {
			n := 0
			for _, r := range tr.Roots {
				recs, err := catalogRootWithSyft(ctx, tr, r, opts)
				if err != nil {
					b.Fatal(err)
				}
				n += len(merge(recs))
			}
			return n
		})
	})
	b.Run("all", func(b *testing.B) {
		run(b, func() int {
			cs, err := Catalog(ctx, tr, Options{Dir: dir})
			if err != nil {
				b.Fatal(err)
			}
			return len(cs)
		})
	})
}
