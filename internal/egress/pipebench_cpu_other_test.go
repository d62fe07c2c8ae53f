//go:build !linux

package egress

import "time"

// Without getrusage the benchmarks report wall-clock figures only.
func pbCPU() time.Duration       { return 0 }
func pbThreadCPU() time.Duration { return 0 }
