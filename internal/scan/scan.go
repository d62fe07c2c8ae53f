// Package scan runs a firmware scan end to end: unpack the image (or read
// an unpack folder), run every analyser in parallel, catalogue components,
// match known vulnerabilities, apply dispositions and assemble the report.
// It holds no analysis of its own.
package scan

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"sync"
	"time"

	"github.com/netvet/netvet/internal/firmware"
	"github.com/netvet/netvet/internal/firmware/analyze/elfcheck"
	"github.com/netvet/netvet/internal/sbom"
	"github.com/netvet/netvet/internal/unpack"
	"github.com/netvet/netvet/internal/vex"
	"github.com/netvet/netvet/internal/vuln"
)

// Options configure a scan.
type Options struct {
	Formats   *firmware.Registry
	Analyzers *firmware.AnalyzerRegistry
	Limits    unpack.Limits
	// WorkDir is where an image is unpacked. Empty: a temporary folder that
	// is removed when the scan ends.
	WorkDir string
	// DBDir is the imported vulnerability database. Empty or missing: the
	// scan runs without vulnerability matching and says so.
	DBDir string
	// VEX lists disposition documents (OpenVEX or CycloneDX VEX).
	VEX []string
	// AsOf is the date expiry and end-of-life checks are made against;
	// zero means today (UTC).
	AsOf    time.Time
	Workers int
	Logger  *slog.Logger
	Version string
	// Progress, when set, is told each stage as it starts and ends.
	Progress func(stage string, done bool)
	// UnpackProgress, when set, receives the unpack counters.
	UnpackProgress *unpack.Progress
}

// Scan scans input, an image file or a folder written by `netvet firmware
// unpack` (it holds manifest.json).
func Scan(ctx context.Context, input string, opts Options) (*firmware.ScanReport, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Workers <= 0 {
		opts.Workers = runtime.GOMAXPROCS(0)
	}
	asOf := opts.AsOf
	if asOf.IsZero() {
		asOf = time.Now().UTC()
	}
	asOf = time.Date(asOf.Year(), asOf.Month(), asOf.Day(), 0, 0, 0, 0, time.UTC)
	stage := func(name string, done bool) {
		if opts.Progress != nil {
			opts.Progress(name, done)
		}
	}

	// VEX documents are read first: a bad one is a usage problem that
	// should not cost an unpack.
	var vexSet *vex.Set
	if len(opts.VEX) > 0 {
		var err error
		if vexSet, err = vex.Load(opts.VEX...); err != nil {
			return nil, err
		}
	}

	m, dir, image, cleanup, unpackErr := open(ctx, input, opts, stage)
	defer cleanup()
	if m == nil {
		return nil, unpackErr
	}
	tree, err := m.Tree(dir, image, opts.Formats)
	if err != nil {
		return nil, err
	}
	defer tree.Close()

	rep := &firmware.ScanReport{
		Tool: "netvet", Version: opts.Version,
		Image: firmware.ImageRef{Name: m.Image.Name, Size: m.Image.Size, SHA256: m.Image.SHA256},
		AsOf:  asOf.Format(time.DateOnly),
		Unpack: firmware.UnpackInfo{Complete: m.Complete, Errors: m.Errors,
			Files: m.Stats.Files, Chunks: m.Stats.Chunks, Bytes: m.Stats.BytesWritten},
	}
	if unpackErr != nil {
		rep.Notes = append(rep.Notes, "unpack incomplete, results cover what was extracted: "+unpackErr.Error())
	}

	// Analysers and the component catalogue run side by side.
	var (
		wg        sync.WaitGroup
		comps     []firmware.Component
		compErr   error
		collected = newCollector()
	)
	wg.Add(1)
	go func() {
		defer wg.Done()
		stage("components", false)
		comps, compErr = sbom.Catalog(ctx, tree, sbom.Options{Dir: dir, Parallelism: opts.Workers, Logger: opts.Logger, Now: asOf})
		stage("components", true)
	}()
	stage("analysers", false)
	rep.Analyzers = runAnalyzers(ctx, tree, opts, collected)
	stage("analysers", true)
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if compErr != nil {
		rep.Notes = append(rep.Notes, "component catalogue incomplete: "+compErr.Error())
	}
	findings := collected.findings
	findings = append(findings, sbom.Hygiene(comps, asOf)...)
	rep.Components = comps
	rep.Binaries = collected.binaries
	sort.Slice(rep.Binaries, func(i, j int) bool { return rep.Binaries[i].Path < rep.Binaries[j].Path })
	rep.Hardening = elfcheck.Summarize(rep.Binaries)

	// Known vulnerabilities.
	stage("vulnerabilities", false)
	vulns, db, note, err := matchVulns(ctx, opts.DBDir, comps)
	stage("vulnerabilities", true)
	if err != nil {
		return nil, err
	}
	rep.Database = db
	if note != "" {
		rep.Notes = append(rep.Notes, note)
	}

	if vexSet != nil {
		vexSet.SetImage(rep.Image)
		findings = vexSet.ApplyFindings(findings)
		vulns = vexSet.ApplyVulns(vulns, comps)
		rep.VEX = vexSet.Sources()
	}
	firmware.SortFindings(findings)
	sortVulns(vulns)
	rep.Findings, rep.Vulnerabilities = findings, vulns
	rep.Rules = rulesOf(findings, opts.Analyzers)
	rep.Summary = summarize(rep)
	if rep.Components == nil {
		rep.Components = []firmware.Component{}
	}
	if rep.Vulnerabilities == nil {
		rep.Vulnerabilities = []firmware.Vulnerability{}
	}
	if rep.Findings == nil {
		rep.Findings = []firmware.Finding{}
	}
	if rep.Binaries == nil {
		rep.Binaries = []firmware.Binary{}
	}
	sort.Strings(rep.Notes)
	return rep, nil
}

