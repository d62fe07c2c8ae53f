package ext

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"testing"
	"time"

	"github.com/netvet/netvet/internal/firmware"
	"github.com/netvet/netvet/internal/firmware/fwtest"
)

// expected content of the files make.sh writes.
func bigContent() []byte {
	var b bytes.Buffer
	for i := 0; i < 1000; i++ {
		fmt.Fprintf(&b, "line %05d of the big file..............\n", i)
	}
	return b.Bytes()[:40000]
}

func sparseContent() []byte {
	b := make([]byte, 90000)
	for _, k := range []int{0, 3, 6, 9, 12, 15, 18} {
		copy(b[k*4096:], fmt.Sprintf("island %d", k))
	}
	copy(b[89997:], "end")
	return b
}

func farContent() []byte {
	b := make([]byte, 400008)
	copy(b[400000:], "far away")
	return b
}

var slowTarget = strings.Repeat("d", 70) + "/target/of/a/long/slow/symlink/past/sixty/bytes"

var fixtures = []struct {
	name     string
	fileSize int64 // blocks_count * block_size
}{
	{"ext2.img.gz", 1024 * 1024},
	{"ext3.img.gz", 4096 * 1024},
	{"ext4.img.gz", 2048 * 1024},
	{"ext4inline.img.gz", 256 * 4096},
	{"ext4metabg.img.gz", 2048 * 2048},
	{"ext4htree.img.gz", 2048 * 1024},
}

func TestExtract(t *testing.T) {
	mtime := time.Unix(1700000000, 0).UTC()
	for _, fx := range fixtures {
		t.Run(fx.name, func(t *testing.T) {
			img := fwtest.Fixture(t, fx.name)
			s, n, err := fwtest.Run(t.Context(), New(), img, 64<<20)
			if err != nil {
				t.Fatal(err)
			}
			if n != fx.fileSize {
				t.Errorf("length %d, want %d", n, fx.fileSize)
			}
			fwtest.NoFailures(t, s)
			file := func(data []byte, mode fs.FileMode) fwtest.Want {
				return fwtest.Want{Type: firmware.TypeFile, Mode: mode, Data: string(data), ModTime: mtime}
			}
			fwtest.CheckEntries(t, s, map[string]fwtest.Want{
				"hello.txt":          file([]byte("hello, ext\n"), 0o644),
				"big.bin":            file(bigContent(), 0o644),
				"sparse.bin":         file(sparseContent(), 0o644),
				"far.bin":            file(farContent(), 0o644),
				"dir/suid":           file([]byte("setuid\n"), 0o755|fs.ModeSetuid),
				"dir/sgid":           file([]byte("setgid\n"), 0o750|fs.ModeSetgid),
				"dir/owned":          {Type: firmware.TypeFile, Mode: 0o644, UID: 1234, GID: 70000, Data: "owned\n", ModTime: mtime},
				"dir/sub/inline.txt": file([]byte("small inline\n"), 0o644),
				"dir":                {Type: firmware.TypeDir, Mode: 0o755},
				"empty":              {Type: firmware.TypeDir, Mode: 0o755},
				"lost+found":         {Type: firmware.TypeDir, Mode: 0o700},
				"dir/sub":            {Type: firmware.TypeDir, Mode: 0o777 | fs.ModeSticky},
				"dir/hardlink":       {Type: firmware.TypeHardlink, Mode: 0o644, Link: "hello.txt"},
				"fastlink":           {Type: firmware.TypeSymlink, Mode: 0o777, Link: "hello.txt"},
				"slowlink":           {Type: firmware.TypeSymlink, Mode: 0o777, Link: slowTarget},
				"dir/tty0":           {Type: firmware.TypeCharDevice, Mode: 0o644, Major: 4},
				"dir/sda1":           {Type: firmware.TypeBlockDevice, Mode: 0o644, Major: 8, Minor: 1},
				"dir/fifo":           {Type: firmware.TypeFIFO, Mode: 0o644},
			})
			if fx.name == "ext4htree.img.gz" {
				it, _ := s.Get("many")
				if flags := binary.LittleEndian.Uint32(img[it.Offset+32:]); flags&0x1000 == 0 {
					t.Errorf("many: not an indexed directory (flags %#x)", flags)
				}
				for i := 0; i < 200; i++ {
					p := fmt.Sprintf("many/entry-with-a-longish-name-%d", i)
					if it, ok := s.Get(p); !ok || string(it.Data) != fmt.Sprintf("%d\n", i) {
						t.Errorf("%s: %v %q", p, ok, it.Data)
					}
				}
				if n := len(s.Items); n != 19+200 { // 18 common entries, "many" and its files
					t.Errorf("%d entries, want %d", n, 219)
				}
			}
			fwtest.CheckOrder(t, s)
		})
	}
}

