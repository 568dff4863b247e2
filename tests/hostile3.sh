#!/bin/bash
# Hostile users, round 3: the small ones.  A query line with terminal
# escapes, too few file descriptors, too little address space for a large
# target, a q-value that is not a number, pipelined requests.  Each answer is
# checked against what the test knows: an escape byte never reaches stderr,
# an error is one line and exit 1, never exit 0 with nothing.
# Usage: tests/hostile3.sh BUILD_DIR    (TAP on stdout)
set -u
trap '' PIPE
B=$(cd "${1:-build}" && pwd)
ML=$B/memlens
. "$(dirname "$0")/helpers/tap.sh"
. "$(dirname "$0")/helpers/exporter.sh"
tmp=$(mktemp -d /tmp/memlens-h3-XXXXXX); chmod 755 "$tmp"
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill -KILL "$p" 2> /dev/null; done
	wait 2> /dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
asan=0; case "$B" in *asan*) asan=1 ;; esac

# ---- a query line is anyone's bytes: escaped in the error ----
printf 'zz\033]0;pwned\007\n' | "$ML" query self > /dev/null 2> "$tmp/err"; rc=$?
is "query: a bad stdin line with terminal escapes: exit 1, the line and the summary" "1 2" "$rc $(wc -l < "$tmp/err")"
is "query: no ESC or BEL byte reaches stderr, the line shown escaped" "0 0 1" \
	"$(tr -dc '\033' < "$tmp/err" | wc -c) $(tr -dc '\007' < "$tmp/err" | wc -c) $(grep -c 'zz\\x1b\]0;pwned\\x07' "$tmp/err")"

# ---- too few file descriptors: a clear error, exit 1, never an empty answer ----
for nofile in 4 5; do
	for cmd in "maps --all" "who-maps --shared" "snapshot"; do
		# shellcheck disable=SC2086
		(ulimit -n "$nofile" && exec "$ML" $cmd) > "$tmp/out" 2> "$tmp/err"; rc=$?
		if [ "$rc" = 0 ]; then
			# it may do with so few: then it answered in full
			is "RLIMIT_NOFILE $nofile: $cmd: exit 0 only with an answer" 1 "$([ -s "$tmp/out" ] && echo 1 || echo 0)"
		else
			is "RLIMIT_NOFILE $nofile: $cmd: exit 1, one line naming the cause (not a permission)" "1 1 1 0" \
				"$rc $(wc -l < "$tmp/err") $(grep -c 'Too many open files' "$tmp/err") $(grep -c 'PTRACE\|permission' "$tmp/err")"
		fi
	done
done

# ---- too little address space for a 60,000-VMA target: ENOMEM said ----
if [ "$asan" = 1 ]; then
	skip "RLIMIT_AS: ASan reserves terabytes of address space for its shadow: the limit cannot be set under it"
else
	mkfifo "$tmp/min"
	"$B/tests/mapper" --vmas 60000 < "$tmp/min" > "$tmp/mout" 2>&1 &
	mp=$!; pids+=("$mp")
	exec 7> "$tmp/min"
	for _ in $(seq 200); do grep -q ready "$tmp/mout" && break; sleep 0.05; done
	nv=$(wc -l < "/proc/$mp/maps")
	for mb in 20 30 40; do
		(ulimit -v $((mb * 1024)) && exec "$ML" maps "$mp") > "$tmp/out" 2> "$tmp/err"; rc=$?
		if [ "$rc" = 0 ]; then
			is "RLIMIT_AS ${mb} MB, $nv VMAs: exit 0 only with every VMA" "$nv" "$(($(wc -l < "$tmp/out") - 1))"
		else
			is "RLIMIT_AS ${mb} MB, $nv VMAs: exit 1, one line saying ENOMEM" "1 1 1" \
				"$rc $(wc -l < "$tmp/err") $(grep -c 'Cannot allocate memory' "$tmp/err")"
		fi
	done
	exec 7>&-
fi

# ---- memlens diff on hostile documents: memory in proportion, totals saturated ----
tiny() { # N: a snapshot document of N rows of the smallest kind
	awk -v n="$1" 'BEGIN { printf "{\"snapshot\": ["; for (i = 1; i <= n; i++) printf "%s{\"pid\":%d,\"comm\":\"\"}", (i > 1 ? "," : ""), i; print "]}" }'
}
peak_kb() { # CMD...: its exit status; its peak RSS (VmHWM, kB) in $PEAK, read until it exits
	local p hwm rc
	"$@" > "$tmp/out" 2> "$tmp/err" &
	p=$!
	PEAK=0
	while hwm=$(awk '$1 == "VmHWM:" {print $2}' "/proc/$p/status" 2> /dev/null) && [ -n "$hwm" ]; do
		PEAK=$hwm
		sleep 0.02
	done
	wait "$p"; rc=$?
	return $rc
}
tiny 1000000 > "$tmp/t1m.json"
sz=$(($(wc -c < "$tmp/t1m.json") / 1024))
peak_kb "$ML" diff "$tmp/t1m.json" "$tmp/t1m.json"; rc=$?
bound=$((8 * 2 * sz + 65536))
if [ "$asan" = 1 ]; then
	is "diff of two ${sz} kB documents of 1,000,000 tiny rows: exit 0 (ASan: its memory is not the program's)" 0 "$rc"
