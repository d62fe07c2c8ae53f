package tplink

import (
	"bytes"
	"crypto/md5"
	"encoding/binary"
	"errors"
	"testing"

	"github.com/netvet/netvet/internal/firmware/fwtest"
)

// handCraftedV1 follows the documented v1 layout: version word at 0,
// vendor at 4, version string at 0x1c, hardware ID at 0x40, MD5 at 0x4c,
// then load address, entry, firmware length, kernel and rootfs offsets
// and lengths from 0x74. The MD5 is taken with the normal salt in place.
func handCraftedV1() []byte {
	be := binary.BigEndian
	b := make([]byte, 0x200)
	copy(b, []byte{0x01, 0, 0, 0})
	copy(b[4:], "TP-LINK Technologies")
	copy(b[0x1c:], "ver. 1.0")
	copy(b[0x40:], []byte{0x08, 0x41, 0x00, 0x08}) // TL-WR841N v8
	be.PutUint32(b[0x44:], 1)
	be.PutUint32(b[0x74:], 0x80060000) // kernel_la
	be.PutUint32(b[0x78:], 0x80060000) // kernel_ep
	be.PutUint32(b[0x7c:], 0x200+8+8)  // fw_length
	be.PutUint32(b[0x80:], 0x200)      // kernel_ofs
	be.PutUint32(b[0x84:], 8)          // kernel_len
	be.PutUint32(b[0x88:], 0x208)      // rootfs_ofs
	be.PutUint32(b[0x8c:], 8)          // rootfs_len
	b = append(b, "KERNEL!!ROOTFS.."...)
	copy(b[0x4c:], []byte{0xdc, 0xd7, 0x3a, 0xa5, 0xc3, 0x95, 0x98, 0xfb, 0xdd, 0xf9, 0xe7, 0xf4, 0x0e, 0xae, 0x47, 0x38})
	sum := md5.Sum(b)
	copy(b[0x4c:], sum[:])
	return b
}

func TestHandCrafted(t *testing.T) {
	img := append(handCraftedV1(), 0xff, 0xff, 0xff, 0xff)
	s, n, err := fwtest.Run(t.Context(), New(), img, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	if n != 0x210 || len(s.Failed) != 0 {
		t.Errorf("n = %#x failed %+v", n, s.Failed)
	}
	for p, c := range map[string]string{"kernel": "KERNEL!!", "rootfs": "ROOTFS.."} {
		if it, ok := s.Get(p); !ok || string(it.Data) != c {
			t.Errorf("%s: %q", p, it.Data)
		}
	}
	h, _ := ParseHeader(bytes.NewReader(img), int64(len(img)))
	if h.HWID != 0x08410008 || h.Vendor != "TP-LINK Technologies" || h.FWVersion != "ver. 1.0" {
		t.Errorf("header %+v", h)
	}
}

func TestBuild(t *testing.T) {
	for _, v := range []int{1, 2} {
		for _, rootfs := range [][]byte{nil, []byte("hsqs....")} {
			img := Build(v, []byte("kernel-x"), rootfs)
			s, n, err := fwtest.Run(t.Context(), New(), img, 1<<20)
			if err != nil || n != int64(len(img)) || len(s.Failed) != 0 {
				t.Fatalf("v%d: n %d err %v failed %+v", v, n, err, s.Failed)
			}
			if it, ok := s.Get("kernel"); !ok || string(it.Data) != "kernel-x" {
				t.Errorf("v%d kernel %q", v, it.Data)
			}
			if it, ok := s.Get("rootfs"); ok != (rootfs != nil) || ok && !bytes.Equal(it.Data, rootfs) {
				t.Errorf("v%d rootfs %q", v, it.Data)
			}
		}
	}
}

func TestBootloader(t *testing.T) {
	b := handCraftedV1()
	be := binary.BigEndian
	// bootloader: 4 bytes at 0x20c, inside the firmware length; boot salt
	be.PutUint32(b[0x8c:], 4)     // shrink rootfs to 4 bytes
	be.PutUint32(b[0x90:], 0x20c) // boot_ofs
	be.PutUint32(b[0x94:], 4)     // boot_len
	copy(b[0x4c:], []byte{0x8c, 0xef, 0x33, 0x5b, 0xd5, 0xc5, 0xce, 0xfa, 0xa7, 0x9c, 0x28, 0xda, 0xb2, 0xe9, 0x0f, 0x42})
	sum := md5.Sum(b)
	copy(b[0x4c:], sum[:])
	s, _, err := fwtest.Run(t.Context(), New(), b, 1<<20)
	if err != nil || len(s.Failed) != 0 {
		t.Fatal(err, s.Failed)
	}
	if it, ok := s.Get("bootloader"); !ok || string(it.Data) != "FS.." {
		t.Errorf("bootloader %q %v", it.Data, s.Paths())
	}
}

func TestHostile(t *testing.T) {
	good := handCraftedV1()
	be := binary.BigEndian
	mod := func(f func(b []byte)) []byte { b := bytes.Clone(good); f(b); return b }
	t.Run("bad md5", func(t *testing.T) {
		img := mod(func(b []byte) { b[0x205] ^= 1 })
		s, _, err := fwtest.Run(t.Context(), New(), img, 1<<20)
		if err != nil || len(s.Items) != 2 || len(s.Failed) != 1 || !errors.Is(s.Failed[0].Err, ErrMD5) {
			t.Errorf("err %v failed %+v", err, s.Failed)
		}
	})
	t.Run("truncated", func(t *testing.T) {
		img := good[:0x20c]
		s, n, err := fwtest.Run(t.Context(), New(), img, 1<<20)
		if err != nil || n != 0x208 || len(s.Items) != 1 {
			t.Fatalf("n %d err %v items %v", n, err, s.Paths())
		}
		var sawTrunc, sawUnverified bool
		for _, f := range s.Failed {
			sawTrunc = sawTrunc || errors.Is(f.Err, ErrTruncated)
			sawUnverified = sawUnverified || errors.Is(f.Err, ErrUnverified)
		}
		if !sawTrunc || !sawUnverified {
			t.Errorf("failed %+v", s.Failed)
		}
	})
	t.Run("header only", func(t *testing.T) {
		if _, _, err := fwtest.Run(t.Context(), New(), good[:0x200], 1<<20); !errors.Is(err, ErrTruncated) {
			t.Errorf("err = %v", err)
		}
	})
	for name, img := range map[string][]byte{
		"overlap":           mod(func(b []byte) { be.PutUint32(b[0x88:], 0x204) }),
		"kernel in header":  mod(func(b []byte) { be.PutUint32(b[0x80:], 0x10) }),
		"part past length":  mod(func(b []byte) { be.PutUint32(b[0x8c:], 0xffffffff) }),
		"huge offset":       mod(func(b []byte) { be.PutUint32(b[0x88:], 0xfffffff0) }),
		"bad version":       mod(func(b []byte) { b[0] = 7 }),
		"binary vendor":     mod(func(b []byte) { b[5] = 1 }),
		"v2 without marker": mod(func(b []byte) { b[0] = 2 }),
		"short":             good[:0x100],
	} {
		t.Run(name, func(t *testing.T) {
			if New().Identify(bytes.NewReader(img), int64(len(img))) {
				t.Error("identified")
			}
		})
	}
}

func FuzzExtract(f *testing.F) {
	f.Add(handCraftedV1())
	f.Add(Build(2, []byte("k"), []byte("r")))
	f.Fuzz(func(t *testing.T, b []byte) {
		fwtest.Fuzz(t.Context(), New(), b)
	})
}
