#!/bin/bash
# Leak hunting over a stream: memlens diff --rate, --every and --grew-in on
# a real `snapshot --watch -J` of two helpers (tests/helpers/leaker.c): one
# leaking at a known rate, one that spikes once and frees.  Ground truth is
# the rate the leaker was told, and the documents themselves read with jq
# (the PSS of each process in each document, the uptimes).
# Usage: tests/leak.sh BUILD_DIR    (TAP on stdout)
set -u
B=$(cd "${1:-build}" && pwd)
ML=$B/memlens
. "$(dirname "$0")/helpers/tap.sh"
tmp=$(mktemp -d /tmp/memlens-leak-XXXXXX)
pids=()
cleanup() {
	for p in "${pids[@]}"; do { kill -KILL "$p"; wait "$p"; } 2> /dev/null; done
	rm -rf "$tmp"
}
trap cleanup EXIT

RATE=4096	# KiB a second: 20 MiB over the stream's 5 s
N=6		# documents, a second apart: 5 intervals
"$B/tests/leaker" leak $RATE > "$tmp/l.out" & L=$!; pids+=($L)
# the spike 1.5 s after ready, held 1.5 s: at least one document a second sees it
"$B/tests/leaker" spike 32 1500 1500 > "$tmp/s.out" & S=$!; pids+=($S)
for _ in $(seq 100); do
	grep -q ready "$tmp/l.out" && grep -q ready "$tmp/s.out" && break
	sleep 0.1
done
"$ML" snapshot --pid $L,$S --no-dmabuf -b -J -w 1 --count $N > "$tmp/stream.j" 2> "$tmp/err"; rc=$?
is "snapshot --watch 1 --count $N -J of the two helpers: exit 0, $N documents, each with both" "0 $N $N" \
	"$rc $(jq -s length "$tmp/stream.j") $(jq -s --argjson l $L --argjson s $S \
		'[.[] | select([.snapshot[].pid] | (index($l) != null and index($s) != null))] | length' "$tmp/stream.j")"

# ground truth from the documents: each one's uptime, and each helper's PSS in it
pss_of() { jq -r --argjson p "$1" '.snapshot[] | select(.pid == $p) | .pss' "$tmp/stream.j"; }
pss_of $L > "$tmp/l.pss"; pss_of $S > "$tmp/s.pss"
jq -r .summary.uptime "$tmp/stream.j" > "$tmp/up"
# the intervals in which a list of numbers went up
rises() { awk 'NR > 1 && $1 > prev {n++} {prev = $1} END {print n + 0}' "$1"; }
spike=$(sort -n "$tmp/s.pss" | awk 'NR == 1 {lo = $1} {hi = $1} END {print hi - lo}')
ok "$([ "$spike" -ge $((30 << 20)) ]; echo $?)" \
	"the spiker's 32 MiB spike is in the stream (its PSS ranges over $spike bytes): the test can tell"
is "the spiker's PSS came back to where it began" "$(head -1 "$tmp/s.pss")" "$(tail -1 "$tmp/s.pss")"

# --rate: first against last, per second of the documents' times
"$ML" diff "$tmp/stream.j" --rate -J > "$tmp/rate.j" 2> "$tmp/err"; rc=$?
is "diff STREAM --rate -J: exit 0, nothing on stderr" "0 " "$rc $(cat "$tmp/err")"
secs=$(awk 'NR == 1 {a = $1} {b = $1} END {printf "%.3f", b - a}' "$tmp/up")
is "diff --rate: summary.seconds is the last document's uptime less the first's" "$secs" \
	"$(jq -r '.summary.seconds | . * 1000 | round / 1000 | tostring' "$tmp/rate.j" | awk '{printf "%.3f", $1}')"
got=$(jq -r --argjson p $L '.diff[] | select(.pid == $p) | .pss_rate' "$tmp/rate.j")
want=$((RATE * 1024))
ok "$(awk -v g="${got:-x}" -v w=$want 'BEGIN {exit !(g + 0 == g && g >= w * 0.9 && g <= w * 1.1)}'; echo $?)" \
	"diff --rate: the leaker's pss_rate $got B/s is its rate, $want B/s, within 10%"
is "diff --rate: pss_rate is the PSS change over the seconds between the documents" \
	"$(awk -v a="$(head -1 "$tmp/l.pss")" -v b="$(tail -1 "$tmp/l.pss")" -v s="$secs" 'BEGIN {printf "%.0f", (b - a) / s}')" \
	"$(awk -v g="$got" 'BEGIN {printf "%.0f", g}')"
