package cpio

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"testing"
	"time"

	"github.com/netvet/netvet/internal/firmware"
	"github.com/netvet/netvet/internal/firmware/fwtest"
)

var treeWant = map[string]fwtest.Want{
	"dir":          {Type: firmware.TypeDir, Mode: 0o755},
	"dir/file.txt": {Type: firmware.TypeFile, Mode: 0o644, UID: 1000, GID: 2000, Data: "hello cpio\n"},
	"dir/hard":     {Type: firmware.TypeHardlink, Mode: 0o644, UID: 1000, GID: 2000, Link: "dir/file.txt"},
	"dir/suid":     {Type: firmware.TypeFile, Mode: 0o755 | fs.ModeSetuid, Data: "#!/bin/sh\n"},
	"dir/tmp":      {Type: firmware.TypeDir, Mode: 0o777 | fs.ModeSticky},
	"dir/link":     {Type: firmware.TypeSymlink, Mode: 0o777, Link: "file.txt"},
	"dir/null":     {Type: firmware.TypeCharDevice, Mode: 0o666, Major: 1, Minor: 3},
	"dir/sda":      {Type: firmware.TypeBlockDevice, Mode: 0o660, Major: 8, Minor: 0},
	"dir/fifo":     {Type: firmware.TypeFIFO, Mode: 0o644},
}

func TestExtract(t *testing.T) {
	le := fwtest.Fixture(t, "bin.cpio")
	for _, name := range []string{"newc.cpio", "crc.cpio", "odc.cpio", "bin.cpio", "bin-be"} {
		t.Run(name, func(t *testing.T) {
			var b []byte
			if name == "bin-be" {
				b = swapBin(t, le)
			} else {
				b = fwtest.Fixture(t, name)
			}
			s, n, err := fwtest.Run(t.Context(), New(), b, 1<<20)
			if err != nil {
				t.Fatal(err)
			}
			if n <= 0 || n > int64(len(b)) || len(b)-int(n) >= 512 {
				t.Errorf("length %d of %d", n, len(b))
			}
			fwtest.NoFailures(t, s)
			fwtest.CheckTree(t, s, treeWant)
			fwtest.CheckModTime(t, s, time.Unix(1700000000, 0))
		})
	}
}

// swapBin turns a little-endian old binary archive into a big-endian one.
func swapBin(t testing.TB, b []byte) []byte {
	out := append([]byte(nil), b...)
	for off := 0; off+26 <= len(out); {
		if out[off] != 0xc7 || out[off+1] != 0x71 {
			t.Fatalf("no magic at %d", off)
		}
		nameSize := int(binary.LittleEndian.Uint16(out[off+20:]))
		size := int(binary.LittleEndian.Uint16(out[off+22:]))<<16 | int(binary.LittleEndian.Uint16(out[off+24:]))
		name := string(out[off+26 : off+26+nameSize-1])
		for i := off; i < off+26; i += 2 {
			out[i], out[i+1] = out[i+1], out[i]
		}
		off += 26 + nameSize
		off += off & 1
		off += size + size&1
		if name == "TRAILER!!!" {
			break
		}
	}
	return out
}

type nent struct {
	name  string
	mode  uint32
	ino   uint32
	nlink uint32
	data  string
}

// buildNewc writes a newc archive (or crc with a bad checksum when badSum).
func buildNewc(ents []nent, badSum bool) []byte {
	var b bytes.Buffer
	ents = append(ents, nent{name: "TRAILER!!!", nlink: 1})
	for _, e := range ents {
		magic := "070701"
		var sum uint32
		if badSum {
			magic = "070702"
			for _, c := range []byte(e.data) {
				sum += uint32(c)
			}
			sum++
		}
		nlink := max(e.nlink, 1)
		fmt.Fprintf(&b, "%s%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x", magic,
			e.ino, e.mode, 0, 0, nlink, 1700000000, len(e.data), 0, 1, 0, 0, len(e.name)+1, sum)
		b.WriteString(e.name)
		b.WriteByte(0)
		for b.Len()%4 != 0 {
			b.WriteByte(0)
		}
		b.WriteString(e.data)
		for b.Len()%4 != 0 {
			b.WriteByte(0)
		}
	}
	return b.Bytes()
}

