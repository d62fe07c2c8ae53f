package vuln

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/glebarez/sqlite"
	"github.com/klauspost/compress/zstd"
	"github.com/ulikunitz/xz"
	"gorm.io/gorm"

	"github.com/netvet/netvet/internal/firmware"
)

// writeV5LikeDB writes an SQLite file shaped like a grype v5 database.
func writeV5LikeDB(t *testing.T, path string) {
	t.Helper()
	g, err := gorm.Open(sqlite.Open(path), &gorm.Config{})
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		"CREATE TABLE id (build_timestamp DATETIME, schema_version INTEGER)",
		"INSERT INTO id VALUES ('2024-01-01T00:00:00Z', 5)",
	} {
		if err := g.Exec(q).Error; err != nil {
			t.Fatal(err)
		}
	}
	d, _ := g.DB()
	d.Close()
}

type entry struct {
	name     string
	body     []byte
	typeflag byte
	link     string
	size     int64 // header size when it must lie; 0: len(body)
}

func tarBytes(t *testing.T, es []entry) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range es {
		h := &tar.Header{Name: e.name, Mode: 0o644, Size: int64(len(e.body)), Typeflag: e.typeflag, Linkname: e.link, ModTime: time.Unix(0, 0)}
		if h.Typeflag == 0 {
			h.Typeflag = tar.TypeReg
		}
		if h.Typeflag != tar.TypeReg {
			h.Size = 0
		}
		if e.size != 0 {
			// A header that lies: write it, then stop (the reader must
			// refuse from the header alone).
			h.Size = e.size
			if err := tw.WriteHeader(h); err != nil {
				t.Fatal(err)
			}
			return buf.Bytes()
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(e.body); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func compress(t *testing.T, kind string, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	var w io.WriteCloser
	var err error
	switch kind {
	case "zst":
		w, err = zstd.NewWriter(&buf)
	case "gz":
		w = gzip.NewWriter(&buf)
	case "xz":
		w, err = xz.NewWriter(&buf)
	case "tar":
		return b
	}
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func writeFile(t *testing.T, name string, b []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// dbArchive packs a freshly built database as Anchore publishes it.
func dbArchive(t *testing.T, at time.Time, kind string) (path string, dbBytes []byte) {
	t.Helper()
	dir := buildDB(t, at)
	dbBytes, err := os.ReadFile(filepath.Join(dir, DBFileName))
	if err != nil {
		t.Fatal(err)
	}
	meta, err := os.ReadFile(filepath.Join(dir, ImportMetadataFileName))
	if err != nil {
		t.Fatal(err)
	}
	tb := tarBytes(t, []entry{{name: DBFileName, body: dbBytes}, {name: ImportMetadataFileName, body: meta}})
	return writeFile(t, "vulnerability-db_v6.1.10_2026-01-15T06:00:00Z_1768456800.tar."+kind, compress(t, kind, tb)), dbBytes
}

func TestImportFormats(t *testing.T) {
	for _, kind := range []string{"zst", "gz", "xz"} {
		t.Run(kind, func(t *testing.T) {
			archive, _ := dbArchive(t, buildTime, kind)
			dir := filepath.Join(t.TempDir(), "netvet", "db")
			info, err := Import(context.Background(), archive, dir)
			if err != nil {
				t.Fatal(err)
			}
			if info.SchemaVersion != "v6.1.10" || info.Path != dir || !recent(info.Built) {
				t.Errorf("info = %+v", info)
			}
			db, err := Open(dir)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			vs, err := db.Match(context.Background(), []firmware.Component{comp("db83", "dropbear", "2022.83", "binary", "", cpeDropbear)})
			if err != nil || len(vs) != 1 || vs[0].ID != "CVE-2023-48795" {
				t.Fatalf("match after import: %v %v", vs, err)
			}
			st, err := db.Status(context.Background())
			if err != nil || !st.ChecksumOK || !strings.HasPrefix(st.Source, "netvet db import ") {
				t.Errorf("status after import: %+v %v", st, err)
			}
			// Nothing left behind beside the database folder.
			ents, _ := os.ReadDir(filepath.Dir(dir))
			if len(ents) != 1 {
				t.Errorf("parent folder holds %d entries, want only db", len(ents))
			}
		})
	}
}

func TestImportPlainDBAndReplace(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "db")
	first, _ := dbArchive(t, buildTime, "zst")
	if _, err := Import(context.Background(), first, dir); err != nil {
		t.Fatal(err)
	}
	later := buildTime.Add(48 * time.Hour)
	src := buildDB(t, later)
	plain := filepath.Join(src, DBFileName)
	if _, err := Import(context.Background(), plain, dir); err != nil {
		t.Fatal(err)
	}
	db, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	st, err := db.Status(context.Background())
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Providers) == 0 || st.Providers[0].Captured != "2026-01-17T06:00:00Z" || !st.ChecksumOK {
		t.Errorf("after replace: %+v", st)
	}
	ents, _ := os.ReadDir(filepath.Dir(dir))
	if len(ents) != 1 {
		var names []string
		for _, e := range ents {
			names = append(names, e.Name())
		}
		t.Errorf("parent folder holds %v, want only db", names)
	}
}

func TestImportSHA256(t *testing.T) {
	archive, _ := dbArchive(t, buildTime, "zst")
	b, _ := os.ReadFile(archive)
	sum := sha256.Sum256(b)
	good := "sha256:" + hex.EncodeToString(sum[:])
	dir := filepath.Join(t.TempDir(), "db")
	if _, err := ImportWith(context.Background(), archive, dir, ImportOptions{SHA256: good}); err != nil {
		t.Fatalf("good checksum: %v", err)
	}
	sum[0] ^= 1
	bad := hex.EncodeToString(sum[:])
	_, err := ImportWith(context.Background(), archive, filepath.Join(t.TempDir(), "db"), ImportOptions{SHA256: bad})
	if err == nil || !strings.Contains(err.Error(), "SHA-256") {
		t.Fatalf("bad checksum: %v", err)
	}
	_, err = ImportWith(context.Background(), archive, filepath.Join(t.TempDir(), "db"), ImportOptions{SHA256: "abc"})
	if err == nil || !strings.Contains(err.Error(), "64 hex digits") {
		t.Fatalf("malformed checksum: %v", err)
	}
}

// TestImportRefuses covers archives that must not be installed; each time
// the database already installed must stay as it was.
func TestImportRefuses(t *testing.T) {
	good, dbBytes := dbArchive(t, buildTime, "zst")
	meta := []byte(`{"digest":"xxh64:0000000000000000","source":"x","client_version":"6.1.10"}`)
	small := DefaultImportLimits()
	small.MaxDBSize = 1 << 20
	small.MaxTotal = 2 << 20
	small.MaxEntries = 8
	zeros := make([]byte, 3<<20)

	cases := []struct {
		name    string
		archive func(t *testing.T) string
		lim     ImportLimits
		want    string
	}{
		{"traversal", func(t *testing.T) string {
			return writeFile(t, "a.tar.zst", compress(t, "zst", tarBytes(t, []entry{{name: "../../evil", body: []byte("x")}, {name: DBFileName, body: dbBytes}})))
		}, ImportLimits{}, "climbs out"},
		{"absolute path", func(t *testing.T) string {
			return writeFile(t, "a.tar.gz", compress(t, "gz", tarBytes(t, []entry{{name: "/etc/cron.d/x", body: []byte("x")}})))
		}, ImportLimits{}, "absolute"},
		{"symlink as database", func(t *testing.T) string {
			return writeFile(t, "a.tar", tarBytes(t, []entry{{name: DBFileName, typeflag: tar.TypeSymlink, link: "/etc/passwd"}}))
		}, ImportLimits{}, "link or special"},
		{"hard link as database", func(t *testing.T) string {
			return writeFile(t, "a.tar", tarBytes(t, []entry{{name: DBFileName, typeflag: tar.TypeLink, link: "x"}}))
		}, ImportLimits{}, "link or special"},
		{"header claims a terabyte", func(t *testing.T) string {
			return writeFile(t, "a.tar.zst", compress(t, "zst", tarBytes(t, []entry{{name: DBFileName, size: 1 << 40}})))
		}, ImportLimits{}, "claims 1099511627776 bytes"},
		{"database beyond the size limit", func(t *testing.T) string {
			return writeFile(t, "a.tar.zst", compress(t, "zst", tarBytes(t, []entry{{name: DBFileName, body: zeros[:3<<19]}})))
		}, small, "beyond the 1048576-byte limit"},
		{"skipped entries beyond the total limit", func(t *testing.T) string {
			return writeFile(t, "a.tar.zst", compress(t, "zst", tarBytes(t, []entry{{name: "pad1", body: zeros[:1<<20]}, {name: "pad2", body: zeros[:1<<20]}, {name: "pad3", body: zeros[:1<<20]}})))
		}, small, "expands beyond"},
		{"too many entries", func(t *testing.T) string {
			var es []entry
			for i := 0; i < 20; i++ {
				es = append(es, entry{name: "d" + string(rune('a'+i)) + "/", typeflag: tar.TypeDir})
			}
			return writeFile(t, "a.tar.gz", compress(t, "gz", tarBytes(t, es)))
		}, small, "more than 8 entries"},
		{"no database", func(t *testing.T) string {
			return writeFile(t, "a.tar.xz", compress(t, "xz", tarBytes(t, []entry{{name: "README", body: []byte("hi")}})))
		}, ImportLimits{}, "no vulnerability.db"},
		{"two databases", func(t *testing.T) string {
			return writeFile(t, "a.tar.zst", compress(t, "zst", tarBytes(t, []entry{{name: DBFileName, body: dbBytes}, {name: "./" + DBFileName, body: dbBytes}})))
		}, ImportLimits{}, "two vulnerability.db"},
		{"digest mismatch", func(t *testing.T) string {
			return writeFile(t, "a.tar.zst", compress(t, "zst", tarBytes(t, []entry{{name: DBFileName, body: dbBytes}, {name: ImportMetadataFileName, body: meta}})))
		}, ImportLimits{}, "does not match"},
		{"malformed import.json", func(t *testing.T) string {
			return writeFile(t, "a.tar.zst", compress(t, "zst", tarBytes(t, []entry{{name: DBFileName, body: dbBytes}, {name: ImportMetadataFileName, body: []byte("{")}})))
		}, ImportLimits{}, "import.json"},
		{"not an archive", func(t *testing.T) string {
			return writeFile(t, "a.bin", []byte("MZ\x90\x00 definitely not a database archive"))
		}, ImportLimits{}, "not a database archive"},
		{"truncated zstd", func(t *testing.T) string {
			b, _ := os.ReadFile(good)
			return writeFile(t, "a.tar.zst", b[:len(b)/2])
		}, ImportLimits{}, "unexpected EOF"},
		{"sqlite that is not grype v6", func(t *testing.T) string {
			p := filepath.Join(t.TempDir(), "vulnerability.db")
			writeV5LikeDB(t, p)
			return p
		}, ImportLimits{}, "not a grype v6"},
		{"plain text named .db", func(t *testing.T) string {
			return writeFile(t, "vulnerability.db", []byte("hello"))
		}, ImportLimits{}, "not a database archive"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			parent := t.TempDir()
			dir := filepath.Join(parent, "db")
			if _, err := Import(context.Background(), good, dir); err != nil {
				t.Fatal(err)
			}
			before, _ := os.ReadFile(filepath.Join(dir, DBFileName))
			_, err := ImportWith(context.Background(), tc.archive(t), dir, ImportOptions{Limits: tc.lim})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tc.want)
			}
			after, _ := os.ReadFile(filepath.Join(dir, DBFileName))
			if !bytes.Equal(before, after) {
				t.Fatal("the installed database changed")
			}
			ents, _ := os.ReadDir(parent)
			if len(ents) != 1 {
				t.Errorf("%d entries left in the parent folder, want 1", len(ents))
			}
			if _, err := os.Stat(filepath.Join(parent, "..", "evil")); err == nil {
				t.Error("traversal wrote outside")
			}
		})
	}
}

