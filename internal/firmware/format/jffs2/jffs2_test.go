package jffs2

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/zlib"
	"github.com/ulikunitz/xz/lzma"

	"github.com/netvet/netvet/internal/firmware"
	"github.com/netvet/netvet/internal/firmware/fwtest"
)

// bigText is the content make.sh writes to bin/big.txt.
func bigText() []byte {
	var b bytes.Buffer
	for i := 0; i < 800; i++ {
		fmt.Fprintf(&b, "line %d of a compressible text file\n", i)
	}
	return b.Bytes()
}

var fixtureTree = map[string]fwtest.Want{
	"bin":            {Type: firmware.TypeDir, Mode: 0o755},
	"bin/big.txt":    {Type: firmware.TypeFile, Mode: 0o755 | fs.ModeSetuid, UID: 1000, GID: 100, Data: string(bigText())},
	"bin/link":       {Type: firmware.TypeSymlink, Mode: 0o777, Link: "../etc/hello.txt"},
	"bin/noise.bin":  {Type: firmware.TypeFile, Mode: 0o644, Size: 9000},
	"dev":            {Type: firmware.TypeDir, Mode: 0o755},
	"dev/console":    {Type: firmware.TypeCharDevice, Mode: 0o600, GID: 5, Major: 5, Minor: 1},
	"dev/fifo":       {Type: firmware.TypeFIFO, Mode: 0o644, UID: 10, GID: 20},
	"dev/mtdblock0":  {Type: firmware.TypeBlockDevice, Mode: 0o640, GID: 6, Major: 31},
	"empty":          {Type: firmware.TypeDir, Mode: 0o777 | fs.ModeSticky},
	"empty/zero":     {Type: firmware.TypeFile, Mode: 0o644},
	"etc":            {Type: firmware.TypeDir, Mode: 0o755},
	"etc/hard.txt":   {Type: firmware.TypeFile, Mode: 0o644, Data: "hello jffs2\n"},
	"etc/hello.txt":  {Type: firmware.TypeHardlink, Mode: 0o644, Link: "etc/hard.txt"},
	"etc/init.d":     {Type: firmware.TypeDir, Mode: 0o755},
	"etc/init.d/rcS": {Type: firmware.TypeFile, Mode: 0o755, Data: "#!/bin/sh\necho start\n"},
}

// checkTree checks that s holds exactly tree, in a valid order.
func checkTree(t *testing.T, s *fwtest.MemSink, tree map[string]fwtest.Want) {
	t.Helper()
	fwtest.CheckTree(t, s, tree)
	fwtest.CheckOrder(t, s)
}

func TestFixtures(t *testing.T) {
	var noise []byte
	for _, tc := range []struct {
		file string
		end  int64
	}{
		{"le.jffs2", 13700},
		{"be.jffs2", 13700},
		{"rtime.jffs2", 15296},
		{"lzo.jffs2", 15640},
		{"none.jffs2", 40992},
		{"pad.jffs2", 32768},
		{"sum.jffs2", 22336},
		{"xattr.jffs2", 13776},
	} {
		t.Run(tc.file, func(t *testing.T) {
			b := fwtest.Fixture(t, tc.file)
			s, n, err := fwtest.Run(t.Context(), New(), b, 1<<24)
			if err != nil {
				t.Fatal(err)
			}
			if n != tc.end {
				t.Errorf("Extract returned %d, want %d", n, tc.end)
			}
			if len(s.Failed) > 0 {
				t.Errorf("failures: %v", s.Failed[0].Err)
			}
			checkTree(t, s, fixtureTree)
			it, _ := s.Get("bin/noise.bin")
			if noise == nil {
				noise = it.Data
			} else if !bytes.Equal(noise, it.Data) {
				t.Errorf("bin/noise.bin differs from the first fixture")
			}
		})
	}
}

// builder writes synthetic JFFS2 images node by node.
type builder struct {
	bo  binary.ByteOrder
	buf bytes.Buffer
}

