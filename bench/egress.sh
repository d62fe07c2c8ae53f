#!/usr/bin/env bash
# egress.sh [-count N] [-benchtime D] [-cpu CPU] [-out FILE]
#
# Speed and memory of `netvet egress` against its targets, measured in one
# run next to goflow2's own decode-and-produce path on the same generated
# datagrams (NetFlow v5, v9, IPFIX, sFlow v5; see
# internal/egress/pipebench_test.go):
#
#   goflow2  goflow2 v2 decoder + producer/proto
#   decode   netvet decoder and normaliser
#   filter   decode + element-map lookup of every source    target >= 1,000,000 flows/s/core
#   e2e      decode + Pipeline.Add (element filter, allowlist with ASN and
#            country rules, evidence, beacon tracker, volume and DNS
#            baselines)                                      target >=   300,000 flows/s/core
#
# plus the ASN/country lookups (target <= 100 ns), allowlist decisions,
# the scoring pass (Collect) and the heap per element with 10 peers
# (target <= 8 KiB). Everything runs on one core: GOMAXPROCS=1, -cpu 1 and
# `taskset -c CPU` (default CPU 1). flows/cpu-s divides by the CPU time the
# process used (garbage collection included), which stays meaningful on a
# loaded machine; flows/s is wall-clock. The table shows the median over
# -count runs.
#
# Needs: Go, awk, taskset (Debian package util-linux; without it the run is
# not pinned and says so). Test binaries are built with `go test -c` from
# the module cache; nothing is downloaded. Optional: if `benchstat` is on
# PATH (go install golang.org/x/perf/cmd/benchstat@latest, done beforehand
# by hand), its summary of the raw output is printed too.
set -euo pipefail

count=5
benchtime=1s
cpu=1
out=""
while [ $# -gt 0 ]; do
	case "$1" in
	-count) count=$2; shift 2 ;;
	-benchtime) benchtime=$2; shift 2 ;;
	-cpu) cpu=$2; shift 2 ;;
	-out) out=$2; shift 2 ;;
	*) echo "usage: $0 [-count N] [-benchtime D] [-cpu CPU] [-out FILE]" >&2; exit 2 ;;
	esac
done

repo="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cd "$repo"

pin=()
if command -v taskset >/dev/null; then
	pin=(taskset -c "$cpu")
else
	echo "taskset not found (Debian package util-linux): running unpinned" >&2
fi

go test -c -o "$work/egress.test" ./internal/egress
go test -c -o "$work/ipinfo.test" ./internal/egress/ipinfo
go test -c -o "$work/allow.test" ./internal/egress/allow

run() { # binary, then test flags
	local bin=$1
	shift
	GOMAXPROCS=1 "${pin[@]}" "$work/$bin" -test.run '^$' -test.cpu 1 -test.benchmem "$@"
}

raw="$work/raw.txt"
{
	echo "# load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
	run egress.test -test.bench '^BenchmarkEgress$' -test.count "$count" -test.benchtime "$benchtime"
	run egress.test -test.bench '^BenchmarkEgressAllowlist$' -test.count "$count" -test.benchtime "$benchtime"
	run egress.test -test.bench '^BenchmarkEgressCollect$' -test.count 1 -test.benchtime 3x
	run egress.test -test.bench '^BenchmarkEgressMemory$' -test.count 1 -test.benchtime 1x
	run ipinfo.test -test.bench '^BenchmarkLookup' -test.count "$count" -test.benchtime "$benchtime"
	run allow.test -test.bench '^BenchmarkEvaluate$' -test.count "$count" -test.benchtime "$benchtime"
	echo "# load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
} | tee "$raw" | grep -E '^(Benchmark|# load)' >&2

