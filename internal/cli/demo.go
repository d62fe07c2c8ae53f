package cli

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/netvet/netvet/examples"
	"github.com/netvet/netvet/internal/firmware/format/all"
	"github.com/netvet/netvet/internal/unpack"
	"github.com/netvet/netvet/internal/version"
)

func newDemoCmd(e *env) *cobra.Command {
	var out string
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Run netvet on the bundled example router firmware",
		Long: `Unpack the bundled example image, a router firmware (a Netgear CHK holding a
Broadcom TRX, a U-Boot kernel image and a SquashFS root filesystem, then an
encrypted-looking blob), and print its container tree and what it holds.
Nothing is downloaded; the image is part of netvet.`,
		Example: `  netvet demo
  netvet demo -o demo.out   # keep the extracted tree and manifest`,
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
			return err
		},
	}
	cmd.Flags().StringVarP(&out, "output", "o", "", "keep the extracted tree and manifest in this folder")
	return cmd
}
