package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/netvet/netvet/internal/unpack"
	"github.com/netvet/netvet/internal/vuln"
)

func newDBCmd(e *env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "db",
		Short: "Manage the offline vulnerability database",
		Long: `netvet matches firmware components against grype's vulnerability
database (schema v6: NVD, distribution feeds, CISA KEV, EPSS), used
offline. Fetch the database on a connected machine, carry the file over,
and import it here; netvet never downloads anything and never refuses a
database for its age: the report says when it was built.

The database folder is --db, else $NETVET_DB_DIR, else ` + "`netvet/db`" + ` in
the user cache folder (` + "`$XDG_CACHE_HOME`" + ` or ~/.cache on Linux).`,
		Example: `  # On a connected machine: find the current archive and fetch it
  curl -fsSL https://grype.anchore.io/databases/v6/latest.json -o latest.json
  jq -r '.path, .checksum' latest.json
  curl -fsSLO "https://grype.anchore.io/databases/v6/$(jq -r .path latest.json)"

  # On the offline machine, with both files carried over
  netvet db import vulnerability-db_v6.*.tar.zst --sha256 "$(jq -r .checksum latest.json)"
  netvet db status`,
	}
	cmd.AddCommand(newDBImportCmd(e), newDBStatusCmd(e))
	return cmd
}

func newDBImportCmd(e *env) *cobra.Command {
	var dir, sum string
	cmd := &cobra.Command{
		Use:   "import FILE",
		Short: "Install a grype v6 vulnerability database from an archive or a .db file",
		Long: `Install the vulnerability database in FILE, replacing the one in the
database folder. FILE is an archive as Anchore publishes it
(vulnerability-db_v6.*.tar.zst, also .tar.gz and .tar.xz), holding
vulnerability.db and import.json, or a plain vulnerability.db (for
example the one grype keeps in ~/.cache/grype/db/6/ after
` + "`grype db update`" + ` on a connected machine).

How to get the archive, on a machine with Internet access:
  1. Download https://grype.anchore.io/databases/v6/latest.json. Its "path"
     names the current archive, its "checksum" is the archive's SHA-256.
  2. Download https://grype.anchore.io/databases/v6/<path> (about 65 MB
     compressed, over 1 GB unpacked).
  ` + "`grype db list`" + ` shows the same listing.
Carry the archive (and the checksum) over, then run this command; pass the
checksum with --sha256 to check the file survived the trip.

The archive is treated as untrusted: only vulnerability.db and import.json
are extracted, by name; path traversal, links and oversized entries are
refused; the database must match the digest in import.json; it must be a
grype v6 database. The new database is indexed in a temporary folder and
swapped in at once: a failed import leaves the old database in place.
Indexing the full database takes about a minute.`,
		Example: `  netvet db import vulnerability-db_v6.1.10_2026-01-14T00:28:34Z_1768372114.tar.zst
  netvet db import vulnerability-db_v6.*.tar.zst --sha256 sha256:5d41c6...
  netvet db import ~/.cache/grype/db/6/vulnerability.db --db /srv/netvet/db`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if dir == "" {
				dir = vuln.DefaultDir()
			}
			if !e.quiet && isTerminal(e.stderr) {
				fmt.Fprintf(e.stderr, "importing %s into %s ...\n", args[0], dir)
			}
			start := time.Now()
			info, err := vuln.ImportWith(cmd.Context(), args[0], dir, vuln.ImportOptions{SHA256: sum})
			if err != nil {
				return fmt.Errorf("db import: %w", err)
			}
			fmt.Fprintf(e.stdout, "imported %s in %s\n", args[0], time.Since(start).Round(100*time.Millisecond))
			printDBInfo(e.stdout, vuln.Status{Database: info}, false)
			return nil
		},
	}
	cmd.Flags().StringVar(&dir, "db", "", "database folder (default $NETVET_DB_DIR or the user cache folder)")
	cmd.Flags().StringVar(&sum, "sha256", "", "expected SHA-256 of FILE (the \"checksum\" of latest.json)")
	return cmd
}

func newDBStatusCmd(e *env) *cobra.Command {
	var dir, format string
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Describe the installed vulnerability database and verify its file",
		Long: `Print where the database is, its schema version, when it was built,
where it was imported from, its data sources with the date each was
captured, and whether the file still matches the digest recorded at
import (this reads the whole file once). A database that fails the check
is reported, and the command exits 1.`,
		Example: `  netvet db status
  netvet db status --db /srv/netvet/db -f json | jq .built`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if format != "text" && format != "json" {
				return &UsageError{fmt.Errorf("-f %q: use text or json", format)}
			}
			if dir == "" {
				dir = vuln.DefaultDir()
			}
			db, err := vuln.Open(dir)
			if err != nil {
				if errors.Is(err, vuln.ErrNoDatabase) {
					return fmt.Errorf("db status: no vulnerability database at %s; import one with `netvet db import FILE` (see `netvet db import --help`)", dir)
				}
				return fmt.Errorf("db status: %w", err)
			}
			defer db.Close()
			st, err := db.Status(cmd.Context())
			if err != nil {
				return fmt.Errorf("db status: %w", err)
			}
			if format == "json" {
				enc := json.NewEncoder(e.stdout)
				enc.SetIndent("", "  ")
				enc.SetEscapeHTML(false)
				if err := enc.Encode(st); err != nil {
					return err
				}
			} else {
				printDBInfo(e.stdout, st, true)
			}
			if !st.ChecksumOK && st.ChecksumError != "" && !strings.HasPrefix(st.ChecksumError, "no ") {
				return fmt.Errorf("db status: %s: %s", st.File, st.ChecksumError)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&dir, "db", "", "database folder (default $NETVET_DB_DIR or the user cache folder)")
	cmd.Flags().StringVarP(&format, "format", "f", "text", "output: text, json")
	return cmd
}

func printDBInfo(w io.Writer, st vuln.Status, full bool) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "database\t%s\n", st.Path)
	fmt.Fprintf(tw, "schema\t%s\n", st.SchemaVersion)
	built := st.Built
	if t, err := time.Parse(time.RFC3339, st.Built); err == nil {
		built += fmt.Sprintf(" (%s ago)", dbAge(time.Since(t)))
	}
	fmt.Fprintf(tw, "built\t%s\n", built)
	switch {
	case !full:
		fmt.Fprintf(tw, "checksum\t%s\n", st.Checksum)
	case st.ChecksumOK:
		fmt.Fprintf(tw, "checksum\t%s (verified)\n", st.Checksum)
	default:
		fmt.Fprintf(tw, "checksum\t%s (NOT VERIFIED: %s)\n", st.Checksum, st.ChecksumError)
	}
	if full {
		fmt.Fprintf(tw, "file\t%s (%s)\n", st.File, unpack.HumanBytes(st.Size))
		if st.Source != "" {
			fmt.Fprintf(tw, "source\t%s\n", st.Source)
		}
		for i, p := range st.Providers {
			label := ""
			if i == 0 {
				label = "providers"
			}
			fmt.Fprintf(tw, "%s\t%s\tcaptured %s\n", label, p.Name, p.Captured)
		}
	}
	tw.Flush()
}

func dbAge(d time.Duration) string {
	switch {
	case d < 0:
		return "0s"
	case d < 2*time.Hour:
		return d.Round(time.Minute).String()
	case d < 48*time.Hour:
		return fmt.Sprintf("%d hours", int(d.Hours()))
	}
	return fmt.Sprintf("%d days", int(d.Hours()/24))
}
