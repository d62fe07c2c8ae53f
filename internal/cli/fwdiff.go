package cli

import (
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/netvet/netvet/internal/equiv"
	"github.com/netvet/netvet/internal/firmware/format/all"
	"github.com/netvet/netvet/internal/unpack"
	"github.com/netvet/netvet/internal/version"
)

type fwDiffFlags struct {
	format     string
	output     string
	work       string
	workers    int
	maxCompare string
	all        bool
	limits     limitFlags
}

func newFirmwareDiffCmd(e *env) *cobra.Command {
	var fl fwDiffFlags
	cmd := &cobra.Command{
		Use:   "diff A B",
		Short: "Show whether two firmware builds are the same: bit-identical, equivalent or different",
		Long: `Compare two firmware builds: A, the image that was evaluated (or built from
the reviewed source), and B, the image that runs in the network. Each is an
image file, unpacked here, or a folder written by 'netvet firmware unpack'.

Objects are matched by their path inside the file system they come from
(file systems of A and B are paired by format and shared paths, so a root
file system that moved by a few bytes still matches). Objects whose bytes
differ are compared again after removing the known sources of build
non-determinism, each named in the report:

  mtime, file-order     file-system, archive and container timestamps; entry order
  compression           compressor, level, block size (decompressed content equal)
  gzip-header           gzip header time and name
  container-checksum    uImage/TRX/CHK/SEAMA checksums over equivalent payloads
  container-layout      their length and offset fields
  fs-layout             equal entries laid out differently by a file system
  elf-build-id          ELF build ID notes
  build-date            __DATE__/__TIME__, date(1), RFC 2822 and ISO 8601 dates, "built on ..."
  build-path            /home/USER, /builds, /tmp/RANDOM ... in ELF strings and debug info
  build-host            user@host in the Linux kernel banner

A mask covers only bytes that match a strict pattern in both files, keeps
their length, and every masked span is listed (-f json) for checking by
hand. What still differs is shown with its evidence: the first differing
offset, the ELF sections that changed (code, rodata, data), the TLSH
distance, a unified diff for text (secrets redacted), changed modes,
owners and link targets. Security-relevant changes are findings: a new
set-user-ID file, a new or changed init script, a new listening daemon, a
changed authorized_keys, a changed account database.

Verdict and exit status: bit-identical (0), equivalent (0), different (3),
incomplete (3: nothing was found to differ, but some bytes could not be
read, e.g. a folder given without its image beside it, or the images
differ only in bytes netvet does not compare).`,
		Example: `  # Is the image in the network the one the lab evaluated?
  netvet firmware diff evaluated.bin deployed.bin

  # The full record for the lab: every object and masked span, as JSON
  netvet firmware diff evaluated.bin deployed.bin -f json -o diff.json

  # A report to hand over, keeping both unpack folders for inspection
  netvet firmware diff evaluated.bin deployed.bin -f html -o diff.html --work diff.work

  # Reuse folders written by 'netvet firmware unpack'
  netvet firmware diff evaluated.out deployed.out`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if !slices.Contains(equiv.Formats, fl.format) {
				return &UsageError{fmt.Errorf("-f %q: use %s", fl.format, strings.Join(equiv.Formats, ", "))}
			}
			lim, err := fl.limits.get()
			if err != nil {
				return err
			}
			maxCmp, err := parseSize(fl.maxCompare)
			if err != nil {
				return &UsageError{fmt.Errorf("--max-compare-size: %w", err)}
			}
			prog := &unpack.Progress{}
			stopProgress := startProgress(e, prog)
			rep, err := equiv.Diff(cmd.Context(), args[0], args[1], equiv.OpenOptions{
				Registry: all.Registry(), Limits: lim, Workers: fl.workers, Logger: e.log,
				Version: version.Get().Version, Dir: fl.work, Progress: prog,
			}, equiv.Options{MaxCompareBytes: maxCmp, All: fl.all, Logger: e.log, Version: version.Get().Version})
			stopProgress()
			if err != nil {
				return err
			}
			if err := writeOutput(e, fl.output, func(w io.Writer) error { return equiv.Write(w, rep, fl.format) }); err != nil {
				return err
			}
			switch rep.Verdict {
			case equiv.VerdictDifferent, equiv.VerdictIncomplete:
				if fl.output != "" || fl.format != "text" {
					fmt.Fprintf(e.stderr, "netvet: %s\n", rep.VerdictLine())
				}
				return errReported{ErrFindings}
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVarP(&fl.format, "format", "f", "text", "output: "+strings.Join(equiv.Formats, ", "))
	f.StringVarP(&fl.output, "output", "o", "", "write the report to `FILE` instead of stdout")
	f.StringVar(&fl.work, "work", "", "unpack the images into `DIR`/a and DIR/b and keep them (default: a temporary folder, removed)")
	f.IntVar(&fl.workers, "workers", 0, "blobs unpacked in parallel per image (0: one per CPU)")
	f.StringVar(&fl.maxCompare, "max-compare-size", "64MiB", "files larger than `SIZE` are compared by hash and TLSH only, not normalised")
	f.BoolVar(&fl.all, "all", false, "list identical objects too (with -f json or html)")
	fl.limits.register(f)
	return cmd
}
