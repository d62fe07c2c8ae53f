//go:build unix

package endpoints

import (
	"bytes"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"
)

// BenchmarkScanBinary scans the test binary itself (several MiB of Go
// code and data) as the analyser scans a firmware binary.
func BenchmarkScanBinary(b *testing.B) {
	exe, err := os.Executable()
	if err != nil {
		b.Skip(err)
	}
	data, err := os.ReadFile(exe)
	if err != nil {
		b.Skip(err)
	}
	benchScan(b, data, true)
}

// BenchmarkScanText scans a config-like text dense with endpoints.
func BenchmarkScanText(b *testing.B) {
	var sb strings.Builder
	for sb.Len() < 8<<20 {
		sb.WriteString("config server 'wan'\n\toption host 'update.vendor.com'\n\toption ip '203.0.113.7'\n" +
			"\toption url 'https://cloud.vendor.com/api/v1/register'\n\toption mask '255.255.255.0'\n\t# version 1.2.3.4\n")
	}
	benchScan(b, []byte(sb.String()), false)
}

// benchScan reports MB/s of wall time (b.SetBytes) and, because shared
// machines skew wall time, MB per second of CPU time used by the process.
func benchScan(b *testing.B, data []byte, binary bool) {
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	n, loops := 0, 0
	cpu0 := cpuTime()
	for b.Loop() {
		n = 0
		loops++
		Scan(bytes.NewReader(data), Options{Binary: binary}, 0, func(Match) bool { n++; return true })
	}
	if cpu := cpuTime() - cpu0; cpu > 0 {
		b.ReportMetric(float64(len(data))*float64(loops)/1e6/cpu.Seconds(), "MB/cpu-s")
	}
	b.ReportMetric(float64(n), "endpoints")
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
