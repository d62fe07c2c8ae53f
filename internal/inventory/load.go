package inventory

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// LoadOptions control a load.
type LoadOptions struct {
	// Strict fails the load at the first Problem, warnings included; the
	// error is a *StrictError wrapping it. Otherwise problems are collected
	// in Inventory.Problems and rows with errors are skipped and counted in
	// Inventory.Skipped.
	Strict bool
	// Aliases normalises vendor names; nil means DefaultAliases.
	Aliases *Aliases
}

// Format names, as Sniff returns them.
const (
	FormatCSV    = "csv"
	FormatJSON   = "json"
	FormatTMF639 = "tmf639"
)

// Load reads an inventory file, choosing the loader from its extension
// and content: .csv is CSV; .json is netvet's Element JSON
// ({"elements":[...]} or a bare array) unless its start looks like TMF639
// Resources (an array of Resource, or {"resource": ...}). Other names are
// sniffed: JSON if the first non-space byte is '[' or '{', CSV otherwise.
// The path "-" reads standard input.
func Load(ctx context.Context, path string, opts LoadOptions) (*Inventory, error) {
	var f io.ReadCloser
	if path == "-" {
		f = io.NopCloser(os.Stdin)
	} else {
		fh, err := os.Open(path)
		if err != nil {
			return nil, fmt.Errorf("inventory: %w", err)
		}
		f = fh
	}
	defer f.Close()
	br := bufio.NewReaderSize(f, 64<<10)
	head, _ := br.Peek(64 << 10) // a short file gives what there is
	name := path
	if path == "-" {
		name = "stdin"
	}
	switch Sniff(filepath.Ext(path), head) {
	case FormatCSV:
		var r io.Reader = br
		if fh, ok := f.(*os.File); ok {
			if fi, err := fh.Stat(); err == nil && fi.Mode().IsRegular() {
				// The loader sizes its tables from the bytes left to read.
				r = &sizedReader{r: br, left: fi.Size()}
			}
		}
		return loadCSV(ctx, r, name, opts)
	case FormatTMF639:
		return loadTMF639(ctx, br, name, opts)
	default:
		return loadJSON(ctx, br, name, opts)
	}
}

// Sniff names the format of an inventory from its file extension (with
// the dot, may be empty) and its first bytes.
func Sniff(ext string, head []byte) string {
	ext = strings.ToLower(ext)
	if ext == ".csv" || ext == ".tsv" {
		return FormatCSV
	}
	t := bytes.TrimLeft(bytes.TrimPrefix(head, []byte("\ufeff")), " \t\r\n")
	if ext != ".json" && (len(t) == 0 || (t[0] != '[' && t[0] != '{')) {
		return FormatCSV
	}
	if looksTMF639(t) {
		return FormatTMF639
	}
	return FormatJSON
}

func looksTMF639(t []byte) bool {
	if bytes.Contains(t, []byte(`"elements"`)) {
		return false
	}
	for _, m := range []string{`"resource"`, `"resourceCharacteristic"`, `"resourceSpecification"`,
		`"relatedParty"`, `"@type"`, `"resourceVersion"`, `"lifecycleState"`, `"resourceStatus"`} {
		if bytes.Contains(t, []byte(m)) {
			return true
		}
	}
	return false
}

// sizedReader reports how many bytes of a file of known size are left.
type sizedReader struct {
	r    io.Reader
	left int64
}

func (s *sizedReader) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	s.left -= int64(n)
	return n, err
}

// Len returns the bytes not read yet.
func (s *sizedReader) Len() int { return int(max(s.left, 0)) }
