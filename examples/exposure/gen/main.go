// Command gen writes the example operator inventories:
//
//	go run ./examples/exposure/gen              # operator.csv and operator-2026q4.csv
//	go run ./examples/exposure/gen -n 1000000 -o big.csv
package main

import (
	"bufio"
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/netvet/netvet/examples/exposure"
)

func main() {
	n := flag.Int("n", 5000, "elements (approximate)")
	seed := flag.Uint64("seed", 0, "random seed (0: the fixed default)")
	out := flag.String("o", "", "write one base snapshot to this file instead of the two example files")
	later := flag.Bool("later", false, "with -o: write the 2026-Q4 snapshot")
	dir := flag.String("dir", "examples/exposure", "directory for the example files")
	flag.Parse()
	if *out != "" {
		if err := write(*out, exposure.Config{Elements: *n, Seed: *seed, Later: *later}); err != nil {
			fmt.Fprintln(os.Stderr, "gen:", err)
			os.Exit(1)
		}
		return
	}
	for _, f := range []struct {
		name  string
		later bool
	}{{exposure.OperatorName, false}, {exposure.Operator2026Q4Name, true}} {
		if err := write(filepath.Join(*dir, f.name), exposure.Config{Elements: *n, Seed: *seed, Later: f.later}); err != nil {
			fmt.Fprintln(os.Stderr, "gen:", err)
			os.Exit(1)
		}
	}
}

func write(path string, cfg exposure.Config) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	if err := exposure.Generate(w, cfg); err != nil {
		f.Close()
		return fmt.Errorf("%s: %w", path, err)
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
