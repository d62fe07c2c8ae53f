package cramfs

import (
	"os"
	"testing"

	"github.com/netvet/netvet/internal/firmware/fwtest"
)

func TestDump(t *testing.T) {
	for _, f := range []string{"le", "be", "pad", "holes", "b16k", "swapped"} {
		b, _ := os.ReadFile("testdata/" + f + ".cramfs")
		s, n, err := fwtest.Run(t.Context(), New(), b, 1<<30)
		t.Logf("%s: n=%d size=%d err=%v", f, n, len(b), err)
		for _, it := range s.Items {
			t.Logf("  %-20s %v %v %d/%d %q %d,%d len=%d", it.Path, it.Type, it.Mode, it.UID, it.GID, it.LinkTarget, it.DevMajor, it.DevMinor, len(it.Data))
		}
		for _, it := range s.Failed {
			t.Logf("  FAIL %s %v", it.Path, it.Err)
		}
	}
}
