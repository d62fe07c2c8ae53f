#!/bin/sh
# Rebuilds traversal.sqfs: an uncompressed SquashFS whose directory entry
# names are patched to "../" traversals (mksquashfs refuses to write them).
set -eu
t=$(mktemp -d); trap 'rm -rf "$t"' EXIT
mkdir -p "$t/src/zz"
echo pwned > "$t/src/zz/victim"; echo ok > "$t/src/fine"
printf x > "$t/src/$(printf 'Z%.0s' $(seq 1 67))"
SOURCE_DATE_EPOCH=1700000000 mksquashfs "$t/src" "$t/t.sqfs" -noI -noD -noF -noX -noappend -quiet -no-progress -all-root
python3 - "$t/t.sqfs" traversal.sqfs <<'PY'
import sys
b = bytearray(open(sys.argv[1], 'rb').read())
i = b.find(b'zz'); b[i:i+2] = b'..'
new = b'../' * 15 + b'tmp/netvet-sqfs-escape'
new += b'x' * (67 - len(new))
j = b.find(b'Z' * 67); b[j:j+67] = new
open(sys.argv[2], 'wb').write(b)
PY