"$ML" diff "$tmp/stream.j" --rate > "$tmp/rate.t"
ok "$(awk -v p=$L '$1 == p && $5 ~ /^\+[0-9.]+M\/s$/ {f = 1} END {exit !f}' "$tmp/rate.t"; echo $?)" \
	"diff --rate (table): the leaker's PSS_RATE as +human/s ($(awk -v p=$L '$1 == p {print $5}' "$tmp/rate.t"))"

# --every: one document an interval, each with its own rate
"$ML" diff "$tmp/stream.j" --every --rate -J > "$tmp/every.j"
is "diff --every -J: one document for each of the $((N - 1)) intervals" $((N - 1)) "$(jq -s length "$tmp/every.j")"
is "diff --every: each interval from one document's time to the next's" \
	"$(jq -r .summary.time "$tmp/stream.j" | awk 'NR > 1 {print prev, $1} {prev = $1}')" \
	"$(jq -r '"\(.summary.from) \(.summary.to)"' "$tmp/every.j")"
bad=$(jq -r --argjson p $L '.diff[] | select(.pid == $p) | .pss_rate' "$tmp/every.j" |
	awk -v w=$want '!($1 >= w * 0.75 && $1 <= w * 1.25) {print}' | tr '\n' ' ')
is "diff --every --rate: in each interval the leaker's rate is within 25% of $want B/s (one-second intervals)" "" "$bad"
"$ML" diff "$tmp/stream.j" --every > "$tmp/every.t"
is "diff --every (table): a heading for each interval, naming its two documents" \
	"$(seq $((N - 1)) | awk '{print "document " $1 " to document " $1 + 1}')" \
	"$(grep '^document ' "$tmp/every.t" | sed 's/ ([^)]*)//g; s/:$//')"

# --grew-in: a steady leak, not one spike
"$ML" diff "$tmp/stream.j" -a -o PID,GREW_IN -J > "$tmp/grew.j"
is "diff -o GREW_IN: each helper's count of intervals its PSS grew in, as the documents say" \
	"$(rises "$tmp/l.pss") $(rises "$tmp/s.pss")" \
	"$(jq -r --argjson l $L --argjson s $S '[(.diff[] | select(.pid == $l) | .grew_in), (.diff[] | select(.pid == $s) | .grew_in)] | map(tostring) | join(" ")' "$tmp/grew.j")"
# (a snapshot may catch the spike half-made: MAP_POPULATE faults in chunks, slowly in a TCG guest)
ok "$([ "$(rises "$tmp/l.pss")" = $((N - 1)) ] && [ "$(rises "$tmp/s.pss")" -ge 1 ] && [ "$(rises "$tmp/s.pss")" -le 2 ]; echo $?)" \
	"the leaker grew in every interval ($(rises "$tmp/l.pss")), the spiker in one or two ($(rises "$tmp/s.pss")): one spike"
"$ML" diff "$tmp/stream.j" --grew-in 3 -J > "$tmp/g3.j"
is "diff --grew-in 3: the leaker listed (grew_in $((N - 1))), the spiker not" "$L $((N - 1))" \
	"$(jq -r '.diff[] | "\(.pid) \(.grew_in)"' "$tmp/g3.j" | tr '\n' ' ' | sed 's/ $//')"
is "diff --grew-in 1: both listed" "$(printf '%s\n' $L $S | sort -n | tr '\n' ' ')" \
	"$("$ML" diff "$tmp/stream.j" --grew-in 1 -J | jq -r '.diff[].pid' | sort -n | tr '\n' ' ')"

# what cannot be answered: one line, exit 2, nothing on stdout
refused() { # DESCRIPTION WANT_IN_MESSAGE ARGS...
	local what=$1 want=$2; shift 2
	"$ML" diff "$@" > "$tmp/r.out" 2> "$tmp/r.err"; local rc=$?
	is "$what: exit 2, one line ('$want'), nothing on stdout" "2 1 0 yes" \
		"$rc $(wc -l < "$tmp/r.err") $(wc -c < "$tmp/r.out") $(grep -q -- "$want" "$tmp/r.err" && echo yes)"
}
refused "diff --grew-in $N (more than the stream's intervals)" "holds $((N - 1)) intervals" "$tmp/stream.j" --grew-in $N
refused "diff --grew-in 0" "a positive number" "$tmp/stream.j" --grew-in 0
jq -c 'del(.summary.uptime)' "$tmp/stream.j" > "$tmp/notime.j"
refused "diff --rate of documents without uptime (a memlens before 0.7)" "document 1 has no uptime" "$tmp/notime.j" --rate
jq -s -c '.[0]' "$tmp/stream.j" > "$tmp/one.j"
refused "diff --rate OLD NEW of one document twice (0 s apart)" "were taken at one time" "$tmp/one.j" "$tmp/one.j" --rate
echo "1..$n"
