package report

import (
	"io"
	"testing"
)

// BenchmarkWrite renders the full fixture in each format.
func BenchmarkWrite(b *testing.B) {
	r := fullReport()
	for _, f := range Formats() {
		b.Run(f, func(b *testing.B) {
			for b.Loop() {
				if err := Write(io.Discard, r, f, Options{}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