func (b *builder) header(typ uint16, totlen int) []byte {
	h := make([]byte, 12)
	b.bo.PutUint16(h, magic)
	b.bo.PutUint16(h[2:], typ)
	b.bo.PutUint32(h[4:], uint32(totlen))
	b.bo.PutUint32(h[8:], mtdCRC(h[:8]))
	return h
}

func (b *builder) align() {
	for b.buf.Len()%4 != 0 {
		b.buf.WriteByte(0xff)
	}
}

func (b *builder) cleanmarker() {
	b.align()
	b.buf.Write(b.header(typeCleanmarker, 12))
}

func (b *builder) dirent(pino, version, ino uint32, dtype uint8, name string) {
	b.align()
	n := make([]byte, direntLen, direntLen+len(name))
	copy(n, b.header(typeDirent, direntLen+len(name)))
	b.bo.PutUint32(n[12:], pino)
	b.bo.PutUint32(n[16:], version)
	b.bo.PutUint32(n[20:], ino)
	n[28] = uint8(len(name))
	n[29] = dtype
	b.bo.PutUint32(n[32:], mtdCRC(n[:32]))
	b.bo.PutUint32(n[36:], mtdCRC([]byte(name)))
	b.buf.Write(append(n, name...))
}

type inodeSpec struct {
	ino, version, mode uint32
	uid, gid           uint16
	isize, off, dsize  uint32
	compr              uint8
	data               []byte // stored (compressed) bytes
}

func (b *builder) inode(s inodeSpec) int {
	b.align()
	pos := b.buf.Len()
	n := make([]byte, inodeLen)
	copy(n, b.header(typeInode, inodeLen+len(s.data)))
	b.bo.PutUint32(n[12:], s.ino)
	b.bo.PutUint32(n[16:], s.version)
	b.bo.PutUint32(n[20:], s.mode)
	b.bo.PutUint16(n[24:], s.uid)
	b.bo.PutUint16(n[26:], s.gid)
	b.bo.PutUint32(n[28:], s.isize)
	b.bo.PutUint32(n[36:], 1700000000)
	b.bo.PutUint32(n[44:], s.off)
	b.bo.PutUint32(n[48:], uint32(len(s.data)))
	b.bo.PutUint32(n[52:], s.dsize)
	n[56] = s.compr
	b.bo.PutUint32(n[60:], mtdCRC(s.data))
	b.bo.PutUint32(n[64:], mtdCRC(n[:60]))
	b.buf.Write(n)
	b.buf.Write(s.data)
	return pos
}

func (b *builder) file(ino, version uint32, isize, off uint32, data string) int {
	return b.inode(inodeSpec{ino: ino, version: version, mode: sIFREG | 0o644, isize: isize, off: off, dsize: uint32(len(data)), data: []byte(data)})
}

func (b *builder) bytes() []byte { b.align(); return b.buf.Bytes() }

func run(t *testing.T, img []byte) (*fwtest.MemSink, int64, error) {
	t.Helper()
	return fwtest.Run(t.Context(), New(), img, 1<<24)
}

func content(t *testing.T, s *fwtest.MemSink, p string) string {
	t.Helper()
	it, ok := s.Get(p)
	if !ok {
		t.Fatalf("%s missing; have %v", p, s.Paths())
	}
	return string(it.Data)
}

