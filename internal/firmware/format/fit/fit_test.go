package fit

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"

	"github.com/netvet/netvet/internal/firmware/fwtest"
)

func TestFixtures(t *testing.T) {
	want := map[string]string{
		"kernel-1.gz": "kernel-1.gz.expected",
		"fdt-1.dtb":   "fdt-1.dtb.expected",
		"ramdisk-1":   "ramdisk-1.expected",
	}
	for _, file := range []string{"embedded.itb", "external.itb", "position.itb"} {
		t.Run(file, func(t *testing.T) {
			img := fwtest.Fixture(t, file)
			s, n, err := fwtest.Run(t.Context(), New(), img, 1<<20)
			if err != nil {
				t.Fatal(err)
			}
			// external data may end with up to 3 bytes of padding
			if n > int64(len(img)) || n < int64(len(img))-3 {
				t.Errorf("n = %d, file is %d bytes", n, len(img))
			}
			if len(s.Failed) != 0 {
				t.Errorf("failed %+v", s.Failed)
			}
			if len(s.Items) != len(want) {
				t.Errorf("paths %v", s.Paths())
			}
			for p, exp := range want {
				it, ok := s.Get(p)
				if !ok || !bytes.Equal(it.Data, fwtest.Fixture(t, exp)) {
					t.Errorf("%s: ok=%v, content differs from %s", p, ok, exp)
				}
			}
		})
	}
}

func TestPlainDTBNotFIT(t *testing.T) {
	b := fwtest.Fixture(t, "plain.dtb")
	if New().Identify(bytes.NewReader(b), int64(len(b))) {
		t.Error("plain device tree identified as FIT")
	}
}

func TestBuild(t *testing.T) {
	ims := []Image{
		{Name: "kernel", Type: "kernel", Compression: "lzma", Data: []byte("kernel bytes")},
		{Name: "fdt", Type: "flat_dt", Compression: "none", Data: []byte{0xd0, 0x0d, 0xfe, 0xed, 1}},
	}
	for _, ext := range []bool{false, true} {
		img := Build(ims, ext)
		s, n, err := fwtest.Run(t.Context(), New(), img, 1<<20)
		if err != nil || len(s.Failed) != 0 || n > int64(len(img)) || n < int64(len(img))-3 {
			t.Fatalf("external=%v: n %d err %v failed %+v", ext, n, err, s.Failed)
		}
		if it, ok := s.Get("kernel.lzma"); !ok || string(it.Data) != "kernel bytes" {
			t.Errorf("external=%v: %v", ext, s.Paths())
		}
		if _, ok := s.Get("fdt.dtb"); !ok {
			t.Errorf("external=%v: %v", ext, s.Paths())
		}
	}
}

func TestHostile(t *testing.T) {
	t.Run("hash mismatch embedded", func(t *testing.T) {
		img := bytes.Clone(fwtest.Fixture(t, "embedded.itb"))
		k := fwtest.Fixture(t, "kernel-1.gz.expected")
		i := bytes.Index(img, k)
		img[i+100] ^= 0xff
		s, _, err := fwtest.Run(t.Context(), New(), img, 1<<20)
		if err != nil {
			t.Fatal(err)
		}
		if len(s.Failed) != 2 || !errors.Is(s.Failed[0].Err, ErrHash) || s.Failed[0].Path != "kernel-1.gz" {
			t.Errorf("failed %+v", s.Failed)
		}
		if _, ok := s.Get("kernel-1.gz"); !ok {
			t.Error("kernel not extracted")
		}
	})
	t.Run("hash mismatch external", func(t *testing.T) {
		img := bytes.Clone(fwtest.Fixture(t, "external.itb"))
		img[len(img)-10] ^= 0xff // inside the ramdisk data
		s, _, err := fwtest.Run(t.Context(), New(), img, 1<<20)
		if err != nil || len(s.Failed) != 1 || !errors.Is(s.Failed[0].Err, ErrHash) {
			t.Errorf("err %v failed %+v", err, s.Failed)
		}
	})
	t.Run("external data past EOF", func(t *testing.T) {
		img := fwtest.Fixture(t, "external.itb")
		img = img[:len(img)-200]
		s, _, err := fwtest.Run(t.Context(), New(), img, 1<<20)
		if err != nil || len(s.Failed) != 1 || !errors.Is(s.Failed[0].Err, ErrTruncated) || len(s.Items) != 2 {
			t.Errorf("err %v items %v failed %+v", err, s.Paths(), s.Failed)
		}
	})
	t.Run("huge data-size", func(t *testing.T) {
		img := Build([]Image{{Name: "k", Type: "kernel", Compression: "none", Data: []byte("abcd")}}, true)
		// the first 4-byte property is data-size: token, length, name, value
		i := bytes.Index(img, []byte{0, 0, 0, 3, 0, 0, 0, 4})
		binary.BigEndian.PutUint32(img[i+12:], 0xfffffff0)
		s, _, err := fwtest.Run(t.Context(), New(), img, 1<<20)
		if err != nil || len(s.Failed) != 1 || !errors.Is(s.Failed[0].Err, ErrTruncated) {
			t.Errorf("err %v failed %+v", err, s.Failed)
		}
	})
	t.Run("deep nesting", func(t *testing.T) {
		w := &fdtWriter{strOff: map[string]uint32{}}
		w.begin("")
		w.begin("images")
		for range 100 {
			w.begin("n")
		}
		for range 102 {
			w.end()
		}
		img := w.finish()
		if _, _, err := fwtest.Run(t.Context(), New(), img, 1<<20); err == nil {
			t.Error("no error")
		}
	})
	t.Run("totalsize past EOF", func(t *testing.T) {
		img := bytes.Clone(fwtest.Fixture(t, "embedded.itb"))
		binary.BigEndian.PutUint32(img[4:], 0x7fffffff)
		if New().Identify(bytes.NewReader(img), int64(len(img))) {
			t.Error("identified")
		}
	})
	t.Run("truncated structure", func(t *testing.T) {
		img := fwtest.Fixture(t, "embedded.itb")
		for _, cut := range []int{41, 100, 1000, len(img) - 1} {
			b := img[:cut]
			if New().Identify(bytes.NewReader(b), int64(len(b))) {
				t.Errorf("cut %d identified", cut)
			}
		}
	})
	t.Run("bad token", func(t *testing.T) {
		img := bytes.Clone(fwtest.Fixture(t, "embedded.itb"))
		off := binary.BigEndian.Uint32(img[8:])
		end := off + binary.BigEndian.Uint32(img[36:])
		binary.BigEndian.PutUint32(img[end-4:], 7) // replace FDT_END
		if _, _, err := fwtest.Run(t.Context(), New(), img, 1<<20); err == nil {
			t.Error("no error")
		}
	})
}

func FuzzExtract(f *testing.F) {
	for _, n := range []string{"embedded.itb", "external.itb", "plain.dtb"} {
		f.Add(fwtest.Fixture(f, n))
	}
	f.Add(Build([]Image{{Name: "k", Type: "kernel", Compression: "none", Data: []byte("abcd")}}, true))
	f.Fuzz(func(t *testing.T, b []byte) {
		fwtest.Fuzz(t.Context(), New(), b)
	})
}
