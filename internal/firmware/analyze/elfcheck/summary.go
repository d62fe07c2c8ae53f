package elfcheck

import (
	"math"

	"github.com/netvet/netvet/internal/firmware"
)

// Summarize gives image-wide hardening percentages over the executable
// programs among bs (type exec, or dyn marked PIE); shared libraries are
// left out, as their PIE flag has no meaning. Percentages are rounded to
// one decimal so that reports compare byte for byte.
func Summarize(bs []firmware.Binary) firmware.HardeningSummary {
	var s firmware.HardeningSummary
	var nx, pie, relro, canary, fortify, stripped int
	for _, b := range bs {
		if b.Type != "exec" && !(b.Type == "dyn" && b.PIE) {
			continue
		}
		s.Binaries++
		nx += btoi(b.NX)
		pie += btoi(b.PIE)
		relro += btoi(b.RELRO == "full")
		canary += btoi(b.Canary)
		fortify += btoi(b.Fortify)
		stripped += btoi(b.Stripped)
	}
	if s.Binaries == 0 {
		return s
	}
	pct := func(n int) float64 { return math.Round(float64(n)*1000/float64(s.Binaries)) / 10 }
	s.NX, s.PIE, s.RELRO = pct(nx), pct(pie), pct(relro)
	s.Canary, s.Fortify, s.Stripped = pct(canary), pct(fortify), pct(stripped)
	return s
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}
