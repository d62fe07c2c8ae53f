#!/bin/sh
# Regenerates the cpio fixtures. Needs GNU cpio and fakeroot (owners,
# setuid bits, device nodes).
set -eu
cd "$(dirname "$0")"
out=$(pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fakeroot sh -e -c '
cd "$1"
mkdir -p dir/tmp
printf "hello cpio\n" > dir/file.txt
printf "#!/bin/sh\n" > dir/suid
chmod 0755 dir; chmod 0644 dir/file.txt; chmod 04755 dir/suid; chmod 01777 dir/tmp
chown 1000:2000 dir/file.txt
ln -s file.txt dir/link
ln dir/file.txt dir/hard
mknod dir/null c 1 3
mknod dir/sda b 8 0
mkfifo dir/fifo
chmod 0666 dir/null; chmod 0660 dir/sda; chmod 0644 dir/fifo
find dir -exec touch -h -d @1700000000 {} +
for f in newc crc odc bin; do
	find dir | LC_ALL=C sort | cpio --quiet -o -H $f --reproducible > "$2/$f.cpio"
done
' sh "$work" "$out"
