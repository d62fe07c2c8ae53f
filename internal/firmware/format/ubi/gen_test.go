package ubi

import (
	"encoding/binary"
)

// synthLEB is one eraseblock of a synthetic image.
type synthLEB struct {
	vol, lnum uint32
	volType   uint8
	data      []byte
	sqnum     uint64
	usedEBs   uint32
}

// buildUBI writes a small UBI image: EC header at 0, VID header at 64,
// data at 128, in PEBs of pebSize bytes, with a volume table naming
// the given volumes (id -> name, type).
func buildUBI(pebSize int, names map[uint32]string, types map[uint32]uint8, lebs []synthLEB) []byte {
	const dataOff = 128
	lebSize := pebSize - dataOff
	vtbl := make([]byte, (lebSize/vtblRecSize)*vtblRecSize)
	for i := 0; i*vtblRecSize < len(vtbl); i++ {
		r := vtbl[i*vtblRecSize : (i+1)*vtblRecSize]
		if name, ok := names[uint32(i)]; ok {
			binary.BigEndian.PutUint32(r[0:4], 16)
			binary.BigEndian.PutUint32(r[4:8], 1)
			r[12] = types[uint32(i)]
			binary.BigEndian.PutUint16(r[14:16], uint16(len(name)))
			copy(r[16:], name)
		}
		binary.BigEndian.PutUint32(r[168:172], crc(r[:168]))
	}
	all := []synthLEB{
		{vol: layoutVolID, lnum: 0, volType: volDynamic, data: vtbl, sqnum: 1},
		{vol: layoutVolID, lnum: 1, volType: volDynamic, data: vtbl, sqnum: 2},
	}
	all = append(all, lebs...)
	img := make([]byte, 0, len(all)*pebSize)
	for _, l := range all {
		p := make([]byte, pebSize)
		for i := range p {
			p[i] = 0xFF
		}
		ec := p[:64]
		copy(ec, ecMagic)
		ec[4] = 1
		for i := 5; i < 60; i++ {
			ec[i] = 0
		}
		binary.BigEndian.PutUint32(ec[16:20], 64)
		binary.BigEndian.PutUint32(ec[20:24], dataOff)
		binary.BigEndian.PutUint32(ec[24:28], 0xC0FFEE)
		binary.BigEndian.PutUint32(ec[60:64], crc(ec[:60]))
		v := p[64:128]
		for i := range v {
			v[i] = 0
		}
		copy(v, vidMagic)
		v[4] = 1
		v[5] = l.volType
		binary.BigEndian.PutUint32(v[8:12], l.vol)
		binary.BigEndian.PutUint32(v[12:16], l.lnum)
		if l.volType == volStatic {
			binary.BigEndian.PutUint32(v[20:24], uint32(len(l.data)))
			binary.BigEndian.PutUint32(v[24:28], l.usedEBs)
			binary.BigEndian.PutUint32(v[32:36], crc(l.data))
		}
		binary.BigEndian.PutUint64(v[40:48], l.sqnum)
		binary.BigEndian.PutUint32(v[60:64], crc(v[:60]))
		copy(p[dataOff:], l.data)
		img = append(img, p...)
	}
	return img
}

// smallImage is a 1 KiB-PEB image with a dynamic volume "data" (LEBs 0
// and 2; LEB 1 unmapped) and a static volume "fw" of 1000 bytes.
func smallImage() []byte {
	fill := func(n int, c byte) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = c + byte(i%10)
		}
		return b
	}
	return buildUBI(1024,
		map[uint32]string{0: "data", 1: "fw"},
		map[uint32]uint8{0: volDynamic, 1: volStatic},
		[]synthLEB{
			{vol: 0, lnum: 0, volType: volDynamic, data: fill(896, 'a'), sqnum: 10},
			{vol: 0, lnum: 2, volType: volDynamic, data: []byte("end"), sqnum: 11},
			{vol: 1, lnum: 0, volType: volStatic, data: fill(896, '0'), sqnum: 12, usedEBs: 2},
			{vol: 1, lnum: 1, volType: volStatic, data: fill(104, 'A'), sqnum: 13, usedEBs: 2},
		})
}
