#!/bin/bash
# memlens features tells the truth: the source each job uses follows from the
# interfaces, and the interfaces are what this kernel and these privileges must
# have (tests/helpers/expect.sh's rules, and in the VM guests what the kernel
# of the matrix is known to have): MEMLENS_EXPECT="procmap_query=no ...".
# Every variant of the VMA walk is loaded and walked where the rules want it,
# and a program the verifier refuses is said to be the verifier's doing.
# Usage: tests/features.sh BUILD_DIR    (TAP on stdout)
set -u
B=$(cd "${1:-build}" && pwd)
. "$(dirname "$0")/helpers/tap.sh"
. "$(dirname "$0")/helpers/expect.sh"
[ -n "${MEMLENS_EXPECT:-}" ] || MEMLENS_EXPECT=$(expect_rules | tr '\n' ' ')
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

# every rule, against what features says; a name given twice (the rules,
# then a guest's known facts) must be given the same answer
declare -A said=()
for kv in $MEMLENS_EXPECT; do
	k=${kv%%=*}; v=${kv#*=}
	if [ -n "${said[$k]:-}" ] && [ "${said[$k]}" != "$v" ]; then
		ok 1 "the rules and the matrix agree on $k (${said[$k]} vs $v)"
	fi
	said[$k]=$v
done
for k in "${!said[@]}"; do
	case $k in bpf_task_vma_* | bpf_task_mm_*) continue ;; esac	# the variants: below
	want=$([ "${said[$k]}" = yes ] && echo true || echo false)
	is "this kernel: $k available=$want ($(field "$tmp/f.json" "$k" reason | head -c 200))" "$want" "$(field "$tmp/f.json" "$k" available)"
done

# each variant of the VMA walk, forced: loads where the rules want it, and
# walks every process as the text does (tests/walk.sh compares the records)
for v in nopath d_path; do
	MEMLENS_BPF_VMA_VARIANT=$v "$B/memlens" features -J > "$tmp/v.json"
	got=$(field "$tmp/v.json" bpf_task_vma available)
	r=$(field "$tmp/v.json" bpf_task_vma reason)
	case $(expected "bpf_task_vma_$v") in
	yes) is "variant $v: loads here ($r)" true "$got" ;;
	no) is "variant $v: does not load here ($r)" false "$got" ;;
	*) if [ "$got" = true ]; then ok 0 "variant $v: loads ($r)"; else skip "variant $v: not loaded by this kernel ($r)"; fi ;;
	esac
	# a refusal with every capability held is the verifier's, in its own words
	if [ "$got" != true ] && [ "$(expected bpf_task_vma)" = yes ]; then
		ok "$(echo "$r" | grep -q "the kernel's verifier refused task_vma"; echo $?)" "variant $v refused: the reason names the verifier"
	fi
done

# each variant of the mm counters' pass, forced, and the one picked: the
# open-coded walk (task_mm_procs) where the rules want it, else the kernel's
# task walk (test_counters compares their figures with status)
for v in procs iter; do
	rule=bpf_task_mm; want="(task_mm:"
	[ $v = procs ] && rule=bpf_task_mm_procs && want="(task_mm_procs:"
	# the light loader is a BPF_PROG_TYPE_SYSCALL program (5.14+)
	kinds="regular"; [ "$(_kver)" -ge 51400 ] && kinds="light regular"
	for kind in $kinds; do
		MEMLENS_BPF_MM_VARIANT=$v MEMLENS_BPF_SKELETON=$kind "$B/memlens" features -J > "$tmp/m.json"
		got=$(field "$tmp/m.json" bpf_task_mm available)
		r=$(field "$tmp/m.json" bpf_task_mm reason)
		case $(expected $rule) in
		yes) ok "$([ "$got" = true ] && echo "$r" | grep -qF "$want" && echo "$r" | grep -q "$kind skeleton"; echo $?)" \
			"mm variant $v, $kind skeleton: loads here ($r)" ;;
		no) is "mm variant $v, $kind skeleton: does not load here ($r)" false "$got" ;;
		*) skip "mm variant $v: no rule for this kernel ($r)" ;;
		esac
	done
