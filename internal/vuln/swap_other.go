//go:build !linux

package vuln

import "errors"

// exchange is not available here; swapIn falls back to two renames.
func exchange(a, b string) error { return errors.New("atomic exchange not supported") }
