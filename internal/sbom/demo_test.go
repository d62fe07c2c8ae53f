package sbom

import (
	"context"
	"encoding/json"
	"reflect"
	"testing"
)

// The demo image holds a kernel stand-in carrying a real banner (in a
// gzip inside a uImage inside a TRX, outside any filesystem) and a
// squashfs with a BusyBox stand-in carrying its version string. (Its
// dropbear stand-in lost the SSH identification string to the compiler,
// so it carries no version a real dropbear has.)
func TestCatalogDemoImage(t *testing.T) {
	tr, dir := unpackImage(t, "../../examples/firmware/demo-router.bin")
	ctx := context.Background()
	cs, err := Catalog(ctx, tr, Options{Dir: dir, Now: fixedNow, Parallelism: 2})
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		name, version, foundBy, fspath, evidence string
	}{
		{"busybox", "1.36.1", "netvet-busybox", "/bin/busybox", "BusyBox v1.36.1 (2026-03-01 10:00:00 UTC) multi-call binary."},
		{"linux-kernel", "4.14.180", "netvet-kernel", "", "Linux version 4.14.180 (builder@vendor-build) (gcc version 9.3.0) #1 SMP PREEMPT Sun Mar 1 10:00:00 UTC 2026"},
	}
	for _, w := range want {
		got := findComponents(cs, w.name, w.foundBy)
		if len(got) != 1 {
			t.Errorf("%s by %s: got %d components\n%s", w.name, w.foundBy, len(got), dump(cs))
			continue
		}
		c := got[0]
		if c.Version != w.version || len(c.Locations) != 1 || c.Locations[0].FSPath != w.fspath || c.Locations[0].Evidence != w.evidence {
			t.Errorf("%s: got %+v", w.name, c)
			continue
		}
		// The offset must point at the evidence in the file.
		l := c.Locations[0]
		f := tr.File(l.Path)
		data, err := tr.ReadFile(f, 1<<26)
		if err != nil {
			t.Fatal(err)
		}
		if l.Offset < 0 || string(data[l.Offset:l.Offset+int64(len(w.evidence))]) != w.evidence {
			t.Errorf("%s: offset %d does not hold the evidence", w.name, l.Offset)
		}
	}
	k := findComponents(cs, "linux-kernel", "netvet-kernel")
	if len(k) == 1 {
		if k[0].EndOfLife != "2024-01-10" {
			t.Errorf("kernel 4.14 end of life = %q, want 2024-01-10", k[0].EndOfLife)
		}
		if len(k[0].CPEs) != 1 || k[0].CPEs[0] != "cpe:2.3:o:linux:linux_kernel:4.14.180:*:*:*:*:*:*:*" {
			t.Errorf("kernel CPEs = %v", k[0].CPEs)
		}
	}

	// Same image, same bytes.
	cs2, err := Catalog(ctx, tr, Options{Dir: dir, Now: fixedNow, Parallelism: 1})
	if err != nil {
		t.Fatal(err)
	}
	a, _ := json.Marshal(cs)
	b, _ := json.Marshal(cs2)
	if !reflect.DeepEqual(a, b) {
		t.Errorf("two runs differ:\n%s\n%s", a, b)
	}
	t.Logf("%s", dump(cs))
}
