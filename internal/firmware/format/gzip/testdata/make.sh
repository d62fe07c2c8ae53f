#!/bin/sh
# Regenerates the gzip fixtures. Needs gzip (Debian gzip).
set -eu
cd "$(dirname "$0")"
seq 1 1500 | sed 's/$/ netvet firmware fixture line/' > plain.txt
touch -d @1700000000 plain.txt
gzip -9 -c plain.txt > named.gz            # FNAME "plain.txt", mtime kept
gzip -9 -n -c plain.txt > noname.gz        # no name, no mtime
head -c 20000 plain.txt | gzip -1 -n > multi.gz
tail -c +20001 plain.txt | gzip -9 -n >> multi.gz
: | gzip -n > empty.gz
