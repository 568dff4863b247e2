# What the running kernel and the caller's privileges must support, worked
# out from the kernel itself (version, BTF, capabilities, /dev nodes), never
# from memlens: one rule per interface of `memlens features`, the same on the
# host and in the VM guests (docs/testing.md).  tests/run.sh exports them as
# MEMLENS_EXPECT="name=yes|no ..." (a guest's known facts from tests/vm/run.sh
# after them); features.sh checks every one against `features -J`, and a test
# that finds a source unavailable fails instead of skipping where the rules
# say it must work (tests/unit/tap.h, expected() below).
# Sourced; defines expect_rules (prints the list) and expected NAME.

# version as a number: 6.18.44 -> 61844 (patch capped at 99)
_kver() {
	local r=${1:-$(uname -r)} a b c
	IFS=.- read -r a b c _ <<< "$r"
	c=${c%%[!0-9]*}
	echo $(( a * 10000 + b * 100 + (${c:-0} > 99 ? 99 : ${c:-0}) ))
}
# an effective capability, by number, from /proc/self/status
_cap() {
	local eff
	eff=$(awk '/^CapEff:/ {print $2}' /proc/self/status)
	(( (0x$eff >> $1) & 1 ))
}
expect_rules() {
	local k btf=no bpfcap=no admin=no cr=no
	k=$(_kver)
	[ -r /sys/kernel/btf/vmlinux ] && btf=yes
	_cap 21 && admin=yes					# CAP_SYS_ADMIN
	{ [ $admin = yes ] || { _cap 39 && _cap 38; }; } && bpfcap=yes	# CAP_BPF + CAP_PERFMON
	{ [ $admin = yes ] || _cap 40; } && cr=yes		# CAP_CHECKPOINT_RESTORE
	yn() { if "$@"; then echo yes; else echo no; fi; }
	echo "maps_text=yes pagemap=yes btf=$btf"
	echo "procmap_query=$(yn [ "$k" -ge 61100 ])"
	echo "procmap_query_build_id=$(yn [ "$k" -ge 61200 ])"
	echo "pagemap_scan=$(yn [ "$k" -ge 60700 ])"
	# root reads /proc/kpageflags (mode 0400)
	echo "kpageflags=$(yn [ "$(id -u)" = 0 ])"
	echo "map_files=$cr"
	# the VMA walk: iter/task_vma (5.12) with BTF and the privilege to load
	# it; its unnamed variant needs nothing more, so it must load wherever
	# the iterator exists, whatever the kernel thinks of vm_file
	local vma=$(yn [ "$k" -ge 51200 -a $btf = yes -a $bpfcap = yes ])
	echo "bpf_task_vma=$vma bpf_task_vma_nopath=$vma"
	echo "bpf_iter_pid=$(yn [ $vma = yes -a "$k" -ge 60100 ])"
	# the mm counters' pass: iter/task (5.8) with BTF and the privilege
	echo "bpf_task_mm=$(yn [ "$k" -ge 50800 -a $btf = yes -a $bpfcap = yes ])"
	# its open-coded walk: bpf_iter_task_new() (6.7)
	echo "bpf_task_mm_procs=$(yn [ "$k" -ge 60700 -a $btf = yes -a $bpfcap = yes ])"
	# iter/dmabuf: 6.16
	local it=$(yn [ "$k" -ge 61600 -a $btf = yes ])
	echo "bpf_iter_dmabuf=$it bpf_dmabuf=$(yn [ $it = yes -a $bpfcap = yes ])"
	echo "dmabuf_exporter=$(yn [ -e /dev/udmabuf -o -n "$(ls /dev/dma_heap 2>/dev/null)" ])"
}
# expected NAME: yes, no, or "" (no rule)
expected() {
	local kv v=""
	for kv in ${MEMLENS_EXPECT:-}; do [ "${kv%%=*}" = "$1" ] && v=${kv#*=}; done
	echo "$v"
}
# unavailable NAME TEXT: a source or interface was unavailable; where the rules
# say it must work that is a failure, else a skip (TEXT says why)
unavailable() {
	if [ "$(expected "$1")" = yes ]; then
		ok 1 "$2: $1 is expected on this kernel ($(uname -r)) and privileges, and is unavailable"
	else
		skip "$2"
	fi
}
# the interface a source of a job needs: vma_iface bpf|ioctl|text,
# dmabuf_iface bpf|procfs ("" when nothing beyond /proc)
vma_iface() { case $1 in bpf) echo bpf_task_vma ;; ioctl) echo procmap_query ;; text) echo maps_text ;; esac; }
dmabuf_iface() { case $1 in bpf) echo bpf_dmabuf ;; esac; }
# for a part run elsewhere (tap.sh's res): S where a skip is allowed, 1 where
# the rules want NAME to work
skip_code() { if [ "$(expected "$1")" = yes ]; then echo 1; else echo S; fi; }