// open unpacks the image, or reads the manifest of an unpack folder. The
// manifest is returned even when the unpack stopped at a limit.
func open(ctx context.Context, input string, opts Options, stage func(string, bool)) (m *unpack.Manifest, dir, image string, cleanup func(), err error) {
	cleanup = func() {}
	st, err := os.Stat(input)
	if err != nil {
		return nil, "", "", cleanup, err
	}
	if st.IsDir() {
		f, err := os.Open(filepath.Join(input, unpack.ManifestName))
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil, "", "", cleanup, fmt.Errorf("%s: a folder to scan must be the output of `netvet firmware unpack` (no %s in it)", input, unpack.ManifestName)
			}
			return nil, "", "", cleanup, err
		}
		defer f.Close()
		m, err := unpack.ReadManifest(f)
		if err != nil {
			return nil, "", "", cleanup, fmt.Errorf("%s: %w", f.Name(), err)
		}
		return m, input, "", cleanup, nil
	}
	dir = opts.WorkDir
	if dir == "" {
		tmp, err := os.MkdirTemp("", "netvet-scan-")
		if err != nil {
			return nil, "", "", cleanup, err
		}
		dir = filepath.Join(tmp, "out")
		cleanup = func() { os.RemoveAll(tmp) }
	}
	stage("unpack", false)
	m, err = unpack.Unpack(ctx, input, dir, unpack.Options{
		Registry: opts.Formats, Limits: opts.Limits, Workers: opts.Workers,
		Logger: opts.Logger, Version: opts.Version, Progress: opts.UnpackProgress,
	})
	stage("unpack", true)
	if m != nil && errors.Is(err, context.Canceled) {
		return nil, "", "", cleanup, err
	}
	return m, dir, input, cleanup, err
}

// collector gathers what the analysers report, from many goroutines.
type collector struct {
	mu       sync.Mutex
	findings []firmware.Finding
	binaries []firmware.Binary
	counts   map[string]int
}

func newCollector() *collector { return &collector{counts: map[string]int{}} }

type analyzerReporter struct {
	c    *collector
	name string
}

func (r analyzerReporter) Report(f firmware.Finding) {
	f.Analyzer = r.name
	r.c.mu.Lock()
	r.c.findings = append(r.c.findings, f)
	r.c.counts[r.name]++
	r.c.mu.Unlock()
}

func (r analyzerReporter) Binary(b firmware.Binary) {
	r.c.mu.Lock()
	r.c.binaries = append(r.c.binaries, b)
	r.c.mu.Unlock()
}

