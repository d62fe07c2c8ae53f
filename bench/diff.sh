#!/usr/bin/env bash
# diff.sh [options]
#
# Side-by-side benchmark of `netvet firmware diff` against Debian's
# diffoscope on two pairs of SquashFS images built from one router-like
# rootfs (bench/mkrootfs.sh):
#
#   rebuild   the same tree built again with other timestamps (files and
#             file system), another compressor (xz -> gzip) and another
#             block size (256 KiB -> 128 KiB): equivalent
#   tampered  the same build settings; in B one byte of bin/sed's .text is
#             flipped, etc/init.d/S99debug is added, bin/cat gains the
#             set-user-ID bit and a key is added to root/.ssh/authorized_keys
#             (present in A with one key): different, in those four files
#
# For each pair: wall and CPU time of both tools (hyperfine), peak RSS
# (/usr/bin/time -v), their verdicts, and whether they agree on which files
# differ. diffoscope's set is read from its JSON: members whose content it
# diffed, plus the entries of its `unsquashfs -lls` listing that are only on
# one side or whose mode, owner or (for files) size changed; entries that
# differ only in their time are counted apart (they are what netvet's mtime
# normalisation removes). netvet's set is the fs_path of every change whose
# status is different, added or removed.
#
# Options:
#   --size MIB      rootfs size (default 64)
#   --work DIR      work directory, outside the repository (default /tmp/netvet-bench)
#   --runs N        hyperfine runs per command (default 3)
#   --warmup N      hyperfine warmup runs (default 0)
#   --out FILE      also write the report to FILE
#   --netvet PATH   use this netvet binary instead of building ./cmd/netvet
#
# Needs: go, squashfs-tools, diffoscope, python3, hyperfine, /usr/bin/time.
set -euo pipefail
export LC_ALL=C

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
work=/tmp/netvet-bench
size=64
runs=3
warmup=0
out=
netvet=

while [ $# -gt 0 ]; do
	case $1 in
	--size) size=$2; shift 2 ;;
	--work) work=$2; shift 2 ;;
	--runs) runs=$2; shift 2 ;;
	--warmup) warmup=$2; shift 2 ;;
	--out) out=$2; shift 2 ;;
	--netvet) netvet=$(cd "$(dirname "$2")" && pwd)/$(basename "$2"); shift 2 ;;
	-h | --help) sed -n '2,/^set -e/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	*) echo "diff.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
	esac
done
for cmd in go mksquashfs diffoscope python3 hyperfine /usr/bin/time; do
	command -v "$cmd" >/dev/null || { echo "diff.sh: $cmd not found (see bench/README.md)" >&2; exit 1; }
done
mkdir -p "$work"
work=$(cd "$work" && pwd)
case "$work/" in "$repo/"*) echo "diff.sh: --work must be outside the repository" >&2; exit 1 ;; esac

log() { printf '[diff] %s\n' "$*" >&2; }
if [ -z "$netvet" ]; then
	log "building netvet"
	(cd "$repo" && go build -o "$work/netvet" ./cmd/netvet)
	netvet=$work/netvet
fi
"$netvet" firmware diff --help >/dev/null 2>&1 || { echo "diff.sh: $netvet has no 'firmware diff' command" >&2; exit 1; }

root=$work/rootfs-$size
if [ ! -e "$root.mkrootfs" ]; then
	log "rootfs of $size MiB"
	bash "$here/mkrootfs.sh" "$size" "$root"
fi
d=$work/diff-$size
mkdir -p "$d"
t1=${SOURCE_DATE_EPOCH:-1700000000}
t2=$((t1 + 86400))
sq() { # sq SRC OUT OPTIONS...: a SquashFS, rebuilt when older than the rootfs
	local src=$1 img=$2
	shift 2
	[ "$img" -nt "$root.mkrootfs" ] && [ "$img" -nt "$src" ] && return 0
	log "mksquashfs $(basename "$img")"
	mksquashfs "$src" "$img" -noappend -quiet -no-progress -all-root "$@" >/dev/null
}

# Pair 1, rebuild: the same tree, other times, compressor and block size.
sq "$root" "$d/rebuild-a.sqfs" -comp xz -b 256K -mkfs-time "$t1" -all-time "$t1"
sq "$root" "$d/rebuild-b.sqfs" -comp gzip -b 128K -mkfs-time "$t2" -all-time "$t2"

