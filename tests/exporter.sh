#!/bin/bash
# memlens exporter against processes, cgroups and (where the kernel exports
# them) DMA-BUFs the test made, read back three ways: raw HTTP from bash
# (/dev/tcp, no client library between), a real Prometheus server scraping it
# (host: its query API), and the --textfile file.  Ground truth is read here
# from /proc/<pid>/smaps_rollup, statm, cgroup and /proc/meminfo, and from
# what the DMA-BUF holder allocated.  Then the HTTP side under abuse:
# parallel scrapes, stalled and vanished clients, garbage, thousands of
# scrapes (fds and RSS flat), SIGTERM with scrapes in flight (exit 0, no BPF
# program left), a planted symlink in the textfile directory, and the
# capability set docs/exporter.md documents (its reads equal root's).
# Usage: tests/exporter.sh BUILD_DIR    (TAP on stdout)
set -u
trap '' PIPE	# a server that closes on a writer: EPIPE, not the end of the test
B=$(cd "${1:-build}" && pwd)
ML=$B/memlens
. "$(dirname "$0")/helpers/tap.sh"
. "$(dirname "$0")/helpers/exporter.sh"	# prom_start
tmp=$(mktemp -d /tmp/memlens-exp-XXXXXX); chmod 755 "$tmp"
pids=() cgdirs=() mounts=()
cleanup() {
	for p in "${pids[@]}"; do kill -KILL "$p" 2> /dev/null; done
	wait 2> /dev/null
	for d in "${cgdirs[@]}"; do rmdir "$d" 2> /dev/null; done
	for m in "${mounts[@]}"; do umount "$m" 2> /dev/null; done
	rm -rf "$tmp"
}
trap cleanup EXIT
PAGE=$(getconf PAGESIZE 2> /dev/null || awk '$1 == "KernelPageSize:" {print $2 * 1024; exit}' /proc/self/smaps)
asan=0; case "$B" in *asan*) asan=1 ;; esac

# ---- an exporter, and HTTP from bash ----
EXP=0 PORT=0 RUN=()
start_exporter() { # ARGS...: started (under ${RUN[@]}) on a free loopback port; EXP and PORT set
	"${RUN[@]}" "$ML" exporter --listen 127.0.0.1:0 "$@" 2> "$tmp/exp.err" &
	EXP=$!
	pids+=("$EXP")
	PORT=""
	for _ in $(seq 100); do
		PORT=$(sed -n 's|.*serving http://127.0.0.1:\([0-9]*\)/metrics|\1|p' "$tmp/exp.err")
		[ -n "$PORT" ] && return 0
		kill -0 "$EXP" 2> /dev/null || break
		sleep 0.1
	done
	echo "# exporter did not start: $(head -3 "$tmp/exp.err")"
	return 1
}
stop_exporter() { # SIGTERM; its exit status in $?
	local rc
	kill -TERM "$EXP" 2> /dev/null
	wait "$EXP"; rc=$?
	return $rc
}
# http METHOD PATH [HEADER]: the whole response (HTTP/1.0: the server closes)
http() {
	local fd
	exec {fd}<> "/dev/tcp/127.0.0.1/$PORT" || return 1
	printf '%s %s HTTP/1.0\r\nHost: localhost\r\n%s\r\n' "$1" "$2" "${3:+$3$'\r\n'}" >&$fd
	timeout 60 cat <&$fd
	exec {fd}>&-
}
status_of() { head -1 | awk '{print $2}'; }
header_of() { tr -d '\r' 2> /dev/null | sed -n "/^\$/q; s/^$1: //Ip"; }
body_of() { tr -d '\r' | sed '1,/^$/d'; }
scrape() { http GET /metrics "${1:-}" | body_of; } # [ACCEPT header]
# value NAME LABELS FILE: the sample whose labels are exactly these (in our order)
value() { awk -v k="$1{$2}" '$1 == k {print $2; f = 1} END {if (!f) print "none"}' "$3"; }
rollup() { awk -v k="$2:" '$1 == k {printf "%.0f\n", $2 * 1024}' "/proc/$1/smaps_rollup"; }
memtotal() { awk '$1 == "MemTotal:" {printf "%.0f\n", $2 * 1024}' /proc/meminfo; }

# ---- usage errors: one line, exit 2; runtime errors exit 1 ----
for bad in "--listen nonsense" "--listen 127.0.0.1:99999" "--listen 127.0.0.1:" "--listen 999.1.1.1:80" \
	"--interval 0 --textfile /tmp" "--once" "--top x" "--top 3 --per-process" "stray"; do
	# shellcheck disable=SC2086
	"$ML" exporter $bad > /dev/null 2> "$tmp/err"; rc=$?
	is "exporter $bad: exit 2, one line" "2 1" "$rc $(wc -l < "$tmp/err")"
done
"$ML" exporter --textfile /nonexistent/dir --once > /dev/null 2> "$tmp/err"; rc=$?
is "exporter --textfile into a missing directory: exit 1, one line" "1 1" "$rc $(wc -l < "$tmp/err")"
"$ML" exporter --help > "$tmp/out"; rc=$?
is "exporter --help exits 0 and names --listen" "0 1" "$rc $(grep -c -- '^ *--listen ADDR:PORT ' "$tmp/out")"

# ---- processes the test knows: a private copy of busybox (no page of it shared
# with any other process), a known heap, stopped; in a cgroup of their own ----
COMM=$(printf "mlexp%010d" $$)	# 15 bytes: the whole of a comm, none cut
cp "$(command -v busybox)" "$tmp/$COMM"
procs=()
for mb in 3 5; do
	(exec -a sh "$tmp/$COMM" -c "x=\$(head -c ${mb}000000 /dev/zero | tr '\\0' a); kill -STOP \$\$; echo \${#x}") &
	procs+=($!); pids+=($!)
