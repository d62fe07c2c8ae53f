package sevenzip

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"

	"github.com/ulikunitz/xz/lzma"

	"github.com/netvet/netvet/internal/safeio"
)

// This file walks the 7z header before the archive is handed to
// github.com/bodgit/sevenzip, which sizes its tables from header counts as
// stored. Every count is checked here against the bytes that remain in the
// header and against fixed caps, and decoder memory (LZMA and LZMA2
// dictionaries) against maxDict.

const (
	maxHeader  = 16 << 20 // decoded header bytes
	maxCount   = 1 << 20  // files, folders, streams
	maxCoders  = 16
	maxStreams = 32 // in or out streams per coder
	maxProps   = 256
	maxDict    = 256 << 20
)

// Property IDs of the 7z header.
const (
	idEnd             = 0x00
	idHeader          = 0x01
	idArchiveProps    = 0x02
	idAdditional      = 0x03
	idMainStreams     = 0x04
	idFilesInfo       = 0x05
	idPackInfo        = 0x06
	idUnpackInfo      = 0x07
	idSubStreams      = 0x08
	idSize            = 0x09
	idCRC             = 0x0a
	idFolder          = 0x0b
	idCodersUnpack    = 0x0c
	idNumUnpackStream = 0x0d
	idEncodedHeader   = 0x17
)

var (
	methodCopy  = []byte{0x00}
	methodLZMA  = []byte{0x03, 0x01, 0x01}
	methodLZMA2 = []byte{0x21}
	methodAES   = []byte{0x06, 0xf1, 0x07, 0x01}
)

type coder struct {
	id      []byte
	in, out uint64
	props   []byte
}

type folder struct {
	coders      []coder
	unpackSizes []uint64
	crc         uint32
	hasCRC      bool
}

type streams struct {
	packPos   uint64
	packSizes []uint64
	folders   []folder
}

// hreader reads header bytes with bounds checks.
type hreader struct {
	b []byte
	p int
}

func (r *hreader) left() uint64 { return uint64(len(r.b) - r.p) }

func (r *hreader) byte() (byte, error) {
	if r.p >= len(r.b) {
		return 0, fmt.Errorf("%w: header ends early", ErrHeader)
	}
	c := r.b[r.p]
	r.p++
	return c, nil
}

func (r *hreader) bytes(n uint64) ([]byte, error) {
	if n > r.left() {
		return nil, fmt.Errorf("%w: %d bytes past the header end", ErrHeader, n)
	}
	b := r.b[r.p : r.p+int(n)]
	r.p += int(n)
	return b, nil
}

// num reads a 7z variable-length number: the leading one bits of the first
// byte say how many bytes follow.
func (r *hreader) num() (uint64, error) {
	first, err := r.byte()
	if err != nil {
		return 0, err
	}
	var v uint64
	mask := byte(0x80)
	for i := 0; i < 8; i++ {
		if first&mask == 0 {
			hi := uint64(first & (mask - 1))
			return v | hi<<(8*i), nil
		}
		c, err := r.byte()
		if err != nil {
			return 0, err
		}
		v |= uint64(c) << (8 * i)
		mask >>= 1
	}
	return v, nil
}

// count reads a number that sizes a table: each element takes at least
// perByte/8 of a header byte, and the table is capped.
func (r *hreader) count(bitsPer uint64, limit uint64) (int, error) {
	n, err := r.num()
	if err != nil {
		return 0, err
	}
	if n > limit || (bitsPer > 0 && n > r.left()*8/bitsPer+1) {
		return 0, fmt.Errorf("%w: count %d at header offset %d is implausible", ErrHeader, n, r.p)
	}
	return int(n), nil
}

func (r *hreader) expect(id byte) error {
	c, err := r.byte()
	if err != nil {
		return err
	}
	if c != id {
		return fmt.Errorf("%w: property %#x at header offset %d, want %#x", ErrHeader, c, r.p-1, id)
	}
	return nil
}

// digests reads a digest list for n items and returns which are defined.
func (r *hreader) digests(n int) ([]bool, []uint32, error) {
	all, err := r.byte()
	if err != nil {
		return nil, nil, err
	}
	def := make([]bool, n)
	if all != 0 {
		for i := range def {
			def[i] = true
		}
	} else {
		vec, err := r.bytes(uint64(n+7) / 8)
		if err != nil {
			return nil, nil, err
		}
		for i := range def {
			def[i] = vec[i/8]&(0x80>>(i%8)) != 0
		}
	}
	crcs := make([]uint32, n)
	for i := range def {
		if def[i] {
			b, err := r.bytes(4)
			if err != nil {
				return nil, nil, err
			}
			crcs[i] = binary.LittleEndian.Uint32(b)
		}
	}
	return def, crcs, nil
}

