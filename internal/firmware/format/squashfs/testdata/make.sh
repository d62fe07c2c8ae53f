#!/bin/sh
# Regenerates the v4 little-endian fixtures with mksquashfs (one per
# compressor). The v4 big-endian, v3 and v2 fixtures come from gen/gen.go:
#   go run gen/gen.go -out .
set -eu
cd "$(dirname "$0")"
unset SOURCE_DATE_EPOCH
tree=$(mktemp -d)
trap 'rm -rf "$tree"' EXIT

# The source tree (files, directories, links) comes from the generator so
# that every fixture holds the same content.
go run gen/gen.go -tree "$tree"
chmod 755 "$tree"
find "$tree" -exec touch -h -d @1700000000 {} +

pseudo="
bin/su m 4755 0 0
home/user m 750 1000 100
home/user/notes.txt m 640 1000 100
tmp m 1777 0 0
dev/console c 600 0 5 5 1
dev/sda b 660 0 6 8 0
dev/initctl i 600 0 0 f
dev/log i 666 0 0 s
"
for comp in gzip xz lzma lzo lz4 zstd; do
	printf '%s\n' "$pseudo" > "$tree.pf"
	rm -f "v4-le-$comp.sqfs"
	mksquashfs "$tree" "v4-le-$comp.sqfs" -comp "$comp" -b 4096 -noappend \
		-no-xattrs -all-time 1700000000 -mkfs-time 1700000000 -quiet -no-progress \
		-pf "$tree.pf" >/dev/null
	rm -f "$tree.pf"
done

# Duplicate files: mksquashfs stores the data blocks and fragment tail of
# identical files once, so the reader meets the same blocks several times.
dups=$(mktemp -d)
mkdir "$dups/a" "$dups/b"
seq 1 4000 > "$dups/a/numbers"
for f in b/numbers b/numbers.2 numbers.3; do cp "$dups/a/numbers" "$dups/$f"; done
for i in 1 2 3 4 5 6; do printf 'small file %s\n' "$i" > "$dups/small$i"; printf 'small file 1\n' > "$dups/b/same$i"; done
find "$dups" -exec touch -h -d @1700000000 {} +
rm -f v4-le-xz-dups.sqfs
mksquashfs "$dups" v4-le-xz-dups.sqfs -comp xz -b 4096 -noappend -no-xattrs \
	-all-root -all-time 1700000000 -mkfs-time 1700000000 -quiet -no-progress >/dev/null
rm -rf "$dups"
