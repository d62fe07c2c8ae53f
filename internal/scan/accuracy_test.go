package scan_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/netvet/netvet/internal/firmware"
	analyzeall "github.com/netvet/netvet/internal/firmware/analyze/all"
	"github.com/netvet/netvet/internal/firmware/format/all"
	"github.com/netvet/netvet/internal/firmware/report"
	"github.com/netvet/netvet/internal/labelled"
	"github.com/netvet/netvet/internal/scan"
	"github.com/netvet/netvet/internal/unpack"
)

func scanImage(t *testing.T, img labelled.Image) *firmware.ScanReport {
	t.Helper()
	return scanImageIn(t, t.TempDir(), img)
}

func scanImageIn(t *testing.T, dir string, img labelled.Image) *firmware.ScanReport {
	t.Helper()
	p := filepath.Join(dir, img.Name)
	if err := os.WriteFile(p, img.Data, 0o644); err != nil {
		t.Fatal(err)
	}
	asOf := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	rep, err := scan.Scan(context.Background(), p, scan.Options{
		Formats: all.Registry(), Analyzers: analyzeall.Registry(analyzeall.Config{Now: asOf}), Limits: unpack.DefaultLimits(),
		DBDir: filepath.Join(dir, "no-db"), AsOf: asOf, Version: "test",
	})
	if err != nil {
		t.Fatalf("scan %s: %v", img.Name, err)
	}
	return rep
}

// matches reports whether f reports l: same analyser (and rule when the
// label names one), at the labelled path, or, for a finding that groups
// several files of a filesystem, naming the path in its evidence.
func matches(f firmware.Finding, l labelled.Label) bool {
	if f.Analyzer != l.Analyzer || (l.Rule != "" && f.Rule != l.Rule) {
		return false
	}
	return f.FSPath == l.FSPath || (f.FSPath == "" && strings.Contains(f.Evidence, l.FSPath))
}

// TestAccuracy scans planted images and clean controls: every planted
// indicator must be found, and no control may get a critical or high
// finding. The figures are logged (go test -v -run Accuracy) and quoted in
// docs/scan.md.
func TestAccuracy(t *testing.T) {
	const seeds = 6
	found := map[string]int{}
	total := map[string]int{}
	for seed := uint64(0); seed < seeds; seed++ {
		img := labelled.Generate(seed)
		rep := scanImage(t, img)
		for _, l := range img.Labels {
			key := l.Family + " / " + l.Analyzer
			if l.Rule != "" {
				key += " / " + l.Rule
			}
			total[key]++
			hit := false
			for _, f := range rep.Findings {
				if matches(f, l) {
					hit = true
					break
				}
			}
			if hit {
				found[key]++
			} else {
				t.Errorf("%s: missed %s at %s (%s)", img.Name, l.Analyzer, l.FSPath, l.What)
			}
		}
	}
	var keys []string
	for k := range total {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		t.Logf("recall %-44s %d/%d", k, found[k], total[k])
	}

	fp := map[string]int{}
	var controlFindings int
	for seed := uint64(0); seed < seeds; seed++ {
		img := labelled.Control(seed)
		rep := scanImage(t, img)
		controlFindings += len(rep.Findings)
		for _, f := range rep.Findings {
			if f.Severity >= firmware.SeverityHigh {
				t.Errorf("%s: false positive %s %s at %s: %s", img.Name, f.Severity, f.Rule, f.FSPath, f.Evidence)
			}
			fp[fmt.Sprintf("%s %s", f.Severity, f.Rule)]++
		}
	}
	var fps []string
	for k, n := range fp {
		fps = append(fps, fmt.Sprintf("%s ×%d", k, n))
	}
	sort.Strings(fps)
	t.Logf("controls: %d images, %d findings in all (none may be high or critical): %s", seeds, controlFindings, strings.Join(fps, ", "))
}

// TestDeterministic scans the same image twice and compares the JSON byte
// for byte.
func TestDeterministic(t *testing.T) {
	img := labelled.Generate(1)
	dir := t.TempDir()
	var out [2]bytes.Buffer
	for i := range out {
		rep := scanImageIn(t, dir, img)
		if err := report.Write(&out[i], rep, "json", report.Options{}); err != nil {
			t.Fatal(err)
		}
	}
	if !bytes.Equal(out[0].Bytes(), out[1].Bytes()) {
		t.Fatal("two scans of the same image gave different JSON")
	}
	if out[0].Len() < 1000 {
		t.Fatalf("report suspiciously small: %s", out[0].String())
	}
}
