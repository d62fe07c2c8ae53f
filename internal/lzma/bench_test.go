package lzma

import (
	"bytes"
	"io"
	"os"
	"os/exec"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/ulikunitz/xz"
)

// cpuTime returns the user+system CPU time of this process.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// reportCPU adds a CPU-time throughput metric, steadier than wall time on a
// shared machine.
func reportCPU(b *testing.B, cpu time.Duration, bytes int64) {
	if cpu > 0 {
		b.ReportMetric(float64(bytes)*float64(b.N)/cpu.Seconds()/1e6, "cpuMB/s")
	}
}

// squashBlocks compresses data in 128 KiB blocks, each a separate .xz
// stream made by the xz CLI at -6 with a 128 KiB dictionary and CRC32, as
// mksquashfs -comp xz does.
func squashBlocks(b *testing.B, data []byte) [][]byte {
	const bs = 128 << 10
	var out [][]byte
	for off := 0; off < len(data); off += bs {
		blk := data[off:min(off+bs, len(data))]
		cmd := exec.Command("xz", "-c", "-q", "--check=crc32", "--lzma2=preset=6,dict=128KiB")
		cmd.Stdin = bytes.NewReader(blk)
		c, err := cmd.Output()
		if err != nil {
			b.Fatal(err)
		}
		out = append(out, c)
	}
	return out
}

// xzWall runs `xz -d` on comp and reports its wall and user time per run.
func xzWall(b *testing.B, comp []byte, outLen int) {
	b.SetBytes(int64(outLen))
	var user time.Duration
	for b.Loop() {
		cmd := exec.Command("xz", "-d", "-c", "-T1")
		cmd.Stdin = bytes.NewReader(comp)
		cmd.Stdout = io.Discard
		if err := cmd.Run(); err != nil {
			b.Fatal(err)
		}
		user += cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	}
	reportCPU(b, user, int64(outLen))
}

func BenchmarkDecodeXZ(b *testing.B) {
	if _, err := exec.LookPath("xz"); err != nil {
		b.Skip("xz not installed")
	}
	data := realData(b, 4<<20)
	if len(data) == 0 {
		b.Skip("no library data")
	}
	blocks := squashBlocks(b, data)
	dst := make([]byte, 128<<10)
	b.Run("netvet", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		c0 := cpuTime()
		for b.Loop() {
			for _, blk := range blocks {
				if _, err := DecodeXZ(dst, blk); err != nil {
					b.Fatal(err)
				}
			}
		}
		reportCPU(b, cpuTime()-c0, int64(len(data)))
	})
	b.Run("ulikunitz", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		c0 := cpuTime()
		for b.Loop() {
			for _, blk := range blocks {
				r, err := xz.NewReader(bytes.NewReader(blk))
				if err != nil {
					b.Fatal(err)
				}
				n, err := io.ReadFull(r, dst)
				if err != nil && err != io.ErrUnexpectedEOF || n == 0 {
					b.Fatal(err)
				}
			}
		}
		reportCPU(b, cpuTime()-c0, int64(len(data)))
	})
	b.Run("xz-cli", func(b *testing.B) {
		// All blocks as one multi-stream file in one process.
		xzWall(b, bytes.Join(blocks, nil), len(data))
	})
}

func BenchmarkXZReader(b *testing.B) {
	if _, err := exec.LookPath("xz"); err != nil {
		b.Skip("xz not installed")
	}
	data := realData(b, 8<<20)
	if len(data) == 0 {
		b.Skip("no library data")
	}
	cmd := exec.Command("xz", "-c", "-q", "-6")
	cmd.Stdin = bytes.NewReader(data)
	comp, err := cmd.Output()
	if err != nil {
		b.Fatal(err)
	}
	b.Run("netvet", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		c0 := cpuTime()
		for b.Loop() {
			r, err := NewXZReader(bytes.NewReader(comp), 64<<20)
			if err != nil {
				b.Fatal(err)
			}
			if n, err := io.Copy(io.Discard, r); err != nil || n != int64(len(data)) {
				b.Fatal(n, err)
			}
		}
		reportCPU(b, cpuTime()-c0, int64(len(data)))
	})
	b.Run("netvet-oneshot", func(b *testing.B) {
		dst := make([]byte, len(data))
		b.SetBytes(int64(len(data)))
		c0 := cpuTime()
		for b.Loop() {
			if _, err := DecodeXZ(dst, comp); err != nil {
				b.Fatal(err)
			}
		}
		reportCPU(b, cpuTime()-c0, int64(len(data)))
	})
	b.Run("ulikunitz", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		c0 := cpuTime()
		for b.Loop() {
			r, err := xz.NewReader(bytes.NewReader(comp))
			if err != nil {
				b.Fatal(err)
			}
			if n, err := io.Copy(io.Discard, r); err != nil || n != int64(len(data)) {
				b.Fatal(n, err)
			}
		}
		reportCPU(b, cpuTime()-c0, int64(len(data)))
	})
	b.Run("xz-cli", func(b *testing.B) { xzWall(b, comp, len(data)) })
}

