// Package analyzetest runs an analyser end to end on the bundled demo
// image, for the analysers' integration tests. It lives apart from
// fwtest because it imports the unpack driver, whose own tests use fwtest.
package analyzetest

import (
	"context"
	"path/filepath"
	"runtime"
	"sort"
	"testing"

	"github.com/netvet/netvet/internal/firmware"
	"github.com/netvet/netvet/internal/firmware/format/all"
	"github.com/netvet/netvet/internal/unpack"
)

// DemoFindings unpacks examples/firmware/demo-router.bin (made by
// examples/firmware/make.sh), runs a on it and returns its findings as
// sorted "RULE /fs/path" strings, logging each in full.
func DemoFindings(t *testing.T, a firmware.Analyzer) []string {
	t.Helper()
	_, here, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("analyzetest: cannot locate the source tree")
	}
	img := filepath.Join(filepath.Dir(here), "..", "..", "..", "..", "examples", "firmware", "demo-router.bin")
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
