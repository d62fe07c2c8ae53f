#!/usr/bin/env bash
# mkrootfs.sh SIZE_MIB DIR
#
# Builds a router-like root filesystem of about SIZE_MIB MiB in DIR from the
# Debian binaries, libraries and data files installed on this machine:
#   bin/ sbin/ lib/      a few core programs and the C runtime
#   usr/bin usr/sbin     sampled from /usr/bin and /usr/sbin       (~25 %)
#   usr/lib              sampled from /usr/lib/x86_64-linux-gnu   (~55 %)
#   usr/share            sampled from /usr/share                  (~15 %)
#   usr/lib/extra        from the rest of /usr/lib, only when the above run short
#   etc/ www/ var/ dev/  generated: configs, init scripts, a web UI, device nodes
# plus symlinks (relative, absolute, dangling), a hard link and setuid files.
#
# Files are sampled evenly across each source tree (systematic sampling over
# the path-sorted list, weighted by size), so the same machine and SIZE_MIB
# always give the same tree. Files over 32 MiB are skipped. Owners are root,
# mtimes are SOURCE_DATE_EPOCH (default 1700000000).
#
# DIR is replaced if it was made by this script (DIR.mkrootfs exists);
# otherwise it must not exist or be empty.
set -euo pipefail
export LC_ALL=C

