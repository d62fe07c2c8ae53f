//go:build integration

package ubi

import (
	"bytes"
	"fmt"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/netvet/netvet/internal/firmware/fwtest"
)

// TestIntegrationUbinize builds UBI images with ubinize from raw volume
// images and checks each volume reads back byte for byte.
func TestIntegrationUbinize(t *testing.T) {
	if _, err := exec.LookPath("ubinize"); err != nil {
		t.Skip("ubinize not in PATH")
	}
	rng := rand.New(rand.NewSource(3))
	for _, g := range []struct {
		name string
		args []string
		leb  int // LEB size (PEB minus data offset)
	}{
		{"nor-64k", []string{"-p", "64KiB", "-m", "1"}, 65536 - 128},
		{"nand-128k", []string{"-p", "128KiB", "-m", "2048"}, 131072 - 4096},
		{"nand-128k-subpage", []string{"-p", "128KiB", "-m", "2048", "-s", "512"}, 131072 - 2048},
		{"nand-256k-vidoff", []string{"-p", "256KiB", "-m", "4096", "-O", "4096"}, 262144 - 8192},
	} {
		t.Run(g.name, func(t *testing.T) {
			dir := t.TempDir()
			type vol struct {
				name, typ string
				data      []byte
				align     int
			}
			vols := []vol{
				{"rootfs", "dynamic", make([]byte, 3*g.leb+777), 1},
				{"kernel", "static", make([]byte, 2*g.leb+5), 1},
				{"aligned", "dynamic", make([]byte, g.leb+100), 512},
				{"tiny", "static", []byte("x"), 1},
			}
			var ini bytes.Buffer
			for i := range vols {
				rng.Read(vols[i].data)
				p := filepath.Join(dir, fmt.Sprintf("v%d.bin", i))
				if err := os.WriteFile(p, vols[i].data, 0o644); err != nil {
					t.Fatal(err)
				}
				fmt.Fprintf(&ini, "[v%d]\nmode=ubi\nimage=%s\nvol_id=%d\nvol_type=%s\nvol_name=%s\nvol_alignment=%d\n",
					i, p, i, vols[i].typ, vols[i].name, vols[i].align)
			}
			iniPath := filepath.Join(dir, "ubi.ini")
			if err := os.WriteFile(iniPath, ini.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
			img := filepath.Join(dir, "ubi.img")
			args := append([]string{"-o", img}, g.args...)
			if out, err := exec.Command("ubinize", append(args, iniPath)...).CombinedOutput(); err != nil {
				t.Fatalf("ubinize: %v\n%s", err, out)
			}
			b, err := os.ReadFile(img)
			if err != nil {
				t.Fatal(err)
			}
			s := fwtest.ExtractWhole(t, New(), b, 1<<28)
			if len(s.Failed) > 0 {
				t.Errorf("failures: %+v", s.Failed)
			}
			for _, v := range vols {
				it, ok := s.Get(v.name)
				if !ok {
					t.Errorf("%s: missing (have %v)", v.name, s.Paths())
					continue
				}
				got := it.Data
				if v.typ == "dynamic" {
					// Whole LEBs: the image, then erased bytes.
					usable := g.leb - g.leb%v.align
					if len(got)%usable != 0 || len(got) < len(v.data) {
						t.Errorf("%s: %d bytes, not whole %d-byte LEBs", v.name, len(got), usable)
						continue
					}
					if bytes.Count(got[len(v.data):], []byte{0xFF}) != len(got)-len(v.data) {
						t.Errorf("%s: tail not erased", v.name)
					}
					got = got[:len(v.data)]
				}
				if !bytes.Equal(got, v.data) {
					t.Errorf("%s: content differs (%d bytes, want %d)", v.name, len(it.Data), len(v.data))
				}
			}
		})
	}
}
