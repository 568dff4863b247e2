#!/bin/bash
# Exporter memory amplification through cgroup names (hostile users round 3,
# class 2): 200 cgroups whose paths are ~3.5 KB of bytes that are not UTF-8
# (each escapes to four), a tiny process in each.  The exporter's body stays
# bounded (label values cut at 256 bytes and counted; cgroup and command-name
# series capped by --top-groups), its peak RSS stays under the 64 MiB of the
# DaemonSet in docs/exporter.md, and 50 clients that ask and never read do
# not multiply it (one body shared by every connection).
# Usage: tests/amplify.sh BUILD_DIR    (TAP on stdout)
set -u
trap '' PIPE
B=$(cd "${1:-build}" && pwd)
ML=$B/memlens
. "$(dirname "$0")/helpers/tap.sh"
. "$(dirname "$0")/helpers/exporter.sh"
asan=0; case "$B" in *asan*) asan=1 ;; esac
[ "$(id -u)" = 0 ] || { skip "making cgroups needs root"; echo "1..$n"; exit 0; }
V2=$(awk '$9 == "cgroup2" {print $5; exit}' /proc/self/mountinfo)
tmp=$(mktemp -d /tmp/memlens-amp-XXXXXX)
pids=() leaves=() mounts=() fds=()
if [ -z "$V2" ]; then
	mkdir "$tmp/cg2" && mount -t cgroup2 none "$tmp/cg2" 2> /dev/null && V2=$tmp/cg2 && mounts+=("$tmp/cg2")
fi
base=$V2/memlens-amp-$$
cleanup() {
	for fd in "${fds[@]}"; do exec {fd}>&- 2> /dev/null; done
	for p in "${pids[@]}"; do kill -KILL "$p" 2> /dev/null; done
	wait 2> /dev/null
	# deepest first
	find "$base" -depth -type d -exec rmdir {} + 2> /dev/null
	for m in "${mounts[@]}"; do umount "$m" 2> /dev/null; done
	rm -rf "$tmp"
}
trap cleanup EXIT
[ -n "$V2" ] || { skip "no cgroup2 hierarchy and none can be mounted"; echo "1..$n"; exit 0; }

# ---- 200 cgroups, 14 levels of 250 bytes 0x80-0xff each, a sleeper in each ----
name=""
for i in $(seq 250); do name+=$(printf "\\x$(printf %x $((128 + i % 128)))"); done
made=0
for c in $(seq 200); do
	leaf=$base/$c
	for l in $(seq 14); do leaf=$leaf/$name; done
	mkdir -p "$leaf" 2> /dev/null || break
	sleep 1000 & pids+=("$!")
	echo "$!" > "$leaf/cgroup.procs" || break
	made=$((made + 1))
done
is "200 cgroups of $((${#leaf} - ${#base})) bytes' paths, a process in each" 200 "$made"

# ---- the exporter under it ----
exp_start exp --no-dmabuf
http_scrape > "$tmp/s1"; http_scrape > "$tmp/s2"
size=$(wc -c < "$tmp/s2")
cut=$(tr -d '\r' < "$tmp/s2" | awk '$1 == "memlens_label_values_truncated" {print $2}')
longest=$(tr -d '\r' < "$tmp/s2" | grep '^memlens_cgroup_processes{' | awk '{ print length($0) }' | sort -n | tail -1)
is "a scrape answers 200, every long label cut and counted (memlens_label_values_truncated > 0)" "200 1" \
	"$(head -1 "$tmp/s2" | awk '{print $2}') $([ "${cut:-0}" -gt 0 ] && echo 1 || echo 0)"
is "no memlens_cgroup_processes line is longer than its labels' 3 x 256 bytes + 100 (longest: $longest)" 1 \
	"$([ "${longest:-99999}" -le 868 ] && echo 1 || echo 0)"
is "the body is under 2 MiB ($size bytes; was 30.8 MB)" 1 "$([ "$size" -lt $((2 << 20)) ] && echo 1 || echo 0)"
is "a cut label ends with U+2026 on a character boundary (no broken UTF-8 in the body)" 1 \
	"$(tr -d '\r' < "$tmp/s2" | grep -c "^memlens_cgroup_processes{cgroup=\"/memlens-amp-$$/1/\(\\\\\\\\x[89a-f][0-9a-f]\)*"$'\xe2\x80\xa6",' | awk '{print ($1 > 0)}')"
# --top-groups 50: 50 cgroups by PSS and one "(other)" holding the rest
"$ML" snapshot --openmetrics > /dev/null 2>&1
E1=$EXP P1=$PORT
exp_start exp2 --no-dmabuf --top-groups 50
E2=$EXP
http_scrape > "$tmp/s3"
EXP=$E1 PORT=$P1
ncg=$(tr -d '\r' < "$tmp/s3" | grep -c '^memlens_cgroup_processes{')
other=$(tr -d '\r' < "$tmp/s3" | awk -F' ' '/^memlens_cgroup_processes\{cgroup="\(other\)"/ {print $2}')
total=$(tr -d '\r' < "$tmp/s3" | awk '/^memlens_cgroup_processes\{/ {s += $2} END {print s}')
read_n=$(tr -d '\r' < "$tmp/s3" | awk '$1 == "memlens_processes{state=\"read\"}" {print $2}')
is "--top-groups 50: 51 cgroup series, the last \"(other)\" with the rest, the processes summing to every one read" \
	"51 1 $read_n" "$ncg $([ "${other:-0}" -gt 0 ] && echo 1 || echo 0) $total"
kill -TERM "$E2"; wait "$E2" 2> /dev/null

# ---- 50 clients that ask and never read ----
for _ in $(seq 50); do
	exec {fd}<> "/dev/tcp/127.0.0.1/$PORT" || break
	printf 'GET /metrics HTTP/1.0\r\n\r\n' >&$fd
	fds+=("$fd")
done
sleep 3	# their scrapes are answered into full socket buffers
http_scrape > "$tmp/s4"
is "with 50 clients not reading, a scrape is answered 200" 200 "$(head -1 "$tmp/s4" | awk '{print $2}')"
hwm=$(awk '$1 == "VmHWM:" {print $2}' "/proc/$EXP/status")
if [ "$asan" = 1 ]; then
	skip "exporter peak RSS: ASan's shadow and quarantine are not the exporter's memory"
else
	is "exporter peak RSS under 64 MiB with the attack in place (VmHWM $hwm kB; was 1.05 GB)" 1 \
		"$([ "$hwm" -lt 65536 ] && echo 1 || echo 0)"
fi
for fd in "${fds[@]}"; do exec {fd}>&-; done
fds=()
kill -TERM "$EXP"; wait "$EXP"; rc=$?
is "exporter: SIGTERM, exit 0" 0 "$rc"
echo "1..$n"
