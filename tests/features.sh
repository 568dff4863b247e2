#!/bin/bash
# memlens features tells the truth: the source each job uses follows from the
# interfaces, and (in the VM guests) the interfaces are what the kernel of the
# matrix is known to have: MEMLENS_EXPECT="procmap_query=no dmabuf_exporter=yes ...".
# Usage: tests/features.sh BUILD_DIR    (TAP on stdout)
set -u
B=$(cd "${1:-build}" && pwd)
. "$(dirname "$0")/helpers/tap.sh"
tmp=$(mktemp -d /tmp/memlens-features-XXXXXX); chmod 755 "$tmp"
trap 'rm -rf "$tmp"' EXIT

# field FILE NAME KEY
field() { jq -r --arg n "$2" ".features[] | select(.name==\$n) | .$3" "$1"; }

# the job rows follow from the interface rows
check_jobs() { # FILE WHO
	local f=$1 who=$2 pq bpf txt want
	pq=$(field "$f" procmap_query available); bpf=$(field "$f" bpf_task_vma available)
	txt=$(field "$f" maps_text available)
	# by cost (docs/benchmarks.md): a whole walk reads maps; a query asks the
	# kernel for the few VMAs it touches; every process is one BPF pass
	if [ "$txt" = true ]; then want=text; elif [ "$bpf" = true ]; then want=bpf; else want=ioctl; fi
	is "$who: maps uses $want (maps_text $txt, bpf_task_vma $bpf, procmap_query $pq)" "$want" "$(field "$f" maps value)"
	if [ "$pq" = true ]; then want=ioctl; elif [ "$txt" = true ]; then want=text; else want=bpf; fi
	is "$who: query uses $want" "$want" "$(field "$f" query value)"
	if [ "$bpf" = true ]; then want=bpf; elif [ "$txt" = true ]; then want=text; else want=ioctl; fi
	is "$who: maps --all uses $want" "$want" "$(field "$f" maps_all value)"
	# and each job's reason says what the choice costs
	for job in maps query maps_all; do
		ok "$(field "$f" $job reason | grep -qE 'cheaper|unreadable'; echo $?)" \
			"$who: $job says why by cost ($(field "$f" $job reason))"
	done
	if [ "$(field "$f" procmap_query_build_id available)" = true ]; then want=procmap_query
	elif [ "$(field "$f" map_files available)" = true ]; then want=map_files; else want=proc_root; fi
	is "$who: build IDs from $want" "$want" "$(field "$f" build_id value)"
	if [ "$(field "$f" pagemap_scan available)" = true ]; then want=pagemap_scan
	elif [ "$(field "$f" pagemap available)" = true ]; then want=pagemap; else want=smaps; fi
	is "$who: pages from $want" "$want" "$(field "$f" pages value)"
	# pins (none here: the tests never leave any) or programs loaded by this caller
	if [ "$(field "$f" bpf_dmabuf available)" = true ]; then want=bpf; else want=procfs; fi
	is "$who: dmabuf from $want" "$want" "$(field "$f" dmabuf value)"
	if [ "$pq" != true ]; then
		is "$who: a missing PROCMAP_QUERY is ENOTTY (kernel too old)" ENOTTY "$(field "$f" procmap_query value)"
		is "$who: ... and the reason says the kernel has none, and which it needs" yes \
			"$(field "$f" procmap_query reason | grep -q 'has no PROCMAP_QUERY.*6\.11' && echo yes)"
	fi
}

"$B/memlens" features -J > "$tmp/f.json"
ok $? "features -J exits 0 ($(field "$tmp/f.json" release value))"
check_jobs "$tmp/f.json" root

# the commands themselves use what features says (their -v line)
picked() { sed -n 's/^memlens: [0-9]* records* from \([a-z_]*\) (picked).*/\1/p' | head -1; }
is "root: maps uses what features says" "$(field "$tmp/f.json" maps value)" "$("$B/memlens" maps $$ -v 2>&1 >/dev/null | picked)"
is "root: query uses what features says" "$(field "$tmp/f.json" query value)" \
	"$("$B/memlens" query $$ "$(sed -n '1s/-.*//p' /proc/$$/maps)" -v 2>&1 >/dev/null | picked)"
is "root: maps --all uses what features says" "$(field "$tmp/f.json" maps_all value)" \
	"$("$B/memlens" maps --all -v 2>&1 >/dev/null | picked)"

for kv in ${MEMLENS_EXPECT:-}; do
	k=${kv%%=*}; v=${kv#*=}
	want=$([ "$v" = yes ] && echo true || echo false)
	is "this kernel: $k available=$want" "$want" "$(field "$tmp/f.json" "$k" available)"
done
[ -n "${MEMLENS_EXPECT:-}" ] || echo "# no MEMLENS_EXPECT: interfaces not checked against a known kernel"

# which skeleton loaded the BPF programs, and the forced fallback
if [ "$(field "$tmp/f.json" bpf_task_vma available)" = true ]; then
	for kind in light regular; do
		MEMLENS_BPF_SKELETON=$kind "$B/memlens" features -J > "$tmp/$kind.json"
		r=$(field "$tmp/$kind.json" bpf_task_vma reason)
		ok "$(echo "$r" | grep -q "($kind skeleton"; echo $?)" "MEMLENS_BPF_SKELETON=$kind: task_vma loaded by the $kind skeleton ($r)"
		if [ "$(field "$tmp/f.json" bpf_dmabuf available)" = true ]; then
			r=$(field "$tmp/$kind.json" bpf_dmabuf reason)
			ok "$(echo "$r" | grep -q "($kind skeleton"; echo $?)" "MEMLENS_BPF_SKELETON=$kind: the DMA-BUF iterators too ($r)"
		fi
		MEMLENS_BPF_SKELETON=$kind "$B/memlens" maps self -s bpf -r -n -o START,END,PERMS,OFFSET,INODE,NAME > "$tmp/$kind.maps" 2>&1
		ok $? "MEMLENS_BPF_SKELETON=$kind: maps self -s bpf works"
	done
	# the kernels of the matrix all run the light loader (BPF_PROG_TYPE_SYSCALL, 5.14+)
	ok "$(field "$tmp/f.json" bpf_task_vma reason | grep -q '(light skeleton'; echo $?)" \
		"by default the light skeleton ($(field "$tmp/f.json" bpf_task_vma reason))"
fi

if [ "$(id -u)" = 0 ] && command -v setpriv > /dev/null; then
	cp "$B/memlens" "$tmp/"; chmod 755 "$tmp/memlens"
	setpriv --reuid=nobody --regid=nogroup --clear-groups --inh-caps=-all --bounding-set=-all \
		"$tmp/memlens" features -J > "$tmp/u.json"
	check_jobs "$tmp/u.json" nobody
	setpriv --reuid=nobody --regid=nogroup --clear-groups --inh-caps=-all --bounding-set=-all \
		"$tmp/memlens" maps --all -v 2>&1 >/dev/null | picked > "$tmp/u.picked"
	is "nobody: maps --all uses what features says" "$(field "$tmp/u.json" maps_all value)" "$(cat "$tmp/u.picked")"
	is "nobody: no BPF" false "$(field "$tmp/u.json" bpf_task_vma available)"
	is "nobody: BPF unavailable is EPERM" EPERM "$(field "$tmp/u.json" bpf_task_vma value)"
fi
echo "1..$n"
