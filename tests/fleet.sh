#!/bin/bash
# The exporter as a fleet runs it (issue 25): the service manager's
# handshake (sd_notify READY=1 and STOPPING=1, read here on a socket the
# test binds, as systemd would), and a scrape's cost bounded by its timeout
# against a process whose smaps_rollup walk is slow (tests/helpers/bigpt.c:
# 64 GiB of page-table entries with little RAM behind them).
# Usage: tests/fleet.sh BUILD_DIR    (TAP on stdout)
set -u
trap '' PIPE
B=$(cd "${1:-build}" && pwd)
ML=$B/memlens
T=$(cd "$(dirname "$0")" && pwd)
. "$T/helpers/tap.sh"
tmp=$(mktemp -d /tmp/memlens-fleet-XXXXXX); chmod 755 "$tmp"
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill -KILL "$p" 2> /dev/null; done
	wait 2> /dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
. "$T/helpers/exporter.sh"

# ---- sd_notify: READY=1 once serving, STOPPING=1 at SIGTERM ----
# listen NAME SOCKET: the listener in the background, its lines in $tmp/NAME.n
listen() {
	python3 "$T/helpers/notify_listen.py" "$2" 20 > "$tmp/$1.n" &
	LP=$!; pids+=("$LP")
	for _ in $(seq 100); do grep -q bound "$tmp/$1.n" && return 0; sleep 0.05; done
	return 1
}
wait_line() { # FILE PATTERN: up to 10 s
	for _ in $(seq 200); do grep -q "$2" "$1" && return 0; sleep 0.05; done
	return 1
}
for sock in "$tmp/notify" "@memlens-test-$$"; do
	listen n "$sock"
	NOTIFY_SOCKET=$sock "$ML" exporter --listen 127.0.0.1:0 2> "$tmp/n.err" &
	E=$!; pids+=("$E")
	wait_line "$tmp/n.n" READY=1
	port=$(sed -n 's#.*READY=1|STATUS=serving http://127.0.0.1:\([0-9]*\)/metrics.*#\1#p' "$tmp/n.n")
	# a scrape sent the moment READY=1 arrives is answered: ready means serving
	code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 30 "http://127.0.0.1:${port:-1}/metrics")
	is "NOTIFY_SOCKET=$sock: READY=1 from the exporter's pid, with its address in STATUS; a scrape at once answers 200" \
		"$E 200" "$(awk '/READY=1/ {print $1}' "$tmp/n.n") $code"
	kill -TERM $E; wait $E; rc=$?
	wait $LP
	is "NOTIFY_SOCKET=$sock: SIGTERM: STOPPING=1 after READY=1, nothing else; exit 0" \
		"READY=1 STOPPING=1 0" "$(awk '$1 != "bound" {sub(/\|.*/, "", $2); printf "%s ", $2}' "$tmp/n.n")$rc"
done
# --textfile: ready once the first file is there
listen t "$tmp/notify2"
mkdir "$tmp/tf"
NOTIFY_SOCKET=$tmp/notify2 "$ML" exporter --textfile "$tmp/tf" --interval 30 2> "$tmp/t.err" &
E=$!; pids+=("$E")
wait_line "$tmp/t.n" READY=1
is "--textfile: READY=1 when the first file is written" "1 memlens.prom" \
	"$(grep -c READY=1 "$tmp/t.n") $(ls "$tmp/tf")"
kill -TERM $E; wait $E; rc=$?; wait $LP
is "--textfile: STOPPING=1 at SIGTERM, exit 0" "1 0" "$(grep -c STOPPING=1 "$tmp/t.n") $rc"
# a NOTIFY_SOCKET nobody listens on, or that is not a socket path: served all the same
for bad in "$tmp/nobody" "relative" "@"; do
	NOTIFY_SOCKET=$bad exp_start bad
	is "NOTIFY_SOCKET=$bad (no listener, or no path): the exporter serves" 200 \
		"$(http_scrape | head -1 | awk '{print $2}')"
	kill -TERM "$EXP"; wait "$EXP"
done

