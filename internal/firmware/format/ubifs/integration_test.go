//go:build integration

package ubifs

import (
	"bytes"
	"context"
	"fmt"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/netvet/netvet/internal/firmware/format/ubi"
	"github.com/netvet/netvet/internal/firmware/fwtest"
)

// makeTree writes the shared source tree, with what UBIFS adds to it:
// many entries in one directory and a deep path.
func makeTree(t *testing.T, root string) {
	t.Helper()
	tree := fwtest.StandardTree(t, root)
	tree.File("etc/big.txt", bytes.Repeat([]byte("the quick brown fox jumps over the lazy dog\n"), 3000), 0o644)
	for i := 0; i < 40; i++ {
		tree.File(fmt.Sprintf("many/f%03d", i), []byte(fmt.Sprint(i)), 0o644)
	}
	tree.File("a/b/c/d/e/deep", []byte("deep"), 0o644)
}

// ubifsKeeps is what UBIFS keeps of a tree: everything.
var ubifsKeeps = fwtest.CompareOptions{ModTime: true, Owners: true}

func TestIntegrationMkfsUbifs(t *testing.T) {
	fwtest.RequireTools(t, "mkfs.ubifs")
	root := filepath.Join(t.TempDir(), "root")
	makeTree(t, root)
	for _, comp := range []string{"lzo", "zlib", "zstd", "none", "favor_lzo"} {
		for _, geo := range [][]string{{"-m", "1", "-e", "16256"}, {"-m", "2048", "-e", "126976"}} {
			t.Run(comp+"-m"+geo[1], func(t *testing.T) {
				img := filepath.Join(t.TempDir(), "fs.img")
				fwtest.RunTool(t, "mkfs.ubifs", append(append([]string{}, geo...), "-c", "200", "-x", comp, "-r", root, img)...)
				b := fwtest.ReadFile(t, img)
				s := fwtest.ExtractWhole(t, New(), b, 1<<28)
				fwtest.CompareTree(t, s, root, ubifsKeeps)
			})
		}
	}
}

// TestIntegrationUBI builds a UBIFS image, wraps it in a UBI image with
// ubinize, reads the volume back with the UBI reader and the tree with
// this reader.
func TestIntegrationUBI(t *testing.T) {
	fwtest.RequireTools(t, "mkfs.ubifs", "ubinize")
	root := filepath.Join(t.TempDir(), "root")
	makeTree(t, root)
	for _, g := range []struct {
		name                 string
		minIO, leb, peb, sub string
	}{
		{"nor-64k", "1", "65408", "64KiB", "1"},
		{"nand-128k", "2048", "126976", "128KiB", "2048"},
		{"nand-128k-subpage", "2048", "129024", "128KiB", "512"},
	} {
		t.Run(g.name, func(t *testing.T) {
			dir := t.TempDir()
			fsImg := filepath.Join(dir, "fs.img")
			fwtest.RunTool(t, "mkfs.ubifs", "-m", g.minIO, "-e", g.leb, "-c", "100", "-x", "zstd", "-r", root, fsImg)
			ini := filepath.Join(dir, "ubi.ini")
			cfg := fmt.Sprintf("[data]\nmode=ubi\nimage=%s\nvol_id=0\nvol_type=dynamic\nvol_name=data\nvol_flags=autoresize\n", fsImg)
			if err := os.WriteFile(ini, []byte(cfg), 0o644); err != nil {
				t.Fatal(err)
			}
			ubiImg := filepath.Join(dir, "ubi.img")
			fwtest.RunTool(t, "ubinize", "-o", ubiImg, "-p", g.peb, "-m", g.minIO, "-s", g.sub, ini)
			b := fwtest.ReadFile(t, ubiImg)
			vs := fwtest.ExtractWhole(t, ubi.New(), b, 1<<28)
			vol, ok := vs.Get("data")
			if !ok {
				t.Fatalf("volume missing: %v", vs.Paths())
			}
			s, _, err := fwtest.Run(context.Background(), New(), vol.Data, 1<<28)
			if err != nil {
				t.Fatal(err)
			}
			fwtest.CompareTree(t, s, root, ubifsKeeps)
		})
	}
}

// BenchmarkIntegrationLarge extracts a 64 MiB tree (2048 files of 32 KiB,
// half random, half text) built with mkfs.ubifs -x lzo.
func BenchmarkIntegrationLarge(b *testing.B) {
	if _, err := exec.LookPath("mkfs.ubifs"); err != nil {
		b.Skip("mkfs.ubifs not in PATH")
	}
	dir := b.TempDir()
	root := filepath.Join(dir, "root")
	rng := rand.New(rand.NewSource(4))
	text := bytes.Repeat([]byte("lorem ipsum dolor sit amet "), 1300)[:32768]
	for i := 0; i < 2048; i++ {
		p := filepath.Join(root, fmt.Sprintf("d%02d", i%32), fmt.Sprintf("f%04d", i))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			b.Fatal(err)
		}
		data := text
		if i%2 == 0 {
			data = make([]byte, 32768)
			rng.Read(data)
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			b.Fatal(err)
		}
	}
	img := filepath.Join(dir, "fs.img")
	if out, err := exec.Command("mkfs.ubifs", "-m", "2048", "-e", "126976", "-c", "1000", "-x", "lzo", "-r", root, img).CombinedOutput(); err != nil {
		b.Fatalf("mkfs.ubifs: %v\n%s", err, out)
	}
	data, err := os.ReadFile(img)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(64 << 20)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		s := fwtest.NewMemSink(1 << 30)
		if _, err := New().Extract(context.Background(), bytes.NewReader(data), int64(len(data)), s); err != nil {
			b.Fatal(err)
		}
		if len(s.Items) != 2048+32 {
			b.Fatalf("%d items", len(s.Items))
		}
	}
}

// TestIntegrationAuthenticated reads a signed image with hashed index
// branches (the hashes and signature are not checked).
func TestIntegrationAuthenticated(t *testing.T) {
	fwtest.RequireTools(t, "mkfs.ubifs", "openssl")
	dir := t.TempDir()
	root := filepath.Join(dir, "root")
	makeTree(t, root)
	key, cert := filepath.Join(dir, "key.pem"), filepath.Join(dir, "cert.pem")
	if out, err := exec.Command("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
		"-keyout", key, "-out", cert, "-days", "1", "-subj", "/CN=netvet-test").CombinedOutput(); err != nil {
		t.Skipf("openssl: %v\n%s", err, out)
	}
	img := filepath.Join(dir, "fs.img")
	fwtest.RunTool(t, "mkfs.ubifs", "-m", "1", "-e", "16256", "-c", "200", "-x", "lzo",
		"--hash-algo=sha256", "--auth-key="+key, "--auth-cert="+cert, "-r", root, img)
	b := fwtest.ReadFile(t, img)
	s, _, err := fwtest.Run(context.Background(), New(), b, 1<<28)
	if err != nil {
		t.Fatal(err)
	}
	fwtest.CompareTree(t, s, root, ubifsKeeps)
}
