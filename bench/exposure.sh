#!/usr/bin/env bash
# Scale benchmark for `netvet exposure assess`: generate an inventory of
# N elements (default 1,000,000), assess it against every shipped policy
# pack (PACKS, default uk,us,de,se,ca,au,eu), and print CPU seconds and peak RSS next to the targets (under 1 s of
# CPU for the evaluation, under 2 GiB peak RSS including the load).
#
#   bench/exposure.sh [N] [WORKDIR]
#
# Needs: go, /usr/bin/time (GNU time). Runs from the repository root.
set -euo pipefail

N=${1:-1000000}
WORK=${2:-$(mktemp -d -t netvet-exposure-bench.XXXXXX)}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
PACKS=${PACKS:-uk,us,de,se,ca,au,eu}
cd "$ROOT"
mkdir -p "$WORK"

echo "building netvet"
go build -o "$WORK/netvet" ./cmd/netvet

CSV="$WORK/big-$N.csv"
if [[ ! -s $CSV ]]; then
	echo "generating $N elements into $CSV"
	go run ./examples/exposure/gen -n "$N" -o "$CSV"
fi
echo "inventory: $(($(wc -l <"$CSV") - 1)) rows, $(du -h "$CSV" | cut -f1)"

run() { # label, then the netvet arguments
	local label=$1
	shift
	/usr/bin/time -v -o "$WORK/time.txt" "$WORK/netvet" "$@" >/dev/null
	local user sys wall rss
	user=$(awk -F': ' '/User time/ {print $2}' "$WORK/time.txt")
	sys=$(awk -F': ' '/System time/ {print $2}' "$WORK/time.txt")
	wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "$WORK/time.txt")
	rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$WORK/time.txt")
	printf '%-34s cpu %6.2f s (user %s, sys %s)  wall %s  peak RSS %7.1f MiB\n' \
		"$label" "$(echo "$user + $sys" | bc)" "$user" "$sys" "$wall" "$(echo "scale=1; $rss / 1024" | bc)"
	echo "$rss"  >"$WORK/rss.txt"
}

echo
echo "whole command (load + evaluation + shares + report), packs: $PACKS"
run "assess -f json -o /dev/null" exposure assess "$CSV" --policy "$PACKS" -f json -o /dev/null --at 2026-06-30
rss_kib=$(cat "$WORK/rss.txt")
run "assess -f text" exposure assess "$CSV" --policy "$PACKS" --at 2026-06-30

echo
echo "in process, 1,000,000 generated elements, every shipped pack (go test -bench; cpu-s/op is CPU time per run)"
go test ./internal/exposure -run '^$' -bench 'Assess1M|Evaluate1M' -benchtime 3x | grep -E '^Benchmark'

echo
if ((rss_kib < 2 * 1024 * 1024)); then
	echo "peak RSS target (< 2 GiB): met ($((rss_kib / 1024)) MiB)"
else
	echo "peak RSS target (< 2 GiB): MISSED ($((rss_kib / 1024)) MiB)"
fi
echo "CPU target (< 1 s for the evaluation): see cpu-s/op of BenchmarkEvaluate1M above"
echo "work files in $WORK"
