package iso9660

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/netvet/netvet/internal/firmware"
	"github.com/netvet/netvet/internal/firmware/fwtest"
)

func loadGz(t testing.TB, name string) []byte {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func bigConf() string {
	var b strings.Builder
	for i := 0; i < 400; i++ {
		fmt.Fprintf(&b, "iso line %04d\n", i)
	}
	return b.String()
}

var fixtureNames = []string{"rr.iso.gz", "xorriso.iso.gz", "joliet.iso.gz", "plain.iso.gz"}

const longName = "a_rather_long_file_name_that_needs_rock_ridge_or_joliet_names.txt"

func TestExtractRockRidge(t *testing.T) {
	longTarget := strings.Repeat("component/", 30) + "end"
	for _, name := range []string{"rr.iso.gz", "xorriso.iso.gz"} {
		t.Run(name, func(t *testing.T) {
			img := loadGz(t, name)
			s, n, err := fwtest.Run(t.Context(), New(), img, 1<<20)
			if err != nil {
				t.Fatal(err)
			}
			if n != int64(len(img)) {
				t.Errorf("length %d, want %d", n, len(img))
			}
			for _, f := range s.Failed {
				t.Errorf("failed %q: %v", f.Path, f.Err)
			}
			files := map[string]string{
				"hello.txt":                  "hello, iso\n",
				"etc/big.conf":               bigConf(),
				"bin/run.sh":                 "#!/bin/sh\n",
				"etc/owned":                  "owned\n",
				"etc/" + longName:            "long name\n",
				"a/b/c/d/e/f/g/h/i/deep.txt": "deep\n",
			}
			for p, want := range files {
				it, ok := s.Get(p)
				if !ok || it.Type != firmware.TypeFile || string(it.Data) != want {
					t.Errorf("%s: %+v %q", p, it.Entry, it.Data)
				}
			}
			checks := []struct {
				path     string
				typ      firmware.EntryType
				mode     fs.FileMode
				uid, gid int64
				link     string
				maj, min uint32
			}{
				{"etc", firmware.TypeDir, 0o755, 0, 0, "", 0, 0},
				{"bin/run.sh", firmware.TypeFile, 0o755, 0, 0, "", 0, 0},
				{"bin/suid", firmware.TypeFile, 0o755 | fs.ModeSetuid, 0, 0, "", 0, 0},
				{"etc/owned", firmware.TypeFile, 0o644, 1234, 70000, "", 0, 0},
				{"etc/hello.hard", firmware.TypeHardlink, 0o644, 0, 0, "hello.txt", 0, 0},
				{"etc/rel", firmware.TypeSymlink, 0o777, 0, 0, "../hello.txt", 0, 0},
				{"etc/abs", firmware.TypeSymlink, 0o777, 0, 0, "/usr/lib/very/long/absolute/target", 0, 0},
				{"etc/longlink", firmware.TypeSymlink, 0o777, 0, 0, longTarget, 0, 0},
				{"etc/console", firmware.TypeCharDevice, 0o644, 0, 0, "", 5, 1},
				{"etc/mtd0", firmware.TypeBlockDevice, 0o644, 0, 0, "", 31, 0},
				{"etc/fifo", firmware.TypeFIFO, 0o644, 0, 0, "", 0, 0},
			}
			for _, c := range checks {
				it, ok := s.Get(c.path)
				if !ok {
					t.Errorf("%s missing", c.path)
					continue
				}
				e := it.Entry
				if e.Type != c.typ || e.Mode != c.mode || e.UID != c.uid || e.GID != c.gid || e.LinkTarget != c.link || e.DevMajor != c.maj || e.DevMinor != c.min {
					t.Errorf("%s: got %v %v %d:%d %q %d,%d", c.path, e.Type, e.Mode, e.UID, e.GID, e.LinkTarget, e.DevMajor, e.DevMinor)
				}
			}
			// The relocated directory appears at its original place only.
			for _, p := range s.Paths() {
				if strings.HasPrefix(p, "rr_moved/") {
					t.Errorf("%s: relocated directory put twice", p)
				}
			}
			if it, _ := s.Get("hello.txt"); !it.ModTime.Equal(time.Unix(1700000000, 0)) {
				t.Errorf("mtime %v", it.ModTime)
			}
			seen := map[string]bool{}
			for _, it := range s.Items {
				if i := strings.LastIndex(it.Path, "/"); i > 0 && !seen[it.Path[:i]] {
					t.Errorf("%s put before its directory", it.Path)
				}
				seen[it.Path] = true
			}
		})
	}
}

func TestExtractJolietAndPlain(t *testing.T) {
	cases := []struct {
		fixture string
		files   map[string]string
	}{
		{"joliet.iso.gz", map[string]string{
			"hello.txt":            "hello, iso\n",
			"etc/big.conf":         bigConf(),
			"etc/" + longName[:64]: "long name\n", // Joliet keeps 64 characters
			"etc/hello.hard":       "hello, iso\n",
		}},
		{"plain.iso.gz", map[string]string{
			"HELLO.TXT":   "hello, iso\n",
			"ETC/BIG.CON": bigConf(),
			"BIN/RUN.SH":  "#!/bin/sh\n",
		}},
	}
	for _, c := range cases {
		t.Run(c.fixture, func(t *testing.T) {
			img := loadGz(t, c.fixture)
			s, _, err := fwtest.Run(t.Context(), New(), img, 1<<20)
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range s.Failed {
				t.Errorf("failed %q: %v", f.Path, f.Err)
			}
			for p, want := range c.files {
				it, ok := s.Get(p)
				if !ok || string(it.Data) != want {
					t.Errorf("%s: %v %q (have %v)", p, ok, it.Data, s.Paths())
				}
			}
		})
	}
}

func TestIdentify(t *testing.T) {
	img := loadGz(t, "rr.iso.gz")
	bad := bytes.Clone(img)
	binary.BigEndian.PutUint32(bad[16*2048+84:], 1) // volume size halves disagree
	cases := []struct {
		name string
		b    []byte
		want bool
	}{
		{"rr", img, true},
		{"empty", nil, false},
		{"short", img[:16*2048+100], false},
		{"both-endian mismatch", bad, false},
		{"zeros", make([]byte, 40000), false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := New().Identify(bytes.NewReader(c.b), int64(len(c.b))); got != c.want {
				t.Errorf("Identify = %v, want %v", got, c.want)
			}
		})
	}
}

