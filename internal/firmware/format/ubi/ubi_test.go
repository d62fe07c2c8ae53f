package ubi

import (
	"bytes"
	"context"
	"encoding/binary"
	"testing"

	"github.com/netvet/netvet/internal/firmware"
	"github.com/netvet/netvet/internal/firmware/fwtest"
)

func pattern(n int, base, mod byte) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = base + byte(i%int(mod))
	}
	return b
}

const peb = 16 << 10

func TestExtract(t *testing.T) {
	tests := []struct {
		name  string
		img   string
		lebSz int
		want  map[string][]byte // volume -> exact content
	}{
		{
			name:  "nor",
			img:   "nor.img.gz",
			lebSz: peb - 128,
			want: map[string][]byte{
				"rootfs": fwtest.Fixture(t, "nor.ubifs.gz"),
				"kernel": pattern(20000, 'A', 26),
				"bad_name": append(pattern(5000, 'a', 7),
					bytes.Repeat([]byte{0xFF}, peb-128-5000)...),
			},
		},
		{
			name:  "nand",
			img:   "nand.img.gz",
			lebSz: peb - 1024,
			want:  map[string][]byte{"rootfs": fwtest.Fixture(t, "nand.ubifs.gz")},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			img := fwtest.Fixture(t, tc.img)
			s, n, err := fwtest.Run(context.Background(), New(), img, 1<<24)
			if err != nil {
				t.Fatal(err)
			}
			if n != int64(len(img)) {
				t.Errorf("covered %d bytes, want %d", n, len(img))
			}
			if len(s.Failed) != 0 {
				t.Errorf("failures: %+v", s.Failed)
			}
			if len(s.Items) != len(tc.want) {
				t.Errorf("got volumes %v", s.Paths())
			}
			for name, want := range tc.want {
				it, ok := s.Get(name)
				if !ok {
					t.Errorf("volume %q missing (have %v)", name, s.Paths())
					continue
				}
				if it.Type != firmware.TypeFile {
					t.Errorf("%s: type %v", name, it.Type)
				}
				got := it.Data
				// A dynamic volume holds whole LEBs: the image, then 0xFF.
				if name == "rootfs" && len(got) >= len(want) && len(got)%tc.lebSz == 0 {
					if bytes.Count(got[len(want):], []byte{0xFF}) != len(got)-len(want) {
						t.Errorf("%s: tail is not erased", name)
					}
					got = got[:len(want)]
				}
				if !bytes.Equal(got, want) {
					t.Errorf("%s: %d bytes differ from the %d expected", name, len(it.Data), len(want))
				}
			}
		})
	}
}

// rewriteVID sets fields of the VID header of PEB i and fixes its CRC.
func rewriteVID(img []byte, i int, sqnum uint64, copyFlag byte, dataCRC uint32, dataSize uint32) {
	ec := img[i*peb:]
	vo := int(binary.BigEndian.Uint32(ec[16:20]))
	v := ec[vo : vo+64]
	v[6] = copyFlag
	binary.BigEndian.PutUint32(v[20:24], dataSize)
	binary.BigEndian.PutUint32(v[32:36], dataCRC)
	binary.BigEndian.PutUint64(v[40:48], sqnum)
	binary.BigEndian.PutUint32(v[60:64], crc(v[:60]))
}

// findPEB returns the PEB index holding volume vol, LEB lnum.
func findPEB(t *testing.T, img []byte, vol, lnum uint32) int {
	for i := 0; i*peb < len(img); i++ {
		ec := img[i*peb:]
		vo := int(binary.BigEndian.Uint32(ec[16:20]))
		v, ok := parseVID(ec[vo : vo+64])
		if ok && v.volID == vol && v.lnum == lnum {
			return i
		}
	}
	t.Fatalf("no PEB for volume %d LEB %d", vol, lnum)
	return -1
}

func TestDuplicateLEB(t *testing.T) {
	base := fwtest.Fixture(t, "nor.img.gz")
	const dataOff = 128
	raw := findPEB(t, base, 2, 0) // the "bad/name" volume's only LEB
	// Append a copy of that PEB with new data and a higher sqnum.
	mk := func(copyFlag byte, goodCRC bool) []byte {
		img := append([]byte(nil), base...)
		dup := append([]byte(nil), base[raw*peb:(raw+1)*peb]...)
		copy(dup[dataOff:], "NEWDATA")
		img = append(img, dup...)
		last := len(img)/peb - 1
		sum := crc(dup[dataOff : dataOff+5000])
		if !goodCRC {
			sum ^= 1
		}
		rewriteVID(img, last, 1<<40, copyFlag, sum, 5000)
		return img
	}
	for _, tc := range []struct {
		name    string
		img     []byte
		wantNew bool
	}{
		{"newer wins", mk(0, true), true},
		{"copy with good crc wins", mk(1, true), true},
		{"copy with bad crc loses", mk(1, false), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, _, err := fwtest.Run(context.Background(), New(), tc.img, 1<<24)
			if err != nil {
				t.Fatal(err)
			}
			it, ok := s.Get("bad_name")
			if !ok {
				t.Fatal("volume missing")
			}
			if got := bytes.HasPrefix(it.Data, []byte("NEWDATA")); got != tc.wantNew {
				t.Errorf("new copy chosen = %v, want %v", got, tc.wantNew)
			}
		})
	}
}