func TestVersions(t *testing.T) {
	for _, bo := range []binary.ByteOrder{binary.LittleEndian, binary.BigEndian} {
		t.Run(fmt.Sprint(bo), func(t *testing.T) {
			b := &builder{bo: bo}
			b.cleanmarker()
			b.inode(inodeSpec{ino: 1, version: 1, mode: sIFDIR | 0o755})
			// f: written "aaaaaaaa", then bytes 2..4 overwritten, then
			// extended with a hole, then truncated.
			b.dirent(1, 1, 2, 8, "f")
			b.file(2, 1, 8, 0, "aaaaaaaa")
			b.file(2, 3, 8, 2, "BBB")
			b.file(2, 2, 8, 1, "cccc") // older than the overwrite above
			b.file(2, 4, 12, 10, "ZZ") // hole at 8..10
			// g: truncated to 3 by the latest node.
			b.dirent(1, 2, 3, 8, "g")
			b.file(3, 1, 6, 0, "gggggg")
			b.inode(inodeSpec{ino: 3, version: 2, mode: sIFREG | 0o600, isize: 3})
			// h: deleted by a later dirent with ino 0.
			b.dirent(1, 3, 4, 8, "h")
			b.file(4, 1, 1, 0, "h")
			b.dirent(1, 4, 0, 0, "h")
			// renamed: old name deleted, new name present.
			b.dirent(1, 5, 5, 8, "old")
			b.file(5, 1, 1, 0, "r")
			b.dirent(1, 7, 5, 8, "new")
			b.dirent(1, 6, 0, 0, "old")
			// a dirent whose older version is written later in the image
			b.dirent(1, 9, 6, 8, "v")
			b.dirent(1, 8, 0, 0, "v")
			b.file(6, 1, 1, 0, "v")
			s, _, err := run(t, b.bytes())
			if err != nil {
				t.Fatal(err)
			}
			if got, want := content(t, s, "f"), "acBBBaaa\x00\x00ZZ"; got != want {
				t.Errorf("f = %q, want %q", got, want)
			}
			if got := content(t, s, "g"); got != "ggg" {
				t.Errorf("g = %q", got)
			}
			if it, _ := s.Get("g"); it.Mode != 0o600 {
				t.Errorf("g mode %v, want latest 0600", it.Mode)
			}
			if _, ok := s.Get("h"); ok {
				t.Errorf("deleted h extracted")
			}
			if _, ok := s.Get("old"); ok {
				t.Errorf("renamed-away name extracted")
			}
			if got := content(t, s, "new"); got != "r" {
				t.Errorf("new = %q", got)
			}
			if got := content(t, s, "v"); got != "v" {
				t.Errorf("v = %q", got)
			}
		})
	}
}

func zlibBytes(t *testing.T, p []byte) []byte {
	var b bytes.Buffer
	w := zlib.NewWriter(&b)
	w.Write(p)
	w.Close()
	return b.Bytes()
}

func lzmaBytes(t *testing.T, p []byte) []byte {
	var b bytes.Buffer
	w, err := lzma.WriterConfig{
		Properties:   &lzma.Properties{LC: 0, LP: 0, PB: 0},
		DictCap:      0x2000,
		Size:         int64(len(p)),
		SizeInHeader: true,
	}.NewWriter(&b)
	if err != nil {
		t.Fatal(err)
	}
	w.Write(p)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()[13:]
}

// rtimeBytes encodes p with the rtime scheme.
func rtimeBytes(p []byte) []byte {
	var out []byte
	var last [256]int
	for pos := 0; pos < len(p); {
		v := p[pos]
		out = append(out, v)
		pos++
		back := last[v]
		last[v] = pos
		run := 0
		for back < pos && pos < len(p) && p[pos] == p[back] && run < 255 {
			pos++
			back++
			run++
		}
		out = append(out, byte(run))
	}
	return out
}

func TestCompressors(t *testing.T) {
	text := []byte(strings.Repeat("compressible jffs2 data ", 150))[:3000]
	for _, tc := range []struct {
		name  string
		compr uint8
		data  []byte
		fail  error
	}{
		{"none", comprNone, text, nil},
		{"zero", comprZero, nil, nil},
		{"zlib", comprZlib, zlibBytes(t, text), nil},
		{"rtime", comprRtime, rtimeBytes(text), nil},
		{"lzma", comprLZMA, lzmaBytes(t, text), nil},
		{"rubin", comprRubin, []byte{1, 2, 3}, ErrCompressor},
		{"dynrubin", comprDynrubin, []byte{1, 2, 3}, ErrCompressor},
		{"badzlib", comprZlib, []byte("not zlib"), ErrCorrupt},
		{"shortrtime", comprRtime, []byte{1, 0}, ErrCorrupt},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := &builder{bo: binary.LittleEndian}
			b.inode(inodeSpec{ino: 1, version: 1, mode: sIFDIR | 0o755})
			b.dirent(1, 1, 2, 8, "f")
			b.inode(inodeSpec{ino: 2, version: 1, mode: sIFREG | 0o644, isize: 3000, dsize: 3000, compr: tc.compr, data: tc.data})
			s, _, err := run(t, b.bytes())
			if err != nil {
				t.Fatal(err)
			}
			if tc.fail != nil {
				if len(s.Failed) != 1 || !errors.Is(s.Failed[0].Err, tc.fail) {
					t.Fatalf("failures %v, want %v", s.Failed, tc.fail)
				}
				return
			}
			want := text
			if tc.compr == comprZero {
				want = make([]byte, 3000)
			}
			if got := content(t, s, "f"); got != string(want) {
				t.Errorf("content differs: %q", got[:min(40, len(got))])
			}
		})
	}
}