else
	is "diff of two ${sz} kB documents of 1,000,000 tiny rows: exit 0, peak RSS under 8x the text + 64 MiB ($bound kB; was 55x)" \
		"0 1" "$rc $([ "$PEAK" -gt 0 ] && [ "$PEAK" -le "$bound" ] && echo 1 || echo "0 (peak $PEAK kB)")"
fi
tiny 1300000 > "$tmp/t13.json"
"$ML" diff "$tmp/t13.json" "$tmp/t1m.json" > /dev/null 2> "$tmp/err"; rc=$?
is "diff of a document with more rows than a kernel has pids' worth (1,300,000 > 2^20): exit 1, one line" "1 1 1" \
	"$rc $(wc -l < "$tmp/err") $(grep -c 'rows' "$tmp/err")"
rm -f "$tmp/t1m.json" "$tmp/t13.json"
printf '{"snapshot": [{"pid": 1, "comm": "a", "pss": 9223372036854775807, "rss": 9223372036854775807}, {"pid": 2, "comm": "b", "pss": 9223372036854775807}]}' > "$tmp/big.json"
printf '{"snapshot": []}' > "$tmp/none.json"
"$ML" diff "$tmp/none.json" "$tmp/big.json" -J > "$tmp/out" 2> "$tmp/err"; rc=$?
is "diff: two rows of 2^63-1 bytes: the total saturates at 2^63-1, no overflow (UBSan: nothing said)" \
	"0 1 0" "$rc $(grep -c '"pss": 9223372036854775807, "uss"' "$tmp/out") $(grep -c 'runtime error' "$tmp/err")"
"$ML" diff "$tmp/big.json" "$tmp/none.json" -J > "$tmp/out" 2> "$tmp/err"; rc=$?
is "diff: both gone: the total saturates at -2^63" "0 1" "$rc $(grep -c '"pss": -9223372036854775808, "uss"' "$tmp/out")"

# ---- the exporter's HTTP: q-values, pipelining ----
exp_start exp --no-dmabuf --top 1
raw() { http_raw "$1" 10; }
for ae in "gzip;q=nan" "gzip;q=2" "gzip;q=-0" "gzip;q=1e0" "gzip;q=0"; do
	raw "GET /metrics HTTP/1.0\r\nAccept-Encoding: $ae\r\n\r\n" > "$tmp/r" 2> /dev/null
	is "Accept-Encoding: $ae is not gzip (not a q-value, or 0): a plain body" "200 0" \
		"$(head -1 "$tmp/r" | awk '{print $2}') $(tr -d '\r' < "$tmp/r" 2> /dev/null | sed '/^$/q' | grep -ci '^content-encoding: gzip')"
done
for ae in "gzip;q=0.5" "gzip; q=1.000" "gzip"; do
	raw "GET /metrics HTTP/1.0\r\nAccept-Encoding: $ae\r\n\r\n" > "$tmp/r" 2> /dev/null
	is "Accept-Encoding: $ae is gzip" 1 "$(tr -d '\r' < "$tmp/r" 2> /dev/null | sed '/^$/q' | grep -ci '^content-encoding: gzip')"
done
# two requests in one write: both answered, or the first says Connection: close
# (two scrapes: the second waits behind the first, suspended)
raw "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\nGET /metrics HTTP/1.1\r\nHost: x\r\n\r\n" > "$tmp/r" 2> /dev/null
answers=$(grep -ac '^HTTP/1.1 200' "$tmp/r")
closes=$(tr -d '\r' < "$tmp/r" 2> /dev/null | sed '/^$/q' | grep -aci '^connection: close')
is "pipelined scrapes: every one answered, or the first answered with Connection: close" 1 \
	"$({ [ "$answers" = 2 ] || { [ "$answers" = 1 ] && [ "$closes" = 1 ]; }; } && echo 1 || echo 0)"