# ---- a scrape's cost: bounded by its timeout ----
# metric NAME PID FILE: the sample of that family for that pid
metric() { awk -v k="$1{pid=\"$2\"" 'index($0, k) == 1 {print $NF; exit}' "$3"; }
mem() { awk -v k="memlens_process_memory_bytes{pid=\"$1\"" -v t="memtype=\"$2\"}" 'index($0, k) == 1 && index($0, t) {print $NF; exit}' "$3"; }
state() { awk -v k="memlens_pss_processes{state=\"$1\"}" '$1 == k {print $2}' "$2"; }
# the whole answer's time, as curl measured it, in $tmp/NAME.t; the body in $tmp/NAME
timed_scrape() { # NAME TIMEOUT_HEADER
	curl -s -o "$tmp/$1" -w '%{time_total}' --max-time 60 ${2:+-H "X-Prometheus-Scrape-Timeout-Seconds: $2"} \
		"http://127.0.0.1:$PORT/metrics" > "$tmp/$1.t"
}
"$B/tests/bigpt" 64 > "$tmp/bigpt.out" &
BP=$!; pids+=("$BP")
wait_line "$tmp/bigpt.out" ready
for _ in $(seq 600); do grep -q ready "$tmp/bigpt.out" && break; sleep 0.1; done
kind=$(awk '{print $2}' "$tmp/bigpt.out")
# the walk's cost, read here: the fastest of three reads
tr=9
for _ in 1 2 3; do
	t0=${EPOCHREALTIME/./}; cat /proc/$BP/smaps_rollup > "$tmp/rollup"; t1=${EPOCHREALTIME/./}
	tr=$(awk -v a="$tr" -v b=$(( t1 - t0 )) 'BEGIN {b /= 1e6; print (b < a ? b : a)}')
done
pss_truth=$(awk '$1 == "Pss:" {printf "%.0f\n", $2 * 1024}' "$tmp/rollup")
rss_truth=$(awk '$1 == "VmRSS:" {printf "%.0f\n", $2 * 1024}' /proc/$BP/status)
# near NAME A B: A within 1 MiB of B (a process mapping one memfd page 1024
# times: its Pss is averaged over the folio's mappings and moves a few kB
# between two reads of smaps_rollup itself)
near() {
	ok "$(awk -v a="$2" -v b="$3" 'BEGIN {d = a - b; if (d < 0) d = -d; exit !(a != "" && d <= 1048576)}'; echo $?)" "$1 ($2, smaps_rollup $3)"
}
# a timeout well under one walk: a third of it (the exporter keeps a margin of it)
T=$(awk -v t="$tr" 'BEGIN {printf "%.3f", t / 3}')
echo "# bigpt ($kind): one smaps_rollup walk takes $tr s; scrape timeout $T s"
exp_start budget --pss-max-rss 0
timed_scrape b1 "$T"
ok "$(awk -v a="$(cat "$tmp/b1.t")" -v b="$tr" 'BEGIN {exit !(a < b)}'; echo $?)" \
	"timeout $T s: the scrape answered in $(cat "$tmp/b1.t") s, less than the one walk it would take ($tr s)"
is "... the slow process: over budget, never read (age -1), its rss and vss from its counters" \
	"-1.000 $rss_truth $(awk '$1 == "VmSize:" {printf "%.0f\n", $2 * 1024}' /proc/$BP/status)" \
	"$(metric memlens_process_pss_age_seconds $BP "$tmp/b1") $(mem $BP rss "$tmp/b1") $(mem $BP vss "$tmp/b1")"
ok "$([ "$(state missing "$tmp/b1")" -ge 1 ]; echo $?)" "... memlens_pss_processes{state=\"missing\"} counts it ($(state missing "$tmp/b1"))"
ok "$(awk -v b="$(awk '$1 == "memlens_scrape_budget_seconds" {print $2}' "$tmp/b1")" -v t="$T" 'BEGIN {exit !(b < t)}'; echo $?)" \
	"... memlens_scrape_budget_seconds is under the timeout"
# while the abandoned walk lasts, the process stays over budget: one walk at a time
timed_scrape b2 "$T"
is "... scraped again at once: still missing (its walk is not started twice)" "-1.000" \
	"$(metric memlens_process_pss_age_seconds $BP "$tmp/b2")"