func TestIdentify(t *testing.T) {
	img := fwtest.Fixture(t, "ext2.img.gz")
	cases := []struct {
		name string
		b    []byte
		want bool
	}{
		{"ext2", img, true},
		{"empty", nil, false},
		{"short", img[:1100], false},
		{"zeros", make([]byte, 4096), false},
		{"bad block size", patch(img, 1024+24, 7), false},
		{"bad inode size", patch16(img, 1024+88, 100), false},
		{"zero blocks per group", patch(img, 1024+32, 0), false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := New().Identify(bytes.NewReader(c.b), int64(len(c.b))); got != c.want {
				t.Errorf("Identify = %v, want %v", got, c.want)
			}
		})
	}
}

func patch(b []byte, off int, v uint32) []byte {
	c := bytes.Clone(b)
	binary.LittleEndian.PutUint32(c[off:], v)
	return c
}

func patch16(b []byte, off int, v uint16) []byte {
	c := bytes.Clone(b)
	binary.LittleEndian.PutUint16(c[off:], v)
	return c
}

// inodeOffset finds the byte offset of inode num in img.
func inodeOffset(t *testing.T, img []byte, num uint32) int64 {
	t.Helper()
	sb, err := parseSuperblock(img[1024:2048])
	if err != nil {
		t.Fatal(err)
	}
	f := &fsys{ctx: context.Background(), src: bytes.NewReader(img), size: int64(len(img)), sb: sb, descs: map[uint64]uint64{}}
	in, err := f.readInode(num)
	if err != nil {
		t.Fatal(err)
	}
	return in.off
}

