package sbom

import (
	"strings"
	"testing"

	"github.com/anchore/syft/syft/cpe"

	"github.com/netvet/netvet/internal/sbom/detect"
)

// netvet binds CPEs itself (the detect package links no syft); the result
// must read back the same through syft's CPE parser, which grype uses.
func TestCPEBindingMatchesSyft(t *testing.T) {
	for _, v := range []string{"1.36.1", "1.0.2k", "2.11-devel", "2022.83", "0.94.14rc21", "1:2.3+b1", "a b", "4.14.180", "x!y", "1.2_3"} {
		got := detect.PrimaryCPE("busybox", v)
		a, err := cpe.NewAttributes(got)
		if err != nil {
			t.Errorf("%q: syft cannot parse %q: %v", v, got, err)
			continue
		}
		want := strings.ReplaceAll(v, " ", "_")
		if a.Vendor != "busybox" || a.Product != "busybox" || a.Part != "a" || a.Version != want {
			t.Errorf("%q: %q reads back as %+v", v, got, a)
		}
		if syftForm := (cpe.Attributes{Part: "a", Vendor: "busybox", Product: "busybox", Version: v}).String(); syftForm != got {
			t.Errorf("%q: netvet %q, syft %q", v, got, syftForm)
		}
	}
}
