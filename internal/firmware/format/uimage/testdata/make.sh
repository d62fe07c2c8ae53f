#!/bin/sh
# Regenerates the uImage fixtures with mkimage (u-boot-tools).
set -eu
cd "$(dirname "$0")"
export SOURCE_DATE_EPOCH=1700000000
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
printf 'kernel payload %s\n' $(seq 1 200) > "$tmp/kernel"
gzip -n -9 -c "$tmp/kernel" > "$tmp/kernel.gz"
printf 'ramdisk %s\n' $(seq 1 100) > "$tmp/ramdisk"
xz --format=lzma -c "$tmp/ramdisk" > "$tmp/ramdisk.lzma"
printf 'abc' > "$tmp/a"      # 3 bytes: exercises padding
printf 'second part\n' > "$tmp/b"
printf 'third' > "$tmp/c"
mkimage -A arm -O linux -T kernel -C gzip -a 0x80008000 -e 0x80008000 -n 'Linux-6.1.0' -d "$tmp/kernel.gz" kernel.uimage >/dev/null
mkimage -A mips -O linux -T ramdisk -C lzma -n 'ramdisk' -d "$tmp/ramdisk.lzma" ramdisk.uimage >/dev/null
mkimage -A arm -O linux -T multi -C none -n 'multi' -d "$tmp/a:$tmp/b:$tmp/c" multi.uimage >/dev/null
cp "$tmp/kernel.gz" kernel.gz.expected
cp "$tmp/a" multi-0.expected; cp "$tmp/b" multi-1.expected; cp "$tmp/c" multi-2.expected