func TestImportRefusesForeignFolder(t *testing.T) {
	archive, _ := dbArchive(t, buildTime, "zst")
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "thesis.odt"), []byte("precious"), 0o644)
	_, err := Import(context.Background(), archive, dir)
	if err == nil || !strings.Contains(err.Error(), "thesis.odt") {
		t.Fatalf("err = %v", err)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "thesis.odt")); string(b) != "precious" {
		t.Fatal("foreign file touched")
	}
}

func TestImportCancelled(t *testing.T) {
	archive, _ := dbArchive(t, buildTime, "zst")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	parent := t.TempDir()
	_, err := Import(ctx, archive, filepath.Join(parent, "db"))
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if ents, _ := os.ReadDir(parent); len(ents) != 0 {
		t.Errorf("%d entries left behind", len(ents))
	}
}

func TestEntryName(t *testing.T) {
	cases := []struct {
		in, want string
		bad      bool
	}{
		{"vulnerability.db", "vulnerability.db", false},
		{"./vulnerability.db", "vulnerability.db", false},
		{"x/vulnerability.db", "x/vulnerability.db", false},
		{"../vulnerability.db", "", true},
		{"a/../../b", "", true},
		{`..\evil`, "", true},
		{"/abs", "", true},
		{`C:\x`, "", true},
		{"", "", true},
		{"a\x00b", "", true},
	}
	for _, tc := range cases {
		got, err := entryName(tc.in)
		if (err != nil) != tc.bad || got != tc.want {
			t.Errorf("entryName(%q) = %q, %v", tc.in, got, err)
		}
	}
}

