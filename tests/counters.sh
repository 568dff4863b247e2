#!/bin/bash
# The cheap tier: a snapshot whose columns need no page walk (-o PID,COMM,
# RSS,SWAP,VSS) reads the mm counters, not smaps_rollup: from one BPF pass
# where it loads, else from status (each source forced too; every field of
# every row against the kernel's text: tests/unit/test_counters.c).  Ground truth:
# /proc/PID/status and statm of two static processes (they share pages with
# nothing else, so their figures stay put), read here; with strace, which
# files each run opened.
# Usage: tests/counters.sh BUILD_DIR    (TAP on stdout)
set -u
B=$(cd "${1:-build}" && pwd)
ML=$B/memlens
. "$(dirname "$0")/helpers/tap.sh"
. "$(dirname "$0")/helpers/expect.sh"
tmp=$(mktemp -d /tmp/memlens-counters-XXXXXX)
pids=()
cleanup() {
	exec {hold}>&- 2> /dev/null
	for p in "${pids[@]}"; do kill -KILL "$p" 2> /dev/null; done
	wait 2> /dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
PAGE=$(getconf PAGESIZE 2> /dev/null || echo 4096)
dd if=/dev/urandom of="$tmp/obj" bs=4096 count=300 2> /dev/null
mkfifo "$tmp/hold"
"$B/tests/sharer" "$tmp/obj" 300 100 < "$tmp/hold" > "$tmp/out" &
pids+=("$!")
exec {hold}> "$tmp/hold"
for _ in $(seq 100); do [ "$(wc -l < "$tmp/out")" -ge 2 ] && break; sleep 0.05; done
P=$(awk '$1 == "parent" {print $2}' "$tmp/out"); C=$(awk '$1 == "child" {print $2}' "$tmp/out")
pids+=("$P" "$C")
kb() { awk -v k="$2:" '$1 == k {printf "%.0f\n", $2 * 1024}' "/proc/$1/status"; }

"$ML" snapshot -J -o PID,COMM,RSS,SWAP,VSS --pid "$P,$C" > "$tmp/c.json" 2> "$tmp/err"
ok $? "snapshot -o PID,COMM,RSS,SWAP,VSS runs"
for p in "$P" "$C"; do
	is "pid $p: rss, swap, vss are status's VmRSS, VmSwap, VmSize (statm's size $(awk -v g="$PAGE" '{print $1 * g}' /proc/$p/statm))" \
		"$(kb "$p" VmRSS) $(kb "$p" VmSwap) $(kb "$p" VmSize)" \
		"$(jq -r --argjson p "$p" '.snapshot[] | select(.pid == $p) | "\(.rss) \(.swap) \(.vss)"' "$tmp/c.json")"
done
is "... the totals: rss summed, PSS and its kin null (not read, so unknown, not 0)" \
	"$(( $(kb "$P" VmRSS) + $(kb "$C" VmRSS) )) null null null null" \
	"$(jq -r '.summary.total | "\(.rss) \(.pss) \(.uss) \(.swappss) \(.ksm)"' "$tmp/c.json")"
# the walk's RSS for the same processes: smaps_rollup's (these map no hugetlb or special pages: the two agree)
"$ML" snapshot -J -o PID,RSS,PSS --pid "$P,$C" > "$tmp/w.json" 2> /dev/null
for p in "$P" "$C"; do
	is "pid $p with PSS asked: rss and pss are smaps_rollup's" \
		"$(awk '$1 == "Rss:" {r = $2 * 1024} $1 == "Pss:" {s = $2 * 1024} END {printf "%.0f %.0f\n", r, s}' /proc/$p/smaps_rollup)" \
		"$(jq -r --argjson p "$p" '.snapshot[] | select(.pid == $p) | "\(.rss) \(.pss)"' "$tmp/w.json")"
done
# RSS's split beside rollups: the counters read too, for each row
"$ML" snapshot -J -o PID,RSS_ANON,RSS_FILE,RSS_SHMEM,PSS --pid "$P,$C" > "$tmp/sp.json" 2> /dev/null
for p in "$P" "$C"; do
	is "pid $p, -o PID,RSS_ANON,RSS_FILE,RSS_SHMEM,PSS: the split is status's RssAnon, RssFile, RssShmem, pss smaps_rollup's" \
		"$(kb "$p" RssAnon) $(kb "$p" RssFile) $(kb "$p" RssShmem) $(awk '$1 == "Pss:" {printf "%.0f\n", $2 * 1024}' /proc/$p/smaps_rollup)" \
		"$(jq -r --argjson p "$p" '.snapshot[] | select(.pid == $p) | "\(.rss_anon) \(.rss_file) \(.rss_shmem) \(.pss)"' "$tmp/sp.json")"
done
is "... and their totals are summed" "$(( $(kb "$P" RssAnon) + $(kb "$C" RssAnon) ))" "$(jq -r '.summary.total.rss_anon' "$tmp/sp.json")"
# the exporter's series of the same (every scrape, from the counters' source)
"$ML" snapshot --openmetrics > "$tmp/om" 2> /dev/null
for p in "$P" "$C"; do
	om() { awk -v k="memlens_process_memory_bytes{pid=\"$p\"" -v t="memtype=\"$1\"}" 'index($0, k) == 1 && index($0, t) {print $NF; exit}' "$tmp/om"; }
	is "pid $p: memlens_process_memory_bytes memtype rss_anon, rss_file, rss_shmem are status's" \
		"$(kb "$p" RssAnon) $(kb "$p" RssFile) $(kb "$p" RssShmem)" "$(om rss_anon) $(om rss_file) $(om rss_shmem)"
done
# sorted by RSS when no column is PSS (the default sort needs a walk)
"$ML" snapshot -r -b -o PID,RSS > "$tmp/sorted" 2> /dev/null
is "-o PID,RSS: sorted by RSS, largest first" "" \
	"$(awk 'NR > 1 {print $2}' "$tmp/sorted" | sort -c -n -r 2>&1 | head -1)"
"$ML" snapshot -o PID,COMM,RSS -v > /dev/null 2> "$tmp/err"
is "-v says no page walk was done" 1 "$(grep -c 'no column needs a page walk' "$tmp/err")"
if [ "$(expected bpf_task_mm)" = yes ]; then want=bpf; else want=procfs; fi
is "-v says where the counters came from: $want here (bpf_task_mm=$(expected bpf_task_mm))" 1 \
	"$(grep -c "counters from $want (picked)" "$tmp/err")"
# the same figures from each source, forced
for src in procfs bpf; do
	if [ $src = bpf ] && [ "$(expected bpf_task_mm)" != yes ]; then
		"$ML" snapshot -o PID,RSS --counters-source bpf > /dev/null 2> "$tmp/err"
		rc=$?
		ok "$([ $rc -ne 0 ] && [ "$(wc -l < "$tmp/err")" = 1 ] && grep -q '^memlens: counters source bpf unavailable: ' "$tmp/err"; echo $?)" \
			"--counters-source bpf where it cannot load: one line and a failure (rc $rc: $(head -c 200 "$tmp/err"))"
		continue
	fi
	"$ML" snapshot -J -o PID,COMM,RSS,SWAP,VSS --pid "$P,$C" --counters-source $src > "$tmp/s.json" 2> /dev/null
	for p in "$P" "$C"; do
		is "--counters-source $src: pid $p: comm, rss, swap, vss are stat's and status's" \
			"$(sed 's/^[0-9]* (\(.*\)) .*/\1/' /proc/$p/stat) $(kb "$p" VmRSS) $(kb "$p" VmSwap) $(kb "$p" VmSize)" \
			"$(jq -r --argjson p "$p" '.snapshot[] | select(.pid == $p) | "\(.comm) \(.rss) \(.swap) \(.vss)"' "$tmp/s.json")"
	done
done
"$ML" snapshot -o PID,RSS --counters-source nosuch > /dev/null 2> "$tmp/err"
rc=$?
ok "$([ $rc != 0 ]; echo $?)" "--counters-source nosuch fails (rc $rc)"
is "... with one line naming the choices" "memlens: --counters-source nosuch: auto, bpf or procfs" "$(head -1 "$tmp/err")"
if command -v strace > /dev/null; then
	walks() { strace -f -qq -e trace=openat -o "$tmp/st" "$ML" snapshot "$@" > /dev/null 2>&1; grep -c 'smaps_rollup' "$tmp/st"; }
	is "strace: -o PID,COMM,RSS,SWAP,VSS opens no smaps_rollup" 0 "$(walks -o PID,COMM,RSS,SWAP,VSS)"
	ok "$([ "$(walks -o PID,RSS -x PSS)" -gt 0 ]; echo $?)" "strace: -o PID,RSS -x PSS walks (the sort needs PSS)"
	ok "$([ "$(walks -o PID,USS)" -gt 0 ]; echo $?)" "strace: -o PID,USS walks"
	st=$(strace -f -qq -e trace=bpf -o "$tmp/st" "$ML" snapshot -o PID,RSS --counters-source procfs > /dev/null 2>&1; grep -c 'BPF_PROG_LOAD' "$tmp/st")
	is "strace: -o PID,RSS --counters-source procfs loads no BPF program (nor a DMA-BUF pass: no column of it)" 0 "$st"
	# the pass, each variant: a status read only for a process it did not
	# see (one started since, or one the kernel's iterator passed over);
	# "procs 16": the open-coded walk's map starts with room for 16
	# records and is outgrown (made larger, the pass run again)
	for v in iter procs "procs 16"; do
		rule=bpf_task_mm; [ "${v%% *}" = procs ] && rule=bpf_task_mm_procs
		if [ "$(expected $rule)" != yes ]; then
			skip "$rule is not expected here: the $v pass's reads are unchecked"
			continue
		fi
		cap=; [ "$v" = "procs 16" ] && cap=16
		want="(task_mm:"; [ $rule = bpf_task_mm_procs ] && want="(task_mm_procs:"
		mm_pids > "$tmp/u1"
		MEMLENS_BPF_MM_VARIANT=${v%% *} MEMLENS_TEST_MM_CAP=$cap strace -f -qq -e trace=openat -o "$tmp/st" \
			"$ML" snapshot -J -o PID,RSS --counters-source bpf -v > "$tmp/all.json" 2> "$tmp/v.err"
		mm_pids > "$tmp/u2"
		nproc=$(ls -d /proc/[0-9]* | wc -l)
		nst=$(grep -c '/status"' "$tmp/st")
		ok "$([ "$nst" -le 5 ] && grep "counters from bpf" "$tmp/v.err" | grep -qF "$want"; echo $?)" \
			"strace: --counters-source bpf, variant $v ($want, said at -v): $nst status files read for $nproc processes (at most 5)"
		# a row for every process with memory there before and after
		jq '.snapshot[].pid' "$tmp/all.json" > "$tmp/got"
		both "$tmp/u1" "$tmp/u2" > "$tmp/u12"
		missing=$(only_in "$tmp/u12" "$tmp/got" | tr '\n' ' ')
		is "variant $v: a row for every process with memory (status's VmSize) there before and after the run" "" "$missing"
	done
else
	skip "no strace here: which files a run opens is unchecked"
fi
exec {hold}>&-
echo "1..$n"