func TestDevices(t *testing.T) {
	b := &builder{bo: binary.BigEndian}
	b.inode(inodeSpec{ino: 1, version: 1, mode: sIFDIR | 0o755})
	b.dirent(1, 1, 2, 2, "old")
	b.inode(inodeSpec{ino: 2, version: 1, mode: sIFCHR | 0o620, dsize: 2, data: []byte{4, 64}})
	// new encoding: major 259, minor 300
	var nd [4]byte
	binary.BigEndian.PutUint32(nd[:], 300&0xff|259<<8|(300&^0xff)<<12)
	b.dirent(1, 2, 3, 6, "new")
	b.inode(inodeSpec{ino: 3, version: 1, mode: sIFBLK | 0o600, dsize: 4, data: nd[:]})
	b.dirent(1, 3, 4, 12, "sock")
	b.inode(inodeSpec{ino: 4, version: 1, mode: sIFSOCK | 0o777})
	s, _, err := run(t, b.bytes())
	if err != nil {
		t.Fatal(err)
	}
	if it, _ := s.Get("old"); it.Type != firmware.TypeCharDevice || it.DevMajor != 4 || it.DevMinor != 64 {
		t.Errorf("old: %v %d,%d", it.Type, it.DevMajor, it.DevMinor)
	}
	if it, _ := s.Get("new"); it.Type != firmware.TypeBlockDevice || it.DevMajor != 259 || it.DevMinor != 300 {
		t.Errorf("new: %v %d,%d", it.Type, it.DevMajor, it.DevMinor)
	}
	if it, _ := s.Get("sock"); it.Type != firmware.TypeSocket {
		t.Errorf("sock: %v", it.Type)
	}
}

func TestDamage(t *testing.T) {
	b := &builder{bo: binary.LittleEndian}
	b.cleanmarker()
	b.inode(inodeSpec{ino: 1, version: 1, mode: sIFDIR | 0o755})
	b.dirent(1, 1, 2, 8, "f")
	b.file(2, 1, 4, 0, "good")
	bad := b.file(2, 2, 4, 0, "BAD!")
	b.buf.Write(bytes.Repeat([]byte{0xff}, 64))
	b.buf.Write([]byte("garbage between nodes"))
	b.align()
	b.buf.Write([]byte("\x85\x19\x01\xe0xxxxxxxx"))
	b.dirent(1, 2, 3, 8, "after")
	b.file(3, 1, 2, 0, "ok")
	img := bytes.Clone(b.bytes())
	img[bad+inodeLen] ^= 1 // data CRC of the newer node no longer matches
	s, n, err := run(t, img)
	if err != nil {
		t.Fatal(err)
	}
	if n != int64(len(img)) {
		t.Errorf("end %d, want %d", n, len(img))
	}
	if got := content(t, s, "f"); got != "good" {
		t.Errorf("f = %q, want the older valid version", got)
	}
	if got := content(t, s, "after"); got != "ok" {
		t.Errorf("after = %q", got)
	}
	if len(s.Failed) != 1 || !errors.Is(s.Failed[0].Err, ErrBadNode) || !strings.Contains(s.Failed[0].Err.Error(), ": 2 ") {
		t.Errorf("failures %v, want 2 bad nodes", s.Failed)
	}
}

