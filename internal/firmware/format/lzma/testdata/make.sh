#!/bin/sh
# Regenerates the lzma fixtures. Needs xz-utils (xz --format=lzma writes
# an unknown size and an end marker). The known-size variant is built by
# the test with github.com/ulikunitz/xz/lzma.
set -eu
cd "$(dirname "$0")"
seq 1 1500 | sed 's/$/ netvet firmware fixture line/' > plain.txt
xz --format=lzma -9 -c plain.txt > plain.lzma
xz --format=lzma --lzma1=preset=6,lc=0,lp=2,pb=2 -c plain.txt > lp2.lzma
xz --format=lzma --lzma1=dict=48KiB -c plain.txt > dict48k.lzma
