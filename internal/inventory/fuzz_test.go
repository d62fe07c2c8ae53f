package inventory

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

func seedFiles(f *testing.F, pattern string) {
	paths, _ := filepath.Glob(filepath.Join("testdata", pattern))
	for _, p := range paths {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
}

// checkInventory asserts what every load must give, whatever the input:
// bounded problems, kept elements that pass the required checks, and
// JSON that encodes.
func checkInventory(t *testing.T, inv *Inventory) {
	if inv == nil {
		return
	}
	if len(inv.Problems) > MaxProblems+1 {
		t.Fatalf("%d problems kept", len(inv.Problems))
	}
	seen := map[string]bool{}
	for _, e := range inv.Elements {
		if e.ID == "" || e.Vendor == "" || !KnownDomain(e.Domain) {
			t.Fatalf("kept an element that fails the checks: %+v", e)
		}
		if seen[e.ID] {
			t.Fatalf("duplicate id kept: %q", e.ID)
		}
		seen[e.ID] = true
		if e.TrafficShare < 0 || e.TrafficShare > 1 {
			t.Fatalf("traffic share %v kept", e.TrafficShare)
		}
	}
	if _, err := json.Marshal(inv); err != nil {
		t.Fatalf("marshal: %v", err)
	}
}

func FuzzLoadCSV(f *testing.F) {
	for _, c := range csvCases {
		f.Add([]byte(c.in))
	}
	seedFiles(f, "*.csv")
	f.Fuzz(func(t *testing.T, b []byte) {
		inv, _ := LoadCSV(bytes.NewReader(b), "fuzz.csv", LoadOptions{})
		checkInventory(t, inv)
		_, _ = LoadCSV(bytes.NewReader(b), "fuzz.csv", LoadOptions{Strict: true})
	})
}

func FuzzLoadJSON(f *testing.F) {
	for _, c := range jsonCases {
		f.Add([]byte(c.in))
	}
	seedFiles(f, "small.json")
	f.Fuzz(func(t *testing.T, b []byte) {
		inv, _ := LoadJSON(bytes.NewReader(b), "fuzz.json", LoadOptions{})
		checkInventory(t, inv)
	})
}

func FuzzLoadTMF639(f *testing.F) {
	for _, c := range tmfCases {
		f.Add([]byte(c.in))
	}
	seedFiles(f, "tmf639-*.json")
	f.Fuzz(func(t *testing.T, b []byte) {
		inv, _ := LoadTMF639(bytes.NewReader(b), "fuzz.json", LoadOptions{})
		checkInventory(t, inv)
	})
}

func FuzzNormalise(f *testing.F) {
	for _, s := range []string{"HUAWEI TECHNOLOGIES CO., LTD.", "S.A.", "华为", "", "a.b.c."} {
		f.Add(s)
	}
	a := DefaultAliases()
	f.Fuzz(func(t *testing.T, s string) {
		n := a.Normalise(s)
		if len(n) > 64+4 {
			t.Fatalf("Normalise(%q) = %q: too long", s, n)
		}
		if a.Normalise(n) != n && n != "" && DefaultAliases().Normalise(n) != n {
			// A normalised ID must normalise to itself.
			t.Fatalf("Normalise not idempotent: %q -> %q -> %q", s, n, a.Normalise(n))
		}
	})
}
