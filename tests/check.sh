#!/bin/bash
# make check: host suite (normal and ASan+UBSan builds, fuzzers), then the
# kernel matrix; the closing line adds both up.
cd "$(dirname "$0")/.."
out=$(mktemp /tmp/memlens-check-XXXXXX)
bad=$(mktemp /tmp/memlens-check-XXXXXX)
trap 'rm -f "$out" "$bad"' EXIT
echo "== host: $(uname -r) =="
tests/run.sh build build-asan | tee "$out"
grep -E 'not ok|^ +[^ ].*(exited [0-9]+ without|#   )' "$out" | sed 's/^/host: /' >> "$bad"
host=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$out" | tail -1)
echo "== kernel matrix (QEMU) =="
tests/vm/run.sh | tee "$out"
vm=$(grep -E '^vm: [0-9]+ passed' "$out" | tail -1 | sed 's/^vm: //')
grep -E 'not ok|exited [0-9]+ without|#   ' "$out" | sed 's/^/vm: /' >> "$bad"
p=$(( $(echo "$host" | awk '{print $1}') + $(echo "$vm" | awk '{print $1}') ))
f=$(( $(echo "$host" | awk '{print $3}') + $(echo "$vm" | awk '{print $3}') ))
s=$(( $(echo "$host" | awk '{print $5}') + $(echo "$vm" | awk '{print $5}') ))
[ -n "$host" ] || f=$((f + 1))
[ -n "$vm" ] || f=$((f + 1))
# what failed, again at the end, where a log's tail shows it
if [ -s "$bad" ]; then echo "== what failed =="; head -40 "$bad"; fi
echo "total: $p passed, $f failed, $s skipped"
[ "$f" = 0 ]
