package ubifs

import (
	"bytes"
	"encoding/binary"
	"sort"

	"github.com/klauspost/compress/flate"
	"github.com/klauspost/compress/zstd"
)

// genNode is a leaf node for the synthetic image generator.
type genNode struct {
	key uint64
	b   []byte
}

func inoNodeData(inum uint32, size uint64, nlink, mode uint32, data []byte, sq uint64) []byte {
	b := make([]byte, inoNodeSize+len(data))
	putKey(b[24:], mkKey(inum, keyIno, 0))
	binary.LittleEndian.PutUint64(b[48:56], size)
	binary.LittleEndian.PutUint64(b[72:80], 1700000000)
	binary.LittleEndian.PutUint32(b[92:96], nlink)
	binary.LittleEndian.PutUint32(b[96:100], 1000)
	binary.LittleEndian.PutUint32(b[100:104], 100)
	binary.LittleEndian.PutUint32(b[104:108], mode)
	binary.LittleEndian.PutUint32(b[112:116], uint32(len(data)))
	copy(b[inoNodeSize:], data)
	return seal(b, typeIno, sq)
}

func comprDataNode(inum, blk uint32, data []byte, ctype uint16, sq uint64) []byte {
	payload := data
	switch ctype {
	case comprZlib:
		var buf bytes.Buffer
		w, _ := flate.NewWriter(&buf, 9)
		w.Write(data)
		w.Close()
		payload = buf.Bytes()
	case comprZstd:
		enc, _ := zstd.NewWriter(nil)
		payload = enc.EncodeAll(data, nil)
		enc.Close()
	}
	b := make([]byte, dataNodeSize+len(payload))
	putKey(b[24:], mkKey(inum, keyData, blk))
	binary.LittleEndian.PutUint32(b[40:44], uint32(len(data)))
	binary.LittleEndian.PutUint16(b[44:46], ctype)
	copy(b[dataNodeSize:], payload)
	return seal(b, typeData, sq)
}

// genImage writes a compact UBIFS image (4 KiB LEBs): superblock, two
// masters, a log with a commit start node, the leaf nodes in LEB 4 and on,
// and a two-level index after them.
func genImage(leaves []genNode) []byte {
	const leb = 4096
	const fanout = 4
	sort.SliceStable(leaves, func(a, b int) bool { return leaves[a].key < leaves[b].key })
	var lebs [][]byte
	newLEB := func() int {
		b := bytes.Repeat([]byte{0xFF}, leb)
		lebs = append(lebs, b)
		return len(lebs) - 1
	}
	for i := 0; i < 4; i++ {
		newLEB()
	}
	sq := uint64(1)
	// Leaves, packed into LEBs.
	type loc struct {
		key             uint64
		lnum, offs, len int
	}
	var locs []loc
	cur, off := newLEB(), 0
	put := func(key uint64, n []byte) loc {
		if off+len(n) > leb {
			cur, off = newLEB(), 0
		}
		copy(lebs[cur][off:], n)
		l := loc{key, cur, off, len(n)}
		off = int(align8(int64(off + len(n))))
		return l
	}
	for _, lf := range leaves {
		locs = append(locs, put(lf.key, lf.b))
	}
	// Index levels until one node remains.
	level := 0
	for {
		var up []loc
		for i := 0; i < len(locs); i += fanout {
			grp := locs[i:min(i+fanout, len(locs))]
			n := make([]byte, idxNodeSize+20*len(grp))
			binary.LittleEndian.PutUint16(n[24:26], uint16(len(grp)))
			binary.LittleEndian.PutUint16(n[26:28], uint16(level))
			for j, g := range grp {
				e := n[idxNodeSize+20*j:]
				binary.LittleEndian.PutUint32(e[0:4], uint32(g.lnum))
				binary.LittleEndian.PutUint32(e[4:8], uint32(g.offs))
				binary.LittleEndian.PutUint32(e[8:12], uint32(g.len))
				putKey(e[12:20], g.key)
			}
			sq++
			up = append(up, put(grp[0].key, seal(n, typeIdx, sq)))
		}
		locs = up
		level++
		if len(locs) == 1 {
			break
		}
	}
	root := locs[0]
	// Superblock.
	sb := make([]byte, sbNodeSize)
	binary.LittleEndian.PutUint32(sb[32:36], 8)
	binary.LittleEndian.PutUint32(sb[36:40], leb)
	binary.LittleEndian.PutUint32(sb[40:44], uint32(len(lebs)))
	binary.LittleEndian.PutUint32(sb[44:48], 64)
	binary.LittleEndian.PutUint32(sb[56:60], 1)
	binary.LittleEndian.PutUint32(sb[72:76], fanout)
	binary.LittleEndian.PutUint32(sb[80:84], 4)
	copy(lebs[0], seal(sb, typeSB, 1000))
	// Masters.
	for i := 1; i <= 2; i++ {
		m := make([]byte, mstNodeSize)
		binary.LittleEndian.PutUint64(m[24:32], 100)
		binary.LittleEndian.PutUint32(m[44:48], logLEB)
		binary.LittleEndian.PutUint32(m[48:52], uint32(root.lnum))
		binary.LittleEndian.PutUint32(m[52:56], uint32(root.offs))
		binary.LittleEndian.PutUint32(m[56:60], uint32(root.len))
		copy(lebs[i], seal(m, typeMst, 1001))
	}
	cs := make([]byte, 32)
	copy(lebs[logLEB], seal(cs, typeCS, 1002))
	var img []byte
	for _, b := range lebs {
		img = append(img, b...)
	}
	return img
}

// sampleImage is a small tree: a directory, a two-block file (zlib and
// zstd blocks) with a second link, a symlink, a device, a fifo.
func sampleImage() []byte {
	content := bytes.Repeat([]byte("0123456789abcdef"), 300) // 4800 bytes
	dentKey := func(dir uint32, h uint32) uint64 { return mkKey(dir, keyDent, h) }
	return genImage([]genNode{
		{mkKey(1, keyIno, 0), inoNodeData(1, 160, 3, 0o40755, nil, 1)},
		{mkKey(3, keyIno, 0), inoNodeData(3, 160, 2, 0o41777, nil, 2)},
		{mkKey(2, keyIno, 0), inoNodeData(2, uint64(len(content)), 2, 0o104755, nil, 3)},
		{mkKey(2, keyData, 0), comprDataNode(2, 0, content[:4096], comprZlib, 4)},
		{mkKey(2, keyData, 1), comprDataNode(2, 1, content[4096:], comprZstd, 5)},
		{mkKey(4, keyIno, 0), inoNodeData(4, 6, 1, 0o120777, []byte("d/file"), 6)},
		{mkKey(5, keyIno, 0), inoNodeData(5, 0, 1, 0o20620, []byte{0x03, 0x01, 0, 0}, 7)},
		{mkKey(6, keyIno, 0), inoNodeData(6, 0, 1, 0o10600, nil, 8)},
		{dentKey(1, 10), dentNode(dentKey(1, 10), "d", 3, 9)},
		{dentKey(1, 20), dentNode(dentKey(1, 20), "link", 4, 10)},
		{dentKey(1, 30), dentNode(dentKey(1, 30), "tty", 5, 11)},
		{dentKey(1, 30), dentNode(dentKey(1, 30), "pipe", 6, 12)}, // hash collision
		{dentKey(3, 5), dentNode(dentKey(3, 5), "file", 2, 13)},
		{dentKey(3, 6), dentNode(dentKey(3, 6), "hard", 2, 14)},
	})
}
