package cli

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/netvet/netvet/examples"
	exex "github.com/netvet/netvet/examples/exposure"
	"github.com/netvet/netvet/internal/exposure"
	analyzeall "github.com/netvet/netvet/internal/firmware/analyze/all"
	"github.com/netvet/netvet/internal/firmware/format/all"
	"github.com/netvet/netvet/internal/firmware/report"
	"github.com/netvet/netvet/internal/inventory"
	"github.com/netvet/netvet/internal/policy"
	"github.com/netvet/netvet/internal/scan"
	"github.com/netvet/netvet/internal/unpack"
	"github.com/netvet/netvet/internal/version"
	"github.com/netvet/netvet/internal/vuln"
)

func newDemoCmd(e *env) *cobra.Command {
	var out, html string
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Run netvet on the bundled example router firmware",
		Long: `Unpack the bundled example image, a router firmware (a Netgear CHK holding a
Broadcom TRX, a U-Boot kernel image and a SquashFS root filesystem, then an
encrypted-looking blob), and print its container tree and what it holds.
Then assess the bundled example operator (about 5,000 network elements
across radio, core, transport, management and fixed access) against the UK
and German policy packs, and print the replacement plan's summary.
Nothing is downloaded; the image and the inventory are part of netvet.`,
		Example: `  netvet demo
  netvet demo -o demo.out               # keep the extracted tree and manifest
  netvet demo --html /tmp/report.html   # write the scan's HTML report there`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			tmp, err := os.MkdirTemp("", "netvet-demo-")
			if err != nil {
				return err
			}
			defer os.RemoveAll(tmp)
			img := filepath.Join(tmp, examples.DemoFirmwareName)
			if err := os.WriteFile(img, examples.DemoFirmware, 0o644); err != nil {
				return err
			}
			dir := out
			if dir == "" {
				dir = filepath.Join(tmp, "out")
			}
			fmt.Fprintf(e.stdout, "netvet demo: unpacking the bundled example image %s (%d bytes)\n\n", examples.DemoFirmwareName, len(examples.DemoFirmware))
			prog := &unpack.Progress{}
			stop := startProgress(e, prog)
			m, err := unpack.Unpack(cmd.Context(), img, dir, unpack.Options{
				Registry: all.Registry(), Limits: unpack.DefaultLimits(), Logger: e.log,
				Version: version.Get().Version, Progress: prog,
			})
			stop()
			if m == nil {
				return err
			}
			printSummary(e.stdout, m, dir)
			if out == "" {
				fmt.Fprintln(e.stdout, "(extracted into a temporary folder, now removed; use -o DIR to keep it)")
			}
			if err != nil {
				return err
			}
			if err := demoScan(cmd.Context(), e, dir, tmp, html); err != nil {
				return err
			}
			if err := demoExposure(e.stdout); err != nil {
				return err
			}
			return demoEgress(cmd.Context(), e, tmp)
		},
	}
	cmd.Flags().StringVarP(&out, "output", "o", "", "keep the extracted tree and manifest in this folder")
	cmd.Flags().StringVar(&html, "html", "netvet-demo-report.html", "write the scan's HTML report to this file")
	return cmd
}

// demoScan scans the unpacked example image and prints the summary, then
// writes the HTML report.
func demoScan(ctx context.Context, e *env, dir, tmp, htmlPath string) error {
	at, _ := time.Parse(time.DateOnly, demoAt)
	opts := scan.Options{
		Formats: all.Registry(), Analyzers: analyzeall.Registry(analyzeall.Config{Now: at, Logger: e.log}),
		Limits: unpack.DefaultLimits(), AsOf: at, Logger: e.log, Version: version.Get().Version,
		DBDir: filepath.Join(tmp, "no-db"),
	}
	if len(examples.DemoVulnDB) > 0 {
		archive := filepath.Join(tmp, "demo-vulndb.tar.zst")
		if err := os.WriteFile(archive, examples.DemoVulnDB, 0o644); err != nil {
			return err
		}
		opts.DBDir = filepath.Join(tmp, "db")
		if _, err := vuln.Import(ctx, archive, opts.DBDir); err != nil {
			return fmt.Errorf("demo vulnerability database: %w", err)
		}
	}
	fmt.Fprintf(e.stdout, "\nnetvet demo: scanning the unpacked image (as of %s)\n\n", demoAt)
	rep, err := scan.Scan(ctx, dir, opts)
	if err != nil {
		return err
	}
	if err := report.Write(e.stdout, rep, report.Text, report.Options{Top: 8}); err != nil {
		return err
	}
	if htmlPath != "" {
		if err := writeOutput(e, htmlPath, func(w io.Writer) error { return report.Write(w, rep, report.HTML, report.Options{}) }); err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "\nHTML report: %s\n", htmlPath)
	}
	return nil
}

// demoAt is the date the demo assesses at, fixed so that the demo's output
// does not change from day to day.
const demoAt = "2026-06-30"

// demoExposure assesses the bundled example operator against the UK and
// German packs and prints the summary and the plan.
func demoExposure(w io.Writer) error {
	fmt.Fprintf(w, "\nnetvet demo: assessing the bundled example operator %s against the UK and German policy packs on %s\n\n", exex.OperatorName, demoAt)
	inv, err := inventory.LoadCSV(bytes.NewReader(exex.OperatorCSV), exex.OperatorName, inventory.LoadOptions{})
	if err != nil {
		return fmt.Errorf("demo inventory: %w", err)
	}
	packs, err := policy.LoadPacks("uk,de")
	if err != nil {
		return fmt.Errorf("demo packs: %w", err)
	}
	eng, err := policy.Compile(packs)
	if err != nil {
		return fmt.Errorf("demo packs: %w", err)
	}
	at := inventory.Date{Time: time.Date(2026, 6, 30, 0, 0, 0, 0, time.UTC)}
	a := exposure.Assess(inv, eng, at)
	for _, s := range a.Summary {
		fmt.Fprintf(w, "  %s\n", s)
	}
	fmt.Fprintln(w, "\nreplacement plan:")
	p := exposure.MakePlan(inv, eng, at)
	for _, s := range p.Summary {
		fmt.Fprintf(w, "  %s\n", s)
	}
	fmt.Fprintf(w, "\nfull reports, from the source tree:\n  netvet exposure assess examples/exposure/%s --policy uk,de --at %s -f html -o report.html\n",
		exex.OperatorName, demoAt)
	fmt.Fprintf(w, "  netvet exposure plan examples/exposure/%s --policy uk,de --at %s\n", exex.OperatorName, demoAt)
	return nil
}
