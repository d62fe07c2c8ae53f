package unpack

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"io/fs"

	"github.com/netvet/netvet/internal/firmware"
	"github.com/netvet/netvet/internal/safeio"
)

// A test container: "NVTC", u32 total length, then records
// [type u8][name u16+bytes][mode u32][target u16+bytes][data u32+bytes],
// type 0xff ends. Type 0xfe is a zero bomb: data is a u64 count of zeros.
type fakeContainer struct{ kind firmware.Kind }

func (f fakeContainer) Info() firmware.Info {
	name := "nvtc"
	magic := "NVTC"
	if f.kind == firmware.KindFilesystem {
		name, magic = "nvtf", "NVTF"
	}
	return firmware.Info{Name: name, Description: "test container", Kind: f.kind,
		Signatures: []firmware.Signature{{Magic: []byte(magic)}}}
}

func (f fakeContainer) Identify(src io.ReaderAt, size int64) bool {
	b := make([]byte, 8)
	if _, err := src.ReadAt(b, 0); err != nil {
		return false
	}
	return string(b[:4]) == string(f.Info().Signatures[0].Magic)
}

type zeros struct{ n int64 }

func (z *zeros) Read(p []byte) (int, error) {
	if z.n <= 0 {
		return 0, io.EOF
	}
	m := int64(len(p))
	if m > z.n {
		m = z.n
	}
	clear(p[:m])
	z.n -= m
	return int(m), nil
}

func (f fakeContainer) Extract(ctx context.Context, src io.ReaderAt, size int64, dst firmware.Sink) (int64, error) {
	h, err := safeio.ReadAt(src, size, 0, 8, 8)
	if err != nil {
		return 0, err
	}
	total := min(int64(binary.BigEndian.Uint32(h[4:])), size)
	off := int64(8)
	rd := func(n int64) ([]byte, error) {
		b, err := safeio.ReadAt(src, total, off, n, 1<<20)
		off += n
		return b, err
	}
	u16 := func() (int64, error) {
		b, err := rd(2)
		if err != nil {
			return 0, err
		}
		return int64(binary.BigEndian.Uint16(b)), nil
	}
	u32 := func() (int64, error) {
		b, err := rd(4)
		if err != nil {
			return 0, err
		}
		return int64(binary.BigEndian.Uint32(b)), nil
	}
	for {
		start := off
		t, err := rd(1)
		if err != nil {
			return total, err
		}
		if t[0] == 0xff {
			return total, nil
		}
		nl, err := u16()
		if err != nil {
			return total, err
		}
		name, err := rd(nl)
		if err != nil {
			return total, err
		}
		mode, err := u32()
		if err != nil {
			return total, err
		}
		tl, err := u16()
		if err != nil {
			return total, err
		}
		target, err := rd(tl)
		if err != nil {
			return total, err
		}
		e := firmware.Entry{Path: string(name), Mode: fs.FileMode(mode & 0o777), LinkTarget: string(target), Offset: start, UID: 1, GID: 2}
		if mode&0o4000 != 0 {
			e.Mode |= fs.ModeSetuid
		}
		var r io.Reader
		if t[0] == 0xfe {
			b, err := rd(8)
			if err != nil {
				return total, err
			}
			e.Type = firmware.TypeFile
			r = &zeros{int64(binary.BigEndian.Uint64(b))}
		} else {
			dl, err := u32()
			if err != nil {
				return total, err
			}
			if dl > total-off {
				return total, errors.New("nvtc: data beyond end")
			}
			e.Type = firmware.EntryType(t[0])
			r = io.NewSectionReader(src, off, dl)
			off += dl
		}
		if err := dst.Put(ctx, e, r); err != nil {
			return total, err
		}
	}
}

// builder writes fake containers.
type builder struct {
	buf  bytes.Buffer
	kind string
}

func newBuilder(magic string) *builder { b := &builder{kind: magic}; return b }

func (b *builder) entry(t firmware.EntryType, name string, mode uint32, target string, data []byte) *builder {
	b.buf.WriteByte(byte(t))
	binary.Write(&b.buf, binary.BigEndian, uint16(len(name)))
	b.buf.WriteString(name)
	binary.Write(&b.buf, binary.BigEndian, mode)
	binary.Write(&b.buf, binary.BigEndian, uint16(len(target)))
	b.buf.WriteString(target)
	binary.Write(&b.buf, binary.BigEndian, uint32(len(data)))
	b.buf.Write(data)
	return b
}

func (b *builder) bomb(name string, n uint64) *builder {
	b.buf.WriteByte(0xfe)
	binary.Write(&b.buf, binary.BigEndian, uint16(len(name)))
	b.buf.WriteString(name)
	binary.Write(&b.buf, binary.BigEndian, uint32(0o644))
	binary.Write(&b.buf, binary.BigEndian, uint16(0))
	binary.Write(&b.buf, binary.BigEndian, n)
	return b
}

func (b *builder) bytes() []byte {
	body := append(b.buf.Bytes(), 0xff)
	out := []byte(b.kind)
	out = binary.BigEndian.AppendUint32(out, uint32(8+len(body)))
	return append(out, body...)
}

// quine is a container whose only entry is itself: the self-nesting case.
type quine struct{}

func (quine) Info() firmware.Info {
	return firmware.Info{Name: "quine", Kind: firmware.KindArchive, Signatures: []firmware.Signature{{Magic: []byte("QUINE!")}}}
}
func (quine) Identify(src io.ReaderAt, size int64) bool {
	b := make([]byte, 6)
	_, err := src.ReadAt(b, 0)
	return err == nil && string(b) == "QUINE!"
}
func (quine) Extract(ctx context.Context, src io.ReaderAt, size int64, dst firmware.Sink) (int64, error) {
	return size, dst.Put(ctx, firmware.Entry{Path: "again.quine", Mode: 0o644}, io.NewSectionReader(src, 0, size))
}

func testRegistry() *firmware.Registry {
	return firmware.NewRegistry(fakeContainer{kind: firmware.KindContainer}, fakeContainer{kind: firmware.KindFilesystem}, quine{})
}
