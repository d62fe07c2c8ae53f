// Package squashfs reads SquashFS filesystem images: version 4.0 and the
// older 3.x and 2.x layouts, in little- and big-endian byte order, with every
// compressor mksquashfs offers (gzip, lzma, lzo, xz, lz4, zstd) and the LZMA
// variant found in vendor 3.x images.
package squashfs

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/bits"

	"github.com/netvet/netvet/internal/firmware"
	"github.com/netvet/netvet/internal/safeio"
)

var (
	// ErrSuperblock reports a superblock that fails validation.
	ErrSuperblock = errors.New("squashfs: bad superblock")
	// ErrUnsupported reports a valid but unsupported feature.
	ErrUnsupported = errors.New("squashfs: unsupported")
	// ErrCorrupt reports inconsistent metadata.
	ErrCorrupt = errors.New("squashfs: corrupt image")
)

const (
	magicLE = "hsqs"
	magicBE = "sqsh"

	sbSize4 = 96
	sbSize3 = 119 // packed 3.x superblock, which also holds the 2.x fields

	metaSize     = 8192
	maxBlockSize = 1 << 20
	minBlockSize = 4096
	invalidBlk   = ^uint64(0)
	invalidFrag  = ^uint32(0)

	maxDepth        = 1024
	maxNameLen      = 256
	maxLinkLen      = 65535
	metaCacheCap    = 512      // metadata blocks, 4 MiB at most
	blockCacheBytes = 32 << 20 // decoded fragment and duplicate blocks kept
)

// Format implements firmware.Format for SquashFS.
type Format struct{}

// New returns the SquashFS format.
func New() firmware.Format { return Format{} }

var _ firmware.Format = Format{}

// Info implements firmware.Format.
func (Format) Info() firmware.Info {
	return firmware.Info{
		Name:        "squashfs",
		Description: "SquashFS filesystem image (v2, v3, v4; little- and big-endian)",
		Kind:        firmware.KindFilesystem,
		Signatures: []firmware.Signature{
			{Magic: []byte(magicLE)},
			{Magic: []byte(magicBE)},
		},
		Variants: []string{
			"v4 little-endian gzip", "v4 little-endian lzma", "v4 little-endian lzo",
			"v4 little-endian xz", "v4 little-endian lz4", "v4 little-endian zstd",
			"v4 big-endian (all compressors)",
			"v3.0-3.1 little-endian gzip/lzma", "v3.0-3.1 big-endian gzip/lzma",
			"v2.0-2.1 little-endian gzip/lzma", "v2.0-2.1 big-endian gzip/lzma",
		},
	}
}

// superblock is the version-independent view of a superblock.
type superblock struct {
	order        binary.ByteOrder
	major, minor uint16
	inodes       uint32
	mkfsTime     uint32
	blockSize    uint32
	blockLog     uint16
	fragments    uint32
	comp         uint16
	flags        uint16
	noIDs        uint32 // v4 id table entries
	noUIDs       uint32 // v2/v3
	noGUIDs      uint32 // v2/v3
	rootInode    uint64
	bytesUsed    uint64
	idTable      uint64
	uidStart     uint64
	guidStart    uint64
	inodeTable   uint64
	dirTable     uint64
	fragTable    uint64
	lookupTable  uint64
	xattrTable   uint64
	check        bool // v2/v3 SQUASHFS_CHECK: a marker byte follows each metadata header
}

// v2/v3 superblock flag bits.
const (
	flag3Check = 1 << 2
)