# connection slots: nobody opens every connection it can (the exporter's
# limit, 256) and trickles one byte of a request into each; a scrape by
# someone else is still answered
if [ "$(id -u)" = 0 ] && command -v setpriv > /dev/null; then
	setpriv --reuid=nobody --regid=nogroup --clear-groups bash -c '
		fds=()
		for i in $(seq 256); do exec {fd}<> /dev/tcp/127.0.0.1/'"$PORT"' 2> /dev/null && fds+=($fd) && printf G >&$fd 2> /dev/null; done
		echo opened > '"$tmp"'/trickle
		for r in $(seq 6); do sleep 10; for fd in "${fds[@]}"; do printf E >&$fd 2> /dev/null; done; done' &
	trickler=$!; pids+=("$trickler")
	for _ in $(seq 100); do [ -s "$tmp/trickle" ] && break; sleep 0.1; done
	raw "GET /metrics HTTP/1.0\r\n\r\n" > "$tmp/r" 2> /dev/null
	is "with one local user holding every connection it can, another's scrape is answered 200" 200 \
		"$(head -1 "$tmp/r" | awk '{print $2}')"
	# (connections still in the listen backlog look established to their
	# client until the exporter accepts them and shuts the ninth and on)
	for _ in $(seq 100); do
		held=$(awk -v p="$(printf ':%04X' "$PORT")" '$3 ~ p"$" && $4 == "01" {n++} END {print n + 0}' /proc/net/tcp)
		[ "$held" -le 8 ] && break
		sleep 0.1
	done
	is "the trickling user holds at most 8 open connections to it, once all are accepted ($held)" 1 \
		"$([ "$held" -le 8 ] && echo 1 || echo 0)"
	kill "$trickler" 2> /dev/null
else
	skip "connection slots: needs root and setpriv to be another user"
fi
kill -TERM "$EXP"; wait "$EXP"

# ---- the exporter as a window past hidepid ----
# on a unix socket: its mode and group decide who reads the metrics
"$ML" exporter --listen "unix:$tmp/m.sock" --socket-mode 0660 --socket-group nogroup --no-dmabuf 2> "$tmp/u.err" &
U=$!; pids+=("$U")
for _ in $(seq 100); do grep -q serving "$tmp/u.err" && break; sleep 0.1; done
is "--listen unix:PATH: a socket, mode 660, group nogroup" "socket 660 nogroup" \
	"$(stat -c '%F %a %G' "$tmp/m.sock" 2> /dev/null | sed 's/^socket /socket /')"
if command -v curl > /dev/null && command -v setpriv > /dev/null; then
	code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 30 --unix-socket "$tmp/m.sock" http://localhost/metrics)
	is "root scrapes it over the socket: 200" 200 "$code"
	code=$(setpriv --reuid=nobody --regid=nogroup --clear-groups curl -s -o /dev/null -w '%{http_code}' --max-time 30 \
		--unix-socket "$tmp/m.sock" http://localhost/metrics)
	is "a member of its group scrapes it: 200" 200 "$code"
	code=$(setpriv --reuid=nobody --regid=daemon --clear-groups curl -s -o /dev/null -w '%{http_code}' --max-time 30 \
		--unix-socket "$tmp/m.sock" http://localhost/metrics)
	is "anyone else cannot connect (curl says 000)" 000 "$code"
else
	skip "scraping a unix socket needs curl and setpriv, not here"
fi
kill -TERM "$U"; wait "$U"
is "the socket is removed on exit" 0 "$([ -e "$tmp/m.sock" ] && echo 1 || echo 0)"
touch "$tmp/plain"
"$ML" exporter --listen "unix:$tmp/plain" > /dev/null 2> "$tmp/err"; rc=$?
is "--listen unix: onto a file that is not a socket: refused, exit 1, the file kept" "1 1 1" \
	"$rc $(wc -l < "$tmp/err") $([ -f "$tmp/plain" ] && echo 1 || echo 0)"
"$ML" exporter --socket-mode 0660 > /dev/null 2> "$tmp/err"; rc=$?
is "--socket-mode without a unix socket: exit 2, one line" "2 1" "$rc $(wc -l < "$tmp/err")"
# on TCP with /proc mounted hidepid (a proc of its own in a mount namespace
# of its own): a warning at start
if [ "$(id -u)" = 0 ] && command -v unshare > /dev/null; then
	unshare -m sh -c "mount --make-rprivate / 2> /dev/null; mount -t proc -o hidepid=invisible proc /proc && \
		exec '$ML' exporter --listen 127.0.0.1:0 --no-dmabuf" 2> "$tmp/h.err" &
	H=$!; pids+=("$H")
	for _ in $(seq 100); do grep -q serving "$tmp/h.err" && break; kill -0 "$H" 2> /dev/null || break; sleep 0.1; done
	is "on TCP with /proc hidepid: a warning at start that the exporter shows what /proc hides" 1 \
		"$(grep -c 'WARNING: /proc is mounted with hidepid' "$tmp/h.err")"
	kill -TERM "$H" 2> /dev/null; wait "$H" 2> /dev/null
	grep -c 'WARNING' "$tmp/exp.err" > "$tmp/w"
	is "without hidepid, no warning" 0 "$(cat "$tmp/w")"
else
	skip "hidepid warning: needs root and unshare for a proc mount of its own"
fi
echo "1..$n"
