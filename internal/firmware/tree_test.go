package firmware_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/netvet/netvet/internal/firmware"
	"github.com/netvet/netvet/internal/firmware/fwtest"
)

func TestRootLookup(t *testing.T) {
	tr := fwtest.FS(t,
		fwtest.FileEntry("/bin/busybox", "BusyBox v1.36.1", 0o755),
		fwtest.SymlinkEntry("/bin/sh", "busybox"),
		fwtest.SymlinkEntry("/usr/bin/telnetd", "../../bin/busybox"),
		fwtest.SymlinkEntry("/sbin", "/bin"),
		fwtest.SymlinkEntry("/loop/a", "b"),
		fwtest.SymlinkEntry("/loop/b", "a"),
		fwtest.SymlinkEntry("/escape", "../../../../etc/passwd"),
		fwtest.FileEntry("/etc/passwd", "root:x:0:0::/root:/bin/sh\n", 0),
	)
	if len(tr.Roots) != 1 {
		t.Fatalf("roots = %d, want 1", len(tr.Roots))
	}
	r := tr.Roots[0]
	for _, c := range []struct{ in, want string }{
		{"/bin/sh", "/bin/busybox"},
		{"/usr/bin/telnetd", "/bin/busybox"},
		{"/sbin/sh", "/bin/busybox"},
		{"sbin/busybox", "/bin/busybox"},
		{"/escape", "/etc/passwd"},
		{"/loop/a", ""},
		{"/missing", ""},
	} {
		got := r.Lookup(c.in)
		switch {
		case c.want == "" && got != nil:
			t.Errorf("Lookup(%q) = %s, want nil", c.in, got.FSPath)
		case c.want != "" && (got == nil || got.FSPath != c.want):
			t.Errorf("Lookup(%q) = %v, want %s", c.in, got, c.want)
		}
	}
	f := r.Lookup("/bin/sh")
	b, err := tr.ReadFile(f, 100)
	if err != nil || string(b) != "BusyBox v1.36.1" {
		t.Fatalf("ReadFile = %q, %v", b, err)
	}
	if _, err := tr.ReadFile(f, 4); err == nil {
		t.Fatal("ReadFile over the cap succeeded")
	}
	if f.Type != firmware.TypeFile || f.Root != r {
		t.Fatalf("file = %+v", f)
	}
}

func TestFSFromDirNested(t *testing.T) {
	src := t.TempDir()
	for _, p := range []string{"a/b/c.txt", "top.txt"} {
		full := src + "/" + p
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(p), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	tr := fwtest.FSFromDir(t, src)
	for _, p := range []string{"/a/b/c.txt", "/top.txt"} {
		f := tr.Roots[0].Lookup(p)
		if f == nil {
			t.Fatalf("%s missing", p)
		}
		b, err := tr.ReadFile(f, 100)
		if err != nil || string(b) != p[1:] {
			t.Fatalf("%s: %q %v", p, b, err)
		}
	}
}