func TestHostile(t *testing.T) {
	ext4 := fwtest.Fixture(t, "ext4.img.gz")
	ext2 := fwtest.Fixture(t, "ext2.img.gz")

	t.Run("truncated", func(t *testing.T) {
		for _, n := range []int{1100, 2048, 4096, 20000, 100000} {
			b := ext4[:n]
			s := fwtest.NewMemSink(1 << 20)
			_, err := New().Extract(t.Context(), bytes.NewReader(b), int64(len(b)), s)
			if err == nil && len(s.Failed) == 0 {
				t.Errorf("%d bytes: no error and no failed entry", n)
			}
		}
	})

	t.Run("needs recovery", func(t *testing.T) {
		b := bytes.Clone(ext4)
		incompat := binary.LittleEndian.Uint32(b[1024+96:])
		binary.LittleEndian.PutUint32(b[1024+96:], incompat|incompatRecover)
		s, _, err := fwtest.Run(t.Context(), New(), b, 1<<20)
		if err != nil {
			t.Fatal(err)
		}
		fwtest.AssertFailed(t, s, "", ErrJournal)
		if _, ok := s.Get("big.bin"); !ok {
			t.Error("extraction did not go on")
		}
	})

	t.Run("blocks past EOF", func(t *testing.T) {
		b := patch(ext2, 1024+4, 1<<30)
		b = patch(b, 1024+0, 64) // keep inode count consistent with groups
		s := fwtest.NewMemSink(1 << 20)
		n, _ := New().Extract(t.Context(), bytes.NewReader(b), int64(len(b)), s)
		if n != int64(len(b)) {
			t.Errorf("length %d, want bounded by %d", n, len(b))
		}
	})

	t.Run("extent node loop", func(t *testing.T) {
		// sparse.bin has a depth-1 extent tree; point its leaf's first
		// entry... instead make the index point at a block holding an
		// index node of the same depth that points at itself.
		b := bytes.Clone(ext4)
		off := findInodeByName(t, b, "sparse.bin")
		ib := b[off+40 : off+100]
		if binary.LittleEndian.Uint16(ib[6:]) != 1 {
			t.Fatalf("sparse.bin extent depth %d, want 1", binary.LittleEndian.Uint16(ib[6:]))
		}
		leaf := int64(binary.LittleEndian.Uint32(ib[12+4:])) * 1024
		// Rewrite the leaf as an index node of depth 1 pointing at itself.
		binary.LittleEndian.PutUint16(b[leaf+6:], 1)
		binary.LittleEndian.PutUint16(b[leaf+2:], 1)
		binary.LittleEndian.PutUint32(b[leaf+12+4:], uint32(leaf/1024))
		s, _, err := fwtest.Run(t.Context(), New(), b, 1<<20)
		if err != nil {
			t.Fatal(err)
		}
		fwtest.AssertFailed(t, s, "sparse.bin", ErrLoop)
	})

	t.Run("directory loop", func(t *testing.T) {
		// Make dir/sub's inode number the root's: entry "sub" then
		// names inode 2, a directory already walked.
		b := bytes.Clone(ext2)
		replaceDirent(t, b, "sub", rootInode)
		s, _, err := fwtest.Run(t.Context(), New(), b, 1<<20)
		if err != nil {
			t.Fatal(err)
		}
		fwtest.AssertFailed(t, s, "dir/sub", ErrLoop)
	})

	t.Run("bad rec_len", func(t *testing.T) {
		b := bytes.Clone(ext2)
		i := bytes.Index(b, []byte("hardlink"))
		binary.LittleEndian.PutUint16(b[i-4:], 3)
		s, _, err := fwtest.Run(t.Context(), New(), b, 1<<20)
		if err != nil {
			t.Fatal(err)
		}
		fwtest.AssertFailed(t, s, "dir", ErrCorrupt)
	})

	t.Run("file size past EOF", func(t *testing.T) {
		b := bytes.Clone(ext2)
		off := findInodeByName(t, b, "hello.txt")
		binary.LittleEndian.PutUint32(b[off+4:], 0xFFFFFFF0)
		binary.LittleEndian.PutUint32(b[off+108:], 0xFFFF)
		s, _, err := fwtest.Run(t.Context(), New(), b, 1<<20)
		if !errors.Is(err, firmware.ErrLimit) {
			t.Fatalf("err = %v, want the sink's limit", err)
		}
		_ = s
	})

	t.Run("block pointer past end", func(t *testing.T) {
		b := bytes.Clone(ext2)
		off := findInodeByName(t, b, "big.bin")
		binary.LittleEndian.PutUint32(b[off+40+12*4:], 0x7FFFFFFF) // indirect pointer
		s, _, err := fwtest.Run(t.Context(), New(), b, 1<<20)
		if err != nil {
			t.Fatal(err)
		}
		fwtest.AssertFailed(t, s, "big.bin", ErrCorrupt)
	})
}

