package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/netvet/netvet/internal/policy"
)

func newPolicyCmd(e *env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "policy",
		Short: "Check and read the policy packs that restrict high-risk vendors",
		Long: `Policy packs are YAML files of rules (forbid, share_cap, no_new_install,
remove_by, require_evidence, support_locality) with a scope written in CEL
over element fields, the vendors they designate, a deadline, a source and
the status of that source. netvet ships packs for several jurisdictions;
operators add their own.`,
		Example: `  netvet policy show            # list the shipped packs
  netvet policy show uk
  netvet policy lint mine.yaml`,
	}
	cmd.AddCommand(newPolicyLintCmd(e), newPolicyShowCmd(e))
	return cmd
}

func newPolicyLintCmd(e *env) *cobra.Command {
	return &cobra.Command{
		Use:   "lint FILE...",
		Short: "Check policy pack files and report every problem with its place",
		Long: `Check each pack file: YAML syntax, required fields, rule kinds, metrics,
caps, dates and CEL expressions. Every problem is printed on stdout as
file:line:column: field: message. The exit status is 1 when any file has
a problem, 0 when all are clean.`,
		Example: `  netvet policy lint policies/uk.yaml
  netvet policy lint mine.yaml theirs.yaml`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			bad, n := 0, 0
			for _, path := range args {
				errs := policy.Lint(path)
				if len(errs) == 0 {
					fmt.Fprintf(e.stdout, "%s: ok\n", path)
					continue
				}
				bad++
				n += len(errs)
				for _, le := range errs {
					fmt.Fprintln(e.stdout, le.Error())
				}
			}
			if bad > 0 {
				return fmt.Errorf("policy lint: %d %s in %d of %d files", n, map[bool]string{true: "problem", false: "problems"}[n == 1], bad, len(args))
			}
			return nil
		},
	}
}

func newPolicyShowCmd(e *env) *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "show [ID|FILE]",
		Short: "Print a policy pack as a readable table",
		Long: `Print a shipped pack (by ID) or a pack file: each rule with its kind,
scope, designated vendors, limit, deadline, source status and source.
Without an argument, list the shipped packs.`,
		Example: `  netvet policy show
  netvet policy show uk
  netvet policy show de -f markdown
  netvet policy show ./mine.yaml -f json`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if format != "text" && format != "json" && format != "markdown" {
				return &UsageError{fmt.Errorf("-f %q: use text, json or markdown", format)}
			}
			var packs []*policy.Pack
			if len(args) == 0 {
				for _, id := range policy.Builtin() {
					p, err := policy.LoadBuiltin(id)
					if err != nil {
						return err
					}
					packs = append(packs, p)
				}
				if format == "text" {
					for _, p := range packs {
						fmt.Fprintln(e.stdout, policy.Describe(p))
					}
					return nil
				}
			} else {
				if strings.Contains(args[0], ",") {
					return &UsageError{errors.New("policy show: one pack at a time (an ID or a file)")}
				}
				ps, err := policy.LoadPacks(args[0])
				if err != nil {
					return err
				}
				packs = ps
			}
			switch format {
			case "json":
				enc := json.NewEncoder(e.stdout)
				enc.SetIndent("", "  ")
				enc.SetEscapeHTML(false)
				return enc.Encode(map[string]any{"packs": packs})
			case "markdown":
				for _, p := range packs {
					showMarkdown(e.stdout, p)
				}
				return nil
			}
			for _, p := range packs {
				fmt.Fprintln(e.stdout, policy.Describe(p))
				if p.Description != "" {
					fmt.Fprintln(e.stdout, oneLine(p.Description))
				}
				fmt.Fprintln(e.stdout)
				tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
				for i, row := range policy.Table(p) {
					if i == 0 {
						for j := range row {
							row[j] = strings.ToUpper(row[j])
						}
					} else {
						// Long scopes would stretch every row: cut them (-f json has them whole).
						for j := range row[:len(row)-1] {
							row[j] = cut(row[j], 60)
						}
					}
					fmt.Fprintln(tw, strings.Join(cleanCells(row), "\t"))
				}
				tw.Flush()
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&format, "format", "f", "text", "output: text, json, markdown")
	return cmd
}

func cleanCells(row []string) []string {
	out := make([]string, len(row))
	for i, c := range row {
		out[i] = strings.Map(func(r rune) rune {
			if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
				return '?'
			}
			return r
		}, c)
	}
	return out
}

func cut(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

func showMarkdown(w io.Writer, p *policy.Pack) {
	esc := strings.NewReplacer("|", `\|`, "<", "&lt;", ">", "&gt;", "\n", " ")
	fmt.Fprintf(w, "## %s\n\n", esc.Replace(policy.Describe(p)))
	if p.Description != "" {
		fmt.Fprintf(w, "%s\n\n", esc.Replace(oneLine(p.Description)))
	}
	for i, row := range policy.Table(p) {
		cells := cleanCells(row)
		for j := range cells {
			cells[j] = esc.Replace(cells[j])
		}
		fmt.Fprintf(w, "| %s |\n", strings.Join(cells, " | "))
		if i == 0 {
			fmt.Fprintf(w, "|%s\n", strings.Repeat(" --- |", len(row)))
		}
	}
	fmt.Fprintln(w)
}
