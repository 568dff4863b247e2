#!/bin/bash
# The exporter as a fleet runs it (issue 25): the service manager's
# handshake (sd_notify READY=1 and STOPPING=1, read here on a socket the
# test binds, as systemd would), and a scrape's cost bounded by its timeout
# against a process whose smaps_rollup walk is slow (tests/helpers/bigpt.c:
# 64 GiB of page-table entries with little RAM behind them), TLS and basic
# auth from an exporter-toolkit web config (curl with right and wrong
# credentials and certificates, a real Prometheus over HTTPS, configs that
# must be refused before any listener).
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
# the QEMU guests have neither (busybox, bash and jq only): the host suite runs this
if ! command -v curl > /dev/null || ! command -v python3 > /dev/null || [ ! -f "$T/helpers/notify_listen.py" ]; then
	skip "no curl or python3 here (the guests have neither; the host suite runs these)"
	echo "1..$n"; exit 0
fi

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
exp_start budget --pss-max-rss 0 --per-process
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
# large: above half its rss (64 GiB where the kernel allocates on read faults,
# a few hundred kB where it maps the zero page: the threshold follows it)
big=$(( rss_truth / 2 ))
exp_start large --pss-max-rss "$big" --pss-interval 60 --per-process
timed_scrape l1 10
is "--pss-max-rss $big (half its rss): the first scrape walks the large process (age 0)" "0.000" \
	"$(metric memlens_process_pss_age_seconds $BP "$tmp/l1")"
near "... its pss is smaps_rollup's" "$(mem $BP pss "$tmp/l1")" "$pss_truth"
timed_scrape l2 10
a=$(metric memlens_process_pss_age_seconds $BP "$tmp/l2")
ok "$(awk -v a="$a" -v t="$(cat "$tmp/l2.t")" -v r="$tr" 'BEGIN {exit !(a > 0 && t < r)}'; echo $?)" \
	"... the next serves that read (age $a s), in $(cat "$tmp/l2.t") s: less than the walk ($tr s)"
is "... with its figures, its rss fresh; counted cached" "$(mem $BP pss "$tmp/l1") $rss_truth 1" \
	"$(mem $BP pss "$tmp/l2") $(mem $BP rss "$tmp/l2") $([ "$(state cached "$tmp/l2")" -ge 1 ] && echo 1)"
kill -TERM "$EXP"; wait "$EXP"
exp_start large2 --pss-max-rss "$big" --pss-interval 0.3 --per-process
timed_scrape l3 10; sleep 0.5; timed_scrape l4 10
is "--pss-interval 0.3: read again once it has passed (age 0)" "0.000" "$(metric memlens_process_pss_age_seconds $BP "$tmp/l4")"
kill -TERM "$EXP"; wait "$EXP"
kill -KILL $BP; wait $BP 2> /dev/null
for bad in "--pss-max-rss x" "--pss-max-rss -1" "--pss-max-rss 1Q" "--scrape-timeout 0" "--scrape-timeout x" "--pss-interval -1"; do
	# shellcheck disable=SC2086
	"$ML" exporter $bad > /dev/null 2> "$tmp/err"; rc=$?
	is "exporter $bad: exit 2, one line" "2 1" "$rc $(wc -l < "$tmp/err")"
done