done
for p in "${procs[@]}"; do
	for _ in $(seq 100); do [ "$(awk '{print $3}' "/proc/$p/stat" 2> /dev/null)" = T ] && break; sleep 0.1; done
done
CG=""
if [ "$(id -u)" = 0 ]; then
	V2=$(awk '$9 == "cgroup2" {print $5; exit}' /proc/self/mountinfo)
	if [ -z "$V2" ]; then
		mkdir -p "$tmp/cg2" && mount -t cgroup2 none "$tmp/cg2" && mounts+=("$tmp/cg2") && V2=$tmp/cg2
	fi
	if [ -n "$V2" ] && mkdir "$V2/memlens-exp-$$" 2> /dev/null; then
		cgdirs+=("$V2/memlens-exp-$$")
		for p in "${procs[@]}"; do echo "$p" > "$V2/memlens-exp-$$/cgroup.procs"; done
		CG=$(awk -F: '$1 == "0" {print $3}' "/proc/${procs[0]}/cgroup")
	fi
fi

# ---- a DMA-BUF holder, shared by fork, where the kernel exports DMA-BUFs ----
DB_NAME=mlexp-buf-$$ DB_EXP="" DB_BYTES=0 DB_PIDS=()
"$B/tests/dmabuf_holder" --fork "$DB_NAME" 3 5 > "$tmp/holder" 2>&1 &
holder=$!; pids+=("$holder")
for _ in $(seq 100); do grep -q ready "$tmp/holder" && break; kill -0 $holder 2> /dev/null || break; sleep 0.1; done
# and one process holding a buffer in two fd tables (a thread unshared its
# table) and a mapping: one holder process, counted once
DB2_NAME=mlexp-two-$$
"$B/tests/dmabuf_holder" --two-tables "$DB2_NAME" 4 2 > "$tmp/holder2" 2>&1 &
holder2=$!; pids+=("$holder2")
for _ in $(seq 100); do grep -q ready "$tmp/holder2" && break; kill -0 $holder2 2> /dev/null || break; sleep 0.1; done
if grep -q ready "$tmp/holder"; then
	DB_EXP=$(awk '$1 == "exporter" {print $2}' "$tmp/holder")
	DB_BYTES=$(awk '$1 == "bytes" {print $2}' "$tmp/holder")
	# shellcheck disable=SC2207 (pids: no spaces, no globs); no <(...): the guests have no /dev/fd
	DB_PIDS=($(awk '$1 == "pid" {print $2}' "$tmp/holder"))
	pids+=("${DB_PIDS[@]}")
fi

# ---- the families against ground truth ----
if ! start_exporter --per-process; then
	ok 1 "exporter starts on 127.0.0.1:0"; echo "1..$n"; exit 1
fi
is "/ answers 200" 200 "$(http GET / | status_of)"
is "/nope answers 404" 404 "$(http GET /nope | status_of)"
resp=$(http POST /metrics)
is "POST /metrics answers 405 with Allow: GET, HEAD" "405 GET, HEAD" \
	"$(echo "$resp" | status_of) $(echo "$resp" | header_of Allow)"
is "HEAD /metrics answers 200 with no body" "200 0" \
	"$(http HEAD /metrics | status_of) $(http HEAD /metrics | body_of | wc -c)"

