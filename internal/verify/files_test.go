package verify

import (
	"context"
	"crypto/sha512"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/netvet/netvet/examples"
	"github.com/netvet/netvet/internal/firmware/format/all"
	"github.com/netvet/netvet/internal/unpack"
)

// demoHashes unpacks the bundled demo image and returns its path, the
// unpack folder, and the SHA-256 of each file of its root filesystem.
func demoHashes(t *testing.T) (image, unpacked string, hashes map[string]string, content map[string][]byte) {
	t.Helper()
	dir := t.TempDir()
	image = writeFile(t, dir, examples.DemoFirmwareName, examples.DemoFirmware)
	unpacked = filepath.Join(dir, "out")
	m, err := unpack.Unpack(context.Background(), image, unpacked, unpack.Options{Registry: all.Registry(), Limits: unpack.DefaultLimits()})
	if err != nil {
		t.Fatal(err)
	}
	tree, err := m.Tree(unpacked, image, all.Registry())
	if err != nil {
		t.Fatal(err)
	}
	defer tree.Close()
	if len(tree.Roots) == 0 {
		t.Fatal("demo image has no filesystem")
	}
	hashes, content = map[string]string{}, map[string][]byte{}
	for _, f := range tree.Roots[0].Files() {
		if f.SHA256 != "" {
			hashes[f.FSPath] = f.SHA256
			b, err := tree.ReadFile(f, 1<<20)
			if err != nil {
				t.Fatal(err)
			}
			content[f.FSPath] = b
		}
	}
	for _, p := range []string{"/bin/busybox", "/etc/passwd", "/etc/shadow"} {
		if hashes[p] == "" {
			t.Fatalf("demo image lacks %s", p)
		}
	}
	return image, unpacked, hashes, content
}

func TestFilesInsideImage(t *testing.T) {
	image, unpacked, hashes, content := demoHashes(t)
	dir := t.TempDir()
	p512 := sha512.Sum512(content["/etc/passwd"])
	manifest := strings.Join([]string{
		hashes["/bin/busybox"] + "  rootfs/bin/busybox",              // a leading folder is dropped
		hashes["/etc/passwd"] + " *./etc/passwd",                     // ./ and binary marker
		"SHA512 (etc/passwd) = " + hex.EncodeToString(p512[:]),       // another algorithm, from the content
		strings.Repeat("0", 64) + "  /etc/shadow",                    // changed
		hashes["/bin/busybox"] + "  /sbin/init",                      // a symlink to busybox
		hashes["/etc/passwd"] + "  /etc/backdoor.conf",               // not in the image
		hashes["/bin/busybox"] + "  squashfs-root/usr/bin/../bin/sh", // cleaned, then a link
	}, "\n") + "\n"
	mf := writeFile(t, dir, "files.sha256", []byte(manifest))

	want := map[int]string{1: Match, 2: Match, 3: Match, 4: Mismatch, 5: Match, 6: MissingInImage, 7: Match}
	check := func(t *testing.T, r *Report) {
		t.Helper()
		got := map[int]string{}
		extra := 0
		for _, e := range r.Entries {
			if e.Source == SourceManifest {
				got[e.Line] = e.Status
				if e.Status == Match && e.FSPath == "" {
					t.Errorf("line %d: no fs_path", e.Line)
				}
			}
			if e.Status == NotInManifest {
				extra++
				if e.FSPath == "/bin/busybox" || e.FSPath == "/etc/passwd" {
					t.Errorf("%s listed as not in manifest", e.FSPath)
				}
			}
		}
		for line, st := range want {
			if got[line] != st {
				t.Errorf("line %d: %s, want %s", line, got[line], st)
			}
		}
		if extra == 0 || r.Summary.NotInManifest != extra {
			t.Errorf("extra files: %d, summary %d", extra, r.Summary.NotInManifest)
		}
		if r.Verified || r.Verdict != VerdictFailed {
			t.Errorf("verdict %s", r.Verdict)
		}
		for _, e := range r.Entries {
			if e.Line == 4 && (e.Actual != hashes["/etc/shadow"] || e.Path == "") {
				t.Errorf("mismatch entry %+v", e)
			}
		}
	}

	t.Run("unpacked now", func(t *testing.T) {
		r := run(t, Options{Image: image, Manifest: mf, Registry: all.Registry(), TempDir: dir})
		check(t, r)
		left, _ := os.ReadDir(dir)
		for _, e := range left {
			if strings.HasPrefix(e.Name(), "netvet-verify-") {
				t.Errorf("temporary folder %s left behind", e.Name())
			}
		}
	})
	t.Run("existing unpack", func(t *testing.T) {
		r := run(t, Options{Image: image, Manifest: mf, Registry: all.Registry(), Unpacked: unpacked})
		check(t, r)
	})
	t.Run("existing unpack of another image", func(t *testing.T) {
		other := writeFile(t, dir, "other.bin", []byte("not the demo image"))
		_, err := Run(context.Background(), Options{Image: other, Manifest: mf, Registry: all.Registry(), Unpacked: unpacked})
		if err == nil || !strings.Contains(err.Error(), "another image") {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("all good", func(t *testing.T) {
		good := writeFile(t, dir, "good.sha256", []byte(hashes["/bin/busybox"]+"  bin/busybox\n"+hashes["/etc/passwd"]+"  etc/passwd\n"))
		r := run(t, Options{Image: image, Manifest: good, Registry: all.Registry(), Unpacked: unpacked})
		if !r.Verified || r.Summary.Match != 2 {
			t.Errorf("%s %+v", r.Verdict, r.Summary)
		}
	})
	t.Run("scope image", func(t *testing.T) {
		r := run(t, Options{Image: image, Manifest: mf, Registry: all.Registry(), Scope: ScopeImage})
		if r.Summary.Other != 7 || r.Verified {
			t.Errorf("%+v %s", r.Summary, r.Verdict)
		}
	})
	t.Run("provenance subjects inside the image", func(t *testing.T) {
		st := slsaStatement(map[string]string{"bin/busybox": hashes["/bin/busybox"], "etc/shadow": hashes["/etc/passwd"]})
		p := writeFile(t, dir, "files.intoto.json", st)
		r := run(t, Options{Image: image, Provenance: p, Registry: all.Registry(), Unpacked: unpacked})
		if got := statuses(r); !strings.HasPrefix(got, "bin/busybox=match etc/shadow=mismatch") {
			t.Errorf("statuses %q", got)
		}
	})
}
