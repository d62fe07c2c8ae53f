package vuln

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/netvet/netvet/internal/firmware"
)

// FuzzExtract feeds arbitrary bytes to the archive reader with small
// limits: it must return an error or write only vulnerability.db, within
// the limits, and never panic.
func FuzzExtract(f *testing.F) {
	f.Add([]byte("SQLite format 3\x00rest"))
	f.Add(magicZstd)
	f.Add(magicGzip)
	f.Add(magicXz)
	f.Add(bytes.Repeat([]byte{0}, 1024))
	if b, err := os.ReadFile(filepath.Join("testdata", "vulndb", "kev", "results", "cve-2014-0160.json")); err == nil {
		f.Add(b)
	}
	lim := ImportLimits{MaxDBSize: 64 << 10, MaxTotal: 128 << 10, MaxEntries: 16, MaxZstdWin: 1 << 20, MaxMetaBytes: 4 << 10}
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		src := filepath.Join(dir, "in")
		if err := os.WriteFile(src, data, 0o644); err != nil {
			t.Fatal(err)
		}
		out := filepath.Join(dir, "out")
		if err := os.Mkdir(out, 0o755); err != nil {
			t.Fatal(err)
		}
		_, err := extract(context.Background(), src, out, lim)
		ents, _ := os.ReadDir(out)
		for _, e := range ents {
			if e.Name() != DBFileName {
				t.Fatalf("extract wrote %q", e.Name())
			}
			fi, _ := e.Info()
			if fi.Size() > lim.MaxDBSize {
				t.Fatalf("extract wrote %d bytes, limit %d", fi.Size(), lim.MaxDBSize)
			}
		}
		_ = err
	})
}

// FuzzPrepare checks that any component strings give a package or a skip
// reason, never a panic, and that the normalised version never grows.
func FuzzPrepare(f *testing.F) {
	f.Add("busybox", "1.36.1-1", "opkg", "", cpeBusybox)
	f.Add("openssl", "3.0.11-1~deb12u2", "deb", "pkg:deb/debian/openssl@3.0.11-1~deb12u2?distro=debian-12", cpeOpenSSL)
	f.Add("x", "1:2-3", "apk", "pkg:apk/alpine/x@1?distro=alpine-", "cpe:2.3:a:x")
	f.Add("requests", "2.0", "python", "pkg:pypi/requests@2.0", "")
	f.Fuzz(func(t *testing.T, name, ver, eco, purl, cpe string) {
		p := prepare(firmware.Component{ID: "c", Name: name, Version: ver, Ecosystem: eco, PURL: purl, CPEs: []string{cpe}}, 0)
		if p.skip == "" && (p.pkg.Name == "" || p.pkg.Version == "") {
			t.Fatalf("prepared without name or version: %+v", p.pkg)
		}
		if u := UpstreamVersion(ver); len(u) > len(ver) {
			t.Fatalf("UpstreamVersion(%q) = %q grew", ver, u)
		}
	})
}

// FuzzParseImportMetadata: import.json comes from the archive.
func FuzzParseImportMetadata(f *testing.F) {
	f.Add([]byte(`{"digest":"xxh64:0123456789abcdef","source":"x","client_version":"6.1.10"}`))
	f.Add([]byte(`{"digest":"sha256:00"}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, b []byte) {
		im, err := parseImportMetadata(b)
		if err == nil && len(im.Digest) != 22 {
			t.Fatalf("accepted digest %q", im.Digest)
		}
	})
}

// FuzzEntryName: archive entry names must never resolve outside.
func FuzzEntryName(f *testing.F) {
	for _, s := range []string{"vulnerability.db", "../x", "/abs", `a\..\..\b`, "./a/./b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := entryName(s)
		if err != nil {
			return
		}
		if filepath.IsAbs(n) || n == ".." || len(n) >= 3 && n[:3] == "../" {
			t.Fatalf("entryName(%q) = %q escapes", s, n)
		}
	})
}

// FuzzMatch runs hostile component strings through the whole matcher
// against a real database: no panic, results only for the component, and
// an error only as ErrPartial.
func FuzzMatch(f *testing.F) {
	f.Add("busybox", "1.36.1-1", "opkg", "pkg:opkg/busybox@1.36.1-1", cpeBusybox)
	f.Add("openssl", "3.0.11-1~deb12u2", "deb", "pkg:deb/debian/openssl@3.0.11-1~deb12u2?distro=debian-12", cpeOpenSSL)
	f.Add("dropbear", "2022.83", "binary", "", cpeDropbear)
	f.Add("openssl", "1.0.1e", "binary", "", "cpe:2.3:a:openssl:openssl:1.0.1e:*:*:*:*:*:*:*")
	f.Add("x", ">=1||<2", "apk", "pkg:apk/alpine/x@1?distro=alpine-3.20", "cpe:2.3:a:*:*:*:*:*:*:*:*:*:*")
	tmp, err := os.MkdirTemp("", "netvet-fuzzmatch-")
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { os.RemoveAll(tmp) })
	var db *DB
	f.Fuzz(func(t *testing.T, name, ver, eco, purl, cpe string) {
		if db == nil {
			out := filepath.Join(tmp, "db")
			buildDBInto(t, buildTime, filepath.Join(tmp, "in"), out)
			var err error
			if db, err = Open(out); err != nil {
				t.Fatal(err)
			}
		}
		c := firmware.Component{ID: "c", Name: name, Version: ver, Ecosystem: eco, PURL: purl, CPEs: []string{cpe}}
		vs, err := db.Match(context.Background(), []firmware.Component{c})
		if err != nil && !errors.Is(err, ErrPartial) {
			t.Fatalf("Match: %v", err)
		}
		for _, v := range vs {
			if v.Component != "c" || v.ID == "" {
				t.Fatalf("result %+v", v)
			}
		}
	})
}
