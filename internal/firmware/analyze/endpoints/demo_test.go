package endpoints

import (
	"context"
	"path/filepath"
	"strings"
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

// TestDemoImage runs the analyser on the bundled demo image: its configs
// name a LAN address, a telemetry host in a documentation range, an
// update server and a report address; the netmask is not an endpoint.
func TestDemoImage(t *testing.T) {
	tr := unpackDemo(t)
	rec := &recorder{}
	if err := New().Analyze(context.Background(), tr, rec); err != nil {
		t.Fatal(err)
	}
	const root = "demo-router.bin/0x0.chk/kernel/partition-1"
	want := []struct {
		rule, path string
		offset     int64
		line       int
		value      string
	}{
		{"NV-NET-005", "/etc/config/network", 0x54, 4, "192.168.1.1"},
		{"NV-NET-006", "/etc/config/network", 0xc7, 9, "198.51.100.23"},
		{"NV-NET-003", "/etc/init.d/rcS", 0xf3, 7, "https://fw-update.example-vendor.com/api/v2/check"},
		{"NV-NET-006", "/etc/init.d/rcS", 0x12e, 7, "203.0.113.77"},
		{"NV-NET-005", "/etc/snmpd.conf", 0x27, 2, "0.0.0.0"},
	}
	if len(rec.findings) != len(want) {
		t.Fatalf("%d findings, want %d: %+v", len(rec.findings), len(want), rec.findings)
	}
	for i, w := range want {
		f := rec.findings[i]
		if f.Rule != w.rule || f.Path != root+w.path || f.FSPath != w.path || f.Offset != w.offset || f.Line != w.line ||
			!strings.HasPrefix(f.Evidence, w.value+" (") {
			t.Errorf("finding %d: %+v, want %+v", i, f, w)
			continue
		}
		data, err := tr.ReadFile(tr.File(f.Path), 1<<20)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(string(data[f.Offset:]), w.value) {
			t.Errorf("%s: offset %#x does not hold %s", f.Path, f.Offset, w.value)
		}
	}
}
