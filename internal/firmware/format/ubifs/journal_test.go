package ubifs

import (
	"bytes"
	"context"
	"encoding/binary"
	"testing"

	"github.com/netvet/netvet/internal/firmware"
	"github.com/netvet/netvet/internal/firmware/fwtest"
)

// seal sets a node's common header and CRC.
func seal(b []byte, typ uint8, sqnum uint64) []byte {
	binary.LittleEndian.PutUint32(b[0:4], nodeMagic)
	binary.LittleEndian.PutUint64(b[8:16], sqnum)
	binary.LittleEndian.PutUint32(b[16:20], uint32(len(b)))
	b[20] = typ
	binary.LittleEndian.PutUint32(b[4:8], crc(b[8:]))
	return b
}

func putKey(b []byte, k uint64) {
	binary.LittleEndian.PutUint32(b[0:4], uint32(k>>32))
	binary.LittleEndian.PutUint32(b[4:8], uint32(k))
}

func inoNode(inum uint32, size uint64, nlink, mode uint32, sq uint64) []byte {
	b := make([]byte, inoNodeSize)
	putKey(b[24:], mkKey(inum, keyIno, 0))
	binary.LittleEndian.PutUint64(b[48:56], size)
	binary.LittleEndian.PutUint32(b[92:96], nlink)
	binary.LittleEndian.PutUint32(b[104:108], mode)
	return seal(b, typeIno, sq)
}

func dataNode(inum, blk uint32, data string, sq uint64) []byte {
	b := make([]byte, dataNodeSize+len(data))
	putKey(b[24:], mkKey(inum, keyData, blk))
	binary.LittleEndian.PutUint32(b[40:44], uint32(len(data)))
	copy(b[dataNodeSize:], data)
	return seal(b, typeData, sq)
}

func dentNode(key uint64, name string, inum uint64, sq uint64) []byte {
	b := make([]byte, dentNodeSize+len(name)+1)
	putKey(b[24:], key)
	binary.LittleEndian.PutUint64(b[40:48], inum)
	binary.LittleEndian.PutUint16(b[50:52], uint16(len(name)))
	copy(b[dentNodeSize:], name)
	return seal(b, typeDent, sq)
}

func trunNode(inum uint32, oldSize, newSize uint64, sq uint64) []byte {
	b := make([]byte, trunNodeSize)
	binary.LittleEndian.PutUint32(b[24:28], inum)
	binary.LittleEndian.PutUint64(b[40:48], oldSize)
	binary.LittleEndian.PutUint64(b[48:56], newSize)
	return seal(b, typeTrun, sq)
}