# Pair 2, tampered: copies of the tree, B changed in four files.
if [ ! "$d/tampered-b.sqfs" -nt "$root.mkrootfs" ]; then
	log "tampered copy"
	rm -rf "$d/a" "$d/b"
	cp -a "$root" "$d/a"
	mkdir -p "$d/a/root/.ssh"
	echo "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGJlbmNoIHZlbmRvciBzdXBwb3J0IGtleSAwMDAwMDA support@vendor" >"$d/a/root/.ssh/authorized_keys"
	chmod 600 "$d/a/root/.ssh/authorized_keys"
	cp -a "$d/a" "$d/b"
	# One byte in the middle of bin/sed's .text.
	python3 - "$d/b/bin/sed" <<'PY'
import struct, sys
p = sys.argv[1]
d = bytearray(open(p, "rb").read())
assert d[:4] == b"\x7fELF" and d[4] == 2 and d[5] == 1, "need a 64-bit little-endian ELF"
shoff, = struct.unpack_from("<Q", d, 0x28)
shentsize, shnum, shstrndx = struct.unpack_from("<HHH", d, 0x3a)
sh = [struct.unpack_from("<IIQQQQIIQQ", d, shoff + i * shentsize) for i in range(shnum)]
names = sh[shstrndx][4]
for s in sh:
    n = bytes(d[names + s[0]:d.index(0, names + s[0])])
    if n == b".text":
        off = s[4] + s[5] // 2
        d[off] ^= 0x01
        open(p, "wb").write(d)
        print(f"flipped the byte at {off:#x} of {p}", file=sys.stderr)
        break
else:
    sys.exit("no .text")
PY
	printf '#!/bin/sh /etc/rc.common\nSTART=99\nstart() { /usr/sbin/telnetd -l /bin/sh -p 2323; }\n' >"$d/b/etc/init.d/S99debug"
	chmod 755 "$d/b/etc/init.d/S99debug"
	chmod 4755 "$d/b/bin/cat"
	echo "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAAAgQDbenchmarkExtraKey maint@elsewhere" >>"$d/b/root/.ssh/authorized_keys"
	rm -f "$d/tampered-a.sqfs" "$d/tampered-b.sqfs"
fi
sq "$d/a" "$d/tampered-a.sqfs" -comp xz -b 256K -mkfs-time "$t1" -all-time "$t1"
sq "$d/b" "$d/tampered-b.sqfs" -comp xz -b 256K -mkfs-time "$t1" -all-time "$t1"
expected_tampered="/bin/cat /bin/sed /etc/init.d/S99debug /root/.ssh/authorized_keys"

load_start=$(cut -d' ' -f1-3 /proc/loadavg)
t_start=$(date +%s)
for pair in rebuild tampered; do
	a=$d/$pair-a.sqfs b=$d/$pair-b.sqfs
	log "$pair: one run each under /usr/bin/time -v"
	rm -f "$d/$pair.netvet.time" "$d/$pair.diffoscope.time"
	/usr/bin/time -v -o "$d/$pair.netvet.time" "$netvet" firmware diff "$a" "$b" -f json -o "$d/$pair.netvet.json" -q 2>"$d/$pair.netvet.stderr" || true
	/usr/bin/time -v -o "$d/$pair.diffoscope.time" diffoscope --json "$d/$pair.diffoscope.json" "$a" "$b" >/dev/null 2>"$d/$pair.diffoscope.stderr" || true
	log "$pair: hyperfine --runs $runs"
	hyperfine --style none -i --warmup "$warmup" --runs "$runs" --export-csv "$d/$pair.csv" \
		-n netvet "'$netvet' firmware diff '$a' '$b' -f json -o '$d/$pair.netvet.hf.json' -q" \
		-n diffoscope "diffoscope --json '$d/$pair.diffoscope.hf.json' '$a' '$b'" >/dev/null
done
t_end=$(date +%s)
load_end=$(cut -d' ' -f1-3 /proc/loadavg)

# ---- report ---------------------------------------------------------------

python3 - "$d" "$size" "$root" "$expected_tampered" "$load_start" "$load_end" "$((t_end - t_start))" "$runs" "$warmup" \
	"$("$netvet" version 2>/dev/null | head -1)" "$(diffoscope --version 2>&1 | head -1)" "$(mksquashfs -version 2>&1 | head -1)" \
	"$(hyperfine --version)" <<'PY' | tee "${out:-/dev/null}"
import csv, json, os, re, sys, datetime
d, size, root, expected, load0, load1, took, runs, warmup, v_netvet, v_diffo, v_sq, v_hf = sys.argv[1:]

def hf(pair):
    rows = {r["command"]: r for r in csv.DictReader(open(f"{d}/{pair}.csv"))}
    return {k: (float(r["mean"]), float(r["stddev"]), float(r["user"]) + float(r["system"])) for k, r in rows.items()}

def rss(path):
    m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", open(path).read())
    return int(m.group(1)) / 1024 if m else float("nan")

def status(path):
    m = re.search(r"Exit status: (\d+)", open(path).read())
    return m.group(1) if m else "?"

