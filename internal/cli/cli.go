// Package cli holds netvet's subcommands: each turns flags into options
// and calls the package that does the work. No analysis logic lives here.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime/pprof"
	"strings"

	"github.com/spf13/cobra"
)

// Exit codes, the same for every command.
const (
	ExitOK          = 0
	ExitError       = 1
	ExitUsage       = 2
	ExitFindings    = 3
	ExitInterrupted = 130
)

// UsageError is a mistake in how the command was called.
type UsageError struct{ Err error }

func (e *UsageError) Error() string { return e.Err.Error() }
func (e *UsageError) Unwrap() error { return e.Err }

// ErrFindings reports findings, violations or differences at or above the
// threshold the user set; the report itself was already written.
var ErrFindings = errors.New("findings at or above the threshold")

// errReported means the command already told the user what went wrong.
type errReported struct{ err error }

func (e errReported) Error() string { return e.err.Error() }
func (e errReported) Unwrap() error { return e.err }

// ExitCode maps an error to netvet's exit code, printing it when needed.
func ExitCode(err error, stderr io.Writer) int {
	if err == nil {
		return ExitOK
	}
	var rep errReported
	printed := errors.As(err, &rep)
	if !printed {
		fmt.Fprintf(stderr, "netvet: %s\n", err)
	}
	var ue *UsageError
	switch {
	case errors.Is(err, ErrFindings):
		return ExitFindings
	case errors.Is(err, context.Canceled):
		return ExitInterrupted
	case errors.As(err, &ue):
		return ExitUsage
	}
	return ExitError
}

// env is what every command gets: where to write, and the logger.
type env struct {
	stdout, stderr io.Writer
	log            *slog.Logger
	quiet          bool
	logLevel       string
	cpuProfile     string
}

// Run parses args and runs the chosen command.
func Run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	e := &env{stdout: stdout, stderr: stderr}
	root := newRoot(e)
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.ExecuteContext(ctx)
	if err != nil && isCobraUsage(err) {
		fmt.Fprintf(stderr, "netvet: %s\nRun 'netvet --help' for usage.\n", err)
		return errReported{&UsageError{err}}
	}
	return err
}

func isCobraUsage(err error) bool {
	var ue *UsageError
	if errors.As(err, &ue) {
		return false
	}
	msg := err.Error()
	for _, p := range []string{"unknown command", "unknown flag", "unknown shorthand flag", "flag needs an argument",
		"invalid argument", "accepts ", "requires at least", "required flag", "bad flag syntax", "if any flags in the group"} {
		if strings.Contains(msg, p) {
			return true
		}
	}
	return false
}

func newRoot(e *env) *cobra.Command {
	root := &cobra.Command{
		Use:   "netvet",
		Short: "Vet the network equipment you run: exposure, firmware, build equivalence, egress",
		Long: `netvet tells a network operator, an evaluation lab or a regulator whether
it can trust the network equipment it runs, and proves it with evidence.

Everything runs offline. Machine output (--json, -f json) is stable: the
same input gives byte-identical output.`,
		Example: `  # Unpack a vendor firmware image safely, recursively
  netvet firmware unpack fw.bin -o fw.out

  # Components, known vulnerabilities and backdoor indicators, as an HTML report
  netvet firmware scan fw.bin -f html -o fw.html

  # Is the image in the network the one the lab evaluated?
  netvet firmware diff evaluated.bin deployed.bin

  # See netvet at work on bundled example data
  netvet demo`,
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, args []string) error {
			var lvl slog.Level
			if err := lvl.UnmarshalText([]byte(e.logLevel)); err != nil {
				return &UsageError{fmt.Errorf("--log-level %q: use debug, info, warn or error", e.logLevel)}
			}
			e.log = slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: lvl}))
			if e.cpuProfile != "" {
				f, err := os.Create(e.cpuProfile)
				if err != nil {
					return err
				}
				if err := pprof.StartCPUProfile(f); err != nil {
					return err
				}
			}
			return nil
		},
		PersistentPostRun: func(cmd *cobra.Command, args []string) {
			if e.cpuProfile != "" {
				pprof.StopCPUProfile()
			}
		},
	}
	root.PersistentFlags().StringVar(&e.cpuProfile, "cpuprofile", "", "write a CPU profile to this file (for pprof)")
	root.PersistentFlags().MarkHidden("cpuprofile")
	root.PersistentFlags().StringVar(&e.logLevel, "log-level", "warn", "log level on stderr: debug, info, warn, error")
	root.PersistentFlags().BoolVarP(&e.quiet, "quiet", "q", false, "no progress output on stderr")
	root.SetFlagErrorFunc(func(cmd *cobra.Command, err error) error { return &UsageError{err} })
	root.AddCommand(newVersionCmd(e), newFirmwareCmd(e), newDemoCmd(e))
	root.AddCommand(newPolicyCmd(e), newExposureCmd(e), newLedgerCmd(e), newDBCmd(e), newEgressCmd(e))
	root.InitDefaultCompletionCmd()
	root.InitDefaultHelpCmd()
	for _, c := range root.Commands() {
		switch c.Name() {
		case "completion":
			c.Example = `  # bash, for this shell
  source <(netvet completion bash)
  # zsh, installed for every shell
  netvet completion zsh > "${fpath[1]}/_netvet"`
		case "help":
			c.Example = `  netvet help firmware unpack`
		}
	}
	return root
}

// isTerminal reports whether w is a character device (a terminal).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
