// The tests run with tarinsecurepath=0 so archive/tar reports hostile
// names; they must still reach the sink as stored.
//go:debug tarinsecurepath=0

package tar

import (
	"archive/tar"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"testing"
	"time"

	"github.com/netvet/netvet/internal/firmware"
	"github.com/netvet/netvet/internal/firmware/fwtest"
)

var deep = "dir/" + strings.Repeat("a", 90) + "/" + strings.Repeat("b", 30)
var long = "dir/" + strings.Repeat("l", 150)

var ustarWant = map[string]fwtest.Want{
	"dir":                              {Type: firmware.TypeDir, Mode: 0o755},
	"dir/file.txt":                     {Type: firmware.TypeFile, Mode: 0o644, UID: 1000, GID: 2000, Data: "hello tar\n"},
	"dir/suid":                         {Type: firmware.TypeFile, Mode: 0o755 | fs.ModeSetuid, Data: "#!/bin/sh\n"},
	"dir/tmp":                          {Type: firmware.TypeDir, Mode: 0o777 | fs.ModeSticky},
	"dir/link":                         {Type: firmware.TypeSymlink, Mode: 0o777, Link: "file.txt"},
	"dir/hard":                         {Type: firmware.TypeHardlink, Mode: 0o644, UID: 1000, GID: 2000, Link: "dir/file.txt"},
	"dir/null":                         {Type: firmware.TypeCharDevice, Mode: 0o666, Major: 1, Minor: 3},
	"dir/sda":                          {Type: firmware.TypeBlockDevice, Mode: 0o660, Major: 8, Minor: 0},
	"dir/fifo":                         {Type: firmware.TypeFIFO, Mode: 0o644},
	deep:                               {Type: firmware.TypeFile, Mode: 0o644, Data: "deep\n"},
	strings.TrimSuffix(deep[:95], "/"): {Type: firmware.TypeDir, Mode: 0o755},
}

var gnuWant = map[string]fwtest.Want{
	"dir":          {Type: firmware.TypeDir, Mode: 0o755},
	"dir/file.txt": {Type: firmware.TypeFile, Mode: 0o644, UID: 1000, GID: 2000, Data: "hello tar\n"},
	long:           {Type: firmware.TypeFile, Mode: 0o644, Data: "long\n"},
	"dir/longlink": {Type: firmware.TypeSymlink, Mode: 0o777, Link: "../" + long[4:] + "/../file.txt"},
	"dir/sparse":   {Type: firmware.TypeFile, Mode: 0o644, Data: sparseContent()},
}

// sparseContent is the content of dir/sparse: 1 MiB, all zeros but
// "data" at 512 KiB.
func sparseContent() string {
	b := make([]byte, 1<<20)
	copy(b[512<<10:], "data")
	return string(b)
}

func check(t *testing.T, s *fwtest.MemSink, wants map[string]fwtest.Want) {
	t.Helper()
	fwtest.NoFailures(t, s)
	fwtest.CheckTree(t, s, wants)
	fwtest.CheckModTime(t, s, time.Unix(1700000000, 0))
}

func TestExtract(t *testing.T) {
	cases := []struct {
		file  string
		wants map[string]fwtest.Want
	}{
		{"ustar.tar", ustarWant},
		{"gnu.tar", gnuWant},
		{"pax.tar", gnuWant},
		{"v7.tar", map[string]fwtest.Want{
			"dir/file.txt": {Type: firmware.TypeFile, Mode: 0o644, UID: 1000, GID: 2000, Data: "hello tar\n"},
			"dir/link":     {Type: firmware.TypeSymlink, Mode: 0o777, Link: "file.txt"},
		}},
	}
	for _, tc := range cases {
		t.Run(tc.file, func(t *testing.T) {
			b := fwtest.Fixture(t, tc.file)
			s, n, err := fwtest.Run(t.Context(), New(), b, 1<<24)
			if err != nil {
				t.Fatal(err)
			}
			if n <= 0 || n > int64(len(b)) || n%512 != 0 {
				t.Errorf("length %d", n)
			}
			check(t, s, tc.wants)
		})
	}
}

// TestLength: the archive ends after its two zero blocks; what follows is
// another chunk.
func TestLength(t *testing.T) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	tw.WriteHeader(&tar.Header{Name: "a", Mode: 0o644, Size: 3, Typeflag: tar.TypeReg, Format: tar.FormatUSTAR})
	tw.Write([]byte("abc"))
	tw.Close()
	want := int64(buf.Len())
	b := append(buf.Bytes(), "trailing firmware bytes"...)
	_, n, err := fwtest.Run(t.Context(), New(), b, 1<<20)
	if err != nil || n != want {
		t.Fatalf("n = %d err = %v, want %d", n, err, want)
	}
}

type hent struct {
	name, link string
	typ        byte
	data       string
}