# content negotiation
for case in "|text/plain; version=0.0.4; charset=utf-8" \
	"Accept: text/plain|text/plain; version=0.0.4; charset=utf-8" \
	"Accept: application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1|application/openmetrics-text; version=1.0.0; charset=utf-8" \
	"Accept: application/openmetrics-text; q=0, text/plain|text/plain; version=0.0.4; charset=utf-8" \
	"Accept: text/plain;q=0.3, application/openmetrics-text;q=0.2|text/plain; version=0.0.4; charset=utf-8" \
	"Accept: text/plain, application/openmetrics-text|application/openmetrics-text; version=1.0.0; charset=utf-8"; do
	hdr=${case%%|*} want=${case#*|}
	is "Content-Type for '${hdr:-no Accept}'" "$want" "$(http GET /metrics "$hdr" | header_of Content-Type)"
done
# gzip, which Prometheus always asks for: the encoding, Vary, a body gunzip reads whole
http GET /metrics "Accept-Encoding: gzip" > "$tmp/gz.resp"
hl=$(sed -n '1,/^\r$/p' "$tmp/gz.resp" | wc -c)
tail -c +$((hl + 1)) "$tmp/gz.resp" | gzip -dc > "$tmp/gz.body" 2> /dev/null; rc=$?
is "Accept-Encoding: gzip: Content-Encoding gzip, Vary, a gzip body holding the whole text" \
	"gzip|Accept, Accept-Encoding|0|1" \
	"$(header_of Content-Encoding < "$tmp/gz.resp")|$(header_of Vary < "$tmp/gz.resp")|$rc|$(grep -c '^memlens_build_info{' "$tmp/gz.body")"
is "Accept-Encoding: gzip;q=0: no gzip" "" "$(http GET /metrics 'Accept-Encoding: gzip;q=0' | header_of Content-Encoding)"
http GET /metrics "Accept: application/openmetrics-text" | body_of > "$tmp/om"
scrape > "$tmp/text"
is "OpenMetrics: ends with # EOF, has UNIT lines" "# EOF yes" \
	"$(tail -1 "$tmp/om") $(grep -q '^# UNIT memlens_process_memory_bytes bytes$' "$tmp/om" && echo yes)"
is "Prometheus text: no # EOF, no UNIT, counters typed by their _total name" "0 0 1" \
	"$(grep -c '^# EOF' "$tmp/text") $(grep -c '^# UNIT' "$tmp/text") $(grep -c '^# TYPE memlens_scrape_errors_total counter$' "$tmp/text")"
if command -v promtool > /dev/null; then
	promtool check metrics < "$tmp/text" > "$tmp/lint" 2>&1; rc=$?
	ok $rc "promtool check metrics: the Prometheus text"; [ $rc = 0 ] || sed 's/^/#   /' "$tmp/lint" | head -5
else
	skip "no promtool here (the guests have none; the host suite runs it)"
fi
# promtool parses only the text format; OpenMetrics by the reference parser
# of its authors (prometheus_client's, strict: families, units, # EOF)
if /usr/bin/python3 -c 'import prometheus_client.openmetrics.parser' 2> /dev/null; then
	/usr/bin/python3 -c '
import sys
from prometheus_client.openmetrics.parser import text_string_to_metric_families as parse
fams = list(parse(open(sys.argv[1]).read()))
counters = [f.name for f in fams if f.type == "counter"]
assert "memlens_scrape_errors" in counters and "memlens_collections" in counters, counters
assert all(f.unit == "bytes" for f in fams if f.name.endswith("_bytes")), [(f.name, f.unit) for f in fams]
print(len(fams))' "$tmp/om" > "$tmp/lint" 2>&1; rc=$?
	ok $rc "OpenMetrics parser (prometheus_client): the OpenMetrics text, $(tail -1 "$tmp/lint") families, counters and units"
	[ $rc = 0 ] || sed 's/^/#   /' "$tmp/lint" | tail -3
else
	skip "no prometheus_client OpenMetrics parser here (the guests have none; the host suite runs it)"
fi

# per process: every memtype of the two known processes (stopped: Rss, Uss, Swap
# and Vss cannot move; Pss moves only within the pages they share: [vdso])
f=$tmp/text
for p in "${procs[@]}"; do
	L="pid=\"$p\",comm=\"$COMM\",cgroup=\"$CG\",container=\"\",pod=\"\""
	rss=$(rollup "$p" Rss) pss=$(rollup "$p" Pss) priv=$(( $(rollup "$p" Private_Clean) + $(rollup "$p" Private_Dirty) ))
	vss=$(( $(awk '{print $1}' "/proc/$p/statm") * PAGE ))
	got="$(value memlens_process_memory_bytes "$L,memtype=\"rss\"" $f) $(value memlens_process_memory_bytes "$L,memtype=\"uss\"" $f)"
	got="$got $(value memlens_process_memory_bytes "$L,memtype=\"vss\"" $f) $(value memlens_process_memory_bytes "$L,memtype=\"swap\"" $f)"
	got="$got $(value memlens_process_memory_bytes "$L,memtype=\"swap_pss\"" $f) $(value memlens_process_memory_bytes "$L,memtype=\"dmabuf_rss\"" $f)"
	is "pid $p: rss, uss, vss, swap, swap_pss, dmabuf_rss with its comm and cgroup labels" "$rss $priv $vss 0 0 0" "$got"
	gp=$(value memlens_process_memory_bytes "$L,memtype=\"pss\"" $f)
	case "$gp" in *[!0-9]* | "") d=-1 ;; *) d=$(( gp - pss )); d=${d#-} ;; esac
	if [ "$d" -ge 0 ] && [ $d -le $((rss - priv)) ]; then ok 0 "pid $p: pss $gp within the shared $((rss - priv)) bytes of smaps_rollup's $pss"
	else ok 1 "pid $p: pss $gp within the shared $((rss - priv)) bytes of smaps_rollup's $pss"; fi
done
sum=$(( $(rollup "${procs[0]}" Rss) + $(rollup "${procs[1]}" Rss) ))
is "by comm: the two processes' rss summed, and their count" "$sum 2" \
	"$(value memlens_comm_memory_bytes "comm=\"$COMM\",memtype=\"rss\"" $f) $(value memlens_comm_processes "comm=\"$COMM\"" $f)"
if [ -n "$CG" ]; then
	L="cgroup=\"$CG\",container=\"\",pod=\"\""
	is "by cgroup $CG: the two processes' rss summed, and their count" "$sum 2" \
		"$(value memlens_cgroup_memory_bytes "$L,memtype=\"rss\"" $f) $(value memlens_cgroup_processes "$L" $f)"
else
	skip "no cgroup of our own here (not root, or no cgroup2)"
fi
is "system: MemTotal from /proc/meminfo" "$(memtotal)" \
	"$(value memlens_system_memory_bytes 'memtype="total"' $f)"
# the commit built, where this is a git checkout with git; elsewhere (the
# guests: no git, the build copied in) any 12 hex digits or "unknown"
rev='[0-9a-f]\{12\}\|unknown'
if command -v git > /dev/null && [ -d "$B/../.git" ]; then
	rev=unknown
	[ "$(git -C "$B/.." rev-parse --show-toplevel 2> /dev/null)" = "$(cd "$B/.." && pwd)" ] &&
		rev=$(git -C "$B/.." rev-parse --short=12 HEAD)
fi
is "self: build_info: memlens --version's version, the commit built ($rev), uname -r" 1 \
	"$(grep -c "^memlens_build_info{version=\"$("$ML" --version | awk '{print $2}')\",revision=\"\($rev\)\",kernel=\"$(uname -r)\"} 1\$" $f)"
