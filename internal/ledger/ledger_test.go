package ledger

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/netvet/netvet/examples"
	"github.com/netvet/netvet/internal/firmware/format/all"
	"github.com/netvet/netvet/internal/store"
	"github.com/netvet/netvet/internal/unpack"
)

func TestParseScheme(t *testing.T) {
	for in, want := range map[string]string{
		"NESAS": "NESAS", "nesas": "NESAS", " SCAS ": "SCAS", "national:BSI": "national:BSI",
		"National:ANSSI CSPN": "national:ANSSI CSPN", "national:": "", "national": "", "CC": "", "": "",
		"national:a\nb": "",
	} {
		got, err := ParseScheme(in)
		if got != want || (err != nil) != (want == "") {
			t.Errorf("ParseScheme(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}

func TestRecordValidate(t *testing.T) {
	ok := Record{Lab: " Lab ", Report: "R-1", Date: "2025-03-04", Scheme: "scas"}
	if err := ok.Validate(); err != nil || ok.Lab != "Lab" || ok.Scheme != "SCAS" {
		t.Errorf("%v %+v", err, ok)
	}
	for _, r := range []Record{
		{Report: "R", Date: "2025-01-01", Scheme: "NESAS"},
		{Lab: "L", Report: "R", Date: "01/02/2025", Scheme: "NESAS"},
		{Lab: "L", Report: "R", Date: "2025-01-01", Scheme: "ISO"},
		{Lab: "L\nX", Report: "R", Date: "2025-01-01", Scheme: "NESAS"},
		{Lab: "L", Report: strings.Repeat("r", 300), Date: "2025-01-01", Scheme: "NESAS"},
	} {
		if err := r.Validate(); err == nil {
			t.Errorf("accepted %+v", r)
		}
	}
}

type entry struct {
	name, link string
	data       string
	mode       int64
}

// tarImage writes a tar image of entries, with every timestamp set to
// mtime, optionally gzipped.
func tarImage(t *testing.T, path string, entries []entry, mtime time.Time, gz bool) string {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		h := &tar.Header{Name: e.name, Mode: e.mode, ModTime: mtime, Size: int64(len(e.data)), Typeflag: tar.TypeReg}
		if e.link != "" {
			h.Typeflag, h.Linkname, h.Size = tar.TypeSymlink, e.link, 0
		}
		if strings.HasSuffix(e.name, "/") {
			h.Typeflag, h.Size = tar.TypeDir, 0
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if h.Typeflag == tar.TypeReg {
			tw.Write([]byte(e.data))
		}
	}
	tw.Close()
	data := buf.Bytes()
	if gz {
		var z bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&z, gzip.BestCompression)
		zw.Write(data)
		zw.Close()
		data = z.Bytes()
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

var baseEntries = []entry{
	{name: "bin/", mode: 0o755},
	{name: "bin/busybox", data: strings.Repeat("busybox 1.36 ", 200), mode: 0o755},
	{name: "etc/", mode: 0o755},
	{name: "etc/passwd", data: "root:x:0:0:root:/root:/bin/sh\n", mode: 0o644},
	{name: "sbin/", mode: 0o755},
	{name: "sbin/init", link: "../bin/busybox", mode: 0o777},
}

func with(changes map[string]entry) []entry {
	var out []entry
	for _, e := range baseEntries {
		if c, ok := changes[e.name]; ok {
			if c.name == "" {
				continue
			}
			e = c
		}
		out = append(out, e)
	}
	if c, ok := changes["+"]; ok {
		out = append(out, c)
	}
	return out
}

func opts(t *testing.T) Options {
	return Options{Registry: all.Registry(), TempDir: t.TempDir()}
}

func TestAddAndCheck(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db, err := store.Open(ctx, filepath.Join(dir, "ledger.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	evaluated := tarImage(t, filepath.Join(dir, "fw-1.0.tar"), baseEntries, t0, false)
	rebuilt := tarImage(t, filepath.Join(dir, "fw-1.0-rebuilt.tar.gz"), baseEntries, t0.Add(48*time.Hour), true)
	patched := tarImage(t, filepath.Join(dir, "fw-1.0.1.tar"), with(map[string]entry{"bin/busybox": {name: "bin/busybox", data: "patched", mode: 0o755}}), t0, false)
	suid := tarImage(t, filepath.Join(dir, "fw-suid.tar"), with(map[string]entry{"bin/busybox": {name: "bin/busybox", data: baseEntries[1].data, mode: 0o4755}}), t0, false)
	extra := tarImage(t, filepath.Join(dir, "fw-extra.tar"), with(map[string]entry{"+": {name: "etc/backdoor", data: "x", mode: 0o644}, "etc/passwd": {}}), t0, false)

	// Empty ledger.
	r, err := Check(ctx, db, evaluated, opts(t))
	if err != nil || r.Evaluated() || r.Closest != nil || !strings.Contains(strings.Join(r.Notes, " "), "no evaluation") {
		t.Fatalf("empty ledger: %+v %v", r, err)
	}

	rec := Record{Lab: "Lab A", Report: "NESAS-2025-017", Date: "2025-02-01", Scheme: "NESAS", Vendor: "Acme", Product: "R1", Version: "1.0"}
	a, err := Add(ctx, db, evaluated, rec, opts(t))
	if err != nil || !a.NewImage || !a.NewEvaluation || a.Image.FileCount == 0 || !a.Image.Complete {
		t.Fatalf("add: %+v %v", a, err)
	}
	// The same record again: nothing new, no unpack needed.
	a2, err := Add(ctx, db, evaluated, rec, Options{})
	if err != nil || a2.NewImage || a2.NewEvaluation {
		t.Fatalf("add again: %+v %v", a2, err)
	}
	conflict := rec
	conflict.Date = "2025-02-02"
	if _, err := Add(ctx, db, evaluated, conflict, Options{}); err == nil {
		t.Error("conflicting record accepted")
	}

	cases := []struct {
		name, image string
		status      string
		differing   int
		changes     []string
	}{
		{"same image", evaluated, StatusEvaluated, 0, nil},
		{"rebuilt, other timestamps, gzipped", rebuilt, StatusEquivalent, 0, nil},
		{"one file patched", patched, StatusNotEvaluated, 1, []string{"changed fs0:/bin/busybox"}},
		{"setuid bit added", suid, StatusNotEvaluated, 1, []string{"changed fs0:/bin/busybox"}},
		{"file added and removed", extra, StatusNotEvaluated, 2, []string{"added fs0:/etc/backdoor", "removed fs0:/etc/passwd"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r, err := Check(ctx, db, tc.image, opts(t))
			if err != nil {
				t.Fatal(err)
			}
			if r.Status != tc.status {
				t.Fatalf("status %s, want %s", r.Status, tc.status)
			}
			switch tc.status {
			case StatusEvaluated:
				if r.Match == nil || len(r.Match.Evaluations) != 1 || r.Match.Evaluations[0].Report != "NESAS-2025-017" {
					t.Errorf("match %+v", r.Match)
				}
			case StatusEquivalent:
				if len(r.Equivalent) != 1 || r.Equivalent[0].Image.SHA256 != a.Image.SHA256 {
					t.Errorf("equivalent %+v", r.Equivalent)
				}
			default:
				c := r.Closest
				if c == nil || c.Image.SHA256 != a.Image.SHA256 || c.Differing != tc.differing {
					t.Fatalf("closest %+v", c)
				}
				var got []string
				for _, ch := range c.Changes {
					got = append(got, ch.Change+" "+ch.Key)
				}
				if strings.Join(got, ",") != strings.Join(tc.changes, ",") {
					t.Errorf("changes %q, want %q", got, tc.changes)
				}
			}
			var txt bytes.Buffer
			if err := WriteCheckText(&txt, r); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(txt.String(), strings.ToUpper(strings.ReplaceAll(tc.status, "-", " "))) {
				t.Errorf("text:\n%s", txt.String())
			}
		})
	}

	// A second evaluation of the patched image by another lab.
	if _, err := Add(ctx, db, patched, Record{Lab: "BSI", Report: "BSI-DSZ-1", Date: "2025-04-01", Scheme: "national:BSI", Vendor: "Acme", Product: "R1", Version: "1.0.1"}, opts(t)); err != nil {
		t.Fatal(err)
	}
	l, err := List(ctx, db)
	if err != nil || len(l) != 2 || l[0].Version != "1.0" || l[1].Scheme != "national:BSI" {
		t.Fatalf("list %+v %v", l, err)
	}
	var txt bytes.Buffer
	WriteListText(&txt, l)
	if !strings.Contains(txt.String(), "national:BSI") || !strings.Contains(txt.String(), "NESAS-2025-017") {
		t.Errorf("list text:\n%s", txt.String())
	}
}

func TestIncompleteUnpackIsNeverEquivalent(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db, err := store.Open(ctx, filepath.Join(dir, "ledger.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	img := tarImage(t, filepath.Join(dir, "a.tar"), baseEntries, time.Unix(0, 0), false)
	same := tarImage(t, filepath.Join(dir, "b.tar"), baseEntries, time.Unix(1000, 0), false)
	if _, err := Add(ctx, db, img, Record{Lab: "L", Report: "R", Date: "2025-01-01", Scheme: "SCAS"}, opts(t)); err != nil {
		t.Fatal(err)
	}
	o := opts(t)
	o.Limits = unpack.DefaultLimits()
	o.Limits.MaxFiles = 3
	r, err := Check(ctx, db, same, o)
	if err != nil {
		t.Fatal(err)
	}
	if r.Evaluated() || r.Complete || len(r.Notes) == 0 {
		t.Errorf("incomplete unpack claimed: %+v", r)
	}
}

func TestDemoImageContent(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	img := filepath.Join(dir, examples.DemoFirmwareName)
	if err := os.WriteFile(img, examples.DemoFirmware, 0o644); err != nil {
		t.Fatal(err)
	}
	ref, err := HashImage(ctx, img)
	if err != nil {
		t.Fatal(err)
	}
	c, err := Scan(ctx, img, ref, opts(t))
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[string]int{}
	for _, f := range c.Files {
		kinds[f.Kind]++
		if f.Fingerprint == "" || f.Key == "" {
			t.Errorf("file without key or fingerprint: %+v", f)
		}
	}
	// The root filesystem, the decompressed kernel (a blob) and the
	// encrypted-looking configuration (a region) are all content.
	if kinds["file"] == 0 || kinds["symlink"] == 0 || kinds[KindBlob] != 1 || kinds[KindRegion] != 1 || !c.Complete {
		t.Errorf("kinds %v complete %v problems %q", kinds, c.Complete, c.Problems)
	}

	// Flip one byte of the unrecognised region: the content changes.
	data := bytes.Clone(examples.DemoFirmware)
	data[len(data)-100] ^= 0xff
	img2 := filepath.Join(dir, "demo-2.bin")
	os.WriteFile(img2, data, 0o644)
	ref2, _ := HashImage(ctx, img2)
	c2, err := Scan(ctx, img2, ref2, opts(t))
	if err != nil {
		t.Fatal(err)
	}
	if c2.Digest == c.Digest {
		t.Fatal("a changed byte in an unrecognised region left the content digest unchanged")
	}
	ch := diff(c2.Files, c.Files)
	if len(ch) != 1 || ch[0].Change != "changed" || ch[0].Checked.Kind != KindRegion || ch[0].Evaluated.Path != ch[0].Checked.Path {
		t.Errorf("changes %+v", ch)
	}

	// The same content read from an existing unpack folder.
	out := filepath.Join(dir, "out")
	if _, err := unpack.Unpack(ctx, img, out, unpack.Options{Registry: all.Registry(), Limits: unpack.DefaultLimits()}); err != nil {
		t.Fatal(err)
	}
	o := opts(t)
	o.Unpacked = out
	c3, err := Scan(ctx, img, ref, o)
	if err != nil || c3.Digest != c.Digest {
		t.Errorf("from the unpack folder: %v %s vs %s", err, c3.Digest, c.Digest)
	}
	if _, err := Scan(ctx, img2, ref2, o); err == nil {
		t.Error("unpack folder of another image accepted")
	}
}