sleep "$(awk -v t="$tr" 'BEGIN {print t * 3 + 0.5}')"	# the abandoned walk ends
timed_scrape b3 10
is "timeout 10 s: the walk done, age 0" "0.000" "$(metric memlens_process_pss_age_seconds $BP "$tmp/b3")"
near "... its pss is smaps_rollup's" "$(mem $BP pss "$tmp/b3")" "$pss_truth"
p3=$(mem $BP pss "$tmp/b3")
timed_scrape b4 "$T"
a=$(metric memlens_process_pss_age_seconds $BP "$tmp/b4")
ok "$(awk -v a="$a" 'BEGIN {exit !(a > 0)}'; echo $?)" "timeout $T s again: served from that read (age $a s)"
is "... with its figures" "$p3" "$(mem $BP pss "$tmp/b4")"
ok "$([ "$(state cached "$tmp/b4")" -ge 1 ]; echo $?)" "... counted cached ($(state cached "$tmp/b4"))"
# a header that is not a number, or above --scrape-timeout: --scrape-timeout's
kill -TERM "$EXP"; wait "$EXP"
exp_start budget2 --pss-max-rss 0 --scrape-timeout 2
for h in "" abc -1 nan 600; do
	timed_scrape h "$h"
	is "--scrape-timeout 2, header '${h:-none}': a budget of 2 s less its margin" 1.800 \
		"$(awk '$1 == "memlens_scrape_budget_seconds" {printf "%.1f00\n", $2}' "$tmp/h")"
done
timed_scrape h 1
is "--scrape-timeout 2, header 1: the header's (0.9 s: a tenth, at least 50 ms, kept)" 0.900 \
	"$(awk '$1 == "memlens_scrape_budget_seconds" {printf "%.1f00\n", $2}' "$tmp/h")"
kill -TERM "$EXP"; wait "$EXP"

# ---- large processes: walked at most every --pss-interval ----
sleep "$(awk -v t="$tr" 'BEGIN {print t + 0.2}')"
exp_start large --pss-max-rss 1G --pss-interval 60
timed_scrape l1 10
is "--pss-max-rss 1G: the first scrape walks the large process (age 0)" "0.000" \
	"$(metric memlens_process_pss_age_seconds $BP "$tmp/l1")"
near "... its pss is smaps_rollup's" "$(mem $BP pss "$tmp/l1")" "$pss_truth"
timed_scrape l2 10
a=$(metric memlens_process_pss_age_seconds $BP "$tmp/l2")
ok "$(awk -v a="$a" -v t="$(cat "$tmp/l2.t")" -v r="$tr" 'BEGIN {exit !(a > 0 && t < r)}'; echo $?)" \
	"... the next serves that read (age $a s), in $(cat "$tmp/l2.t") s: less than the walk ($tr s)"
is "... with its figures, its rss fresh; counted cached" "$(mem $BP pss "$tmp/l1") $rss_truth 1" \
	"$(mem $BP pss "$tmp/l2") $(mem $BP rss "$tmp/l2") $([ "$(state cached "$tmp/l2")" -ge 1 ] && echo 1)"
kill -TERM "$EXP"; wait "$EXP"
exp_start large2 --pss-max-rss 1G --pss-interval 0.3
timed_scrape l3 10; sleep 0.5; timed_scrape l4 10
is "--pss-interval 0.3: read again once it has passed (age 0)" "0.000" "$(metric memlens_process_pss_age_seconds $BP "$tmp/l4")"
kill -TERM "$EXP"; wait "$EXP"
kill -KILL $BP; wait $BP 2> /dev/null
for bad in "--pss-max-rss x" "--pss-max-rss -1" "--pss-max-rss 1Q" "--scrape-timeout 0" "--scrape-timeout x" "--pss-interval -1"; do
	# shellcheck disable=SC2086
	"$ML" exporter $bad > /dev/null 2> "$tmp/err"; rc=$?
	is "exporter $bad: exit 2, one line" "2 1" "$rc $(wc -l < "$tmp/err")"
done

echo "1..$n"
