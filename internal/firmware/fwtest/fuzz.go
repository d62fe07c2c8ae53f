package fwtest

import (
	"context"
	"testing"
	"time"

	"github.com/netvet/netvet/internal/firmware"
)

// FuzzExtract is the whole body of a format's FuzzExtract: it adds the
// seeds to f and runs Fuzz on every input with a fresh format.
func FuzzExtract(f *testing.F, newFormat func() firmware.Format, seeds ...[]byte) {
	FuzzExtractWithin(f, 0, newFormat, seeds...)
}

// FuzzExtractWithin is FuzzExtract with a deadline of d for each input
// (none when d is 0), for readers whose slow inputs would otherwise stall
// the fuzzer.
func FuzzExtractWithin(f *testing.F, d time.Duration, newFormat func() firmware.Format, seeds ...[]byte) {
	for _, s := range seeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		ctx := t.Context()
		if d > 0 {
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(ctx, d)
			defer cancel()
		}
		Fuzz(ctx, newFormat(), b)
	})
}
