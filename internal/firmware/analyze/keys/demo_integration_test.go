//go:build integration

package keys

import (
	"reflect"
	"testing"
	"time"

	"github.com/netvet/netvet/internal/firmware/analyze/analyzetest"
)

func TestDemoImage(t *testing.T) {
	got := analyzetest.DemoFindings(t, NewWithOptions(Options{Now: time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)}))
	want := []string{"NV-KEY-001 /etc/ssl/private/server.key", "NV-KEY-004 /root/.ssh/authorized_keys", "NV-KEY-007 /etc/ssl/private/server.key"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %q\nwant %q", got, want)
	}
}
