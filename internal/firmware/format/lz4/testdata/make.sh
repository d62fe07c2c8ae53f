#!/bin/sh
# Regenerates the lz4 fixtures. Needs lz4 (the CLI writes frames and, with
# -l, the legacy format).
set -eu
cd "$(dirname "$0")"
seq 1 1500 | sed 's/$/ netvet firmware fixture line/' > plain.txt
lz4 -q -9 -c plain.txt > plain.lz4
lz4 -q --content-size -BX -B4 -c plain.txt > checks.lz4
head -c 20000 plain.txt | lz4 -q -c > multi.lz4
printf '\120\052\115\030\004\000\000\000skip' >> multi.lz4
tail -c +20001 plain.txt | lz4 -q -c >> multi.lz4
lz4 -q -l -c plain.txt > legacy.lz4
: | lz4 -q -c > empty.lz4
