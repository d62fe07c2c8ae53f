package cli

import (
	"encoding/json"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/netvet/netvet/internal/version"
)

func newVersionCmd(e *env) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print netvet's version",
		Example: `  netvet version
  netvet version --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			v := version.Get()
			if asJSON {
				enc := json.NewEncoder(e.stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(v)
			}
			fmt.Fprintf(e.stdout, "netvet %s (%s", v.Version, v.GoVersion)
			if v.Revision != "" {
				fmt.Fprintf(e.stdout, ", revision %.12s", v.Revision)
				if v.Modified {
					fmt.Fprint(e.stdout, "+modified")
				}
			}
			fmt.Fprintln(e.stdout, ")")
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print as JSON")
	return cmd
}
