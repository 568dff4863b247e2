#!/bin/bash
# Golden names: every JSON key each command writes (with every column -o
# takes, from its --help), and every metric family with its label names,
# against tests/golden/names.txt.  A renamed or dropped key, column or
# metric fails here: scripts, dashboards and recording rules use them.  A
# name added on purpose: regenerate with `tests/golden.sh BUILD --update`
# and commit the file (its diff is the change users see).
# Usage: tests/golden.sh BUILD_DIR [--update]    (TAP on stdout)
set -u
B=$(cd "${1:-build}" && pwd)
ML=$B/memlens
. "$(dirname "$0")/helpers/tap.sh"
golden=$(cd "$(dirname "$0")" && pwd)/golden/names.txt
if ! command -v jq > /dev/null; then
	skip "the names are read with jq: not here"
	echo "1..$n"; exit 0
fi
tmp=$(mktemp -d /tmp/memlens-golden-XXXXXX)
trap 'rm -rf "$tmp"' EXIT

cols() { "$ML" "$@" --help | awk '/^Columns/ {on = 1; next} on && /^  [A-Za-z_]/ {print $1}' | paste -sd,; }
# "CMD: path" for every key of every object ([] for an array's items); what
# only some machines have rows for (DMA-BUF buffers), and --smaps' total (the
# smaps keys this kernel has), are pinned by the columns' lines instead,
# which --help gives everywhere
keys() {
	local what=$1; shift
	"$ML" "$@" -J 2> /dev/null |
		jq -r --arg w "$what" 'paths | select(.[-1] | type == "string") | map(if type == "number" then "[]" else . end) | join(".") | "\($w): \(.)"' |
		grep -vE '^maps --smaps: total\.|^dmabuf: dmabuf\.\[\]\.|\.dmabuf_kernel_only\.\[\]\.|^diff: kernel_only\.\[\]\.' | sort -u
}
cat > "$tmp/a.j" <<'EOF'
{"snapshot": [{"pid": 10, "comm": "a", "pss": 100}], "summary": {"mem_available": 1, "dmabuf_kernel_only": [{"inode": 5, "size": 4096, "exporter": "e", "name": "n"}]}}
EOF
cat > "$tmp/b.j" <<'EOF'
{"snapshot": [{"pid": 10, "comm": "a", "pss": 300}], "summary": {"mem_available": 2, "dmabuf_kernel_only": []}}
EOF
{
	for c in maps "maps self --smaps" "maps self --pages" query features "dmabuf" snapshot diff who-maps; do
		"$ML" $c --help | awk -v c="$c" '/^Columns/ {on = 1; next} on && /^  [A-Za-z_]/ {print "columns " c ": " $1}'
	done
	keys "maps" maps self -o "$(cols maps)"
	keys "maps --smaps" maps self --smaps -o START,Rss,Pss,THPeligible,VmFlags
	keys "maps --pages" maps self --pages -o "$(cols maps self --pages)"
	keys "query" query self "0x$(head -1 /proc/self/maps | cut -d- -f1)" -o "$(cols query)"
	keys "features" features -o "$(cols features)"
	keys "snapshot" snapshot --pid $$ -o "$(cols snapshot | sed 's/,NPROCS//')"
	keys "snapshot --group-by" snapshot --pid $$ --group-by comm
	keys "who-maps --shared" who-maps --shared -o KIND,DEV,INODE,PROCS,MAPPINGS,PIDS,RSS,PSS,NAME
	keys "dmabuf" dmabuf -o "$(cols dmabuf)"
	keys "diff" diff "$tmp/a.j" "$tmp/b.j" -a -o "$(cols diff)"
	# metric families and their label names (values vary), both formats
	for fmt in prom om; do
		if [ $fmt = om ]; then "$ML" snapshot --openmetrics; else
			"$ML" exporter --textfile "$tmp" --once && cat "$tmp/memlens.prom"; fi 2> /dev/null |
			awk -v f=$fmt '/^# (TYPE|UNIT)/ {print "metrics " f ": " $3 " " $2 " " $4; next}
				/^#/ {next}
				/^memlens_dmabuf_buffer/ {next}	# per buffer: where there are buffers
				{ n = $1; sub(/\{.*/, "", n); l = ""; s = $1
				  while (match(s, /[a-z_]+="[^"]*"/)) {
					  kv = substr(s, RSTART, RLENGTH); k = kv; sub(/=.*/, "", k)
					  # the values dashboards select on are names too
					  if (k == "memtype" || k == "state" || k == "job") { gsub(/"/, "", kv); l = l " " kv } else l = l " " k
					  s = substr(s, RSTART + RLENGTH) }
				  print "metrics " f ": " n l }' | sort -u
	done
} > "$tmp/names.txt"

if [ "${2:-}" = --update ]; then
	mkdir -p "$(dirname "$golden")"
	cp "$tmp/names.txt" "$golden"
	echo "# updated $golden ($(wc -l < "$golden") names)"
fi
is "every JSON key, column and metric name is the golden one (tests/golden/names.txt; --update after a deliberate change)" "" \
	"$(diff "$golden" "$tmp/names.txt" | grep '^[<>]' | head -20)"
ok "$([ "$(wc -l < "$tmp/names.txt")" -gt 150 ]; echo $?)" "... and the list is whole ($(wc -l < "$tmp/names.txt") names)"
echo "1..$n"
