// Hostile names must reach the sink even when archive/zip flags them.
//go:debug zipinsecurepath=0

package zip

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"errors"
	"io/fs"
	"testing"
	"time"

	"github.com/netvet/netvet/internal/firmware"
	"github.com/netvet/netvet/internal/firmware/fwtest"
)

func numbers() string {
	var b bytes.Buffer
	for i := 1; i <= 2000; i++ {
		b.WriteString(itoa(i))
		b.WriteByte('\n')
	}
	return b.String()
}

func itoa(i int) string {
	if i == 0 {
		return "0"
	}
	var s []byte
	for ; i > 0; i /= 10 {
		s = append([]byte{byte('0' + i%10)}, s...)
	}
	return string(s)
}

func TestExtract(t *testing.T) {
	full := map[string]fwtest.Want{
		"dir":             {Type: firmware.TypeDir, Mode: 0o755},
		"dir/sub":         {Type: firmware.TypeDir, Mode: 0o755},
		"dir/file.txt":    {Type: firmware.TypeFile, Mode: 0o644, UID: 1000, GID: 2000, Data: "hello zip\n"},
		"dir/suid":        {Type: firmware.TypeFile, Mode: 0o755 | fs.ModeSetuid, Data: "#!/bin/sh\n"},
		"dir/link":        {Type: firmware.TypeSymlink, Mode: 0o777, Link: "file.txt"},
		"dir/numbers.txt": {Type: firmware.TypeFile, Mode: 0o644, Data: numbers()},
	}
	noOwners := map[string]fwtest.Want{}
	for k, v := range full {
		v.UID, v.GID = 0, 0
		noOwners[k] = v
	}
	cases := []struct {
		file  string
		wants map[string]fwtest.Want
	}{
		{"unix.zip", full},
		{"zip64.zip", full},
		{"plain.zip", noOwners},
		{"stored.zip", map[string]fwtest.Want{"dir/numbers.txt": {Type: firmware.TypeFile, Mode: 0o644, Data: numbers()}}},
	}
	for _, tc := range cases {
		t.Run(tc.file, func(t *testing.T) {
			b := fwtest.Fixture(t, tc.file)
			s, n, err := fwtest.Run(t.Context(), New(), append(append([]byte(nil), b...), "TRAILER"...), 1<<24)
			if err != nil {
				t.Fatal(err)
			}
			if n != int64(len(b)) {
				t.Errorf("length %d, want %d", n, len(b))
			}
			fwtest.NoFailures(t, s)
			fwtest.CheckTree(t, s, tc.wants)
			fwtest.CheckModTime(t, s, time.Unix(1700000000, 0))
		})
	}
}

func TestEncrypted(t *testing.T) {
	s, _, err := fwtest.Run(t.Context(), New(), fwtest.Fixture(t, "encrypted.zip"), 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Failed) != 1 || !errors.Is(s.Failed[0].Err, ErrEncrypted) || len(s.Items) != 0 {
		t.Fatalf("items %q failed %+v", s.Paths(), s.Failed)
	}
}

type zent struct {
	name    string
	mode    fs.FileMode
	data    []byte
	deflate bool
}

