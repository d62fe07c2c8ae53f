package exposure

import (
	"bytes"
	"testing"
)

// The committed example files are what the generator writes; regenerate
// them with `go run ./examples/exposure/gen` after changing it.
func TestExamplesUpToDate(t *testing.T) {
	for _, c := range []struct {
		name  string
		data  []byte
		later bool
	}{{OperatorName, OperatorCSV, false}, {Operator2026Q4Name, Operator2026Q4CSV, true}} {
		var b bytes.Buffer
		if err := Generate(&b, Config{Later: c.later}); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(b.Bytes(), c.data) {
			t.Errorf("%s is not what the generator writes: run go run ./examples/exposure/gen", c.name)
		}
	}
}

func TestGenerateDeterministic(t *testing.T) {
	var a, b bytes.Buffer
	Generate(&a, Config{Elements: 20000, Seed: 7})
	Generate(&b, Config{Elements: 20000, Seed: 7})
	if !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Error("same seed, different output")
	}
	if n := bytes.Count(a.Bytes(), []byte{'\n'}); n < 18000 || n > 22000 {
		t.Errorf("%d rows for 20000", n)
	}
}