grep -q '^memlens_scrape_errors_total 0$' $f; ok $? "self: memlens_scrape_errors_total 0"
# the process_* families client libraries export, against the exporter's /proc
scrape > "$tmp/self"
nfd=$(ls /proc/$EXP/fd | wc -l)	# idle: the scrape's connection is one more
read -r vsz rsz <<< "$(awk -v p="$PAGE" '{print $1 * p, $2 * p}' /proc/$EXP/statm)"	# no /dev/fd in the guests: no < <(...)
tck=$(getconf CLK_TCK 2> /dev/null || echo 100)	# busybox (the guests) has no getconf: Linux's USER_HZ is 100
cpu=$(awk -v t="$tck" '{sub(/.*\) /, ""); print ($12 + $13) / t}' /proc/$EXP/stat)
st=$(awk -v t="$tck" -v b="$(awk '$1 == "btime" {print $2}' /proc/stat)" \
	'{sub(/.*\) /, ""); printf "%.2f\n", b + $20 / t}' /proc/$EXP/stat)
mx=$(awk '$1 == "Max" && $2 == "open" && $3 == "files" {print $4}' /proc/$EXP/limits)
g() { awk -v k="$1" '$1 == k {print $2}' "$tmp/self"; }
is "self: process_start_time_seconds is /proc/PID/stat's start + btime" "$st" "$(g process_start_time_seconds)"
is "self: process_max_fds is the soft RLIMIT_NOFILE" "$mx" "$(g process_max_fds)"
is "self: process_open_fds is /proc/PID/fd's count with the scrape's connection" $((nfd + 1)) "$(g process_open_fds)"
ok "$(awk -v v="$(g process_virtual_memory_bytes)" -v s="$vsz" 'BEGIN {d = v - s; if (d < 0) d = -d; exit !(d <= 64 * 1048576)}'; echo $?)" \
	"self: process_virtual_memory_bytes $(g process_virtual_memory_bytes) is statm's size ($vsz) within 64 MiB"
ok "$(awk -v v="$(g process_resident_memory_bytes)" -v s="$rsz" 'BEGIN {exit !(v > 1048576 && v <= s * 1.5 && v >= s / 1.5)}'; echo $?)" \
	"self: process_resident_memory_bytes $(g process_resident_memory_bytes) is statm's resident ($rsz) within 1.5x"
ok "$(awk -v v="$(g process_cpu_seconds_total)" -v c="$cpu" 'BEGIN {exit !(v > 0 && v <= c + 0.02)}'; echo $?)" \
	"self: process_cpu_seconds_total $(g process_cpu_seconds_total) is above 0, at most /proc's $cpu s"
is "self: process_* TYPEs as client libraries give them" \
	"process_cpu_seconds_total counter process_max_fds gauge process_open_fds gauge process_resident_memory_bytes gauge process_start_time_seconds gauge process_virtual_memory_bytes gauge" \
	"$(awk '$1 == "#" && $2 == "TYPE" && $3 ~ /^process_/ {print $3, $4}' "$tmp/self" | sort | tr '\n' ' ' | sed 's/ $//')"
# one scrape at a time: one collection each, counted exactly
c0=$(scrape | awk '$1 == "memlens_collections_total" {print $2}')
t0=${EPOCHREALTIME/./}; scrape > "$tmp/self"; t1=${EPOCHREALTIME/./}	# microseconds (bash; busybox date has no %N)
c1=$(awk '$1 == "memlens_collections_total" {print $2}' "$tmp/self")
is "self: memlens_collections_total counts each sequential scrape once ($c0 -> $c1)" $((c0 + 1)) "$c1"
d=$(awk '$1 == "memlens_scrape_duration_seconds" {print $2}' "$tmp/self")
ok "$(awk -v d="$d" -v w=$((t1 - t0)) 'BEGIN {exit !(d > 0 && d * 1e6 <= w)}'; echo $?)" \
	"self: memlens_scrape_duration_seconds $d is in seconds: above 0, within the $((t1 - t0)) us the scrape took"
h=$(awk '$1 == "memlens_exporter_heap_bytes" {print $2}' "$tmp/self")
rk=$(awk '$1 == "VmRSS:" {print $2}' /proc/$EXP/status)
ok "$([ "${h:-0}" -gt 65536 ] && { [ $asan = 1 ] || [ "$h" -le $((rk * 1024)) ]; }; echo $?)" \
	"self: memlens_exporter_heap_bytes $h is bytes: above 64 KiB, within the exporter's RSS ($rk kB)"
# libdw is loaded by the first symbolization only: an exporter never maps it
is "self: the exporter has not mapped libdw (loaded when symbolizing, never here)" "" \
	"$(awk '$6 ~ /\/libdw[-.]/ {print $6; exit}' /proc/$EXP/maps)"
is "self: each family's TYPE and HELP once, and a unit where its name ends in one" "" \
	"$(awk '/^# TYPE/ {t[$3]++} /^# HELP/ {h[$3]++} END {for (k in t) if (t[k] != 1 || h[k] != 1) print k}' "$tmp/self")"

