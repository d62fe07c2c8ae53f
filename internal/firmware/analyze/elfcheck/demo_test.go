package elfcheck

import (
	"context"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/netvet/netvet/internal/firmware"
	"github.com/netvet/netvet/internal/firmware/format/all"
	"github.com/netvet/netvet/internal/unpack"
)

func unpackDemo(t *testing.T) *firmware.Tree {
	t.Helper()
	image := filepath.Join("..", "..", "..", "..", "examples", "firmware", "demo-router.bin")
	out := filepath.Join(t.TempDir(), "out")
	reg := all.Registry()
	m, err := unpack.Unpack(context.Background(), image, out, unpack.Options{Registry: reg, Limits: unpack.DefaultLimits(), Workers: 2})
	if err != nil {
		t.Fatalf("unpack %s: %v", image, err)
	}
	tr, err := m.Tree(out, image, reg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tr.Close() })
	return tr
}

// TestDemoImage runs the analyser on the bundled demo image: a TRX with
// a squashfs holding a setuid BusyBox stand-in and a dropbear stand-in,
// both built by Debian's gcc with its defaults (PIE, partial RELRO, no
// canary, no FORTIFY) and stripped.
func TestDemoImage(t *testing.T) {
	tr := unpackDemo(t)
	rec := &recorder{}
	if err := New().Analyze(context.Background(), tr, rec); err != nil {
		t.Fatal(err)
	}
	want := []firmware.Binary{
		{Path: "demo-router.bin/0x0.chk/kernel/partition-1/bin/busybox", FSPath: "/bin/busybox"},
		{Path: "demo-router.bin/0x0.chk/kernel/partition-1/usr/sbin/dropbear", FSPath: "/usr/sbin/dropbear"},
	}
	for i := range want {
		want[i].Machine, want[i].Class, want[i].Endian, want[i].Type = "x86-64", 64, "little", "dyn"
		want[i].NX, want[i].PIE, want[i].RELRO, want[i].Stripped = true, true, "partial", true
	}
	if !reflect.DeepEqual(rec.bins, want) {
		t.Errorf("binaries\n got %+v\nwant %+v", rec.bins, want)
	}
	if len(rec.findings) != 0 {
		t.Errorf("findings %+v", rec.findings)
	}
	sum := Summarize(rec.bins)
	if sum != (firmware.HardeningSummary{Binaries: 2, NX: 100, PIE: 100, Stripped: 100}) {
		t.Errorf("summary %+v", sum)
	}
}
