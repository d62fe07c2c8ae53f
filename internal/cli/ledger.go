package cli

import (
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/netvet/netvet/internal/firmware/format/all"
	"github.com/netvet/netvet/internal/ledger"
	"github.com/netvet/netvet/internal/store"
	"github.com/netvet/netvet/internal/version"
)

// LedgerEnv names the environment variable holding the ledger's path.
const LedgerEnv = "NETVET_LEDGER"

// defaultLedgerPath is $NETVET_LEDGER, else ledger.db in netvet's folder
// of the user's configuration directory.
func defaultLedgerPath() (string, error) {
	if p := os.Getenv(LedgerEnv); p != "" {
		return p, nil
	}
	dir, err := os.UserConfigDir()
	if err != nil {
		return "", fmt.Errorf("no --ledger, no %s and no user configuration folder: %w", LedgerEnv, err)
	}
	return filepath.Join(dir, "netvet", "ledger.db"), nil
}

type ledgerFlags struct {
	unpacked string
	format   string
	output   string
}

// resolve checks the output format and names the ledger: --ledger, else
// the default.
func (fl *ledgerFlags) resolve(path string) (string, error) {
	if fl.format != "text" && fl.format != "json" {
		return "", &UsageError{fmt.Errorf("-f %q: use text or json", fl.format)}
	}
	if path != "" {
		return path, nil
	}
	return defaultLedgerPath()
}

func (fl *ledgerFlags) register(cmd *cobra.Command, withUnpacked bool) {
	f := cmd.Flags()
	if withUnpacked {
		f.StringVar(&fl.unpacked, "unpacked", "", "an unpack folder of IMAGE (from netvet firmware unpack) to use instead of unpacking again")
	}
	f.StringVarP(&fl.format, "format", "f", "text", "output: text or json")
	f.StringVarP(&fl.output, "output", "o", "", "write the report to this file instead of stdout")
}

func (fl *ledgerFlags) options(e *env) ledger.Options {
	return ledger.Options{Registry: all.Registry(), Logger: e.log, Version: version.Get().Version, Unpacked: fl.unpacked}
}

func newLedgerCmd(e *env) *cobra.Command {
	var path string
	cmd := &cobra.Command{
		Use:   "ledger",
		Short: "The evaluated-versions ledger: which firmware images a lab evaluated",
		Long: `Record which firmware images an evaluation lab evaluated (NESAS, SCAS or a
national certification scheme), by the image's SHA-256 and by the content
of the unpacked image, and ask whether an image in the network, or an
equivalent one, was evaluated.

Equivalent means: the same files with the same content, link targets and
modes in the same filesystems, and the same data outside them, whatever
the container, compression, timestamps or ownership.

The ledger is a SQLite file: --ledger PATH, else $` + LedgerEnv + `, else
netvet/ledger.db in the user's configuration folder.`,
		Example: `  netvet ledger add fw-1.2.bin --lab "Lab A" --report NESAS-2025-017 --date 2025-02-01 --scheme NESAS \
      --vendor acme --product R1 --version 1.2
  netvet ledger check fw-1.2-rebuilt.bin
  netvet ledger list -f json`,
	}
	cmd.PersistentFlags().StringVar(&path, "ledger", "", "the ledger database (default $"+LedgerEnv+" or netvet/ledger.db in the user configuration folder)")
	cmd.AddCommand(newLedgerAddCmd(e, &path), newLedgerCheckCmd(e, &path), newLedgerListCmd(e, &path))
	return cmd
}