# ---- TLS and basic auth: --web.config.file ----
if command -v openssl > /dev/null && command -v curl > /dev/null && [ -x /usr/bin/python3 ]; then
	c=$tmp/tls; mkdir "$c"
	k="-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes"
	# shellcheck disable=SC2086
	{
		openssl req -x509 $k -keyout "$c/ca.key" -out "$c/ca.crt" -days 2 -subj /CN=memlens-test-ca
		openssl req $k -keyout "$c/srv.key" -out "$c/srv.csr" -subj /CN=127.0.0.1
		printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\n' > "$c/san"
		openssl x509 -req -in "$c/srv.csr" -CA "$c/ca.crt" -CAkey "$c/ca.key" -CAcreateserial -out "$c/srv.crt" \
			-days 2 -extfile "$c/san"
		openssl req $k -keyout "$c/cli.key" -out "$c/cli.csr" -subj /CN=prometheus
		openssl x509 -req -in "$c/cli.csr" -CA "$c/ca.crt" -CAkey "$c/ca.key" -CAcreateserial -out "$c/cli.crt" -days 2
		# the same name, signed by nobody the exporter trusts
		openssl req -x509 $k -keyout "$c/evil.key" -out "$c/evil.crt" -days 2 -subj /CN=prometheus
	} > /dev/null 2>&1
	hash=$(/usr/bin/python3 -W ignore -c 'import crypt; print(crypt.crypt("s3cret", crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=1 << 6)))')
	web() { # FILE CLIENT_AUTH_LINE: a config with the server's certificate and one user
		printf 'tls_server_config:\n  cert_file: srv.crt\n  key_file: srv.key\n  client_ca_file: ca.crt\n%s\nbasic_auth_users:\n  prometheus: %s\n' \
			"$2" "$hash" > "$c/$1"
		chmod 600 "$c/$1"
	}
	web web.yml ""
	"$ML" exporter --listen 127.0.0.1:0 --web.config.file "$c/web.yml" 2> "$tmp/tls.err" &
	E=$!; pids+=("$E")
	wait_line "$tmp/tls.err" serving
	PORT=$(sed -n 's|.*serving https://127.0.0.1:\([0-9]*\)/metrics (basic auth)|\1|p' "$tmp/tls.err")
	get() { curl -s -o "$tmp/tls.body" -D "$tmp/tls.hdr" -w '%{http_code}' --max-time 30 --cacert "$c/ca.crt" "$@" "https://127.0.0.1:$PORT/metrics"; }
	is "TLS, client certificate, basic auth: 200 and the metrics" "200 1" \
		"$(get -u prometheus:s3cret --cert "$c/cli.crt" --key "$c/cli.key") $(grep -c '^memlens_build_info{' "$tmp/tls.body")"
	is "... a wrong password: 401 with a Basic challenge, no metrics" "401 1 0" \
		"$(get -u prometheus:wrong --cert "$c/cli.crt" --key "$c/cli.key") $(grep -ci '^WWW-Authenticate: Basic' "$tmp/tls.hdr") $(grep -c '^memlens_' "$tmp/tls.body")"
	is "... no password: 401" 401 "$(get --cert "$c/cli.crt" --key "$c/cli.key")"
	is "... an unknown user with the right password: 401" 401 "$(get -u nobody:s3cret --cert "$c/cli.crt" --key "$c/cli.key")"
	is "... a client certificate the CA did not sign: refused (no HTTP answer)" 000 \
		"$(get -u prometheus:s3cret --cert "$c/evil.crt" --key "$c/evil.key")"
	is "... no client certificate: refused" 000 "$(get -u prometheus:s3cret)"
	is "... plain HTTP to the TLS port: no HTTP answer" 000 \
		"$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 "http://127.0.0.1:$PORT/metrics")"
	is "... and then the exporter still serves the right client" 200 \
		"$(get -u prometheus:s3cret --cert "$c/cli.crt" --key "$c/cli.key")"
	# a real Prometheus, over HTTPS with its client certificate and basic auth
	if command -v prometheus > /dev/null && command -v jq > /dev/null; then
		prom_start 19191 "global: { scrape_interval: 1s, scrape_timeout: 1s }
