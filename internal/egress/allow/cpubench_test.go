package allow

import (
	"runtime"
	"testing"
)

// cpuLoop runs f in a b.Loop and reports thread CPU ns per call as
// "cpu-ns/op" next to the wall-clock figure.
func cpuLoop(b *testing.B, f func(i int)) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	c0 := threadCPU()
	n := 0
	for b.Loop() {
		f(n)
		n++
	}
	if c := threadCPU() - c0; c > 0 && n > 0 {
		b.ReportMetric(float64(c.Nanoseconds())/float64(n), "cpu-ns/op")
	}
}
