package hwnp

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"

	"github.com/netvet/netvet/internal/firmware/fwtest"
)

// handCrafted lays a package out by hand following the published layout:
// 36-byte header, 8-byte product list "COMMON|\0", two 360-byte items,
// then the data of each item.
func handCrafted() []byte {
	le := binary.LittleEndian
	prod := []byte("COMMON|\x00")
	d0, d1 := []byte("<upgradecheck/>"), []byte("UBOOT-IMAGE")
	tableEnd := 36 + len(prod) + 2*360
	b := make([]byte, 36)
	copy(b, "HWNP")
	le.PutUint32(b[12:], uint32(tableEnd))
	le.PutUint32(b[20:], 2)   // items
	le.PutUint16(b[26:], 8)   // product list size
	le.PutUint32(b[28:], 360) // item record size
	b = append(b, prod...)
	item := func(i int, name, section string, data []byte, off int) []byte {
		r := make([]byte, 360)
		le.PutUint32(r[0:], uint32(i))
		le.PutUint32(r[4:], fwtest.RefCRC32(data))
		le.PutUint32(r[8:], uint32(off))
		le.PutUint32(r[12:], uint32(len(data)))
		copy(r[16:], name)
		copy(r[272:], section)
		copy(r[288:], "V100R001")
		return r
	}
	b = append(b, item(0, "file:/var/UpgradeCheck.xml", "UPGRDCHECK", d0, tableEnd)...)
	b = append(b, item(1, "flash:uboot", "UBOOT", d1, tableEnd+len(d0))...)
	b = append(b, d0...)
	b = append(b, d1...)
	binary.BigEndian.PutUint32(b[4:], uint32(len(b)-76))
	le.PutUint32(b[16:], fwtest.RefCRC32(b[20:tableEnd]))
	le.PutUint32(b[8:], fwtest.RefCRC32(b[12:]))
	return b
}

func TestHandCrafted(t *testing.T) {
	img := append(handCrafted(), "trailing"...)
	s, n, err := fwtest.Run(t.Context(), New(), img, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	if n != int64(len(img)-8) {
		t.Errorf("n = %d, want %d", n, len(img)-8)
	}
	if len(s.Failed) != 0 {
		t.Errorf("failed %+v", s.Failed)
	}
	for p, c := range map[string]string{"file/var/UpgradeCheck.xml": "<upgradecheck/>", "flash/uboot": "UBOOT-IMAGE"} {
		if it, ok := s.Get(p); !ok || string(it.Data) != c {
			t.Errorf("%s: %q (paths %v)", p, it.Data, s.Paths())
		}
	}
	h, err := ParseHeader(bytes.NewReader(img), int64(len(img)))
	if err != nil || h.Products != "COMMON|" || h.Items[1].Section != "UBOOT" || h.Items[0].Version != "V100R001" {
		t.Errorf("header %+v %v", h, err)
	}
	if !bytes.Equal(Build("COMMON|", []BuildItem{
		{Name: "file:/var/UpgradeCheck.xml", Section: "UPGRDCHECK", Version: "V100R001", Data: []byte("<upgradecheck/>")},
		{Name: "flash:uboot", Section: "UBOOT", Version: "V100R001", Data: []byte("UBOOT-IMAGE")},
	}), handCrafted()) {
		t.Error("Build differs from the hand-made layout")
	}
}

func TestHostile(t *testing.T) {
	good := handCrafted()
	le := binary.LittleEndian
	mod := func(f func(b []byte)) []byte { b := bytes.Clone(good); f(b); return b }
	itemAt := func(i int) int { return 36 + 8 + i*360 }
	t.Run("bad item crc", func(t *testing.T) {
		img := mod(func(b []byte) { b[len(b)-1] ^= 1 })
		s, _, err := fwtest.Run(t.Context(), New(), img, 1<<20)
		if err != nil {
			t.Fatal(err)
		}
		// item CRC and file CRC fail; both items are still extracted
		if len(s.Items) != 2 || len(s.Failed) != 2 || s.Failed[0].Path != "flash/uboot" || !errors.Is(s.Failed[0].Err, ErrCRC) {
			t.Errorf("items %v failed %+v", s.Paths(), s.Failed)
		}
	})
	t.Run("bad header crc", func(t *testing.T) {
		img := mod(func(b []byte) { b[itemAt(0)+300] = 'X' })
		s, _, err := fwtest.Run(t.Context(), New(), img, 1<<20)
		if err != nil || len(s.Failed) == 0 || s.Failed[0].Path != "" || !errors.Is(s.Failed[0].Err, ErrCRC) {
			t.Errorf("err %v failed %+v", err, s.Failed)
		}
	})
	t.Run("item past EOF", func(t *testing.T) {
		img := mod(func(b []byte) { le.PutUint32(b[itemAt(1)+12:], 0xfffffff0) })
		s, n, err := fwtest.Run(t.Context(), New(), img, 1<<20)
		if err != nil || len(s.Items) != 1 || !errors.Is(failedFor(s, "flash/uboot"), ErrTruncated) || n <= 0 {
			t.Errorf("err %v items %v failed %+v", err, s.Paths(), s.Failed)
		}
	})
	t.Run("item inside header", func(t *testing.T) {
		img := mod(func(b []byte) { le.PutUint32(b[itemAt(1)+8:], 0) })
		s, _, err := fwtest.Run(t.Context(), New(), img, 1<<20)
		if err != nil || len(s.Items) != 1 || !errors.Is(failedFor(s, "flash/uboot"), ErrHeader) {
			t.Errorf("err %v items %v failed %+v", err, s.Paths(), s.Failed)
		}
	})
	for name, img := range map[string][]byte{
		"huge item count":  mod(func(b []byte) { le.PutUint32(b[20:], 0xffffffff) }),
		"count past EOF":   mod(func(b []byte) { le.PutUint32(b[20:], 1000) }),
		"zero items":       mod(func(b []byte) { le.PutUint32(b[20:], 0) }),
		"tiny record":      mod(func(b []byte) { le.PutUint32(b[28:], 16) }),
		"huge record":      mod(func(b []byte) { le.PutUint32(b[28:], 1<<30) }),
		"binary item name": mod(func(b []byte) { b[itemAt(0)+16] = 1 }),
		"short":            good[:30],
	} {
		t.Run(name, func(t *testing.T) {
			if New().Identify(bytes.NewReader(img), int64(len(img))) {
				t.Error("identified")
			}
		})
	}
	t.Run("many items", func(t *testing.T) {
		var items []BuildItem
		for range maxItems {
			items = append(items, BuildItem{Name: "flash:x", Data: []byte{1}})
		}
		img := Build("", items)
		s, n, err := fwtest.Run(t.Context(), New(), img, 1<<20)
		if err != nil || n != int64(len(img)) || len(s.Items) != maxItems || len(s.Failed) != 0 {
			t.Errorf("n %d err %v items %d failed %d", n, err, len(s.Items), len(s.Failed))
		}
	})
}

func failedFor(s *fwtest.MemSink, path string) error {
	for _, f := range s.Failed {
		if f.Path == path {
			return f.Err
		}
	}
	return nil
}

func FuzzExtract(f *testing.F) {
	f.Add(handCrafted())
	f.Fuzz(func(t *testing.T, b []byte) {
		fwtest.Fuzz(t.Context(), New(), b)
	})
}
