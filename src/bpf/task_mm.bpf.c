// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * iter/task (5.8+): one pass over every task, one record per process (its
 * leader): the kernel's mm counters (rss by kind, swap entries), total_vm,
 * comm and start time; for one without memory of its own (a kernel thread)
 * only that, so that nobody reads its status to learn it.  No page walk, no mmap lock, no file per
 * process: the cheap tier (counters_bpf_iter.c).
 *
 * The counters' layout changed in 6.2: before, struct mm_rss_stat holds one
 * atomic_long_t per counter (exact); since, mm->rss_stat[] is an array of
 * percpu_counter, whose count lags its per-CPU parts by up to a batch per
 * CPU.  /proc reads the sum since 6.16 (get_mm_counter_sum); so does this
 * program, on every kernel with the percpu layout: each CPU's s32 part is at
 * counters plus that CPU's per-CPU offset, as per_cpu_ptr() finds it.
 */
#include "memlens_core.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include "../counters_record.h"
#include "pidns.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#define ML_PF_KTHREAD 0x00200000	/* a kernel thread: a borrowed mm at most */
#define ML_CPUS_MAX 8192		/* NR_CPUS's largest Kconfig value */

/* set by userspace before the load: the possible CPUs (a bound the verifier
 * knows, so it walks the loop that many times, not ML_CPUS_MAX) */
const volatile __u32 nr_cpus = 1;

/* A per-CPU map of our own: bpf_map_lookup_percpu_elem() (5.19+) finds CPU
 * n's copy of its value, which less the map's per-CPU pointer to it
 * (bpf_array.pptrs[0]) is CPU n's per-CPU offset, the one per_cpu_ptr() adds:
 * no kernel symbol needed (__per_cpu_offset is not in BTF, and in kallsyms
 * only with CONFIG_KALLSYMS_ALL) */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} cpu_probe SEC(".maps");

struct bpf_array___ml {
	void *pptrs[1];
} __attribute__((preserve_access_index));

/* a pointer's value as a number (the verifier keeps map pointers from
 * arithmetic; a copy of their bytes is a plain number) */
static __always_inline __u64 addr_of(void *p)
{
	__u64 a = 0;

	bpf_probe_read_kernel(&a, sizeof(a), &p);
	return a;
}

/* before 6.2 */
struct mm_rss_stat___atomic {
	atomic_long_t count[ML_MM_COUNTERS];
} __attribute__((preserve_access_index));
struct mm_struct___atomic {
	struct mm_rss_stat___atomic rss_stat;
} __attribute__((preserve_access_index));

/* 6.2+ */
struct percpu_counter___pcpu {
	__s64 count;
	__s32 *counters;
} __attribute__((preserve_access_index));
struct mm_struct___pcpu {
	struct percpu_counter___pcpu rss_stat[ML_MM_COUNTERS];
} __attribute__((preserve_access_index));

/* the counters' per-CPU parts added to their counts (percpu_counter_sum()) */
static __always_inline void pcpu_sum(struct mm_struct___pcpu *m, __s64 count[ML_MM_COUNTERS])
{
	__s32 *parts[ML_MM_COUNTERS];

	/* constant indices: each access is relocated with the kernel's sizes
	 * (an index in a variable would step by this file's) */
	count[ML_MM_FILEPAGES] = BPF_CORE_READ(m, rss_stat[ML_MM_FILEPAGES].count);
	count[ML_MM_ANONPAGES] = BPF_CORE_READ(m, rss_stat[ML_MM_ANONPAGES].count);
	count[ML_MM_SWAPENTS] = BPF_CORE_READ(m, rss_stat[ML_MM_SWAPENTS].count);
	count[ML_MM_SHMEMPAGES] = BPF_CORE_READ(m, rss_stat[ML_MM_SHMEMPAGES].count);
	parts[ML_MM_FILEPAGES] = BPF_CORE_READ(m, rss_stat[ML_MM_FILEPAGES].counters);
	parts[ML_MM_ANONPAGES] = BPF_CORE_READ(m, rss_stat[ML_MM_ANONPAGES].counters);
	parts[ML_MM_SWAPENTS] = BPF_CORE_READ(m, rss_stat[ML_MM_SWAPENTS].counters);
	parts[ML_MM_SHMEMPAGES] = BPF_CORE_READ(m, rss_stat[ML_MM_SHMEMPAGES].counters);
	__u64 base = 0;
	__u32 zero_key = 0;

	if (bpf_probe_read_kernel(&base, sizeof(base),
				  (void *)(addr_of(&cpu_probe) + bpf_core_field_offset(struct bpf_array___ml, pptrs))) ||
	    !base)
		return;
	for (__u32 cpu = 0; cpu < nr_cpus && cpu < ML_CPUS_MAX; cpu++) {
		void *here = bpf_map_lookup_percpu_elem(&cpu_probe, &zero_key, cpu);
		__u64 off;

		if (!here)
			break;	/* past the last possible CPU */
		off = addr_of(here) - base;
		for (int i = 0; i < ML_MM_COUNTERS; i++) {
			__s32 part = 0;

			if (parts[i] && !bpf_probe_read_kernel(&part, sizeof(part), (void *)((__u64)parts[i] + off)))
				count[i] += part;
		}
	}
}

SEC("iter/task")
int memlens_task_mm(struct bpf_iter__task *ctx)
{
	struct seq_file *seq = ctx->meta->seq;
	struct task_struct *task = ctx->task;
	struct mm_struct *mm;
	struct ml_mm_rec r;
	__s32 tid;
	__u32 level;
	__u64 ns;

	/* the iterator shows every thread: the leader speaks for its process */
	if (!task || task->pid != task->tgid)
		return 0;
	__builtin_memset(&r, 0, sizeof(r));
	reader_pidns(&level, &ns);
	if (!task_vpids(task, level, ns, &r.tgid, &tid))
		return 0;
	/* said, so that userspace need not ask status to learn it */
	mm = task->mm;
	if (!mm || (BPF_CORE_READ(task, flags) & ML_PF_KTHREAD)) {
		r.flags = ML_MM_REC_NO_MM;
		bpf_seq_write(seq, &r, sizeof(r));
		return 0;
	}
	r.start_boottime = BPF_CORE_READ(task, start_boottime);
	r.total_vm = BPF_CORE_READ(mm, total_vm);
	if (bpf_core_field_exists(struct mm_struct___pcpu, rss_stat)) {
		pcpu_sum((void *)mm, r.count);
	} else {
		struct mm_struct___atomic *m = (void *)mm;

		r.count[ML_MM_FILEPAGES] = BPF_CORE_READ(m, rss_stat.count[ML_MM_FILEPAGES].counter);
		r.count[ML_MM_ANONPAGES] = BPF_CORE_READ(m, rss_stat.count[ML_MM_ANONPAGES].counter);
		r.count[ML_MM_SWAPENTS] = BPF_CORE_READ(m, rss_stat.count[ML_MM_SWAPENTS].counter);
		r.count[ML_MM_SHMEMPAGES] = BPF_CORE_READ(m, rss_stat.count[ML_MM_SHMEMPAGES].counter);
	}
	for (int i = 0; i < ML_MM_COUNTERS; i++)
		if (r.count[i] < 0)
			r.count[i] = 0;
	bpf_probe_read_kernel_str(r.comm, sizeof(r.comm), task->comm);
	bpf_seq_write(seq, &r, sizeof(r));
	return 0;
}
