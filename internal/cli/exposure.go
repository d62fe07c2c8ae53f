package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/netvet/netvet/internal/exposure"
	"github.com/netvet/netvet/internal/exposure/report"
	"github.com/netvet/netvet/internal/inventory"
	"github.com/netvet/netvet/internal/policy"
	"github.com/netvet/netvet/internal/store"
)

// NetBoxTokenEnv names the environment variable holding the NetBox API token.
const NetBoxTokenEnv = "NETVET_NETBOX_TOKEN"

func newExposureCmd(e *env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "exposure",
		Short: "Where each vendor's equipment sits, which rules it breaks, and the plan to fix it",
		Long: `Measure an operator's inventory against policy packs: vendor share per
domain, function and site (by elements, sites, traffic and premises),
vendor concentration (Herfindahl-Hirschman index), violations with their
deadlines, a replacement plan that meets every deadline, and the progress
between two snapshots.

Inventories: CSV, netvet JSON, TMF639 JSON, or a NetBox server (--netbox
URL, token in ` + NetBoxTokenEnv + `).`,
		Example: `  netvet exposure assess inventory.csv --policy uk,de
  netvet exposure plan inventory.csv --policy uk
  netvet exposure diff 2025-q4.csv 2026-q1.csv --policy uk`,
	}
	cmd.AddCommand(newAssessCmd(e), newPlanCmd(e), newDiffCmd(e))
	return cmd
}

// exposureFlags are the inputs every exposure command shares.
type exposureFlags struct {
	policy    string
	at        string
	overrides string
	aliases   string
	strict    bool
	format    string
	output    string
	netbox    string
	ledger    string
}

func (fl *exposureFlags) register(cmd *cobra.Command, formats []string, atHelp string) {
	f := cmd.Flags()
	f.StringVar(&fl.policy, "policy", "", "policy packs: shipped IDs or YAML files, comma-separated (uk,de,./mine.yaml; all)")
	f.StringVar(&fl.at, "at", "", atHelp+" (YYYY-MM-DD; default today, UTC)")
	f.StringVar(&fl.overrides, "overrides", "", "operator overrides file: per rule ID, a new deadline or disabled")
	f.StringVar(&fl.aliases, "aliases", "", "vendor alias file (CSV or YAML) merged over the built-in aliases")
	f.BoolVar(&fl.strict, "strict", false, "fail on the first malformed inventory row instead of skipping it")
	f.StringVarP(&fl.format, "format", "f", "text", "output: "+strings.Join(formats, ", "))
	f.StringVarP(&fl.output, "output", "o", "", "write the report to this file instead of stdout")
}

func (fl *exposureFlags) check(formats []string) (inventory.Date, error) {
	if !report.Supported(formats, fl.format) {
		return inventory.Date{}, &UsageError{fmt.Errorf("-f %q: use %s", fl.format, strings.Join(formats, ", "))}
	}
	if strings.TrimSpace(fl.policy) == "" {
		return inventory.Date{}, &UsageError{fmt.Errorf("--policy is required: shipped packs are %s (or give a YAML file)", strings.Join(policy.Builtin(), ", "))}
	}
	if fl.at == "" {
		now := time.Now().UTC()
		return inventory.Date{Time: time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)}, nil
	}
	d, err := inventory.ParseDate(fl.at)
	if err != nil {
		return d, &UsageError{fmt.Errorf("--at: %w", err)}
	}
	return d, nil
}

// engine loads the packs, applies the overrides and compiles them.
func (fl *exposureFlags) engine() (*policy.Engine, error) {
	packs, err := policy.LoadPacks(fl.policy)
	if err != nil {
		return nil, fmt.Errorf("--policy %s: %w", fl.policy, err)
	}
	if fl.overrides != "" {
		if err := policy.ApplyOverrides(packs, fl.overrides); err != nil {
			return nil, fmt.Errorf("--overrides %s: %w", fl.overrides, err)
		}
	}
	eng, err := policy.Compile(packs)
	if err != nil {
		return nil, fmt.Errorf("--policy %s: %w", fl.policy, err)
	}
	return eng, nil
}

// setup is what every exposure command does first: cap memory, check the
// flags for formats, and compile the policy packs.
func (fl *exposureFlags) setup(formats []string) (inventory.Date, *policy.Engine, error) {
	softMemoryLimit()
	at, err := fl.check(formats)
	if err != nil {
		return at, nil, err
	}
	eng, err := fl.engine()
	return at, eng, err
}

func (fl *exposureFlags) loadOptions() (inventory.LoadOptions, error) {
	opts := inventory.LoadOptions{Strict: fl.strict}
	if fl.aliases != "" {
		a, err := inventory.LoadAliases(fl.aliases)
		if err != nil {
			return opts, fmt.Errorf("--aliases %s: %w", fl.aliases, err)
		}
		opts.Aliases = a
	}
	return opts, nil
}

