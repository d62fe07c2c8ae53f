package chk

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"

	"github.com/netvet/netvet/internal/firmware/fwtest"
)

// refSum is a plain transcription of the published Netgear checksum.
func refSum(data []byte) uint32 {
	var c0, c1 uint32
	for _, b := range data {
		c0 += uint32(b)
		c1 += c0
	}
	b := (c0 & 65535) + ((c0 >> 16) & 65535)
	c0 = ((b >> 16) + b) & 65535
	b = (c1 & 65535) + ((c1 >> 16) & 65535)
	c1 = ((b >> 16) + b) & 65535
	return c1<<16 | c0
}

// handCrafted lays out a CHK by hand: 40-byte header plus the 18-byte board
// ID of an EX3700 (header length 58, as Netgear ships it), kernel "AB",
// rootfs "xyz".
func handCrafted() []byte {
	img := []byte{
		0x2a, 0x23, 0x24, 0x5e, // magic
		0, 0, 0, 58, // header length
		1, 1, 0, 0, 22, 1, 0, 17, // region WW, version 1.0.0.22_1.0.17
		0x00, 0xc4, 0x00, 0x83, // kernel checksum of "AB": c0=0x83, c1=0x41+0x83
		0, 0, 0, 0, // rootfs checksum, filled below
		0, 0, 0, 2, // kernel length
		0, 0, 0, 3, // rootfs length
		0, 0, 0, 0, // image checksum
		0, 0, 0, 0, // header checksum
	}
	img = append(img, "U12H319T00_NETGEAR"...)
	binary.BigEndian.PutUint32(img[20:], refSum([]byte("xyz")))
	binary.BigEndian.PutUint32(img[32:], refSum([]byte("ABxyz")))
	binary.BigEndian.PutUint32(img[36:], refSum(img))
	return append(img, "ABxyz"...)
}

func TestHandCrafted(t *testing.T) {
	img := append(handCrafted(), 0xff, 0xff, 0xff)
	s, n, err := fwtest.Run(t.Context(), New(), img, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	if n != 63 {
		t.Errorf("n = %d, want 63", n)
	}
	if len(s.Failed) != 0 {
		t.Errorf("failed %+v", s.Failed)
	}
	for p, c := range map[string]string{"kernel": "AB", "rootfs": "xyz"} {
		if it, ok := s.Get(p); !ok || string(it.Data) != c {
			t.Errorf("%s: %q", p, it.Data)
		}
	}
	h, err := ParseHeader(bytes.NewReader(img), int64(len(img)))
	if err != nil || h.BoardID != "U12H319T00_NETGEAR" || h.VersionString() != "1.0.0.22_1.0.17" || h.Region != 1 {
		t.Errorf("header %+v %v", h, err)
	}
}

func TestBuild(t *testing.T) {
	k := bytes.Repeat([]byte{0xff}, 300000) // long enough for the sums to wrap 16 bits
	for _, rootfs := range [][]byte{nil, []byte("squashfs...")} {
		img := Build("U12H072T00_NETGEAR", k, rootfs)
		s, n, err := fwtest.Run(t.Context(), New(), img, 1<<20)
		if err != nil || n != int64(len(img)) || len(s.Failed) != 0 {
			t.Fatal(n, err, s.Failed)
		}
		if it, _ := s.Get("kernel"); !bytes.Equal(it.Data, k) {
			t.Error("kernel differs")
		}
		_, hasRoot := s.Get("rootfs")
		if hasRoot != (len(rootfs) > 0) {
			t.Errorf("rootfs present = %v", hasRoot)
		}
		var c Checksum
		c.Write(k)
		if c.Sum32() != refSum(k) {
			t.Error("checksum differs from reference")
		}
	}
}

func TestHostile(t *testing.T) {
	good := handCrafted()
	mod := func(f func(b []byte)) []byte { b := bytes.Clone(good); f(b); return b }
	t.Run("bad kernel checksum", func(t *testing.T) {
		img := mod(func(b []byte) { b[58] = 'Z' })
		s, _, err := fwtest.Run(t.Context(), New(), img, 1<<20)
		if err != nil {
			t.Fatal(err)
		}
		// kernel and image checksums both fail; content still extracted
		if len(s.Failed) != 2 || s.Failed[0].Path != "kernel" || !errors.Is(s.Failed[0].Err, ErrChecksum) {
			t.Errorf("failed %+v", s.Failed)
		}
		if _, ok := s.Get("kernel"); !ok {
			t.Error("kernel not extracted")
		}
	})
	t.Run("bad header checksum", func(t *testing.T) {
		img := mod(func(b []byte) { b[12] = 99 })
		s, _, err := fwtest.Run(t.Context(), New(), img, 1<<20)
		if err != nil || len(s.Failed) != 1 || !errors.Is(s.Failed[0].Err, ErrChecksum) {
			t.Errorf("err %v failed %+v", err, s.Failed)
		}
	})
	t.Run("lengths past EOF", func(t *testing.T) {
		img := mod(func(b []byte) { binary.BigEndian.PutUint32(b[28:], 0xffffffff) })
		if _, _, err := fwtest.Run(t.Context(), New(), img, 1<<20); !errors.Is(err, ErrTruncated) {
			t.Errorf("err = %v", err)
		}
	})
	for name, img := range map[string][]byte{
		"header length huge":  mod(func(b []byte) { binary.BigEndian.PutUint32(b[4:], 0x7fffffff) }),
		"header length small": mod(func(b []byte) { binary.BigEndian.PutUint32(b[4:], 12) }),
		"board id binary":     mod(func(b []byte) { b[45] = 1 }),
		"empty kernel":        mod(func(b []byte) { binary.BigEndian.PutUint32(b[24:], 0) }),
		"short":               good[:30],
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
	f.Add(Build("B", []byte("k"), nil))
	f.Fuzz(func(t *testing.T, b []byte) {
		fwtest.Fuzz(t.Context(), New(), b)
	})
}
