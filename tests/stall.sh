#!/bin/bash
# A process that parks its own mmap lock (hostile users round 3, class 1).
# tests/helpers/fuse_stall.c mounts a FUSE file system served over raw
# /dev/fuse whose reads never answer; its victim (as nobody) holds its mmap
# lock for read across a fault on that file while another of its threads
# waits to write it, so every later reader of the lock waits: smaps,
# smaps_rollup, cmdline.  Ground truth: `cat` of the victim's smaps_rollup
# under a time limit does not finish.  Then memlens must answer for everyone
# else, name the victim as stalled, and its exporter must answer a scrape
# and stop on SIGTERM.  While the stall stands, nothing here reads another
# process's cmdline (ps and pgrep would hang too).
# Usage: tests/stall.sh BUILD_DIR    (TAP on stdout)
set -u
B=$(cd "${1:-build}" && pwd)
ML=$B/memlens
. "$(dirname "$0")/helpers/tap.sh"
. "$(dirname "$0")/helpers/exporter.sh"
tmp=$(mktemp -d /tmp/memlens-stall-XXXXXX); chmod 755 "$tmp"
daemon=0 sleeper=0 exp=0 pids=()
cleanup() {
	exec 9>&- 2> /dev/null	# the daemon's stdin: it ends the stall and unmounts
	[ "$exp" != 0 ] && kill -KILL "$exp" 2> /dev/null
	[ "$sleeper" != 0 ] && kill -KILL "$sleeper" 2> /dev/null
	[ "$daemon" != 0 ] && { kill -TERM "$daemon" 2> /dev/null; wait "$daemon" 2> /dev/null; }
	umount -l "$tmp/mnt" 2> /dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
# LeakSanitizer checks at exit by stopping every thread with ptrace: a
# thread abandoned in the victim's mmap lock (by design, until the process
# exits) never stops, and the check waits forever.  Under ASan the leak
# check is off here; every other test runs it.
case "$B" in *asan*) export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" ;; esac

why=""
[ "$(id -u)" = 0 ] || why="needs root (mount)"
# (Debian's kernels build FUSE as a module; the QEMU guests load no module)
[ -z "$why" ] && ! grep -qw fuse /proc/filesystems && why="FUSE is not in this running kernel (not built in, module not loaded)"
[ -z "$why" ] && [ ! -c /dev/fuse ] && why="no /dev/fuse device node here"
if [ -n "$why" ]; then
	skip "a process that stalls its own mmap lock: $why"
	echo "1..$n"
	exit 0
fi

sleep 1000 & sleeper=$!	# someone else, to be answered while the victim stalls
mkdir "$tmp/mnt"
mkfifo "$tmp/in"
"$B/tests/fuse_stall" "$tmp/mnt" < "$tmp/in" > "$tmp/victim" 2> "$tmp/daemon.err" &
daemon=$!
exec 9> "$tmp/in"
victim=""
for _ in $(seq 300); do
	victim=$(head -1 "$tmp/victim")
	[ -n "$victim" ] && break
	kill -0 "$daemon" 2> /dev/null || break
	sleep 0.1
done
if [ -z "$victim" ]; then
	ok 1 "the FUSE stall was built (daemon: $(head -2 "$tmp/daemon.err"))"
	echo "1..$n"
	exit 1
fi
# (coreutils' timeout exits 124, busybox's 143: killed by its SIGTERM)
timeout 3 cat "/proc/$victim/smaps_rollup" > /dev/null 2>&1; rc=$?
is "ground truth: the victim's smaps_rollup does not answer in 3 s (cat is killed)" 1 \
	"$([ "$rc" = 124 ] || [ "$rc" = 143 ] && echo 1 || echo "0 (exit $rc)")"

