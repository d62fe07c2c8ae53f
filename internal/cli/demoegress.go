package cli

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/netvet/netvet/examples"
	exex "github.com/netvet/netvet/examples/exposure"
	"github.com/netvet/netvet/internal/egress"
	"github.com/netvet/netvet/internal/egress/alert"
)

// demoEgress replays the bundled capture of flow export datagrams (two
// days of generated management traffic seen by one independent edge
// meter) against the example operator's inventory and prints the alerts.
func demoEgress(ctx context.Context, e *env, tmp string) error {
	dir := filepath.Join(tmp, "egress")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	var capture string
	err := fs.WalkDir(examples.DemoEgress, "egress", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := examples.DemoEgress.ReadFile(p)
		if err != nil {
			return err
		}
		if strings.HasSuffix(p, ".pcap") || strings.HasSuffix(p, ".pcapng") {
			capture = path.Base(p)
		}
		return os.WriteFile(filepath.Join(dir, path.Base(p)), data, 0o644)
	})
	if err != nil {
		return fmt.Errorf("demo egress data: %w", err)
	}
	if capture == "" {
		return fmt.Errorf("demo egress data: no capture bundled")
	}
	inv := filepath.Join(dir, exex.OperatorName)
	if err := os.WriteFile(inv, exex.OperatorCSV, 0o644); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "\nnetvet demo: replaying %s (IPFIX from an independent edge meter, two days of management traffic) against %s\n\n", capture, exex.OperatorName)
	fl := egressFlags{
		inventory: inv,
		elements:  filepath.Join(dir, "elements.csv"),
		allow:     filepath.Join(dir, "allow.yaml"),
		hosts:     filepath.Join(dir, "hosts"),
		asn:       []string{filepath.Join(dir, "ip2asn.tsv")},
		format:    alert.FormatText,
		beaconMin: egress.DefaultBeaconMin,
		repeat:    egress.DefaultRepeat,
	}
	p, err := fl.pipeline(ctx, e)
	if err != nil {
		return fmt.Errorf("demo egress: %w", err)
	}
	sinks, err := fl.sinks(e)
	if err != nil {
		return err
	}
	n, runErr := replay(ctx, e, &fl, p, filepath.Join(dir, capture), "export", nil, sinks)
	if err := sinks.Close(ctx); err != nil && runErr == nil {
		runErr = err
	}
	if runErr != nil {
		return fmt.Errorf("demo egress: %w", runErr)
	}
	fmt.Fprintf(e.stdout, "\n%d alerts. From the source tree, the same replay, and the per-element report:\n", n)
	fmt.Fprintf(e.stdout, "  netvet egress replay examples/egress/%s --inventory examples/exposure/%s \\\n"+
		"      --elements examples/egress/elements.csv --allow examples/egress/allow.yaml \\\n"+
		"      --hosts examples/egress/hosts --asn examples/egress/ip2asn.tsv\n", capture, exex.OperatorName)
	fmt.Fprintf(e.stdout, "  netvet egress report examples/egress/%s --inventory examples/exposure/%s \\\n"+
		"      --elements examples/egress/elements.csv --allow examples/egress/allow.yaml \\\n"+
		"      --hosts examples/egress/hosts --asn examples/egress/ip2asn.tsv -f html -o egress.html\n", capture, exex.OperatorName)
	return nil
}