// runAnalyzers runs every analyser, at most opts.Workers at a time. A
// failing or panicking analyser is recorded; the others go on.
func runAnalyzers(ctx context.Context, t *firmware.Tree, opts Options, c *collector) []firmware.AnalyzerRun {
	as := opts.Analyzers.Analyzers()
	runs := make([]firmware.AnalyzerRun, len(as))
	sem := make(chan struct{}, opts.Workers)
	var wg sync.WaitGroup
	for i, a := range as {
		name := a.Info().Name
		runs[i].Name = name
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			start := time.Now()
			err := safeAnalyze(ctx, a, t, analyzerReporter{c: c, name: name})
			opts.Logger.Debug("analyser done", "analyser", name, "elapsed", time.Since(start), "err", err)
			if err != nil {
				runs[i].Error = err.Error()
			}
		}()
	}
	wg.Wait()
	for i := range runs {
		runs[i].Findings = c.counts[runs[i].Name]
	}
	sort.Slice(runs, func(i, j int) bool { return runs[i].Name < runs[j].Name })
	return runs
}

func safeAnalyze(ctx context.Context, a firmware.Analyzer, t *firmware.Tree, r analyzerReporter) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("panic: %v", p)
		}
	}()
	return a.Analyze(ctx, t, r)
}

func matchVulns(ctx context.Context, dbDir string, comps []firmware.Component) ([]firmware.Vulnerability, *firmware.Database, string, error) {
	if dbDir == "" {
		dbDir = vuln.DefaultDir()
	}
	db, err := vuln.Open(dbDir)
	if errors.Is(err, vuln.ErrNoDatabase) {
		return nil, nil, fmt.Sprintf("vulnerability matching skipped: no database in %s; import one with `netvet db import FILE` (see `netvet db import --help`)", dbDir), nil
	}
	if err != nil {
		return nil, nil, "", err
	}
	defer db.Close()
	info := db.Info()
	vs, err := db.Match(ctx, comps)
	if errors.Is(err, vuln.ErrPartial) {
		// Some components could not be matched; the rest stand.
		return vs, &info, "vulnerability matching incomplete: " + err.Error(), nil
	}
	if err != nil {
		return nil, &info, "", err
	}
	return vs, &info, "", nil
}

func sortVulns(vs []firmware.Vulnerability) {
	sort.SliceStable(vs, func(i, j int) bool {
		a, b := vs[i], vs[j]
		if a.Severity != b.Severity {
			return a.Severity > b.Severity
		}
		if a.ID != b.ID {
			return a.ID < b.ID
		}
		return a.Component < b.Component
	})
}

// rulesOf lists the rules that fired, as the analysers and the component
// hygiene checks declare them; a rule nobody declares is described by its
// first finding.
func rulesOf(fs []firmware.Finding, reg *firmware.AnalyzerRegistry) []firmware.Rule {
	declared := map[string]firmware.Rule{}
	for _, r := range sbom.Rules() {
		declared[r.ID] = r
	}
	seen := map[string]bool{}
	var out []firmware.Rule
	for _, f := range fs {
		if seen[f.Rule] {
			continue
		}
		seen[f.Rule] = true
		if r, ok := reg.Rule(f.Rule); ok {
			out = append(out, r)
			continue
		}
		if r, ok := declared[f.Rule]; ok {
			out = append(out, r)
			continue
		}
		out = append(out, firmware.Rule{ID: f.Rule, Title: f.Title, Severity: f.Severity, Rationale: f.Rationale, References: f.References})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	if out == nil {
		out = []firmware.Rule{}
	}
	return out
}

func summarize(r *firmware.ScanReport) firmware.Summary {
	s := firmware.Summary{Components: len(r.Components)}
	worst := firmware.SeverityUnknown
	for _, f := range r.Findings {
		s.Findings.Add(f.Severity)
		if f.Disposition.Suppresses() {
			s.Dispositioned++
			continue
		}
		worst = max(worst, f.Severity)
	}
	for _, v := range r.Vulnerabilities {
		s.Vulnerabilities.Add(v.Severity)
		if v.Disposition.Suppresses() {
			s.Dispositioned++
			continue
		}
		worst = max(worst, v.Severity)
	}
	switch {
	case worst >= firmware.SeverityHigh:
		s.Verdict = "fail"
	case worst == firmware.SeverityMedium:
		s.Verdict = "review"
	default:
		s.Verdict = "pass"
	}
	return s
}

// Worst returns the highest severity among findings and vulnerabilities
// that no disposition takes out, for --fail-on.
func Worst(r *firmware.ScanReport) firmware.Severity {
	w := firmware.SeverityUnknown
	for _, f := range r.Findings {
		if !f.Disposition.Suppresses() {
			w = max(w, f.Severity)
		}
	}
	for _, v := range r.Vulnerabilities {
		if !v.Disposition.Suppresses() {
			w = max(w, v.Severity)
		}
	}
	return w
}
