package cli

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/netvet/netvet/internal/firmware"
	analyzeall "github.com/netvet/netvet/internal/firmware/analyze/all"
	"github.com/netvet/netvet/internal/firmware/format/all"
	"github.com/netvet/netvet/internal/firmware/report"
	"github.com/netvet/netvet/internal/scan"
	"github.com/netvet/netvet/internal/unpack"
	"github.com/netvet/netvet/internal/version"
)

type scanFlags struct {
	format  string
	output  string
	failOn  string
	db      string
	vex     []string
	work    string
	at      string
	top     int
	workers int
	limits  limitFlags
}

func newScanCmd(e *env) *cobra.Command {
	var fl scanFlags
	cmd := &cobra.Command{
		Use:   "scan IMAGE|DIR",
		Short: "Find components, known vulnerabilities and backdoor indicators in a firmware image",
		Long: `Unpack IMAGE (or read DIR, the output of 'netvet firmware unpack'), then run
every analyser in parallel and report:

  components       an SBOM: syft's catalogers plus netvet's detectors for
                   network equipment (dropbear, OpenSSL, busybox, dnsmasq,
                   the C library, the kernel and its modules, opkg packages)
  vulnerabilities  known CVEs matched against an offline grype database
                   (netvet db import); skipped, and said so, without one
  findings         backdoor and insecure-configuration indicators: accounts,
                   key material, remote-access daemons and whether they start
                   at boot, hard-coded endpoints, secrets, ELF hardening,
                   documented backdoor markers, file-system permissions

Every finding names its rule, severity, the path inside the image, the byte
offset and the evidence (secrets redacted). The same image and database give
byte-identical JSON. Dispositions from OpenVEX or CycloneDX VEX documents
(--vex) are shown with their justification, never dropped.

Formats: text (default), json (the stable contract), sarif (2.1.0),
cyclonedx (1.6 JSON, SBOM with vulnerabilities and VEX analysis), spdx (2.3
JSON), html (one self-contained file).`,
		Example: `  # Summary in the terminal
  netvet firmware scan fw.bin

  # Full report for machines, failing the pipeline on anything high or worse
  netvet firmware scan fw.bin -f json -o fw.json --fail-on high

  # HTML report for people, with the lab's dispositions applied
  netvet firmware scan fw.bin -f html -o fw.html --vex dispositions.openvex.json

  # SBOM for a supplier portal, keeping the unpacked tree for inspection
  netvet firmware scan fw.bin -f cyclonedx -o fw.cdx.json --work fw.out

  # Re-scan a folder unpacked earlier, pinning the date expiry checks use
  netvet firmware scan fw.out --at 2026-12-01 -f sarif -o fw.sarif`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if !slices.Contains(report.Formats(), fl.format) {
				return &UsageError{fmt.Errorf("-f %s: unknown format (want %s)", fl.format, strings.Join(report.Formats(), ", "))}
			}
			var failOn firmware.Severity
			if fl.failOn != "" {
				s, err := firmware.ParseSeverity(fl.failOn)
				if err != nil || s == firmware.SeverityUnknown {
					return &UsageError{fmt.Errorf("--fail-on %s: want critical, high, medium, low or info", fl.failOn)}
				}
				failOn = s
			}
			asOf := time.Now().UTC()
			if fl.at != "" {
				t, err := time.Parse(time.DateOnly, fl.at)
				if err != nil {
					return &UsageError{fmt.Errorf("--at %s: want a date such as 2026-12-01", fl.at)}
				}
				asOf = t
			}
			lim, err := fl.limits.get()
			if err != nil {
				return err
			}
			prog := &unpack.Progress{}
			bar := startScanProgress(e, prog)
			rep, err := scan.Scan(cmd.Context(), args[0], scan.Options{
				Formats: all.Registry(), Analyzers: analyzeall.Registry(analyzeall.Config{Now: asOf, Logger: e.log}), Limits: lim,
				WorkDir: fl.work, DBDir: fl.db, VEX: fl.vex, AsOf: asOf, Workers: fl.workers,
				Logger: e.log, Version: version.Get().Version,
				Progress: bar.stage, UnpackProgress: prog,
			})
			bar.stop()
			if err != nil {
				return err
			}
			opts := report.Options{Top: fl.top, Color: fl.output == "" && isTerminal(e.stdout)}
			if err := writeOutput(e, fl.output, func(w io.Writer) error { return report.Write(w, rep, fl.format, opts) }); err != nil {
				return err
			}
			if failOn != firmware.SeverityUnknown {
				if w := scan.Worst(rep); w >= failOn {
					return fmt.Errorf("%w: worst undispositioned severity is %s (--fail-on %s)", ErrFindings, w, failOn)
				}
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVarP(&fl.format, "format", "f", "text", "output: "+strings.Join(report.Formats(), ", "))
	f.StringVarP(&fl.output, "output", "o", "", "write the report to this file instead of stdout")
	f.StringVar(&fl.failOn, "fail-on", "", "exit 3 when an undispositioned finding or vulnerability is at or above this severity (critical, high, medium, low, info)")
	f.StringVar(&fl.db, "db", "", "vulnerability database folder (default: $NETVET_DB_DIR or the user cache folder)")
	f.StringArrayVar(&fl.vex, "vex", nil, "OpenVEX or CycloneDX VEX document with dispositions (repeatable)")
	f.StringVar(&fl.work, "work", "", "unpack into this folder and keep it (default: a temporary folder, removed)")
	f.StringVar(&fl.at, "at", "", "date for certificate-expiry and end-of-life checks, YYYY-MM-DD (default: today, UTC)")
	f.IntVar(&fl.top, "top", 10, "findings shown in the text summary")
	f.IntVar(&fl.workers, "workers", 0, "parallel workers (0: one per CPU)")
	fl.limits.register(f)
	return cmd
}

// scanProgress shows the scan's stage and the unpack counters on stderr,
// only on a terminal and without --quiet.
type scanProgress struct {
	mu    sync.Mutex
	cur   []string
	done  chan struct{}
	wg    sync.WaitGroup
	start time.Time
}

func startScanProgress(e *env, p *unpack.Progress) *scanProgress {
	sp := &scanProgress{start: time.Now()}
	if e.quiet || !isTerminal(e.stderr) {
		return sp
	}
	sp.done = make(chan struct{})
	sp.wg.Add(1)
	go func() {
		defer sp.wg.Done()
		t := time.NewTicker(200 * time.Millisecond)
		defer t.Stop()
		spin := `|/-\`
		for i := 0; ; i++ {
			select {
			case <-sp.done:
				fmt.Fprint(e.stderr, "\r\033[K")
				return
			case <-t.C:
				sp.mu.Lock()
				stages := strings.Join(sp.cur, " + ")
				sp.mu.Unlock()
				if stages == "" {
					stages = "starting"
				}
				line := fmt.Sprintf("%c scan: %s", spin[i%4], stages)
				if strings.Contains(stages, "unpack") {
					line += fmt.Sprintf(" (%d/%d blobs, %d files, %s)", p.BlobsDone.Load(), p.BlobsQueued.Load(),
						p.Files.Load(), unpack.HumanBytes(p.BytesWritten.Load()))
				}
				fmt.Fprintf(e.stderr, "\r\033[K%s  %s", line, time.Since(sp.start).Round(time.Second))
			}
		}
	}()
	return sp
}

func (sp *scanProgress) stage(name string, done bool) {
	sp.mu.Lock()
	defer sp.mu.Unlock()
	if !done {
		sp.cur = append(sp.cur, name)
		return
	}
	for i, s := range sp.cur {
		if s == name {
			sp.cur = append(sp.cur[:i], sp.cur[i+1:]...)
			break
		}
	}
}

func (sp *scanProgress) stop() {
	if sp.done != nil {
		close(sp.done)
		sp.wg.Wait()
	}
}