func (r *hreader) streamsInfo() (*streams, error) {
	s := &streams{}
	for {
		id, err := r.byte()
		if err != nil {
			return nil, err
		}
		switch id {
		case idEnd:
			return s, nil
		case idPackInfo:
			if err := r.packInfo(s); err != nil {
				return nil, err
			}
		case idUnpackInfo:
			if err := r.unpackInfo(s); err != nil {
				return nil, err
			}
		case idSubStreams:
			if err := r.subStreams(s); err != nil {
				return nil, err
			}
		default:
			return nil, fmt.Errorf("%w: unexpected property %#x in streams info", ErrHeader, id)
		}
	}
}

func (r *hreader) packInfo(s *streams) error {
	var err error
	if s.packPos, err = r.num(); err != nil {
		return err
	}
	n, err := r.count(8, maxCount)
	if err != nil {
		return err
	}
	for {
		id, err := r.byte()
		if err != nil {
			return err
		}
		switch id {
		case idEnd:
			return nil
		case idSize:
			s.packSizes = make([]uint64, n)
			for i := range s.packSizes {
				if s.packSizes[i], err = r.num(); err != nil {
					return err
				}
			}
		case idCRC:
			if _, _, err := r.digests(n); err != nil {
				return err
			}
		default:
			return fmt.Errorf("%w: unexpected property %#x in pack info", ErrHeader, id)
		}
	}
}

func (r *hreader) unpackInfo(s *streams) error {
	if err := r.expect(idFolder); err != nil {
		return err
	}
	n, err := r.count(16, maxCount)
	if err != nil {
		return err
	}
	if ext, err := r.byte(); err != nil || ext != 0 {
		return fmt.Errorf("%w: external folders are not supported", ErrHeader)
	}
	s.folders = make([]folder, n)
	for i := range s.folders {
		if err := r.folder(&s.folders[i]); err != nil {
			return err
		}
	}
	if err := r.expect(idCodersUnpack); err != nil {
		return err
	}
	for i := range s.folders {
		f := &s.folders[i]
		var out uint64
		for _, c := range f.coders {
			out += c.out
		}
		f.unpackSizes = make([]uint64, out)
		for j := range f.unpackSizes {
			if f.unpackSizes[j], err = r.num(); err != nil {
				return err
			}
		}
	}
	for {
		id, err := r.byte()
		if err != nil {
			return err
		}
		switch id {
		case idEnd:
			return nil
		case idCRC:
			def, crcs, err := r.digests(n)
			if err != nil {
				return err
			}
			for i := range s.folders {
				s.folders[i].hasCRC, s.folders[i].crc = def[i], crcs[i]
			}
		default:
			return fmt.Errorf("%w: unexpected property %#x in unpack info", ErrHeader, id)
		}
	}
}

func (r *hreader) folder(f *folder) error {
	n, err := r.count(16, maxCoders)
	if err != nil {
		return err
	}
	if n == 0 {
		return fmt.Errorf("%w: folder without coders", ErrHeader)
	}
	var in, out uint64
	for i := 0; i < n; i++ {
		flag, err := r.byte()
		if err != nil {
			return err
		}
		if flag&0x80 != 0 {
			return fmt.Errorf("%w: alternative coder methods", ErrHeader)
		}
		id, err := r.bytes(uint64(flag & 0x0f))
		if err != nil {
			return err
		}
		c := coder{id: id, in: 1, out: 1}
		if flag&0x10 != 0 {
			if c.in, err = r.num(); err != nil {
				return err
			}
			if c.out, err = r.num(); err != nil {
				return err
			}
			if c.in == 0 || c.out == 0 || c.in > maxStreams || c.out > maxStreams {
				return fmt.Errorf("%w: coder with %d in and %d out streams", ErrHeader, c.in, c.out)
			}
		}
		if flag&0x20 != 0 {
			ps, err := r.num()
			if err != nil {
				return err
			}
			if ps > maxProps {
				return fmt.Errorf("%w: %d bytes of coder properties", ErrHeader, ps)
			}
			if c.props, err = r.bytes(ps); err != nil {
				return err
			}
		}
		if err := checkCoder(c); err != nil {
			return err
		}
		in += c.in
		out += c.out
		f.coders = append(f.coders, c)
	}
	for i := uint64(0); i < out-1; i++ {
		a, err1 := r.num()
		b, err2 := r.num()
		if err := errors.Join(err1, err2); err != nil {
			return err
		}
		if a >= in || b >= out {
			return fmt.Errorf("%w: bind pair %d-%d out of range", ErrHeader, a, b)
		}
	}
	if out-1 >= in {
		return fmt.Errorf("%w: no packed stream", ErrHeader)
	}
	if packed := in - (out - 1); packed > 1 {
		for i := uint64(0); i < packed; i++ {
			x, err := r.num()
			if err != nil {
				return err
			}
			if x >= in {
				return fmt.Errorf("%w: packed stream index %d", ErrHeader, x)
			}
		}
	}
	return nil
}

