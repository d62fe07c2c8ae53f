#!/usr/bin/env bash
# egress-month.sh [WORKDIR]
#
# The accuracy measurement of internal/egress/accuracy, through the CLI:
# generates the month of management traffic for 100 elements of
# examples/exposure/operator.csv (internal/egress/egressgen, seed 6) as
# JSON-lines flow records plus elements.csv, allow.yaml, hosts and
# ip2asn.tsv, runs `netvet egress replay` and `netvet egress report` on it,
# and prints recall (each planted behaviour found by its rule, for its
# element and destination), false positives per rule (alerts on elements
# with nothing planted, the hard negative included), records, wall time and
# peak RSS (/usr/bin/time -v).
#
# Needs: Go, jq, /usr/bin/time (Debian package "time").
set -euo pipefail
command -v jq >/dev/null || { echo "jq not installed (apt-get install jq)" >&2; exit 1; }
[ -x /usr/bin/time ] || { echo "/usr/bin/time not installed (apt-get install time)" >&2; exit 1; }
repo="$(cd "$(dirname "$0")/.." && pwd)"
if [ $# -ge 1 ]; then
	work="$1"
	mkdir -p "$work"
else
	work="$(mktemp -d)"
	trap 'rm -rf "$work"' EXIT
fi
work="$(cd "$work" && pwd)"

cd "$repo"
go build -o "$work/netvet" ./cmd/netvet
NETVET_EGRESS_MONTH_OUT="$work" go test -count=1 -run '^TestWriteMonth$' ./internal/egress/accuracy >/dev/null

flags=(--elements "$work/elements.csv" --allow "$work/allow.yaml" --asn "$work/ip2asn.tsv" --hosts "$work/hosts")
/usr/bin/time -v -o "$work/replay.time" "$work/netvet" egress replay "$work/flows.jsonl" "${flags[@]}" -f json -o "$work/alerts.jsonl" 2>"$work/replay.err"
rm -f "$work/report.json"
/usr/bin/time -v -o "$work/report.time" "$work/netvet" egress report "$work/flows.jsonl" "${flags[@]}" -f json -o "$work/report.json" 2>"$work/report.err"

wall() { sed -n 's/.*Elapsed (wall clock) time (h:mm:ss or m:ss): //p' "$1"; }
rss() { sed -n 's/.*Maximum resident set size (kbytes): //p' "$1"; }

records=$(wc -l <"$work/flows.jsonl")
echo "records: $records ($(du -h "$work/flows.jsonl" | cut -f1) of JSON lines)"
echo "replay: wall $(wall "$work/replay.time"), peak RSS $(( $(rss "$work/replay.time") / 1024 )) MiB, $(wc -l <"$work/alerts.jsonl") alerts"
echo "report: wall $(wall "$work/report.time"), peak RSS $(( $(rss "$work/report.time") / 1024 )) MiB"
echo

# Expected rule per planted behaviour; the hard negative must not alert.
jq -r -n --slurpfile planted "$work/planted.json" --slurpfile alerts <(jq -c . "$work/alerts.jsonl") '
  def rule: {"beacon":"beacon","daily-upload":"beacon","dns-foreign":"dns-tunnel","dns-operator":"dns-tunnel","volume-jump":"volume"}[.];
  ($planted[0]) as $p
  | ($alerts) as $a
  | ($p | map(select(.Kind != "hard-negative"))) as $want
  | ($want | map(. as $w | ($w.Kind | rule) as $r
      | [$a[] | select(.rule == $r and .element.id == $w.Element
          and (if $r == "volume" then (.volume.hour >= ($w.From[0:13] + ":00:00Z")) else .destination.address == $w.Dst end))]
      | {kind: $w.Kind, element: $w.Element, dst: $w.Dst, rule: $r, found: (length > 0), score: (map(.score) | max), alerts: length})) as $res
  | ($p | map(select(.Kind != "hard-negative") | .Element)) as $plantedEls
  | ($a | map(select(.element.id as $e | $plantedEls | index($e) | not))) as $fp
  | "planted behaviour    element                 destination      rule        found  score  alerts",
    ($res[] | "\(.kind | .+"                    " | .[0:20]) \(.element | .+"                        " | .[0:23]) \(.dst | .+"                 " | .[0:16]) \(.rule | .+"            " | .[0:11]) \(if .found then "yes  " else "NO   " end)  \(.score // "-")    \(.alerts)"),
    "",
    "recall: \($res | map(select(.found)) | length)/\($res | length)",
    "false positives (alerts on elements with nothing planted, hard negative included): \($fp | length)",
    ($fp | group_by(.rule)[] | "  \(.[0].rule): \(length)"),
    (["not-allowlisted","beacon","volume","dns-tunnel"][] as $r | "alerts on planted elements, \($r): \([$a[] | select(.rule == $r and (.element.id as $e | $plantedEls | index($e)))] | length)")'
