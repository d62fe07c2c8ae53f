#!/bin/sh
# Regenerates the JFFS2 fixtures with mtd-utils (mkfs.jffs2, sumtool).
# Run from this directory: sh make.sh
# mkfs.jffs2 records ctime, which cannot be fixed, so the images differ
# from run to run in those fields only.
set -eu
export SOURCE_DATE_EPOCH=1700000000
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
root="$tmp/root"
mkdir -p "$root/etc/init.d" "$root/bin" "$root/dev" "$root/empty"
printf 'hello jffs2\n' > "$root/etc/hello.txt"
printf '#!/bin/sh\necho start\n' > "$root/etc/init.d/rcS"
chmod 755 "$root/etc/init.d/rcS"
# a compressible multi-page file and an incompressible one
i=0; while [ $i -lt 800 ]; do echo "line $i of a compressible text file"; i=$((i+1)); done > "$root/bin/big.txt"
LC_ALL=C awk 'BEGIN{srand(42); for(i=0;i<9000;i++) printf "%c", int(rand()*256)}' > "$root/bin/noise.bin"
: > "$root/empty/zero"
ln -s ../etc/hello.txt "$root/bin/link"
ln "$root/etc/hello.txt" "$root/etc/hard.txt"
chmod 4755 "$root/bin/big.txt"
chmod 1777 "$root/empty"
touch -d @1700000000 $(find "$root")
touch -h -d @1700000000 "$root/bin/link"
cat > "$tmp/devtable" <<'DEV'
/dev	d	755	0	0	-	-	-	-	-
/dev/console	c	600	0	5	5	1	-	-	-
/dev/mtdblock0	b	640	0	6	31	0	-	-	-
/dev/fifo	p	644	10	20	-	-	-	-	-
/bin/big.txt	f	4755	1000	100	-	-	-	-	-
DEV
mkfs.jffs2 -l -e 0x4000 -r "$root" -D "$tmp/devtable" -o le.jffs2
mkfs.jffs2 -b -e 0x4000 -r "$root" -D "$tmp/devtable" -o be.jffs2
mkfs.jffs2 -l -e 0x4000 -r "$root" -D "$tmp/devtable" -x zlib -o rtime.jffs2
mkfs.jffs2 -l -e 0x4000 -r "$root" -D "$tmp/devtable" -X lzo -x zlib -x rtime -o lzo.jffs2
mkfs.jffs2 -l -e 0x4000 -r "$root" -D "$tmp/devtable" -x zlib -x rtime -o none.jffs2
mkfs.jffs2 -l -e 0x4000 -r "$root" -D "$tmp/devtable" --pad=0x8000 -o pad.jffs2
sumtool -l -e 0x4000 -i le.jffs2 -o sum.jffs2
# xattr and xref nodes (the reader skips them)
python3 -c 'import os, sys; os.setxattr(sys.argv[1], "user.comment", b"fixture")' "$root/etc/hello.txt"
mkfs.jffs2 -b -e 0x4000 -r "$root" -D "$tmp/devtable" --with-xattr -o xattr.jffs2