# DMA-BUF: the holder's buffers by exporter and name, per process, per comm
if [ -n "$DB_EXP" ]; then
	L="exporter=\"$DB_EXP\",name=\"$DB_NAME\""
	is "DMA-BUF: bytes and buffers of exporter $DB_EXP, name $DB_NAME" "$DB_BYTES 2" \
		"$(value memlens_dmabuf_buffer_bytes "$L" $f) $(value memlens_dmabuf_buffers "$L" $f)"
	is "DMA-BUF: the holder and its child" 2 "${#DB_PIDS[@]}"
	for p in "${DB_PIDS[@]}"; do
		L="pid=\"$p\",comm=\"dmabuf_holder\",cgroup=\"$(awk -F: '$1 == "0" {print $3}' /proc/$p/cgroup)\",container=\"\",pod=\"\""
		is "DMA-BUF: pid $p holds both (one mapped), shared with the other pid: dmabuf_rss, dmabuf_pss" \
			"$DB_BYTES $((DB_BYTES / 2))" \
			"$(value memlens_process_memory_bytes "$L,memtype=\"dmabuf_rss\"" $f) $(value memlens_process_memory_bytes "$L,memtype=\"dmabuf_pss\"" $f)"
	done
	L="pid=\"$holder2\",comm=\"dmabuf_holder\",cgroup=\"$(awk -F: '$1 == "0" {print $3}' /proc/$holder2/cgroup)\",container=\"\",pod=\"\""
	b2=$((6 * PAGE))
	is "DMA-BUF: buffers in two fd tables (and a mapping) of one process: 2 buffers, its dmabuf_rss and dmabuf_pss once" \
		"2 $b2 $b2" "$(value memlens_dmabuf_buffers "exporter=\"$DB_EXP\",name=\"$DB2_NAME\"" $f) $(value memlens_process_memory_bytes \
		"$L,memtype=\"dmabuf_rss\"" $f) $(value memlens_process_memory_bytes "$L,memtype=\"dmabuf_pss\"" $f)"
	is "DMA-BUF: comm dmabuf_holder's dmabuf_pss sums to the buffers once" "$((DB_BYTES + b2))" \
		"$(value memlens_comm_memory_bytes 'comm="dmabuf_holder",memtype="dmabuf_pss"' $f)"
	# the dmabuf_dump layout of the same buffers: per process Rss, Pss (kB), nr_procs
	"$ML" dmabuf > "$tmp/dump" 2> /dev/null
	dump_rows() { awk -v p=":$1" -v nm="$2" '$0 ~ p " *$" {on = 1; next} /^-+$/ {on = 0}
		on && $1 == nm {print $2, $4, $6}' "$tmp/dump" | sort -n | tr '\n' ';'; }
	k3=$((3 * PAGE / 1024)) k5=$((5 * PAGE / 1024)) k4=$((4 * PAGE / 1024)) k2=$((2 * PAGE / 1024))
	is "dmabuf (dmabuf_dump layout): pid ${DB_PIDS[0]}'s two fork-shared buffers: Rss, Pss halved, nr_procs 2" \
		"$k3 $((k3 / 2)) 2;$k5 $((k5 / 2)) 2;" "$(dump_rows "${DB_PIDS[0]}" "$DB_NAME")"
	is "dmabuf (dmabuf_dump layout): pid $holder2's buffers in two fd tables, each listed once, nr_procs 1" \
		"$k2 $k2 1;$k4 $k4 1;" "$(dump_rows "$holder2" "$DB2_NAME")"
	# the same in CSV, every field of each of the holder's rows (the first buffer
	# mapped before the fork: by both processes)
	"$ML" dmabuf --csv > "$tmp/csv" 2> /dev/null
	s3=$((3 * PAGE)) s5=$((5 * PAGE))
	for p in "${DB_PIDS[@]}"; do
		is "dmabuf --csv: pid $p's rows: SIZE RSS PSS NR_PROCS FD_REFS MAP_REFS" \
			"$s3 $s3 $((s3 / 2)) 2 1 1;$s5 $s5 $((s5 / 2)) 2 1 0;" \
			"$(awk -F, -v p="$p" -v nm="$DB_NAME" '$1 == p && $4 == nm {print $6, $7, $8, $9, $10, $11}' "$tmp/csv" | sort -n | tr '\n' ';')"
	done
	# a buffer name a spreadsheet would run as a formula: the CSV cell
	# starts with ' (and is quoted as RFC 4180 says)
	FNAME="=1+2-$$"
	"$B/tests/dmabuf_holder" "$FNAME" 1 > "$tmp/holder3" 2>&1 &
	holder3=$!; pids+=("$holder3")
	for _ in $(seq 100); do grep -q ready "$tmp/holder3" && break; kill -0 $holder3 2> /dev/null || break; sleep 0.1; done
	"$ML" dmabuf --csv > "$tmp/csv3" 2> /dev/null
	is "dmabuf --csv: a name starting with = is a text cell (\"'=...\"), never a formula" "1 0" \
		"$(grep -c "^$holder3,.*,\"'$FNAME\"," "$tmp/csv3") $(grep -c ",$FNAME," "$tmp/csv3")"
	kill "$holder3" 2> /dev/null
	# --kernel-only: none of the held buffers
	"$ML" dmabuf --kernel-only -J > "$tmp/konly" 2> /dev/null
	is "dmabuf --kernel-only lists none of the buffers processes hold" 0 \
		"$(jq --arg a "$DB_NAME" --arg b "$DB2_NAME" '[.kernel_only[] | select(.name == $a or .name == $b)] | length' "$tmp/konly")"
	grep -q '^memlens_dmabuf_kernel_only_bytes [0-9]*$' $f; ok $? "DMA-BUF: kernel-only bytes present"
	# snapshot -J and memlens diff with real buffers: against an empty snapshot,
	# every process is new and its DMA-BUF figures are all delta
	"$ML" snapshot -J > "$tmp/with.json" 2> /dev/null
	echo '{"snapshot": []}' > "$tmp/none.json"
	"$ML" diff "$tmp/none.json" "$tmp/with.json" -J -o PID,CHANGE,DMABUF_RSS_DELTA,DMABUF_PSS_DELTA > "$tmp/dd.json" 2> /dev/null
	for p in "${DB_PIDS[@]}"; do
		is "diff: holder $p is new, its dmabuf_rss and dmabuf_pss deltas the buffers (shared by two)" \
			"new $DB_BYTES $((DB_BYTES / 2))" \
			"$(jq -r --argjson p "$p" '.diff[] | select(.pid == $p) | "\(.change) \(.dmabuf_rss_delta) \(.dmabuf_pss_delta)"' "$tmp/dd.json")"
	done
	is "snapshot -J: summary.dmabuf_kernel_only is dmabuf --kernel-only's list" \
		"$(jq -r '[.kernel_only[].inode] | sort | map(tostring) | join(" ")' "$tmp/konly")" \
		"$(jq -r '[.summary.dmabuf_kernel_only[].inode] | sort | map(tostring) | join(" ")' "$tmp/with.json")"
