// Package all holds the one list of firmware formats netvet knows.
// Adding a format is a package under internal/firmware/format and one line
// here; a test fails when a format package is missing from this list.
package all

import (
	"github.com/netvet/netvet/internal/firmware"
	"github.com/netvet/netvet/internal/firmware/format/bzip2"
	"github.com/netvet/netvet/internal/firmware/format/chk"
	"github.com/netvet/netvet/internal/firmware/format/cpio"
	"github.com/netvet/netvet/internal/firmware/format/cramfs"
	"github.com/netvet/netvet/internal/firmware/format/ext"
	"github.com/netvet/netvet/internal/firmware/format/fit"
	"github.com/netvet/netvet/internal/firmware/format/gzip"
	"github.com/netvet/netvet/internal/firmware/format/hwnp"
	"github.com/netvet/netvet/internal/firmware/format/iso9660"
	"github.com/netvet/netvet/internal/firmware/format/jffs2"
	"github.com/netvet/netvet/internal/firmware/format/lz4"
	"github.com/netvet/netvet/internal/firmware/format/lzma"
	"github.com/netvet/netvet/internal/firmware/format/romfs"
	"github.com/netvet/netvet/internal/firmware/format/seama"
	"github.com/netvet/netvet/internal/firmware/format/sevenzip"
	"github.com/netvet/netvet/internal/firmware/format/squashfs"
	"github.com/netvet/netvet/internal/firmware/format/tar"
	"github.com/netvet/netvet/internal/firmware/format/tplink"
	"github.com/netvet/netvet/internal/firmware/format/trx"
	"github.com/netvet/netvet/internal/firmware/format/ubi"
	"github.com/netvet/netvet/internal/firmware/format/ubifs"
	"github.com/netvet/netvet/internal/firmware/format/uimage"
	"github.com/netvet/netvet/internal/firmware/format/xz"
	"github.com/netvet/netvet/internal/firmware/format/zip"
	"github.com/netvet/netvet/internal/firmware/format/zlib"
	"github.com/netvet/netvet/internal/firmware/format/zstd"
)

// Formats returns every format, in the order the driver tries them at one
// offset: containers with strong, checksummed headers first, then
// filesystems, archives, and compression streams, whose signatures are
// weakest, last.
func Formats() []firmware.Format {
	return []firmware.Format{
		uimage.New(),
		fit.New(),
		trx.New(),
		chk.New(),
		seama.New(),
		hwnp.New(),
		tplink.New(),
		ubi.New(),
		squashfs.New(),
		ext.New(),
		jffs2.New(),
		ubifs.New(),
		cramfs.New(),
		romfs.New(),
		iso9660.New(),
		tar.New(),
		zip.New(),
		cpio.New(),
		sevenzip.New(),
		gzip.New(),
		xz.New(),
		bzip2.New(),
		zstd.New(),
		lz4.New(),
		lzma.New(),
		zlib.New(),
	}
}

// Registry returns a registry of every format.
func Registry() *firmware.Registry { return firmware.NewRegistry(Formats()...) }
