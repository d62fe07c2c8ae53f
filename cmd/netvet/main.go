// Command netvet tells a network operator whether it can trust the network
// equipment it runs, and proves it with evidence.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/netvet/netvet/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := cli.Run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(cli.ExitCode(err, os.Stderr))
}
