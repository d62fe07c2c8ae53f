package all

import (
	"os"
	"reflect"
	"testing"
)

// TestEveryFormatListed fails when a format package is not in Formats.
func TestEveryFormatListed(t *testing.T) {
	listed := map[string]bool{}
	for _, f := range Formats() {
		ty := reflect.TypeOf(f)
		if ty.Kind() == reflect.Pointer {
			ty = ty.Elem()
		}
		listed[ty.PkgPath()] = true
	}
	ents, err := os.ReadDir("..")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if !e.IsDir() || e.Name() == "all" || e.Name() == "internal" {
			continue
		}
		pkg := "github.com/netvet/netvet/internal/firmware/format/" + e.Name()
		if !listed[pkg] {
			t.Errorf("format package %s is not in all.Formats", pkg)
		}
	}
}

func TestRegistryNamesUnique(t *testing.T) {
	r := Registry() // panics on a duplicate
	if len(r.Names()) != len(Formats()) {
		t.Fatalf("registry has %d names for %d formats", len(r.Names()), len(Formats()))
	}
	for _, f := range Formats() {
		in := f.Info()
		if in.Description == "" || in.Kind == "" {
			t.Errorf("%s: missing description or kind", in.Name)
		}
		if len(in.Signatures) == 0 {
			t.Errorf("%s: no signature: the driver cannot find it", in.Name)
		}
	}
}
