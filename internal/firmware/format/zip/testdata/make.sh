#!/bin/sh
# Regenerates the zip fixtures. Needs Info-ZIP zip and fakeroot (owners and
# the setuid bit). Hostile archives are built by the tests in Go.
set -eu
cd "$(dirname "$0")"
out=$(pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fakeroot sh -e -c '
cd "$1"
mkdir -p dir/sub
printf "hello zip\n" > dir/file.txt
seq 1 2000 > dir/numbers.txt
printf "#!/bin/sh\n" > dir/suid
chmod 0755 dir dir/sub; chmod 0644 dir/file.txt dir/numbers.txt; chmod 04755 dir/suid
chown 1000:2000 dir/file.txt
ln -s file.txt dir/link
find dir -exec touch -h -d @1700000000 {} +
rm -f "$2"/*.zip
zip -q -X -r -y "$2/plain.zip" dir
zip -q -r -y "$2/unix.zip" dir
zip -q -r -y -fz "$2/zip64.zip" dir
zip -q -P secret "$2/encrypted.zip" dir/file.txt
zip -q -0 "$2/stored.zip" dir/numbers.txt
' sh "$work" "$out"
