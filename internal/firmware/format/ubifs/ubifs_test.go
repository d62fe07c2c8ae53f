package ubifs

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io/fs"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/netvet/netvet/internal/firmware"
	"github.com/netvet/netvet/internal/firmware/fwtest"
)

func numbers() []byte {
	var b bytes.Buffer
	for i := 1; i <= 4000; i++ {
		b.WriteString(strconv.Itoa(i))
		b.WriteByte('\n')
	}
	return b.Bytes()
}

func noise() []byte {
	// Same generator as testdata/make.sh (awk uses doubles; the values stay exact below 2^53).
	out := make([]byte, 0, 9000)
	x := 7.0
	for i := 0; i < 9000; i++ {
		x = float64(int64(x*1103515245+12345) % 2147483648)
		out = append(out, byte(32+int64(x)%90))
	}
	return out
}

func TestExtract(t *testing.T) {
	sparse := make([]byte, 20000)
	copy(sparse[9000:], "middle")
	mtime := time.Unix(1700000000, 0).UTC()
	for _, comp := range []string{"lzo", "zlib", "zstd", "none"} {
		t.Run(comp, func(t *testing.T) {
			img := fwtest.Fixture(t, comp+".img.gz")
			s, n, err := fwtest.Run(context.Background(), New(), img, 1<<24)
			if err != nil {
				t.Fatal(err)
			}
			if n != int64(len(img)) {
				t.Errorf("length %d, want %d", n, len(img))
			}
			if len(s.Failed) != 0 {
				t.Errorf("failures: %+v", s.Failed)
			}
			files := map[string]string{
				"etc/motd":        "hello ubifs\n",
				"etc/numbers.txt": string(numbers()),
				"etc/empty":       "",
				"etc/init.d/rcS":  "#!/bin/sh\necho start\n",
				"bin/su":          "suid",
				"bin/sg":          "sgid",
				"etc/sparse":      string(sparse),
				"etc/owned":       "owned",
			}
			for p, want := range files {
				it, ok := s.Get(p)
				if !ok || it.Type != firmware.TypeFile {
					t.Errorf("%s: missing or not a file", p)
					continue
				}
				if string(it.Data) != want {
					t.Errorf("%s: content mismatch (%d bytes, want %d)", p, len(it.Data), len(want))
				}
			}
			if it, ok := s.Get("bin/noise"); !ok || len(it.Data) != 9000 {
				t.Errorf("bin/noise: missing or wrong size")
			}
			check := func(p string, typ firmware.EntryType, mode fs.FileMode) firmware.Entry {
				t.Helper()
				it, ok := s.Get(p)
				if !ok {
					t.Errorf("%s: missing", p)
					return firmware.Entry{}
				}
				if it.Type != typ || it.Mode != mode {
					t.Errorf("%s: type %v mode %v, want %v %v", p, it.Type, it.Mode, typ, mode)
				}
				return it.Entry
			}
			check("bin/su", firmware.TypeFile, 0o755|fs.ModeSetuid)
			check("bin/sg", firmware.TypeFile, 0o711|fs.ModeSetgid)
			check("tmp", firmware.TypeDir, 0o777|fs.ModeSticky)
			check("etc/init.d/rcS", firmware.TypeFile, 0o755)
			if e := check("etc/owned", firmware.TypeFile, 0o644); e.UID != 1000 || e.GID != 1001 {
				t.Errorf("etc/owned: uid/gid %d/%d", e.UID, e.GID)
			}
			if e := check("etc/motd", firmware.TypeFile, 0o644); !e.ModTime.Equal(mtime) || e.UID != 0 {
				t.Errorf("etc/motd: mtime %v uid %d", e.ModTime, e.UID)
			}
			if e := check("bin/motd-link", firmware.TypeSymlink, 0o777); e.LinkTarget != "../etc/motd" {
				t.Errorf("symlink target %q", e.LinkTarget)
			}
			if e := check("bin/abs-link", firmware.TypeSymlink, 0o777); e.LinkTarget != "/nonexistent/abs" {
				t.Errorf("symlink target %q", e.LinkTarget)
			}
			if e := check("etc/motd.hard", firmware.TypeHardlink, 0o644); e.LinkTarget != "etc/motd" {
				t.Errorf("hard link target %q", e.LinkTarget)
			}
			if e := check("dev/null", firmware.TypeCharDevice, 0o644); e.DevMajor != 1 || e.DevMinor != 3 {
				t.Errorf("dev/null: %d,%d", e.DevMajor, e.DevMinor)
			}
			if e := check("dev/sda1", firmware.TypeBlockDevice, 0o644); e.DevMajor != 8 || e.DevMinor != 1 {
				t.Errorf("dev/sda1: %d,%d", e.DevMajor, e.DevMinor)
			}
			if e := check("dev/big", firmware.TypeCharDevice, 0o644); e.DevMajor != 300 || e.DevMinor != 70000 {
				t.Errorf("dev/big: %d,%d", e.DevMajor, e.DevMinor)
			}
			check("dev/fifo", firmware.TypeFIFO, 0o644)
			check("empty", firmware.TypeDir, 0o755)
			// Directories come before their contents.
			seen := map[string]bool{}
			for _, it := range s.Items {
				if i := strings.LastIndexByte(it.Path, '/'); i > 0 && !seen[it.Path[:i]] {
					t.Errorf("%s put before its directory", it.Path)
				}
				seen[it.Path] = true
			}
		})
	}
}

