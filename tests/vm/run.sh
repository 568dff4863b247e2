#!/bin/bash
# The kernel matrix: boot Debian's cloud kernels under QEMU with an initramfs
# holding memlens and its test suite, run the suite inside, read the results
# back over the serial console.  A kernel that cannot be fetched, panics or
# hangs is a failure, never a skip.
# Usage: tests/vm/run.sh [KERNEL...]   KERNEL: 5.10|bullseye, 6.1|bookworm, 6.12|trixie,
#        newest|trixie-backports, 7.2|sid (default: all)
set -u
cd "$(dirname "$0")/../.."
B=build
TIMEOUT=${VM_TIMEOUT:-1200}

# suite, alias, what the kernel is known to have, beyond what the rules of
# tests/helpers/expect.sh work out (both checked by tests/features.sh, the
# DMA-BUF tests and tests/walk.sh in the guest; the two must agree): each
# guest's exporters, and that the bpf_d_path variant of the VMA walk loads
MATRIX="bullseye 5.10 procmap_query=no,bpf_task_vma=no,bpf_iter_dmabuf=no,dmabuf_exporter=no
bookworm 6.1 procmap_query=no,bpf_task_vma=yes,bpf_task_vma_d_path=yes,bpf_iter_dmabuf=no,dmabuf_exporter=no
trixie 6.12 procmap_query=yes,bpf_task_vma=yes,bpf_task_vma_d_path=yes,bpf_iter_dmabuf=no,dmabuf_exporter=yes
trixie-backports newest procmap_query=yes,bpf_task_vma=yes,bpf_task_vma_d_path=yes,bpf_iter_dmabuf=yes,dmabuf_exporter=yes
sid 7.2 procmap_query=yes,bpf_task_vma=yes,bpf_task_vma_d_path=yes,bpf_iter_dmabuf=yes,dmabuf_exporter=yes"

