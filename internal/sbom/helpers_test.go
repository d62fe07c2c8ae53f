package sbom

import (
	"archive/tar"
	"context"
	"encoding/json"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/netvet/netvet/internal/firmware"
	"github.com/netvet/netvet/internal/firmware/format/all"
	"github.com/netvet/netvet/internal/unpack"
)

// fixedNow is the date the tests judge end of life at.
var fixedNow = time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)

// tarDir writes the folder src as a tar archive (links kept as links)
// and returns its path: unpacking it gives a tree with one filesystem.
func tarDir(t testing.TB, src string) string {
	t.Helper()
	img := filepath.Join(t.TempDir(), "image.tar")
	out, err := os.Create(img)
	if err != nil {
		t.Fatal(err)
	}
	tw := tar.NewWriter(out)
	err = filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if rel == "." {
			return nil
		}
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		link := ""
		if fi.Mode()&fs.ModeSymlink != 0 {
			if link, err = os.Readlink(p); err != nil {
				return err
			}
		}
		h, err := tar.FileInfoHeader(fi, link)
		if err != nil {
			return err
		}
		h.Name = filepath.ToSlash(rel)
		if fi.IsDir() {
			h.Name += "/"
		}
		h.Uid, h.Gid, h.Uname, h.Gname = 0, 0, "", ""
		h.ModTime = fixedNow
		if err := tw.WriteHeader(h); err != nil {
			return err
		}
		if fi.Mode().IsRegular() {
			f, err := os.Open(p)
			if err != nil {
				return err
			}
			defer f.Close()
			if _, err := io.Copy(tw, f); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
	return img
}

// unpackImage unpacks a firmware image into a temporary folder and returns
// its tree and the folder.
func unpackImage(t testing.TB, image string) (*firmware.Tree, string) {
	t.Helper()
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
	return tr, out
}

// findComponent returns the components with the given name and found by
// the given detector ("" for any).
func findComponents(cs []firmware.Component, name, foundBy string) []firmware.Component {
	var out []firmware.Component
	for _, c := range cs {
		if c.Name == name && (foundBy == "" || c.FoundBy == foundBy) {
			out = append(out, c)
		}
	}
	return out
}

// dump renders components for test failure messages.
func dump(cs []firmware.Component) string {
	var sb strings.Builder
	for _, c := range cs {
		b, _ := json.Marshal(c)
		sb.Write(b)
		sb.WriteByte('\n')
	}
	return sb.String()
}

// debPackages is the list of Debian packages the real-binary tests
// extract (with apt-get download and dpkg-deb -x). Keep in step with the
// report and .ci/run.
var debPackages = []string{
	"busybox-static", "dropbear-bin", "libssl3", "curl", "libcurl4", "dnsmasq-base",
	"hostapd", "wpasupplicant", "lighttpd", "openvpn", "mini-httpd", "miniupnpd-nftables",
	"musl", "samba", "libmbedcrypto7", "libwolfssl35",
}

// debRoot returns a folder holding the extracted Debian packages and the
// version of each package extracted, from $NETVET_DEB_DIR, a folder of
// the .deb files (.ci/run fetches them with apt-get download before the
// tests run: tests themselves never download). The test is skipped when
// it is not set.
func debRoot(t testing.TB) (string, map[string]string) {
	t.Helper()
	if _, err := exec.LookPath("dpkg-deb"); err != nil {
		t.Skip("dpkg-deb not found: the real-binary tests need Debian's dpkg")
	}
	debs := os.Getenv("NETVET_DEB_DIR")
	if debs == "" {
		t.Skipf("NETVET_DEB_DIR not set: set it to a folder holding the .deb files of %s (apt-get download ...)", strings.Join(debPackages, " "))
	}
	root := filepath.Join(t.TempDir(), "root")
	if err := os.MkdirAll(root, 0o755); err != nil {
		t.Fatal(err)
	}
	versions := map[string]string{}
	matches, _ := filepath.Glob(filepath.Join(debs, "*.deb"))
	for _, d := range matches {
		out, err := exec.Command("dpkg-deb", "-f", d, "Package", "Version").Output()
		if err != nil {
			t.Fatalf("dpkg-deb -f %s: %v", d, err)
		}
		var pkg, ver string
		for _, l := range strings.Split(string(out), "\n") {
			if v, ok := strings.CutPrefix(l, "Package: "); ok {
				pkg = v
			}
			if v, ok := strings.CutPrefix(l, "Version: "); ok {
				ver = v
			}
		}
		if !slices.Contains(debPackages, pkg) {
			continue
		}
		if out, err := exec.Command("dpkg-deb", "-x", d, root).CombinedOutput(); err != nil {
			t.Fatalf("dpkg-deb -x %s: %v\n%s", d, err, out)
		}
		versions[pkg] = ver
	}
	if len(versions) == 0 {
		t.Skipf("none of the packages %v in %s", debPackages, debs)
	}
	return root, versions
}
