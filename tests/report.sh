#!/bin/bash
# memlens report --html and the exporter's live page, against ground truth
# and in a real browser.  A helper (tests/helpers/leaker.c hold) names itself
# `<img src=x onerror=alert(1)>` and maps a memfd and a file of that name
# beside its own anonymous memory: its leaves are checked against its smaps
# read here with awk, its name must stay text.  The page's data block is read
# with jq everywhere (the guests too: with a DMA-BUF exporter, the buffers'
# holders against /proc's fds and maps); where Debian's headless Chromium is
# installed (tests/helpers/browser.py, over the DevTools protocol) the pages
# are loaded and checked as a user sees them: totals, no dialog, no console
# error, no request, a screenshot that is not blank.
# Usage: tests/report.sh BUILD_DIR    (TAP on stdout)
set -u
B=$(cd "${1:-build}" && pwd)
ML=$B/memlens
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/helpers/tap.sh"
. "$HERE/helpers/exporter.sh"
tmp=$(mktemp -d /tmp/memlens-report-XXXXXX); chmod 755 "$tmp"
pids=()
cleanup() {
	for p in "${pids[@]}"; do { kill -KILL "$p"; wait "$p"; } 2> /dev/null; done
	rm -rf "$tmp"
}
trap cleanup EXIT
HOSTILE='<img src=x onerror=alert(1)>'
MIB=$((1 << 20))

# the data block of a page, as JSON (jq undoes the \u003c escapes)
data_of() { sed -n 's|.*<script type="application/json" id="memlens-data">\(.*\)</script>.*|\1|p' "$1"; }
# Pss of a process, bytes, summed from its smaps here (not through memlens)
smaps_pss() { awk '/^Pss:/ {s += $2} END {print s * 1024}' "/proc/$1/smaps"; }
# ... and from its smaps_rollup (the kernel sums the exact shares, then rounds: a
# shared page can make it differ from the per-mapping kB summed)
rollup_pss() { awk '/^Pss:/ {print $2 * 1024}' "/proc/$1/smaps_rollup"; }

# ---- the hostile helper: anon, a memfd and a file, each of one MiB ----
head -c $MIB /dev/urandom > "$tmp/$HOSTILE.dat"
"$B/tests/leaker" hold "$HOSTILE" 1024 "$tmp/$HOSTILE.dat" > "$tmp/h.out" 2>&1 & H=$!; pids+=($H)
for _ in $(seq 100); do grep -q ready "$tmp/h.out" && break; sleep 0.1; done
# and one whose names would end the page's data block
CLOSE='</script><svg onload=alert(2)>'
# (a copy: the two share no text page, each one's PSS is its own)
cp "$B/tests/leaker" "$tmp/leaker2"
"$tmp/leaker2" hold "$CLOSE" 64 > "$tmp/c.out" 2>&1 & C=$!; pids+=($C)
for _ in $(seq 100); do grep -q ready "$tmp/h.out" && grep -q ready "$tmp/c.out" && break; sleep 0.1; done
is "the helpers are ready, their comms the names' first 15 bytes" "ready ${HOSTILE:0:15} ready ${CLOSE:0:15}" \
	"$(cat "$tmp/h.out") $(cat /proc/$H/comm) $(cat "$tmp/c.out") $(cat /proc/$C/comm)"

# ---- a live report: its data against the helper's smaps ----
"$ML" report --html "$tmp/live.html" 2> "$tmp/err"; rc=$?
is "report --html (live): exit 0, nothing on stderr" "0 " "$rc $(cat "$tmp/err")"
data_of "$tmp/live.html" > "$tmp/live.json"
is "the page's data block is JSON with its processes" "object yes" \
	"$(jq -r type "$tmp/live.json") $(jq -r 'if (.procs | length) > 0 then "yes" else "no" end' "$tmp/live.json")"
is "no '<img' nor '<svg' anywhere in the page's text: the names are escaped in its data (\\u003c)" 0 \
	"$(grep -c '<img\|<svg' "$tmp/live.html")"
hp() { jq -c --argjson p $H "$1" "$tmp/live.json"; }
is "the helper's row: its comm as the kernel keeps it" "\"${HOSTILE:0:15}\"" "$(hp '.procs[] | select(.[0] == $p) | .[1]')"
is "its memfd: one shmem leaf of 1 MiB, named as its maps line names it" \
	"[2,\"/memfd:$HOSTILE (deleted)\",$MIB]" "$(hp '.procs[] | select(.[0] == $p) | .[5][] | select(.[0] == 2)')"
