// Package all holds the one list of firmware formats netvet knows.
// Adding a format is a package under internal/firmware/format and one line
// here; a test fails when a format package is missing from this list.
package all

import (
	"github.com/netvet/netvet/internal/firmware"
)

// Formats returns every format, in the order the driver tries them at one
// offset: containers with strong, checksummed headers first, weak
// signatures last.
func Formats() []firmware.Format {
	return []firmware.Format{}
}

// Registry returns a registry of every format.
func Registry() *firmware.Registry { return firmware.NewRegistry(Formats()...) }