func TestLimitedReader(t *testing.T) {
	r := &limitedReader{r: bytes.NewReader(make([]byte, 10)), left: 10}
	if n, err := io.Copy(io.Discard, r); n != 10 || err != nil {
		t.Fatalf("exactly at the limit: %d %v", n, err)
	}
	r = &limitedReader{r: bytes.NewReader(make([]byte, 11)), left: 10}
	if _, err := io.Copy(io.Discard, r); !errors.Is(err, errTooMuch) {
		t.Fatalf("one past the limit: %v", err)
	}
}

// A database file copied with its import.json is checked against it.
func TestImportPlainDBSiblingDigest(t *testing.T) {
	src := buildDB(t, buildTime) // holds vulnerability.db and import.json
	if _, err := Import(context.Background(), filepath.Join(src, DBFileName), filepath.Join(t.TempDir(), "db")); err != nil {
		t.Fatalf("with a matching import.json: %v", err)
	}
	os.WriteFile(filepath.Join(src, ImportMetadataFileName), []byte(`{"digest":"xxh64:0123456789abcdef","client_version":"6.1.10"}`), 0o644)
	_, err := Import(context.Background(), filepath.Join(src, DBFileName), filepath.Join(t.TempDir(), "db"))
	if err == nil || !strings.Contains(err.Error(), "does not match") {
		t.Fatalf("with a wrong import.json: %v", err)
	}
}
