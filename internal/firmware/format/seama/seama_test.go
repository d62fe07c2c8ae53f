package seama

import (
	"bytes"
	"crypto/md5"
	"encoding/binary"
	"errors"
	"testing"

	"github.com/netvet/netvet/internal/firmware/fwtest"
)

// handCrafted lays a SEAMA out by hand: magic, reserved 0, metasize 36
// ("dev=/dev/mtdblock/1\0type=firmware\0" padded to 36), image size 6,
// MD5 of the image, metadata, image.
func handCrafted() []byte {
	meta := []byte("dev=/dev/mtdblock/1\x00type=firmware\x00\x00\x00")
	img := []byte("kernel")
	d := md5.Sum(img)
	b := []byte{0x5e, 0xa3, 0xa4, 0x17, 0x00, 0x00, 0x00, byte(len(meta)), 0, 0, 0, byte(len(img))}
	b = append(b, d[:]...)
	b = append(b, meta...)
	return append(b, img...)
}

func TestHandCrafted(t *testing.T) {
	img := append(handCrafted(), 0xff, 0xff)
	s, n, err := fwtest.Run(t.Context(), New(), img, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	if n != int64(len(img)-2) {
		t.Errorf("n = %d", n)
	}
	it, ok := s.Get("firmware")
	if !ok || string(it.Data) != "kernel" || len(s.Failed) != 0 {
		t.Errorf("paths %v failed %+v", s.Paths(), s.Failed)
	}
	h, _ := ParseHeader(bytes.NewReader(img), int64(len(img)), 0)
	if v, _ := h.Value("dev"); v != "/dev/mtdblock/1" || len(h.Meta) != 2 {
		t.Errorf("meta %q", h.Meta)
	}
}

func TestVariants(t *testing.T) {
	payload := bytes.Repeat([]byte("payload"), 100)
	cases := []struct {
		name string
		img  []byte
		path string
	}{
		{"plain no type", Build([]string{"dev=/dev/mtdblock/2"}, payload), "image"},
		{"no metadata", Build(nil, payload), "image"},
		{"sealed", BuildSealed([]string{"signature=wrgac01_dlink.2013gui_dir850l"}, []string{"dev=/dev/mtdblock/1", "type=firmware"}, payload), "firmware"},
		{"bad type name", Build([]string{"type=../../x"}, payload), "image"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s, n, err := fwtest.Run(t.Context(), New(), tc.img, 1<<20)
			if err != nil || n != int64(len(tc.img)) || len(s.Failed) != 0 {
				t.Fatal(n, err, s.Failed)
			}
			if it, ok := s.Get(tc.path); !ok || !bytes.Equal(it.Data, payload) || len(s.Items) != 1 {
				t.Errorf("paths %v", s.Paths())
			}
		})
	}
	t.Run("header only", func(t *testing.T) {
		img := append(Build([]string{"signature=x"}, nil), "rest"...)
		s, n, err := fwtest.Run(t.Context(), New(), img, 1<<20)
		if err != nil || n != int64(len(img)-4) || len(s.Items) != 0 {
			t.Errorf("n %d err %v paths %v", n, err, s.Paths())
		}
	})
}

func TestHostile(t *testing.T) {
	t.Run("bad md5", func(t *testing.T) {
		img := handCrafted()
		img[len(img)-1] ^= 1
		s, _, err := fwtest.Run(t.Context(), New(), img, 1<<20)
		if err != nil || len(s.Items) != 1 || len(s.Failed) != 1 || !errors.Is(s.Failed[0].Err, ErrDigest) {
			t.Errorf("err %v failed %+v", err, s.Failed)
		}
	})
	t.Run("bad outer md5 of sealed", func(t *testing.T) {
		img := BuildSealed([]string{"signature=s"}, []string{"type=firmware"}, []byte("abc"))
		img[13] ^= 1 // outer digest
		s, _, err := fwtest.Run(t.Context(), New(), img, 1<<20)
		if err != nil || len(s.Failed) != 1 || s.Failed[0].Path != "" || !errors.Is(s.Failed[0].Err, ErrDigest) {
			t.Errorf("err %v failed %+v", err, s.Failed)
		}
	})
	t.Run("size past EOF", func(t *testing.T) {
		img := handCrafted()
		binary.BigEndian.PutUint32(img[8:], 0xffffffff)
		if _, _, err := fwtest.Run(t.Context(), New(), img, 1<<20); !errors.Is(err, ErrTruncated) {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("deep nesting", func(t *testing.T) {
		img := []byte("x")
		for range 20 {
			img = Build(nil, img)
		}
		s, n, err := fwtest.Run(t.Context(), New(), img, 1<<20)
		if err != nil || n != int64(len(img)) || len(s.Items) != 1 {
			t.Errorf("n %d err %v paths %v", n, err, s.Paths())
		}
	})
	for name, img := range map[string][]byte{
		"binary metadata": func() []byte { b := handCrafted(); b[30] = 1; return b }(),
		"reserved set":    func() []byte { b := handCrafted(); b[5] = 1; return b }(),
		"metasize past EOF": func() []byte {
			b := handCrafted()
			binary.BigEndian.PutUint16(b[6:], 0xffff)
			return b
		}(),
		"empty": {0x5e, 0xa3, 0xa4, 0x17, 0, 0, 0, 0, 0, 0, 0, 0},
		"short": {0x5e, 0xa3, 0xa4, 0x17, 0, 0},
	} {
		t.Run(name, func(t *testing.T) {
			if New().Identify(bytes.NewReader(img), int64(len(img))) {
				t.Error("identified")
			}
		})
	}
}

func FuzzExtract(f *testing.F) {
	f.Add(handCrafted())
	f.Add(BuildSealed([]string{"signature=s"}, []string{"type=firmware"}, []byte("abc")))
	f.Fuzz(func(t *testing.T, b []byte) {
		fwtest.Fuzz(t.Context(), New(), b)
	})
}
