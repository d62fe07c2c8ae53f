package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/netvet/netvet/internal/firmware"
	"github.com/netvet/netvet/internal/firmware/format/all"
	"github.com/netvet/netvet/internal/unpack"
	"github.com/netvet/netvet/internal/version"
)

func newFirmwareCmd(e *env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "firmware",
		Short: "Open and vet vendor firmware images",
		Example: `  netvet firmware unpack fw.bin -o fw.out
  netvet firmware scan fw.bin -f html -o fw.html
  netvet firmware diff evaluated.bin deployed.bin
  netvet firmware verify fw.bin --manifest SHA256SUMS --sig SHA256SUMS.asc --key vendor.asc
  netvet firmware formats`,
	}
	cmd.AddCommand(newUnpackCmd(e), newScanCmd(e), newFirmwareDiffCmd(e), newFirmwareVerifyCmd(e), newFormatsCmd(e))
	return cmd
}

type unpackFlags struct {
	out     string
	json    bool
	workers int
	limits  limitFlags
}

// limitFlags are the extraction limits, shared by every command that unpacks.
type limitFlags struct {
	totalBytes string
	fileSize   string
	files      int64
	depth      int
	ratio      float64
	maxTime    time.Duration
	candidates int
}

func (l *limitFlags) register(f *pflag.FlagSet) {
	def := unpack.DefaultLimits()
	f.StringVar(&l.totalBytes, "max-total-bytes", formatSize(def.MaxTotalBytes), "limit: bytes written in all")
	f.StringVar(&l.fileSize, "max-file-size", formatSize(def.MaxFileSize), "limit: size of one extracted file")
	f.Int64Var(&l.files, "max-files", def.MaxFiles, "limit: number of extracted objects")
	f.IntVar(&l.depth, "max-depth", def.MaxDepth, "limit: containers nested in containers")
	f.Float64Var(&l.ratio, "max-ratio", def.MaxRatio, "limit: expansion of one container (bytes out per byte in), checked past 64 MiB out")
	f.DurationVar(&l.maxTime, "max-time", def.MaxTime, "limit: wall time of the unpack")
	f.IntVar(&l.candidates, "max-candidates", def.MaxCandidates, "limit: signature matches examined in one blob")
}

func (l *limitFlags) get() (unpack.Limits, error) {
	lim := unpack.DefaultLimits()
	var err error
	if lim.MaxTotalBytes, err = parseSize(l.totalBytes); err != nil {
		return lim, &UsageError{fmt.Errorf("--max-total-bytes: %w", err)}
	}
	if lim.MaxFileSize, err = parseSize(l.fileSize); err != nil {
		return lim, &UsageError{fmt.Errorf("--max-file-size: %w", err)}
	}
	lim.MaxFiles, lim.MaxDepth, lim.MaxRatio, lim.MaxTime, lim.MaxCandidates = l.files, l.depth, l.ratio, l.maxTime, l.candidates
	if err := lim.Validate(); err != nil {
		return lim, &UsageError{err}
	}
	return lim, nil
}

