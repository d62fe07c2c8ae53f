#!/bin/sh
# Regenerates the zlib fixtures. Needs python3 (its zlib module).
set -eu
cd "$(dirname "$0")"
seq 1 1500 | sed 's/$/ netvet firmware fixture line/' > plain.txt
python3 - <<'PY'
import zlib
plain = open("plain.txt", "rb").read()
open("level9.zlib", "wb").write(zlib.compress(plain, 9))
open("level1.zlib", "wb").write(zlib.compress(plain, 1))
c = zlib.compressobj(6, zlib.DEFLATED, 13)  # 8 KiB window: header 0x58
open("window8k.zlib", "wb").write(c.compress(plain) + c.flush())
open("empty.zlib", "wb").write(zlib.compress(b""))
PY
