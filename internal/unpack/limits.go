package unpack

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/netvet/netvet/internal/firmware"
)

// Limits bound what one unpack run may do. Every limit has a default, a
// flag that overrides it, and its own error naming it.
type Limits struct {
	MaxTotalBytes int64         `json:"max_total_bytes"` // bytes written in all
	MaxFileSize   int64         `json:"max_file_size"`   // bytes of one extracted file
	MaxFiles      int64         `json:"max_files"`       // objects extracted (files, dirs, links, nodes)
	MaxDepth      int           `json:"max_depth"`       // nesting of containers inside containers
	MaxRatio      float64       `json:"max_ratio"`       // bytes out per byte of input, for one container
	RatioFloor    int64         `json:"ratio_floor"`     // the ratio is checked once a container wrote this much
	MaxTime       time.Duration `json:"-"`               // wall time of the whole run (JSON: max_time)
	MaxCandidates int           `json:"max_candidates"`  // signature hits examined in one blob
}

// DefaultLimits are sized for real firmware: images of a few GiB whose
// filesystems hold up to a few hundred thousand files.
func DefaultLimits() Limits {
	return Limits{
		MaxTotalBytes: 16 << 30,
		MaxFileSize:   4 << 30,
		MaxFiles:      1_000_000,
		MaxDepth:      16,
		MaxRatio:      200,
		RatioFloor:    64 << 20,
		MaxTime:       time.Hour,
		MaxCandidates: 1_000_000,
	}
}

// Validate reports a limit that makes no sense.
func (l Limits) Validate() error {
	switch {
	case l.MaxTotalBytes <= 0:
		return fmt.Errorf("max-total-bytes must be positive")
	case l.MaxFileSize <= 0:
		return fmt.Errorf("max-file-size must be positive")
	case l.MaxFiles <= 0:
		return fmt.Errorf("max-files must be positive")
	case l.MaxDepth <= 0:
		return fmt.Errorf("max-depth must be positive")
	case l.MaxRatio <= 1:
		return fmt.Errorf("max-ratio must be greater than 1")
	case l.MaxTime <= 0:
		return fmt.Errorf("max-time must be positive")
	case l.MaxCandidates <= 0:
		return fmt.Errorf("max-candidates must be positive")
	}
	return nil
}

func limitErr(name string, value int64, format string, args ...any) error {
	return &firmware.LimitError{Limit: name, Value: value, Msg: fmt.Sprintf(format, args...)}
}

// HumanBytes formats a byte count for messages.
func HumanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

// MarshalJSON writes the limits with the time limit as a Go duration
// string ("1h0m0s").
func (l Limits) MarshalJSON() ([]byte, error) {
	type plain Limits
	return json.Marshal(struct {
		plain
		MaxTime string `json:"max_time"`
	}{plain(l), l.MaxTime.String()})
}
