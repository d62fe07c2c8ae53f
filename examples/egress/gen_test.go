//go:build mkdemoegress

// Rebuild the egress demo capture and its files:
//
//	go test -tags mkdemoegress -run BuildDemoEgress ./examples/egress
//
// Two days of generated management traffic (package egressgen) for
// DemoElements elements of examples/exposure/operator.csv, with a 60 s
// beacon and a daily upload to foreign AS numbers planted, as IPFIX export
// datagrams from one independent edge meter (DemoExporter) to a collector
// on UDP port 4739, in a classic pcap.
package egress_test

import (
	"os"
	"testing"
)

func TestBuildDemoEgress(t *testing.T) {
	m := demoMonth(t)
	if err := m.WriteFiles("."); err != nil {
		t.Fatal(err)
	}
	n, err := writeCapture(m, CaptureFile)
	if err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(CaptureFile)
	if err != nil {
		t.Fatal(err)
	}
	if st.Size() > 2<<20 {
		t.Fatalf("%s is %d bytes, more than 2 MiB", CaptureFile, st.Size())
	}
	t.Logf("%s: %d records, %d bytes; planted %v", CaptureFile, n, st.Size(), m.Planted())
}
