package vuln

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/anchore/grype/grype/db/v6/testdb"

	"github.com/netvet/netvet/internal/firmware"
)

var buildTime = time.Date(2026, 1, 15, 6, 0, 0, 0, time.UTC)

// buildDB builds a real grype v6 database from testdata/vulndb into a new
// folder and returns the folder.
func buildDB(t testing.TB, at time.Time) string {
	t.Helper()
	in := filepath.Join(t.TempDir(), "in")
	if err := os.CopyFS(in, os.DirFS(filepath.Join("testdata", "vulndb"))); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "db")
	tt, ok := t.(*testing.T)
	if !ok {
		t.Fatal("buildDB needs a *testing.T")
	}
	buildDBInto(tt, at, in, out)
	return out
}

// buildDBInto builds the database from a copy of testdata/vulndb in in
// (the builder writes checksums there) into out.
func buildDBInto(t *testing.T, at time.Time, in, out string) {
	t.Helper()
	if _, err := os.Stat(in); err != nil {
		if err := os.CopyFS(in, os.DirFS(filepath.Join("testdata", "vulndb"))); err != nil {
			t.Fatal(err)
		}
	}
	testdb.BuildFromFlatFileDir(t, at, out, in, "**/*.json")
}

// recent reports whether an RFC 3339 time is within the last hour: the
// database builder stamps the build with the current time.
func recent(s string) bool {
	tm, err := time.Parse(time.RFC3339, s)
	return err == nil && time.Since(tm) < time.Hour && time.Since(tm) > -time.Minute
}