// load reads the inventory from a file or from NetBox.
func (fl *exposureFlags) load(ctx context.Context, e *env, args []string) (*inventory.Inventory, error) {
	opts, err := fl.loadOptions()
	if err != nil {
		return nil, err
	}
	var inv *inventory.Inventory
	switch {
	case fl.netbox != "" && len(args) > 0:
		return nil, &UsageError{errors.New("give either an INVENTORY file or --netbox URL, not both")}
	case fl.netbox != "":
		tok := os.Getenv(NetBoxTokenEnv)
		if tok == "" {
			return nil, &UsageError{fmt.Errorf("--netbox %s: set the API token in %s (tokens are never taken from flags)", fl.netbox, NetBoxTokenEnv)}
		}
		inv, err = inventory.LoadNetBox(ctx, inventory.NetBoxConfig{URL: fl.netbox, Token: tok}, opts)
	case len(args) == 1:
		inv, err = inventory.Load(ctx, args[0], opts)
	default:
		return nil, &UsageError{errors.New("give an INVENTORY file (CSV, JSON, TMF639 JSON) or --netbox URL")}
	}
	if err != nil {
		return nil, err
	}
	reportProblems(e, inv)
	return inv, nil
}

// reportProblems tells the user, on stderr, that rows were skipped.
func reportProblems(e *env, inv *inventory.Inventory) {
	if e.quiet || inv.Skipped == 0 {
		return
	}
	first := ""
	for _, p := range inv.Problems {
		if !p.Warning {
			first = "; first: " + p.Error()
			break
		}
	}
	fmt.Fprintf(e.stderr, "netvet: %s: %d rows skipped%s (the report lists them; --strict fails instead)\n", inv.Source, inv.Skipped, firstLine(first))
}

// softMemoryLimit asks the garbage collector to keep the heap under
// 1.5 GiB, so that a million-element assessment stays well under 2 GiB of
// RSS; GOMEMLIMIT, when set, wins. It is a soft limit: a larger live heap
// still runs, with more collections.
func softMemoryLimit() {
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(1536 << 20)
	}
}

// writeOutput runs write on stdout or on the -o file.
func writeOutput(e *env, path string, write func(io.Writer) error) error {
	if path == "" || path == "-" {
		bw := bufio.NewWriterSize(e.stdout, 64<<10)
		if err := write(bw); err != nil {
			return err
		}
		return bw.Flush()
	}
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("-o: %w", err)
	}
	bw := bufio.NewWriterSize(f, 256<<10)
	if err := write(bw); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := bw.Flush(); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

func newAssessCmd(e *env) *cobra.Command {
	var fl exposureFlags
	var failOn bool
	cmd := &cobra.Command{
		Use:   "assess INVENTORY --policy uk[,de]",
		Short: "Vendor shares, concentration and violations of an inventory at a date",
		Long: `Assess INVENTORY against the policy packs at a date (--at, default today):

  - vendor share per domain, function and site, by elements, sites, traffic
    share and premises served;
  - vendor concentration per domain: the Herfindahl-Hirschman index (sum of
    squared percentage shares, 0 to 10000; above 2500 highly concentrated),
    by elements and by traffic;
  - every rule broken now, or due to be broken when its deadline comes: the
    elements at fault, the source, the deadline and the days left.

Output: text (default), json (the stable contract: shares, concentration,
rules, violations, summary), csv (one row per element at fault in each
violation), markdown (a report for a regulator) or html (one file with
charts). With --fail-on-violation the exit status is 3 when violations are
due on the date.`,
		Example: `  # What breaks the UK and German rules today
  netvet exposure assess inventory.csv --policy uk,de

  # Compliance at the UK 5G removal deadline
  netvet exposure assess inventory.csv --policy uk --at 2027-12-31

  # A report for the regulator, and a gate in CI
  netvet exposure assess inventory.csv --policy uk -f html -o exposure.html
  netvet exposure assess inventory.csv --policy uk --fail-on-violation -f json -o exposure.json

  # Straight from NetBox (token from the environment)
  NETVET_NETBOX_TOKEN=... netvet exposure assess --netbox https://netbox.example.net --policy uk`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			at, eng, err := fl.setup(report.AssessFormats)
			if err != nil {
				return err
			}
			inv, err := fl.load(cmd.Context(), e, args)
			if err != nil {
				return err
			}
			start := time.Now()
			a := exposure.Assess(inv, eng, at)
			e.log.Debug("assessed", "elements", len(inv.Elements), "violations", len(a.Violations), "took", time.Since(start))
			if fl.ledger != "" {
				if err := fl.markEvaluated(cmd.Context(), a); err != nil {
					return err
				}
			}
			if err := writeOutput(e, fl.output, func(w io.Writer) error { return report.Assessment(w, a, fl.format) }); err != nil {
				return err
			}
			if failOn && a.Due() > 0 {
				fmt.Fprintf(e.stderr, "netvet: %d violations due on %s\n", a.Due(), at)
				return errReported{ErrFindings}
			}
			return nil
		},
	}
	fl.register(cmd, report.AssessFormats, "date of assessment")
	cmd.Flags().StringVar(&fl.netbox, "netbox", "", "read the inventory from this NetBox URL (token in "+NetBoxTokenEnv+")")
	cmd.Flags().BoolVar(&failOn, "fail-on-violation", false, "exit 3 when violations are due on the date")
	cmd.Flags().StringVar(&fl.ledger, "ledger", "", "evaluated-versions ledger (netvet ledger): count the elements whose vendor, model and software version no lab evaluated")
	return cmd
}

