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

# Branch filters: synthetic data rich in the opcodes each filter converts.
python3 - <<'PY'
import random
r = random.Random(7)
hot = [0xe8, 0xe9, 0x00, 0xff, 0xeb, 0xf0, 0xf7, 0xf8, 0xff, 0x48, 0x4b, 0x01, 0x40, 0x7f, 0xc0]
out = bytearray()
while len(out) < 12288:
    out.append(r.choice(hot) if r.random() < 0.7 else r.randrange(256))
open("bcj.raw", "wb").write(out)
PY
for f in x86 powerpc ia64 arm armthumb sparc arm64; do
	xz -c --$f --lzma2=preset=6 bcj.raw > bcj-$f.xz
done
xz -c --x86=start=4096 --lzma2=preset=6 bcj.raw > bcj-x86-start.xz
xz -c --delta=dist=4 --lzma2=preset=6 bcj.raw > delta.xz