done
r=$(field "$tmp/f.json" bpf_task_mm reason)
if [ "$(expected bpf_task_mm_procs)" = yes ]; then
	ok "$(echo "$r" | grep -qF "(task_mm_procs:"; echo $?)" "the mm counters' pass picked: the open-coded walk here ($r)"
elif [ "$(expected bpf_task_mm)" = yes ]; then
	ok "$(echo "$r" | grep -qF "(task_mm:"; echo $?)" "the mm counters' pass picked: the kernel's task walk here ($r)"
else
	skip "no mm counters' pass here: $r"
fi

# a program the verifier refuses (MEMLENS_TEST_BPF_REFUSE), with every
# capability held: the reason is the verifier's last line, -v its log's end
if [ "$(expected bpf_task_vma)" = yes ]; then
	MEMLENS_BPF_VMA_VARIANT=nopath MEMLENS_TEST_BPF_REFUSE=task_vma_nopath "$B/memlens" features -J -v > "$tmp/r.json" 2> "$tmp/r.err"
	r=$(field "$tmp/r.json" bpf_task_vma reason)
	is "a refused program: bpf_task_vma unavailable" false "$(field "$tmp/r.json" bpf_task_vma available)"
	ok "$(echo "$r" | grep -q "^the kernel's verifier refused task_vma_nopath: .*\(invalid access to map value\|unbounded memory access\|R3\)"; echo $?)" \
		"a refused program: the reason names the verifier and quotes its last line ($r)"
	ok "$(echo "$r" | grep -qi 'CAP_BPF\|capabilit'; [ $? = 1 ]; echo $?)" "a refused program: the reason says nothing of capabilities"
	ok "$(grep -q "the verifier's log, its end" "$tmp/r.err" && grep -q 'call bpf_seq_write' "$tmp/r.err"; echo $?)" \
		"a refused program: -v shows the end of the verifier's log"
	is "a refused program: maps --all falls back to text" text \
		"$(MEMLENS_BPF_VMA_VARIANT=nopath MEMLENS_TEST_BPF_REFUSE=task_vma_nopath "$B/memlens" maps --all -v 2>&1 >/dev/null | picked)"
else
	skip "no VMA walk here to refuse: $(field "$tmp/f.json" bpf_task_vma reason)"
fi

# which skeleton loaded the BPF programs, and the forced fallback
if [ "$(field "$tmp/f.json" bpf_task_vma available)" = true ]; then
	for kind in light regular; do
		MEMLENS_BPF_SKELETON=$kind "$B/memlens" features -J > "$tmp/$kind.json"
		r=$(field "$tmp/$kind.json" bpf_task_vma reason)
		ok "$(echo "$r" | grep -q "[(;] *$kind skeleton"; echo $?)" "MEMLENS_BPF_SKELETON=$kind: task_vma loaded by the $kind skeleton ($r)"
		if [ "$(field "$tmp/f.json" bpf_dmabuf available)" = true ]; then
			r=$(field "$tmp/$kind.json" bpf_dmabuf reason)
			ok "$(echo "$r" | grep -q "($kind skeleton"; echo $?)" "MEMLENS_BPF_SKELETON=$kind: the DMA-BUF iterators too ($r)"
		fi
		MEMLENS_BPF_SKELETON=$kind "$B/memlens" maps self -s bpf -r -n -o START,END,PERMS,OFFSET,INODE,NAME > "$tmp/$kind.maps" 2>&1
		ok $? "MEMLENS_BPF_SKELETON=$kind: maps self -s bpf works"
	done
	# the kernels of the matrix all run the light loader (BPF_PROG_TYPE_SYSCALL, 5.14+)
	ok "$(field "$tmp/f.json" bpf_task_vma reason | grep -q '[(;] *light skeleton'; echo $?)" \
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
	for i in bpf_task_vma bpf_dmabuf; do
		[ "$(expected "${i/bpf_dmabuf/bpf_iter_dmabuf}")" = yes ] || continue
		ok "$(field "$tmp/u.json" $i reason | grep -q 'needs CAP_BPF and CAP_PERFMON.*CAP_BPF and CAP_PERFMON not held'; echo $?)" \
			"nobody: $i's reason is the missing capabilities, checked ($(field "$tmp/u.json" $i reason))"
	done
fi
echo "1..$n"
