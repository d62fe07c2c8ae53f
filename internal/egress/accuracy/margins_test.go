package accuracy

import (
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/netvet/netvet/internal/egress/egressgen"
)

// TestMargins weakens the planted behaviours step by step to show where
// detection stops. The steps below the documented thresholds must be
// missed: that is what the thresholds mean (docs/egress-detection.md).
func TestMargins(t *testing.T) {
	if raceEnabled || testing.Short() {
		t.Skip("four generated months: run without -race and -short")
	}
	f, err := os.Open(inventoryPath)
	if err != nil {
		t.Fatal(err)
	}
	inv, err := egressgen.ReadInventory(inventoryPath, f)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	els := egressgen.Pick(inv, 20, 6)
	steps := []struct {
		jitter        time.Duration
		foreign, oper float64
		jump          uint64
		mustMiss      []string
	}{
		{3 * time.Second, 0.8, 0.5, 1_800_000_000, nil},
		{10 * time.Second, 0.1, 0.2, 100_000_000, nil},
		{20 * time.Second, 0.04, 0.1, 40_000_000, []string{egressgen.DNSOperator}},                                              // 360 queries an hour < 500
		{29 * time.Second, 0.02, 0.05, 16_000_000, []string{egressgen.DNSForeign, egressgen.DNSOperator, egressgen.VolumeJump}}, // 72 an hour < 100; 8 MB an hour < 10 MB floor
	}
	for _, s := range steps {
		m, err := egressgen.New(egressgen.Config{Seed: 6, Elements: els, BeaconJitter: s.jitter, ForeignQPS: s.foreign, OperatorQPS: s.oper, JumpBytes: s.jump})
		if err != nil {
			t.Fatal(err)
		}
		dir := t.TempDir()
		if err := m.WriteFiles(dir); err != nil {
			t.Fatal(err)
		}
		p := pipeline(t, filepath.Clean(dir))
		m.Run(p.Add)
		o := Evaluate(m.Planted(), p.Finish())
		line := ""
		for _, pl := range m.Planted() {
			if pl.Kind == egressgen.HardNegative {
				continue
			}
			res := "missed"
			if a := o.Found[pl.Kind]; a != nil {
				res = "score " + strconv.Itoa(a.Score)
			}
			line += "; " + pl.Kind + " " + res
			missed := o.Found[pl.Kind] == nil
			want := false
			for _, k := range s.mustMiss {
				want = want || k == pl.Kind
			}
			if missed != want {
				t.Errorf("jitter ±%s, foreign %g q/s, operator %g q/s, jump %d bytes: %s missed=%v, want %v", s.jitter, s.foreign, s.oper, s.jump, pl.Kind, missed, want)
			}
		}
		fp := 0
		for _, c := range o.FalsePos {
			fp += c
		}
		t.Logf("jitter ±%s, foreign %g q/s, operator %g q/s, jump %d bytes%s; false positives %d", s.jitter, s.foreign, s.oper, s.jump, line, fp)
	}
}
