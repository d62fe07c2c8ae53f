//go:build !linux

package allow

import "time"

func threadCPU() time.Duration { return 0 }
