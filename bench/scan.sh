#!/usr/bin/env bash
# scan.sh [options]
#
# End-to-end `netvet firmware scan` (unpack + components + vulnerabilities +
# every analyser) of the SquashFS benchmark image, side by side with syft
# run on the same tree (unsquashfs + syft, and syft alone on the tree
# already unpacked). With --db, grype runs on syft's SBOM against the same
# database, and netvet's scan matches against it too.
#
# Options:
#   --size MIB      rootfs size (default 64)
#   --work DIR      work directory, outside the repository (default /tmp/netvet-bench)
#   --runs N        hyperfine runs per command (default 3)
#   --db DIR        an imported grype v6 database folder (holds vulnerability.db)
#   --netvet PATH   use this netvet binary instead of building ./cmd/netvet
#   --out FILE      results file (default bench/results/YYYY-MM-DD-scan.md)
#
# syft and grype are built from the Go module proxy at the versions netvet
# links (go install ...@version), so both sides run the same catalogers.
set -euo pipefail
export LC_ALL=C

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
work=/tmp/netvet-bench
size=64
runs=3
db=
netvet=
out=
while [ $# -gt 0 ]; do
	case $1 in
	--size) size=$2; shift 2 ;;
	--work) work=$2; shift 2 ;;
	--runs) runs=$2; shift 2 ;;
	--db) db=$(cd "$2" && pwd); shift 2 ;;
	--netvet) netvet=$(cd "$(dirname "$2")" && pwd)/$(basename "$2"); shift 2 ;;
	--out) out=$2; shift 2 ;;
	-h | --help) sed -n '2,/^set -e/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	*) echo "scan.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
	esac
done
for cmd in hyperfine /usr/bin/time go mksquashfs unsquashfs jq; do
	command -v "$cmd" >/dev/null || { echo "scan.sh: $cmd not found (see bench/README.md)" >&2; exit 1; }
done
mkdir -p "$work"
work=$(cd "$work" && pwd)
case "$work/" in "$repo/"*) echo "scan.sh: --work must be outside the repository" >&2; exit 1 ;; esac
[ -n "$out" ] || out=$here/results/$(date +%F)-scan.md
log() { printf '[scan] %s\n' "$*" >&2; }

syft_version=$(cd "$repo" && go list -m -f '{{.Version}}' github.com/anchore/syft)
grype_version=$(cd "$repo" && go list -m -f '{{.Version}}' github.com/anchore/grype)
mkdir -p "$work/bin"
if [ ! -x "$work/bin/syft" ]; then
	log "building syft $syft_version"
	GOBIN=$work/bin GOFLAGS=-mod=mod go install "github.com/anchore/syft/cmd/syft@$syft_version"
fi
if [ -n "$db" ] && [ ! -x "$work/bin/grype" ]; then
	log "building grype $grype_version"
	GOBIN=$work/bin GOFLAGS=-mod=mod go install "github.com/anchore/grype/cmd/grype@$grype_version"
fi
if [ -z "$netvet" ]; then
	log "building netvet"
	(cd "$repo" && go build -o "$work/netvet" ./cmd/netvet)
	netvet=$work/netvet
fi

log "image for $size MiB"
bash "$here/mkimages.sh" "$work" "$size" rootfs.sqfs
img=$work/img-$size/rootfs.sqfs
tree=$work/scan-tree-$size
rm -rf "$tree"
unsquashfs -q -d "$tree" "$img" >/dev/null

raw=$work/raw-scan-$size
mkdir -p "$raw"
rm -f "$raw"/*
dbflag=(--db "$work/empty-db")
mkdir -p "$work/empty-db"
[ -z "$db" ] || dbflag=(--db "$db")
export SYFT_CHECK_FOR_APP_UPDATE=false GRYPE_CHECK_FOR_APP_UPDATE=false GRYPE_DB_AUTO_UPDATE=false GRYPE_DB_VALIDATE_AGE=false

# bench NAME CMD: hyperfine wall/CPU to csv, /usr/bin/time -v for peak RSS.
bench() {
	log "$1"
	hyperfine --style none -i --warmup 1 --runs "$runs" --export-csv "$raw/$1.csv" -n "$1" \
		"/usr/bin/time -v -a -o '$raw/$1.time' $2 >/dev/null 2>>'$raw/$1.stderr'" >/dev/null
}
bench netvet "'$netvet' firmware scan '$img' -q -f json -o '$raw/netvet.json' ${dbflag[*]}"
bench unsquashfs+syft "sh -c \"rm -rf '$work/t2' && unsquashfs -q -d '$work/t2' '$img' >/dev/null && '$work/bin/syft' -q 'dir:$work/t2' -o syft-json='$raw/syft2.json'\""
bench syft "'$work/bin/syft' -q 'dir:$tree' -o syft-json='$raw/syft.json'"
if [ -n "$db" ]; then
	# grype reads <cache>/6/vulnerability.db: point a cache at the same file.
	mkdir -p "$work/grype-cache"
	ln -sfn "$db" "$work/grype-cache/6"
	bench syft+grype "sh -c \"'$work/bin/syft' -q 'dir:$tree' -o syft-json='$raw/sbom.json' && GRYPE_DB_CACHE_DIR='$work/grype-cache' '$work/bin/grype' -q 'sbom:$raw/sbom.json' -o json --file '$raw/grype.json'\""
fi

csvfield() { awk -F, -v c="$2" 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == c) k = i; next } NR == 2 { print $k }' "$1"; }
rss() { awk '/Maximum resident set size/ { if ($NF > m) m = $NF } END { if (m) printf "%.0f", m / 1024 }' "$1"; }
row() {
	local n=$1 wall cpu
	wall=$(csvfield "$raw/$n.csv" mean)
	cpu=$(awk -v u="$(csvfield "$raw/$n.csv" user)" -v s="$(csvfield "$raw/$n.csv" system)" 'BEGIN { print u + s }')
	printf '| %s | %.2f s | %.2f s | %s MiB | %s |\n' "$n" "$wall" "$cpu" "$(rss "$raw/$n.time")" \
		"$(awk -v a="$(csvfield "$raw/netvet.csv" mean)" -v b="$wall" 'BEGIN { printf "%.2f×", a / b }')"
}
files=$(find "$tree" -type f | wc -l)
{
	echo "# firmware scan, $size MiB SquashFS rootfs of real Debian binaries ($(date +%F))"
	echo
	echo "$files files; $(nproc) CPUs; load $(cut -d' ' -f1-3 /proc/loadavg); syft $syft_version; runs $runs."
	echo "netvet: unpack + components + vulnerabilities + every analyser. Ratio = netvet wall / the row's wall."
	echo
	echo "| command | wall | CPU (user+sys) | peak RSS | netvet/this |"
	echo "|---|---|---|---|---|"
	row netvet
	row unsquashfs+syft
	row syft
	[ -z "$db" ] || row syft+grype
	echo
	echo "Components: netvet $(jq '.components | length' "$raw/netvet.json"), syft $(jq '.artifacts | length' "$raw/syft.json")."
	echo "netvet findings: $(jq -c '.summary.findings' "$raw/netvet.json"); vulnerabilities: $(jq -c '.summary.vulnerabilities' "$raw/netvet.json")."
	[ -z "$db" ] || echo "grype matches: $(jq '.matches | length' "$raw/grype.json")."
} | tee "$out"
log "results: $out"
