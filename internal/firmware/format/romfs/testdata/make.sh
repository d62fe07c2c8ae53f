#!/bin/sh
# Regenerates the romfs fixture with genromfs. Run from this directory.
set -eu
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
src=$tmp/src
mkdir -p "$src/bin" "$src/etc/init.d" "$src/dev" "$src/empty"
printf 'hello, romfs\n' >"$src/hello.txt"
printf '#!/bin/sh\necho hi\n' >"$src/bin/run.sh"
chmod 755 "$src/bin/run.sh"
i=0; while [ $i -lt 300 ]; do printf 'config line %04d\n' $i; i=$((i+1)); done >"$src/etc/big.conf"
printf 'x' >"$src/etc/init.d/rcS"
ln "$src/hello.txt" "$src/etc/hello.hard"
ln -s ../hello.txt "$src/etc/link"
ln -s /very/long/target/path/that/goes/on/and/on "$src/bin/abs"
: >"$src/empty.txt"
# genromfs turns empty files named @name,type,major,minor into device nodes.
: >"$src/dev/@console,c,5,1"
: >"$src/dev/@mtdblock0,b,31,0"
: >"$src/dev/@initctl,p,0,0"
genromfs -f "$tmp/romfs.img" -d "$src" -V netvet-test
cp "$tmp/romfs.img" romfs.img