is "its file: one file leaf of 1 MiB, named by its path" "[1,\"$tmp/$HOSTILE.dat\",$MIB]" \
	"$(hp '.procs[] | select(.[0] == $p) | .[5][] | select(.[1] | endswith(".dat"))')"
is "its anonymous memory: a leaf of at least 1 MiB" yes \
	"$(hp '[.procs[] | select(.[0] == $p) | .[5][] | select(.[0] == 0) | .[2]] | if max >= 1048576 then "yes" else . end' | tr -d '"')"
is "its PSS is its leaves summed, and its smaps' Pss read here" "$(smaps_pss $H) $(smaps_pss $H)" \
	"$(hp '.procs[] | select(.[0] == $p) | "\(.[3]) \([.[5][] | .[2]] | add)"' | tr -d '"')"
is "memlens itself is not in the report" 0 "$(jq '[.procs[] | select(.[1] == "memlens")] | length' "$tmp/live.json")"

# ---- from a snapshot document: the same totals ----
"$ML" snapshot -J -o +CGROUP > "$tmp/s.json" 2> /dev/null
"$ML" report --html "$tmp/doc.html" "$tmp/s.json"; rc=$?
data_of "$tmp/doc.html" > "$tmp/doc.json"
is "report --html FILE from snapshot -J: exit 0; its processes, PSS and DMA-BUF PSS summed are the document's" \
	"0 $(jq -r '"\(.snapshot | length) \(.summary.total.pss) \(.summary.total.dmabuf_pss)"' "$tmp/s.json")" \
	"$rc $(jq -r '"\(.procs | length) \([.procs[][3]] | add) \([.procs[][4]] | add)"' "$tmp/doc.json")"
