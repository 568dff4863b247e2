#!/bin/bash
# contrib/prometheus's rules and contrib/grafana's dashboard, checked for real:
# promtool checks the rules and runs their unit tests (series that should
# and should not fire); then a real Prometheus, loading those rules, scrapes
# a memlens exporter while two static processes sit in a pod's container
# cgroup made here, and every panel's PromQL goes through its query API:
# each must return data, and the container's PSS must be the two processes'
# smaps_rollup Pss summed (read here, not through memlens).
# Usage: tests/dashboard.sh BUILD_DIR    (TAP on stdout)
set -u
B=$(cd "${1:-build}" && pwd)
ML=$B/memlens
T=$(cd "$(dirname "$0")" && pwd)
R=$(cd "$T/.." && pwd)
. "$T/helpers/tap.sh"
tmp=$(mktemp -d /tmp/memlens-dash-XXXXXX); chmod 755 "$tmp"
pids=() dirs=()
cleanup() {
	exec {hold}>&- 2> /dev/null
	for p in "${pids[@]}"; do kill -KILL "$p" 2> /dev/null; done
	wait 2> /dev/null
	for ((i = ${#dirs[@]} - 1; i >= 0; i--)); do rmdir "${dirs[$i]}" 2> /dev/null; done
	rm -rf "$tmp"
}
trap cleanup EXIT
. "$T/helpers/exporter.sh"
RULES=$R/contrib/prometheus/memlens-rules.yml
DASH=$R/contrib/grafana/memlens-dashboard.json

if ! command -v promtool > /dev/null || ! command -v prometheus > /dev/null || ! command -v jq > /dev/null ||
	! command -v curl > /dev/null; then
	skip "no prometheus, promtool, jq or curl here (the guests have none; the host suite runs them)"
	echo "1..$n"; exit 0
fi

# ---- the rules: valid, and their unit tests ----
out=$(promtool check rules "$RULES" 2>&1); ok $? "promtool check rules: $(echo "$out" | tail -1 | sed 's/^ *//')"
out=$(cd "$(dirname "$RULES")" && promtool test rules memlens-rules.test.yml 2>&1)
ok $? "promtool test rules: leaks fire, a spike, slow growth and flat series do not ($(echo "$out" | tail -1 | sed 's/^ *//'))"
[ $? = 0 ] || echo "$out" | sed 's/^/#   /' | head -30

# ---- the dashboard: valid JSON, each panel a query ----
is "dashboard: JSON with panels, unique ids, every panel with a PromQL target" "ok" \
	"$(jq -r '[(.panels | length > 0), (.panels | map(.id) | length == (unique | length)),
		(.panels | all(.targets | length > 0 and all(.expr | length > 0)))] | if all then "ok" else "bad" end' "$DASH")"

# ---- a pod's container: two static processes sharing a file ----
V2=$(awk '$9 == "cgroup2" {print $5; exit}' /proc/self/mountinfo)
ID=$(printf '%064x' $((0x5000 + $$)))
UID_DASH=5d1c9e42-7b3a-4c1d-8e2f-$(printf '%012x' $$)
C=/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod${UID_DASH//-/_}.slice/cri-containerd-$ID.scope
incg=0
if [ -n "$V2" ] && [ -w "$V2" ]; then
	cur=$V2 rest=${C#/}
	while [ -n "$rest" ]; do
		cur=$cur/${rest%%/*}
		[ -d "$cur" ] || { mkdir "$cur" && dirs+=("$cur"); } || break
		[ "$rest" = "${rest#*/}" ] && break
		rest=${rest#*/}
	done
	[ -d "$V2$C" ] && incg=1
fi
dd if=/dev/urandom of="$tmp/obj" bs=4096 count=256 2> /dev/null
mkfifo "$tmp/hold"
"$B/tests/sharer" "$tmp/obj" 256 128 < "$tmp/hold" > "$tmp/sharer.out" &
pids+=("$!")
exec {hold}> "$tmp/hold"
for _ in $(seq 100); do [ "$(wc -l < "$tmp/sharer.out")" -ge 2 ] && break; sleep 0.05; done
sp=$(awk '$1 == "parent" {print $2}' "$tmp/sharer.out"); sc=$(awk '$1 == "child" {print $2}' "$tmp/sharer.out")
pids+=("$sp" "$sc")
if [ $incg = 1 ]; then
	echo "$sp" > "$V2$C/cgroup.procs" && echo "$sc" > "$V2$C/cgroup.procs"
	ok $? "the two processes ($sp $sc) moved into a pod's container cgroup ($C)"
else
	skip "no writable cgroup2 hierarchy here: the container and pod panels have no container to show"
fi

# ---- memlens, and Prometheus loading the rules ----
exp_start dash --top 20
prom_start 19291 "global: { scrape_interval: 1s, scrape_timeout: 1s, evaluation_interval: 1s }
rule_files: [ \"$RULES\" ]
scrape_configs:
  - job_name: memlens
    static_configs: [ { targets: [ \"127.0.0.1:$PORT\" ] } ]"
query() { prom_query "$1"; }
for _ in $(seq 150); do
	[ "$(query 'memlens:node_pss_bytes' | jq -r '.data.result | length' 2> /dev/null)" -ge 1 ] 2> /dev/null &&
		{ [ $incg = 0 ] || [ "$(query 'memlens:container_pss_bytes' | jq -r '.data.result | length')" -ge 1 ]; } && break
	sleep 0.2
done
sleep 3	# a few scrapes: rate() in the exporter's own panel needs two
# every panel's queries, with the dashboard's variables at "All"
dmabufs=$(query 'count(memlens_dmabuf_buffers)' | jq -r '.data.result | length')
while IFS=$'\t' read -r title expr; do
	e=${expr//\$__rate_interval/1m}
	e=${e//\$instance/.+}
	e=${e//\$job/.+}
	res=$(query "$e")
	nres=$(echo "$res" | jq -r 'if .status == "success" then (.data.result | length) else "error: \(.error)" end')
	case "$title" in
	"DMA-BUF by exporter") [ "$dmabufs" = 0 ] && { skip "panel \"$title\": this kernel has no DMA-BUF exporter (no buffer to show)"; continue; } ;;
	"PSS by container"* | "PSS by pod") [ $incg = 0 ] && { skip "panel \"$title\": no container cgroup could be made"; continue; } ;;
	esac
	ok "$([ "$nres" -ge 1 ] 2> /dev/null; echo $?)" "panel \"$title\": $e returns data ($nres series)"
done < <(jq -r '.panels[] | .title as $t | .targets[] | [$t, .expr] | @tsv' "$DASH")
# the container panel against smaps_rollup
if [ $incg = 1 ]; then
	truth=$(awk '$1 == "Pss:" {s += $2} END {printf "%.0f\n", s * 1024}' /proc/$sp/smaps_rollup /proc/$sc/smaps_rollup)
	e=$(jq -r '.panels[] | select(.title | startswith("PSS by container")) | .targets[0].expr' "$DASH")
	got=$(query "${e//\$instance/.+}" | jq -r --arg id "$ID" '.data.result[] | select(.metric.container == $id) | .metric.pod + " " + .value[1]')
	is "panel \"PSS by container\": the test's container, its pod uid, PSS the two processes' smaps_rollup Pss summed" \
		"$UID_DASH $truth" "$got"
fi
exec {hold}>&-
echo "1..$n"