else
	wait "$holder"; hrc=$?
	if [ $hrc = 77 ] && [ "${MEMLENS_EXPECT_EXPORTER:-}" = yes ]; then
		ok 1 "this kernel has a DMA-BUF exporter (the matrix says so), the holder found none"
	elif [ $hrc = 77 ]; then skip "no DMA-BUF exporter in this kernel (no /dev/dma_heap/system, no /dev/udmabuf)"
	else ok 1 "the DMA-BUF holder: exit $hrc, $(tail -1 "$tmp/holder")"; fi
fi

# a command name with a quote and a backslash: escaped, not a forged label
QN="mq\"$$\\s"	# mq"PID\s: unique, with a quote and a backslash
cp "$(command -v busybox)" "$tmp/$QN"
(exec -a sleep "$tmp/$QN" 1000) &
qp=$!; pids+=("$qp")
for _ in $(seq 100); do [ "$(cat /proc/$qp/comm 2> /dev/null)" = "$QN" ] && break; sleep 0.01; done
scrape > "$tmp/q"
# the backslash is first written \x5c (as every output writes it), then the
# label's own escapes: \" and \\
n_q=$(grep -cF "memlens_comm_processes{comm=\"mq\\\"$$\\\\x5cs\"} 1" "$tmp/q")
is "a comm with a quote and a backslash: its label escaped, one series" 1 "$n_q"; [ "$n_q" = 1 ] || grep -a "mq" "$tmp/q" | head -2 | sed "s/^/#   /"
kill -KILL $qp; wait $qp 2> /dev/null

# every scrape collects afresh: a process started (or killed) just before a
# scrape is in it (or gone), however soon after the last one
FRESH=mlfresh$$
cp "$(command -v busybox)" "$tmp/$FRESH"
scrape > /dev/null
(exec -a sleep "$tmp/$FRESH" 1000) &
fresh=$!; pids+=("$fresh")
for _ in $(seq 100); do [ "$(cat /proc/$fresh/comm 2> /dev/null)" = "$FRESH" ] && break; sleep 0.01; done
is "a process started just before a scrape is in it" 1 "$(scrape | grep -c "^memlens_comm_processes{comm=\"$FRESH\"} 1\$")"
kill -KILL $fresh; wait $fresh 2> /dev/null
is "a process killed just before a scrape is gone from it" 0 "$(scrape | grep -c "comm=\"$FRESH\"")"

# ---- a real Prometheus scraping it (host) ----
if command -v prometheus > /dev/null && command -v curl > /dev/null && command -v jq > /dev/null; then
	prom_start 19090 "global: { scrape_interval: 1s, scrape_timeout: 1s }
