#!/bin/sh
# Regenerates the 7z fixtures. Needs 7-Zip (7zz, or 7z from p7zip) and
# fakeroot (the setuid bit).
set -eu
cd "$(dirname "$0")"
out=$(pwd)
SZ=$(command -v 7zz || command -v 7z)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fakeroot sh -e -c '
cd "$1"
mkdir -p dir/sub
printf "hello 7z\n" > dir/file.txt
seq 1 2000 > dir/numbers.txt
printf "#!/bin/sh\n" > dir/suid
: > dir/empty
chmod 0755 dir dir/sub; chmod 0644 dir/file.txt dir/numbers.txt dir/empty; chmod 04755 dir/suid
ln -s file.txt dir/link
find dir -exec touch -h -d @1700000000 {} +
rm -f "$2"/*.7z
S="$3 a -bd -bso0 -snl -mtc=off -mta=off"
$S "$2/lzma2.7z" dir
$S -m0=lzma -mhc=off "$2/lzma-plainheader.7z" dir
$S -m0=copy -ms=off "$2/copy.7z" dir
$S -mf=BCJ -m0=lzma2 "$2/bcj.7z" dir
$S -psecret "$2/encrypted.7z" dir
$S -psecret -mhe=on "$2/encrypted-header.7z" dir
' sh "$work" "$out" "$SZ"
