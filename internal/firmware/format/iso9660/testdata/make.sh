#!/bin/sh
# Regenerates the ISO 9660 fixtures (gzip-compressed) with genisoimage and
# xorriso. Run from this directory. Needs fakeroot, genisoimage, xorriso.
set -eu
export SOURCE_DATE_EPOCH=1700000000
here=$(pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cat >"$tmp/build.sh" <<'EOS'
set -eu
src=$1
mkdir -p "$src/etc/init.d" "$src/bin" "$src/a/b/c/d/e/f/g/h/i"
printf 'hello, iso\n' >"$src/hello.txt"
i=0; while [ $i -lt 400 ]; do printf 'iso line %04d\n' $i; i=$((i+1)); done >"$src/etc/big.conf"
printf '#!/bin/sh\n' >"$src/bin/run.sh"; chmod 755 "$src/bin/run.sh"
printf 'suid\n' >"$src/bin/suid"; chmod 4755 "$src/bin/suid"
printf 'owned\n' >"$src/etc/owned"; chown 1234:70000 "$src/etc/owned"
ln "$src/hello.txt" "$src/etc/hello.hard"
ln -s ../hello.txt "$src/etc/rel"
ln -s /usr/lib/very/long/absolute/target "$src/etc/abs"
ln -s "$(printf 'component%.0s/' $(seq 1 30))end" "$src/etc/longlink"
printf 'long name\n' >"$src/etc/a_rather_long_file_name_that_needs_rock_ridge_or_joliet_names.txt"
printf 'deep\n' >"$src/a/b/c/d/e/f/g/h/i/deep.txt"
mknod "$src/etc/console" c 5 1
mknod "$src/etc/mtd0" b 31 0
mkfifo "$src/etc/fifo"
find "$src" -exec touch -h -d @1700000000 {} +
EOS
fakeroot sh -c "sh '$tmp/build.sh' '$tmp/src' &&
  genisoimage -quiet -R -J -V NETVET -o '$tmp/rr.iso' '$tmp/src' &&
  xorriso -as mkisofs -quiet -R -V NETVET -o '$tmp/xorriso.iso' '$tmp/src' 2>/dev/null &&
  genisoimage -quiet -J -V NETVET -o '$tmp/joliet.iso' '$tmp/src' 2>/dev/null &&
  genisoimage -quiet -V NETVET -o '$tmp/plain.iso' '$tmp/src' 2>/dev/null"
for n in rr xorriso joliet plain; do gzip -9 -n -c "$tmp/$n.iso" >"$here/$n.iso.gz"; done