func TestHostile(t *testing.T) {
	ents := []nent{
		{name: "../../evil", mode: 0o100644, ino: 1, data: "x"},
		{name: "/etc/abs", mode: 0o100644, ino: 2, data: "y"},
		{name: "lnk", mode: 0o120777, ino: 3, data: "/etc"},
		{name: "lnk/passwd", mode: 0o100644, ino: 4, data: "root::0:0::/:/bin/sh\n"},
		{name: "/etc/passwd", mode: 0o100644, ino: 5, nlink: 2},
		{name: "innocent", mode: 0o100644, ino: 5, nlink: 2, data: "owned\n"},
	}
	s, _, err := fwtest.Run(t.Context(), New(), buildNewc(ents, false), 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"../../evil", "/etc/abs", "lnk", "lnk/passwd", "/etc/passwd", "innocent"} {
		if _, ok := s.Get(p); !ok {
			t.Errorf("%q not passed to the sink as stored; got %q", p, s.Paths())
		}
	}
	if it, _ := s.Get("lnk"); it.Type != firmware.TypeSymlink || it.LinkTarget != "/etc" {
		t.Errorf("lnk: %+v", it.Entry)
	}
	if it, _ := s.Get("/etc/passwd"); it.Type != firmware.TypeFile || string(it.Data) != "owned\n" {
		t.Errorf("/etc/passwd: %+v", it.Entry)
	}
	if it, _ := s.Get("innocent"); it.Type != firmware.TypeHardlink || it.LinkTarget != "/etc/passwd" {
		t.Errorf("innocent: %+v", it.Entry)
	}
}

func TestChecksum(t *testing.T) {
	s, _, err := fwtest.Run(t.Context(), New(), buildNewc([]nent{{name: "f", mode: 0o100644, ino: 1, data: "abc"}}, true), 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Failed) != 1 || !errors.Is(s.Failed[0].Err, ErrChecksum) {
		t.Fatalf("failed %+v", s.Failed)
	}
	// The untouched fixture passes.
	s, _, err = fwtest.Run(t.Context(), New(), fwtest.Fixture(t, "crc.cpio"), 1<<20)
	if err != nil || len(s.Failed) != 0 {
		t.Fatalf("err %v failed %+v", err, s.Failed)
	}
}

func TestTruncated(t *testing.T) {
	b := fwtest.Fixture(t, "newc.cpio")
	beyond := buildNewc([]nent{{name: "f", mode: 0o100644, ino: 1, data: "abc"}}, false)
	copy(beyond[54:62], "7fffffff") // filesize
	bigName := buildNewc([]nent{{name: "f", mode: 0o100644, ino: 1, data: "abc"}}, false)
	copy(bigName[94:102], "7fffffff") // namesize
	cases := map[string][]byte{
		"cut in header":   b[:300],
		"cut in data":     b[:len(fwtest.Fixture(t, "newc.cpio"))/3],
		"no trailer":      b[:bytes.Index(b, []byte("TRAILER!!!"))-110],
		"size beyond end": beyond,
		"name size huge":  bigName,
	}
	for name, in := range cases {
		t.Run(name, func(t *testing.T) {
			s := fwtest.NewMemSink(1 << 20)
			n, err := New().Extract(t.Context(), bytes.NewReader(in), int64(len(in)), s)
			if err == nil {
				t.Fatalf("no error; items %q", s.Paths())
			}
			if errors.Is(err, firmware.ErrLimit) {
				t.Fatal("a header size was trusted")
			}
			if n < 0 || n > int64(len(in)) {
				t.Fatalf("length %d", n)
			}
		})
	}
}

func TestIdentifyBinStrict(t *testing.T) {
	b := []byte{0xc7, 0x71, 'h', 'e', 'l', 'l', 'o', ' ', 'w', 'o', 'r', 'l', 'd', ' ', 't', 'e', 'x', 't', ' ', 'a', 'f', 't', 'e', 'r', ' ', 'm', 'a', 'g', 'i', 'c', ' ', '.', '.', '.'}
	if New().Identify(bytes.NewReader(b), int64(len(b))) {
		t.Error("text after a binary magic identified")
	}
}

func FuzzExtract(f *testing.F) {
	for _, name := range []string{"newc.cpio", "crc.cpio", "odc.cpio", "bin.cpio"} {
		f.Add(fwtest.Fixture(f, name))
	}
	f.Add(buildNewc([]nent{{name: "a", mode: 0o100644, ino: 1, nlink: 2}, {name: "b", mode: 0o100644, ino: 1, nlink: 2, data: "x"}}, true))
	f.Fuzz(func(t *testing.T, b []byte) {
		fwtest.Fuzz(t.Context(), New(), b)
	})
}