scrape_configs:
  - job_name: memlens
    static_configs: [ { targets: [ \"127.0.0.1:$PORT\" ] } ]"
	pport=$PPORT prom=$PROM
	q() { prom_q "$1"; }
	p=${procs[0]}
	got=none
	for _ in $(seq 150); do
		got=$(q "memlens_process_memory_bytes{pid=\"$p\",memtype=\"rss\"}" 2> /dev/null)
		[ "$got" != none ] && [ -n "$got" ] && break
		sleep 0.2
	done
	# up: scraped at least once (one scrape of a loaded machine may time out at 1 s)
	is "Prometheus: up{job=\"memlens\"} in the last minute" 1 "$(q 'max_over_time(up{job="memlens"}[1m])')"
	is "Prometheus: pid $p's rss, as smaps_rollup says" "$(rollup "$p" Rss)" "$got"
	is "Prometheus: memlens_comm_processes{comm=\"$COMM\"}" 2 "$(q "memlens_comm_processes{comm=\"$COMM\"}")"
	# the group's PSS: moves only within the pages its processes share with others
	gp=$(q "memlens_comm_memory_bytes{comm=\"$COMM\",memtype=\"pss\"}")
	pss=0 shared=0
	for p in "${procs[@]}"; do
		pss=$((pss + $(rollup "$p" Pss)))
		shared=$((shared + $(rollup "$p" Rss) - $(rollup "$p" Private_Clean) - $(rollup "$p" Private_Dirty)))
	done
	case "$gp" in *[!0-9]* | "") d=-1 ;; *) d=$((gp - pss)); d=${d#-} ;; esac
	if [ "$d" -ge 0 ] && [ "$d" -le "$shared" ]; then ok 0 "Prometheus: comm $COMM's PSS $gp, smaps_rollup's $pss (within the $shared bytes shared)"
	else ok 1 "Prometheus: comm $COMM's PSS $gp, smaps_rollup's $pss (within the $shared bytes shared)"; fi
	is "Prometheus: MemTotal" "$(memtotal)" \
		"$(q 'memlens_system_memory_bytes{memtype="total"}')"
	is "Prometheus: no scrape error" 0 "$(q 'memlens_scrape_errors_total')"
	# it scraped the OpenMetrics answer (only that one has UNIT lines) and parsed it
	meta=$(curl -s -G "http://127.0.0.1:$pport/api/v1/targets/metadata" --data-urlencode 'metric=memlens_process_memory_bytes' |
		jq -r '.data[0].unit // "none"')
	is "Prometheus: negotiated OpenMetrics (the target's metadata has the unit)" bytes "$meta"
	kill "$prom"; wait "$prom" 2> /dev/null
else
	skip "no prometheus, curl or jq here (the guests have none; the host suite runs them)"
fi

# ---- abuse ----
# 200 scrapes at once: every one answered whole
par=()
for i in $(seq 200); do
	(http GET /metrics "Accept: application/openmetrics-text" > "$tmp/par.$i") &
	par+=($!)
done
wait "${par[@]}"
good=0
for i in $(seq 200); do
	[ "$(status_of < "$tmp/par.$i")" = 200 ] && [ "$(tail -1 "$tmp/par.$i" | tr -d '\r')" = "# EOF" ] && good=$((good + 1))
done
rm -f "$tmp"/par.*
is "200 parallel scrapes: all answered 200 with a whole body" 200 "$good"
c1=$(scrape | awk '$1 == "memlens_collections_total" {print $2}')
echo "# collections so far (parallel scrapes share them): $c1"

# stalled clients (headers never finished) and a scrape beside them
stalled=()
for i in $(seq 20); do
	exec {fd}<> "/dev/tcp/127.0.0.1/$PORT"; printf 'GET /metrics HTTP/1.1\r\nHost: x\r\n' >&$fd; stalled+=($fd)
done
st=$(timeout 20 bash -c "$(declare -f http status_of); PORT=$PORT; http GET /metrics | status_of")
is "a scrape answered while 20 clients stall mid-headers" 200 "$st"
for fd in "${stalled[@]}"; do exec {fd}>&-; done
# clients that vanish mid-response, and garbage
for i in $(seq 50); do
	exec {fd}<> "/dev/tcp/127.0.0.1/$PORT"; printf 'GET /metrics HTTP/1.0\r\n\r\n' >&$fd
	head -c 100 <&$fd > /dev/null; exec {fd}>&-
done
exec {fd}<> "/dev/tcp/127.0.0.1/$PORT"; { head -c 4000 /dev/urandom; printf '\r\n\r\n'; } >&$fd 2> /dev/null
g=$(timeout 10 head -c 12 <&$fd | tr -d '\r'); exec {fd}>&-
case "$g" in "HTTP/1.1 400"* | "") ok 0 "garbage: answered 400 or closed (${g:-closed})" ;; *) ok 1 "garbage: answered '$g'" ;; esac
is "after 50 clients vanished mid-response and garbage: still serving" 200 "$(http GET /metrics | status_of)"

# many scrapes: no fd or memory kept per scrape
many=5000; [ $asan = 1 ] && many=1000; command -v curl > /dev/null || many=300
for _ in $(seq 20); do scrape > /dev/null; done
# what the exporter holds allocated (its own memlens_exporter_heap_bytes:
# mallinfo2, or ASan's count without its quarantine), not its RSS, which
# moves with malloc's arenas, the machine's process count and ASan's
# quarantine of freed blocks: a leak grows the first scrape after scrape
heap() { scrape | awk '$1 == "memlens_exporter_heap_bytes" {print $2}'; }
fd0=$(ls /proc/$EXP/fd | wc -l); heap0=$(heap); rss0=$(awk '$1 == "VmRSS:" {print $2}' /proc/$EXP/status)
if command -v curl > /dev/null; then
	curl -s -o /dev/null "http://127.0.0.1:$PORT/metrics?[1-$many]"
else
	for _ in $(seq $many); do http GET /metrics > /dev/null; done
fi
fd1=$(ls /proc/$EXP/fd | wc -l); heap1=$(heap); rss1=$(awk '$1 == "VmRSS:" {print $2}' /proc/$EXP/status)
is "$many more scrapes: the exporter's fds stay $fd0" "$fd0" "$fd1"
# 1 MiB over $many scrapes: a leak of 200 bytes a scrape (1000 under ASan)
if [ -n "$heap0" ] && [ -n "$heap1" ] && [ $((heap1 - heap0)) -lt 1048576 ]; then
	ok 0 "$many more scrapes: its heap $heap0 -> $heap1 bytes (under 1 MiB growth; RSS ${rss0} -> ${rss1} kB)"
else
	ok 1 "$many more scrapes: its heap ${heap0:-?} -> ${heap1:-?} bytes (under 1 MiB growth; RSS ${rss0} -> ${rss1} kB)"
fi

