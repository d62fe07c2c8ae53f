package unpack

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/netvet/netvet/internal/firmware"
)

func run(t *testing.T, img []byte, lim Limits) (*Manifest, string, error) {
	t.Helper()
	parent := t.TempDir()
	imgPath := filepath.Join(parent, "fw.bin")
	if err := os.WriteFile(imgPath, img, 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(parent, "out")
	m, err := Unpack(context.Background(), imgPath, out, Options{Registry: testRegistry(), Limits: lim})
	// Nothing may appear beside the image and the output folder.
	ents, _ := os.ReadDir(parent)
	for _, e := range ents {
		if e.Name() != "fw.bin" && e.Name() != "out" {
			t.Errorf("written outside the output folder: %s", e.Name())
		}
	}
	if m != nil {
		if _, serr := os.Stat(filepath.Join(out, ManifestName)); serr != nil {
			t.Errorf("manifest not written: %v", serr)
		}
	}
	return m, out, err
}

func node(t *testing.T, m *Manifest, path string) *Node {
	t.Helper()
	n := m.Lookup(path)
	if n == nil {
		var paths []string
		for _, n := range m.Nodes {
			paths = append(paths, n.Path)
		}
		t.Fatalf("no node %q; have:\n%s", path, strings.Join(paths, "\n"))
	}
	return n
}

func TestCarveNestedAndRegions(t *testing.T) {
	inner := newBuilder("NVTF").
		entry(firmware.TypeDir, "etc", 0o755, "", nil).
		entry(firmware.TypeFile, "etc/passwd", 0o644, "", []byte("root::0:0:root:/root:/bin/sh\n")).
		entry(firmware.TypeFile, "bin/busybox", 0o4755, "", []byte("\x7fELF busybox")).
		entry(firmware.TypeSymlink, "bin/sh", 0o777, "busybox", nil).
		entry(firmware.TypeHardlink, "bin/ash", 0, "bin/busybox", nil).
		entry(firmware.TypeCharDevice, "dev/console", 0o600, "", nil).
		bytes()
	outer := newBuilder("NVTC").entry(firmware.TypeFile, "rootfs.img", 0o644, "", inner).bytes()
	junk := make([]byte, 0x40)
	random := make([]byte, 4096)
	rand.Read(random)
	img := append(append(append(junk, outer...), random...), bytes.Repeat([]byte{0xff}, 512)...)

	m, out, err := run(t, img, DefaultLimits())
	if err != nil {
		t.Fatalf("unpack: %v", err)
	}
	if !m.Complete {
		t.Errorf("manifest not complete: %v", m.Errors)
	}
	c := node(t, m, "fw.bin/0x40.nvtc")
	if c.Type != TypeChunk || c.Offset != 0x40 || c.Size != int64(len(outer)) {
		t.Errorf("chunk = %+v", c)
	}
	r0 := node(t, m, "fw.bin/0x0.padding")
	if r0.Size != 0x40 || r0.Type != TypeRegion {
		t.Errorf("leading region = %+v", r0)
	}
	rr := node(t, m, "fw.bin/0x"+fmtHex(int64(0x40+len(outer)))+".unknown")
	if rr.Entropy == nil || *rr.Entropy < 7.5 {
		t.Errorf("random region entropy = %v", rr.Entropy)
	}
	rootfs := node(t, m, "fw.bin/0x40.nvtc/rootfs.img")
	if rootfs.Format != "nvtf" {
		t.Errorf("rootfs.img format = %q, want nvtf (collapsed whole-file chunk)", rootfs.Format)
	}
	pw := node(t, m, "fw.bin/0x40.nvtc/rootfs.img/etc/passwd")
	got, err := os.ReadFile(filepath.Join(out, pw.DiskPath))
	if err != nil || !strings.HasPrefix(string(got), "root::") {
		t.Errorf("passwd on disk: %q %v", got, err)
	}
	bb := node(t, m, "fw.bin/0x40.nvtc/rootfs.img/bin/busybox")
	if bb.Mode != "4755" || *bb.UID != 1 || *bb.GID != 2 {
		t.Errorf("busybox mode/uid/gid = %s %d %d", bb.Mode, *bb.UID, *bb.GID)
	}
	if fi, err := os.Stat(filepath.Join(out, bb.DiskPath)); err != nil || fi.Mode()&fs.ModeSetuid != 0 {
		t.Errorf("setuid bit must not be set on disk: %v %v", fi, err)
	}
	sh := node(t, m, "fw.bin/0x40.nvtc/rootfs.img/bin/sh")
	if sh.Type != "symlink" || sh.LinkTarget != "busybox" {
		t.Errorf("sh = %+v", sh)
	}
	if tgt, err := os.Readlink(filepath.Join(out, sh.DiskPath)); err != nil || tgt != "busybox" {
		t.Errorf("symlink on disk: %q %v", tgt, err)
	}
	ash := node(t, m, "fw.bin/0x40.nvtc/rootfs.img/bin/ash")
	if ash.Type != "hardlink" || ash.SHA256 != bb.SHA256 || ash.Error != "" {
		t.Errorf("ash = %+v", ash)
	}
	con := node(t, m, "fw.bin/0x40.nvtc/rootfs.img/dev/console")
	if con.DiskPath != "" || con.Type != "chardev" {
		t.Errorf("device node must be recorded, not created: %+v", con)
	}
	if n := node(t, m, "fw.bin/0x40.nvtc/rootfs.img/bin"); n.Type != "dir" {
		t.Errorf("implicit dir: %+v", n)
	}
}

func fmtHex(v int64) string {
	const digits = "0123456789abcdef"
	if v == 0 {
		return "0"
	}
	var b []byte
	for v > 0 {
		b = append([]byte{digits[v%16]}, b...)
		v /= 16
	}
	return string(b)
}

func TestHostileEntries(t *testing.T) {
	img := newBuilder("NVTC").
		entry(firmware.TypeFile, "../escape", 0o644, "", []byte("x")).
		entry(firmware.TypeFile, "/abs/passwd", 0o644, "", []byte("x")).
		entry(firmware.TypeFile, "a/../../b", 0o644, "", []byte("x")).
		entry(firmware.TypeSymlink, "up", 0o777, "../../../..", nil).
		entry(firmware.TypeFile, "up/pwned", 0o644, "", []byte("x")).
		entry(firmware.TypeSymlink, "etc", 0o777, "/etc", nil).
		entry(firmware.TypeFile, "etc/pwned", 0o644, "", []byte("x")).
		entry(firmware.TypeSymlink, "same", 0o777, "/tmp/netvet-victim", nil).
		entry(firmware.TypeFile, "same", 0o644, "", []byte("replaced, not followed")).
		entry(firmware.TypeHardlink, "hl", 0, "/etc/passwd", nil).
		entry(firmware.TypeHardlink, "hl2", 0, "../../../../etc/passwd", nil).
		bytes()
	m, out, err := run(t, img, DefaultLimits())
	if err != nil {
		t.Fatalf("unpack: %v", err)
	}
	for _, p := range []string{"fw.bin/../escape", "fw.bin//abs/passwd", "fw.bin/a/../../b", "fw.bin/up/pwned", "fw.bin/etc/pwned", "fw.bin/hl", "fw.bin/hl2"} {
		n := m.Lookup(p)
		if n == nil {
			t.Errorf("%s: not recorded", p)
			continue
		}
		if n.Error == "" {
			t.Errorf("%s: no error recorded: %+v", p, n)
		}
	}
	if _, err := os.Lstat("/tmp/netvet-victim"); err == nil {
		t.Errorf("wrote through a symlink outside the output folder")
	}
	same := node(t, m, "fw.bin/same")
	if b, err := os.ReadFile(filepath.Join(out, same.DiskPath)); err != nil || string(b) != "replaced, not followed" {
		t.Errorf("same: %q %v", b, err)
	}
	// Every file on disk is inside out.
	filepath.WalkDir(out, func(p string, d fs.DirEntry, err error) error {
		if d != nil && d.Name() == "pwned" {
			t.Errorf("pwned written at %s", p)
		}
		return nil
	})
}

func TestBombStopsAtLimit(t *testing.T) {
	img := newBuilder("NVTC").bomb("zeros", 1<<40).bytes()
	lim := DefaultLimits()
	lim.RatioFloor = 1 << 20
	m, _, err := run(t, img, lim)
	if err == nil || !errors.Is(err, firmware.ErrLimit) || !strings.Contains(err.Error(), "max-ratio") {
		t.Fatalf("want max-ratio error, got %v", err)
	}
	if m.Complete {
		t.Error("manifest claims complete")
	}
	if m.Stats.BytesWritten > 64<<20 {
		t.Errorf("wrote %d bytes before stopping", m.Stats.BytesWritten)
	}
}

func TestLimitsEachNamed(t *testing.T) {
	many := newBuilder("NVTC")
	for i := 0; i < 500; i++ {
		many.entry(firmware.TypeFile, "f"+fmtHex(int64(i)), 0o644, "", []byte("x"))
	}
	big := newBuilder("NVTC").entry(firmware.TypeFile, "big", 0o644, "", bytes.Repeat([]byte("A"), 5000)).bytes()
	nested := newBuilder("NVTC").entry(firmware.TypeFile, "l1", 0o644, "", newBuilder("NVTC").entry(firmware.TypeFile, "l2", 0o644, "", newBuilder("NVTC").entry(firmware.TypeFile, "l3", 0o644, "", []byte("deep")).bytes()).bytes()).bytes()
	cases := []struct {
		name  string
		img   []byte
		tweak func(*Limits)
		want  string
	}{
		{"files", many.bytes(), func(l *Limits) { l.MaxFiles = 100 }, "max-files"},
		{"total", big, func(l *Limits) { l.MaxTotalBytes = 1000 }, "max-total-bytes"},
		{"file size", big, func(l *Limits) { l.MaxFileSize = 1000 }, "max-file-size"},
		{"depth", nested, func(l *Limits) { l.MaxDepth = 2 }, "max-depth"},
		{"self-nesting", append([]byte("QUINE!"), bytes.Repeat([]byte{1}, 100)...), func(l *Limits) {}, "self-nesting"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			lim := DefaultLimits()
			tc.tweak(&lim)
			m, _, err := run(t, tc.img, lim)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("want %s error, got %v", tc.want, err)
			}
			if m == nil || m.Complete || len(m.Errors) == 0 {
				t.Fatalf("partial manifest must say it is incomplete: %+v", m)
			}
		})
	}
}

