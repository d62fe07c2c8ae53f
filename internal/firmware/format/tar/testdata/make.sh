#!/bin/sh
# Regenerates the tar fixtures. Needs GNU tar, fakeroot (for owners,
# setuid bits and device nodes) and coreutils.
set -eu
cd "$(dirname "$0")"
out=$(pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
long=$(printf 'l%.0s' $(seq 1 150))
fakeroot sh -e -c '
cd "$1"
mkdir -p tree/dir tree/dir/tmp tree/dir/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa
printf "hello tar\n" > tree/dir/file.txt
printf "#!/bin/sh\n" > tree/dir/suid
printf "deep\n" > tree/dir/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa/bbbbbbbbbbbbbbbbbbbbbbbbbbbbbb
chmod 0755 tree/dir; chmod 0644 tree/dir/file.txt; chmod 04755 tree/dir/suid; chmod 01777 tree/dir/tmp
chown 1000:2000 tree/dir/file.txt
chown 0:0 tree/dir/suid
ln -s file.txt tree/dir/link
ln tree/dir/file.txt tree/dir/hard
mknod tree/dir/null c 1 3
mknod tree/dir/sda b 8 0
mkfifo tree/dir/fifo
chmod 0666 tree/dir/null; chmod 0660 tree/dir/sda; chmod 0644 tree/dir/fifo
find tree -exec touch -h -d @1700000000 {} +
T="tar --sort=name --mtime=@1700000000 --numeric-owner -C tree"
$T --format=ustar -cf "$2/ustar.tar" dir
$T --format=v7 -cf "$2/v7.tar" dir/file.txt dir/link
mkdir -p tree2/dir
cp -a tree/dir/file.txt tree2/dir/
printf "long\n" > "tree2/dir/$3"
ln -s "../$3/../file.txt" "tree2/dir/longlink"
truncate -s 1M tree2/dir/sparse
printf "data" | dd of=tree2/dir/sparse bs=1 seek=524288 conv=notrunc 2>/dev/null
find tree2 -exec touch -h -d @1700000000 {} +
T2="tar --sort=name --mtime=@1700000000 --numeric-owner -S -C tree2"
$T2 --format=gnu -cf "$2/gnu.tar" dir
$T2 --format=posix --pax-option=delete=atime,delete=ctime -cf "$2/pax.tar" dir
' sh "$work" "$out" "$long"