// checkCoder bounds what a decoder would allocate.
func checkCoder(c coder) error {
	switch {
	case bytes.Equal(c.id, methodLZMA):
		if len(c.props) < 5 {
			return fmt.Errorf("%w: LZMA properties", ErrHeader)
		}
		if d := binary.LittleEndian.Uint32(c.props[1:5]); d > maxDict {
			return fmt.Errorf("%w: LZMA dictionary of %d bytes (limit %d)", ErrUnsupported, d, maxDict)
		}
	case bytes.Equal(c.id, methodLZMA2):
		if len(c.props) != 1 || c.props[0] > 40 {
			return fmt.Errorf("%w: LZMA2 properties", ErrHeader)
		}
		if d := lzma2Dict(c.props[0]); d > maxDict {
			return fmt.Errorf("%w: LZMA2 dictionary of %d bytes (limit %d)", ErrUnsupported, d, maxDict)
		}
	}
	return nil
}

func lzma2Dict(p byte) int64 {
	if p >= 40 {
		return 1<<32 - 1
	}
	return int64(2|p&1) << (p/2 + 11)
}

func (r *hreader) subStreams(s *streams) error {
	nums := make([]int, len(s.folders))
	for i := range nums {
		nums[i] = 1
	}
	total := len(s.folders)
	id, err := r.byte()
	if err != nil {
		return err
	}
	if id == idNumUnpackStream {
		total = 0
		for i := range nums {
			// Every stream but one per folder has its size listed.
			if nums[i], err = r.count(8, maxCount); err != nil {
				return err
			}
			total += nums[i]
			if total > maxCount {
				return fmt.Errorf("%w: more than %d streams", ErrHeader, maxCount)
			}
		}
		if id, err = r.byte(); err != nil {
			return err
		}
	}
	if id == idSize {
		for _, n := range nums {
			for j := 1; j < n; j++ {
				if _, err := r.num(); err != nil {
					return err
				}
			}
		}
		if id, err = r.byte(); err != nil {
			return err
		}
	}
	for id != idEnd {
		if id != idCRC {
			return fmt.Errorf("%w: unexpected property %#x in substreams info", ErrHeader, id)
		}
		unknown := 0
		for i, n := range nums {
			if n != 1 || !s.folders[i].hasCRC {
				unknown += n
			}
		}
		if _, _, err := r.digests(unknown); err != nil {
			return err
		}
		if id, err = r.byte(); err != nil {
			return err
		}
	}
	return nil
}

// filesInfo checks the file count; every file property carries its own
// size, so the rest is skipped.
func (r *hreader) filesInfo() error {
	if _, err := r.count(16, maxCount); err != nil {
		return err
	}
	for {
		t, err := r.num()
		if err != nil {
			return err
		}
		if t == idEnd {
			return nil
		}
		n, err := r.num()
		if err != nil {
			return err
		}
		if _, err := r.bytes(n); err != nil {
			return err
		}
	}
}

// header checks a plain header (after its idHeader byte) and reports, per
// folder of the main streams, whether it is encrypted.
func (r *hreader) header() (encrypted []bool, err error) {
	for {
		id, err := r.byte()
		if err != nil {
			return encrypted, err
		}
		switch id {
		case idEnd:
			return encrypted, nil
		case idArchiveProps:
			for {
				t, err := r.byte()
				if err != nil {
					return encrypted, err
				}
				if t == 0 {
					break
				}
				n, err := r.num()
				if err != nil {
					return encrypted, err
				}
				if _, err := r.bytes(n); err != nil {
					return encrypted, err
				}
			}
		case idAdditional, idMainStreams:
			s, err := r.streamsInfo()
			if err != nil {
				return encrypted, err
			}
			if id == idMainStreams {
				encrypted = make([]bool, len(s.folders))
				for i, f := range s.folders {
					for _, c := range f.coders {
						encrypted[i] = encrypted[i] || bytes.Equal(c.id, methodAES)
					}
				}
			}
		case idFilesInfo:
			if err := r.filesInfo(); err != nil {
				return encrypted, err
			}
		default:
			return encrypted, fmt.Errorf("%w: unexpected property %#x in header", ErrHeader, id)
		}
	}
}