MODE=test
if [ "${1:-}" = --bench ]; then MODE=bench; shift; fi
want=("$@")
[ ${#want[@]} = 0 ] && want=(all)
sel=""
while read -r suite alias expect; do
	for w in "${want[@]}"; do
		if [ "$w" = all ] || [ "$w" = "$suite" ] || [ "$w" = "$alias" ]; then sel+="$suite $alias $expect"$'\n'; break; fi
	done
done <<< "$MATRIX"
if [ -z "$sel" ]; then echo "vm: unknown kernel '${want[*]}' (5.10, 6.1, 6.12, newest, 7.2, or a suite name)"; exit 2; fi

work=$(mktemp -d /tmp/memlens-vm-XXXXXX)
trap '[ -n "${VM_KEEP:-}" ] || rm -rf "$work"' EXIT

# ---- the initramfs: busybox, bash and the tools the tests use, with their libraries ----
root=$work/root
mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,lib,lib64,etc,proc,sys,dev,tmp,root,memlens} "$root/sys/fs/bpf"
cp /bin/busybox "$root/bin/busybox"
copy_bin() { # copy a program and the shared libraries it needs
	local bin=$1 dest=$2 lib
	install -D -m 755 "$bin" "$root$dest"
	for lib in $(ldd "$bin" 2>/dev/null | grep -o '/[^ ]*'); do
		[ -e "$root$lib" ] || install -D -m 755 "$lib" "$root$lib"
	done
}
for t in bash jq readelf setpriv; do copy_bin "$(command -v $t)" "/usr/bin/$t"; done
ln -s /usr/bin/bash "$root/bin/bash"
copy_bin "$B/memlens" /memlens/build/memlens
# libdw is dlopened by the first symbolization (not in ldd's list): the guests get it too
dw=$(ldconfig -p | awk '$1 == "libdw.so.1" {print $NF; exit}')
[ -n "$dw" ] && copy_bin "$dw" "$dw"
for t in "$B"/tests/*; do copy_bin "$t" "/memlens/build/tests/$(basename "$t")"; done
[ "$MODE" = bench ] && copy_bin "$B/bench/bench" /memlens/build/bench/bench
mkdir -p "$root/memlens/tests"
cp tests/*.sh "$root/memlens/tests/"; mkdir -p "$root/memlens/tests/helpers"; cp tests/helpers/tap.sh tests/helpers/expect.sh tests/helpers/exporter.sh "$root/memlens/tests/helpers/"; rm -f "$root/memlens/tests/check.sh" "$root/memlens/tests/api_example.sh"; cp -r tests/golden "$root/memlens/tests/"
# locales for tests/locale.sh: C.UTF-8, and a non-UTF-8 one built here
mkdir -p "$root/usr/lib/locale"
[ -d /usr/lib/locale/C.utf8 ] && cp -r /usr/lib/locale/C.utf8 "$root/usr/lib/locale/"
localedef -c -i en_US -f ISO-8859-1 "$root/usr/lib/locale/en_US.ISO-8859-1" > /dev/null 2>&1 || true
install -m 755 tests/vm/init "$root/init"
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/sh\n' > "$root/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' > "$root/etc/group"
(cd "$root" && find . | cpio -o -H newc --quiet | gzip -1) > "$work/initrd.gz" || { echo "vm: cannot build the initramfs"; exit 1; }

total_pass=0 total_fail=0 total_skip=0
while read -r suite alias expect; do
	[ -n "$suite" ] || continue
	if ! kernel=$(tests/vm/fetch-kernel.sh "$suite" 2> "$work/fetch.err"); then
		echo "[$alias] FAIL: cannot fetch the $suite kernel: $(tail -3 "$work/fetch.err" | tr '\n' ' ')"
		total_fail=$((total_fail + 1)); continue
	fi
	pkg=$(cat "$(dirname "$kernel")/package" 2>/dev/null)
	log=$work/$suite.log
	start=$(date +%s)
	# -cx16: QEMU 7.2's TCG mis-emulates the gs-prefixed cmpxchg16b SLUB uses
	# (double fault in __kmalloc on 6.12, ~1 boot in 4); without CX16 the kernel
	# takes its locked path and boots every time.
	# thread=single: with multi-threaded TCG each vCPU runs on its own host
	# thread, and QEMU 7.2 does not keep a vCPU's translated code coherent with
	# a live patch (text_poke: int3, new bytes, IPI to sync cores) made by the
	# other; 6.12 once died with "Oops: int3" in the NOP padding of a patched
	# site.  One host thread running both vCPUs in turn sees every patch whole,
	# keeps the guest SMP (2 CPUs: per-CPU BPF scratch, IPIs, races in the
	# tests stay real) and measured no slower (docs/testing.md).
	timeout "$TIMEOUT" qemu-system-x86_64 -kernel "$kernel" -initrd "$work/initrd.gz" \
		-append "console=ttyS0 quiet panic=-1 memlens.expect=$expect memlens.mode=$MODE${MEMLENS_ONLY:+ memlens.only=${MEMLENS_ONLY// /,}}" \
		-nographic -no-reboot -m 1024 -smp 2 -accel tcg,thread=single -cpu qemu64,-cx16 \
		< /dev/null > "$log" 2>&1
	rc=$?
	secs=$(( $(date +%s) - start ))
	# console escapes (SeaBIOS) and CRs out, markers at line starts
	tr -d '\r' < "$log" | sed -e 's/\x1b\[[0-9;?]*[a-zA-Z]//g' -e 's/^.*\(MEMLENS-\)/\1/' > "$log.txt"
	rel=$(sed -n 's/^MEMLENS-BEGIN //p' "$log.txt" | head -1)
	summary=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$log.txt" | tail -1)
	echo "[$alias] $suite kernel ${rel:-?} ($pkg), ${secs}s"
	# the guest's per-test lines and failures
	sed -n '/^MEMLENS-BEGIN/,/^MEMLENS-END/p' "$log.txt" | grep -vE '^MEMLENS-|^[0-9]+ passed' | sed 's/^/  /'
	if [ "$MODE" = bench ]; then
		# the guest's results join bench/results/all.json as benches with ids
		# ending in _guest_<alias>, carrying the guest machine's description
		if ! sed -n 's/^MEMLENS-JSON //p' "$log.txt" | head -1 | jq -e .benches > /dev/null 2>&1; then
			echo "  FAIL: the guest sent back no benchmark results"
			total_fail=$((total_fail + 1)); continue
		fi
		sed -n 's/^MEMLENS-JSON //p' "$log.txt" | head -1 > "$work/guest.json"
		all=bench/results/all.json
		[ -s "$all" ] || echo '{"machine":{},"benches":[]}' > "$all"
		sfx=_guest_${alias//./_}
		jq --slurpfile g "$work/guest.json" --arg sfx "$sfx" \
			'.benches = ([.benches[] | select(.id | endswith($sfx) | not)]
			  + [$g[0].benches[] | .id += $sfx | .machine = $g[0].machine])' \
			"$all" > "$work/all.json" && mv "$work/all.json" "$all"
		echo "  results: $all (ids ending in $sfx)"
	fi
	if [ -z "$summary" ] || ! grep -q '^MEMLENS-END' "$log.txt"; then
		why="no result"
		[ $rc = 124 ] && why="timed out after ${TIMEOUT}s"
		grep -qiE 'Kernel panic|end Kernel panic' "$log.txt" && why="kernel panic"
		echo "  FAIL: $why; last console lines:"; tail -20 "$log.txt" | sed 's/^/    /'
		total_fail=$((total_fail + 1)); continue
	fi
	echo "  $summary"
	# an oops the suite survived is still a failure: it may be ours, and it is
	# never retried
	if grep -qE 'Oops:|BUG:|Kernel panic|general protection fault' "$log.txt"; then
		echo "  FAIL: the kernel oopsed during the run:"
		grep -m1 -A12 -E 'Oops:|BUG:|Kernel panic|general protection fault' "$log.txt" | sed 's/^/    /'
		total_fail=$((total_fail + 1))
	fi
	p=$(echo "$summary" | awk '{print $1}'); f=$(echo "$summary" | awk '{print $3}'); s=$(echo "$summary" | awk '{print $5}')
	total_pass=$((total_pass + p)); total_fail=$((total_fail + f)); total_skip=$((total_skip + ${s:-0}))
done <<< "$sel"

echo "vm: $total_pass passed, $total_fail failed, $total_skip skipped"
[ $total_fail = 0 ]