func newLedgerAddCmd(e *env, path *string) *cobra.Command {
	var fl ledgerFlags
	var rec ledger.Record
	cmd := &cobra.Command{
		Use:   "add IMAGE --lab NAME --report ID --date YYYY-MM-DD --scheme NESAS|SCAS|national:NAME",
		Short: "Record that a lab evaluated an image",
		Long: `Record that IMAGE was evaluated: by which lab, in which report, on which
date, under which scheme (NESAS, SCAS, or national:<name> for a national
certification), and optionally for which vendor, product and version (the
exposure assessment uses these to flag elements running versions no lab
evaluated).

The image is unpacked the first time it is recorded, and the content of
every file of its filesystems is kept, so that a rebuilt or repacked
image with the same content is recognised as equivalent. Recording the
same evaluation twice changes nothing; the same lab and report with other
details is an error.`,
		Example: `  netvet ledger add fw-1.2.bin --lab "Lab A" --report NESAS-2025-017 --date 2025-02-01 --scheme NESAS \
      --vendor acme --product R1 --version 1.2
  netvet ledger add fw-1.2.bin --lab BSI --report BSI-DSZ-CC-1234 --date 2025-06-30 --scheme national:BSI --ledger lab.db`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			p, err := fl.resolve(*path)
			if err != nil {
				return err
			}
			if err := rec.Validate(); err != nil {
				return &UsageError{err}
			}
			db, err := store.Open(cmd.Context(), p)
			if err != nil {
				return err
			}
			defer db.Close()
			r, err := ledger.Add(cmd.Context(), db, args[0], rec, fl.options(e))
			if err != nil {
				return fmt.Errorf("ledger add %s: %w", args[0], err)
			}
			return writeOutput(e, fl.output, func(w io.Writer) error {
				if fl.format == "json" {
					return ledger.WriteJSON(w, r)
				}
				return ledger.WriteAddText(w, r)
			})
		},
	}
	fl.register(cmd, true)
	f := cmd.Flags()
	f.StringVar(&rec.Lab, "lab", "", "the evaluation lab (required)")
	f.StringVar(&rec.Report, "report", "", "the lab's report reference (required)")
	f.StringVar(&rec.Date, "date", "", "the date of the evaluation, YYYY-MM-DD (required)")
	f.StringVar(&rec.Scheme, "scheme", "", "NESAS, SCAS or national:<name> (required)")
	f.StringVar(&rec.Vendor, "vendor", "", "the vendor of the evaluated product")
	f.StringVar(&rec.Product, "product", "", "the evaluated product (the model in the inventory)")
	f.StringVar(&rec.Version, "version", "", "the evaluated software version")
	return cmd
}

func newLedgerCheckCmd(e *env, path *string) *cobra.Command {
	var fl ledgerFlags
	cmd := &cobra.Command{
		Use:   "check IMAGE",
		Short: "Was this image, or an equivalent one, evaluated?",
		Long: `Answer whether IMAGE was evaluated: "evaluated" when an image with the same
SHA-256 is in the ledger; "equivalent" when an evaluated image holds the
same content once unpacked (same files, content, link targets and modes,
same data outside filesystems); else "not-evaluated", with the closest
evaluated image and the files that differ (changed, added, removed).

An image whose unpack was incomplete (a limit was reached) is never
declared equivalent. Exit status: 0 evaluated or equivalent, 3 not
evaluated, 1 on errors.`,
		Example: `  netvet ledger check fw-1.2.bin
  netvet ledger check fw-1.2-rebuilt.bin -f json -o check.json
  netvet ledger check fw.bin --unpacked fw.out --ledger lab.db`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			p, err := fl.resolve(*path)
			if err != nil {
				return err
			}
			db, err := store.OpenReadOnly(cmd.Context(), p)
			if err != nil {
				return err
			}
			defer db.Close()
			r, err := ledger.Check(cmd.Context(), db, args[0], fl.options(e))
			if err != nil {
				return fmt.Errorf("ledger check %s: %w", args[0], err)
			}
			if err := writeOutput(e, fl.output, func(w io.Writer) error {
				if fl.format == "json" {
					return ledger.WriteJSON(w, r)
				}
				return ledger.WriteCheckText(w, r)
			}); err != nil {
				return err
			}
			if !r.Evaluated() {
				fmt.Fprintf(e.stderr, "netvet: %s: not evaluated\n", args[0])
				return errReported{ErrFindings}
			}
			return nil
		},
	}
	fl.register(cmd, true)
	return cmd
}

func newLedgerListCmd(e *env, path *string) *cobra.Command {
	var fl ledgerFlags
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the recorded evaluations",
		Example: `  netvet ledger list
  netvet ledger list -f json | jq -r '.evaluations[] | [.vendor, .product, .version, .scheme] | @tsv'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			p, err := fl.resolve(*path)
			if err != nil {
				return err
			}
			db, err := store.OpenReadOnly(cmd.Context(), p)
			if err != nil {
				return err
			}
			defer db.Close()
			l, err := ledger.List(cmd.Context(), db)
			if err != nil {
				return fmt.Errorf("ledger list: %w", err)
			}
			return writeOutput(e, fl.output, func(w io.Writer) error {
				if fl.format == "json" {
					return ledger.WriteJSON(w, ledger.ListRows(l))
				}
				return ledger.WriteListText(w, l)
			})
		},
	}
	fl.register(cmd, false)
	return cmd
}
