#!/bin/sh
# Regenerates the zstd fixtures. Needs zstd. A skippable frame is written
# with printf.
set -eu
cd "$(dirname "$0")"
seq 1 1500 | sed 's/$/ netvet firmware fixture line/' > plain.txt
zstd -q -19 -c plain.txt > plain.zst
zstd -q -3 --no-check -c plain.txt > nocheck.zst
head -c 20000 plain.txt | zstd -q -c > multi.zst
printf '\120\052\115\030\010\000\000\000skipskip' >> multi.zst
tail -c +20001 plain.txt | zstd -q -c >> multi.zst
printf '\121\052\115\030\004\000\000\000meta' > skipfirst.zst
cat plain.zst >> skipfirst.zst
: | zstd -q -c > empty.zst