func TestBadPEB(t *testing.T) {
	img := fwtest.Fixture(t, "nor.img.gz")
	i := findPEB(t, img, 2, 0)
	img[i*peb+5] ^= 0xFF // EC header CRC now fails
	s, _, err := fwtest.Run(context.Background(), New(), img, 1<<24)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := s.Get("bad_name"); ok {
		t.Error("volume of a bad PEB still extracted")
	}
	if _, ok := s.Get("rootfs"); !ok {
		t.Error("rootfs missing")
	}
	if len(s.Failed) != 1 {
		t.Errorf("want one failure counting bad PEBs, got %+v", s.Failed)
	}
}

func TestHostile(t *testing.T) {
	img := fwtest.Fixture(t, "nor.img.gz")
	t.Run("truncated mid-volume", func(t *testing.T) {
		cut := img[:5*peb+100]
		s, n, err := fwtest.Run(context.Background(), New(), cut, 1<<24)
		if err != nil {
			t.Fatal(err)
		}
		if n != 5*peb {
			t.Errorf("covered %d", n)
		}
		// rootfs lost its tail LEBs: what remains is its first LEBs.
		it, ok := s.Get("rootfs")
		if !ok || len(it.Data) == 0 || len(it.Data)%(peb-128) != 0 {
			t.Errorf("rootfs: %v, %d bytes", ok, len(it.Data))
		}
	})
	t.Run("header only", func(t *testing.T) {
		_, _, err := fwtest.Run(context.Background(), New(), img[:200], 1<<24)
		if err == nil {
			t.Error("want an error")
		}
	})
	t.Run("huge lnum", func(t *testing.T) {
		b := append([]byte(nil), img...)
		i := findPEB(t, b, 2, 0)
		vo := 64
		v := b[i*peb+vo : i*peb+vo+64]
		binary.BigEndian.PutUint32(v[12:16], 0x3FFFFF)
		binary.BigEndian.PutUint32(v[60:64], crc(v[:60]))
		s, _, err := fwtest.Run(context.Background(), New(), b, 1<<20)
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := s.Get("bad_name"); ok || len(s.Failed) == 0 {
			t.Errorf("LEB past reserved PEBs accepted; failures %+v", s.Failed)
		}
	})
	t.Run("cancelled", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, _, err := fwtest.Run(ctx, New(), img, 1<<24)
		if err == nil {
			t.Error("want an error")
		}
	})
	t.Run("not ubi", func(t *testing.T) {
		if New().Identify(bytes.NewReader([]byte("UBI#xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx")), 92) {
			t.Error("garbage identified")
		}
	})
}

func TestSanitize(t *testing.T) {
	for in, want := range map[string]string{
		"rootfs": "rootfs", "": "vol-3", "..": "vol-3", "a/b": "a_b", "//": "vol-3", "x\x00y": "x_y",
	} {
		if got := sanitize(in, 3); got != want {
			t.Errorf("sanitize(%q) = %q, want %q", in, got, want)
		}
	}
}

func FuzzExtract(f *testing.F) {
	f.Add(smallImage())
	for _, n := range []string{"nor.img.gz", "nand.img.gz"} {
		b := fwtest.Fixture(f, n)
		f.Add(b)
		f.Add(b[:3*peb])
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		fwtest.Fuzz(context.Background(), New(), b)
	})
}

func TestSynthetic(t *testing.T) {
	img := smallImage()
	s, n, err := fwtest.Run(context.Background(), New(), img, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	if n != int64(len(img)) {
		t.Errorf("covered %d of %d", n, len(img))
	}
	data, ok := s.Get("data")
	if !ok || len(data.Data) != 3*896 {
		t.Fatalf("data volume: %v, %d bytes", ok, len(data.Data))
	}
	if data.Data[0] != 'a' || bytes.Count(data.Data[896:2*896], []byte{0xFF}) != 896 || string(data.Data[2*896:2*896+3]) != "end" {
		t.Error("data volume: wrong layout (LEB 1 must be erased)")
	}
	fw, ok := s.Get("fw")
	if !ok || len(fw.Data) != 1000 || fw.Data[896] != 'A' {
		t.Errorf("static volume: %v, %d bytes", ok, len(fw.Data))
	}
}

// A bad PEB right after the first must not double the detected PEB size.
func TestBadSecondPEB(t *testing.T) {
	img := fwtest.Fixture(t, "nor.img.gz")
	img[peb+5] ^= 0xFF
	s, n, err := fwtest.Run(context.Background(), New(), img, 1<<24)
	if err != nil {
		t.Fatal(err)
	}
	if n != int64(len(img)) {
		t.Errorf("covered %d, want %d", n, len(img))
	}
	for _, v := range []string{"rootfs", "kernel", "bad_name"} {
		if _, ok := s.Get(v); !ok {
			t.Errorf("%s missing (have %v)", v, s.Paths())
		}
	}
}