func openDB(t *testing.T) *DB {
	t.Helper()
	db, err := Open(buildDB(t, buildTime))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func comp(id, name, ver, eco, purl string, cpes ...string) firmware.Component {
	return firmware.Component{ID: id, Name: name, Version: ver, Ecosystem: eco, PURL: purl, CPEs: cpes, Type: "application"}
}

const (
	cpeBusybox  = "cpe:2.3:a:busybox:busybox:*:*:*:*:*:*:*:*"
	cpeDropbear = "cpe:2.3:a:dropbear_ssh_project:dropbear_ssh:*:*:*:*:*:*:*:*"
	cpeOpenSSL  = "cpe:2.3:a:openssl:openssl:*:*:*:*:*:*:*:*"
)

func TestMatchHitsAndMisses(t *testing.T) {
	db := openDB(t)
	cases := []struct {
		name string
		c    firmware.Component
		want []string // vulnerability IDs, sorted
	}{
		{"busybox 1.35.0 binary: ash bug (<= 1.36.1), not the 1.36.1-only awk bug",
			comp("bb135", "busybox", "1.35.0", "binary", "pkg:generic/busybox@1.35.0", cpeBusybox),
			[]string{"CVE-2022-48174"}},
		{"busybox 1.36.1 binary: both",
			comp("bb1361", "busybox", "1.36.1", "binary", "", "cpe:2.3:a:busybox:busybox:1.36.1:*:*:*:*:*:*:*"),
			[]string{"CVE-2022-48174", "CVE-2023-42366"}},
		{"busybox 1.36.1-1 opkg: release suffix removed before matching",
			comp("bbopkg", "busybox", "1.36.1-1", "opkg", "pkg:opkg/busybox@1.36.1-1?arch=mipsel_24kc", "cpe:2.3:a:busybox:busybox:1.36.1-1:*:*:*:*:*:*:*"),
			[]string{"CVE-2022-48174", "CVE-2023-42366"}},
		{"busybox 1.37.0: fixed",
			comp("bb137", "busybox", "1.37.0", "binary", "", cpeBusybox),
			nil},
		{"dropbear 2022.83 binary: Terrapin",
			comp("db83", "dropbear", "2022.83", "binary", "", cpeDropbear),
			[]string{"CVE-2023-48795"}},
		{"dropbear 2022.82-5 opkg",
			comp("dbopkg", "dropbear", "2022.82-5", "opkg", "pkg:opkg/dropbear@2022.82-5", cpeDropbear),
			[]string{"CVE-2023-48795"}},
		{"dropbear 2024.84: fixed",
			comp("db84", "dropbear", "2024.84", "binary", "", cpeDropbear),
			nil},
		{"openssl 3.0.13 binary",
			comp("o3013", "openssl", "3.0.13", "binary", "", cpeOpenSSL),
			[]string{"CVE-2024-5535"}},
		{"openssl 3.0.15 binary: fixed",
			comp("o3015", "openssl", "3.0.15", "binary", "", cpeOpenSSL),
			nil},
		{"openssl 3.0.19 binary: fixed",
			comp("o3019", "openssl", "3.0.19", "binary", "", cpeOpenSSL),
			nil},
		{"openssl 1.0.1e: Heartbleed",
			comp("o101e", "openssl", "1.0.1e", "binary", "", cpeOpenSSL),
			[]string{"CVE-2014-0160"}},
		{"openssl 1.0.1g: fixed",
			comp("o101g", "openssl", "1.0.1g", "binary", "", cpeOpenSSL),
			nil},
		{"libopenssl3 3.0.13-1 opkg mapped to openssl",
			comp("libossl", "libopenssl3", "3.0.13-1", "opkg", "", "cpe:2.3:a:openssl:openssl:3.0.13:*:*:*:*:*:*:*"),
			[]string{"CVE-2024-5535"}},
		{"deb openssl on Debian 12: the Debian feed",
			comp("debossl", "openssl", "3.0.11-1~deb12u2", "deb", "pkg:deb/debian/openssl@3.0.11-1~deb12u2?arch=amd64&distro=debian-12", "cpe:2.3:a:openssl:openssl:3.0.11-1~deb12u2:*:*:*:*:*:*:*"),
			[]string{"CVE-2024-5535"}},
		{"deb libssl3 on Debian 12 through its source package",
			comp("deblibssl", "libssl3", "3.0.11-1~deb12u2", "deb", "pkg:deb/debian/libssl3@3.0.11-1~deb12u2?arch=amd64&upstream=openssl&distro=debian-12"),
			[]string{"CVE-2024-5535"}},
		{"deb openssl fixed on Debian 12",
			comp("debfixed", "openssl", "3.0.15-1~deb12u1", "deb", "pkg:deb/debian/openssl@3.0.15-1~deb12u1?arch=amd64&distro=debian-12", cpeOpenSSL),
			nil},
		{"deb openssl 3.0.16-1~deb12u1 on Debian 12: the feed wins over the CPE range",
			comp("debnew", "openssl", "3.0.16-1~deb12u1", "deb", "pkg:deb/debian/openssl@3.0.16-1~deb12u1?distro=debian-12", cpeOpenSSL),
			nil},
		{"deb openssl with no distro: CPE on the upstream version",
			comp("debnodistro", "openssl", "3.0.11-1~deb12u2", "deb", "", cpeOpenSSL),
			[]string{"CVE-2024-5535"}},
		{"binary without CPE: not matchable, not an error",
			comp("nocpe", "busybox", "1.35.0", "binary", ""),
			nil},
		{"version with a control character: skipped",
			comp("ctl", "busybox", "1.35.0\x1b[31m", "binary", "", cpeBusybox),
			nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			vs, err := db.Match(context.Background(), []firmware.Component{tc.c})
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, v := range vs {
				if v.Component != tc.c.ID {
					t.Errorf("vulnerability %s on component %q, want %q", v.ID, v.Component, tc.c.ID)
				}
				got = append(got, v.ID)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
				for _, v := range vs {
					t.Logf("  %s %s on %q constraint %q", v.ID, v.MatchType, v.MatchedOn, v.Constraint)
				}
			}
		})
	}
}

func find(t *testing.T, vs []firmware.Vulnerability, id, comp string) firmware.Vulnerability {
	t.Helper()
	for _, v := range vs {
		if v.ID == id && v.Component == comp {
			return v
		}
	}
	t.Fatalf("no %s on %s in %d results", id, comp, len(vs))
	return firmware.Vulnerability{}
}

