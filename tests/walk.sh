#!/bin/bash
# The in-kernel VMA walk (iter/task_vma) answers what /proc/<pid>/maps says,
# in every variant this kernel loads (task_vma: bpf_d_path in the kernel;
# task_vma_nopath: each file named once per walk by PROCMAP_QUERY or the
# maps text), forced one after the other:
#  - the mapper's hostile names (a deleted file, memfd, shared anonymous,
#    named anonymous, a space and a newline in a path) through `maps PID -m
#    -s bpf`, byte for byte against /proc/<pid>/maps read by cat;
#  - `maps --all -s bpf` against `maps --all -s text`, every field (PID START
#    END PERMS OFFSET DEV INODE NAME) of every process whose maps did not
#    change between a read before and a read after (a busy machine's
#    processes come, go and map; those that stood still must agree).
# A variant the rules (tests/helpers/expect.sh) want that does not load fails.
# Usage: tests/walk.sh BUILD_DIR    (TAP on stdout)
set -u
B=$(cd "${1:-build}" && pwd)
ML=$B/memlens
. "$(dirname "$0")/helpers/tap.sh"
. "$(dirname "$0")/helpers/expect.sh"
[ -n "${MEMLENS_EXPECT:-}" ] || MEMLENS_EXPECT=$(expect_rules | tr '\n' ' ')
tmp=$(mktemp -d /tmp/memlens-walk-XXXXXX); chmod 755 "$tmp"
mp=""
big=""
cleanup() { for p in $mp $big; do kill "$p" 2> /dev/null; done; wait 2> /dev/null; rm -rf "$tmp"; }
trap cleanup EXIT
if [ "$(expected bpf_task_vma)" != yes ]; then
	r=$("$ML" features -J | jq -r '.features[] | select(.name=="bpf_task_vma") | .reason')
	skip "no in-kernel VMA walk for this kernel and caller: $r"; echo "1..$n"; exit 0
fi

mkdir "$tmp/m"; mkfifo "$tmp/in"
"$B/tests/mapper" --dir "$tmp/m" --files 3 < "$tmp/in" > "$tmp/m.out" 2>&1 &
mp=$!
exec 3> "$tmp/in"
for _ in $(seq 200); do grep -q '^ready' "$tmp/m.out" && break; sleep 0.05; done
ok "$(grep -q '^ready' "$tmp/m.out"; echo $?)" "the mapper built its mappings ($(grep -c . "$tmp/m.out") lines)"

# and one with more distinct files than the program remembers paths in a
# walk (ML_VMA_PATHS_MAX, 8192): its map fills, paths are sent again, and the
# next walk starts from an emptied map
mkdir "$tmp/big"; mkfifo "$tmp/bin"
"$B/tests/mapper" --dir "$tmp/big" --files 8300 < "$tmp/bin" > "$tmp/big.out" 2>&1 &
big=$!
exec 4> "$tmp/bin"
for _ in $(seq 600); do grep -q '^ready' "$tmp/big.out" && break; sleep 0.05; done
ok "$(grep -q '^ready' "$tmp/big.out"; echo $?)" "a mapper of 8300 more files ($(wc -l < /proc/$big/maps) VMAs)"

