# An exporter on a free loopback port, and HTTP from bash (/dev/tcp), for
# the shell tests that attack it.  Sourced after tap.sh; needs ML and tmp.
# exp_start NAME ARGS...: started in the background; EXP and PORT set, its
# pid added to pids (the test's cleanup kills them); stderr in $tmp/NAME.err
exp_start() {
	local name=$1; shift
	"$ML" exporter --listen 127.0.0.1:0 "$@" 2> "$tmp/$name.err" &
	EXP=$!
	pids+=("$EXP")
	PORT=""
	for _ in $(seq 100); do
		PORT=$(sed -n 's|.*serving http://127.0.0.1:\([0-9]*\)/metrics|\1|p' "$tmp/$name.err")
		[ -n "$PORT" ] && return 0
		kill -0 "$EXP" 2> /dev/null || break
		sleep 0.1
	done
	return 1
}
# http_raw BYTES [SECONDS]: BYTES (printf %b) sent to $PORT, the whole answer printed
http_raw() {
	local fd
	exec {fd}<> "/dev/tcp/127.0.0.1/$PORT" || return 1
	printf '%b' "$1" >&$fd
	timeout "${2:-30}" cat <&$fd
	exec {fd}>&-
}
# http_scrape [SECONDS]: GET /metrics, the whole answer
http_scrape() { http_raw 'GET /metrics HTTP/1.0\r\nHost: localhost\r\n\r\n' "${1:-60}"; }
# prom_start FIRST_PORT YAML: a Prometheus on the first free loopback port
# from FIRST_PORT (a hundred tried) with YAML as its config, its data in
# $tmp; PPORT and PROM (its pid, added to pids) set.  prom_query QUERY: the
# query API's answer; prom_q QUERY: its first value, or "none"
prom_start() {
	local c
	PPORT=""
	for c in $(seq "$1" $(( $1 + 99 ))); do
		ss -ltn 2> /dev/null | awk '{print $4}' | grep -q ":$c\$" || { PPORT=$c; break; }
	done
	printf '%s\n' "$2" > "$tmp/prom.yml"
	prometheus --config.file="$tmp/prom.yml" --storage.tsdb.path="$tmp/tsdb" --web.listen-address="127.0.0.1:$PPORT" \
		> "$tmp/prom.log" 2>&1 &
	PROM=$!
	pids+=("$PROM")
}
prom_query() { curl -s "http://127.0.0.1:$PPORT/api/v1/query" --data-urlencode "query=$1"; }
prom_q() { prom_query "$1" | jq -r '.data.result[0].value[1] // "none"'; }