// rootIdx returns the offset and length of the root index node.
func rootIdx(t *testing.T, img []byte) (int64, int64) {
	t.Helper()
	src := bytes.NewReader(img)
	sb, err := parseSB(src, int64(len(img)))
	if err != nil {
		t.Fatal(err)
	}
	r := &reader{ctx: context.Background(), src: src, size: int64(len(img)), sb: sb}
	if err := r.readMaster(); err != nil {
		t.Fatal(err)
	}
	return r.pos(r.mst.rootLnum, r.mst.rootOffs), r.mst.rootLen
}

// leafPos returns the image offset of the first data node of dir/name.
func leafPos(t *testing.T, img []byte, dir, name string) int64 {
	t.Helper()
	src := bytes.NewReader(img)
	sb, _ := parseSB(src, int64(len(img)))
	r := &reader{ctx: context.Background(), src: src, size: int64(len(img)), sb: sb, idx: map[int64]*idxNode{}}
	if err := r.readMaster(); err != nil {
		t.Fatal(err)
	}
	find := func(parent uint32, n string) uint32 {
		ents, err := r.listDir(parent)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range ents {
			if d.name == n {
				return uint32(d.inum)
			}
		}
		t.Fatalf("%s not found", n)
		return 0
	}
	inum := find(find(1, dir), name)
	b, ok, err := r.lookup(mkKey(inum, keyData, 0))
	if err != nil || !ok {
		t.Fatalf("data node: %v %v", ok, err)
	}
	return r.pos(b.lnum, b.offs)
}

func reseal(b []byte) {
	binary.LittleEndian.PutUint32(b[4:8], crc(b[8:]))
}

func TestHostile(t *testing.T) {
	img := fwtest.Fixture(t, "lzo.img.gz")
	rootOff, rootLen := rootIdx(t, img)
	tests := []struct {
		name    string
		mutate  func(b []byte) []byte
		wantErr bool // Extract returns an error (else: failures recorded)
	}{
		{"truncated to superblock", func(b []byte) []byte { return b[:8192] }, true},
		{"truncated before index", func(b []byte) []byte { return b[:rootOff] }, true},
		{"bad superblock crc", func(b []byte) []byte { b[100] ^= 1; return b }, true},
		{"masters corrupted", func(b []byte) []byte {
			sb, _ := parseSB(bytes.NewReader(b), int64(len(b)))
			for l := int64(1); l <= 2; l++ {
				b[l*sb.lebSize+30] ^= 0xFF
			}
			return b
		}, true},
		{"index branch points to itself", func(b []byte) []byte {
			n := b[rootOff : rootOff+rootLen]
			binary.LittleEndian.PutUint32(n[28:32], uint32(rootOff/16256))
			binary.LittleEndian.PutUint32(n[32:36], uint32(rootOff%16256))
			binary.LittleEndian.PutUint32(n[36:40], uint32(rootLen))
			reseal(n)
			return b
		}, true},
		{"index level huge", func(b []byte) []byte {
			n := b[rootOff : rootOff+rootLen]
			binary.LittleEndian.PutUint16(n[26:28], 60000)
			reseal(n)
			return b
		}, true},
		{"index node crc broken", func(b []byte) []byte {
			b[rootOff+40] ^= 1
			return b
		}, true},
	}
	dataOff := leafPos(t, img, "etc", "numbers.txt")
	tests = append(tests, struct {
		name    string
		mutate  func(b []byte) []byte
		wantErr bool
	}{"data node corrupted", func(b []byte) []byte { b[dataOff+60] ^= 1; return b }, false})
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := tc.mutate(append([]byte(nil), img...))
			s := fwtest.NewMemSink(1 << 24)
			src := bytes.NewReader(b)
			done := make(chan error, 1)
			go func() {
				_, err := New().Extract(context.Background(), src, int64(len(b)), s)
				done <- err
			}()
			select {
			case err := <-done:
				if tc.wantErr && err == nil {
					t.Error("want an error")
				}
				if !tc.wantErr {
					if err != nil {
						t.Errorf("unexpected error %v", err)
					}
					if len(s.Failed) != 1 || s.Failed[0].Path != "etc/numbers.txt" {
						t.Errorf("want one failure for etc/numbers.txt, got %+v", s.Failed)
					}
					if _, ok := s.Get("etc/motd"); !ok {
						t.Error("other files not extracted")
					}
				}
			case <-time.After(10 * time.Second):
				t.Fatal("extraction hangs")
			}
		})
	}
}

