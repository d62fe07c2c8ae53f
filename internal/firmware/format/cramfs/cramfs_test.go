package cramfs

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io/fs"
	"strings"
	"testing"

	"github.com/klauspost/compress/zlib"

	"github.com/netvet/netvet/internal/firmware"
	"github.com/netvet/netvet/internal/firmware/fwtest"
)

func bigText() string {
	var b strings.Builder
	for i := 0; i < 800; i++ {
		fmt.Fprintf(&b, "line %d of a compressible text file\n", i)
	}
	return b.String()
}

var fixtureTree = map[string]fwtest.Want{
	"bin":            {Type: firmware.TypeDir, Mode: 0o755},
	"bin/big.txt":    {Type: firmware.TypeFile, Mode: 0o755 | fs.ModeSetuid, UID: 1000, GID: 100, Data: bigText()},
	"bin/holey":      {Type: firmware.TypeFile, Mode: 0o644, Data: "x" + strings.Repeat("\x00", 9000) + "y"},
	"bin/link":       {Type: firmware.TypeSymlink, Mode: 0o777, Link: "../etc/hello.txt"},
	"bin/noise.bin":  {Type: firmware.TypeFile, Mode: 0o644, Size: 9000},
	"dev":            {Type: firmware.TypeDir, Mode: 0o755},
	"dev/console":    {Type: firmware.TypeCharDevice, Mode: 0o600, GID: 5, Major: 5, Minor: 1},
	"dev/fifo":       {Type: firmware.TypeFIFO, Mode: 0o644, UID: 10, GID: 20},
	"dev/mtdblock0":  {Type: firmware.TypeBlockDevice, Mode: 0o640, Major: 31},
	"empty":          {Type: firmware.TypeDir, Mode: 0o777 | fs.ModeSticky},
	"empty/zero":     {Type: firmware.TypeFile, Mode: 0o644},
	"etc":            {Type: firmware.TypeDir, Mode: 0o755},
	"etc/hello.txt":  {Type: firmware.TypeFile, Mode: 0o644, Data: "hello cramfs\n"},
	"etc/init.d":     {Type: firmware.TypeDir, Mode: 0o755},
	"etc/init.d/rcS": {Type: firmware.TypeFile, Mode: 0o755, Data: "#!/bin/sh\necho start\n"},
	"sgid":           {Type: firmware.TypeDir, Mode: 0o750 | fs.ModeSetgid},
}

// checkTree checks that s holds exactly tree, in a valid order.
func checkTree(t *testing.T, s *fwtest.MemSink, tree map[string]fwtest.Want) {
	t.Helper()
	fwtest.CheckTree(t, s, tree)
	fwtest.CheckOrder(t, s)
}

var fixtureNames = []string{"le.cramfs", "be.cramfs", "pad.cramfs", "holes.cramfs", "b16k.cramfs"}

