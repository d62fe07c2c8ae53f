#!/usr/bin/env bash
# Rebuilds demo-router.bin, the example image `netvet demo` unpacks.
# Needs: gcc, squashfs-tools, u-boot-tools, gzip, openssl, Go.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
export SOURCE_DATE_EPOCH=1772359200 # 2026-03-01T10:00:00Z

r="$work/rootfs"
cp -a "$here/rootfs" "$r"
mkdir -p "$r"/{bin,sbin,usr/bin,usr/sbin,lib,dev,tmp,var,proc,etc/dropbear,etc/ssl/private}
gcc -Os -s -o "$r/bin/busybox" "$here/src/busybox.c"
gcc -Os -s -o "$r/usr/sbin/dropbear" "$here/src/dropbear.c"
for a in ash sh; do ln -sf busybox "$r/bin/$a"; done
ln -sf ../bin/busybox "$r/sbin/init"
ln -sf ../../bin/busybox "$r/usr/sbin/telnetd"
ln -sf ../../bin/busybox "$r/usr/bin/nc"
cp "$here/src/demo-server.key" "$r/etc/ssl/private/server.key"
find "$r" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +

mksquashfs "$r" "$work/rootfs.sqfs" -comp xz -b 131072 -noappend -quiet -no-progress \
  -all-root \
  -p 'bin/busybox m 4755 0 0' \
  -p 'etc/shadow m 600 0 0' \
  -p 'dev/console c 600 0 0 5 1' \
  -p 'dev/mtdblock0 b 640 0 6 31 0' \
  -p 'home/support d 700 1000 1000'

# The kernel: a stand-in with the banner a real one carries.
{ printf 'Linux version 4.14.180 (builder@vendor-build) (gcc version 9.3.0) #1 SMP PREEMPT Sun Mar 1 10:00:00 UTC 2026\n';
  head -c 65536 /dev/zero | tr '\0' 'K'; } > "$work/Image"
gzip -9 -n -c "$work/Image" > "$work/Image.gz"
mkimage -A arm -O linux -T kernel -C gzip -a 0x80008000 -e 0x80008000 -n 'Linux-4.14.180' \
  -d "$work/Image.gz" "$work/kernel.uimage" >/dev/null

(cd "$repo" && go run ./examples/firmware/mkdemo -kernel "$work/kernel.uimage" -rootfs "$work/rootfs.sqfs" -o "$here/demo-router.bin")
ls -l "$here/demo-router.bin"