// withJournal appends a bud LEB to a clean mkfs.ubifs image and a
// reference to it in the log, as a mounted file system would leave them.
func withJournal(t *testing.T, img []byte) []byte {
	t.Helper()
	src := bytes.NewReader(img)
	sb, err := parseSB(src, int64(len(img)))
	if err != nil {
		t.Fatal(err)
	}
	r := &reader{ctx: context.Background(), src: src, size: int64(len(img)), sb: sb, idx: map[int64]*idxNode{}}
	if err := r.readMaster(); err != nil {
		t.Fatal(err)
	}
	if int64(len(img)) != sb.lebCnt*sb.lebSize {
		t.Fatalf("fixture is not LEB-aligned")
	}
	ents, err := r.listDir(1)
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]dent{}
	for _, d := range ents {
		byName[d.name] = d
	}
	etc, _ := r.listDir(uint32(byName["etc"].inum))
	for _, d := range etc {
		byName["etc/"+d.name] = d
	}
	motd := uint32(byName["etc/motd"].inum)
	nums := uint32(byName["etc/numbers.txt"].inum)
	if motd == 0 || nums == 0 || byName["empty"].inum == 0 {
		t.Fatal("fixture entries not found")
	}

	sq := uint64(1000)
	next := func() uint64 { sq++; return sq }
	var bud []byte
	add := func(n []byte) {
		bud = append(bud, n...)
		for len(bud)%8 != 0 {
			bud = append(bud, 0xCE)
		}
	}
	// A new file in the root directory.
	add(inoNode(5000, 5, 1, 0o100600, next()))
	add(dataNode(5000, 0, "jnew!", next()))
	add(dentNode(mkKey(1, keyDent, 12345), "journal.txt", 5000, next()))
	// Remove the "empty" directory's entry.
	add(dentNode(byName["empty"].key, "empty", 0, next()))
	// Rewrite etc/motd (two links).
	add(inoNode(motd, 8, 2, 0o100644, next()))
	add(dataNode(motd, 0, "changed\n", next()))
	// Truncate etc/numbers.txt to 100 bytes (the partial block stays).
	add(inoNode(nums, 100, 1, 0o100644, next()))
	add(trunNode(nums, 18893, 100, next()))
	// A file created then deleted again.
	add(inoNode(5001, 3, 1, 0o100644, next()))
	add(dentNode(mkKey(1, keyDent, 999), "gone", 5001, next()))
	add(dentNode(mkKey(1, keyDent, 999), "gone", 0, next()))
	add(inoNode(5001, 0, 0, 0o100644, next()))

	out := append([]byte(nil), img...)
	leb := make([]byte, sb.lebSize)
	for i := range leb {
		leb[i] = 0xFF
	}
	copy(leb, bud)
	budLnum := uint32(sb.lebCnt)
	out = append(out, leb...)
	// Grow leb_cnt in the superblock.
	binary.LittleEndian.PutUint32(out[40:44], budLnum+1)
	binary.LittleEndian.PutUint32(out[4:8], crc(out[8:sbNodeSize]))
	// The log: after the commit start node, a reference to the bud.
	logOff := r.pos(r.mst.logLnum, 0)
	csLen := int64(binary.LittleEndian.Uint32(out[logOff+16:]))
	ref := make([]byte, refNodeSize)
	binary.LittleEndian.PutUint32(ref[24:28], budLnum)
	binary.LittleEndian.PutUint32(ref[28:32], 0)
	binary.LittleEndian.PutUint32(ref[32:36], 1)
	seal(ref, typeRef, 999)
	copy(out[logOff+align8(csLen):], ref)
	return out
}

func TestJournalReplay(t *testing.T) {
	img := withJournal(t, fwtest.Fixture(t, "lzo.img.gz"))
	s, _, err := fwtest.Run(context.Background(), New(), img, 1<<24)
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Failed) != 0 {
		t.Errorf("failures: %+v", s.Failed)
	}
	want := map[string]string{
		"journal.txt":     "jnew!",
		"etc/motd":        "changed\n",
		"etc/numbers.txt": string(numbers()[:100]),
		"etc/owned":       "owned",
	}
	for p, w := range want {
		it, ok := s.Get(p)
		if !ok || it.Type != firmware.TypeFile || string(it.Data) != w {
			t.Errorf("%s: got %v, %d bytes %.40q, want %d bytes %.40q", p, ok, len(it.Data), it.Data, len(w), w)
		}
	}
	if it, ok := s.Get("etc/motd.hard"); !ok || it.Type != firmware.TypeHardlink {
		t.Errorf("etc/motd.hard: %v %+v", ok, it.Entry)
	}
	for _, p := range []string{"empty", "gone"} {
		if _, ok := s.Get(p); ok {
			t.Errorf("%s: deleted in the journal but extracted", p)
		}
	}
	// Without the log reference, the image reads as the clean one.
	clean := fwtest.Fixture(t, "lzo.img.gz")
	s2, _, err := fwtest.Run(context.Background(), New(), clean, 1<<24)
	if err != nil {
		t.Fatal(err)
	}
	if it, _ := s2.Get("etc/motd"); string(it.Data) != "hello ubifs\n" {
		t.Errorf("clean etc/motd: %q", it.Data)
	}
}
