#!/usr/bin/env bash
# run.sh [--size MIB]... [options]
#
# Side-by-side benchmark of `netvet firmware unpack` against Debian's
# `binwalk -Me` and against `unsquashfs` alone, on images built by
# mkimages.sh from a rootfs of real Debian binaries (see README.md).
#
# Options:
#   --size MIB      rootfs size; repeat for several (default: 100)
#   --work DIR      work directory, outside the repository (default /tmp/netvet-bench)
#   --runs N        hyperfine runs per command (default 3)
#   --warmup N      hyperfine warmup runs per command (default 1)
#   --images LIST   comma-separated images (default: all six)
#   --tools LIST    comma-separated: netvet,binwalk,unsquashfs (default: all)
#   --cpus LIST     pin every command to these CPUs (taskset -c LIST)
#   --out FILE      results file (default bench/results/YYYY-MM-DD.md)
#   --netvet PATH   use this netvet binary instead of building ./cmd/netvet
#
# Wall time and CPU time (user+sys, children included) come from hyperfine;
# peak RSS from /usr/bin/time -v around each run (the largest over all runs;
# for binwalk this is its largest process, usually unsquashfs or python).
set -euo pipefail
export LC_ALL=C

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
work=/tmp/netvet-bench
sizes=()
runs=3
warmup=1
images=rootfs.sqfs,rootfs.uimage,fw-chk.bin,rootfs.jffs2,rootfs.ubi,rootfs.ext4
tools=netvet,binwalk,unsquashfs
cpus=
out=
netvet=

while [ $# -gt 0 ]; do
	case $1 in
	--size) sizes+=("$2"); shift 2 ;;
	--work) work=$2; shift 2 ;;
	--runs) runs=$2; shift 2 ;;
	--warmup) warmup=$2; shift 2 ;;
	--images) images=$2; shift 2 ;;
	--tools) tools=$2; shift 2 ;;
	--cpus) cpus=$2; shift 2 ;;
	--out) out=$2; shift 2 ;;
	--netvet) netvet=$(cd "$(dirname "$2")" && pwd)/$(basename "$2"); shift 2 ;;
	-h | --help) sed -n '2,/^set -e/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	*) echo "run.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
	esac
done
[ ${#sizes[@]} -gt 0 ] || sizes=(100)
IFS=, read -r -a images <<<"$images"
has_tool() { case ",$tools," in *",$1,"*) return 0 ;; esac; return 1; }

for cmd in hyperfine /usr/bin/time go mksquashfs mkimage mkfs.jffs2 mkfs.ubifs ubinize mke2fs; do
	command -v "$cmd" >/dev/null || { echo "run.sh: $cmd not found (see bench/README.md)" >&2; exit 1; }
done
has_tool binwalk && { command -v binwalk >/dev/null || { echo "run.sh: binwalk not found" >&2; exit 1; }; }
has_tool unsquashfs && { command -v unsquashfs >/dev/null || { echo "run.sh: unsquashfs not found" >&2; exit 1; }; }

mkdir -p "$work"
work=$(cd "$work" && pwd)
case "$work/" in "$repo/"*) echo "run.sh: --work must be outside the repository" >&2; exit 1 ;; esac
[ -n "$out" ] || out=$here/results/$(date +%F).md
mkdir -p "$(dirname "$out")"

log() { printf '[run] %s\n' "$*" >&2; }
pin=()
[ -z "$cpus" ] || pin=(taskset -c "$cpus")

if [ -z "$netvet" ]; then
	log "building netvet"
	(cd "$repo" && go build -o "$work/netvet" ./cmd/netvet)
	netvet=$work/netvet
fi
load_start=$(cut -d' ' -f1-3 /proc/loadavg)
t_start=$(date +%s)

# bench SIZE IMAGE TOOL IMG OUTDIR CMD: runs CMD under hyperfine, recording
# wall/CPU (csv), peak RSS and exit status (/usr/bin/time -v) and stderr.
bench() {
	local size=$1 image=$2 tool=$3 imgfile=$4 outdir=$5 cmd=$6
	local raw=$work/raw-$size/$image.$tool
	mkdir -p "$work/raw-$size" "$work/out-$size"
	rm -f "$raw.time" "$raw.stderr" "$raw.csv"
	log "$size MiB  $image  $tool"
	hyperfine --style none -i --warmup "$warmup" --runs "$runs" \
		--prepare "rm -rf '$outdir'" \
		--export-csv "$raw.csv" -n "$tool" \
		"${pin[*]} /usr/bin/time -v -a -o '$raw.time' $cmd >/dev/null 2>>'$raw.stderr'" >/dev/null
}

