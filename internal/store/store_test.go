package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func files(n int, change ...int) []File {
	var out []File
	for i := range n {
		fp := fmt.Sprintf("file:%064d:0644", i)
		for _, c := range change {
			if c == i {
				fp = fmt.Sprintf("file:%064d:0644", 1000+i)
			}
		}
		out = append(out, File{Key: fmt.Sprintf("fs0:/f%03d", i), Root: "fs0", FSPath: fmt.Sprintf("/f%03d", i), Kind: "file", Mode: "0644", Path: "img/f", Fingerprint: fp})
	}
	return out
}

func TestLedgerStore(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "sub", "ledger.db")
	if _, err := OpenReadOnly(ctx, path); !errors.Is(err, ErrNoDatabase) {
		t.Fatalf("read-only open of a missing file: %v", err)
	}
	db, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()

	a, created, err := db.AddImage(ctx, Image{SHA256: strings.Repeat("a", 64), Size: 10, Name: "a.bin", ContentDigest: "ca", Complete: true}, files(10))
	if err != nil || !created {
		t.Fatal(err, created)
	}
	again, created, err := db.AddImage(ctx, Image{SHA256: strings.Repeat("a", 64)}, nil)
	if err != nil || created || again != a {
		t.Fatalf("second add: %v %v %d", err, created, again)
	}
	b, _, err := db.AddImage(ctx, Image{SHA256: strings.Repeat("b", 64), Size: 11, Name: "b.bin", ContentDigest: "cb", Complete: true}, files(12, 3))
	if err != nil {
		t.Fatal(err)
	}
	// An image with no evaluation is not "evaluated".
	if img, err := db.ImageBySHA256(ctx, strings.Repeat("a", 64), true); err != nil || img != nil {
		t.Fatalf("unevaluated image found: %v %v", img, err)
	}
	ev := Evaluation{ImageID: a, Lab: "Lab A", Report: "R-1", Date: "2025-01-02", Scheme: "NESAS", Vendor: "acme", Product: "r1", Version: "1.0"}
	if c, err := db.AddEvaluation(ctx, ev); err != nil || !c {
		t.Fatal(err)
	}
	if c, err := db.AddEvaluation(ctx, ev); err != nil || c {
		t.Fatalf("same evaluation twice: %v %v", c, err)
	}
	ev2 := ev
	ev2.Date = "2025-02-03"
	if _, err := db.AddEvaluation(ctx, ev2); !errors.Is(err, ErrConflict) {
		t.Fatalf("conflict: %v", err)
	}
	if _, err := db.AddEvaluation(ctx, Evaluation{ImageID: b, Lab: "Lab B", Report: "R-9", Date: "2025-03-01", Scheme: "national:BSI", Vendor: "acme", Product: "r1", Version: "1.1"}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.AddEvaluation(ctx, Evaluation{ImageID: 999, Lab: "x", Report: "y", Date: "2025-01-01", Scheme: "SCAS"}); err == nil {
		t.Error("evaluation of an unknown image accepted")
	}

	img, err := db.ImageBySHA256(ctx, strings.Repeat("a", 64), true)
	if err != nil || img == nil || img.Name != "a.bin" || img.FileCount != 10 || !img.Complete {
		t.Fatalf("image: %+v %v", img, err)
	}
	same, err := db.ImagesByContent(ctx, "cb")
	if err != nil || len(same) != 1 || same[0].ID != b {
		t.Fatalf("by content: %+v %v", same, err)
	}
	fs, err := db.Files(ctx, b)
	if err != nil || len(fs) != 12 || fs[0].Key != "fs0:/f000" {
		t.Fatalf("files: %d %v", len(fs), err)
	}

	// A probe equal to b but for file 3: b differs by 1, a by 2 + 1.
	cands, err := db.Closest(ctx, files(12, 3, 5), 5)
	if err != nil || len(cands) != 2 {
		t.Fatalf("closest: %+v %v", cands, err)
	}
	if cands[0].Image.ID != b || cands[0].Differing != 1 || cands[1].Image.ID != a || cands[1].Differing != 4 {
		t.Errorf("closest: %+v", cands)
	}
	// Twice on the same connection pool: the temporary table is reused.
	if _, err := db.Closest(ctx, files(3), 1); err != nil {
		t.Fatal(err)
	}

	list, err := db.List(ctx)
	if err != nil || len(list) != 2 || list[0].Version != "1.0" || list[1].Image.SHA256 != strings.Repeat("b", 64) {
		t.Fatalf("list: %+v %v", list, err)
	}
	prods, err := db.EvaluatedProducts(ctx)
	if err != nil || len(prods) != 2 || prods[1] != (Product{"acme", "r1", "1.1"}) {
		t.Fatalf("products: %+v %v", prods, err)
	}
	db.Close()

	ro, err := OpenReadOnly(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	if _, _, err := ro.AddImage(ctx, Image{SHA256: strings.Repeat("c", 64)}, nil); err == nil {
		t.Error("write through a read-only open")
	}
	if l, err := ro.List(ctx); err != nil || len(l) != 2 {
		t.Errorf("read-only list: %v %v", len(l), err)
	}
}

func TestForeignDatabases(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	other := filepath.Join(dir, "other.db")
	raw, err := sql.Open("sqlite", other)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := raw.Exec("CREATE TABLE x (a)"); err != nil {
		t.Fatal(err)
	}
	raw.Close()
	if _, err := Open(ctx, other); err == nil || !strings.Contains(err.Error(), "not a netvet ledger") {
		t.Errorf("foreign database: %v", err)
	}

	newer := filepath.Join(dir, "newer.db")
	raw, _ = sql.Open("sqlite", newer)
	raw.Exec("PRAGMA user_version = 99")
	raw.Close()
	if _, err := Open(ctx, newer); err == nil || !strings.Contains(err.Error(), "newer") {
		t.Errorf("newer schema: %v", err)
	}

	junk := filepath.Join(dir, "junk.db")
	if err := writeJunk(junk); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenReadOnly(ctx, junk); err == nil {
		t.Error("junk file opened as a ledger")
	}
}

func writeJunk(p string) error {
	return os.WriteFile(p, []byte("this is not a database, just some text that is long enough to look like a header"), 0o600)
}

// BenchmarkClosest: a ledger of 5 images of 20,000 files each, probed with
// a 20,000-file image that differs from one of them in 10 files.
func BenchmarkClosest(b *testing.B) {
	ctx := context.Background()
	db, err := Open(ctx, filepath.Join(b.TempDir(), "ledger.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	const n = 20000
	for i := range 5 {
		fs := files(n)
		for j := range fs {
			fs[j].Fingerprint = fmt.Sprintf("file:%d-%d:0644", i, j)
		}
		id, _, err := db.AddImage(ctx, Image{SHA256: fmt.Sprintf("%064d", i), ContentDigest: fmt.Sprint(i), Complete: true}, fs)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := db.AddEvaluation(ctx, Evaluation{ImageID: id, Lab: "L", Report: fmt.Sprint(i), Date: "2025-01-01", Scheme: "NESAS"}); err != nil {
			b.Fatal(err)
		}
	}
	probe := files(n)
	for j := range probe {
		probe[j].Fingerprint = fmt.Sprintf("file:%d-%d:0644", 3, j)
		if j < 10 {
			probe[j].Fingerprint = "changed"
		}
	}
	b.ResetTimer()
	for b.Loop() {
		c, err := db.Closest(ctx, probe, 1)
		if err != nil || len(c) != 1 || c[0].Differing != 10 {
			b.Fatalf("%+v %v", c, err)
		}
	}
}
