#!/bin/sh
# Regenerates the UBI fixtures (gzip-compressed: mostly 0xFF padding).
#   nor.img.gz:  16 KiB PEBs, min I/O 1 (NOR-like); volumes "rootfs"
#                (dynamic, UBIFS), "kernel" (static, 20000 bytes) and
#                "bad/name" (dynamic, 5000 bytes).
#   nand.img.gz: 16 KiB PEBs, 512-byte pages (NAND-like); one UBIFS volume.
# Needs mtd-utils (mkfs.ubifs, ubinize), gzip.
set -eu
cd "$(dirname "$0")"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

mkdir -p "$tmp/root/etc"
printf "hello ubi\n" > "$tmp/root/etc/motd"
seq 1 3000 > "$tmp/root/etc/numbers.txt"
find "$tmp/root" -exec touch -h -d @1700000000 {} +
awk 'BEGIN{for(i=0;i<20000;i++) printf "%c", 65+i%26}' > "$tmp/kernel.bin"
awk 'BEGIN{for(i=0;i<5000;i++) printf "%c", 97+i%7}' > "$tmp/raw.bin"

mkfs.ubifs -m 1 -e 16256 -c 40 -x lzo -r "$tmp/root" "$tmp/nor.ubifs"
cat > "$tmp/nor.ini" <<INI
[rootfs]
mode=ubi
image=$tmp/nor.ubifs
vol_id=0
vol_type=dynamic
vol_name=rootfs
[kernel]
mode=ubi
image=$tmp/kernel.bin
vol_id=1
vol_type=static
vol_name=kernel
[raw]
mode=ubi
image=$tmp/raw.bin
vol_id=2
vol_size=40KiB
vol_type=dynamic
vol_name=bad/name
INI
ubinize -o "$tmp/nor.img" -p 16KiB -m 1 -Q 305419896 "$tmp/nor.ini"
gzip -9n -c "$tmp/nor.img" > nor.img.gz

mkfs.ubifs -m 512 -e 15360 -c 40 -x zlib -r "$tmp/root" "$tmp/nand.ubifs"
cat > "$tmp/nand.ini" <<INI
[rootfs]
mode=ubi
image=$tmp/nand.ubifs
vol_id=0
vol_type=dynamic
vol_name=rootfs
vol_flags=autoresize
INI
ubinize -o "$tmp/nand.img" -p 16KiB -m 512 -Q 1 "$tmp/nand.ini"
gzip -9n -c "$tmp/nand.img" > nand.img.gz
# The UBIFS images the tests compare the volumes with.
gzip -9n -c "$tmp/nor.ubifs" > nor.ubifs.gz
gzip -9n -c "$tmp/nand.ubifs" > nand.ubifs.gz