# snapshot: every process but the victim answered, the victim named stalled
timeout 60 "$ML" snapshot -J > "$tmp/snap.json" 2> "$tmp/snap.err"; rc=$?
is "snapshot with a stalled process: exit 0 (not hung, not failed)" 0 "$rc"
is "snapshot: the stalled process named on stderr, by pid" 1 \
	"$(grep -c "stalled, left out.* $victim (" "$tmp/snap.err")"
is "snapshot -J: summary.stalled_pids holds the victim" 1 \
	"$(grep -o '"stalled_pids": \[[0-9, ]*\]' "$tmp/snap.json" | grep -cw "$victim")"
is "snapshot -J: the others answered (the sleeper has a row)" 1 "$(grep -c "\"pid\": $sleeper," "$tmp/snap.json")"
is "snapshot -J: the victim has no row" 0 "$(grep -c "\"pid\": $victim," "$tmp/snap.json")"
timeout 60 "$ML" snapshot --pid "$sleeper" -o PID -n > "$tmp/one" 2> "$tmp/one.err"; rc=$?
is "snapshot --pid OTHER: answered, exit 0" "0 $sleeper" "$rc $(tr -d ' ' < "$tmp/one")"
timeout 60 "$ML" snapshot --pid "$victim" -n > /dev/null 2> "$tmp/v.err"; rc=$?
is "snapshot --pid VICTIM: exit 0, the victim named stalled" "0 1" "$rc $(grep -c "stalled.* $victim (" "$tmp/v.err")"
timeout 60 "$ML" snapshot --pid "$sleeper" -o PID,CMDLINE -n > "$tmp/cmd" 2> /dev/null; rc=$?
is "snapshot --cmdline of another process: answered" "0 1" "$rc $(grep -c 'sleep 1000' "$tmp/cmd")"

# maps --smaps of the victim: one line, exit 1, in bounded time; where the
# kernel reads smaps under per-VMA locks (7.x), it answers: then so must we
timeout 3 cat "/proc/$victim/smaps" > "$tmp/smaps.truth" 2> /dev/null; rc=$?
timeout 60 "$ML" maps "$victim" --smaps -o START > "$tmp/m.out" 2> "$tmp/m.err"; mrc=$?
if [ "$rc" = 0 ]; then
	is "maps VICTIM --smaps (this kernel answers smaps during the stall): exit 0, a row per VMA" \
		"0 $(grep -cE '^[0-9a-f]+-[0-9a-f]+ ' "$tmp/smaps.truth")" \
		"$mrc $(grep -cE '^ *0x[0-9a-f]+$' "$tmp/m.out")"
else
	is "maps VICTIM --smaps: exit 1 with one line naming the stall" "1 1 1" \
		"$mrc $(wc -l < "$tmp/m.err") $(grep -c "pid $victim: stalled" "$tmp/m.err")"
fi
timeout 60 "$ML" maps "$sleeper" --smaps > /dev/null 2>&1; rc=$?
is "maps OTHER --smaps while the victim stalls: exit 0" 0 "$rc"

# DMA-BUF holders are read from every process's maps (the procfs source),
# through one kept reader thread: where maps waits on the lock (before 6.17)
# the victim's read is abandoned and named, and a new reader reads the
# others, a process started after the victim (a higher pid) included
bash -c 'while :; do sleep 1; done' & late=$!
timeout 3 cat "/proc/$victim/maps" > /dev/null 2>&1; maps_rc=$?
timeout 60 "$ML" dmabuf -s procfs > /dev/null 2> "$tmp/d.err"; rc=$?
is "dmabuf -s procfs while a process stalls: answered (not killed by the 60 s limit)" 1 \
	"$([ "$rc" != 124 ] && [ "$rc" != 143 ] && echo 1 || echo "0 (exit $rc: $(head -1 "$tmp/d.err"))")"
is "dmabuf -s procfs: the process after the victim is read (not named unreadable); the victim named where its maps waits" \
	"0 $([ "$maps_rc" = 0 ] && echo 0 || echo 1)" \
	"$(grep 'could not be read' "$tmp/d.err" | grep -cw "$late") $(grep 'could not be read' "$tmp/d.err" | grep -cw "$victim")"
kill "$late"

# the exporter: a scrape is answered and counts the stalled process; SIGTERM
# during a collection held up by the victim ends it at once
exp_start exp --no-dmabuf --per-process
exp=$EXP
http_scrape 30 > "$tmp/scrape"
is "exporter: a scrape with a stalled process is answered 200" 200 "$(head -1 "$tmp/scrape" | awk '{print $2}')"
# (at least it: on a machine loaded enough that another process's read
# makes no progress for the stall timeout, that one is counted too, as
# designed; the victim's own series is absent, as every stalled one's)
is "exporter: memlens_processes{state=\"stalled\"} counts it, and the victim has no series" "1 0" \
	"$(tr -d '\r' < "$tmp/scrape" | awk '$1 == "memlens_processes{state=\"stalled\"}" {print ($2 >= 1)}') $(tr -d '\r' < "$tmp/scrape" | grep -c "^memlens_process_memory_bytes{pid=\"$victim\"")"
is "exporter: the sleeper's memory is there (the others answered)" 1 \
	"$(tr -d '\r' < "$tmp/scrape" | grep -c "^memlens_process_memory_bytes{pid=\"$sleeper\"" | awk '{print ($1 > 0)}')"
kill -TERM "$exp"; wait "$exp"
# a new exporter (its context knows no stalled process yet): its first
# collection waits on the victim's rollup when SIGTERM comes
exp_start exp2 --no-dmabuf
exp=$EXP
http_scrape 30 > /dev/null & inflight=$!
sleep 0.5
kill -TERM "$exp"
waited=0
for _ in $(seq 100); do kill -0 "$exp" 2> /dev/null || break; sleep 0.05; waited=$((waited + 50)); done
if kill -0 "$exp" 2> /dev/null; then
	ok 1 "exporter: SIGTERM during a stalled collection ends it within 5 s"
else
	wait "$exp"; rc=$?
	exp=0
	is "exporter: SIGTERM during a stalled collection ends it within 5 s, exit 0 (gone after ~$waited ms)" 0 "$rc"
fi
wait "$inflight"

# the stall ends with its daemon; the victim goes with it
exec 9>&-
wait "$daemon"; daemon=0
for _ in $(seq 50); do [ -d "/proc/$victim" ] || break; sleep 0.1; done
is "the stall ended: its victim is gone" 0 "$([ -d "/proc/$victim" ] && echo 1 || echo 0)"
echo "1..$n"