// checkArchive reads and checks the header of the archive whose next
// header lies at off (absolute) with length n. It reports whether the
// content of each folder is encrypted.
func checkArchive(src io.ReaderAt, size, off, n int64, wantCRC uint32) ([]bool, error) {
	b, err := safeio.ReadAt(src, size, off, n, maxHeader)
	if err != nil {
		return nil, fmt.Errorf("%w: next header: %w", ErrHeader, err)
	}
	if crc32.ChecksumIEEE(b) != wantCRC {
		return nil, fmt.Errorf("%w: next header CRC", ErrHeader)
	}
	for depth := 0; ; depth++ {
		r := &hreader{b: b}
		id, err := r.byte()
		if err != nil {
			return nil, err
		}
		switch id {
		case idHeader:
			enc, err := r.header()
			if err == nil && r.left() != 0 {
				err = fmt.Errorf("%w: %d bytes after the header", ErrHeader, r.left())
			}
			return enc, err
		case idEncodedHeader:
			if depth > 2 {
				return nil, fmt.Errorf("%w: encoded header nested too deep", ErrHeader)
			}
			s, err := r.streamsInfo()
			if err != nil {
				return nil, err
			}
			if b, err = decodeHeader(src, size, s); err != nil {
				return nil, err
			}
		default:
			return nil, fmt.Errorf("%w: header starts with %#x", ErrHeader, id)
		}
	}
}

// decodeHeader unpacks an encoded header: one folder, one coder, LZMA,
// LZMA2 or copy.
func decodeHeader(src io.ReaderAt, size int64, s *streams) ([]byte, error) {
	for _, f := range s.folders {
		for _, c := range f.coders {
			if bytes.Equal(c.id, methodAES) {
				return nil, fmt.Errorf("%w: the header is encrypted", ErrEncrypted)
			}
		}
	}
	if len(s.folders) != 1 || len(s.packSizes) != 1 || len(s.folders[0].coders) != 1 || len(s.folders[0].unpackSizes) != 1 {
		return nil, fmt.Errorf("%w: encoded header layout", ErrUnsupported)
	}
	f := s.folders[0]
	c := f.coders[0]
	ulen := f.unpackSizes[0]
	if ulen > maxHeader {
		return nil, fmt.Errorf("%w: header of %d bytes (limit %d)", ErrUnsupported, ulen, maxHeader)
	}
	if s.packPos > uint64(size) || s.packSizes[0] > uint64(size)-s.packPos || uint64(sigHeaderLen) > uint64(size)-s.packPos-s.packSizes[0] {
		return nil, fmt.Errorf("%w: packed header beyond the end", ErrHeader)
	}
	packed := io.NewSectionReader(src, sigHeaderLen+int64(s.packPos), int64(s.packSizes[0]))
	var r io.Reader
	switch {
	case bytes.Equal(c.id, methodCopy):
		r = packed
	case bytes.Equal(c.id, methodLZMA):
		h := make([]byte, 13)
		copy(h, c.props[:5])
		binary.LittleEndian.PutUint64(h[5:], ulen)
		lr, err := lzma.ReaderConfig{DictCap: maxDict}.NewReader(io.MultiReader(bytes.NewReader(h), packed))
		if err != nil {
			return nil, fmt.Errorf("%w: header LZMA: %w", ErrHeader, err)
		}
		r = lr
	case bytes.Equal(c.id, methodLZMA2):
		lr, err := lzma.Reader2Config{DictCap: int(max(lzma2Dict(c.props[0]), 4096))}.NewReader2(packed)
		if err != nil {
			return nil, fmt.Errorf("%w: header LZMA2: %w", ErrHeader, err)
		}
		r = lr
	default:
		return nil, fmt.Errorf("%w: header coder %x", ErrUnsupported, c.id)
	}
	out := make([]byte, ulen)
	if _, err := io.ReadFull(r, out); err != nil {
		return nil, fmt.Errorf("%w: decoding the header: %w", ErrHeader, err)
	}
	if f.hasCRC && crc32.ChecksumIEEE(out) != f.crc {
		return nil, fmt.Errorf("%w: decoded header CRC", ErrHeader)
	}
	return out, nil
}
