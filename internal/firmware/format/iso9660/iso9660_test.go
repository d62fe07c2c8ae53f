package iso9660

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io/fs"
	"strings"
	"testing"
	"time"

	"github.com/netvet/netvet/internal/firmware"
	"github.com/netvet/netvet/internal/firmware/fwtest"
)

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
			img := fwtest.Fixture(t, name)
			s, n, err := fwtest.Run(t.Context(), New(), img, 1<<20)
			if err != nil {
				t.Fatal(err)
			}
			if n != int64(len(img)) {
				t.Errorf("length %d, want %d", n, len(img))
			}
			fwtest.NoFailures(t, s)
			file := func(data string, mode fs.FileMode) fwtest.Want {
				return fwtest.Want{Type: firmware.TypeFile, Mode: mode, Data: data}
			}
			fwtest.CheckEntries(t, s, map[string]fwtest.Want{
				"hello.txt":                  {Type: firmware.TypeFile, Mode: 0o644, Data: "hello, iso\n", ModTime: time.Unix(1700000000, 0)},
				"etc/big.conf":               file(bigConf(), 0o644),
				"bin/run.sh":                 file("#!/bin/sh\n", 0o755),
				"bin/suid":                   file("suid\n", 0o755|fs.ModeSetuid),
				"etc/owned":                  {Type: firmware.TypeFile, Mode: 0o644, UID: 1234, GID: 70000, Data: "owned\n"},
				"etc/" + longName:            file("long name\n", 0o644),
				"a/b/c/d/e/f/g/h/i/deep.txt": file("deep\n", 0o644),
				"etc":                        {Type: firmware.TypeDir, Mode: 0o755},
				"etc/hello.hard":             {Type: firmware.TypeHardlink, Mode: 0o644, Link: "hello.txt"},
				"etc/rel":                    {Type: firmware.TypeSymlink, Mode: 0o777, Link: "../hello.txt"},
				"etc/abs":                    {Type: firmware.TypeSymlink, Mode: 0o777, Link: "/usr/lib/very/long/absolute/target"},
				"etc/longlink":               {Type: firmware.TypeSymlink, Mode: 0o777, Link: longTarget},
				"etc/console":                {Type: firmware.TypeCharDevice, Mode: 0o644, Major: 5, Minor: 1},
				"etc/mtd0":                   {Type: firmware.TypeBlockDevice, Mode: 0o644, Major: 31},
				"etc/fifo":                   {Type: firmware.TypeFIFO, Mode: 0o644},
			})
			// The relocated directory appears at its original place only.
			for _, p := range s.Paths() {
				if strings.HasPrefix(p, "rr_moved/") {
					t.Errorf("%s: relocated directory put twice", p)
				}
			}
			fwtest.CheckOrder(t, s)
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
			img := fwtest.Fixture(t, c.fixture)
			s, _, err := fwtest.Run(t.Context(), New(), img, 1<<20)
			if err != nil {
				t.Fatal(err)
			}
			fwtest.NoFailures(t, s)
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
	img := fwtest.Fixture(t, "rr.iso.gz")
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

func TestMultiExtent(t *testing.T) {
	// Mark the plain image's BIG.CONF record as a non-final extent: the
	// next record (HELLO.TXT in ETC? no: the next one in ETC) then
	// completes the same file, so the file's content is both extents.
	img := fwtest.Fixture(t, "plain.iso.gz")
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
	img := fwtest.Fixture(t, "rr.iso.gz")
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
		if !fwtest.FailedWith(s, ErrCorrupt) {
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
		if !fwtest.FailedWith(s, ErrLoop) {
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
		if !fwtest.FailedWith(s, ErrLoop) {
			t.Error("CE loop not reported")
		}
	})
}

func TestCancel(t *testing.T) {
	fwtest.CheckCancel(t, New(), fwtest.Fixture(t, "rr.iso.gz"))
}

func FuzzExtract(f *testing.F) {
	seeds := fwtest.Fixtures(f, fixtureNames...)
	for i, img := range seeds {
		// The data after the directories is mostly zeros: keep seeds small.
		seeds[i] = img[:min(len(img), 80<<10)]
	}
	fwtest.FuzzExtractWithin(f, 10*time.Second, New, seeds...)
}
