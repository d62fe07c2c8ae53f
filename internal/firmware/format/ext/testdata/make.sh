#!/bin/sh
# Regenerates the ext fixtures (gzip-compressed images) with e2fsprogs.
# Run from this directory: sh make.sh
# Needs mke2fs, fakeroot, gzip.
set -eu
export SOURCE_DATE_EPOCH=1700000000
export E2FSPROGS_FAKE_TIME=1700000000
here=$(pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# The source tree is built inside fakeroot so that owners, setuid bits and
# device nodes are recorded, then mke2fs -d copies it in the same session.
cat >"$tmp/build.sh" <<'EOS'
set -eu
src=$1
mkdir -p "$src/dir/sub" "$src/empty"
printf 'hello, ext\n' >"$src/hello.txt"
# 40 KiB of varied data: more than 12 blocks of 1 KiB (indirect blocks).
i=0; while [ $i -lt 1000 ]; do printf 'line %05d of the big file..............\n' $i; i=$((i+1)); done >"$src/big.bin"
head -c 40000 "$src/big.bin" >"$src/big.tmp" && mv "$src/big.tmp" "$src/big.bin"
# A sparse file: data islands separated by holes (several extents).
: >"$src/sparse.bin"
for k in 0 3 6 9 12 15 18; do
  printf 'island %d' $k | dd of="$src/sparse.bin" bs=4096 seek=$k conv=notrunc 2>/dev/null
done
printf 'end' | dd of="$src/sparse.bin" bs=1 seek=89997 conv=notrunc 2>/dev/null
# Data far past the start: double-indirect blocks at 1 KiB block size.
printf 'far away' | dd of="$src/far.bin" bs=1 seek=400000 2>/dev/null
printf 'setuid\n' >"$src/dir/suid"
chmod 4755 "$src/dir/suid"
printf 'setgid\n' >"$src/dir/sgid"
chmod 2750 "$src/dir/sgid"
chmod 1777 "$src/dir/sub"
printf 'owned\n' >"$src/dir/owned"
chown 1234:70000 "$src/dir/owned"
ln "$src/hello.txt" "$src/dir/hardlink"
ln -s hello.txt "$src/fastlink"
ln -s "$(printf 'd%.0s' $(seq 1 70))/target/of/a/long/slow/symlink/past/sixty/bytes" "$src/slowlink"
mknod "$src/dir/tty0" c 4 0
mknod "$src/dir/sda1" b 8 1
mkfifo "$src/dir/fifo"
printf 'small inline\n' >"$src/dir/sub/inline.txt"
if [ "${MANY:-}" = 1 ]; then
  mkdir "$src/many"
  i=0; while [ $i -lt 200 ]; do printf '%d\n' $i >"$src/many/entry-with-a-longish-name-$i"; i=$((i+1)); done
fi
find "$src" -exec touch -h -d @1700000000 {} +
EOS

# mke2fs -d stamps each inode's ctime with the current time; rewrite the
# ctime of every inode in use so that the images are reproducible.
fix_ctime() {
  n=$(dumpe2fs -h "$1" 2>/dev/null | awk -F: '/^Inode count/ {print $2+0}')
  i=1; while [ $i -le "$n" ]; do echo "stat <$i>"; i=$((i+1)); done >"$tmp/stat.cmd"
  debugfs -f "$tmp/stat.cmd" "$1" 2>/dev/null |
    awk '/^Inode:/ {ino=$2} $1 == "ctime:" {if (substr($2,1,10) != "0x00000000") print "sif <" ino "> ctime @1700000000"}' >"$tmp/fix.cmd"
  debugfs -w -f "$tmp/fix.cmd" "$1" >/dev/null 2>&1
}

mk() { # name blocks mke2fs-options...
  name=$1; blocks=$2; shift 2
  rm -rf "$tmp/src" "$tmp/$name.img"
  fakeroot sh -c "MANY=${MANY:-} sh '$tmp/build.sh' '$tmp/src' && mke2fs -q -F -U 01234567-89ab-cdef-0123-456789abcdef -E root_owner=0:0,hash_seed=01234567-89ab-cdef-0123-456789abcdef -d '$tmp/src' $* '$tmp/$name.img' $blocks"
  fix_ctime "$tmp/$name.img"
  if [ "${MANY:-}" = 1 ]; then
    # Index the large directory (htree); exit status 1 means "fixed".
    e2fsck -fyD "$tmp/$name.img" >/dev/null 2>&1 || [ $? -eq 1 ]
    printf 'ssv lastcheck @1700000000\nssv wtime @1700000000\n' >"$tmp/sb.cmd"
    debugfs -w -f "$tmp/sb.cmd" "$tmp/$name.img" >/dev/null 2>&1
  fi
  gzip -9 -n -c "$tmp/$name.img" >"$here/$name.img.gz"
}

# ext2, 1 KiB blocks: direct, indirect and double-indirect block maps.
mk ext2 1024 -t ext2 -b 1024 -N 64 -I 128
# ext3: journal (not replayed), block maps, 256-byte inodes.
mk ext3 4096 -t ext3 -b 1024 -N 64 -I 256 -J size=1
# ext4, 1 KiB blocks, extents, 64-bit descriptors, flex_bg.
mk ext4 2048 -t ext4 -b 1024 -N 64 -O 64bit,^has_journal
# ext4 with inline_data and 4 KiB blocks.
mk ext4inline 256 -t ext4 -b 4096 -N 64 -O inline_data,^has_journal
# ext4 with meta_bg, 2 KiB blocks, no resize_inode.
mk ext4metabg 2048 -t ext4 -b 2048 -N 64 -O meta_bg,^resize_inode,^has_journal
# ext4 with an htree-indexed directory (e2fsck -D), 1 KiB blocks.
MANY=1 mk ext4htree 2048 -t ext4 -b 1024 -N 300 -O ^has_journal
