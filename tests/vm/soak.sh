#!/bin/bash
# Run the kernel matrix N times in a row for each kernel and count what went
# wrong: the evidence behind the QEMU flags in tests/vm/run.sh (docs/testing.md).
# A panic or a failed test ends nothing early and is never retried: it is counted.
# Usage: tests/vm/soak.sh N [KERNEL...]     (make tests first)
set -u
cd "$(dirname "$0")/../.."
n=${1:?usage: tests/vm/soak.sh N [KERNEL...]}; shift
[ $# = 0 ] && set -- 6.1 6.12 newest
for k in "$@"; do
	ok=0 bad=0 panics=0 times=()
	for i in $(seq 1 "$n"); do
		out=$(tests/vm/run.sh "$k" 2>&1)
		rc=$?
		secs=$(echo "$out" | sed -n 's/^\[[^]]*\] .*, \([0-9]*\)s$/\1/p' | head -1)
		times+=("${secs:-0}")
		if echo "$out" | grep -qE 'kernel panic|oopsed'; then panics=$((panics + 1)); fi
		if [ $rc = 0 ]; then ok=$((ok + 1)); else
			bad=$((bad + 1))
			echo "soak [$k] run $i FAILED:"; echo "$out" | grep -E 'FAIL|not ok|panic|Oops' | head -20 | sed 's/^/  /'
		fi
		echo "soak [$k] run $i/$n: rc=$rc ${secs}s $(echo "$out" | grep -E '^  [0-9]+ passed' | tail -1 | sed 's/^ *//')"
	done
	sorted=$(printf '%s\n' "${times[@]}" | sort -n)
	min=$(echo "$sorted" | head -1); max=$(echo "$sorted" | tail -1)
	med=$(echo "$sorted" | sed -n "$(( (n + 1) / 2 ))p")
	echo "soak [$k]: $n runs, $ok clean, $bad failed, $panics panics; seconds per run min $min median $med max $max"
done