func build(t testing.TB, ents []hent) []byte {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range ents {
		h := &tar.Header{Name: e.name, Linkname: e.link, Typeflag: e.typ, Mode: 0o644, Size: int64(len(e.data)), Format: tar.FormatPAX}
		if e.typ != tar.TypeReg {
			h.Size = 0
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		tw.Write([]byte(e.data))
	}
	tw.Close()
	return buf.Bytes()
}

func TestHostile(t *testing.T) {
	ents := []hent{
		{name: "../../evil", typ: tar.TypeReg, data: "x"},
		{name: "/etc/abs", typ: tar.TypeReg, data: "y"},
		{name: "a/../../../z", typ: tar.TypeReg, data: "z"},
		{name: "lnk", link: "/etc", typ: tar.TypeSymlink},
		{name: "lnk/passwd", typ: tar.TypeReg, data: "root::0:0::/:/bin/sh\n"},
		{name: "hl", link: "/etc/passwd", typ: tar.TypeLink},
	}
	b := build(t, ents)
	s, _, err := fwtest.Run(t.Context(), New(), b, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Items) != len(ents) {
		t.Fatalf("got %q", s.Paths())
	}
	for i, e := range ents {
		it := s.Items[i]
		if it.Path != e.name || it.LinkTarget != e.link || string(it.Data) != e.data {
			t.Errorf("entry %d: got %q -> %q (%q), want %q -> %q as stored", i, it.Path, it.LinkTarget, it.Data, e.name, e.link)
		}
	}
	if s.Items[5].Type != firmware.TypeHardlink {
		t.Errorf("hard link type %v", s.Items[5].Type)
	}
}

func TestTruncated(t *testing.T) {
	gnu := fwtest.Fixture(t, "gnu.tar")
	sizeBeyond := build(t, []hent{{name: "a", typ: tar.TypeReg, data: "abc"}, {name: "b", typ: tar.TypeReg, data: "def"}})
	// Declare 1 GiB for the first file and fix the checksum.
	copy(sizeBeyond[124:136], fmt.Sprintf("%011o\x00", 1<<30))
	fixChecksum(sizeBeyond[:512])
	cases := map[string][]byte{
		"cut in data":      gnu[:512*3+100],
		"cut in padding":   gnu[:512*2+300],
		"cut in header":    gnu[:512*3+300],
		"size beyond end":  sizeBeyond,
		"garbage header 2": append(append([]byte(nil), build(t, []hent{{name: "a", typ: tar.TypeReg, data: "abc"}})[:1024]...), bytes.Repeat([]byte("Z"), 1024)...),
	}
	for name, b := range cases {
		t.Run(name, func(t *testing.T) {
			s, n, err := fwtest.Run(t.Context(), New(), b, 1<<20)
			if err == nil {
				t.Fatalf("no error; items %q", s.Paths())
			}
			if errors.Is(err, firmware.ErrLimit) {
				t.Fatalf("limit error %v: a header size was trusted", err)
			}
			if n < 0 || n > int64(len(b)) {
				t.Fatalf("length %d", n)
			}
		})
	}
}

func fixChecksum(h []byte) {
	copy(h[148:156], "        ")
	var sum int64
	for _, c := range h {
		sum += int64(c)
	}
	copy(h[148:156], fmt.Sprintf("%06o\x00 ", sum))
}

func TestIdentify(t *testing.T) {
	b := append([]byte(nil), fwtest.Fixture(t, "ustar.tar")...)
	if !New().Identify(bytes.NewReader(b), int64(len(b))) {
		t.Fatal("ustar not identified")
	}
	b[0]++
	if New().Identify(bytes.NewReader(b), int64(len(b))) {
		t.Error("bad checksum identified")
	}
	if New().Identify(bytes.NewReader(make([]byte, 1024)), 1024) {
		t.Error("zeros identified")
	}
}

func FuzzExtract(f *testing.F) {
	for _, name := range []string{"ustar.tar", "gnu.tar", "pax.tar", "v7.tar"} {
		b := fwtest.Fixture(f, name)
		f.Add(b[:min(len(b), 8192)])
	}
	f.Add(build(f, []hent{{name: "../x", typ: tar.TypeReg, data: "x"}, {name: "l", link: "/etc", typ: tar.TypeSymlink}}))
	f.Fuzz(func(t *testing.T, b []byte) {
		fwtest.Fuzz(t.Context(), New(), b)
	})
}

// TestPAXOverrides: PAX records replace the ustar fields that cannot hold
// the values (uid and gid past 2^21, names and link targets past 100 bytes).
func TestPAXOverrides(t *testing.T) {
	longName := strings.Repeat("p/", 120) + "file"
	longLink := strings.Repeat("../", 60) + "target"
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	tw.WriteHeader(&tar.Header{Name: longName, Mode: 0o600, Uid: 1 << 22, Gid: 1<<23 + 5, Size: 4, Typeflag: tar.TypeReg, Format: tar.FormatPAX})
	tw.Write([]byte("data"))
	tw.WriteHeader(&tar.Header{Name: "l", Linkname: longLink, Mode: 0o777, Typeflag: tar.TypeSymlink, Format: tar.FormatPAX})
	tw.Close()
	if !bytes.Contains(buf.Bytes(), []byte(" uid=4194304\n")) {
		t.Fatal("writer did not use a PAX uid record")
	}
	s, _, err := fwtest.Run(t.Context(), New(), buf.Bytes(), 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Items) != 2 {
		t.Fatalf("items %q", s.Paths())
	}
	f, l := s.Items[0], s.Items[1]
	if f.Path != longName || f.UID != 1<<22 || f.GID != 1<<23+5 || string(f.Data) != "data" || f.Mode != 0o600 {
		t.Errorf("file: %+v", f.Entry)
	}
	if l.Type != firmware.TypeSymlink || l.LinkTarget != longLink {
		t.Errorf("symlink: %+v", l.Entry)
	}
}
