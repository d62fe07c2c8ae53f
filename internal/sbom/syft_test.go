package sbom

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/netvet/netvet/internal/firmware"
	"github.com/netvet/netvet/internal/firmware/fwtest"
)

// A Debian-based filesystem: syft reads its dpkg database (with a Debian
// package URL) and classifies the bash program; both come back with the
// filesystem's manifest paths.
func TestCatalogSyftDebianRoot(t *testing.T) {
	bash := "/usr/bin/bash"
	if _, err := os.Stat(bash); err != nil {
		t.Skip("no /usr/bin/bash on this machine")
	}
	src := t.TempDir()
	write := func(p, data string) {
		t.Helper()
		p = filepath.Join(src, p)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("etc/os-release", "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nNAME=\"Debian GNU/Linux\"\nVERSION_ID=\"12\"\nVERSION=\"12 (bookworm)\"\nVERSION_CODENAME=bookworm\nID=debian\n")
	write("var/lib/dpkg/status", "Package: dropbear-bin\nStatus: install ok installed\nPriority: optional\nSection: net\nInstalled-Size: 400\nMaintainer: Guilhem Moulin <guilhem@debian.org>\nArchitecture: amd64\nSource: dropbear\nVersion: 2022.83-1+deb12u1\nDescription: lightweight SSH2 server and client\n\n")
	// A Python package whose licence is only in a licence file: syft's
	// licence scanner (shared across runs, see withLicenseScanner) names it.
	write("usr/lib/python3/dist-packages/netvetdemo-1.0.dist-info/METADATA",
		"Metadata-Version: 2.1\nName: netvetdemo\nVersion: 1.0\nLicense-File: LICENSE\n\n")
	write("usr/lib/python3/dist-packages/netvetdemo-1.0.dist-info/LICENSE", mitLicense)
	b, err := os.ReadFile(bash)
	if err != nil {
		t.Fatal(err)
	}
	write("bin/bash", string(b))
	if err := os.Symlink("bash", filepath.Join(src, "bin/sh")); err != nil {
		t.Fatal(err)
	}

	tr, dir := unpackImage(t, tarDir(t, src))
	cs, err := Catalog(context.Background(), tr, Options{Dir: dir, Now: fixedNow, Parallelism: 2})
	if err != nil {
		t.Fatal(err)
	}
	deb := findComponents(cs, "dropbear-bin", "dpkg-db-cataloger")
	if len(deb) != 1 {
		t.Fatalf("dropbear-bin from dpkg:\n%s", dump(cs))
	}
	d := deb[0]
	if d.Version != "2022.83-1+deb12u1" || d.Ecosystem != "deb" ||
		!strings.HasPrefix(d.PURL, "pkg:deb/debian/dropbear-bin@2022.83-1%2Bdeb12u1?arch=amd64") ||
		len(d.Locations) != 1 || d.Locations[0].FSPath != "/var/lib/dpkg/status" || d.Locations[0].Path != "image.tar/var/lib/dpkg/status" ||
		d.Locations[0].Offset != -1 || d.EndOfLife != "" {
		t.Errorf("dropbear-bin: %+v", d)
	}
	sh := findComponents(cs, "bash", "binary-classifier-cataloger")
	if len(sh) != 1 || sh[0].Ecosystem != "binary" || len(sh[0].Locations) != 1 || sh[0].Locations[0].FSPath != "/bin/bash" ||
		!strings.Contains(sh[0].Locations[0].Evidence, "classifier bash-binary") || len(sh[0].CPEs) == 0 {
		t.Errorf("bash:\n%s", dump(sh))
	}
	py := findComponents(cs, "netvetdemo", "")
	if len(py) != 1 || len(py[0].Licenses) != 1 || py[0].Licenses[0] != "MIT" {
		t.Errorf("python package licence:\n%s", dump(py))
	}
	debian := findComponents(cs, "debian", "netvet-os-release")
	if len(debian) != 1 || debian[0].Version != "12" || len(debian[0].CPEs) != 0 {
		t.Errorf("debian os: %s", dump(debian))
	}
}

// Without the unpack folder, syft cannot run: Catalog says so unless
// NoSyft is set.
func TestCatalogNeedsDir(t *testing.T) {
	tr := fwtest.FS(t, fwtest.FileEntry("/etc/banner", "hello", 0o644))
	if _, err := Catalog(context.Background(), tr, Options{}); err != ErrNoDir {
		t.Fatalf("err = %v, want ErrNoDir", err)
	}
	if _, err := Catalog(context.Background(), tr, Options{NoSyft: true}); err != nil {
		t.Fatal(err)
	}
}

func TestRootDir(t *testing.T) {
	root := &firmware.Root{Path: "img/0x0.squashfs"}
	mk := func(disk, fspath string) *firmware.File {
		return &firmware.File{Path: root.Path + fspath, FSPath: fspath, Root: root, Type: firmware.TypeFile, Disk: disk}
	}
	files := []*firmware.File{
		mk("img.extracted/0x0.squashfs/bin/busybox", "/bin/busybox"),
		mk("img.extracted/0x0.squashfs/etc/passwd", "/etc/passwd"),
		mk("elsewhere/renamed", "/etc/shadow"), // does not end with its fspath: ignored
		mk("", "/dev/console"),
	}
	tr, err := firmware.NewTree(t.TempDir(), "", files)
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	got, ok := rootDir(tr.Roots[0])
	if !ok || got != "img.extracted/0x0.squashfs" {
		t.Errorf("rootDir = %q, %v", got, ok)
	}

	evil := &firmware.Root{Path: "img/evil"}
	ef := []*firmware.File{{Path: "img/evil/x", FSPath: "/x", Root: evil, Type: firmware.TypeFile, Disk: "../../x"}}
	tr2, err := firmware.NewTree(t.TempDir(), "", ef)
	if err != nil {
		t.Fatal(err)
	}
	defer tr2.Close()
	if got, ok := rootDir(tr2.Roots[0]); ok {
		t.Errorf("rootDir of an escaping folder = %q", got)
	}
}

// Links that point out of the filesystem (to the host's dpkg database and
// os-release, which this machine has) are not followed out of it by syft
// or by netvet.
func TestCatalogLinksStayInside(t *testing.T) {
	if _, err := os.Stat("/var/lib/dpkg/status"); err != nil {
		t.Skip("the host has no dpkg database to be lured to")
	}
	src := t.TempDir()
	for _, l := range []struct{ name, target string }{
		{"var/lib/dpkg/status", "../../../../../../../../../../var/lib/dpkg/status"},
		{"etc/os-release", "/../../../../../../etc/os-release"},
		{"usr/lib/opkg/status", "/var/lib/dpkg/status"},
	} {
		p := filepath.Join(src, l.name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(l.target, p); err != nil {
			t.Fatal(err)
		}
	}
	tr, dir := unpackImage(t, tarDir(t, src))
	cs, err := Catalog(context.Background(), tr, Options{Dir: dir, Now: fixedNow, Parallelism: 2})
	if err != nil {
		t.Fatal(err)
	}
	if len(cs) != 0 {
		t.Errorf("components from outside the image:\n%s", dump(cs))
	}
}

const mitLicense = `MIT License

Copyright (c) 2026 Example

Permission is hereby granted, free of charge, to any person obtaining a copy
of this software and associated documentation files (the "Software"), to deal
in the Software without restriction, including without limitation the rights
to use, copy, modify, merge, publish, distribute, sublicense, and/or sell
copies of the Software, and to permit persons to whom the Software is
furnished to do so, subject to the following conditions:

The above copyright notice and this permission notice shall be included in all
copies or substantial portions of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,
FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE
AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER
LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM,
OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE
SOFTWARE.
`