if [ $# -ne 2 ] || ! [[ $1 =~ ^[0-9]+$ ]] || [ "$1" -lt 8 ]; then
	echo "usage: $0 SIZE_MIB DIR   (SIZE_MIB >= 8)" >&2
	exit 2
fi
size_mib=$1
dir=$2
epoch=${SOURCE_DATE_EPOCH:-1700000000}
marker=$dir.mkrootfs

if [ -e "$dir" ]; then
	if [ -e "$marker" ]; then
		rm -rf "$dir"
	elif [ -n "$(ls -A "$dir")" ]; then
		echo "$0: $dir exists, is not empty and was not made by this script" >&2
		exit 1
	fi
fi
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
echo "made by bench/mkrootfs.sh $size_mib" >"$marker"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

total=$((size_mib * 1024 * 1024))
maxfile=$((32 * 1024 * 1024))

# list SRC [PRUNE...]: "size<TAB>relpath" of regular files under SRC, sorted
# by path, with plain names only and at most 32 MiB each.
list() {
	local src=$1
	shift
	local prune=()
	for p in "$@"; do prune+=(-path "$src/$p" -prune -o); done
	find "$src" "${prune[@]}" -type f -size -$((maxfile + 1))c -printf '%s\t%P\n' 2>/dev/null |
		grep -E $'^[0-9]+\t[A-Za-z0-9._+@,=/-]+$' | sort -t $'\t' -k2,2 || true
}

# take SRC DEST BUDGET [PRUNE...]: copies files from SRC into $dir/DEST
# until about BUDGET bytes, spread evenly over SRC; prints bytes copied.
take() {
	local src=$1 dest=$2 budget=$3
	shift 3
	list "$src" "$@" >"$tmp/all"
	awk -F '\t' -v budget="$budget" '
		{ size[NR] = $1; path[NR] = $2; sum += $1 }
		END {
			r = (sum > 0 && budget < sum) ? budget / sum : 1
			for (i = 1; i <= NR; i++) {
				seen += size[i]
				if (got + size[i] / 2 <= seen * r) { got += size[i]; print path[i] }
			}
		}' "$tmp/all" >"$tmp/pick"
	mkdir -p "$dir/$dest"
	tar -C "$src" --no-recursion -cf - -T "$tmp/pick" | tar -C "$dir/$dest" -xf -
	awk -F '\t' 'NR == FNR { want[$0] = 1; next } ($2 in want) { s += $1 } END { printf "%d\n", s }' \
		"$tmp/pick" "$tmp/all"
}

used=0
budget=$((total * 25 / 100))
got=$(take /usr/bin usr/bin "$((budget * 9 / 10))")
got=$((got + $(take /usr/sbin usr/sbin "$((budget - got))")))
used=$((used + got))
carry=$((budget - got))

budget=$((total * 55 / 100 + carry))
got=$(take /usr/lib/x86_64-linux-gnu usr/lib "$budget")
used=$((used + got))
carry=$((budget - got))

budget=$((total * 15 / 100 + carry))
got=$(take /usr/share usr/share "$budget" doc-base)
used=$((used + got))

# Core programs and the C runtime in /bin, /sbin and /lib, as on a router.
mkdir -p "$dir"/{bin,sbin,lib}
for p in bash ls cat cp mv rm mkdir ln chmod sed grep tar gzip dd; do
	[ -f "/usr/bin/$p" ] && cp "/usr/bin/$p" "$dir/bin/$p"
done
for p in ip ifconfig route iptables sysctl; do
	[ -f "/usr/sbin/$p" ] && cp -L "/usr/sbin/$p" "$dir/sbin/$p"
done
for l in ld-linux-x86-64.so.2 libc.so.6 libm.so.6 libresolv.so.2 libgcc_s.so.1 libz.so.1 libcrypt.so.1; do
	[ -e "/usr/lib/x86_64-linux-gnu/$l" ] && cp -L "/usr/lib/x86_64-linux-gnu/$l" "$dir/lib/$l"
done

# Generated configuration, init scripts and a small web UI.
mkdir -p "$dir"/etc/{init.d,config,rc.d,ssl} "$dir"/www/{cgi-bin,js,css,img} \
	"$dir"/var/log "$dir"/{tmp,proc,sys,mnt,root,overlay,dev}
cat >"$dir/etc/passwd" <<'P'
root:x:0:0:root:/root:/bin/sh
daemon:*:1:1:daemon:/var:/bin/false
network:*:101:101:network:/var:/bin/false
nobody:*:65534:65534:nobody:/var:/bin/false
P
cat >"$dir/etc/group" <<'P'
root:x:0:
daemon:x:1:
network:x:101:
nogroup:x:65534:
P
printf 'root:*:19000:0:99999:7:::\ndaemon:*:0:0:99999:7:::\n' >"$dir/etc/shadow"
chmod 600 "$dir/etc/shadow"
echo benchrouter >"$dir/etc/hostname"
printf '::sysinit:/etc/init.d/rcS S boot\n::shutdown:/etc/init.d/rcS K shutdown\nttyS0::askfirst:/bin/sh --login\n' >"$dir/etc/inittab"
printf 'proc /proc proc defaults 0 0\nsysfs /sys sysfs defaults 0 0\ntmpfs /tmp tmpfs defaults 0 0\n' >"$dir/etc/fstab"
for i in $(seq -w 1 24); do
	cat >"$dir/etc/init.d/service$i" <<S
#!/bin/sh /etc/rc.common
# service $i
START=$((10 + 10#$i * 3))
start() { echo "starting service$i"; /usr/sbin/daemon$i -c /etc/config/svc$i; }
stop() { killall daemon$i; }
S
	chmod 755 "$dir/etc/init.d/service$i"
	ln -s "../init.d/service$i" "$dir/etc/rc.d/S$((10 + 10#$i * 3))service$i"
	printf "config service 'svc%s'\n\toption enabled '1'\n\toption port '%d'\n\toption user 'network'\n" \
		"$i" $((8000 + 10#$i)) >"$dir/etc/config/svc$i"
done
printf '#!/bin/sh\nfor s in /etc/rc.d/S*; do "$s" start; done\n' >"$dir/etc/init.d/rcS"
chmod 755 "$dir/etc/init.d/rcS"
ln -s /tmp/resolv.conf "$dir/etc/resolv.conf"
ln -s /proc/mounts "$dir/etc/mtab"
ln -s ../../usr/lib/ssl/openssl.cnf "$dir/etc/ssl/openssl.cnf" # may dangle: fine
for i in $(seq 1 40); do
	{
		printf '<!DOCTYPE html>\n<html><head><title>Router page %d</title>\n' "$i"
		printf '<script src="/js/app%d.js"></script></head><body>\n' $((i % 10))
		sed -n "$((i * 20)),$((i * 20 + 60))p" /usr/share/common-licenses/GPL-3 2>/dev/null | sed 's/^/<p>/'
		printf '</body></html>\n'
	} >"$dir/www/page$i.html"
done
for i in $(seq 0 9); do
	{
		printf '/* app %d */\n"use strict";\n' "$i"
		for j in $(seq 1 200); do printf 'function f%d_%d(a){return a*%d+%d;}\n' "$i" "$j" "$j" "$i"; done
	} >"$dir/www/js/app$i.js"
done
printf 'body{font-family:sans-serif}\n' >"$dir/www/css/style.css"
printf '#!/bin/sh\necho "Content-Type: text/html"\necho\ncat /www/page1.html\n' >"$dir/www/cgi-bin/luci"
chmod 755 "$dir/www/cgi-bin/luci"
ln -s page1.html "$dir/www/index.html"
find /usr/share/icons /usr/share/pixmaps -maxdepth 3 -type f -name '*.png' 2>/dev/null | sort | head -20 |
	while read -r f; do cp "$f" "$dir/www/img/"; done

# Symlinks, a hard link, setuid files and device nodes.
ln -s bash "$dir/bin/sh"
ln -s ../bin/bash "$dir/sbin/init"
ln -s /tmp/run "$dir/var/run"
ln -s /tmp/lock "$dir/var/lock"
ln -s ld-linux-x86-64.so.2 "$dir/lib/ld.so"
ln -s libc.so.6 "$dir/lib/libc.so"
ln -s ../../lib/libc.so.6 "$dir/usr/lib/libc.so.6"
[ -f "$dir/bin/ls" ] && ln "$dir/bin/ls" "$dir/bin/dir"
cp "$dir/bin/bash" "$dir/bin/su"
mknod -m 600 "$dir/dev/console" c 5 1 2>/dev/null || true
mknod -m 666 "$dir/dev/null" c 1 3 2>/dev/null || true

chown -R -h 0:0 "$dir" 2>/dev/null || true
# After chown, which clears set-user-ID bits.
chmod 4755 "$dir/bin/su"
if [ -f "$dir/usr/bin/passwd" ]; then chmod 4755 "$dir/usr/bin/passwd"; fi
find "$dir" -exec touch -h -d "@$epoch" {} +

find "$dir" -type f -printf '%s\n' | awk -v d="$dir" -v t="$size_mib" \
	'{ n++; s += $1 } END { printf "rootfs %s: %d regular files, %d MiB of file data (target %d MiB)\n", d, n, s / 1048576, t }' >&2