func newUnpackCmd(e *env) *cobra.Command {
	var fl unpackFlags
	cmd := &cobra.Command{
		Use:   "unpack IMAGE -o DIR",
		Short: "Extract a firmware image recursively and safely",
		Long: `Extract IMAGE into DIR, recursively: every format netvet knows is found by
its signature at any offset (carving), extracted, and every extracted file
is searched again until nothing more is recognised. Bytes no format
recognised are recorded as regions with their entropy, so encrypted or
unknown blobs stay visible.

Images are treated as hostile: every write is confined to DIR by the
operating system (os.Root); entries that try to escape are recorded as
errors, never followed; device nodes are recorded, never created; nothing
from the image is executed. Limits stop bombs; each has a flag, and a run
that reaches one still writes its partial manifest and exits 1.

DIR/manifest.json records one node per object: path inside the image,
disk_path (relative to DIR), format, offset, size, sha256, mode, uid, gid,
link_target, children and error. The same image gives a byte-identical
manifest.`,
		Example: `  # Unpack into fw.out and print a summary
  netvet firmware unpack fw.bin -o fw.out

  # Print the manifest as JSON, and find setuid files
  netvet firmware unpack fw.bin -o fw.out --json | jq -r '.nodes[] | select(.mode // "" | startswith("04")) | .path'

  # Tighter limits for an untrusted upload
  netvet firmware unpack upload.bin -o up.out --max-total-bytes 2GiB --max-files 100000 --max-time 5m`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if fl.out == "" {
				return &UsageError{fmt.Errorf("unpack: -o DIR is required (the folder to extract into)")}
			}
			lim, err := fl.limits.get()
			if err != nil {
				return err
			}
			prog := &unpack.Progress{}
			stopProgress := startProgress(e, prog)
			m, err := unpack.Unpack(cmd.Context(), args[0], fl.out, unpack.Options{
				Registry: all.Registry(), Limits: lim, Workers: fl.workers, Logger: e.log,
				Version: version.Get().Version, Progress: prog,
			})
			stopProgress()
			if m == nil {
				return err
			}
			if fl.json {
				if werr := m.WriteJSON(e.stdout); werr != nil {
					return werr
				}
			} else {
				printSummary(e.stdout, m, fl.out)
			}
			if err != nil {
				return fmt.Errorf("unpack of %s incomplete, partial manifest written to %s/%s:\n  %s",
					args[0], fl.out, unpack.ManifestName, strings.ReplaceAll(err.Error(), "\n", "\n  "))
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVarP(&fl.out, "output", "o", "", "folder to extract into (must not exist or be empty)")
	f.BoolVar(&fl.json, "json", false, "print the manifest as JSON on stdout instead of a summary")
	f.IntVar(&fl.workers, "workers", 0, "blobs processed in parallel (0: one per CPU)")
	fl.limits.register(f)
	return cmd
}

func printSummary(w io.Writer, m *unpack.Manifest, out string) {
	fmt.Fprintf(w, "%s  %s  sha256:%s\n", m.Image.Name, unpack.HumanBytes(m.Image.Size), m.Image.SHA256)
	// The container tree: every node that is a chunk, a region or has a format.
	// Shown: chunks, regions, nodes with a format, and their ancestors.
	show := map[string]bool{}
	parent := map[string]string{}
	for _, n := range m.Nodes {
		for _, c := range n.Children {
			parent[c] = n.Path
		}
	}
	for _, n := range m.Nodes {
		if n.Type == unpack.TypeChunk || n.Type == unpack.TypeRegion || n.Format != "" {
			for p := n.Path; p != "" && !show[p]; p = parent[p] {
				show[p] = true
			}
		}
	}
	for _, n := range m.Nodes {
		d := strings.Count(n.Path, "/") - strings.Count(m.Image.Name, "/")
		if n.Path == m.Image.Name {
			if n.Format != "" {
				fmt.Fprintf(w, "  = %s\n", n.Format)
			}
			continue
		}
		if !show[n.Path] {
			continue
		}
		indent := strings.Repeat("  ", min(d, 12))
		line := fmt.Sprintf("%s%s", indent, n.Path[strings.LastIndex(n.Path, "/")+1:])
		switch n.Type {
		case unpack.TypeRegion:
			ent := ""
			if n.Entropy != nil {
				ent = fmt.Sprintf(", entropy %.2f bits/byte", *n.Entropy)
				if *n.Entropy > 7.9 {
					ent += " (encrypted or compressed, not opened)"
				}
			}
			line += fmt.Sprintf("  %s%s", unpack.HumanBytes(n.Size), ent)
		default:
			if n.Format != "" {
				line += fmt.Sprintf("  [%s]", n.Format)
			}
			line += "  " + unpack.HumanBytes(n.Size)
		}
		if n.Error != "" {
			line += "  error: " + firstLine(n.Error)
		}
		fmt.Fprintln(w, line)
	}
	s := m.Stats
	fmt.Fprintf(w, "\n%d files, %d folders, %d links, %d device/special nodes, %d chunks, %d unknown regions; %s written\n",
		s.Files, s.Dirs, s.Links, s.Special, s.Chunks, s.Regions, unpack.HumanBytes(s.BytesWritten))
	var suid []string
	for _, n := range m.Nodes {
		if n.Type == "file" && len(n.Mode) == 4 && (n.Mode[0]-'0')&6 != 0 {
			suid = append(suid, n.Path)
		}
	}
	if len(suid) > 0 {
		sort.Strings(suid)
		fmt.Fprintf(w, "%d setuid/setgid files, e.g. %s\n", len(suid), suid[0])
	}
	if s.Errors > 0 {
		fmt.Fprintf(w, "%d entries with errors (see \"error\" in the manifest)\n", s.Errors)
	}
	fmt.Fprintf(w, "manifest: %s/%s\n", out, unpack.ManifestName)
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	if len(s) > 160 {
		s = s[:160] + "…"
	}
	return s
}

func newFormatsCmd(e *env) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "formats",
		Short: "List the formats netvet can identify and extract",
		Example: `  netvet firmware formats
  netvet firmware formats --json | jq -r '.formats[].name'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			reg := all.Registry()
			type row struct {
				Name        string   `json:"name"`
				Kind        string   `json:"kind"`
				Description string   `json:"description"`
				Variants    []string `json:"variants,omitempty"`
				Signatures  []string `json:"signatures"`
			}
			var rows []row
			for _, f := range reg.Formats() {
				in := f.Info()
				r := row{Name: in.Name, Kind: string(in.Kind), Description: in.Description, Variants: in.Variants}
				for _, s := range in.Signatures {
					r.Signatures = append(r.Signatures, fmt.Sprintf("%x@%d", s.Magic, s.Offset))
				}
				rows = append(rows, r)
			}
			sort.Slice(rows, func(i, j int) bool {
				if rows[i].Kind != rows[j].Kind {
					return kindOrder(rows[i].Kind) < kindOrder(rows[j].Kind)
				}
				return rows[i].Name < rows[j].Name
			})
			if asJSON {
				enc := json.NewEncoder(e.stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(map[string]any{"formats": rows})
			}
			tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "NAME\tKIND\tDESCRIPTION\tVARIANTS")
			for _, r := range rows {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", r.Name, r.Kind, r.Description, strings.Join(r.Variants, ", "))
			}
			return tw.Flush()
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print as JSON")
	return cmd
}

func kindOrder(k string) int {
	switch firmware.Kind(k) {
	case firmware.KindContainer:
		return 0
	case firmware.KindFilesystem:
		return 1
	case firmware.KindArchive:
		return 2
	}
	return 3
}
