#!/bin/bash
# make screenshot: docs/report.png, the README's picture of `memlens report
# --html`, drawn by Chromium from a scripted scenario (never by hand): a
# database with shared memory, three web workers and a batch job mapping a
# large file, each group in a cgroup of its own where this user can make
# them; the report of those processes alone (--comm 'demo-*').
# Usage: scripts/screenshot.sh BUILD_DIR OUT.png   (root, for the cgroups)
set -eu
B=$(cd "${1:-build}" && pwd)
OUT=$2
tmp=$(mktemp -d /tmp/memlens-shot-XXXXXX)
pids=() cgs=()
cleanup() {
	for p in "${pids[@]}"; do { kill -KILL "$p"; wait "$p"; } 2> /dev/null || true; done
	for c in "${cgs[@]}"; do rmdir "$c" 2> /dev/null || true; done
	rm -rf "$tmp"
}
trap cleanup EXIT
V2=$(awk '$9 == "cgroup2" {print $5; exit}' /proc/self/mountinfo)
# NAME CGROUP KIB [FILE]: a helper holding KIB of shared and KIB of anonymous memory (and FILE mapped)
run() {
	local name=$1 cg=$2 kib=$3 file=${4:-}
	"$B/tests/leaker" hold "$name" "$kib" $file > "$tmp/$name.$RANDOM" 2>&1 &
	pids+=($!)
	if [ -n "$V2" ] && { [ -d "$V2/memlens-demo-$cg" ] || mkdir "$V2/memlens-demo-$cg" 2> /dev/null; }; then
		[[ " ${cgs[*]} " == *" $V2/memlens-demo-$cg "* ]] || cgs+=("$V2/memlens-demo-$cg")
		echo $! > "$V2/memlens-demo-$cg/cgroup.procs" 2> /dev/null || true
	fi
}
head -c $((48 << 20)) /dev/zero > "$tmp/warehouse.parquet"
head -c $((16 << 20)) /dev/zero > "$tmp/base.dat"
run demo-postgres database 98304 "$tmp/base.dat"
run demo-pg-writer database 8192
for i in 1 2 3; do run demo-nginx web $((12288 + i * 2048)); done
run demo-etl batch 24576 "$tmp/warehouse.parquet"
sleep 1
"$B/memlens" report --html "$tmp/report.html" --comm 'demo-*'
/usr/bin/python3 "$(dirname "$0")/../tests/helpers/browser.py" "file://$tmp/report.html" "$OUT" > "$tmp/shot.json"
jq -e '.error == null and (.console | length) == 0' "$tmp/shot.json" > /dev/null
echo "$OUT: $(jq -c '.shot | {width, height}' "$tmp/shot.json")"