func TestMatchDetails(t *testing.T) {
	db := openDB(t)
	comps := []firmware.Component{
		comp("db83", "dropbear", "2022.83", "binary", "", cpeDropbear),
		comp("bbopkg", "busybox", "1.36.1-1", "opkg", "", "cpe:2.3:a:busybox:busybox:1.36.1-1:*:*:*:*:*:*:*"),
		comp("o101e", "openssl", "1.0.1e", "binary", "", cpeOpenSSL),
		comp("o3013", "openssl", "3.0.13", "binary", "", cpeOpenSSL),
		comp("debossl", "openssl", "3.0.11-1~deb12u2", "deb", "pkg:deb/debian/openssl@3.0.11-1~deb12u2?arch=amd64&distro=debian-12", cpeOpenSSL),
	}
	vs, err := db.Match(context.Background(), comps)
	if err != nil {
		t.Fatal(err)
	}

	v := find(t, vs, "CVE-2023-48795", "db83")
	if v.Severity != firmware.SeverityMedium || len(v.CVSS) != 1 || v.CVSS[0].Score != 5.9 ||
		v.CVSS[0].Vector != "CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:N/I:H/A:N" {
		t.Errorf("Terrapin severity/CVSS: %v %+v", v.Severity, v.CVSS)
	}
	if v.MatchType != "cpe-match" || v.MatchedOn != "cpe:2.3:a:dropbear_ssh_project:dropbear_ssh:2022.83:*:*:*:*:*:*:*" {
		t.Errorf("Terrapin match: %q on %q", v.MatchType, v.MatchedOn)
	}
	if v.Constraint != "<= 2022.83" {
		t.Errorf("Terrapin constraint %q", v.Constraint)
	}
	if v.ComponentName != "dropbear" || v.ComponentVersion != "2022.83" || v.KEV || v.EPSS != 0 {
		t.Errorf("Terrapin component/KEV: %+v", v)
	}
	if !strings.Contains(v.Description, "Terrapin") || len(v.URLs) == 0 {
		t.Errorf("Terrapin description/URLs: %q %v", v.Description, v.URLs)
	}

	// The opkg version is reported as found; the match used the upstream one.
	v = find(t, vs, "CVE-2023-42366", "bbopkg")
	if v.ComponentVersion != "1.36.1-1" || v.MatchedOn != "cpe:2.3:a:busybox:busybox:1.36.1:*:*:*:*:*:*:*" {
		t.Errorf("opkg busybox: version %q matched on %q", v.ComponentVersion, v.MatchedOn)
	}

	v = find(t, vs, "CVE-2014-0160", "o101e")
	if !v.KEV || v.EPSS < 0.94 || v.EPSS > 0.95 || v.Severity != firmware.SeverityHigh {
		t.Errorf("Heartbleed KEV %v EPSS %v severity %v", v.KEV, v.EPSS, v.Severity)
	}
	if len(v.CVSS) != 2 || v.CVSS[0].Version != "3.1" || v.CVSS[1].Version != "2.0" {
		t.Errorf("Heartbleed CVSS order: %+v", v.CVSS)
	}
	if !reflect.DeepEqual(v.FixedIn, []string{"1.0.1g"}) || v.FixState != "fixed" {
		t.Errorf("Heartbleed fix: %v %q", v.FixedIn, v.FixState)
	}

	// Of the six branch ranges, only the one 3.0.13 falls in is shown.
	v = find(t, vs, "CVE-2024-5535", "o3013")
	if v.Constraint != ">= 3.0.0, < 3.0.15" || !reflect.DeepEqual(v.FixedIn, []string{"3.0.15"}) {
		t.Errorf("OpenSSL constraint %q fixed in %v", v.Constraint, v.FixedIn)
	}

	// The Debian record has no score: severity and CVSS come from NVD.
	v = find(t, vs, "CVE-2024-5535", "debossl")
	if v.MatchType == "cpe-match" || !strings.HasPrefix(v.MatchType, "exact-") {
		t.Errorf("Debian package matched by %q, want the distro feed", v.MatchType)
	}
	if !reflect.DeepEqual(v.FixedIn, []string{"3.0.15-1~deb12u1"}) || v.FixState != "fixed" {
		t.Errorf("Debian fix: %v %q", v.FixedIn, v.FixState)
	}
	if v.Severity != firmware.SeverityCritical || len(v.CVSS) == 0 || v.CVSS[0].Score != 9.1 {
		t.Errorf("Debian severity %v CVSS %+v", v.Severity, v.CVSS)
	}
	if !strings.Contains(v.MatchedOn, "debian") || !strings.Contains(v.Constraint, "3.0.15-1~deb12u1") {
		t.Errorf("Debian matched on %q constraint %q", v.MatchedOn, v.Constraint)
	}

	// Sorted by ID then component, and the same every time.
	if !sort.SliceIsSorted(vs, func(i, j int) bool {
		return vs[i].ID < vs[j].ID || vs[i].ID == vs[j].ID && vs[i].Component < vs[j].Component
	}) {
		t.Error("results not sorted by (id, component)")
	}
	again, err := db.Match(context.Background(), comps)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(vs, again) {
		t.Error("two runs differ")
	}
}

