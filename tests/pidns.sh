#!/bin/bash
# Pid namespaces: inside `unshare -p -f --mount-proc` every command names the
# processes of that namespace by the namespace's pids, whatever the source,
# and shows nothing from outside it.  A mapper and its two children share a
# memfd, a shared anonymous region and a file inside the namespace; the
# expected pids are what they (and the namespace's /proc) say, the expected
# VMAs what /proc/<pid>/maps says, read by this script, not by memlens.
# Outside the namespace the test's own processes keep running with pids the
# namespace cannot see.  (DMA-BUF holders in a namespace: test_dmabuf, in the
# guests that have buffers.)
# Usage: tests/pidns.sh BUILD_DIR    (TAP on stdout)
set -u
B=$(cd "${1:-build}" && pwd)
. "$(dirname "$0")/helpers/tap.sh"
if [ "$(id -u)" != 0 ] || ! command -v unshare > /dev/null; then
	skip "a pid namespace with its own /proc needs root and unshare"; echo "1..$n"; exit 0
fi
tmp=$(mktemp -d /tmp/memlens-pidns-XXXXXX)
trap 'rm -rf "$tmp"' EXIT

# the part run inside the namespace: one "R|text" line per check, R = 0 (pass),
# 1 (fail) or S (skip, text is the reason)
cat > "$tmp/inner.sh" << 'EOF'
B=$1; d=$2; . "$3"; . "${3%/*}/expect.sh"	# tap.sh: res, check; the rules: skip_code
ML=$B/memlens
mkfifo "$d/in"
"$B/tests/mapper" --dir "$d" --children 2 < "$d/in" > "$d/out" 2>&1 &
a=$!
exec 7> "$d/in"
for _ in $(seq 100); do grep -q ready "$d/out" && break; sleep 0.05; done
c1=$(awk '/^child/ {print $2}' "$d/out" | head -1)
c2=$(awk '/^child/ {print $2}' "$d/out" | tail -1)
memfd=$(awk '/^memfd/ {print $2}' "$d/out")
check "the namespace's init is this shell (pid 1), the mapper and its children are below 100" \
	"1 yes" "$$ $([ "$a" -lt 100 ] && [ "$c1" -lt 100 ] && [ "$c2" -lt 100 ] && echo yes)"
# every VMA of a process as START-END in decimal, from /proc (the truth) or memlens rows
truth() { while IFS=' -' read -r s e _; do echo "$((16#$s))-$((16#$e))"; done < "/proc/$1/maps"; }
rows() { awk -v p="$2" '$1 == p {print $2, $3}' "$1" | while read -r s e; do echo "$((s))-$((e))"; done; }
# the highest pid handed out in the namespace so far: every pid it ever showed is below
highest() { sh -c 'echo $$'; }

for b in bpf text ioctl; do
	if ! "$ML" maps --all -s "$b" -o PID,START,END -rn > "$d/maps.$b" 2> "$d/err"; then
		res "$(skip_code "$(vma_iface $b)")" "maps --all -s $b: $(head -1 "$d/err")"; continue
	fi
	top=$(highest)
	bad=$(awk -v t="$top" '$1 > t || $1 < 1 {print $1}' "$d/maps.$b" | sort -un | tr '\n' ' ')
	check "maps --all -s $b: every pid is one of the namespace's (all <= $top)" "" "$bad"
	for p in 1 "$a" "$c1" "$c2"; do
		# pid 1 is this shell: its heap may grow between the walk and the
		# read here; asked again (a new walk) before it counts as wrong
		for try in 1 2 3; do
			want=$(truth "$p" | tr '\n' ' ') got=$(rows "$d/maps.$b" "$p" | tr '\n' ' ')
			[ "$want" = "$got" ] && break
			"$ML" maps --all -s "$b" -o PID,START,END -rn > "$d/maps.$b" 2> "$d/err"
		done
		check "maps --all -s $b: pid $p's VMAs are its /proc/$p/maps in the namespace" "$want" "$got"
	done
done
for b in bpf text; do
	if ! "$ML" who-maps -s "$b" "$a:$memfd" -J > "$d/who.$b" 2> "$d/err"; then
		res "$(skip_code "$(vma_iface $b)")" "who-maps -s $b: $(head -1 "$d/err")"; continue
	fi
	check "who-maps -s $b PID:ADDR of the memfd: the mapper and both children, by namespace pids" \
		"$(printf '%s\n' "$a" "$c1" "$c2" | sort -n | tr '\n' ' ')" \
		"$(jq -r '[.who_maps[].pid] | unique | map(tostring) | join(" ")' "$d/who.$b") "
	"$ML" who-maps -s "$b" --shared -J > "$d/shared.$b" 2>> "$d/err"
	top=$(highest)
	check "who-maps --shared -s $b: every pid listed is one of the namespace's (all <= $top)" "" \
		"$(jq -r '.shared[].pids[]' "$d/shared.$b" | awk -v t="$top" '$1 > t || $1 < 1' | sort -un | tr '\n' ' ')"
