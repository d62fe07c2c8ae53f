package main

import (
	"context"
	"os"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/netvet/netvet/examples"
	"github.com/netvet/netvet/internal/cli"
)

func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"netvet": func() {
			err := cli.Run(context.Background(), os.Args[1:], os.Stdout, os.Stderr)
			os.Exit(cli.ExitCode(err, os.Stderr))
		},
	})
}

// TestScripts runs the CLI scenarios in testdata/script/*.txtar.
func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir: "testdata/script",
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			// demoimg FILE writes the bundled example firmware image.
			"demoimg": func(ts *testscript.TestScript, neg bool, args []string) {
				if len(args) != 1 {
					ts.Fatalf("usage: demoimg FILE")
				}
				ts.Check(os.WriteFile(ts.MkAbs(args[0]), examples.DemoFirmware, 0o644))
			},
			// demodb FILE writes the demo's vulnerability database archive.
			"demodb": func(ts *testscript.TestScript, neg bool, args []string) {
				if len(args) != 1 {
					ts.Fatalf("usage: demodb FILE")
				}
				ts.Check(os.WriteFile(ts.MkAbs(args[0]), examples.DemoVulnDB, 0o644))
			},
		},
	})
}