func TestHugeSparseFile(t *testing.T) {
	img := withJournal(t, fwtest.Fixture(t, "none.img.gz"))
	// Give journal.txt a size of 2^40: all holes after the first block.
	src := bytes.NewReader(img)
	sb, _ := parseSB(src, int64(len(img)))
	off := int64(len(img)) - sb.lebSize
	n := img[off : off+inoNodeSize]
	binary.LittleEndian.PutUint64(n[48:56], 1<<40)
	reseal(n)
	if _, _, err := fwtest.Run(context.Background(), New(), img, 1<<20); !errors.Is(err, firmware.ErrLimit) {
		t.Errorf("want the sink's limit error, got %v", err)
	}
}

func TestCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, _, err := fwtest.Run(ctx, New(), fwtest.Fixture(t, "zstd.img.gz"), 1<<24); err == nil {
		t.Error("want an error")
	}
}

func FuzzExtract(f *testing.F) {
	f.Add(sampleImage())
	for _, c := range []string{"lzo", "zlib", "zstd", "none"} {
		f.Add(fwtest.Fixture(f, c+".img.gz"))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		fwtest.Fuzz(context.Background(), New(), b)
	})
}

func TestSynthetic(t *testing.T) {
	img := sampleImage()
	s, n, err := fwtest.Run(context.Background(), New(), img, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	if n != int64(len(img)) || len(s.Failed) != 0 {
		t.Errorf("length %d of %d, failures %+v", n, len(img), s.Failed)
	}
	want := bytes.Repeat([]byte("0123456789abcdef"), 300)
	if it, ok := s.Get("d/file"); !ok || !bytes.Equal(it.Data, want) || it.Mode != 0o755|fs.ModeSetuid || it.UID != 1000 || it.GID != 100 {
		t.Errorf("d/file: %v %d bytes mode %v uid %d gid %d", ok, len(it.Data), it.Mode, it.UID, it.GID)
	}
	if it, _ := s.Get("d"); it.Type != firmware.TypeDir || it.Mode != 0o777|fs.ModeSticky {
		t.Errorf("d: %v %v", it.Type, it.Mode)
	}
	if it, _ := s.Get("d/hard"); it.Type != firmware.TypeHardlink || it.LinkTarget != "d/file" {
		t.Errorf("d/hard: %v %q", it.Type, it.LinkTarget)
	}
	if it, _ := s.Get("link"); it.Type != firmware.TypeSymlink || it.LinkTarget != "d/file" {
		t.Errorf("link: %v %q", it.Type, it.LinkTarget)
	}
	if it, _ := s.Get("tty"); it.Type != firmware.TypeCharDevice || it.DevMajor != 1 || it.DevMinor != 3 || it.Mode != 0o620 {
		t.Errorf("tty: %v %d,%d %v", it.Type, it.DevMajor, it.DevMinor, it.Mode)
	}
	if it, _ := s.Get("pipe"); it.Type != firmware.TypeFIFO {
		t.Errorf("pipe: %v", it.Type)
	}
}

func TestDirectoryCycle(t *testing.T) {
	dk := mkKey(1, keyDent, 1)
	sk := mkKey(2, keyDent, 1)
	img := genImage([]genNode{
		{mkKey(1, keyIno, 0), inoNodeData(1, 0, 3, 0o40755, nil, 1)},
		{mkKey(2, keyIno, 0), inoNodeData(2, 0, 2, 0o40755, nil, 2)},
		{dk, dentNode(dk, "a", 2, 3)},
		{sk, dentNode(sk, "up", 1, 4)},         // back to the root
		{sk + 1, dentNode(sk+1, "self", 2, 5)}, // to itself
	})
	done := make(chan struct{})
	var s *fwtest.MemSink
	go func() {
		s, _, _ = fwtest.Run(context.Background(), New(), img, 1<<20)
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("cycle not detected")
	}
	if len(s.Items) != 1 || len(s.Failed) != 2 {
		t.Errorf("items %v, failures %+v", s.Paths(), s.Failed)
	}
}