func readSuperblock(src io.ReaderAt, size int64) (*superblock, error) {
	if size < sbSize4 {
		return nil, fmt.Errorf("%w: %d bytes is too short", ErrSuperblock, size)
	}
	n := int64(sbSize3)
	if size < n {
		n = size
	}
	b := make([]byte, sbSize3)
	if _, err := src.ReadAt(b[:n], 0); err != nil && !(errors.Is(err, io.EOF)) {
		return nil, fmt.Errorf("%w: %v", ErrSuperblock, err)
	}
	var order binary.ByteOrder
	switch string(b[:4]) {
	case magicLE:
		order = binary.LittleEndian
	case magicBE:
		order = binary.BigEndian
	default:
		return nil, fmt.Errorf("%w: no magic", ErrSuperblock)
	}
	major := order.Uint16(b[28:])
	s := &superblock{order: order, major: major, minor: order.Uint16(b[30:])}
	switch major {
	case 4:
		s.inodes = order.Uint32(b[4:])
		s.mkfsTime = order.Uint32(b[8:])
		s.blockSize = order.Uint32(b[12:])
		s.fragments = order.Uint32(b[16:])
		s.comp = order.Uint16(b[20:])
		s.blockLog = order.Uint16(b[22:])
		s.flags = order.Uint16(b[24:])
		s.noIDs = uint32(order.Uint16(b[26:]))
		s.rootInode = order.Uint64(b[32:])
		s.bytesUsed = order.Uint64(b[40:])
		s.idTable = order.Uint64(b[48:])
		s.xattrTable = order.Uint64(b[56:])
		s.inodeTable = order.Uint64(b[64:])
		s.dirTable = order.Uint64(b[72:])
		s.fragTable = order.Uint64(b[80:])
		s.lookupTable = order.Uint64(b[88:])
		if s.minor != 0 {
			return nil, fmt.Errorf("%w: version 4.%d", ErrSuperblock, s.minor)
		}
		if _, ok := compNames[s.comp]; !ok || s.comp == compAuto {
			return nil, fmt.Errorf("%w: compressor id %d", ErrSuperblock, s.comp)
		}
		if s.noIDs == 0 {
			return nil, fmt.Errorf("%w: empty id table", ErrSuperblock)
		}
	case 2, 3:
		if n < sbSize3 && major == 3 {
			return nil, fmt.Errorf("%w: truncated", ErrSuperblock)
		}
		if (major == 3 && s.minor > 1) || (major == 2 && s.minor > 1) {
			return nil, fmt.Errorf("%w: version %d.%d", ErrSuperblock, major, s.minor)
		}
		s.comp = compAuto
		s.inodes = order.Uint32(b[4:])
		s.blockLog = order.Uint16(b[34:])
		s.flags = uint16(b[36])
		s.noUIDs = uint32(b[37])
		s.noGUIDs = uint32(b[38])
		s.mkfsTime = order.Uint32(b[39:])
		s.rootInode = order.Uint64(b[43:])
		s.blockSize = order.Uint32(b[51:])
		s.fragments = order.Uint32(b[55:])
		s.check = s.flags&flag3Check != 0
		s.xattrTable, s.lookupTable = invalidBlk, invalidBlk
		if major == 3 {
			s.bytesUsed = order.Uint64(b[63:])
			s.uidStart = order.Uint64(b[71:])
			s.guidStart = order.Uint64(b[79:])
			s.inodeTable = order.Uint64(b[87:])
			s.dirTable = order.Uint64(b[95:])
			s.fragTable = order.Uint64(b[103:])
		} else {
			s.bytesUsed = uint64(order.Uint32(b[8:]))
			s.uidStart = uint64(order.Uint32(b[12:]))
			s.guidStart = uint64(order.Uint32(b[16:]))
			s.inodeTable = uint64(order.Uint32(b[20:]))
			s.dirTable = uint64(order.Uint32(b[24:]))
			s.fragTable = uint64(order.Uint32(b[59:]))
		}
		if s.fragments == 0 {
			s.fragTable = invalidBlk
		}
	default:
		return nil, fmt.Errorf("%w: version %d.%d", ErrSuperblock, major, s.minor)
	}
	if s.blockSize < minBlockSize || s.blockSize > maxBlockSize || bits.OnesCount32(s.blockSize) != 1 {
		return nil, fmt.Errorf("%w: block size %d", ErrSuperblock, s.blockSize)
	}
	if uint32(1)<<s.blockLog != s.blockSize {
		return nil, fmt.Errorf("%w: block log %d does not match block size %d", ErrSuperblock, s.blockLog, s.blockSize)
	}
	if s.bytesUsed > uint64(size) || s.bytesUsed < sbSize4 {
		return nil, fmt.Errorf("%w: bytes used %d, image has %d", ErrSuperblock, s.bytesUsed, size)
	}
	if s.inodeTable >= s.bytesUsed || s.dirTable >= s.bytesUsed || s.inodeTable > s.dirTable || s.inodeTable < sbSize4 {
		return nil, fmt.Errorf("%w: inode or directory table outside the image", ErrSuperblock)
	}
	if s.rootInode>>16 >= s.dirTable-s.inodeTable || s.rootInode&0xffff >= metaSize {
		return nil, fmt.Errorf("%w: root inode reference %#x", ErrSuperblock, s.rootInode)
	}
	optional := []uint64{s.fragTable, s.lookupTable, s.xattrTable}
	if major == 4 {
		if s.idTable >= s.bytesUsed {
			return nil, fmt.Errorf("%w: id table outside the image", ErrSuperblock)
		}
	} else {
		if s.uidStart > s.bytesUsed || s.guidStart > s.bytesUsed {
			return nil, fmt.Errorf("%w: uid/gid table outside the image", ErrSuperblock)
		}
	}
	for _, t := range optional {
		if t != invalidBlk && t >= s.bytesUsed {
			return nil, fmt.Errorf("%w: table at %#x outside the image", ErrSuperblock, t)
		}
	}
	return s, nil
}

// Identify implements firmware.Format.
func (Format) Identify(src io.ReaderAt, size int64) bool {
	_, err := readSuperblock(src, size)
	return err == nil
}

// Extract implements firmware.Format.
func (Format) Extract(ctx context.Context, src io.ReaderAt, size int64, dst firmware.Sink) (int64, error) {
	sb, err := readSuperblock(src, size)
	if err != nil {
		return 0, err
	}
	c, err := newCodec(sb.comp)
	if err != nil {
		return 0, err
	}
	f := &fsys{src: src, size: int64(sb.bytesUsed), sb: sb, codec: c, meta: newLRU(metaCacheCap)}
	used := f.usedLength(size)
	if err := f.loadIDs(); err != nil {
		return used, err
	}
	return used, f.extract(ctx, dst)
}

// usedLength is bytes_used, rounded up to the 4 KiB padding mksquashfs
// writes when that padding is present and zero.
func (f *fsys) usedLength(size int64) int64 {
	n := f.size
	r := (n + 4095) &^ 4095
	if r == n || r > size {
		return n
	}
	pad, err := safeio.ReadAt(f.src, size, n, r-n, 4096)
	if err != nil {
		return n
	}
	for _, c := range pad {
		if c != 0 {
			return n
		}
	}
	return r
}