func build(t testing.TB, ents []zent) []byte {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, e := range ents {
		h := &zip.FileHeader{Name: e.name, Method: zip.Store}
		if e.deflate {
			h.Method = zip.Deflate
		}
		h.SetMode(e.mode)
		w, err := zw.CreateHeader(h)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(e.data)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestHostileNames(t *testing.T) {
	ents := []zent{
		{name: "../../evil", mode: 0o644, data: []byte("x")},
		{name: "/etc/abs", mode: 0o644, data: []byte("y")},
		{name: "lnk", mode: fs.ModeSymlink | 0o777, data: []byte("/etc")},
		{name: "lnk/passwd", mode: 0o644, data: []byte("root::0:0::/:/bin/sh\n")},
	}
	s, _, err := fwtest.Run(t.Context(), New(), build(t, ents), 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Items) != len(ents) {
		t.Fatalf("items %q failed %v", s.Paths(), s.Failed)
	}
	for i, e := range ents {
		if s.Items[i].Path != e.name {
			t.Errorf("entry %d: %q, want %q as stored", i, s.Items[i].Path, e.name)
		}
	}
	if it := s.Items[2]; it.Type != firmware.TypeSymlink || it.LinkTarget != "/etc" {
		t.Errorf("symlink: %+v", it.Entry)
	}
}

// overlapped duplicates the one central directory record of b under other
// names, so every entry points at the same local header and data.
func overlapped(t testing.TB, b []byte, copies int) []byte {
	p := bytes.LastIndex(b, eocdMagic)
	cdSize := int(binary.LittleEndian.Uint32(b[p+12:]))
	cdOff := int(binary.LittleEndian.Uint32(b[p+16:]))
	rec := b[cdOff : cdOff+cdSize]
	out := append([]byte(nil), b[:cdOff]...)
	for i := 0; i < copies; i++ {
		r := append([]byte(nil), rec...)
		r[46] = byte('a' + i%26) // first byte of the name
		out = append(out, r...)
	}
	end := append([]byte(nil), b[p:p+22]...)
	binary.LittleEndian.PutUint16(end[8:], uint16(copies))
	binary.LittleEndian.PutUint16(end[10:], uint16(copies))
	binary.LittleEndian.PutUint32(end[12:], uint32(copies*cdSize))
	return append(out, end...)
}

func TestOverlap(t *testing.T) {
	one := build(t, []zent{{name: "bomb", mode: 0o644, data: make([]byte, 1<<20), deflate: true}})
	b := overlapped(t, one, 20)
	s, _, err := fwtest.Run(t.Context(), New(), b, 4<<20)
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Items) != 1 || len(s.Failed) != 19 {
		t.Fatalf("%d items, %d failed; want 1 and 19", len(s.Items), len(s.Failed))
	}
	for _, f := range s.Failed {
		if !errors.Is(f.Err, ErrOverlap) {
			t.Errorf("%s: %v", f.Path, f.Err)
		}
	}
}

// TestNestedBomb: each level is small and bounded; the level with the
// zeros stops at the sink's budget.
func TestNestedBomb(t *testing.T) {
	var inner []zent
	for i := 0; i < 16; i++ {
		inner = append(inner, zent{name: "z" + itoa(i), mode: 0o644, data: make([]byte, 1<<20), deflate: true})
	}
	in := build(t, inner)
	var outer []zent
	for i := 0; i < 16; i++ {
		outer = append(outer, zent{name: "l" + itoa(i) + ".zip", mode: 0o644, data: in, deflate: true})
	}
	out := build(t, outer)
	s, _, err := fwtest.Run(t.Context(), New(), out, 8<<20)
	if err != nil {
		t.Fatalf("outer level: %v", err)
	}
	if len(s.Items) != 16 || !bytes.Equal(s.Items[0].Data, in) {
		t.Fatalf("outer level: %d items", len(s.Items))
	}
	_, _, err = fwtest.Run(t.Context(), New(), s.Items[0].Data, 4<<20)
	if !errors.Is(err, firmware.ErrLimit) {
		t.Fatalf("inner level: err = %v, want ErrLimit", err)
	}
}

func TestTruncated(t *testing.T) {
	u := fwtest.Fixture(t, "unix.zip")
	beyond := append([]byte(nil), u...)
	p := bytes.LastIndex(beyond, eocdMagic)
	binary.LittleEndian.PutUint32(beyond[p+16:], 0x7fff0000) // central directory offset past the end
	cases := map[string][]byte{
		"no end record":     u[:len(u)-10],
		"cut before the cd": u[:len(u)/2],
		"cd beyond the end": beyond,
	}
	for name, b := range cases {
		t.Run(name, func(t *testing.T) {
			_, n, err := fwtest.Run(t.Context(), New(), b, 1<<20)
			if err == nil {
				t.Fatal("no error")
			}
			if n < 0 || n > int64(len(b)) {
				t.Fatalf("length %d", n)
			}
		})
	}
	// Local data cut out from under a valid central directory.
	b := append([]byte(nil), u...)
	cd := int(binary.LittleEndian.Uint32(b[p+16:]))
	for i := 200; i < cd; i++ {
		b[i] = 0
	}
	s, _, err := fwtest.Run(t.Context(), New(), b, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Failed) == 0 {
		t.Errorf("no entry failed over zeroed local data")
	}
}

func FuzzExtract(f *testing.F) {
	for _, name := range []string{"unix.zip", "plain.zip", "zip64.zip", "encrypted.zip", "stored.zip"} {
		f.Add(fwtest.Fixture(f, name))
	}
	f.Add(overlapped(f, build(f, []zent{{name: "a", mode: 0o644, data: []byte("aaaaaaaaaaaaaaaaaaaa"), deflate: true}}), 3))
	f.Fuzz(func(t *testing.T, b []byte) {
		fwtest.Fuzz(t.Context(), New(), b)
	})
}