// TestCrafted patches single inode fields of a fixture to reach
// encodings that mke2fs does not write for the fixture tree.
func TestCrafted(t *testing.T) {
	ext4 := fwtest.Fixture(t, "ext4.img.gz")

	t.Run("uninitialised extent", func(t *testing.T) {
		b := bytes.Clone(ext4)
		off := findInodeByName(t, b, "hello.txt")
		// Root node in i_block: header then the first leaf entry; its
		// length field is at 12+4.
		n := binary.LittleEndian.Uint16(b[off+40+16:])
		binary.LittleEndian.PutUint16(b[off+40+16:], n+32768)
		s, _, err := fwtest.Run(t.Context(), New(), b, 1<<20)
		if err != nil {
			t.Fatal(err)
		}
		it, _ := s.Get("hello.txt")
		if !bytes.Equal(it.Data, make([]byte, 11)) {
			t.Errorf("uninitialised extent read as %q", it.Data)
		}
	})

	t.Run("new device encoding", func(t *testing.T) {
		b := bytes.Clone(ext4)
		off := findInodeByName(t, b, "tty0")
		const major, minor = 259, 70000
		dev := uint32(minor&0xff | major<<8 | (minor&^0xff)<<12)
		binary.LittleEndian.PutUint32(b[off+40:], 0)
		binary.LittleEndian.PutUint32(b[off+44:], dev)
		s, _, err := fwtest.Run(t.Context(), New(), b, 1<<20)
		if err != nil {
			t.Fatal(err)
		}
		it, _ := s.Get("dir/tty0")
		if it.DevMajor != major || it.DevMinor != minor {
			t.Errorf("device %d,%d, want %d,%d", it.DevMajor, it.DevMinor, major, minor)
		}
	})

	t.Run("mtime nanoseconds and epoch bits", func(t *testing.T) {
		b := bytes.Clone(ext4)
		off := findInodeByName(t, b, "hello.txt")
		binary.LittleEndian.PutUint32(b[off+136:], 123456789<<2|1)
		s, _, err := fwtest.Run(t.Context(), New(), b, 1<<20)
		if err != nil {
			t.Fatal(err)
		}
		it, _ := s.Get("hello.txt")
		want := time.Unix(1700000000+1<<32, 123456789).UTC()
		if !it.ModTime.Equal(want) {
			t.Errorf("mtime %v, want %v", it.ModTime, want)
		}
	})
}

// findInodeByName returns the inode offset of the first directory entry
// called name (searching the raw image).
func findInodeByName(t *testing.T, img []byte, name string) int64 {
	t.Helper()
	i := bytes.Index(img, append([]byte{byte(len(name))}, []byte(name)...)[:0])
	for start := 0; ; {
		j := bytes.Index(img[start:], []byte(name))
		if j < 0 {
			t.Fatalf("%s not found", name)
		}
		i = start + j
		if i >= 8 && int(img[i-2]) == len(name) {
			break
		}
		start = i + 1
	}
	num := binary.LittleEndian.Uint32(img[i-8:])
	return inodeOffset(t, img, num)
}

func replaceDirent(t *testing.T, img []byte, name string, ino uint32) {
	t.Helper()
	for start := 0; ; {
		j := bytes.Index(img[start:], []byte(name))
		if j < 0 {
			t.Fatalf("%s not found", name)
		}
		i := start + j
		if i >= 8 && int(img[i-2]) == len(name) {
			binary.LittleEndian.PutUint32(img[i-8:], ino)
			return
		}
		start = i + 1
	}
}

func TestCancel(t *testing.T) {
	fwtest.CheckCancel(t, New(), fwtest.Fixture(t, "ext4.img.gz"))
}

func FuzzExtract(f *testing.F) {
	var seeds [][]byte
	for _, fx := range fixtures {
		img := fwtest.Fixture(f, fx.name)
		// Seed with the metadata-bearing head of each image: the fuzzer
		// mutates small inputs far better than megabytes of zeros.
		if len(img) > 128<<10 {
			img = img[:128<<10]
		}
		seeds = append(seeds, img, img[:24<<10]) // the second: metadata only, quicker to mutate
	}
	fwtest.FuzzExtractWithin(f, 10*time.Second, New, seeds...)
}
