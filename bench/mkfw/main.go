// Command mkfw wraps a rootfs image and a kernel in a vendor firmware
// container, for the benchmarks in bench/. It uses the builders exported by
// the format packages, so the images it writes are the ones netvet's readers
// are tested against.
//
// Usage:
//
//	mkfw -format chk|trx|seama -kernel FILE -rootfs FILE -o OUT
//
// The kernel file is gzip-compressed and wrapped in a uImage (type kernel,
// ARM, Linux); the rootfs is stored as given (e.g. a uImage made by
// mkimage). The uImage timestamp is SOURCE_DATE_EPOCH, or 0 when unset.
package main

import (
	"bytes"
	"compress/gzip"
	"flag"
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/netvet/netvet/internal/firmware/format/chk"
	"github.com/netvet/netvet/internal/firmware/format/seama"
	"github.com/netvet/netvet/internal/firmware/format/trx"
	"github.com/netvet/netvet/internal/firmware/format/uimage"
)

func main() {
	format := flag.String("format", "chk", "container: chk, trx or seama")
	kernelPath := flag.String("kernel", "", "file to use as the kernel payload (gzip-compressed into a uImage)")
	rootfsPath := flag.String("rootfs", "", "rootfs image to store as is")
	out := flag.String("o", "", "output file")
	board := flag.String("board", "U12H270T00_NETGEAR", "CHK board ID")
	flag.Parse()
	if *kernelPath == "" || *rootfsPath == "" || *out == "" || flag.NArg() != 0 {
		flag.Usage()
		os.Exit(2)
	}
	if err := run(*format, *kernelPath, *rootfsPath, *out, *board); err != nil {
		fmt.Fprintln(os.Stderr, "mkfw:", err)
		os.Exit(1)
	}
}

func run(format, kernelPath, rootfsPath, out, board string) error {
	payload, err := os.ReadFile(kernelPath)
	if err != nil {
		return err
	}
	rootfs, err := os.ReadFile(rootfsPath)
	if err != nil {
		return err
	}
	kernel, err := kernelImage(payload)
	if err != nil {
		return err
	}
	var img []byte
	switch format {
	case "chk":
		img = chk.Build(board, kernel, rootfs)
	case "trx":
		img = trx.Build([][]byte{kernel, rootfs})
	case "seama":
		img = seama.Build([]string{"signature=wrgac_benchmark", "dev=bench"}, append(kernel, rootfs...))
	default:
		return fmt.Errorf("unknown format %q (want chk, trx or seama)", format)
	}
	return os.WriteFile(out, img, 0o644)
}

// kernelImage gzips payload deterministically and wraps it in a kernel uImage.
func kernelImage(payload []byte) ([]byte, error) {
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if err != nil {
		return nil, err
	}
	if _, err := zw.Write(payload); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	var t time.Time
	if s := os.Getenv("SOURCE_DATE_EPOCH"); s != "" {
		sec, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("SOURCE_DATE_EPOCH: %w", err)
		}
		t = time.Unix(sec, 0)
	}
	h := uimage.Header{
		Name:  "Linux-bench",
		Time:  t,
		Load:  0x80008000,
		Entry: 0x80008000,
		OS:    uimage.OSLinux,
		Arch:  uimage.ArchARM,
		Type:  uimage.TypeKernel,
		Comp:  uimage.CompGzip,
	}
	return uimage.Build(h, buf.Bytes()), nil
}
