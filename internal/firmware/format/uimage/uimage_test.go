package uimage

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"testing"
	"time"

	"github.com/netvet/netvet/internal/firmware/fwtest"
)

func TestFixtures(t *testing.T) {
	mtime := time.Unix(1700000000, 0).UTC()
	cases := []struct {
		file string
		want map[string]string // entry path -> expected-content file ("" = skip content check)
		hdr  string
	}{
		{"kernel.uimage", map[string]string{"kernel.gz": "kernel.gz.expected"}, `"Linux-6.1.0" linux/arm kernel comp=gzip load=0x80008000 entry=0x80008000`},
		{"ramdisk.uimage", map[string]string{"ramdisk.lzma": ""}, `"ramdisk" linux/mips ramdisk comp=lzma`},
		{"multi.uimage", map[string]string{"multi-0": "multi-0.expected", "multi-1": "multi-1.expected", "multi-2": "multi-2.expected"}, `"multi" linux/arm multi comp=none`},
	}
	for _, tc := range cases {
		t.Run(tc.file, func(t *testing.T) {
			img := fwtest.Fixture(t, tc.file)
			h, err := ParseHeader(bytes.NewReader(img), int64(len(img)))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Contains([]byte(h.String()), []byte(tc.hdr)) {
				t.Errorf("header %s, want it to contain %s", h, tc.hdr)
			}
			s, n, err := fwtest.Run(t.Context(), New(), img, 1<<20)
			if err != nil {
				t.Fatal(err)
			}
			if n != int64(len(img)) {
				t.Errorf("Extract returned %d, want %d", n, len(img))
			}
			if len(s.Failed) != 0 {
				t.Errorf("failures: %+v", s.Failed)
			}
			if len(s.Items) != len(tc.want) {
				t.Errorf("paths %v, want %d entries", s.Paths(), len(tc.want))
			}
			for p, exp := range tc.want {
				it, ok := s.Get(p)
				if !ok {
					t.Fatalf("no entry %q in %v", p, s.Paths())
				}
				if !it.ModTime.Equal(mtime) {
					t.Errorf("%s: mtime %v, want %v", p, it.ModTime, mtime)
				}
				if exp != "" && !bytes.Equal(it.Data, fwtest.Fixture(t, exp)) {
					t.Errorf("%s: content differs from %s", p, exp)
				}
			}
		})
	}
}

