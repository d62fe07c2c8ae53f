package fdt

import (
	"bytes"
	"errors"
	"os"
	"testing"
)

func TestParsePlainDTB(t *testing.T) {
	b, err := os.ReadFile("../../fit/testdata/plain.dtb")
	if err != nil {
		t.Fatal(err)
	}
	root, h, err := Parse(t.Context(), bytes.NewReader(b), int64(len(b)), DefaultLimits)
	if err != nil {
		t.Fatal(err)
	}
	if h.Version != 17 || int(h.TotalSize) != len(b) {
		t.Errorf("header %+v", h)
	}
	if got := root.Prop("model").String(); got != "netvet test board" {
		t.Errorf("model %q", got)
	}
	mem := root.Child("memory@80000000")
	if mem == nil || mem.Prop("device_type").String() != "memory" {
		t.Fatalf("memory node %+v", mem)
	}
	if reg := mem.Prop("reg"); reg == nil || reg.Len != 8 {
		t.Errorf("reg %+v", reg)
	}
	if HasRootChild(bytes.NewReader(b), int64(len(b)), "images", 4096) {
		t.Error("plain dtb has no images node")
	}
	if !HasRootChild(bytes.NewReader(b), int64(len(b)), "memory@80000000", 4096) {
		t.Error("memory node not found")
	}
}

func TestLimits(t *testing.T) {
	b, err := os.ReadFile("../../fit/testdata/embedded.itb")
	if err != nil {
		t.Fatal(err)
	}
	lim := DefaultLimits
	lim.MaxNodes = 3
	if _, _, err := Parse(t.Context(), bytes.NewReader(b), int64(len(b)), lim); !errors.Is(err, ErrLimit) {
		t.Errorf("err = %v", err)
	}
	lim = DefaultLimits
	lim.MaxInline = 16
	root, _, err := Parse(t.Context(), bytes.NewReader(b), int64(len(b)), lim)
	if err != nil {
		t.Fatal(err)
	}
	if d := root.Child("images").Child("kernel-1").Prop("data"); d == nil || d.Value != nil || d.Len < 100 {
		t.Errorf("large value loaded or missing: %+v", d)
	}
	if _, err := ReadHeader(bytes.NewReader(b[:20]), 20); !errors.Is(err, ErrHeader) {
		t.Errorf("short header err = %v", err)
	}
}
