// Package services finds the remote-access daemons of an image (telnet,
// SSH, TFTP, FTP, web, SNMP, r-services, netcat and socat listeners,
// gdbserver) and decides, statically, whether and how they start at
// boot.
//
// For each filesystem it follows the boot paths the way init would:
// /etc/inittab (BusyBox and SysV syntax, or BusyBox init's built-in
// defaults), the scripts those entries run, OpenWrt's /etc/rc.d and the
// SysV runlevel S links (with /etc/rc.common and procd emulated), enabled
// systemd service and socket units, then inetd.conf, xinetd and the
// crontabs when their daemon was started. Shell scripts are read by a
// small interpreter: literal variables, positional parameters, functions,
// case on known values, for loops over globs, sourcing, sh -c, eval,
// start-stop-daemon and similar wrappers. Tests ([ ... ]) are not
// evaluated: code under a condition is assumed to run, except that a flag
// which lowers the risk (dropbear -s) only counts when it is always
// passed. Command substitution is not evaluated. Every walk is bounded in
// depth, steps, loop items and script visits.
//
// A finding names the daemon, what it does (a shell without login,
// password authentication, ...) and the line that starts it, with the
// byte offset of that line and the chain of scripts that led there.
// Daemons that are installed but that nothing starts are reported at low
// or info severity.
package services

import (
	"context"
	"log/slog"

	"github.com/netvet/netvet/internal/firmware"
)

// Options tune the analyser. The zero value is usable.
type Options struct {
	Logger *slog.Logger
	// MaxScriptBytes caps the size of a script or configuration file that
	// is read (default 1 MiB).
	MaxScriptBytes int64
	// MaxBinaryScan caps how much of a program is searched for the BusyBox
	// banner and applet names (default 32 MiB).
	MaxBinaryScan int64
}

// Analyzer is the services analyser.
type Analyzer struct{ opts Options }

var _ firmware.Analyzer = (*Analyzer)(nil)

// New returns the analyser with default options.
func New() firmware.Analyzer { return NewWithOptions(Options{}) }

// NewWithOptions returns the analyser with the given options.
func NewWithOptions(o Options) *Analyzer {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.MaxScriptBytes <= 0 {
		o.MaxScriptBytes = 1 << 20
	}
	if o.MaxBinaryScan <= 0 {
		o.MaxBinaryScan = 32 << 20
	}
	return &Analyzer{opts: o}
}

const name = "services"

// Info lists every rule.
func (a *Analyzer) Info() firmware.AnalyzerInfo {
	return firmware.AnalyzerInfo{
		Name:        name,
		Description: "remote-access daemons and how they start at boot (inittab, init scripts, procd, systemd, inetd, cron)",
		Rules:       append([]firmware.Rule(nil), allRules...),
	}
}

// Analyze walks the boot paths of every filesystem of the tree.
func (a *Analyzer) Analyze(ctx context.Context, t *firmware.Tree, out firmware.Reporter) error {
	bb := newBusyboxCache(t, a.opts.MaxBinaryScan)
	var found []firmware.Finding
	for _, r := range t.Roots {
		if err := ctx.Err(); err != nil {
			return err
		}
		w := newWalker(ctx, a, t, r, bb)
		w.walkRoot()
		if w.steps > maxSteps || w.work > maxWork {
			a.opts.Logger.Warn("services: walk stopped at its work limit; later boot entries were not followed",
				"path", r.Path, "steps", w.steps, "bytes", w.work)
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		found = append(found, w.findings()...)
	}
	for i := range found {
		found[i].Analyzer = name
	}
	firmware.SortFindings(found)
	for _, fd := range found {
		out.Report(fd)
	}
	return nil
}