// findRecord returns the offset of the directory record whose ISO name
// starts with name.
func findRecord(t *testing.T, img []byte, name string) int {
	t.Helper()
	for off := 17 * 2048; off+34 < len(img); off++ {
		nl := int(img[off+32])
		rl := int(img[off])
		if rl >= 34 && nl >= len(name) && off+33+nl <= len(img) && string(img[off+33:off+33+len(name)]) == name && 33+nl <= rl {
			if _, ok := both32(img[off+2:]); ok {
				return off
			}
		}
	}
	t.Fatalf("record %s not found", name)
	return 0
}

func setBoth32(b []byte, off int, v uint32) {
	binary.LittleEndian.PutUint32(b[off:], v)
	binary.BigEndian.PutUint32(b[off+4:], v)
}

func failedWith(s *fwtest.MemSink, want error) bool {
	for _, f := range s.Failed {
		if errors.Is(f.Err, want) {
			return true
		}
	}
	return false
}

func TestMultiExtent(t *testing.T) {
	// Mark the plain image's BIG.CONF record as a non-final extent: the
	// next record (HELLO.TXT in ETC? no: the next one in ETC) then
	// completes the same file, so the file's content is both extents.
	img := loadGz(t, "plain.iso.gz")
	b := bytes.Clone(img)
	off := findRecord(t, b, "BIG.CON;1")
	next := off + int(b[off])
	nextName := string(b[next+33 : next+33+int(b[next+32])])
	b[off+25] |= 0x80
	s, _, err := fwtest.Run(t.Context(), New(), b, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	name := "ETC/" + strings.TrimSuffix(strings.TrimSuffix(nextName, ";1"), ".")
	it, ok := s.Get(name)
	if !ok || !strings.HasPrefix(string(it.Data), bigConf()) {
		t.Fatalf("%s: %v %d bytes", name, ok, len(it.Data))
	}
	if _, ok := s.Get("ETC/BIG.CON"); ok {
		t.Error("non-final extent put as its own file")
	}
}

func TestHostile(t *testing.T) {
	img := loadGz(t, "rr.iso.gz")
	t.Run("truncated", func(t *testing.T) {
		for _, n := range []int{16*2048 + 2048, 20 * 2048, 30 * 2048, 50 * 2048} {
			b := img[:n]
			s := fwtest.NewMemSink(1 << 20)
			_, err := New().Extract(t.Context(), bytes.NewReader(b), int64(len(b)), s)
			if err == nil && len(s.Failed) == 0 {
				t.Errorf("%d bytes: no error and nothing failed", n)
			}
		}
	})
	t.Run("size past EOF", func(t *testing.T) {
		b := bytes.Clone(img)
		off := findRecord(t, b, "BIG.CON")
		setBoth32(b, off+10, 0x7fffffff)
		s, _, err := fwtest.Run(t.Context(), New(), b, 1<<20)
		if err != nil {
			t.Fatal(err)
		}
		if !failedWith(s, ErrCorrupt) {
			t.Error("not reported")
		}
	})
	t.Run("directory loop", func(t *testing.T) {
		// init.d's record points at the root directory's extent.
		b := bytes.Clone(img)
		off := findRecord(t, b, "INIT.D")
		setBoth32(b, off+2, 28)
		s, _, err := fwtest.Run(t.Context(), New(), b, 1<<20)
		if err != nil {
			t.Fatal(err)
		}
		if !failedWith(s, ErrLoop) {
			t.Error("loop not reported")
		}
	})
	t.Run("continuation loop", func(t *testing.T) {
		// Give hello.txt a CE entry whose area is its own directory block,
		// which again holds the same CE entry.
		b := bytes.Clone(img)
		off := findRecord(t, b, "HELLO.TXT")
		rl := int(b[off])
		nl := int(b[off+32])
		su := off + 33 + nl
		if nl%2 == 0 {
			su++
		}
		if su+28 > off+rl {
			t.Skip("no room for a CE entry")
		}
		blk := off / 2048
		ce := []byte{'C', 'E', 28, 1}
		ce = binary.LittleEndian.AppendUint32(ce, uint32(blk))
		ce = binary.BigEndian.AppendUint32(ce, uint32(blk))
		ce = binary.LittleEndian.AppendUint32(ce, uint32(su%2048))
		ce = binary.BigEndian.AppendUint32(ce, uint32(su%2048))
		ce = binary.LittleEndian.AppendUint32(ce, 28)
		ce = binary.BigEndian.AppendUint32(ce, 28)
		copy(b[su:], ce)
		s, _, err := fwtest.Run(t.Context(), New(), b, 1<<20)
		if err != nil {
			t.Fatal(err)
		}
		if !failedWith(s, ErrLoop) {
			t.Error("CE loop not reported")
		}
	})
}

func TestCancel(t *testing.T) {
	img := loadGz(t, "rr.iso.gz")
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := New().Extract(ctx, bytes.NewReader(img), int64(len(img)), fwtest.NewMemSink(1<<20)); !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v", err)
	}
}

func FuzzExtract(f *testing.F) {
	for _, n := range fixtureNames {
		img := loadGz(f, n)
		// The data after the directories is mostly zeros: keep seeds small.
		if len(img) > 80<<10 {
			img = img[:80<<10]
		}
		f.Add(img)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		fwtest.Fuzz(ctx, New(), b)
	})
}