// threadCPU returns the CPU time of the calling OS thread.
func threadCPU() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(1 /* RUSAGE_THREAD */, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// TestPerfCompare prints the best-of-N CPU time of this decoder and of
// `xz -d` on the benchmark data (set LZMA_PERF=1; informational).
func TestPerfCompare(t *testing.T) {
	if os.Getenv("LZMA_PERF") == "" {
		t.Skip("set LZMA_PERF=1")
	}
	b := &testing.B{}
	data := realData(b, 4<<20)
	blocks := squashBlocks(b, data)
	cmd := exec.Command("xz", "-c", "-q", "-6")
	cmd.Stdin = bytes.NewReader(data)
	big, _ := cmd.Output()
	var wallBest time.Duration
	best := func(f func()) time.Duration {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		m := time.Hour
		wallBest = time.Hour
		for i := 0; i < 9; i++ {
			c, w := threadCPU(), time.Now()
			f()
			m = min(m, threadCPU()-c)
			wallBest = min(wallBest, time.Since(w))
		}
		return m
	}
	var xzWallBest time.Duration
	bestXZ := func(comp []byte) time.Duration {
		m := time.Hour
		xzWallBest = time.Hour
		for i := 0; i < 9; i++ {
			cmd := exec.Command("xz", "-d", "-c", "-T1")
			cmd.Stdin = bytes.NewReader(comp)
			cmd.Stdout = io.Discard
			w := time.Now()
			cmd.Run()
			xzWallBest = min(xzWallBest, time.Since(w))
			m = min(m, cmd.ProcessState.UserTime()+cmd.ProcessState.SystemTime())
		}
		return m
	}
	dst := make([]byte, len(data))
	mb := func(d time.Duration) float64 { return float64(len(data)) / d.Seconds() / 1e6 }
	a := best(func() {
		for _, blk := range blocks {
			DecodeXZ(dst, blk)
		}
	})
	aw := wallBest
	x := bestXZ(bytes.Join(blocks, nil))
	t.Logf("128K blocks, CPU: netvet %v (%.1f MB/s), xz -d %v (%.1f MB/s), ratio %.2f", a, mb(a), x, mb(x), a.Seconds()/x.Seconds())
	t.Logf("128K blocks, best wall: netvet %v (%.1f MB/s), xz -d %v (%.1f MB/s)", aw, mb(aw), xzWallBest, mb(xzWallBest))
	a = best(func() { DecodeXZ(dst, big) })
	aw = wallBest
	s := best(func() {
		r, _ := NewXZReader(bytes.NewReader(big), 64<<20)
		io.Copy(io.Discard, r)
	})
	sw := wallBest
	x = bestXZ(big)
	t.Logf("4 MiB stream, best wall: one-shot %v (%.1f MB/s), reader %v (%.1f MB/s), xz -d %v (%.1f MB/s)", aw, mb(aw), sw, mb(sw), xzWallBest, mb(xzWallBest))
	t.Logf("4 MiB stream, CPU: netvet one-shot %v (%.1f MB/s), reader %v (%.1f MB/s), xz -d %v (%.1f MB/s), ratio %.2f/%.2f",
		a, mb(a), s, mb(s), x, mb(x), a.Seconds()/x.Seconds(), s.Seconds()/x.Seconds())
}
