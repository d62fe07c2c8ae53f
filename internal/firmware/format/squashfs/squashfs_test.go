package squashfs

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/netvet/netvet/internal/firmware"
	"github.com/netvet/netvet/internal/firmware/fwtest"
)

var fixtures = []string{
	"v4-le-gzip", "v4-le-xz", "v4-le-lzma", "v4-le-lzo", "v4-le-lz4", "v4-le-zstd",
	"v4-be-gzip",
	"v3-le-gzip", "v3-be-gzip", "v3-le-lzma", "v3-be-lzma",
	"v2-le-gzip", "v2-be-gzip",
}

func readFixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name+".sqfs"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// bigData is the content of big.bin in every fixture (see testdata/gen).
func bigData() []byte {
	b := make([]byte, 0, 17450)
	s := uint32(12345)
	for i := 0; i < 12288; i++ {
		s = s*1103515245 + 12345
		b = append(b, byte(s>>16)%94+33)
	}
	b = append(b, make([]byte, 4096)...)
	b = append(b, passwd...)
	for i := 0; i < 1000; i++ {
		b = append(b, byte(65+i%26))
	}
	return b
}

const passwd = "root:x:0:0:root:/root:/bin/sh\nuser:x:1000:100::/home/user:/bin/sh\n"

type want struct {
	typ        firmware.EntryType
	mode       fs.FileMode
	uid, gid   int64
	data       string
	link       string
	maj, minor uint32
}

var wantTree = map[string]want{
	"big.bin":             {typ: firmware.TypeFile, mode: 0o644, data: string(bigData())},
	"bin":                 {typ: firmware.TypeDir, mode: 0o755},
	"bin/passwd-link":     {typ: firmware.TypeSymlink, mode: 0o777, link: "../etc/passwd"},
	"bin/su":              {typ: firmware.TypeFile, mode: 0o755 | fs.ModeSetuid, data: "#!/bin/sh\necho su\n"},
	"dev":                 {typ: firmware.TypeDir, mode: 0o755},
	"dev/console":         {typ: firmware.TypeCharDevice, mode: 0o600, gid: 5, maj: 5, minor: 1},
	"dev/initctl":         {typ: firmware.TypeFIFO, mode: 0o600},
	"dev/log":             {typ: firmware.TypeSocket, mode: 0o666},
	"dev/sda":             {typ: firmware.TypeBlockDevice, mode: 0o660, gid: 6, maj: 8, minor: 0},
	"empty":               {typ: firmware.TypeDir, mode: 0o755},
	"etc":                 {typ: firmware.TypeDir, mode: 0o755},
	"etc/passwd":          {typ: firmware.TypeFile, mode: 0o644, data: passwd},
	"etc/passwd-":         {typ: firmware.TypeHardlink, mode: 0o644, link: "etc/passwd"},
	"home":                {typ: firmware.TypeDir, mode: 0o755},
	"home/user":           {typ: firmware.TypeDir, mode: 0o750, uid: 1000, gid: 100},
	"home/user/notes.txt": {typ: firmware.TypeFile, mode: 0o640, uid: 1000, gid: 100, data: "hello user\n"},
	"tmp":                 {typ: firmware.TypeDir, mode: 0o777 | fs.ModeSticky},
	"zero-length":         {typ: firmware.TypeFile, mode: 0o644, data: ""},
}

func TestFixtures(t *testing.T) {
	for _, name := range fixtures {
		t.Run(name, func(t *testing.T) {
			b := readFixture(t, name)
			s, n, err := fwtest.Run(context.Background(), New(), b, 1<<20)
			if err != nil {
				t.Fatal(err)
			}
			if n != int64(len(b)) {
				t.Errorf("Extract returned %d, image is %d bytes", n, len(b))
			}
			for _, f := range s.Failed {
				t.Errorf("failed %q: %v", f.Path, f.Err)
			}
			if len(s.Items) != len(wantTree) {
				t.Errorf("got %d entries %v, want %d", len(s.Items), s.Paths(), len(wantTree))
			}
			seen := map[string]bool{}
			for i, it := range s.Items {
				w, ok := wantTree[it.Path]
				if !ok {
					t.Errorf("unexpected entry %q", it.Path)
					continue
				}
				seen[it.Path] = true
				if d := filepath.Dir(it.Path); d != "." && !seen[d] {
					t.Errorf("entry %d %q comes before its directory", i, it.Path)
				}
				if it.Type != w.typ {
					t.Errorf("%s: type %v, want %v", it.Path, it.Type, w.typ)
				}
				if it.Mode != w.mode {
					t.Errorf("%s: mode %v, want %v", it.Path, it.Mode, w.mode)
				}
				if it.UID != w.uid || it.GID != w.gid {
					t.Errorf("%s: owner %d:%d, want %d:%d", it.Path, it.UID, it.GID, w.uid, w.gid)
				}
				if it.LinkTarget != w.link {
					t.Errorf("%s: link %q, want %q", it.Path, it.LinkTarget, w.link)
				}
				if it.DevMajor != w.maj || it.DevMinor != w.minor {
					t.Errorf("%s: device %d,%d, want %d,%d", it.Path, it.DevMajor, it.DevMinor, w.maj, w.minor)
				}
				if w.typ == firmware.TypeFile {
					if string(it.Data) != w.data {
						t.Errorf("%s: content %x differs (%d bytes, want %d)", it.Path, sha256.Sum256(it.Data), len(it.Data), len(w.data))
					}
					if it.Size != int64(len(w.data)) {
						t.Errorf("%s: size %d, want %d", it.Path, it.Size, len(w.data))
					}
				}
				if !it.ModTime.Equal(time.Unix(1700000000, 0)) {
					t.Errorf("%s: mtime %v", it.Path, it.ModTime)
				}
				if it.Offset < 0 || it.Offset >= n {
					t.Errorf("%s: offset %d outside the image", it.Path, it.Offset)
				}
			}
			// The first data block follows the superblock (and the
			// compressor options some compressors store).
			if big, ok := s.Get("big.bin"); ok && (big.Offset < sbLen(name) || big.Offset > sbLen(name)+16) {
				t.Errorf("big.bin offset %d, want the first data block right after the superblock (%d)", big.Offset, sbLen(name))
			}
		})
	}
}