// markEvaluated reads the evaluated versions from the ledger and marks
// the elements none of them covers.
func (fl *exposureFlags) markEvaluated(ctx context.Context, a *exposure.Assessment) error {
	db, err := store.OpenReadOnly(ctx, fl.ledger)
	if err != nil {
		return fmt.Errorf("--ledger: %w", err)
	}
	defer db.Close()
	prods, err := db.EvaluatedProducts(ctx)
	if err != nil {
		return fmt.Errorf("--ledger %s: %w", fl.ledger, err)
	}
	opts, err := fl.loadOptions()
	if err != nil {
		return err
	}
	al := opts.Aliases
	if al == nil {
		al = inventory.DefaultAliases()
	}
	versions := make([]exposure.EvaluatedVersion, len(prods))
	for i, p := range prods {
		versions[i] = exposure.EvaluatedVersion{Vendor: p.Vendor, Product: p.Product, Version: p.Version}
	}
	exposure.MarkEvaluated(a, fl.ledger, versions, al.Normalise)
	return nil
}

func newPlanCmd(e *env) *cobra.Command {
	var fl exposureFlags
	cmd := &cobra.Command{
		Use:   "plan INVENTORY --policy uk[,de]",
		Short: "The replacement plan: waves by deadline, most critical first",
		Long: `Plan the removal and replacement of designated vendors' elements from a
date (--at, default today). One wave per deadline, in deadline order; rules
already due are gathered in a first, overdue wave. Each wave lists the
elements to act on so that the network meets every rule due by its
deadline, most critical first: core domains and sensitive sites, then
transport, network management, radio access, fixed access.

For a share cap, the plan picks the fewest elements that bring the share
under the cap by the rule's metric: the largest contributors first for
elements, traffic and premises; for sites, whole sites with the fewest
designated elements first. No element is listed twice.`,
		Example: `  netvet exposure plan inventory.csv --policy uk,de
  netvet exposure plan inventory.csv --policy uk -f csv -o plan.csv
  netvet exposure plan inventory.csv --policy uk --at 2026-01-01 -f markdown`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			at, eng, err := fl.setup(report.PlanFormats)
			if err != nil {
				return err
			}
			inv, err := fl.load(cmd.Context(), e, args)
			if err != nil {
				return err
			}
			p := exposure.MakePlan(inv, eng, at)
			return writeOutput(e, fl.output, func(w io.Writer) error { return report.Plan(w, p, fl.format) })
		},
	}
	fl.register(cmd, report.PlanFormats, "start date of the plan")
	cmd.Flags().StringVar(&fl.netbox, "netbox", "", "read the inventory from this NetBox URL (token in "+NetBoxTokenEnv+")")
	return cmd
}

func newDiffCmd(e *env) *cobra.Command {
	var fl exposureFlags
	cmd := &cobra.Command{
		Use:   "diff OLD NEW --policy uk[,de]",
		Short: "Progress between two inventory snapshots",
		Long: `Compare two snapshots of an inventory against the policy packs at a date
(--at, default today): the elements of designated vendors removed and added
(by element ID; an element kept under its ID with another vendor counts as
removed, replaced by that vendor), vendor shares per domain then and now,
and the violations closed, opened or changed.`,
		Example: `  netvet exposure diff 2025-q4.csv 2026-q1.csv --policy uk
  netvet exposure diff old.json new.json --policy uk,de -f markdown -o progress.md`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			at, eng, err := fl.setup(report.DiffFormats)
			if err != nil {
				return err
			}
			oldInv, err := fl.load(cmd.Context(), e, args[:1])
			if err != nil {
				return err
			}
			newInv, err := fl.load(cmd.Context(), e, args[1:])
			if err != nil {
				return err
			}
			c := exposure.Diff(oldInv, newInv, eng, at)
			return writeOutput(e, fl.output, func(w io.Writer) error { return report.Diff(w, c, fl.format) })
		},
	}
	fl.register(cmd, report.DiffFormats, "date the violations are judged at")
	return cmd
}
