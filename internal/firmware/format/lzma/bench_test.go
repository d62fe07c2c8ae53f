package lzma

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/netvet/netvet/internal/firmware/fwtest"
)

// benchInput is about 8 MB of text compressed with its size in the header.
func benchInput(b *testing.B) []byte {
	plain := fwtest.Fixture(b, "plain.txt")
	data := bytes.Repeat(plain, 160)
	return knownSize(b, data)
}

func BenchmarkExtract(b *testing.B) {
	in := benchInput(b)
	var out int64
	for b.Loop() {
		n := &fwtest.Discard{}
		if _, err := New().Extract(b.Context(), bytes.NewReader(in), int64(len(in)), n); err != nil {
			b.Fatal(err)
		}
		out = n.Bytes
	}
	b.SetBytes(out)
}

// BenchmarkIdentify measures the trial decode the driver runs at every
// signature match.
func BenchmarkIdentify(b *testing.B) {
	in := fwtest.Fixture(b, "plain.lzma")
	src := bytes.NewReader(in)
	b.ReportAllocs()
	for b.Loop() {
		if !New().Identify(src, int64(len(in))) {
			b.Fatal("not identified")
		}
	}
}

// BenchmarkIdentifyRandom measures the common case: a signature found by
// chance, with random bytes behind it.
func BenchmarkIdentifyRandom(b *testing.B) {
	in := randomBehindHeader(1, 8192)
	src := bytes.NewReader(in)
	b.ReportAllocs()
	for b.Loop() {
		if New().Identify(src, int64(len(in))) {
			b.Fatal("identified")
		}
	}
}

// BenchmarkExtractMixed decodes about 8 MB of log-like text whose numbers
// and words vary, so that literals and short matches dominate as in real
// firmware, rather than the long repeats of BenchmarkExtract.
func BenchmarkExtractMixed(b *testing.B) {
	in := knownSize(b, mixedText(8<<20))
	var out int64
	for b.Loop() {
		n := &fwtest.Discard{}
		if _, err := New().Extract(b.Context(), bytes.NewReader(in), int64(len(in)), n); err != nil {
			b.Fatal(err)
		}
		out = n.Bytes
	}
	b.SetBytes(out)
}

// mixedText returns n bytes of deterministic log-like text.
func mixedText(n int) []byte {
	rng := rand.New(rand.NewPCG(1, 2))
	words := []string{"eth0", "link", "up", "down", "dhcp", "lease", "route", "add", "del", "firmware", "kernel", "mtd", "ubi", "squashfs", "init", "daemon", "config", "error", "warn", "info"}
	var b bytes.Buffer
	for b.Len() < n {
		fmt.Fprintf(&b, "%08x [%5d.%06d] %s %s %s: %d %x\n", rng.Uint32(), rng.IntN(99999), rng.IntN(999999),
			words[rng.IntN(len(words))], words[rng.IntN(len(words))], words[rng.IntN(len(words))], rng.IntN(1<<16), rng.Uint64())
	}
	return b.Bytes()[:n]
}
