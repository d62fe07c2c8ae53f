package jffs2

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"

	lzo "github.com/anchore/go-lzo"
	"github.com/klauspost/compress/zlib"
	"github.com/ulikunitz/xz/lzma"
)

// decoder holds state reused across nodes.
type decoder struct {
	zr io.ReadCloser
	br bytes.Reader
}

// decompress expands in into out, which has the node's uncompressed size.
func decompress(compr uint8, in, out []byte) error {
	var d decoder
	return d.decompress(compr, in, out)
}

func (d *decoder) decompress(compr uint8, in, out []byte) error {
	switch compr {
	case comprNone:
		n := copy(out, in)
		clear(out[n:])
		return nil
	case comprZero:
		clear(out)
		return nil
	case comprRtime:
		return rtime(in, out)
	case comprZlib:
		d.br.Reset(in)
		var err error
		if d.zr == nil {
			d.zr, err = zlib.NewReader(&d.br)
		} else {
			err = d.zr.(zlib.Resetter).Reset(&d.br, nil)
		}
		if err != nil {
			return fmt.Errorf("%w: zlib: %v", ErrCorrupt, err)
		}
		if _, err := io.ReadFull(d.zr, out); err != nil {
			return fmt.Errorf("%w: zlib: %v", ErrCorrupt, err)
		}
		return nil
	case comprLZO:
		n, err := lzo.Decompress(in, out)
		if err != nil {
			return fmt.Errorf("%w: lzo: %v", ErrCorrupt, err)
		}
		if n != len(out) {
			return fmt.Errorf("%w: lzo: %d bytes, want %d", ErrCorrupt, n, len(out))
		}
		return nil
	case comprLZMA:
		return lzmaRaw(in, out)
	}
	name := comprNames[compr]
	if name == "" {
		name = fmt.Sprintf("id %d", compr)
	}
	return fmt.Errorf("%w: %s", ErrCompressor, name)
}

// rtime undoes the JFFS2 "rtime" run-length scheme: each pair is a literal
// byte and a count of bytes to copy from just after the previous
// occurrence of that byte.
func rtime(in, out []byte) error {
	var last [256]int
	pos, o := 0, 0
	for o < len(out) {
		if pos+2 > len(in) {
			return fmt.Errorf("%w: rtime: input ends at %d of %d output bytes", ErrCorrupt, o, len(out))
		}
		v, rep := in[pos], int(in[pos+1])
		pos += 2
		out[o] = v
		o++
		back := last[v]
		last[v] = o
		if rep > len(out)-o {
			return fmt.Errorf("%w: rtime: run past end of output", ErrCorrupt)
		}
		for ; rep > 0; rep-- {
			out[o] = out[back]
			o++
			back++
		}
	}
	return nil
}

// lzmaRaw decodes the headerless LZMA stream the JFFS2 LZMA compressor
// writes: lc=0 lp=0 pb=0 and an 8 KiB dictionary.
func lzmaRaw(in, out []byte) error {
	var hdr [13]byte
	hdr[0] = 0 // (pb*5+lp)*9+lc with all three zero
	binary.LittleEndian.PutUint32(hdr[1:], 0x2000)
	binary.LittleEndian.PutUint64(hdr[5:], uint64(len(out)))
	r, err := lzma.NewReader(io.MultiReader(bytes.NewReader(hdr[:]), bytes.NewReader(in)))
	if err != nil {
		return fmt.Errorf("%w: lzma: %v", ErrCorrupt, err)
	}
	if _, err := io.ReadFull(r, out); err != nil {
		return fmt.Errorf("%w: lzma: %v", ErrCorrupt, err)
	}
	return nil
}
