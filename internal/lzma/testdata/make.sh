#!/bin/sh
# Regenerates the .xz and .lzma fixtures with the xz CLI (xz-utils 5.4).
# Inputs are synthetic and deterministic; each NAME.VARIANT.xz decodes to
# NAME.bin. Run from this directory: sh make.sh
set -eu
export LC_ALL=C

# text.bin: 24 KiB of varied text. code.bin: 8 KiB of fake machine code
# dense in the branch patterns every BCJ filter converts.
python3 - <<'PY'
import random
r = random.Random(1)
words = "firmware router kernel squashfs block inode lzma dictionary range coder match literal the of and to in".split()
t = []
n = 0
while n < 24576:
    w = r.choice(words) + (" " if r.random() < .9 else ".\n")
    t.append(w); n += len(w)
open("text.bin", "wb").write("".join(t).encode()[:24576])
b = bytearray()
while len(b) < 8192:
    k = r.randrange(12)
    if k == 0: b += bytes([0xE8]) + r.randrange(-4096, 4096).to_bytes(4, "little", signed=True)
    elif k == 1: b += bytes([0xE9]) + r.randrange(-65536, 65536).to_bytes(4, "little", signed=True)
    elif k == 2: b += r.randrange(1 << 24).to_bytes(3, "little") + b"\xeb"                  # ARM BL
    elif k == 3: b += (0x48000001 | (r.randrange(1 << 16) << 2)).to_bytes(4, "big")      # PowerPC bl
    elif k == 4: b += bytes([0xF0 | r.randrange(8), r.randrange(256), 0xF8 | r.randrange(8), r.randrange(256)][::1])  # Thumb BL (byte order below)
    elif k == 5: b += (0x40000000 | r.randrange(1 << 16)).to_bytes(4, "big")             # SPARC call
    elif k == 6: b += (0x94000000 | r.randrange(1 << 16)).to_bytes(4, "little")          # ARM64 BL
    elif k == 7: b += (0x90000000 | (r.randrange(4) << 29) | (r.randrange(1 << 10) << 5) | r.randrange(32)).to_bytes(4, "little")  # ARM64 ADRP
    elif k == 8:  # IA-64 bundle, template 0x10: slot 2 is a branch (opcode 5)
        slot2 = (5 << 37) | (r.randrange(2) << 36) | (r.randrange(1 << 20) << 13) | r.randrange(1 << 6)
        bundle = 0x10 | (r.randrange(1 << 41) << 5) | (r.randrange(1 << 41) << 46) | (slot2 << 87)
        while len(b) % 16: b.append(0)
        b += bundle.to_bytes(16, "little")
    else: b += bytes(r.choice([0, 0x8b, 0x48, 0x89, 0xc3, 0xff, 0x0f, 0x85]) for _ in range(4))
    # Thumb pairs are little-endian halfwords: fix byte order of k == 4.
    if k == 4:
        b[-4], b[-3], b[-2], b[-1] = b[-3], b[-4], b[-1], b[-2]
while len(b) % 16: b.pop()
open("code.bin", "wb").write(bytes(b[:8192]))
open("rand.bin", "wb").write(bytes(r.randrange(256) for _ in range(4096)))
PY
: > empty.bin

x() { out=$1; shift; xz -c -q "$@" > "$out"; }

for p in 0 1 2 3 4 5 6 7 8 9; do x text.p$p.xz -$p text.bin; done
x text.p6e.xz -6e text.bin
x text.p9e.xz -9e text.bin
for c in none crc32 crc64 sha256; do x text.check-$c.xz --check=$c text.bin; done
x text.blocks.xz --block-size=4096 text.bin
x text.blocks-sha256.xz --block-size=5000 --check=sha256 text.bin
# Multi-threaded mode stores both sizes in each block header.
x text.mt.xz -T2 --block-size=8000 text.bin
x empty.plain.xz empty.bin
x empty.none.xz --check=none empty.bin
x code.x86.xz --x86 --lzma2 code.bin
x code.x86-start.xz --x86=start=4096 --lzma2 code.bin
x code.powerpc.xz --powerpc --lzma2 code.bin
x code.ia64.xz --ia64 --lzma2 code.bin
x code.arm.xz --arm --lzma2 code.bin
x code.armthumb.xz --armthumb --lzma2 code.bin
x code.sparc.xz --sparc --lzma2 code.bin
x code.arm64.xz --arm64 --lzma2 code.bin
x code.x86-blocks.xz --x86 --lzma2 --block-size=3000 code.bin
x rand.plain.xz rand.bin
x code.delta.xz --delta=dist=4 --lzma2 code.bin
x code.delta1.xz --delta=dist=1 --lzma2 code.bin
x code.x86-delta.xz --x86 --delta=dist=2 --lzma2 code.bin
x code.lzma2-lc4.xz --lzma2=preset=6,lc=4,lp=0,pb=0 code.bin
x code.lzma2-lp2.xz --lzma2=preset=6,lc=1,lp=2,pb=4 code.bin
x code.lzma2-tiny.xz --lzma2=dict=4KiB code.bin

# Multi-stream: two streams (text then code) with padding between and after.
head -c 12288 text.bin > half.bin
tail -c +12289 text.bin > half2.bin
xz -c -q half.bin > a.tmp; xz -c -q --check=sha256 half2.bin > b.tmp
{ cat a.tmp; printf '\0\0\0\0\0\0\0\0'; cat b.tmp; printf '\0\0\0\0'; } > text.multi.xz
cat a.tmp b.tmp > text.concat.xz
rm -f a.tmp b.tmp half.bin half2.bin

# Legacy .lzma (end marker, size unknown).
xz -c -q --format=lzma text.bin > text.alone.lzma
xz -c -q --format=lzma --lzma1=preset=9,lc=4,lp=0,pb=0 code.bin > code.alone-lc4.lzma
xz -c -q --format=lzma empty.bin > empty.alone.lzma
# Same with the real size in the header (the end marker then follows the data).
python3 - <<'PY'
import struct
d = bytearray(open("text.alone.lzma", "rb").read())
d[5:13] = struct.pack("<Q", 24576)
open("text.alone-sized.lzma", "wb").write(d)
PY
