#!/bin/sh
# Regenerates the UBIFS fixtures: one image per compressor from the same
# source tree, gzip-compressed (the images are mostly 0xFF padding).
# Needs mtd-utils (mkfs.ubifs), fakeroot, gzip.
set -eu
cd "$(dirname "$0")"
export SOURCE_DATE_EPOCH=1700000000
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

fakeroot -s "$tmp/fr.state" sh -eu -c '
r="$1/root"
mkdir -p "$r/etc/init.d" "$r/bin" "$r/dev" "$r/tmp" "$r/empty"
printf "hello ubifs\n" > "$r/etc/motd"
seq 1 4000 > "$r/etc/numbers.txt"              # several blocks, compressible
awk "BEGIN{x=7; for(i=0;i<9000;i++){x=(x*1103515245+12345)%2147483648; printf \"%c\", 32+x%90}}" > "$r/bin/noise"
: > "$r/etc/empty"
printf "#!/bin/sh\necho start\n" > "$r/etc/init.d/rcS"
chmod 0755 "$r/etc/init.d/rcS"
printf "suid" > "$r/bin/su"; chmod 4755 "$r/bin/su"
printf "sgid" > "$r/bin/sg"; chmod 2711 "$r/bin/sg"
chmod 1777 "$r/tmp"
ln -s ../etc/motd "$r/bin/motd-link"
ln -s /nonexistent/abs "$r/bin/abs-link"
ln "$r/etc/motd" "$r/etc/motd.hard"
dd if=/dev/zero of="$r/etc/sparse" bs=1 count=0 seek=20000 2>/dev/null
printf "middle" | dd of="$r/etc/sparse" bs=1 seek=9000 conv=notrunc 2>/dev/null
mknod "$r/dev/null" c 1 3
mknod "$r/dev/sda1" b 8 1
mknod "$r/dev/big" c 300 70000
mkfifo "$r/dev/fifo"
printf "owned" > "$r/etc/owned"; chown 1000:1001 "$r/etc/owned"
find "$r" -exec touch -h -d @1700000000 {} +
' sh "$tmp"

for c in lzo zlib zstd none; do
	fakeroot -i "$tmp/fr.state" mkfs.ubifs -m 1 -e 16256 -c 64 -x "$c" -r "$tmp/root" "$tmp/$c.img"
	gzip -9n -c "$tmp/$c.img" > "$c.img.gz"
done
