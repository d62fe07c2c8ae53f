//go:build linux

package egress

import (
	"syscall"
	"time"
)

// pbCPU is the process's user+system CPU time.
func pbCPU() time.Duration { return rusage(syscall.RUSAGE_SELF) }

// pbThreadCPU is the calling OS thread's CPU time; callers lock the
// goroutine to its thread.
func pbThreadCPU() time.Duration { return rusage(1 /* RUSAGE_THREAD */) }

func rusage(who int) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(who, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