func sbLen(name string) int64 {
	if strings.HasPrefix(name, "v4") {
		return sbSize4
	}
	return sbSize3
}

func TestIdentify(t *testing.T) {
	good := readFixture(t, "v4-le-gzip")
	if !New().Identify(bytes.NewReader(good), int64(len(good))) {
		t.Fatal("fixture not identified")
	}
	mutate := func(off int, v []byte) []byte {
		b := append([]byte(nil), good...)
		copy(b[off:], v)
		return b
	}
	le := binary.LittleEndian
	u16 := func(v uint16) []byte { return le.AppendUint16(nil, v) }
	u32 := func(v uint32) []byte { return le.AppendUint32(nil, v) }
	u64 := func(v uint64) []byte { return le.AppendUint64(nil, v) }
	cases := map[string][]byte{
		"magic":              mutate(0, []byte("hsqt")),
		"major":              mutate(28, u16(5)),
		"minor":              mutate(30, u16(1)),
		"block size not pow": mutate(12, u32(4097)),
		"block size huge":    mutate(12, u32(1<<21)),
		"block log":          mutate(22, u16(13)),
		"compressor":         mutate(20, u16(7)),
		"bytes used":         mutate(40, u64(uint64(len(good))+1)),
		"inode table":        mutate(64, u64(1<<40)),
		"id table":           mutate(48, u64(1<<40)),
		"fragment table":     mutate(80, u64(1<<40)),
		"short":              good[:50],
	}
	for name, b := range cases {
		if New().Identify(bytes.NewReader(b), int64(len(b))) {
			t.Errorf("%s: identified", name)
		}
	}
	// The image at an offset inside a bigger blob: size limits it.
	if New().Identify(bytes.NewReader(good[:len(good)-4096-100]), int64(len(good)-4096-100)) {
		t.Error("truncated image identified")
	}
}