// TestHandCrafted lays out a header byte by byte from the documented
// layout, with a CRC computed by a bitwise reference implementation.
func TestHandCrafted(t *testing.T) {
	data := []byte("hello, u-boot")
	hdr := make([]byte, 64)
	copy(hdr[0:], []byte{0x27, 0x05, 0x19, 0x56})
	copy(hdr[8:], []byte{0x65, 0x53, 0xf1, 0x00})               // time 1700000000
	copy(hdr[12:], []byte{0, 0, 0, byte(len(data))})            // size
	copy(hdr[16:], []byte{0x80, 0x00, 0x80, 0x00})              // load
	copy(hdr[20:], []byte{0x80, 0x00, 0x80, 0x40})              // entry
	binary.BigEndian.PutUint32(hdr[24:], fwtest.RefCRC32(data)) // data crc
	hdr[28], hdr[29], hdr[30], hdr[31] = 5, 22, 2, 0            // linux arm64 kernel none
	copy(hdr[32:], "hand")
	binary.BigEndian.PutUint32(hdr[4:], fwtest.RefCRC32(hdr))
	img := append(hdr, data...)
	img = append(img, 0xff, 0xff) // trailing bytes not part of the image
	s, n, err := fwtest.Run(t.Context(), New(), img, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	if n != 64+int64(len(data)) {
		t.Errorf("n = %d", n)
	}
	it, ok := s.Get("kernel")
	if !ok || !bytes.Equal(it.Data, data) || it.Offset != 64 {
		t.Fatalf("entries %v", s.Paths())
	}
	h, _ := ParseHeader(bytes.NewReader(img), int64(len(img)))
	if h.ArchName() != "arm64" || h.Load != 0x80008000 || h.Entry != 0x80008040 || h.Name != "hand" {
		t.Errorf("header %s", h)
	}
}

func TestBuildRoundTrip(t *testing.T) {
	parts := [][]byte{[]byte("one"), []byte("2"), []byte("three!!")}
	img := BuildMulti(Header{Name: "x", OS: OSLinux, Arch: ArchMIPS, Comp: CompGzip}, parts)
	s, n, err := fwtest.Run(t.Context(), New(), img, 1<<20)
	if err != nil || n != int64(len(img)) {
		t.Fatal(n, err)
	}
	for i, p := range parts {
		it, ok := s.Get("multi-" + string(rune('0'+i)) + ".gz")
		if !ok || !bytes.Equal(it.Data, p) {
			t.Errorf("part %d: %v", i, s.Paths())
		}
	}
	img = Build(Header{Type: TypeFlatDT}, []byte{0xd0, 0x0d, 0xfe, 0xed})
	s, _, err = fwtest.Run(t.Context(), New(), img, 1<<20)
	if _, ok := s.Get("fdt.dtb"); err != nil || !ok {
		t.Errorf("flat_dt: %v %v", err, s.Paths())
	}
}

func TestHostile(t *testing.T) {
	good := fwtest.Fixture(t, "kernel.uimage")
	t.Run("bad data crc still extracted", func(t *testing.T) {
		img := bytes.Clone(good)
		img[100] ^= 0xff
		s, n, err := fwtest.Run(t.Context(), New(), img, 1<<20)
		if err != nil || n != int64(len(img)) {
			t.Fatal(n, err)
		}
		if _, ok := s.Get("kernel.gz"); !ok {
			t.Error("payload not extracted")
		}
		if len(s.Failed) != 1 || !errors.Is(s.Failed[0].Err, ErrDataCRC) {
			t.Errorf("failed = %+v", s.Failed)
		}
	})
	t.Run("bad header crc not identified", func(t *testing.T) {
		img := bytes.Clone(good)
		img[40] ^= 1
		if New().Identify(bytes.NewReader(img), int64(len(img))) {
			t.Error("identified")
		}
	})
	t.Run("truncated", func(t *testing.T) {
		img := good[:len(good)-10]
		_, _, err := fwtest.Run(t.Context(), New(), img, 1<<20)
		if !errors.Is(err, ErrTruncated) {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("short header", func(t *testing.T) {
		if New().Identify(bytes.NewReader(good[:40]), 40) {
			t.Error("identified")
		}
	})
	t.Run("multi sizes past end", func(t *testing.T) {
		body := []byte{0, 0, 0, 8, 0x7f, 0xff, 0xff, 0xff, 0, 0, 0, 0, 'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'}
		img := build(Header{Type: TypeMulti}, body)
		s, n, err := fwtest.Run(t.Context(), New(), img, 1<<20)
		if err != nil || n != int64(len(img)) {
			t.Fatal(n, err)
		}
		if _, ok := s.Get("multi-0"); !ok || len(s.Failed) != 1 || !errors.Is(s.Failed[0].Err, ErrTruncated) {
			t.Errorf("items %v failed %+v", s.Paths(), s.Failed)
		}
	})
	t.Run("multi table without terminator", func(t *testing.T) {
		img := build(Header{Type: TypeMulti}, []byte{0, 0, 0, 1, 0, 0, 0, 1})
		if _, _, err := fwtest.Run(t.Context(), New(), img, 1<<20); err == nil {
			t.Error("no error")
		}
	})
	t.Run("multi huge table", func(t *testing.T) {
		body := bytes.Repeat([]byte{0, 0, 0, 1}, 4000)
		img := build(Header{Type: TypeMulti}, body)
		if _, _, err := fwtest.Run(t.Context(), New(), img, 1<<20); !errors.Is(err, ErrHeader) {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("crc mismatch on multi", func(t *testing.T) {
		img := bytes.Clone(fwtest.Fixture(t, "multi.uimage"))
		img[len(img)-1] ^= 1
		s, _, err := fwtest.Run(t.Context(), New(), img, 1<<20)
		if err != nil || len(s.Failed) != 1 || !errors.Is(s.Failed[0].Err, ErrDataCRC) {
			t.Errorf("err %v failed %+v", err, s.Failed)
		}
		if len(s.Items) != 3 {
			t.Errorf("items %v", s.Paths())
		}
	})
	_ = crc32.ChecksumIEEE
}

func FuzzExtract(f *testing.F) {
	for _, n := range []string{"kernel.uimage", "ramdisk.uimage", "multi.uimage"} {
		f.Add(fwtest.Fixture(f, n))
	}
	f.Add(BuildMulti(Header{}, [][]byte{[]byte("a"), []byte("bc")}))
	f.Fuzz(func(t *testing.T, b []byte) {
		fwtest.Fuzz(t.Context(), New(), b)
	})
}
