#!/bin/bash
# make check: host suite (normal and ASan+UBSan builds, fuzzers), the
# install checks (tests/dist/check.sh), then the kernel matrix; the closing
# line adds them up.
cd "$(dirname "$0")/.."
out=$(mktemp /tmp/memlens-check-XXXXXX)
bad=$(mktemp /tmp/memlens-check-XXXXXX)
trap 'rm -f "$out" "$bad"' EXIT
echo "== host: $(uname -r) =="
tests/run.sh build build-asan | tee "$out"
grep -E 'not ok|^ +[^ ].*(exited [0-9]+ without|#   )' "$out" | sed 's/^/host: /' >> "$bad"
host=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$out" | tail -1)
echo "== Debian 12: the build list, the README's first command in a minimal root, the .debs, the image =="
tests/run.sh --only tests/dist/check.sh tests/dist/container.sh | tee "$out"
grep -E 'not ok|^ +[^ ].*(exited [0-9]+ without|#   )' "$out" | sed 's/^/dist: /' >> "$bad"
dist=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$out" | tail -1)
echo "== kernel matrix (QEMU) =="
tests/vm/run.sh | tee "$out"
vm=$(grep -E '^vm: [0-9]+ passed' "$out" | tail -1 | sed 's/^vm: //')
grep -E 'not ok|exited [0-9]+ without|#   ' "$out" | sed 's/^/vm: /' >> "$bad"
sum() { local t=0 l; for l in "$host" "$dist" "$vm"; do t=$((t + $(echo "$l" | awk -v c="$1" '{print $c + 0}'))); done; echo $t; }
p=$(sum 1) f=$(sum 3) s=$(sum 5)
[ -n "$host" ] || f=$((f + 1))
[ -n "$dist" ] || f=$((f + 1))
[ -n "$vm" ] || f=$((f + 1))
# what failed, again at the end, where a log's tail shows it
if [ -s "$bad" ]; then echo "== what failed =="; head -40 "$bad"; fi
echo "total: $p passed, $f failed, $s skipped"
[ "$f" = 0 ]
