#!/bin/bash
# The exporter as a fleet runs it (issue 25): the service manager's
# handshake (sd_notify READY=1 and STOPPING=1, read here on a socket the
# test binds, as systemd would), ...
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

echo "1..$n"