func TestMatchCancelled(t *testing.T) {
	db := openDB(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := db.Match(ctx, []firmware.Component{comp("db83", "dropbear", "2022.83", "binary", "", cpeDropbear)})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}

func TestMatchEmptyAndClosed(t *testing.T) {
	db := openDB(t)
	vs, err := db.Match(context.Background(), nil)
	if err != nil || vs == nil || len(vs) != 0 {
		t.Fatalf("Match(nil) = %v, %v; want an empty, non-nil slice", vs, err)
	}
	db.Close()
	if _, err := db.Match(context.Background(), nil); err == nil {
		t.Fatal("Match on a closed database succeeded")
	}
}

func TestOpenInfo(t *testing.T) {
	dir := buildDB(t, buildTime)
	db, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	info := db.Info()
	if info.Path != filepath.Clean(dir) || info.SchemaVersion != "v6.1.10" || !recent(info.Built) {
		t.Errorf("info = %+v", info)
	}
	if !strings.HasPrefix(info.Checksum, "xxh64:") || len(info.Checksum) != 22 {
		t.Errorf("checksum %q", info.Checksum)
	}
	st, err := db.Status(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !st.ChecksumOK || st.Size <= 0 {
		t.Errorf("status = %+v", st)
	}
	var names []string
	for _, p := range st.Providers {
		names = append(names, p.Name)
	}
	if want := []string{"debian", "epss", "kev", "nvd"}; !reflect.DeepEqual(names, want) {
		t.Errorf("providers %v, want %v", names, want)
	}
	if st.Providers[0].Captured != "2026-01-15T06:00:00Z" {
		t.Errorf("provider captured %q", st.Providers[0].Captured)
	}
}

func TestStatusDetectsChange(t *testing.T) {
	dir := buildDB(t, buildTime)
	// Flip one byte near the end of the file (free pages): still a valid
	// database, but not the file recorded at import.
	f, err := os.OpenFile(filepath.Join(dir, DBFileName), os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	fi, _ := f.Stat()
	b := make([]byte, 1)
	f.ReadAt(b, fi.Size()-1)
	b[0] ^= 0xff
	f.WriteAt(b, fi.Size()-1)
	f.Close()
	db, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	st, err := db.Status(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if st.ChecksumOK || !strings.Contains(st.ChecksumError, "differs") {
		t.Errorf("status = %+v, want a checksum mismatch", st)
	}
}

func TestDigestMatchesGrype(t *testing.T) {
	dir := buildDB(t, buildTime)
	im, err := readImportMetadata(dir)
	if err != nil {
		t.Fatal(err)
	}
	got, err := fileDigest(context.Background(), filepath.Join(dir, DBFileName))
	if err != nil {
		t.Fatal(err)
	}
	if got != im.Digest {
		t.Fatalf("digest %s, grype recorded %s", got, im.Digest)
	}
}

func TestOpenErrors(t *testing.T) {
	t.Run("missing", func(t *testing.T) {
		_, err := Open(filepath.Join(t.TempDir(), "nope"))
		if !errors.Is(err, ErrNoDatabase) {
			t.Fatalf("err = %v, want ErrNoDatabase", err)
		}
	})
	t.Run("empty folder", func(t *testing.T) {
		_, err := Open(t.TempDir())
		if !errors.Is(err, ErrNoDatabase) {
			t.Fatalf("err = %v, want ErrNoDatabase", err)
		}
	})
	t.Run("not sqlite", func(t *testing.T) {
		dir := t.TempDir()
		os.WriteFile(filepath.Join(dir, DBFileName), []byte("this is not a database"), 0o644)
		_, err := Open(dir)
		if err == nil || errors.Is(err, ErrNoDatabase) || !strings.Contains(err.Error(), "not an SQLite database") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("folder instead of file", func(t *testing.T) {
		dir := t.TempDir()
		os.Mkdir(filepath.Join(dir, DBFileName), 0o755)
		_, err := Open(dir)
		if err == nil || !strings.Contains(err.Error(), "not a regular file") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("sqlite but not grype v6", func(t *testing.T) {
		dir := t.TempDir()
		writeV5LikeDB(t, filepath.Join(dir, DBFileName))
		_, err := Open(dir)
		if err == nil || !strings.Contains(err.Error(), "not a grype v6") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("uri characters", func(t *testing.T) {
		_, err := Open(filepath.Join(t.TempDir(), "a?mode=rwc"))
		if err == nil || !strings.Contains(err.Error(), "not supported") {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestDefaultDir(t *testing.T) {
	t.Setenv("NETVET_DB_DIR", "/srv/netvet-db")
	if d := DefaultDir(); d != "/srv/netvet-db" {
		t.Errorf("DefaultDir with NETVET_DB_DIR = %q", d)
	}
	t.Setenv("NETVET_DB_DIR", "")
	t.Setenv("XDG_CACHE_HOME", "/tmp/xdg-cache")
	if d := DefaultDir(); d != filepath.Join("/tmp/xdg-cache", "netvet", "db") {
		t.Errorf("DefaultDir with XDG_CACHE_HOME = %q", d)
	}
}
