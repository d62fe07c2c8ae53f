package trx

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"testing"

	"github.com/netvet/netvet/internal/firmware/fwtest"
)

// handCrafted lays out a v1 TRX byte by byte as the format documents it:
// "HDR0", len, crc32 (register without final inversion, over bytes 12..len),
// flag_version (flags 0x0001, version 1), offsets 28, 36, 0.
func handCrafted() []byte {
	img := []byte{
		'H', 'D', 'R', '0',
		44, 0, 0, 0, // len
		0, 0, 0, 0, // crc, filled below
		0x01, 0x00, 0x01, 0x00, // flags=1, version=1
		28, 0, 0, 0,
		36, 0, 0, 0,
		0, 0, 0, 0,
		'l', 'o', 'a', 'd', 'e', 'r', '!', '!',
		'r', 'o', 'o', 't', 'f', 's', '.', '.',
	}
	c := ^uint32(0)
	for _, x := range img[12:] {
		c ^= uint32(x)
		for range 8 {
			if c&1 != 0 {
				c = c>>1 ^ 0xedb88320
			} else {
				c >>= 1
			}
		}
	}
	binary.LittleEndian.PutUint32(img[8:], c)
	return img
}

func TestHandCrafted(t *testing.T) {
	img := append(handCrafted(), 0xde, 0xad) // trailing bytes outside len
	s, n, err := fwtest.Run(t.Context(), New(), img, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	if n != 44 {
		t.Errorf("n = %d, want 44", n)
	}
	if len(s.Failed) != 0 {
		t.Errorf("failed: %+v", s.Failed)
	}
	want := map[string]string{"partition-0": "loader!!", "partition-1": "rootfs.."}
	if len(s.Items) != len(want) {
		t.Errorf("paths %v", s.Paths())
	}
	for p, c := range want {
		it, ok := s.Get(p)
		if !ok || string(it.Data) != c {
			t.Errorf("%s: %q %v", p, it.Data, ok)
		}
	}
	h, _ := ParseHeader(bytes.NewReader(img), int64(len(img)))
	if h.Flags != 1 || h.Version != 1 {
		t.Errorf("header %+v", h)
	}
}

func TestBuild(t *testing.T) {
	for _, np := range []int{1, 2, 3, 4} {
		t.Run(fmt.Sprint(np), func(t *testing.T) {
			var parts [][]byte
			for i := range np {
				parts = append(parts, bytes.Repeat([]byte{byte('a' + i)}, 5+i*7))
			}
			img := Build(parts)
			s, n, err := fwtest.Run(t.Context(), New(), img, 1<<20)
			if err != nil || n != int64(len(img)) || len(s.Failed) != 0 {
				t.Fatal(n, err, s.Failed)
			}
			h, _ := ParseHeader(bytes.NewReader(img), int64(len(img)))
			if wantV := map[bool]uint16{true: 2, false: 1}[np == 4]; h.Version != wantV {
				t.Errorf("version %d", h.Version)
			}
			for i, p := range parts {
				it, ok := s.Get(fmt.Sprintf("partition-%d", i))
				// a partition runs to the next offset: padding belongs to it
				if !ok || !bytes.HasPrefix(it.Data, p) || len(it.Data)-len(p) > 3 {
					t.Errorf("partition %d: %q", i, it.Data)
				}
			}
		})
	}
}

func TestHostile(t *testing.T) {
	good := handCrafted()
	le := binary.LittleEndian
	mod := func(f func(b []byte)) []byte { b := bytes.Clone(good); f(b); return b }
	t.Run("bad crc", func(t *testing.T) {
		img := mod(func(b []byte) { b[40] ^= 0xff })
		s, _, err := fwtest.Run(t.Context(), New(), img, 1<<20)
		if err != nil || len(s.Items) != 2 || len(s.Failed) != 1 || !errors.Is(s.Failed[0].Err, ErrCRC) {
			t.Errorf("err %v items %v failed %+v", err, s.Paths(), s.Failed)
		}
	})
	notIdentified := map[string][]byte{
		"decreasing offsets": mod(func(b []byte) { le.PutUint32(b[16:], 36); le.PutUint32(b[20:], 28) }),
		"equal offsets":      mod(func(b []byte) { le.PutUint32(b[20:], 28) }),
		"offset in header":   mod(func(b []byte) { le.PutUint32(b[16:], 8) }),
		"offset past len":    mod(func(b []byte) { le.PutUint32(b[20:], 1000) }),
		"len below header":   mod(func(b []byte) { le.PutUint32(b[4:], 10) }),
		"version 3":          mod(func(b []byte) { b[14] = 3 }),
		"no partitions":      mod(func(b []byte) { clear(b[16:28]) }),
		"short":              good[:20],
	}
	for name, img := range notIdentified {
		t.Run(name, func(t *testing.T) {
			if New().Identify(bytes.NewReader(img), int64(len(img))) {
				t.Error("identified")
			}
		})
	}
	t.Run("len past EOF", func(t *testing.T) {
		img := mod(func(b []byte) { le.PutUint32(b[4:], 0xfffffff0) })
		if _, _, err := fwtest.Run(t.Context(), New(), img, 1<<20); !errors.Is(err, ErrTruncated) {
			t.Errorf("err = %v", err)
		}
	})
}

func FuzzExtract(f *testing.F) {
	f.Add(handCrafted())
	f.Add(Build([][]byte{[]byte("a"), []byte("bb"), []byte("ccc"), []byte("dddd")}))
	f.Fuzz(func(t *testing.T, b []byte) {
		fwtest.Fuzz(t.Context(), New(), b)
	})
}
