// Package uimage reads U-Boot legacy images (uImage): a 64-byte big-endian
// header with magic 0x27051956, a header CRC32 and a data CRC32, followed by
// one payload or, for multi-file images, a table of sizes and the payloads.
package uimage

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"time"

	"github.com/netvet/netvet/internal/firmware/format/internal/payload"

	"github.com/netvet/netvet/internal/firmware"
	"github.com/netvet/netvet/internal/safeio"
)

// Magic is the value of the first header word.
const Magic = 0x27051956

// HeaderSize is the size of the legacy header.
const HeaderSize = 64

// maxParts caps the number of sub-images of a multi-file image.
const maxParts = 256

// Image types, compressions and operating systems used in this package.
const (
	TypeKernel  = 2
	TypeRamdisk = 3
	TypeMulti   = 4
	TypeFlatDT  = 8

	CompNone  = 0
	CompGzip  = 1
	CompBzip2 = 2
	CompLZMA  = 3
	CompLZO   = 4
	CompLZ4   = 5
	CompZstd  = 6

	OSLinux  = 5
	ArchARM  = 2
	ArchMIPS = 5
)

var (
	// ErrHeader reports a header that is not a valid legacy uImage header.
	ErrHeader = errors.New("uimage: invalid header")
	// ErrTruncated reports data that extends past the end of the input.
	ErrTruncated = errors.New("uimage: data extends past end of input")
	// ErrDataCRC reports a payload whose CRC32 does not match the header.
	ErrDataCRC = errors.New("uimage: data crc32 mismatch")
)

// Header is a decoded legacy header. Name is untrusted text from the image.
type Header struct {
	Name    string
	Time    time.Time
	Size    uint32 // data size after the header (multi: table included)
	Load    uint32
	Entry   uint32
	DataCRC uint32
	OS      uint8
	Arch    uint8
	Type    uint8
	Comp    uint8
}

var osNames = map[uint8]string{
	1: "openbsd", 2: "netbsd", 3: "freebsd", 4: "4_4bsd", 5: "linux", 6: "svr4",
	7: "esix", 8: "solaris", 9: "irix", 10: "sco", 11: "dell", 12: "ncr",
	13: "lynxos", 14: "vxworks", 15: "psos", 16: "qnx", 17: "u-boot", 18: "rtems",
	19: "artos", 20: "unity", 21: "integrity", 22: "ose", 23: "plan9",
	24: "openrtos", 25: "arm-trusted-firmware", 26: "tee", 27: "opensbi", 28: "efi",
}

var archNames = map[uint8]string{
	1: "alpha", 2: "arm", 3: "x86", 4: "ia64", 5: "mips", 6: "mips64", 7: "powerpc",
	8: "s390", 9: "sh", 10: "sparc", 11: "sparc64", 12: "m68k", 13: "nios",
	14: "microblaze", 15: "nios2", 16: "blackfin", 17: "avr32", 18: "st200",
	19: "sandbox", 20: "nds32", 21: "openrisc", 22: "arm64", 23: "arc",
	24: "x86_64", 25: "xtensa", 26: "riscv",
}

var typeNames = map[uint8]string{
	1: "standalone", 2: "kernel", 3: "ramdisk", 4: "multi", 5: "firmware",
	6: "script", 7: "filesystem", 8: "flat_dt", 9: "kwbimage", 10: "imximage",
	11: "ublimage", 12: "omapimage", 13: "aisimage", 14: "kernel_noload",
	15: "pblimage", 16: "mxsimage", 17: "gpimage", 18: "atmelimage",
	19: "socfpgaimage", 20: "x86_setup", 21: "lpc32xximage", 22: "loadable",
	23: "rkimage", 24: "rksd", 25: "rkspi", 26: "zynqimage", 27: "zynqmpimage",
	28: "zynqmpbif", 29: "fpga", 30: "vybridimage", 31: "tee", 32: "firmware_ivt",
	33: "pmmc", 34: "stm32image", 35: "socfpgaimage_v1", 36: "mtk_image",
	37: "copro", 38: "sunxi_egon", 39: "sunxi_toc0",
}

var compNames = map[uint8]string{0: "none", 1: "gzip", 2: "bzip2", 3: "lzma", 4: "lzo", 5: "lz4", 6: "zstd"}

var compExt = map[uint8]string{1: ".gz", 2: ".bz2", 3: ".lzma", 4: ".lzo", 5: ".lz4", 6: ".zst"}

func name(m map[uint8]string, v uint8) string {
	if s, ok := m[v]; ok {
		return s
	}
	return fmt.Sprintf("unknown-%d", v)
}

// OSName returns the operating system name, e.g. "linux".
func (h Header) OSName() string { return name(osNames, h.OS) }

// ArchName returns the architecture name, e.g. "arm".
func (h Header) ArchName() string { return name(archNames, h.Arch) }

// TypeName returns the image type name, e.g. "kernel".
func (h Header) TypeName() string { return name(typeNames, h.Type) }

// CompName returns the compression name, e.g. "gzip".
func (h Header) CompName() string { return name(compNames, h.Comp) }

// String summarises the header for people.
func (h Header) String() string {
	return fmt.Sprintf("%q %s/%s %s comp=%s load=0x%08x entry=0x%08x size=%d time=%s",
		h.Name, h.OSName(), h.ArchName(), h.TypeName(), h.CompName(), h.Load, h.Entry, h.Size,
		h.Time.UTC().Format(time.RFC3339))
}