func TestHostile(t *testing.T) {
	le := fwtest.Fixture(t, "le.jffs2")
	t.Run("truncated", func(t *testing.T) {
		for _, n := range []int{12, 100, 1000, 5000, len(le) - 1} {
			s, end, err := run(t, le[:n])
			if err != nil && !errors.Is(err, ErrHeader) {
				t.Errorf("%d: %v", n, err)
			}
			if end > int64(n) {
				t.Errorf("%d: end %d", n, end)
			}
			_ = s
		}
	})
	t.Run("empty", func(t *testing.T) {
		if New().Identify(bytes.NewReader(nil), 0) {
			t.Fatal("identified empty input")
		}
		if _, err := New().Extract(t.Context(), bytes.NewReader(make([]byte, 64)), 64, fwtest.NewMemSink(1<<20)); !errors.Is(err, ErrHeader) {
			t.Fatalf("err %v, want ErrHeader", err)
		}
	})
	t.Run("loop", func(t *testing.T) {
		b := &builder{bo: binary.LittleEndian}
		b.inode(inodeSpec{ino: 1, version: 1, mode: sIFDIR | 0o755})
		b.dirent(1, 1, 2, 4, "a")
		b.inode(inodeSpec{ino: 2, version: 1, mode: sIFDIR | 0o755})
		b.dirent(2, 1, 1, 4, "root")
		b.dirent(2, 2, 2, 4, "self")
		b.dirent(1, 3, 9, 8, "dangling")
		s, _, err := run(t, b.bytes())
		if err != nil {
			t.Fatal(err)
		}
		if got := s.Paths(); len(got) != 1 || got[0] != "a" {
			t.Errorf("paths %v", got)
		}
		if len(s.Failed) != 3 {
			t.Errorf("failures %v, want 3", s.Failed)
		}
	})
	t.Run("huge isize", func(t *testing.T) {
		b := &builder{bo: binary.LittleEndian}
		b.inode(inodeSpec{ino: 1, version: 1, mode: sIFDIR | 0o755})
		b.dirent(1, 1, 2, 8, "f")
		b.file(2, 1, 0xffffffff, 0xfffffff0, "x")
		s := fwtest.NewMemSink(1 << 20)
		img := b.bytes()
		_, err := New().Extract(t.Context(), bytes.NewReader(img), int64(len(img)), s)
		if !errors.Is(err, firmware.ErrLimit) {
			t.Fatalf("err %v, want the sink's limit", err)
		}
	})
	t.Run("cancel", func(t *testing.T) { fwtest.CheckCancel(t, New(), le) })
	t.Run("many nodes", func(t *testing.T) {
		// Thousands of overlapping versions of one file stay fast.
		b := &builder{bo: binary.LittleEndian}
		b.inode(inodeSpec{ino: 1, version: 1, mode: sIFDIR | 0o755})
		b.dirent(1, 1, 2, 8, "f")
		for i := 0; i < 20000; i++ {
			b.file(2, uint32(i+1), 20000, uint32(20000-i-1), "ab")
		}
		start := time.Now()
		s, _, err := run(t, b.bytes())
		if err != nil {
			t.Fatal(err)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("took %v", d)
		}
		if got := content(t, s, "f"); len(got) != 20000 || got[0] != 'a' || strings.Trim(got[1:], "b") != "" {
			t.Errorf("content %q...", got[:4])
		}
	})
}

func TestTrailingData(t *testing.T) {
	// A filesystem followed by unrelated data, then by a copy of itself:
	// the scan stops in the unrelated data and reports where the
	// filesystem ends.
	le := fwtest.Fixture(t, "le.jffs2")
	junk := make([]byte, maxJunk+64<<10)
	for i := range junk {
		junk[i] = byte(i*7 + i>>8)
	}
	img := append(append(append(bytes.Clone(le), bytes.Repeat([]byte{0xff}, 3<<20)...), junk...), le...)
	s, n, err := run(t, img)
	if err != nil {
		t.Fatal(err)
	}
	if n != int64(len(le)) {
		t.Errorf("end %d, want %d", n, len(le))
	}
	checkTree(t, s, fixtureTree)
}