scrape_configs:
  - job_name: memlens
    scheme: https
    tls_config: { ca_file: $c/ca.crt, cert_file: $c/cli.crt, key_file: $c/cli.key }
    basic_auth: { username: prometheus, password: s3cret }
    static_configs: [ { targets: [ \"127.0.0.1:$PORT\" ] } ]"
		prom=$PROM
		q() { prom_q "$1"; }
		got=none
		for _ in $(seq 150); do
			got=$(q 'memlens_system_memory_bytes{memtype="total"}' 2> /dev/null)
			[ "$got" != none ] && [ -n "$got" ] && break
			sleep 0.2
		done
		is "Prometheus over HTTPS with a client certificate and basic auth: up, MemTotal from /proc/meminfo" \
			"1 $(awk '$1 == "MemTotal:" {printf "%.0f\n", $2 * 1024}' /proc/meminfo)" \
			"$(q 'max_over_time(up{job="memlens"}[1m])') $got"
		kill "$prom"; wait "$prom" 2> /dev/null
	else
		skip "no prometheus or jq here (the guests have none; the host suite runs them)"
	fi
	kill -TERM "$E"; wait "$E"
	# VerifyClientCertIfGiven: no certificate is fine, a bad one is not
	web opt.yml "  client_auth_type: VerifyClientCertIfGiven"
	"$ML" exporter --listen 127.0.0.1:0 --web.config.file "$c/opt.yml" 2> "$tmp/tls.err" &
	E=$!; pids+=("$E")
	wait_line "$tmp/tls.err" serving
	PORT=$(sed -n 's|.*serving https://127.0.0.1:\([0-9]*\)/metrics.*|\1|p' "$tmp/tls.err")
	is "VerifyClientCertIfGiven: no certificate 200, the CA's 200, another's refused" "200 200 000" \
		"$(get -u prometheus:s3cret) $(get -u prometheus:s3cret --cert "$c/cli.crt" --key "$c/cli.key") $(get -u prometheus:s3cret --cert "$c/evil.crt" --key "$c/evil.key")"
	kill -TERM "$E"; wait "$E"
	# configs refused at start: one line, exit 1, and no listener (the socket file is never made)
	printf 'tls_server_config: [\n' > "$c/bad1.yml"
	printf 'basic_auth_users:\n  prometheus: s3cret\n' > "$c/bad2.yml"
	printf 'basic_auth_users:\n  prometheus: "%s"\nbasic_auth_user:\n  x: y\n' "$hash" > "$c/bad3.yml"
	printf 'tls_server_config:\n  cert_file: srv.crt\n  key_file: missing.key\n' > "$c/bad4.yml"
	printf 'tls_server_config:\n  cert_file: srv.crt\n  key_file: srv.key\n  client_auth_type: Sometimes\n  client_ca_file: ca.crt\n' > "$c/bad5.yml"
	printf 'basic_auth_users:\n  prometheus: %s\n' "${hash%?}" > "$c/bad6.yml"
	printf 'basic_auth_users:\n  prometheus: %s\n' "$hash" > "$c/ww.yml"
	chmod 600 "$c"/bad*.yml; chmod 666 "$c/ww.yml"
	for f in bad1.yml:"not YAML" bad2.yml:"a password, not its hash" bad3.yml:"a misspelt key" bad4.yml:"a key file that is not there" \
		bad5.yml:"an unknown client_auth_type" bad6.yml:"a truncated hash" ww.yml:"writable by everyone" missing.yml:"no such file" \
		.:"a directory"; do
		rm -f "$tmp/s.sock"
		# (a config wrongly accepted would serve forever: bounded, so it fails instead of hanging)
		timeout 20 "$ML" exporter --listen "unix:$tmp/s.sock" --web.config.file "$c/${f%%:*}" > /dev/null 2> "$tmp/err"; rc=$?
		is "--web.config.file with ${f#*:}: exit 1, one line, no listener" "1 1 no" \
			"$rc $(wc -l < "$tmp/err") $([ -e "$tmp/s.sock" ] && echo yes || echo no)"
	done
	"$ML" exporter --textfile "$tmp" --once --web.config.file "$c/web.yml" > /dev/null 2> "$tmp/err"; rc=$?
	is "--web.config.file with --textfile: a usage error" "2 1" "$rc $(wc -l < "$tmp/err")"
else
	skip "no openssl, curl or /usr/bin/python3 (crypt) here: TLS and basic auth untested"
fi

echo "1..$n"
