//go:build integration

package secrets

import (
	"reflect"
	"testing"

	"github.com/netvet/netvet/internal/firmware/analyze/analyzetest"
)

func TestDemoImage(t *testing.T) {
	got := analyzetest.DemoFindings(t, New())
	want := []string{"NV-SECRET-004 /etc/snmpd.conf", "NV-SECRET-004 /etc/snmpd.conf"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %q\nwant %q", got, want)
	}
}
