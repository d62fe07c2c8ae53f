#!/bin/sh
# Regenerates the CramFS fixtures with mkfs.cramfs (util-linux; -N big gives
# the same bytes cramfsswap would) under
# fakeroot, so device nodes, owners and setuid bits can be recorded.
# Run from this directory: sh make.sh
set -eu
out=$(pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cat > "$tmp/build.sh" <<'INNER'
set -eu
root="$1"; out="$2"
mkdir -p "$root/etc/init.d" "$root/bin" "$root/dev" "$root/empty" "$root/sgid"
printf 'hello cramfs\n' > "$root/etc/hello.txt"
printf '#!/bin/sh\necho start\n' > "$root/etc/init.d/rcS"
chmod 755 "$root/etc/init.d/rcS"
i=0; while [ $i -lt 800 ]; do echo "line $i of a compressible text file"; i=$((i+1)); done > "$root/bin/big.txt"
LC_ALL=C awk 'BEGIN{srand(42); for(i=0;i<9000;i++) printf "%c", int(rand()*256)}' > "$root/bin/noise.bin"
(printf 'x'; head -c 9000 /dev/zero; printf 'y') > "$root/bin/holey"
: > "$root/empty/zero"
ln -s ../etc/hello.txt "$root/bin/link"
chmod 4755 "$root/bin/big.txt"
chown 1000:100 "$root/bin/big.txt"
chmod 1777 "$root/empty"
chmod 2750 "$root/sgid"
mknod "$root/dev/console" c 5 1
chown 0:5 "$root/dev/console"
chmod 600 "$root/dev/console"
mknod "$root/dev/mtdblock0" b 31 0
chmod 640 "$root/dev/mtdblock0"
mkfifo "$root/dev/fifo"
chmod 644 "$root/dev/fifo"
chown 10:20 "$root/dev/fifo"
mkfs.cramfs "$root" "$out/le.cramfs"
mkfs.cramfs -N big "$root" "$out/be.cramfs"
mkfs.cramfs -p "$root" "$out/pad.cramfs"
mkfs.cramfs -z "$root" "$out/holes.cramfs"
mkfs.cramfs -b 16384 "$root" "$out/b16k.cramfs"
INNER
fakeroot sh "$tmp/build.sh" "$tmp/root" "$out"
