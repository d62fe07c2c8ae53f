#!/bin/sh
# Regenerates the bzip2 fixtures. Needs bzip2.
set -eu
cd "$(dirname "$0")"
seq 1 1500 | sed 's/$/ netvet firmware fixture line/' > plain.txt
bzip2 -9 -c plain.txt > plain.bz2
head -c 20000 plain.txt | bzip2 -1 > multi.bz2
tail -c +20001 plain.txt | bzip2 -9 >> multi.bz2
: | bzip2 > empty.bz2
