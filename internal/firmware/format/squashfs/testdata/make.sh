#!/bin/sh
# Regenerates the v4 little-endian fixtures with mksquashfs (one per
# compressor). The v4 big-endian, v3 and v2 fixtures come from gen/gen.go:
#   go run ./gen
set -eu
cd "$(dirname "$0")"
unset SOURCE_DATE_EPOCH
tree=$(mktemp -d)
trap 'rm -rf "$tree"' EXIT

mkdir -p "$tree/etc" "$tree/bin" "$tree/home/user" "$tree/tmp" "$tree/empty"
printf 'root:x:0:0:root:/root:/bin/sh\nuser:x:1000:100::/home/user:/bin/sh\n' > "$tree/etc/passwd"
ln "$tree/etc/passwd" "$tree/etc/passwd-"
printf '#!/bin/sh\necho su\n' > "$tree/bin/su"
printf 'hello user\n' > "$tree/home/user/notes.txt"
: > "$tree/zero-length"
ln -s ../etc/passwd "$tree/bin/passwd-link"
# big.bin: 3 blocks of 4 KiB pseudo-random data, one all-zero (sparse)
# block, then a 1000-byte tail that lands in a fragment.
awk 'BEGIN{s=12345; for(i=0;i<12288;i++){s=(s*1103515245+12345)%2147483648; printf "%c", int(s/65536)%94+33}}' > "$tree/big.bin"
head -c 4096 /dev/zero >> "$tree/big.bin"
head -c 1000 "$tree/etc/passwd" >> "$tree/big.bin"
awk 'BEGIN{for(i=0;i<1000;i++) printf "%c", 65+i%26}' >> "$tree/big.bin"
find "$tree" -exec touch -h -d @1700000000 {} +

pseudo="
bin/su m 4755 0 0
home/user m 750 1000 100
home/user/notes.txt m 640 1000 100
tmp m 1777 0 0
dev d 755 0 0
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