func TestDeterministicManifest(t *testing.T) {
	b := newBuilder("NVTF")
	for i := 0; i < 200; i++ {
		name := "d" + fmtHex(int64(i%7)) + "/f" + fmtHex(int64(i))
		b.entry(firmware.TypeFile, name, 0o644, "", newBuilder("NVTC").entry(firmware.TypeFile, "x", 0o600, "", []byte(name)).bytes())
	}
	img := b.bytes()
	var first []byte
	for i := 0; i < 3; i++ {
		_, out, err := run(t, img, DefaultLimits())
		if err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(filepath.Join(out, ManifestName))
		if err != nil {
			t.Fatal(err)
		}
		// The disk paths depend only on the input, so the whole file compares.
		if first == nil {
			first = got
		} else if !bytes.Equal(first, got) {
			t.Fatalf("run %d gave a different manifest", i)
		}
	}
}

func TestTruncatedContainerKeepsWhatWasRead(t *testing.T) {
	full := newBuilder("NVTC").
		entry(firmware.TypeFile, "a", 0o644, "", []byte("first")).
		entry(firmware.TypeFile, "b", 0o644, "", bytes.Repeat([]byte("second"), 100)).
		bytes()
	img := full[:len(full)-300]
	// Keep the header's length honest about the truncation's effect: it claims more than there is.
	m, _, err := run(t, img, DefaultLimits())
	if err != nil {
		t.Fatalf("unpack: %v", err)
	}
	if n := m.Lookup("fw.bin/a"); n == nil || n.Size != 5 {
		t.Fatalf("entry before the truncation lost: %+v", n)
	}
}

