package fit

import (
	"encoding/binary"
	"hash/crc32"
)

// Image is one payload for Build.
type Image struct {
	Name        string // node name, e.g. "kernel-1"
	Type        string // e.g. "kernel", "flat_dt", "ramdisk"
	Compression string // e.g. "none", "gzip"
	Data        []byte
}

// Build writes a valid FIT image holding images, each with a crc32 hash
// node, for tests and benchmarks. With external set, the data follow the
// tree and are referenced by data-offset/data-size, as `mkimage -E` does.
func Build(images []Image, external bool) []byte {
	w := &fdtWriter{strOff: map[string]uint32{}}
	w.begin("")
	w.propStr("description", "netvet test FIT")
	w.begin("images")
	var ext []byte
	for _, im := range images {
		w.begin(im.Name)
		if external {
			w.propU32("data-size", uint32(len(im.Data)))
			w.propU32("data-offset", uint32(len(ext)))
			ext = append(ext, im.Data...)
			for len(ext)%4 != 0 {
				ext = append(ext, 0)
			}
		} else {
			w.prop("data", im.Data)
		}
		w.propStr("type", im.Type)
		w.propStr("compression", im.Compression)
		w.begin("hash-1")
		w.propStr("algo", "crc32")
		w.propU32("value", crc32.ChecksumIEEE(im.Data))
		w.end()
		w.end()
	}
	w.end()
	w.end()
	b := w.finish()
	for len(b)%4 != 0 {
		b = append(b, 0)
	}
	return append(b, ext...)
}

// fdtWriter lays out a version 17 flattened device tree.
type fdtWriter struct {
	st     []byte
	strs   []byte
	strOff map[string]uint32
}

func (w *fdtWriter) u32(v uint32) { w.st = binary.BigEndian.AppendUint32(w.st, v) }
func (w *fdtWriter) pad() {
	for len(w.st)%4 != 0 {
		w.st = append(w.st, 0)
	}
}

func (w *fdtWriter) begin(name string) {
	w.u32(1)
	w.st = append(w.st, name...)
	w.st = append(w.st, 0)
	w.pad()
}

func (w *fdtWriter) end() { w.u32(2) }

func (w *fdtWriter) prop(name string, v []byte) {
	off, ok := w.strOff[name]
	if !ok {
		off = uint32(len(w.strs))
		w.strOff[name] = off
		w.strs = append(append(w.strs, name...), 0)
	}
	w.u32(3)
	w.u32(uint32(len(v)))
	w.u32(off)
	w.st = append(w.st, v...)
	w.pad()
}

func (w *fdtWriter) propStr(name, v string) { w.prop(name, append([]byte(v), 0)) }
func (w *fdtWriter) propU32(name string, v uint32) {
	w.prop(name, binary.BigEndian.AppendUint32(nil, v))
}

func (w *fdtWriter) finish() []byte {
	w.u32(9)
	const hdr, rsv = 40, 16
	offStruct := hdr + rsv
	offStrings := offStruct + len(w.st)
	total := offStrings + len(w.strs)
	b := make([]byte, hdr+rsv, total)
	be := binary.BigEndian
	be.PutUint32(b[0:], 0xd00dfeed)
	be.PutUint32(b[4:], uint32(total))
	be.PutUint32(b[8:], uint32(offStruct))
	be.PutUint32(b[12:], uint32(offStrings))
	be.PutUint32(b[16:], hdr)
	be.PutUint32(b[20:], 17)
	be.PutUint32(b[24:], 16)
	be.PutUint32(b[32:], uint32(len(w.strs)))
	be.PutUint32(b[36:], uint32(len(w.st)))
	b = append(b, w.st...)
	return append(b, w.strs...)
}