func TestFixtures(t *testing.T) {
	var noise []byte
	for _, name := range fixtureNames {
		t.Run(name, func(t *testing.T) {
			b := fwtest.Fixture(t, name)
			s, n, err := fwtest.Run(t.Context(), New(), b, 1<<24)
			if err != nil {
				t.Fatal(err)
			}
			if n != int64(len(b)) {
				t.Errorf("Extract returned %d, want %d", n, len(b))
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

func TestVersion1(t *testing.T) {
	// Without the version 2 flag the image records no size and no CRC:
	// the length is where the data ends, rounded up to 4 KiB.
	b := bytes.Clone(fwtest.Fixture(t, "le.cramfs"))
	binary.LittleEndian.PutUint32(b[8:], binary.LittleEndian.Uint32(b[8:])&^flagFSIDv2)
	binary.LittleEndian.PutUint32(b[4:], 0)
	blob := append(bytes.Clone(b), make([]byte, 3*4096)...)
	s, n, err := fwtest.Run(t.Context(), New(), blob, 1<<24)
	if err != nil {
		t.Fatal(err)
	}
	if n != int64(len(b)) {
		t.Errorf("Extract returned %d, want %d", n, len(b))
	}
	if len(s.Failed) > 0 {
		t.Errorf("failures: %v", s.Failed[0].Err)
	}
	checkTree(t, s, fixtureTree)
}

func TestPaddedInBlob(t *testing.T) {
	// The driver may call Identify at the superblock of a padded image;
	// only the candidate that includes the pad is accepted.
	b := fwtest.Fixture(t, "pad.cramfs")
	if New().Identify(bytes.NewReader(b[padSize:]), int64(len(b)-padSize)) {
		t.Errorf("identified a padded image from its superblock")
	}
	if !New().Identify(bytes.NewReader(b), int64(len(b))) {
		t.Errorf("padded image not identified")
	}
}

// setInode rewrites the little-endian inode at off.
func setInode(b []byte, off int, in inode) {
	binary.LittleEndian.PutUint32(b[off:], uint32(in.mode)|uint32(in.uid)<<16)
	binary.LittleEndian.PutUint32(b[off+4:], in.size|uint32(in.gid)<<24)
	binary.LittleEndian.PutUint32(b[off+8:], uint32(in.namelen/4)|uint32(in.offset/4)<<6)
}

func fixCRC(b []byte) {
	binary.LittleEndian.PutUint32(b[32:], 0)
	size := binary.LittleEndian.Uint32(b[4:])
	binary.LittleEndian.PutUint32(b[32:], crc32.ChecksumIEEE(b[:size]))
}

func TestHostile(t *testing.T) {
	le := fwtest.Fixture(t, "le.cramfs")
	rootOff := 76 // first root entry: "bin"
	t.Run("truncated", func(t *testing.T) {
		for _, n := range []int{76, 100, 300, 1000, 4096, 8000, len(le) - 1} {
			s, end, err := fwtest.Run(t.Context(), New(), le[:n], 1<<24)
			if err == nil && len(s.Failed) == 0 {
				t.Errorf("%d: no error and no failure", n)
			}
			if end > int64(n) {
				t.Errorf("%d: end %d", n, end)
			}
		}
	})
	t.Run("crc", func(t *testing.T) {
		b := bytes.Clone(le)
		b[len(b)-1] ^= 1 // padding at the end
		s, _, err := fwtest.Run(t.Context(), New(), b, 1<<24)
		if err != nil {
			t.Fatal(err)
		}
		if len(s.Failed) != 1 || !errors.Is(s.Failed[0].Err, ErrCRC) {
			t.Errorf("failures %v, want a CRC mismatch", s.Failed)
		}
		checkTree(t, s, fixtureTree)
	})
	t.Run("loop", func(t *testing.T) {
		b := bytes.Clone(le)
		in := decodeInode(binary.LittleEndian, b[rootOff:])
		in.offset = 76 // "bin" now lists the root directory
		setInode(b, rootOff, in)
		fixCRC(b)
		s, _, err := fwtest.Run(t.Context(), New(), b, 1<<24)
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, f := range s.Failed {
			found = found || strings.Contains(f.Err.Error(), "loop")
		}
		if !found {
			t.Errorf("no loop reported: %v", s.Failed)
		}
	})
	t.Run("size past end", func(t *testing.T) {
		b := bytes.Clone(le)
		binary.LittleEndian.PutUint32(b[4:], 1<<30)
		s, end, err := fwtest.Run(t.Context(), New(), b, 1<<24)
		if err != nil {
			t.Fatal(err)
		}
		if end != int64(len(b)) || len(s.Failed) == 0 {
			t.Errorf("end %d, failures %v", end, s.Failed)
		}
	})
	t.Run("huge file", func(t *testing.T) {
		b := bytes.Clone(le)
		in := decodeInode(binary.LittleEndian, b[64:])
		in.size = 0xffffff
		in.offset = int64(len(b)) - 64
		setInode(b, 64, in)
		s, _, err := fwtest.Run(t.Context(), New(), b, 1<<24)
		if err == nil && len(s.Failed) == 0 {
			t.Errorf("no error")
		}
	})
	t.Run("cancel", func(t *testing.T) { fwtest.CheckCancel(t, New(), le) })
	t.Run("not cramfs", func(t *testing.T) {
		b := bytes.Clone(le)
		copy(b[16:], "Compressed RAMFS")
		if New().Identify(bytes.NewReader(b), int64(len(b))) {
			t.Errorf("identified with a wrong signature")
		}
		if New().Identify(bytes.NewReader(le[:70]), 70) {
			t.Errorf("identified a short image")
		}
	})
}

// extImage builds a little-endian image with extended block pointers:
// files stored with direct pointers, uncompressed blocks and holes.
func extImage() ([]byte, map[string]string) {
	const bs = 4096
	data := map[string]string{
		"direct-raw": strings.Repeat("R", bs) + strings.Repeat("r", 904),
		"direct-z":   strings.Repeat("Z", bs) + strings.Repeat("z", 904),
		"mixed":      strings.Repeat("M", bs) + strings.Repeat("m", 904),
		"hole":       "h" + strings.Repeat("\x00", 2*bs-1) + "end",
	}
	names := []string{"direct-raw", "direct-z", "hole", "mixed"}
	zl := func(s string) []byte {
		var b bytes.Buffer
		w := zlib.NewWriter(&b)
		w.Write([]byte(s))
		w.Close()
		return b.Bytes()
	}
	img := make([]byte, 76)
	entries := 0
	for _, n := range names {
		entries += 12 + (len(n)+3)/4*4
	}
	dataStart := 76 + entries
	body := make([]byte, 0, 4*bs)
	pos := func() int { return dataStart + len(body) }
	align := func() {
		for len(body)%4 != 0 {
			body = append(body, 0)
		}
	}
	offsets := map[string]int{}
	for _, n := range names {
		s := data[n]
		nb := (len(s) + bs - 1) / bs
		align()
		offsets[n] = pos()
		ptrAt := len(body)
		body = append(body, make([]byte, 4*nb)...)
		for i := 0; i < nb; i++ {
			blk := s[i*bs : min(len(s), (i+1)*bs)]
			var ptr uint32
			switch {
			case n == "direct-raw" || (n == "mixed" && i == 0):
				align()
				ptr = blkDirect | blkUncompressed | uint32(pos())>>2
				body = append(body, blk...)
			case n == "direct-z":
				align()
				z := zl(blk)
				ptr = blkDirect | uint32(pos())>>2
				body = binary.LittleEndian.AppendUint16(body, uint16(len(z)))
				body = append(body, z...)
			case n == "hole" && i == 1:
				ptr = uint32(pos()) // zero-length block
			default:
				body = append(body, zl(blk)...)
				ptr = uint32(pos())
			}
			binary.LittleEndian.PutUint32(body[ptrAt+4*i:], ptr)
		}
	}
	align()
	for _, n := range names {
		e := make([]byte, 12+(len(n)+3)/4*4)
		copy(e[12:], n)
		setInode(e, 0, inode{mode: sIFREG | 0o644, size: uint32(len(data[n])), namelen: (len(n) + 3) / 4 * 4, offset: int64(offsets[n])})
		img = append(img, e...)
	}
	img = append(img, body...)
	binary.LittleEndian.PutUint32(img[0:], magic)
	binary.LittleEndian.PutUint32(img[4:], uint32(len(img)))
	binary.LittleEndian.PutUint32(img[8:], flagFSIDv2|flagSortedDirs|flagHoles|flagExtBlockPtrs)
	copy(img[16:], signature)
	setInode(img, 64, inode{mode: sIFDIR | 0o755, size: uint32(entries), offset: 76})
	fixCRC(img)
	return img, data
}

func TestExtBlockPointers(t *testing.T) {
	img, data := extImage()
	s, n, err := fwtest.Run(t.Context(), New(), img, 1<<24)
	if err != nil {
		t.Fatal(err)
	}
	if n != int64(len(img)) || len(s.Failed) > 0 {
		t.Fatalf("end %d of %d, failures %v", n, len(img), s.Failed)
	}
	for name, want := range data {
		it, ok := s.Get(name)
		if !ok {
			t.Errorf("%s missing", name)
			continue
		}
		if string(it.Data) != want {
			t.Errorf("%s: content differs (%d bytes, want %d)", name, len(it.Data), len(want))
		}
	}
}

func FuzzExtract(f *testing.F) {
	img, _ := extImage()
	fwtest.FuzzExtract(f, New, append(fwtest.Fixtures(f, fixtureNames...), img)...)
}