fields='PID,START,END,PERMS,OFFSET,DEV,INODE,NAME'
for v in default nopath d_path; do
	env=(); [ $v != default ] && env=(MEMLENS_BPF_VMA_VARIANT=$v)
	r=$(env "${env[@]}" "$ML" features -J | jq -r '.features[] | select(.name=="bpf_task_vma") | "\(.available) \(.reason)"')
	if [ "${r%% *}" != true ]; then
		want=$([ $v = default ] && echo bpf_task_vma || echo bpf_task_vma_$v)
		if [ "$(expected "$want")" = yes ]; then ok 1 "[$v] the walk loads (${r#* })"; else skip "[$v] not loaded by this kernel: ${r#* }"; fi
		continue
	fi
	# the mapper: byte for byte
	env "${env[@]}" "$ML" maps "$mp" -m -s bpf > "$tmp/b.maps" 2> "$tmp/err"
	cat /proc/$mp/maps > "$tmp/p.maps"
	if cmp -s "$tmp/b.maps" "$tmp/p.maps"; then
		ok 0 "[$v] maps PID -m -s bpf is /proc/PID/maps byte for byte ($(wc -l < "$tmp/p.maps") lines, names with a space, a newline, deleted, memfd)"
	else
		ok 1 "[$v] maps PID -m -s bpf is /proc/PID/maps byte for byte"; diff "$tmp/b.maps" "$tmp/p.maps" | head -6 | sed 's/^/#   /'
	fi
	# more files than the cache, twice (each a new context: the map is
	# emptied between walks of one context, tests/unit/test_vma.c)
	for round in 1 2; do
		env "${env[@]}" "$ML" maps "$big" -m -s bpf > "$tmp/bb.maps" 2> "$tmp/err"
		cat /proc/$big/maps > "$tmp/bp.maps"	# cmp trusts a /proc file's size: 0
		if cmp -s "$tmp/bb.maps" "$tmp/bp.maps"; then
			ok 0 "[$v] 8300 files, walk $round: maps -m -s bpf is /proc/PID/maps byte for byte"
		else
			ok 1 "[$v] 8300 files, walk $round: maps -m -s bpf is /proc/PID/maps byte for byte"
			diff "$tmp/bb.maps" "$tmp/bp.maps" | head -4 | sed 's/^/#   /'
		fi
	done
	# every process: maps before, both walks, maps after
	for p in /proc/[0-9]*; do cat "$p/maps" > "$tmp/before.${p#/proc/}" 2> /dev/null; done
	env "${env[@]}" "$ML" maps --all -s bpf -r -n -o "$fields" > "$tmp/bpf" 2> "$tmp/bpf.err"; rb=$?
	"$ML" maps --all -s text -r -n -o "$fields" > "$tmp/text" 2> "$tmp/text.err"; rt=$?
	stable="" nstable=0
	for f in "$tmp"/before.*; do
		p=${f##*.}
		cat "/proc/$p/maps" > "$tmp/after" 2> /dev/null || { rm -f "$f"; continue; }
		if [ -s "$f" ] && cmp -s "$f" "$tmp/after"; then stable+=" $p"; nstable=$((nstable + 1)); fi
		rm -f "$f"
	done
	is "[$v] maps --all -s bpf exits 0 ($(head -c 200 "$tmp/bpf.err"))" 0 $rb
	is "[$v] maps --all -s text exits 0" 0 $rt
	pick() { awk -v keep="$stable" 'BEGIN {n = split(keep, a, " "); for (i = 1; i <= n; i++) k[a[i]] = 1} ($1 in k)' "$1"; }
	pick "$tmp/bpf" > "$tmp/bpf.s"; pick "$tmp/text" > "$tmp/text.s"
	if cmp -s "$tmp/bpf.s" "$tmp/text.s"; then
		ok 0 "[$v] maps --all: bpf equals text, every field, for the $nstable processes that stood still ($(wc -l < "$tmp/text.s") VMAs)"
	else
		ok 1 "[$v] maps --all: bpf equals text for the $nstable processes that stood still"
		diff "$tmp/bpf.s" "$tmp/text.s" | head -8 | sed 's/^/#   /'
	fi
	ok "$(grep -q "^ *$mp " "$tmp/bpf.s"; echo $?)" "[$v] ... the mapper among them"
	# the walk named the files: no VMA of a file without its path
	is "[$v] every file VMA named (DEV not 00:00 and INODE not 0: a NAME)" "" \
		"$(awk '$6 != "00:00" && $7 != 0 && NF < 8' "$tmp/bpf" | head -3)"
done
echo "1..$n"