done
"$ML" snapshot -J > "$d/snap" 2> "$d/err"; rc=$?
top=$(highest)
check "snapshot: exit 0, every row a namespace pid (all <= $top), the mapper's three among them" \
	"0  3" "$rc $(jq -r --argjson t "$top" '[.snapshot[].pid | select(. > $t or . < 1)] | map(tostring) | join(" ")' "$d/snap") $(jq -r \
	--argjson a "$a" --argjson c1 "$c1" --argjson c2 "$c2" '[.snapshot[] | select(.pid == $a or .pid == $c1 or .pid == $c2)] | length' "$d/snap")"
# the mm counters' pass, each variant: the namespace's processes with
# memory (its /proc's, there before and after), by their namespace pids,
# and nothing from outside (the open-coded walk sees every task of the
# system: the program keeps those of the reader's namespace)
for v in iter procs; do
	rule=bpf_task_mm; [ $v = procs ] && rule=bpf_task_mm_procs
	mm_pids > "$d/u1"
	MEMLENS_BPF_MM_VARIANT=$v "$ML" snapshot -J -o PID,RSS --counters-source bpf > "$d/cnt" 2> "$d/err" &
	self=$!
	if ! wait $self; then
		res "$(skip_code $rule)" "snapshot --counters-source bpf, variant $v: $(head -1 "$d/err")"; continue
	fi
	mm_pids > "$d/u2"
	jq -r ".snapshot[].pid" "$d/cnt" > "$d/got"
	check "counters pass, variant $v: a row for each of the namespace's processes with memory (there before and after)" \
		"" "$(both "$d/u1" "$d/u2" > "$d/u12"; only_in "$d/u12" "$d/got" | tr '\n' ' ')"
	# memlens itself aside, every row is a process the namespace's /proc listed
	check "counters pass, variant $v: no row for a pid the namespace's /proc did not list" \
		"" "$(only_in "$d/got" "$d/u1" "$d/u2" | grep -vx "$self" | tr '\n' ' ')"
	check "counters pass, variant $v: the mapper's rss is its status's VmRSS" \
		"$(awk '$1 == "VmRSS:" {print $2 * 1024}' /proc/$a/status)" "$(jq -r --argjson a "$a" '.snapshot[] | select(.pid == $a) | .rss' "$d/cnt")"
done
# the exporter: its per-process series name namespace pids only
mkdir "$d/tf"
"$ML" exporter --textfile "$d/tf" --once --per-process 2> "$d/err"; rc=$?
top=$(highest)
check "exporter --per-process: exit 0, every pid label a namespace pid (all <= $top), the mapper's three among them" \
	"0  3" "$rc $(sed -n 's/^memlens_process_memory_bytes{pid="\([0-9]*\)".*memtype="rss"}.*/\1/p' "$d/tf/memlens.prom" |
	awk -v t="$top" '$1 > t || $1 < 1' | tr '\n' ' ') $(grep -cE "^memlens_process_memory_bytes\{pid=\"($a|$c1|$c2)\",.*memtype=\"rss\"" "$d/tf/memlens.prom")"
for s in bpf procfs; do
	"$ML" dmabuf -s "$s" > "$d/dmabuf" 2> "$d/err"; rc=$?
	if [ $rc != 0 ] && grep -qE 'unavailable|not supported|no DMA-BUF' "$d/err"; then
		res "$(skip_code "$(dmabuf_iface $s)")" "dmabuf -s $s: $(head -1 "$d/err")"
	else
		check "dmabuf -s $s runs inside the namespace" "0" "$rc"
	fi
done
exec 7>&-
wait
EOF

# a process outside, with a pid the namespace cannot have
sleep 100 &
outside=$!
unshare -p -f --mount-proc bash "$tmp/inner.sh" "$B" "$tmp" "$(cd "$(dirname "$0")" && pwd)/helpers/tap.sh" > "$tmp/out" 2>&1
kill $outside 2> /dev/null
tap_results "$tmp/out" "inside the namespace"
[ $n -ge 10 ] || ok 1 "the namespace part ran ($n checks)"
echo "1..$n"
