package exposure_test

import (
	"bytes"
	"sync"
	"syscall"
	"testing"
	"time"

	exgen "github.com/netvet/netvet/examples/exposure"
	"github.com/netvet/netvet/internal/exposure"
	"github.com/netvet/netvet/internal/inventory"
	"github.com/netvet/netvet/internal/policy"
)

var (
	bigOnce sync.Once
	bigInv  *inventory.Inventory
	bigErr  error
)

// bigInventory generates and loads 1,000,000 elements once per test binary.
func bigInventory(b *testing.B) *inventory.Inventory {
	bigOnce.Do(func() {
		var buf bytes.Buffer
		if bigErr = exgen.Generate(&buf, exgen.Config{Elements: 1_000_000}); bigErr != nil {
			return
		}
		bigInv, bigErr = inventory.LoadCSV(&buf, "generated-1M.csv", inventory.LoadOptions{})
	})
	if bigErr != nil {
		b.Fatal(bigErr)
	}
	return bigInv
}

func allPacks(b *testing.B) *policy.Engine {
	packs, err := policy.LoadPacks("all")
	if err != nil {
		b.Fatal(err)
	}
	eng, err := policy.Compile(packs)
	if err != nil {
		b.Fatal(err)
	}
	return eng
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkAssess1M assesses 1,000,000 generated elements against every
// shipped pack: shares, concentration and evaluation. It reports the CPU
// time per assessment (all threads) next to the wall time; the target is
// under a second of CPU.
func BenchmarkAssess1M(b *testing.B) {
	inv := bigInventory(b)
	eng := allPacks(b)
	at, _ := inventory.ParseDate("2026-06-30")
	b.ReportAllocs()
	b.ResetTimer()
	start := cpuTime()
	var a *exposure.Assessment
	for b.Loop() {
		a = exposure.Assess(inv, eng, at)
	}
	b.ReportMetric((cpuTime()-start).Seconds()/float64(b.N), "cpu-s/op")
	b.ReportMetric(float64(len(inv.Elements)), "elements")
	b.ReportMetric(float64(len(a.Violations)), "violations")
}

// BenchmarkEvaluate1M is the policy evaluation alone, for comparison.
func BenchmarkEvaluate1M(b *testing.B) {
	inv := bigInventory(b)
	eng := allPacks(b)
	at, _ := inventory.ParseDate("2026-06-30")
	b.ReportAllocs()
	b.ResetTimer()
	start := cpuTime()
	for b.Loop() {
		eng.Evaluate(inv, at)
	}
	b.ReportMetric((cpuTime()-start).Seconds()/float64(b.N), "cpu-s/op")
}

// BenchmarkPlan1M builds the replacement plan for the same inventory.
func BenchmarkPlan1M(b *testing.B) {
	inv := bigInventory(b)
	eng := allPacks(b)
	at, _ := inventory.ParseDate("2026-06-30")
	b.ReportAllocs()
	b.ResetTimer()
	start := cpuTime()
	for b.Loop() {
		exposure.MakePlan(inv, eng, at)
	}
	b.ReportMetric((cpuTime()-start).Seconds()/float64(b.N), "cpu-s/op")
}