func TestIdentify(t *testing.T) {
	le := fwtest.Fixture(t, "le.jffs2")
	be := fwtest.Fixture(t, "be.jffs2")
	bad := bytes.Clone(le)
	bad[8] ^= 0xff
	for _, tc := range []struct {
		name string
		b    []byte
		want bool
	}{
		{"le", le, true},
		{"be", be, true},
		{"bad crc", bad, false},
		{"short", le[:8], false},
		{"zeros", make([]byte, 100), false},
	} {
		if got := New().Identify(bytes.NewReader(tc.b), int64(len(tc.b))); got != tc.want {
			t.Errorf("%s: Identify = %v", tc.name, got)
		}
	}
}

func FuzzExtract(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.jffs2")
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err == nil && len(b) <= 16<<10 {
			f.Add(b)
		}
	}
	b := &builder{bo: binary.BigEndian}
	b.cleanmarker()
	b.inode(inodeSpec{ino: 1, version: 1, mode: sIFDIR | 0o755})
	b.dirent(1, 1, 2, 8, "f")
	b.file(2, 1, 8, 0, "aaaaaaaa")
	b.file(2, 3, 8, 2, "BBB")
	b.dirent(1, 2, 3, 10, "l")
	b.inode(inodeSpec{ino: 3, version: 1, mode: sIFLNK | 0o777, dsize: 1, isize: 1, data: []byte("f")})
	f.Add(b.bytes())
	f.Fuzz(func(t *testing.T, b []byte) {
		fwtest.Fuzz(t.Context(), New(), b)
	})
}

// FuzzNodes builds images with valid CRCs from a compact description, so
// the fuzzer reaches the version, layout and decompression logic that CRC
// checks keep raw mutations away from.
func FuzzNodes(f *testing.F) {
	f.Add([]byte("\x00\x00\x02\x01\x01\x00\x00\x00\x01\x02\x00\x01\x00\x10\x06\x10zlibzlibzlibzlib"))
	f.Add([]byte("\x01\x00\x02\x01\x01\x00\x00\x00\x01\x02\x00\x02\x03\x04\x07\x08lzolzolz\x01\x02\x00\x03\x00\x04\x08\x08lzmalzma"))
	f.Add([]byte("\x01\x00\x02\x01\x01\x00\x00\x00\x01\x02\x02\x01\x00\x01\x02\x04\x61\x00\x62\x01"))
	f.Fuzz(func(t *testing.T, spec []byte) {
		b := &builder{bo: binary.LittleEndian}
		if len(spec) > 0 && spec[0]&1 == 1 {
			b.bo = binary.BigEndian
		}
		b.inode(inodeSpec{ino: 1, version: 1, mode: sIFDIR | 0o755})
		modes := []uint32{sIFREG, sIFDIR, sIFLNK, sIFCHR, sIFBLK, sIFIFO, sIFSOCK, 0}
		for len(spec) >= 8 {
			r := spec[:8]
			spec = spec[8:]
			switch r[0] % 3 {
			case 0:
				b.dirent(uint32(r[1]%6)+1, uint32(r[2]), uint32(r[3]%7), r[4], string(rune('a'+r[5]%4)))
			case 1:
				n := min(int(r[7]), len(spec))
				data := spec[:n]
				spec = spec[n:]
				b.inode(inodeSpec{
					ino: uint32(r[1]%6) + 1, version: uint32(r[2]),
					mode:  modes[r[3]%8] | uint32(r[3])<<4&0o7777,
					isize: uint32(r[4]) * 64, off: uint32(r[5]) * 32, dsize: uint32(r[6]) * 16,
					compr: r[3] % 9, data: data,
				})
			case 2:
				b.cleanmarker()
				b.buf.Write(bytes.Repeat([]byte{r[1]}, int(r[2]%64)))
			}
		}
		fwtest.Fuzz(t.Context(), New(), b.bytes())
	})
}