report() {
	awk -v count="$count" -v benchtime="$benchtime" -v cpu="$cpu" '
	function median(key,   n, i, j, t, a) {
		n = cnt[key]
		if (n == 0) return ""
		for (i = 1; i <= n; i++) a[i] = vals[key, i]
		for (i = 2; i <= n; i++) { t = a[i]; for (j = i - 1; j >= 1 && a[j] > t; j--) a[j + 1] = a[j]; a[j + 1] = t }
		return (n % 2) ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
	}
	function add(key, v) { cnt[key]++; vals[key, cnt[key]] = v }
	function fmtk(v) { return v == "" ? "-" : sprintf("%\047.0f", v) }
	function ratio(a, b) { return (a == "" || b == "" || b == 0) ? "-" : sprintf("%.1f×", a / b) }
	/^# load/ { load[++nl] = $0 }
	/^Benchmark/ {
		name = $1
		sub(/-[0-9]+$/, "", name)
		for (i = 3; i < NF; i++) {
			unit = $(i + 1)
			if (unit == "flows/cpu-s" || unit == "flows/s" || unit == "ns/op" || unit == "cpu-ns/op" || unit == "B/element" || unit == "alerts" || unit == "allocs/op")
				add(name SUBSEP unit, $i)
		}
	}
	END {
		print "## Egress: one core (GOMAXPROCS=1, taskset -c " cpu "), median of " count " runs of " benchtime
		print ""
		for (i = 1; i <= nl; i++) print load[i]
		print ""
		print "flows per CPU-second (wall-clock flows/s in brackets):"
		print ""
		print "| protocol | goflow2 decode+producer | netvet decode | decode + element filter | end to end (Pipeline.Add) | decode vs goflow2 | filter vs goflow2 | e2e vs goflow2 |"
		print "|---|--:|--:|--:|--:|--:|--:|--:|"
		split("v5 v9 ipfix sflow", ps, " ")
		for (k = 1; k <= 4; k++) {
			p = ps[k]
			line = "| " p
			for (v = 1; v <= 4; v++) {
				split("goflow2 decode filter e2e", vs, " ")
				key = "BenchmarkEgress/" p "/" vs[v]
				c[vs[v]] = median(key SUBSEP "flows/cpu-s")
				line = line " | " fmtk(c[vs[v]]) " (" fmtk(median(key SUBSEP "flows/s")) ")"
			}
			line = line " | " ratio(c["decode"], c["goflow2"]) " | " ratio(c["filter"], c["goflow2"]) " | " ratio(c["e2e"], c["goflow2"]) " |"
			print line
		}
		print ""
		print "targets: decode + filter >= 1,000,000 flows/s per core; end to end >= 300,000 flows/s per core"
		print ""
		print "| lookup | ns/op | cpu-ns/op |"
		print "|---|--:|--:|"
		n = split("BenchmarkLookup/Lookup BenchmarkLookup/LookupASN BenchmarkLookup/LookupCountry BenchmarkLookup/Classify BenchmarkLookupSpread/Combined BenchmarkLookupSpread/Geo BenchmarkLookupSpread/ASN+Country BenchmarkEgressAllowlist/prefix BenchmarkEgressAllowlist/asn BenchmarkEgressAllowlist/country BenchmarkEgressAllowlist/denied BenchmarkEvaluate/Set/allowed-prefix BenchmarkEvaluate/Set/allowed-mixed-v4-v6 BenchmarkEvaluate/Set/denied-with-geo", ls, " ")
		for (i = 1; i <= n; i++) {
			ns = median(ls[i] SUBSEP "ns/op")
			if (ns == "") continue
			cns = median(ls[i] SUBSEP "cpu-ns/op")
			printf "| %s | %.1f | %s |\n", ls[i], ns, (cns == "" ? "-" : sprintf("%.1f", cns))
		}
		print ""
		print "target: allowlist / ASN lookup <= 100 ns"
		print ""
		col = median("BenchmarkEgressCollect" SUBSEP "ns/op")
		if (col != "") printf "Collect over 1,000 elements x 10 peers with a day of flows: %.1f ms per call (%s alerts)\n", col / 1e6, median("BenchmarkEgressCollect" SUBSEP "alerts")
		mem = median("BenchmarkEgressMemory" SUBSEP "B/element")
		if (mem != "") printf "heap per element, 10,000 elements x 10 peers, whole pipeline: %.0f B (%.1f KiB; target <= 8 KiB)\n", mem, mem / 1024
	}' "$raw"
}

if [ -n "$out" ]; then
	report | tee "$out"
	cp "$raw" "${out%.md}.raw.txt"
else
	report
fi
if command -v benchstat >/dev/null; then
	echo
	benchstat "$raw"
fi
