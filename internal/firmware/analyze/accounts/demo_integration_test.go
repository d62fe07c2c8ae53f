//go:build integration

package accounts

import (
	"reflect"
	"testing"

	"github.com/netvet/netvet/internal/firmware/analyze/analyzetest"
)

func TestDemoImage(t *testing.T) {
	got := analyzetest.DemoFindings(t, New())
	want := []string{"NV-ACCT-001 /etc/passwd", "NV-ACCT-003 /etc/shadow", "NV-ACCT-004 /etc/passwd", "NV-ACCT-007 /etc/shadow", "NV-ACCT-008 /etc/shadow"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %q\nwant %q", got, want)
	}
}