func TestOutputFolderMustBeEmpty(t *testing.T) {
	dir := t.TempDir()
	img := filepath.Join(dir, "fw.bin")
	os.WriteFile(img, []byte("nothing"), 0o644)
	_, err := Unpack(context.Background(), img, dir, Options{Registry: testRegistry(), Limits: DefaultLimits()})
	if err == nil || !strings.Contains(err.Error(), "not empty") {
		t.Fatalf("want not-empty error, got %v", err)
	}
}

// TestChunkFoldersOutsideContainer: an archive that names a folder after
// the place where netvet extracts a sibling file's chunks cannot mix its
// entries into that extraction.
func TestChunkFoldersOutsideContainer(t *testing.T) {
	inner := newBuilder("NVTC").entry(firmware.TypeFile, "real", 0o644, "", []byte("inside")).bytes()
	img := newBuilder("NVTF").
		entry(firmware.TypeFile, "blob", 0o644, "", inner).
		entry(firmware.TypeFile, "blob.extracted/0x0.nvtc/planted", 0o644, "", []byte("planted")).
		entry(firmware.TypeFile, "blob.carved/planted", 0o644, "", []byte("planted")).
		bytes()
	m, out, err := run(t, img, DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	real := node(t, m, "fw.bin/blob/real")
	dir := filepath.Join(out, filepath.Dir(real.DiskPath))
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(ents) != 1 || ents[0].Name() != "real" {
		t.Errorf("the chunk's folder %s holds %v, want only real", dir, ents)
	}
}