is "... each process's cgroup as the document has it (none where it has null)" \
	"$(jq -r '.snapshot[] | "\(.pid) \(.cgroup // "")"' "$tmp/s.json" | sort)" "$(jq -r '.procs[] | "\(.[0]) \(.[2])"' "$tmp/doc.json" | sort)"

# ---- from a stream: the top growers ----
"$B/tests/leaker" leak 2048 > "$tmp/l.out" & L=$!; pids+=($L)
for _ in $(seq 100); do grep -q ready "$tmp/l.out" && break; sleep 0.1; done
"$ML" snapshot --pid $L,$H --no-dmabuf -J -w 1 --count 3 > "$tmp/stream.json" 2> /dev/null
"$ML" report --html "$tmp/stream.html" "$tmp/stream.json"; rc=$?
data_of "$tmp/stream.html" > "$tmp/stream.data"
is "report from a stream: exit 0, the growth's times are the documents' uptimes" \
	"0 $(jq -s -c '[.[].summary.uptime]' "$tmp/stream.json")" "$rc $(jq -c .growth.times "$tmp/stream.data")"
is "... the leaker is the top grower, its PSS in each document as the documents say" \
	"$L $(jq -s -c --argjson p $L '[.[].snapshot[] | select(.pid == $p) | .pss]' "$tmp/stream.json")" \
	"$(jq -r '.growth.series[0] | "\(.[0]) \(.[2] | tostring)"' "$tmp/stream.data")"
# (the leaker shares the helper's static text: gone, the helper's PSS is its own again)
{ kill -KILL $L; wait $L; } 2> /dev/null

# ---- DMA-BUF buffers and their holders, where the kernel exports them ----
DB_NAME=mlrep-$$
"$B/tests/dmabuf_holder" --fork "$DB_NAME" 3 5 > "$tmp/holder" 2>&1 & D=$!; pids+=($D)
for _ in $(seq 100); do grep -q ready "$tmp/holder" && break; kill -0 $D 2> /dev/null || break; sleep 0.1; done
grep -q ready "$tmp/holder" || { wait $D; echo "exit $?" >> "$tmp/holder"; }
if grep -q ready "$tmp/holder"; then
	# shellcheck disable=SC2207
	DP=($(awk '$1 == "pid" {print $2}' "$tmp/holder")); pids+=("${DP[@]}")
	"$ML" report --html "$tmp/db.html"; data_of "$tmp/db.html" > "$tmp/db.json"
	# ground truth: each holder's fds on each buffer inode and its mappings of it, from /proc
	want="" got=""
	for ino in $(jq -r --arg n "$DB_NAME" '.dmabuf[] | select(.[3] == $n) | .[0]' "$tmp/db.json" | sort -n); do
		for p in $(printf '%s\n' "${DP[@]}" | sort -n); do
			fds=0
			for f in /proc/$p/fd/*; do [ "$(stat -L -c %i "$f" 2> /dev/null)" = "$ino" ] && fds=$((fds + 1)); done
			want+="$ino $p $fds $(awk -v i="$ino" '$5 == i' /proc/$p/maps | wc -l);"
		done
		got+=$(jq -r --argjson i "$ino" '.dmabuf[] | select(.[0] == $i) | .[5] | sort_by(.[0])[] | "\(.[0]) \(.[2]) \(.[3])"' "$tmp/db.json" |
			sed "s/^/$ino /" | tr '\n' ';')
	done
	is "DMA-BUF: the two buffers named $DB_NAME, each held by parent and child with the fds and mappings /proc shows" \
		"$want" "$got"
	is "... their sizes, 3 and 5 pages" "$((3 * 4096)) $((5 * 4096))" \
		"$(jq -r --arg n "$DB_NAME" '[.dmabuf[] | select(.[3] == $n) | .[1]] | sort | map(tostring) | join(" ")' "$tmp/db.json")"
	is "... and each holder's DMA-BUF leaf is its share of them (size / holders)" "$(( (3 + 5) * 4096 / 2 ))" \
		"$(jq -r --argjson p "${DP[0]}" '.procs[] | select(.[0] == $p) | .[4]' "$tmp/db.json")"
else
	skip "DMA-BUF holders in the report: no DMA-BUF exporter in this kernel (dmabuf_holder: $(tr '\n' ' ' < "$tmp/holder"))"
fi

# ---- what is refused: one line, nothing written ----
"$ML" report > /dev/null 2> "$tmp/err"; rc=$?
is "report without --html: exit 2, one line" "2 1" "$rc $(wc -l < "$tmp/err")"
"$ML" report --html "$tmp/x.html" --top-maps x > /dev/null 2> "$tmp/err"; rc=$?
is "report --top-maps x: exit 2, one line, no file" "2 1 no" "$rc $(wc -l < "$tmp/err") $([ -e "$tmp/x.html" ] && echo yes || echo no)"
echo '{"snapshot": [{"pid": "x"}]}' > "$tmp/bad.json"
"$ML" report --html "$tmp/x.html" "$tmp/bad.json" > /dev/null 2> "$tmp/err"; rc=$?
is "report of a document that is not a snapshot: exit 1, one line, no file" "1 1 no" \
	"$rc $(wc -l < "$tmp/err") $([ -e "$tmp/x.html" ] && echo yes || echo no)"

# ---- in a real browser ----
if [ ! -x /usr/bin/python3 ] || ! /usr/bin/python3 -c 'import websocket' 2> /dev/null || ! command -v chromium-headless-shell > /dev/null; then
	# the guests carry neither Python nor a browser; the host's CI installs both (scripts/deps.sh)
	if [ -e /memlens/build/memlens ]; then
		skip "the pages in a browser: a guest has no Chromium (the host suite loads them)"
		echo "1..$n"; exit 0
	fi
	ok 1 "Chromium (chromium-headless-shell) and python3-websocket are installed: scripts/deps.sh --test installs them"
	echo "1..$n"; exit 0
fi

# ---- 2,000 processes: a page under 2 MB (the host's: 2,000 processes in a TCG guest take minutes) ----
SL=mlsleep$$
cp "$(command -v sleep)" "$tmp/$SL"
for _ in $(seq 2000); do "$tmp/$SL" 600 & pids+=($!); done
"$ML" report --html "$tmp/2k.html" --comm "$SL"; rc=$?
is "report --comm of 2,000 processes: exit 0, 2,000 processes in the page" "0 2000" \
	"$rc $(data_of "$tmp/2k.html" | jq '.procs | length')"
sz=$(stat -c %s "$tmp/2k.html")
ok "$([ "$sz" -lt 2000000 ]; echo $?)" "... the page is under 2 MB: $sz bytes"
for p in "${pids[@]:$((${#pids[@]} - 2000))}"; do { kill -KILL "$p"; wait "$p"; } 2> /dev/null; done

BR="/usr/bin/python3 $HERE/helpers/browser.py"
# facts FILE: the browser's answer's verdicts, one line
clean() { jq -r '"\(.error) \(.console | length) \(.dialogs | length) \(.requests | length)"' "$1"; }
$BR "file://$tmp/doc.html" "$tmp/doc.png" \
	'JSON.stringify(["total-procs", "total-pss", "total-dmabuf"].map(i => document.getElementById(i).dataset.value).concat([document.getElementById("treemap").dataset.total, document.body.dataset.rendered]))' \
	> "$tmp/b1.json"
is "the document's page in Chromium: loaded, no console error, no dialog, no request" "null 0 0 0" "$(clean "$tmp/b1.json")"
is "... its totals (processes, PSS, DMA-BUF PSS; the treemap's, both) are snapshot -J's" \
	"$(jq -r '"\(.snapshot | length) \(.summary.total.pss) \(.summary.total.dmabuf_pss) \(.summary.total.pss + .summary.total.dmabuf_pss) yes"' "$tmp/s.json")" \
	"$(jq -r '.value | fromjson | join(" ")' "$tmp/b1.json")"
ok "$(jq -e '.shot.not_white > .shot.width * .shot.height / 5 and .shot.colours >= 4' "$tmp/b1.json" > /dev/null; echo $?)" \
	"... its screenshot is not blank ($(jq -c '.shot | {not_white, colours}' "$tmp/b1.json"))"
# the helpers alone (--pid): their boxes large enough to draw on any machine
"$ML" report --html "$tmp/two.html" --pid $H,$C
is "report --pid H,C: those two processes only" "$(printf '%s\n' $H $C | sort -n | tr '\n' ' ')" \
	"$(data_of "$tmp/two.html" | jq -r '.procs[][0]' | sort -n | tr '\n' ' ')"
$BR "file://$tmp/two.html" "$tmp/live.png" \
	"JSON.stringify({imgs: document.querySelectorAll('img').length,
		named: [...document.querySelectorAll('#treemap div')].filter(d => d.title.includes('$HOSTILE')).length,
		text: document.body.innerText.includes('$HOSTILE'),
		close: [...document.querySelectorAll('#treemap div')].filter(d => d.title.includes('$CLOSE')).length,
		svgs: document.querySelectorAll('#treemap svg, body > svg:not(#growth)').length,
		proc: (document.querySelector('#treemap div.proc[data-pid=\"$H\"]') || {dataset: {}}).dataset.bytes})" > "$tmp/b2.json"
is "the report of the two in Chromium: loaded, no console error, no dialog, no request (the name ran nothing)" \
	"null 0 0 0" "$(clean "$tmp/b2.json")"
is "... no <img> or <svg> element; the names are text: the memfd's and the file's boxes say them, and the page shows them" \
	"0 0 2 true 1" "$(jq -r '.value | fromjson | "\(.imgs) \(.svgs) \(.named) \(.text) \(.close)"' "$tmp/b2.json")"
is "... the helper's box is its PSS from its smaps" "$(smaps_pss $H)" "$(jq -r '.value | fromjson | .proc' "$tmp/b2.json")"
ok "$(jq -e '.shot.kinds | index("anon") and index("file")' "$tmp/b2.json" > /dev/null; echo $?)" \
	"... its screenshot shows the treemap's anon and file colours, each over 2,000 pixels ($(jq -c '.shot | {not_white, colours, kinds}' "$tmp/b2.json"))"
$BR "file://$tmp/stream.html" "$tmp/stream.png" \
	'document.querySelector("#growers tr td").textContent' > "$tmp/b3.json"
is "the stream's page: loaded cleanly, the leaker first among the growers" "null 0 0 0 leaker ($L)" \
	"$(clean "$tmp/b3.json") $(jq -r .value "$tmp/b3.json")"

# ---- the exporter's live page: TLS and basic auth as /metrics ----
c=$tmp/tls; mkdir "$c"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$c/srv.key" -out "$c/srv.crt" -days 2 \
	-subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 > /dev/null 2>&1
hash=$(/usr/bin/python3 -W ignore -c 'import crypt; print(crypt.crypt("s3cret", crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=1 << 6)))')
printf 'tls_server_config:\n  cert_file: srv.crt\n  key_file: srv.key\nbasic_auth_users:\n  viewer: %s\n' "$hash" > "$c/web.yml"
chmod 600 "$c/web.yml"
"$ML" exporter --listen 127.0.0.1:0 --web.config.file "$c/web.yml" 2> "$tmp/exp.err" & E=$!; pids+=($E)
PORT=""
for _ in $(seq 100); do
	PORT=$(sed -n 's|.*serving https://127.0.0.1:\([0-9]*\)/metrics.*|\1|p' "$tmp/exp.err"); [ -n "$PORT" ] && break; sleep 0.1
done
get() { curl -s -o "$tmp/page" -w '%{http_code}' --max-time 30 --cacert "$c/srv.crt" "$@"; }
is "live page: no password, 401; a wrong one, 401; plain HTTP to the TLS port, no answer" "401 401 000" \
	"$(get "https://127.0.0.1:$PORT/") $(get -u viewer:wrong "https://127.0.0.1:$PORT/") $(get "http://127.0.0.1:$PORT/")"
is "... with the password: 200, text/html, the report's page" "200 1" \
	"$(get -u viewer:s3cret "https://127.0.0.1:$PORT/") $(grep -c 'id="memlens-data"' "$tmp/page")"
coll() { get -u viewer:s3cret "https://127.0.0.1:$PORT/metrics" > /dev/null; awk '$1 == "memlens_collections_total" {print $2}' "$tmp/page"; }
c0=$(coll)
s0=$(rollup_pss $H)
$BR "https://127.0.0.1:$PORT/" "$tmp/exp.png" \
	"JSON.stringify({procs: document.getElementById('total-procs').dataset.value, imgs: document.querySelectorAll('img').length,
		rendered: document.body.dataset.rendered})" --user=viewer:s3cret > "$tmp/b4.json"
get -u viewer:s3cret "https://127.0.0.1:$PORT/" > /dev/null; data_of "$tmp/page" > "$tmp/exp.json"
c1=$(coll)
is "... in Chromium over HTTPS with basic auth: loaded cleanly, drawn, no <img>" "null 0 0 0 yes 0" \
	"$(clean "$tmp/b4.json") $(jq -r '.value | fromjson | "\(.rendered) \(.imgs)"' "$tmp/b4.json")"
s1=$(rollup_pss $H) got=$(jq -r --argjson p $H '.procs[] | select(.[0] == $p) | .[3]' "$tmp/exp.json")
ok "$([ "$got" = "$s0" ] || [ "$got" = "$s1" ]; echo $?)" \
	"... the helper's PSS on the page, $got, is its smaps_rollup's read here before or after ($s0, $s1; the exporter's collection: each process whole)"
is "... the browser saw the page curl got, of one collection: as many processes" "$(jq '.procs | length' "$tmp/exp.json")" \
	"$(jq -r '.value | fromjson | .procs' "$tmp/b4.json")"
is "... a view within a minute of a collection is served that collection's page: two views made no collection (one for the scrape after)" \
	"$((c0 + 1))" "$c1"
kill -TERM $E; wait $E 2> /dev/null

# ---- 10,000 processes: a page that still draws (the time is make bench's) ----
jq -c '.snapshot[0] as $r | .snapshot = [range(10000) | $r + {pid: (. + 1000000), comm: "p\(.)", cgroup: "/g\(. % 50)"}]' \
	"$tmp/s.json" > "$tmp/big.json"
"$ML" report --html "$tmp/big.html" "$tmp/big.json"
$BR "file://$tmp/big.html" "$tmp/big.png" \
	'JSON.stringify([document.getElementById("total-procs").dataset.value, document.body.dataset.rendered, document.body.dataset.renderMs])' > "$tmp/b5.json"
is "a page of 10,000 processes: loaded cleanly and drawn whole (render $(jq -r '.value | fromjson | .[2]' "$tmp/b5.json") ms, $(stat -c %s "$tmp/big.html") bytes)" \
	"null 0 0 0 10000 yes" "$(clean "$tmp/b5.json") $(jq -r '.value | fromjson | .[0:2] | join(" ")' "$tmp/b5.json")"
echo "1..$n"
