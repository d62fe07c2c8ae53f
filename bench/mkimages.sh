#!/usr/bin/env bash
# mkimages.sh WORKDIR SIZE_MIB [IMAGE...]
#
# Builds the benchmark images for a rootfs of about SIZE_MIB MiB into
# WORKDIR/img-SIZE_MIB (the rootfs itself goes to WORKDIR/rootfs-SIZE_MIB):
#   rootfs.sqfs    SquashFS, xz, 256 KiB blocks
#   rootfs.uimage  that SquashFS in a uImage (ARM, Linux, filesystem, no compression)
#   fw-chk.bin     Netgear CHK: gzip'd kernel uImage + rootfs.uimage (bench/mkfw)
#   rootfs.jffs2   JFFS2, little endian, 128 KiB erase blocks
#   rootfs.ubi     UBI (PEB 128 KiB, min I/O 2048) holding a UBIFS volume (LEB 126976)
#   rootfs.ext4    ext4 made with mke2fs -d
# With IMAGE arguments (file names from the list above), only those are
# built (and what they need). Images are rebuilt only when missing or older than the rootfs. Timestamps,
# UUIDs and hash seeds are fixed where the tools allow (SOURCE_DATE_EPOCH,
# default 1700000000).
#
# Needs: squashfs-tools, u-boot-tools, mtd-utils, e2fsprogs, go.
set -euo pipefail
export LC_ALL=C

if [ $# -lt 2 ] || ! [[ $2 =~ ^[0-9]+$ ]]; then
	echo "usage: $0 WORKDIR SIZE_MIB [IMAGE...]" >&2
	exit 2
fi
work=$1
size=$2
shift 2
all=(rootfs.sqfs rootfs.uimage fw-chk.bin rootfs.jffs2 rootfs.ubi rootfs.ext4)
want=("$@")
[ ${#want[@]} -gt 0 ] || want=("${all[@]}")
for w in "${want[@]}"; do
	case " ${all[*]} " in *" $w "*) ;; *)
		echo "$0: unknown image $w (want one of ${all[*]})" >&2
		exit 2
		;;
	esac
done
# wanted NAME: true when NAME or an image built from it was asked for.
wanted() {
	local w
	for w in "${want[@]}"; do
		case "$1:$w" in
		"$w:$w" | rootfs.sqfs:rootfs.uimage | rootfs.sqfs:fw-chk.bin | rootfs.uimage:fw-chk.bin) return 0 ;;
		esac
	done
	return 1
}
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-1700000000}
export E2FSPROGS_FAKE_TIME=$SOURCE_DATE_EPOCH

mkdir -p "$work"
work=$(cd "$work" && pwd)
case "$work/" in "$repo/"*)
	echo "$0: WORKDIR must be outside the repository ($repo)" >&2
	exit 1
	;;
esac
root=$work/rootfs-$size
img=$work/img-$size
mkdir -p "$img"

log() { printf '[mkimages %s] %s\n' "$size" "$*" >&2; }

# fresh OUT: true when OUT exists and is newer than the rootfs stamp.
fresh() { [ -s "$1" ] && [ "$1" -nt "$root.mkrootfs" ]; }

if ! [ -e "$root.mkrootfs" ] || ! [ -d "$root" ]; then
	log "building rootfs"
	bash "$here/mkrootfs.sh" "$size" "$root"
fi

t() { # t NAME CMD...: runs CMD, logs how long it took
	local name=$1 s
	shift
	s=$(date +%s.%N)
	"$@"
	log "$name built in $(awk -v a="$s" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f s", b - a }')"
}

if wanted rootfs.sqfs && ! fresh "$img/rootfs.sqfs"; then
	# mksquashfs takes its timestamps from SOURCE_DATE_EPOCH.
	t rootfs.sqfs mksquashfs "$root" "$img/rootfs.sqfs" -comp xz -b 256K -noappend \
		-all-root -quiet -no-progress >/dev/null
fi

if wanted rootfs.uimage && { ! fresh "$img/rootfs.uimage" || [ "$img/rootfs.uimage" -ot "$img/rootfs.sqfs" ]; }; then
	t rootfs.uimage mkimage -A arm -O linux -T filesystem -C none -n rootfs \
		-d "$img/rootfs.sqfs" "$img/rootfs.uimage" >/dev/null
fi

if wanted fw-chk.bin && { ! fresh "$img/fw-chk.bin" || [ "$img/fw-chk.bin" -ot "$img/rootfs.uimage" ]; }; then
	# The "kernel" is a real ELF binary (bash), gzip'd into a kernel uImage.
	(cd "$repo" && go build -o "$work/mkfw" ./bench/mkfw)
	t fw-chk.bin "$work/mkfw" -format chk -kernel /usr/bin/bash -rootfs "$img/rootfs.uimage" -o "$img/fw-chk.bin"
fi

if wanted rootfs.jffs2 && ! fresh "$img/rootfs.jffs2"; then
	t rootfs.jffs2 mkfs.jffs2 -l -e 128KiB -U -r "$root" -o "$img/rootfs.jffs2"
fi

if wanted rootfs.ubi && ! fresh "$img/rootfs.ubi"; then
	peb=$((128 * 1024))
	leb=126976
	# Room for the data plus UBIFS overhead (index, journal, reserved LEBs).
	bytes=$(du -sb "$root" | cut -f1)
	lebs=$((bytes * 13 / 10 / leb + 200))
	t rootfs.ubifs mkfs.ubifs -r "$root" -m 2048 -e "$leb" -c "$lebs" -x lzo -U -o "$img/rootfs.ubifs"
	cat >"$img/ubinize.cfg" <<U
[rootfs]
mode=ubi
image=$img/rootfs.ubifs
vol_id=0
vol_type=dynamic
vol_name=rootfs
vol_flags=autoresize
U
	t rootfs.ubi ubinize -o "$img/rootfs.ubi" -m 2048 -p "$peb" -s 2048 -Q 1 "$img/ubinize.cfg"
	rm -f "$img/rootfs.ubifs"
fi

if wanted rootfs.ext4 && ! fresh "$img/rootfs.ext4"; then
	bytes=$(du -sb "$root" | cut -f1)
	mib=$((bytes * 12 / 10 / 1048576 + 32))
	rm -f "$img/rootfs.ext4"
	t rootfs.ext4 mke2fs -q -F -t ext4 -b 4096 -L rootfs \
		-U 6b1f6a53-8c1e-4b5e-9d43-0b1e6a7c2f10 \
		-E root_owner=0:0,hash_seed=0b7f1c1e-6d5a-4b1f-8e2a-3c4d5e6f7a8b,nodiscard \
		-d "$root" "$img/rootfs.ext4" "${mib}M"
fi

for f in "${want[@]}"; do
	printf '%-14s %12d bytes\n' "$f" "$(stat -c %s "$img/$f")" >&2
done