func TestTrailingDataNotCounted(t *testing.T) {
	b := readFixture(t, "v4-le-gzip")
	b = append(b, []byte("trailing data")...)
	_, n, err := fwtest.Run(context.Background(), New(), b, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	if n != int64(len(b)-len("trailing data")) {
		t.Errorf("length %d", n)
	}
}

func TestHostile(t *testing.T) {
	for _, name := range fixtures {
		good := readFixture(t, name)
		sb, err := readSuperblock(bytes.NewReader(good), int64(len(good)))
		if err != nil {
			t.Fatal(err)
		}
		used := int(sb.bytesUsed)
		t.Run(name+"/truncated", func(t *testing.T) {
			// Shrink the image but keep the superblock claiming more.
			for _, cut := range []int{used / 2, used - 10, int(sb.inodeTable) + 10} {
				b := good[:cut]
				if New().Identify(bytes.NewReader(b), int64(len(b))) {
					t.Errorf("cut at %d identified", cut)
				}
				s := fwtest.NewMemSink(1 << 20)
				if _, err := New().Extract(context.Background(), bytes.NewReader(b), int64(len(b)), s); err == nil {
					t.Errorf("cut at %d: no error", cut)
				}
			}
		})
		t.Run(name+"/corrupt-bytes", func(t *testing.T) {
			// Flip bytes all over the tables: errors, never panics or hangs.
			for off := int(sb.inodeTable); off < used; off += 7 {
				b := append([]byte(nil), good...)
				b[off] ^= 0xa5
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				s := fwtest.NewMemSink(1 << 20)
				New().Extract(ctx, bytes.NewReader(b), int64(len(b)), s)
				if ctx.Err() != nil {
					t.Fatalf("flip at %d: timed out", off)
				}
				cancel()
			}
		})
	}
}

// TestDirectoryLoop points a subdirectory entry back at the root inode.
func TestDirectoryLoop(t *testing.T) {
	good := readFixture(t, "v4-be-gzip")
	sb, _ := readSuperblock(bytes.NewReader(good), int64(len(good)))
	f := &fsys{src: bytes.NewReader(good), size: int64(sb.bytesUsed), sb: sb, meta: newLRU(8)}
	f.codec, _ = newCodec(sb.comp)
	if err := f.loadIDs(); err != nil {
		t.Fatal(err)
	}
	// Build an uncompressed copy of the image whose "bin" entry refers
	// to the root directory inode: rewrite the directory table.
	root, err := f.readInode(sb.rootInode)
	if err != nil {
		t.Fatal(err)
	}
	b := append([]byte(nil), good...)
	blk, err := f.metaBlock(int64(sb.dirTable))
	if err != nil {
		t.Fatal(err)
	}
	listing := append([]byte(nil), blk.data...)
	// The first root entry after big.bin is "bin": patch every entry
	// that names "bin" to point at the root inode.
	i := bytes.Index(listing, []byte("\x00\x02bin")) + 2
	if i < 8 {
		t.Fatal("no bin entry")
	}
	order := binary.BigEndian
	order.PutUint16(listing[i-8:], uint16(root.ref&0xffff))
	// The header of this run must point at the root's inode block too.
	if root.ref>>16 != 0 {
		t.Skip("root inode not in the first metadata block")
	}
	// Append the patched listing as an uncompressed block in place of the
	// original: same table start, so only the contents change.
	patched := append(order.AppendUint16(nil, uint16(len(listing))|0x8000), listing...)
	tail := b[blk.next:sb.bytesUsed]
	out := append(append(append([]byte(nil), b[:sb.dirTable]...), patched...), tail...)
	shift := uint64(len(patched)) - uint64(blk.next-int64(sb.dirTable))
	// Move the tables that follow the directory table.
	for _, off := range []int{48, 80} {
		v := order.Uint64(out[off:])
		if v != invalidBlk && v > sb.dirTable {
			order.PutUint64(out[off:], v+shift)
		}
	}
	order.PutUint64(out[40:], sb.bytesUsed+shift)
	// Fix the pointers inside the id and fragment index tables.
	for _, off := range []int{48, 80} {
		p := order.Uint64(out[off:])
		v := order.Uint64(out[p:])
		if v > sb.dirTable {
			order.PutUint64(out[p:], v+shift)
		}
	}
	s, _, err := fwtest.Run(context.Background(), New(), out, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	var loopErr bool
	for _, f := range s.Failed {
		if errors.Is(f.Err, ErrCorrupt) && f.Path == "bin" {
			loopErr = true
		}
	}
	if !loopErr {
		t.Errorf("loop not reported; failed=%v paths=%v", s.Failed, s.Paths())
	}
}

func TestSinkErrorStops(t *testing.T) {
	b := readFixture(t, "v4-le-xz")
	for _, max := range []int{1, 3, 10} {
		s := fwtest.NewMemSink(1 << 20)
		s.MaxEntries = max
		_, err := New().Extract(context.Background(), bytes.NewReader(b), int64(len(b)), s)
		if !errors.Is(err, firmware.ErrLimit) {
			t.Errorf("max %d: err %v, want limit", max, err)
		}
		if len(s.Items) != max {
			t.Errorf("max %d: %d items", max, len(s.Items))
		}
	}
	// A tiny byte budget stops inside big.bin.
	s := fwtest.NewMemSink(100)
	if _, err := New().Extract(context.Background(), bytes.NewReader(b), int64(len(b)), s); !errors.Is(err, firmware.ErrLimit) {
		t.Errorf("budget: err %v", err)
	}
}

func TestCancel(t *testing.T) {
	b := readFixture(t, "v4-le-gzip")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	s := fwtest.NewMemSink(1 << 20)
	if _, err := New().Extract(ctx, bytes.NewReader(b), int64(len(b)), s); !errors.Is(err, context.Canceled) {
		t.Errorf("err %v", err)
	}
}

func TestBitReader(t *testing.T) {
	// 0xA5 0x0F: little-endian fields 4,12 -> 5, 0x0FA; big-endian -> 0xA, 0x50F.
	le := &bitReader{b: []byte{0xa5, 0x0f}}
	if a, b := le.u(4), le.u(12); a != 5 || b != 0x0fa {
		t.Errorf("le %x %x", a, b)
	}
	be := &bitReader{b: []byte{0xa5, 0x0f}, be: true}
	if a, b := be.u(4), be.u(12); a != 0xa || b != 0x50f {
		t.Errorf("be %x %x", a, b)
	}
}

func FuzzExtract(f *testing.F) {
	for _, name := range append(fixtures, "v4-le-xz-dups") {
		f.Add(readFixture(f, name))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		fwtest.Fuzz(ctx, New(), b)
	})
}
