//go:build !linux

package beacon

import "time"

func threadCPU() time.Duration { return 0 }
