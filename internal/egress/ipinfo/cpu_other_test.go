//go:build !linux

package ipinfo

import "time"

func threadCPU() time.Duration { return 0 }