for size in "${sizes[@]}"; do
	log "images for $size MiB"
	bash "$here/mkimages.sh" "$work" "$size" "${images[@]}"
	img=$work/img-$size
	o=$work/out-$size
	for image in "${images[@]}"; do
		has_tool netvet && bench "$size" "$image" netvet "$img/$image" "$o/$image.netvet" \
			"'$netvet' firmware unpack '$img/$image' -o '$o/$image.netvet' -q"
		has_tool binwalk && bench "$size" "$image" binwalk "$img/$image" "$o/$image.binwalk" \
			"binwalk -Me --run-as=root -C '$o/$image.binwalk' '$img/$image'"
	done
	case " ${images[*]} " in *" rootfs.sqfs "* | *" rootfs.uimage "* | *" fw-chk.bin "*)
		has_tool unsquashfs && bench "$size" rootfs.sqfs unsquashfs "$img/rootfs.sqfs" "$o/rootfs.sqfs.unsquashfs" \
			"unsquashfs -d '$o/rootfs.sqfs.unsquashfs' -f '$img/rootfs.sqfs'"
		;;
	esac
done
t_end=$(date +%s)
load_end=$(cut -d' ' -f1-3 /proc/loadavg)

# ---- report ---------------------------------------------------------------

# csvfield FILE COLUMN: a column of hyperfine's csv (mean, stddev, user, system...).
csvfield() {
	[ -s "$1" ] || { echo ""; return; }
	awk -F, -v c="$2" 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == c) k = i; next } NR == 2 { print $k }' "$1"
}
# rss FILE: largest "Maximum resident set size" in MiB.
rss() {
	[ -s "$1" ] || { echo ""; return; }
	awk '/Maximum resident set size/ { if ($NF > m) m = $NF } END { if (m) printf "%.0f", m / 1024 }' "$1"
}
# status FILE: the distinct exit statuses seen.
status() {
	[ -s "$1" ] || { echo ""; return; }
	awk '/Exit status:/ { s[$NF] = 1 } /Command terminated by signal/ { s["sig" $NF] = 1 }
		END { n = 0; for (k in s) out = out (n++ ? "/" : "") k; print out }' "$1"
}
fmt() { [ -n "$1" ] && awk -v x="$1" 'BEGIN { printf "%.2f", x }' || echo "–"; }
ratio() { [ -n "$1" ] && [ -n "$2" ] && awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f×", a / b; else print "–" }' || echo "–"; }

# digests DIR: sorted md5 of every regular file under DIR (manifest.json excluded).
digests() {
	find "$1" -type f ! -path "$1/manifest.json" -print0 2>/dev/null | xargs -0 -r -P "$(nproc)" -n 64 md5sum |
		cut -d' ' -f1 | sort
}
# found ROOTFS_DIGESTS DIR: "found/total" rootfs files whose content is in DIR.
found() {
	local total
	total=$(wc -l <"$1")
	[ -d "$2" ] || { echo "no output"; return; }
	echo "$(digests "$2" | comm -12 "$1" - | wc -l)/$total"
}

{
	echo "# netvet firmware unpack vs binwalk -Me vs unsquashfs — $(date -u +'%F %H:%M UTC')"
	echo
	echo "- machine: $(nproc) CPUs ($(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo)), $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo) RAM, $(uname -sr)"
	echo "- load average at start: $load_start; at end: $load_end (other processes share the CPUs: compare CPU time as well as wall time)"
	echo "- $("$netvet" version 2>/dev/null | head -1); binwalk $(dpkg-query -W -f '${Version}' binwalk 2>/dev/null || binwalk --help 2>&1 | head -1); $(unsquashfs -version 2>&1 | head -1); $(hyperfine --version)"
	echo "- hyperfine --warmup $warmup --runs $runs${cpus:+; all commands pinned to CPUs $cpus}; benchmark took $(((t_end - t_start) / 60)) min $(((t_end - t_start) % 60)) s"
	echo "- commands: \`netvet firmware unpack IMG -o OUT -q\`; \`binwalk -Me --run-as=root -C OUT IMG\`; \`unsquashfs -d OUT -f rootfs.sqfs\` (the SquashFS inside the sqfs, uImage and CHK images)"
	for size in "${sizes[@]}"; do
		raw=$work/raw-$size
		img=$work/img-$size
		o=$work/out-$size
		root=$work/rootfs-$size
		rfiles=$(find "$root" -type f | wc -l)
		rbytes=$(find "$root" -type f -printf '%s\n' | awk '{ s += $1 } END { printf "%.0f", s / 1048576 }')
		echo
		echo "## rootfs of $size MiB ($rfiles regular files, $rbytes MiB)"
		echo
		echo "Wall time in seconds (mean ± σ) and CPU time (user+sys, s). Ratios are netvet / peer: below 1 means netvet is faster."
		echo
		echo "| image | MiB | netvet wall | binwalk wall | unsquashfs wall | netvet / binwalk | netvet / unsquashfs | netvet CPU | binwalk CPU | unsquashfs CPU | CPU netvet / binwalk | CPU netvet / unsquashfs |"
		echo "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|"
		u=$raw/rootfs.sqfs.unsquashfs.csv
		um=$(csvfield "$u" mean); us=$(csvfield "$u" stddev)
		uc=$([ -s "$u" ] && awk -v a="$(csvfield "$u" user)" -v b="$(csvfield "$u" system)" 'BEGIN { print a + b }')
		for image in "${images[@]}"; do
			n=$raw/$image.netvet.csv b=$raw/$image.binwalk.csv
			nm=$(csvfield "$n" mean); ns=$(csvfield "$n" stddev)
			bm=$(csvfield "$b" mean); bs=$(csvfield "$b" stddev)
			nc=$([ -s "$n" ] && awk -v a="$(csvfield "$n" user)" -v b="$(csvfield "$n" system)" 'BEGIN { print a + b }' || true)
			bc=$([ -s "$b" ] && awk -v a="$(csvfield "$b" user)" -v b="$(csvfield "$b" system)" 'BEGIN { print a + b }' || true)
			case $image in rootfs.sqfs | rootfs.uimage | fw-chk.bin) um2=$um us2=$us uc2=$uc ;; *) um2= us2= uc2= ;; esac
			mib=$(stat -c %s "$img/$image" | awk '{ printf "%.0f", $1 / 1048576 }')
			printf '| %s | %s | %s ± %s | %s ± %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' "$image" "$mib" \
				"$(fmt "$nm")" "$(fmt "$ns")" "$(fmt "$bm")" "$(fmt "$bs")" \
				"$([ -n "$um2" ] && echo "$(fmt "$um2") ± $(fmt "$us2")" || echo "–")" \
				"$(ratio "$nm" "$bm")" "$(ratio "$nm" "$um2")" \
				"$(fmt "$nc")" "$(fmt "$bc")" "$(fmt "$uc2")" "$(ratio "$nc" "$bc")" "$(ratio "$nc" "$uc2")"
		done
		echo
		echo "Completeness: rootfs regular files whose content appears among the extracted files (by MD5, paths ignored), exit statuses, and netvet manifest nodes carrying an error."
		echo
		echo "| image | netvet found | binwalk found | unsquashfs found | netvet exit | binwalk exit | netvet files written | netvet nodes with error | setuid bin/su in manifest |"
		echo "|---|--:|--:|--:|--:|--:|--:|--:|--:|"
		find "$root" -type f -print0 | xargs -0 -r -P "$(nproc)" -n 64 md5sum | cut -d' ' -f1 | sort >"$raw/rootfs.md5"
		usq=$(found "$raw/rootfs.md5" "$o/rootfs.sqfs.unsquashfs")
		for image in "${images[@]}"; do
			nd=$o/$image.netvet
			man=$nd/manifest.json
			nf="–" ne="–" su="–"
			if [ -s "$man" ]; then
				nf=$(find "$nd" -type f ! -path "$nd/manifest.json" | wc -l)
				ne=$(grep -c '"error":' "$man" || true)
				su=$(grep -A8 '"path": "[^"]*/bin/su"' "$man" | grep -m1 '"mode"' | tr -d ' ",' | cut -d: -f2 || true)
				[ -n "$su" ] || su="not found"
			fi
			case $image in rootfs.sqfs | rootfs.uimage | fw-chk.bin) u2=$usq ;; *) u2="–" ;; esac
			printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' "$image" \
				"$(has_tool netvet && found "$raw/rootfs.md5" "$nd" || echo –)" \
				"$(has_tool binwalk && found "$raw/rootfs.md5" "$o/$image.binwalk" || echo –)" "$u2" \
				"$(status "$raw/$image.netvet.time")" "$(status "$raw/$image.binwalk.time")" "$nf" "$ne" "$su"
		done
	done
	echo
	# Sizes measured by an earlier run in the same work directory are shown
	# too, marked with *, so the 1 GiB figures can be added separately.
	rsizes=$(for d in "$work"/raw-*/; do d=${d%/}; echo "${d##*/raw-}"; done | grep -E '^[0-9]+$' | sort -n | tr '\n' ' ')
	echo "## Peak RSS (MiB, largest over all runs)"
	echo
	hdr="| image | tool |"
	sep="|---|---|"
	earlier=
	for size in $rsizes; do
		case " ${sizes[*]} " in *" $size "*) hdr="$hdr $size MiB rootfs |" ;; *) hdr="$hdr $size MiB rootfs* |"; earlier=1 ;; esac
		sep="$sep--:|"
	done
	echo "$hdr"
	echo "$sep"
	for image in "${images[@]}"; do
		for tool in netvet binwalk unsquashfs; do
			has_tool "$tool" || continue
			[ "$tool" != unsquashfs ] || [ "$image" = rootfs.sqfs ] || continue
			row="| $image | $tool |"
			for size in $rsizes; do
				v=$(rss "$work/raw-$size/$image.$tool.time")
				row="$row ${v:-–} |"
			done
			echo "$row"
		done
	done
	if [ -n "$earlier" ]; then
		echo
		echo "\* measured by an earlier run.sh in $work (raw figures in raw-SIZE/)."
	fi
} >"$out"

cat "$out"
log "results written to $out"