# the BPF programs load once and stay: the exporter holds the same program
# ids scrape after scrape (its own fds' fdinfo: other processes do not count)
held() { cat /proc/$EXP/fdinfo/* 2> /dev/null | awk '$1 == "prog_id:" {print $2}' | sort -un | tr '\n' ' '; }
scrape > /dev/null; ids1=$(held)
scrape > /dev/null; scrape > /dev/null; ids2=$(held)
if grep -q 'source="bpf"' "$tmp/text"; then
	is "BPF programs loaded once: the exporter holds the same ids after more scrapes (${ids1:-none})" "$ids1" "$ids2"
	[ -n "$ids1" ]; ok $? "the DMA-BUF job answered by BPF: its programs stay loaded between scrapes"
else
	skip "the DMA-BUF job did not use BPF here: $(grep memlens_source_info "$tmp/text")"
fi
# SIGTERM with scrapes in flight: each answered or closed, exit 0, no program left
par=()
for i in $(seq 20); do (http GET /metrics > "$tmp/term.$i") & par+=($!); done
sleep 0.05
stop_exporter; rc=$?
wait "${par[@]}"
bad=0
for i in $(seq 20); do
	st=$(status_of < "$tmp/term.$i"); case "$st" in 200 | 503 | "") ;; *) bad=$((bad + 1)) ;; esac
done
is "SIGTERM with 20 scrapes in flight: exit 0, each answered 200/503 or closed" "0 0" "$rc $bad"
if command -v bpftool > /dev/null && [ -n "$ids1" ]; then
	left=""
	for id in $ids1; do bpftool prog show id "$id" > /dev/null 2>&1 && left="$left $id"; done
	is "after SIGTERM: none of the exporter's BPF programs ($ids1) is loaded" "" "$left"
fi

# ---- least capabilities (docs/exporter.md): the same reads as root ----
if [ "$(id -u)" = 0 ] && command -v setpriv > /dev/null; then
	CAPS=+sys_ptrace,+dac_read_search,+bpf,+perfmon
	start_exporter --top 0
	scrape > "$tmp/root"
	stop_exporter
	is "--top 0: no per-process series" 0 "$(grep -c '^memlens_process_memory_bytes{' "$tmp/root")"
	RUN=(setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all,$CAPS --ambient-caps=-all,$CAPS --bounding-set=-all,$CAPS)
	if start_exporter --top 0; then
		scrape > "$tmp/caps"
		stop_exporter
		is "as nobody with CAP_SYS_PTRACE, CAP_DAC_READ_SEARCH, CAP_BPF, CAP_PERFMON: unreadable and DMA-BUF source as root's" \
			"$(grep -E '^memlens_(processes\{state="unreadable"|source_info)' "$tmp/root")" \
			"$(grep -E '^memlens_(processes\{state="unreadable"|source_info)' "$tmp/caps")"
	else
		ok 1 "the exporter starts as nobody with the documented capabilities"
	fi
	RUN=()
else
	skip "the capability check needs root and setpriv"
fi

# ---- --textfile ----
tf=$tmp/textfile; mkdir "$tf"
echo precious > "$tmp/victim"; ln -s "$tmp/victim" "$tf/memlens.prom"
"$ML" exporter --textfile "$tf" --once 2> "$tmp/err"; rc=$?
is "--textfile --once: exit 0; a planted symlink replaced, its target untouched; nothing else left" \
	"0 regular file precious memlens.prom" \
	"$rc $(stat -c %F "$tf/memlens.prom") $(cat "$tmp/victim") $(ls -A "$tf" | tr '\n' ' ' | sed 's/ $//')"
grep -q "^memlens_comm_processes{comm=\"$COMM\"} 2\$" "$tf/memlens.prom"; ok $? "--textfile: the file has the families"
"$ML" exporter --textfile "$tf" --once --top 3 2> /dev/null
is "--top 3: the per-process series of exactly three processes" 3 \
	"$(sed -n 's/^memlens_process_memory_bytes{pid="\([0-9]*\)".*/\1/p' "$tf/memlens.prom" | sort -u | wc -l)"
# one collection: snapshot --openmetrics and the exporter call the library the
# same way, so they give the same series (names and label names; values and
# which pids differ between two runs), the exporter's own families apart
# (--textfile has no process_* families: node_exporter has its own)
"$ML" exporter --textfile "$tf" --once --per-process 2> /dev/null
"$ML" snapshot --openmetrics > "$tmp/snap.om" 2> /dev/null
series() { grep -v '^#' "$1" | sed 's/ [^ ]*$//; s/="[^"]*"/=/g' | sort -u; }
own='^memlens_(build_info|collections_total|exporter_heap_bytes|scrape_duration_seconds|scrape_errors_total|scrape_budget_seconds|pss_processes|process_pss_age_seconds)([{ ]|$)'
is "snapshot --openmetrics and exporter --textfile --once: the same series, but the exporter's own" "" \
	"$(diff <(series "$tf/memlens.prom" | grep -vE "$own") <(series "$tmp/snap.om"))"
is "... and the same families" "" \
	"$(diff <(grep '^# TYPE' "$tf/memlens.prom" | grep -vE "# TYPE ${own#^}") <(grep '^# TYPE' "$tmp/snap.om"))"
if command -v promtool > /dev/null; then
	promtool check metrics < "$tf/memlens.prom" > /dev/null 2>&1; ok $? "--textfile: promtool check metrics"
fi
is "--textfile: no process_* family (node_exporter's own would collide)" 0 "$(grep -c '^process_' "$tf/memlens.prom")"
if command -v promtool > /dev/null; then
	scrape > "$tmp/http.prom"
	promtool check metrics < "$tmp/http.prom" > /dev/null 2>&1; ok $? "/metrics with process_*: promtool check metrics"
fi
"$ML" exporter --textfile "$tf" --interval 0.2 2> "$tmp/err" &
tfx=$!; pids+=("$tfx")
i0=$(stat -c %i "$tf/memlens.prom"); changes=0
for _ in $(seq 50); do
	sleep 0.1
	i1=$(stat -c %i "$tf/memlens.prom" 2> /dev/null)
	[ "$i1" != "$i0" ] && changes=$((changes + 1)) && i0=$i1
	[ $changes -ge 2 ] && break
done
kill -TERM $tfx; wait $tfx; rc=$?
is "--textfile --interval 0.2: the file replaced twice, SIGTERM exits 0, no temporary file left" "2 0 memlens.prom" \
	"$changes $rc $(ls -A "$tf" | tr '\n' ' ' | sed 's/ $//')"

echo "1..$n"
