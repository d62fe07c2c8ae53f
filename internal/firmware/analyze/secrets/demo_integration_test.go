//go:build integration

package secrets

import (
	"context"
	"path/filepath"
	"reflect"
	"sort"
	"testing"

	"github.com/netvet/netvet/internal/firmware"
	"github.com/netvet/netvet/internal/firmware/format/all"
	"github.com/netvet/netvet/internal/unpack"
)

// demoFindings unpacks the bundled demo image (examples/firmware/make.sh)
// and runs the analyser on it, end to end.
func demoFindings(t *testing.T, a firmware.Analyzer) []string {
	t.Helper()
	img := filepath.Join("..", "..", "..", "..", "examples", "firmware", "demo-router.bin")
	out := filepath.Join(t.TempDir(), "out")
	reg := all.Registry()
	m, err := unpack.Unpack(context.Background(), img, out, unpack.Options{Registry: reg, Limits: unpack.DefaultLimits()})
	if err != nil {
		t.Fatal(err)
	}
	tr, err := m.Tree(out, img, reg)
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	var got []string
	err = a.Analyze(context.Background(), tr, firmware.ReporterFunc(func(f firmware.Finding) {
		t.Logf("%s %s %s@%d:%d %s", f.Severity, f.Rule, f.FSPath, f.Offset, f.Line, f.Evidence)
		got = append(got, f.Rule+" "+f.FSPath)
	}))
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(got)
	return got
}

func TestDemoImage(t *testing.T) {
	got := demoFindings(t, New())
	want := []string{"NV-SECRET-004 /etc/snmpd.conf", "NV-SECRET-004 /etc/snmpd.conf"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %q\nwant %q", got, want)
	}
}
