#!/usr/bin/env bash
# Compares the elf analyser's hardening verdicts and speed with Debian's
# checksec on every ELF file under the given folders.
#
#   bench/checksec.sh DIR [DIR...]
#
# Needs: checksec (Debian package "checksec"), binutils (readelf), file, Go.
# Prints the comparison summary of TestChecksecHost (each property of each
# file must agree with checksec's or differ for a documented reason, see
# docs/analyzers-elf-endpoints.md) and the wall time of checksec and of
# elfcheck.Inspect over the same files.
set -euo pipefail
if [ $# -eq 0 ]; then
	echo "usage: $0 DIR [DIR...]" >&2
	exit 2
fi
command -v checksec >/dev/null || { echo "checksec not installed (apt-get install checksec)" >&2; exit 1; }
repo="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

dirs=()
for d in "$@"; do dirs+=("$(cd "$d" && pwd)"); done
corpus="$(IFS=:; echo "${dirs[*]}")"

# The same file list the Go side uses: regular files starting with \x7fELF.
find "${dirs[@]}" -type f -print0 | sort -z | while IFS= read -r -d '' f; do
	if [ "$(head -c 4 "$f" | od -An -c | tr -d ' ')" = '177ELF' ]; then
		printf '%s\n' "$f"
	fi
done > "$work/list"
n=$(wc -l < "$work/list")
echo "ELF files: $n"

start=$(date +%s.%N)
checksec --output=json --listfile="$work/list" > "$work/checksec.json"
end=$(date +%s.%N)
cs=$(echo "$end - $start" | bc)
echo "checksec: ${cs}s"

cd "$repo"
go test -c -o "$work/elfcheck.test" ./internal/firmware/analyze/elfcheck
out=$(NETVET_ELF_CORPUS="$corpus" "$work/elfcheck.test" -test.run '^$' -test.bench BenchmarkInspectCorpus -test.benchtime 1x)
ns=$(echo "$out" | awk '/^BenchmarkInspectCorpus/ {print $3}')
ours=$(echo "$ns / 1000000000" | bc -l)
printf 'elfcheck: %.3fs (%.0fx faster)\n' "$ours" "$(echo "$cs / $ours" | bc -l)"

NETVET_ELF_CORPUS="$corpus" "$work/elfcheck.test" -test.run 'TestChecksecHost$' -test.v -test.timeout 2h |
	grep -E 'checksec says|documented difference|compared|^(--- |ok|FAIL)' || true