// payloadName is the entry name of a single-image payload.
func (h Header) payloadName() string {
	base := h.TypeName()
	switch h.Type {
	case TypeFlatDT:
		base = "fdt"
		if h.Comp == CompNone {
			return base + ".dtb"
		}
	}
	return base + compExt[h.Comp]
}

// ParseHeader decodes and checks the header at the start of r. It fails
// unless the magic and the header CRC32 are right.
func ParseHeader(r io.ReaderAt, size int64) (Header, error) {
	b, err := safeio.ReadAt(r, size, 0, HeaderSize, HeaderSize)
	if err != nil {
		return Header{}, fmt.Errorf("%w: %w", ErrHeader, err)
	}
	return parseHeader(b)
}

func parseHeader(b []byte) (Header, error) {
	be := binary.BigEndian
	if be.Uint32(b[0:]) != Magic {
		return Header{}, fmt.Errorf("%w: bad magic", ErrHeader)
	}
	var tmp [HeaderSize]byte
	copy(tmp[:], b)
	clear(tmp[4:8])
	if got, want := crc32.ChecksumIEEE(tmp[:]), be.Uint32(b[4:]); got != want {
		return Header{}, fmt.Errorf("%w: header crc32 0x%08x, computed 0x%08x", ErrHeader, want, got)
	}
	nm := b[32:64]
	for i, c := range nm {
		if c == 0 {
			nm = nm[:i]
			break
		}
	}
	return Header{
		Name:    string(nm),
		Time:    time.Unix(int64(be.Uint32(b[8:])), 0).UTC(),
		Size:    be.Uint32(b[12:]),
		Load:    be.Uint32(b[16:]),
		Entry:   be.Uint32(b[20:]),
		DataCRC: be.Uint32(b[24:]),
		OS:      b[28],
		Arch:    b[29],
		Type:    b[30],
		Comp:    b[31],
	}, nil
}

type format struct{}

// New returns the uImage format.
func New() firmware.Format { return format{} }

var _ firmware.Format = format{}

func (format) Info() firmware.Info {
	return firmware.Info{
		Name:        "uimage",
		Description: "U-Boot legacy image (uImage)",
		Kind:        firmware.KindContainer,
		Signatures:  []firmware.Signature{{Magic: []byte{0x27, 0x05, 0x19, 0x56}}},
		Variants:    []string{"single image", "multi-file image", "header and data crc32 verified"},
	}
}

func (format) Identify(src io.ReaderAt, size int64) bool {
	_, err := ParseHeader(src, size)
	return err == nil
}

func (format) Extract(ctx context.Context, src io.ReaderAt, size int64, dst firmware.Sink) (int64, error) {
	h, err := ParseHeader(src, size)
	if err != nil {
		return 0, err
	}
	total := HeaderSize + int64(h.Size)
	if total > size {
		return 0, fmt.Errorf("%w: %d data bytes declared, %d available", ErrTruncated, h.Size, size-HeaderSize)
	}
	crc := crc32.NewIEEE()
	if h.Type != TypeMulti {
		e := firmware.Entry{Path: h.payloadName(), Type: firmware.TypeFile, Mode: 0o644,
			ModTime: h.Time, Offset: HeaderSize, Size: int64(h.Size)}
		if err := payload.PutHashed(ctx, "uimage", dst, src, e, crc); err != nil {
			return 0, err
		}
		if got := crc.Sum32(); got != h.DataCRC {
			dst.Fail(e, fmt.Errorf("%w: header 0x%08x, computed 0x%08x", ErrDataCRC, h.DataCRC, got))
		}
		return total, nil
	}

	// Multi-file: a zero-terminated table of big-endian sizes, then the
	// sub-images, each padded to 4 bytes.
	var sizes []int64
	off := int64(HeaderSize)
	for {
		if err := ctx.Err(); err != nil {
			return 0, err
		}
		b, err := safeio.ReadAt(src, total, off, 4, 4)
		if err != nil {
			return 0, fmt.Errorf("uimage: multi size table at offset %d: %w", off, err)
		}
		off += 4
		n := int64(binary.BigEndian.Uint32(b))
		if n == 0 {
			break
		}
		if len(sizes) == maxParts {
			return 0, fmt.Errorf("%w: more than %d sub-images", ErrHeader, maxParts)
		}
		sizes = append(sizes, n)
	}
	ext := compExt[h.Comp]
	var failed error
	for i, n := range sizes {
		if err := ctx.Err(); err != nil {
			return 0, err
		}
		e := firmware.Entry{Path: fmt.Sprintf("multi-%d%s", i, ext), Type: firmware.TypeFile,
			Mode: 0o644, ModTime: h.Time, Offset: off, Size: n}
		if n > total-off {
			failed = fmt.Errorf("%w: sub-image %d of %d bytes at offset %d", ErrTruncated, i, n, off)
			dst.Fail(e, failed)
			break
		}
		if err := dst.Put(ctx, e, io.NewSectionReader(src, off, n)); err != nil {
			return 0, err
		}
		off += (n + 3) &^ 3
	}
	if err := payload.HashRange(ctx, "uimage", crc, src, HeaderSize, total-HeaderSize); err != nil {
		return 0, err
	}
	if got := crc.Sum32(); got != h.DataCRC {
		// The CRC covers the table and every sub-image: report it on the
		// container itself (empty path).
		dst.Fail(firmware.Entry{Path: "", Type: firmware.TypeFile, Offset: 0, Size: total},
			fmt.Errorf("%w: header 0x%08x, computed 0x%08x (covers all sub-images)", ErrDataCRC, h.DataCRC, got))
	}
	return total, nil
}
