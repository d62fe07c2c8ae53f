#!/bin/sh
# Regenerates the xz fixtures. Needs xz-utils.
set -eu
cd "$(dirname "$0")"
seq 1 1500 | sed 's/$/ netvet firmware fixture line/' > plain.txt
xz -9 -c plain.txt > crc64.xz
xz -6 --check=crc32 -c plain.txt > crc32.xz
xz -1 --check=none -c plain.txt > none.xz
xz -6 --check=sha256 -c plain.txt > sha256.xz
xz -6 --block-size=8KiB -c plain.txt > blocks.xz
head -c 20000 plain.txt | xz -c > concat.xz
printf '\0\0\0\0\0\0\0\0' >> concat.xz
tail -c +20001 plain.txt | xz -c >> concat.xz
: | xz -c > empty.xz
xz --x86 --lzma2 -c plain.txt > bcj.xz