def netvet_set(pair):
    rep = json.load(open(f"{d}/{pair}.netvet.json"))
    s = {c["fs_path"] for c in rep["changes"] if c["status"] in ("different", "added", "removed") and c.get("fs_path")}
    norms = ", ".join(n["name"] for n in rep["normalisations"]) or "none"
    return rep, s, norms

LS = re.compile(r"^([-+])([dlcbps-][rwxsStT-]{9})\s+(\S+)\s+(\d+|\d+,\s*\d+)\s+(\d{4}-\d\d-\d\d \d\d:\d\d)\s+(.*)$")

def diffoscope_set(pair):
    p = f"{d}/{pair}.diffoscope.json"
    if not os.path.exists(p) or os.path.getsize(p) == 0:
        return set(), 0, 0
    top = json.load(open(p))
    content, left, right = set(), {}, {}
    for det in top.get("details", []):
        s1 = det.get("source1", "")
        if s1.startswith("/") and s1 == det.get("source2"):
            content.add(s1)
        if "-lls" in s1:
            for line in det.get("unified_diff", "").splitlines():
                m = LS.match(line)
                if not m:
                    continue
                sign, mode, owner, sz, when, path = m.groups()
                path = path.split(" -> ")[0] or "/"
                (left if sign == "-" else right)[path] = (mode, owner, sz, when)
    meta, time_only = set(), 0
    for path in set(left) | set(right):
        if path not in left or path not in right:
            meta.add(path)
            continue
        (m1, o1, s1, w1), (m2, o2, s2, w2) = left[path], right[path]
        if m1 != m2 or o1 != o2 or (s1 != s2 and not m1.startswith("d")):
            meta.add(path)
        elif w1 != w2:
            time_only += 1
    return content | meta, time_only, len(content)

files = sum(len(f) for _, _, f in os.walk(root))
print(f"# netvet firmware diff vs diffoscope — {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC")
print()
print(f"- machine: {os.cpu_count()} CPUs, load average at start {load0}, at end {load1} (other processes share the CPUs: compare CPU time as well as wall time)")
print(f"- rootfs of {size} MiB ({files} regular files) from bench/mkrootfs.sh; SquashFS images by {v_sq}")
print(f"- {v_netvet}; {v_diffo}; {v_hf}; --warmup {warmup} --runs {runs}; the timed runs took {int(took) // 60} min {int(took) % 60} s")
print("- commands: `netvet firmware diff A B -f json -o OUT -q` (unpacks both images, then compares); `diffoscope --json OUT A B`")
print()
print("| pair | netvet verdict | diffoscope exit | netvet wall s | diffoscope wall s | diffoscope / netvet (wall) | netvet CPU s | diffoscope CPU s | diffoscope / netvet (CPU) | netvet RSS MiB | diffoscope RSS MiB |")
print("|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|")
agree = []
for pair in ("rebuild", "tampered"):
    t = hf(pair)
    n, o = t["netvet"], t["diffoscope"]
    rep, ns, norms = netvet_set(pair)
    verdict = rep["verdict"] + (f" ({norms})" if rep["verdict"] == "equivalent" else f" ({rep['differences']})" if rep["verdict"] == "different" else "")
    print(f"| {pair} | {verdict} | {status(f'{d}/{pair}.diffoscope.time')} | {n[0]:.2f} ± {n[1]:.2f} | {o[0]:.2f} ± {o[1]:.2f} | {o[0] / n[0]:.1f}× | {n[2]:.2f} | {o[2]:.2f} | {o[2] / n[2]:.1f}× | {rss(f'{d}/{pair}.netvet.time'):.0f} | {rss(f'{d}/{pair}.diffoscope.time'):.0f} |")
    ds, time_only, ncontent = diffoscope_set(pair)
    agree.append((pair, ns, ds, time_only, ncontent, rep))
print()
print("Which files differ: netvet's set (changes with status different, added or removed) against diffoscope's (members it diffed by content, plus listing entries added, removed, or with another mode, owner or file size).")
print()
print("| pair | expected | netvet | diffoscope | agree | only netvet | only diffoscope | diffoscope listing entries differing only in time | netvet security findings |")
print("|---|---|---|---|---|---|---|--:|---|")
exp = {"rebuild": set(), "tampered": set(expected.split())}
for pair, ns, ds, time_only, ncontent, rep in agree:
    f = lambda s: " ".join(sorted(s)) or "none"
    rules = ", ".join(sorted({x["rule"] for x in rep["findings"]})) or "none"
    print(f"| {pair} | {f(exp[pair])} | {f(ns)} | {f(ds)} | {'yes' if ns == ds else 'no'} | {f(ns - ds)} | {f(ds - ns)} | {time_only} | {rules} |")
PY
