#!/bin/bash
# memlens who-maps: a parent and two children share a memfd, a shared anonymous
# region and a mapped file; an unrelated process maps the same file.  who-maps
# must find exactly those processes, as root and as an unprivileged user.
# Usage: tests/who_maps.sh BUILD_DIR    (TAP on stdout)
set -u
B=$(cd "${1:-build}" && pwd)
. "$(dirname "$0")/helpers/tap.sh"
tmp=$(mktemp -d /tmp/memlens-who-XXXXXX); chmod 755 "$tmp"
cp "$B/memlens" "$B/tests/mapper" "$tmp/"; chmod 755 "$tmp/memlens" "$tmp/mapper"

run_case() { # WHO RUNAS
	local who=$1 runas=$2 d="$tmp/$1" ml="$tmp/memlens"
	mkdir -p "$d/b"; chmod -R 777 "$d"
	mkfifo "$d/a.in" "$d/b.in"
	$runas "$tmp/mapper" --dir "$d" --children 2 --files 1 < "$d/a.in" > "$d/a.out" 2>&1 &
	local a=$!
	exec 7> "$d/a.in"
	for _ in $(seq 100); do grep -q ready "$d/a.out" && break; sleep 0.05; done
	# the unrelated process maps A's file too
	$runas "$tmp/mapper" --dir "$d/b" --map "$d/mapper-file.bin" < "$d/b.in" > "$d/b.out" 2>&1 &
	local b=$!
	exec 8> "$d/b.in"
	for _ in $(seq 100); do grep -q ready "$d/b.out" && break; sleep 0.05; done
	local c1 c2 memfd shm
	c1=$(awk '/^child/ {print $2}' "$d/a.out" | head -1)
	c2=$(awk '/^child/ {print $2}' "$d/a.out" | tail -1)
	memfd=$(awk '/^memfd/ {print $2}' "$d/a.out")
	shm=$(awk '/^shm/ {print $2}' "$d/a.out")
	local want3 want4
	want3=$(printf '%s\n' "$a" "$c1" "$c2" | sort -n | tr '\n' ' ')
	want4=$(printf '%s\n' "$a" "$c1" "$c2" "$b" | sort -n | tr '\n' ' ')
	$runas "$ml" who-maps "$d/mapper-file.bin" -J > "$d/file.json" 2> "$d/file.err"
	is "$who: who-maps FILE finds the parent, both children and the unrelated process" "$want4" \
		"$(jq -r '[.who_maps[].pid] | unique | map(tostring) | join(" ")' "$d/file.json") "
	$runas "$ml" who-maps "$a:$memfd" -J > "$d/memfd.json" 2>> "$d/file.err"
	is "$who: who-maps PID:ADDR of the memfd finds exactly the three" "$want3" \
		"$(jq -r '[.who_maps[].pid] | unique | map(tostring) | join(" ")' "$d/memfd.json") "
	$runas "$ml" who-maps "$a:$shm" -J > "$d/shm.json" 2>> "$d/file.err"
	is "$who: who-maps PID:ADDR of shared anonymous memory finds exactly the three" "$want3" \
		"$(jq -r '[.who_maps[].pid] | unique | map(tostring) | join(" ")' "$d/shm.json") "
	is "$who: ... and names it /dev/zero (deleted)" "/dev/zero (deleted)" "$(jq -r '.who_maps[0].name' "$d/shm.json")"
	dev=$(jq -r '.who_maps[0].dev' "$d/memfd.json"); ino=$(jq -r '.who_maps[0].inode' "$d/memfd.json")
	$runas "$ml" who-maps "$dev:$ino" -J > "$d/devino.json" 2>> "$d/file.err"
	is "$who: who-maps MAJ:MIN:INODE gives the same as PID:ADDR" "$(jq -c '.who_maps' "$d/memfd.json")" "$(jq -c '.who_maps' "$d/devino.json")"
	$runas "$ml" who-maps --shared -J > "$d/shared.json" 2>> "$d/file.err"
	# objects are (dev, inode): inode numbers repeat across filesystems
	row() { jq -r --arg d "$(jq -r '.who_maps[0].dev' "$1")" --arg i "$(jq -r '.who_maps[0].inode' "$1")" \
		'.shared[] | select(.dev == $d and .inode == ($i|tonumber)) | "\(.kind) \(.procs)"' "$d/shared.json"; }
	is "$who: --shared lists the memfd with its three processes" "memfd 3" "$(row "$d/memfd.json")"
	is "$who: --shared lists the shared anonymous region" "shm 3" "$(row "$d/shm.json")"
	# the unrelated process: it maps its own copy; a hard link to A's file seen by B's path
	$runas "$ml" who-maps "$d/b/mapper-file.bin" -J > "$d/bfile.json" 2>> "$d/file.err"
	is "$who: the unrelated process's own file is its alone" "$b" "$(jq -r '[.who_maps[].pid] | unique | map(tostring) | join(" ")' "$d/bfile.json")"
	is "$who: --shared lists the file with its four processes" "file 4" "$(row "$d/file.json")"
	# a file each of the three maps twice: three processes, six mappings
	$runas "$ml" who-maps "$d/mapper-f0-.bin" -J > "$d/f0.json" 2>> "$d/file.err"
	is "$who: --shared: a file mapped twice by each of three processes has PROCS 3, MAPPINGS 6" "file 3 6" \
		"$(jq -r --arg d "$(jq -r '.who_maps[0].dev' "$d/f0.json")" --arg i "$(jq -r '.who_maps[0].inode' "$d/f0.json")" \
		'.shared[] | select(.dev == $d and .inode == ($i|tonumber)) | "\(.kind) \(.procs) \(.mappings)"' "$d/shared.json")"
	if [ -n "$runas" ]; then
		is "$who: unprivileged: mappings matched by dev:inode, not opened" "no (unprivileged)" "$(jq -r '.who_maps[0].checked' "$d/file.json")"
		ok "$(grep -q 'not opened through map_files' "$d/file.err"; echo $?)" "$who: unprivileged: says what it could not open"
	else
		is "$who: root: the exact inode opened through map_files" "yes" "$(jq -r '[.who_maps[].checked] | unique | join(",")' "$d/file.json")"
	fi
	exec 7>&- 8>&-
	wait
}

run_case root ""
if [ "$(id -u)" = 0 ] && command -v setpriv > /dev/null; then
	run_case nobody "setpriv --reuid=nobody --regid=nogroup --clear-groups --inh-caps=-all --bounding-set=-all"
fi
# a TARGET that is not there is a runtime error (1), a TARGET that is not one a usage error (2)
"$tmp/memlens" who-maps /nonexistent/memlens-test > /dev/null 2> "$tmp/err"; rc=$?
is "who-maps of a missing file: exit 1, one line" "1 1" "$rc $(wc -l < "$tmp/err")"
"$tmp/memlens" who-maps 'not-a-target' > /dev/null 2> "$tmp/err"; rc=$?
is "who-maps of something that is no TARGET: exit 2, one line" "2 1" "$rc $(wc -l < "$tmp/err")"
rm -rf "$tmp"
echo "1..$n"
