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
ML_PERCPU_MAP(cpu_probe, __u64);

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

/* each CPU's offset, found once (they hold for the boot: a reader racing
 * the first pass writes the same numbers); cpu_off_n of them, 0 until then.
 * A map of their own, not .bss: a skeleton carries its .bss's bytes, and
 * 64 kB of zeros in each was a quarter of the binary's read-only data */
struct cpu_offs {
	__u64 off[ML_CPUS_MAX];
};
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct cpu_offs);
} cpu_off_map SEC(".maps");
__u32 cpu_off_n;

/* the offsets, filled: NULL where the map's per-CPU pointer cannot be read */
static __always_inline struct cpu_offs *cpu_offsets(void)
{
	__u64 base = 0;
	__u32 zero_key = 0, n = 0;
	struct cpu_offs *co = bpf_map_lookup_elem(&cpu_off_map, &zero_key);

	if (!co)
		return NULL;
	if (cpu_off_n)
		return co;
	if (bpf_probe_read_kernel(&base, sizeof(base),
				  (void *)(addr_of(&cpu_probe) + bpf_core_field_offset(struct bpf_array___ml, pptrs))) ||
	    !base)
		return NULL;
	for (__u32 cpu = 0; cpu < nr_cpus && cpu < ML_CPUS_MAX; cpu++) {
		void *here = bpf_map_lookup_percpu_elem(&cpu_probe, &zero_key, cpu);

		if (!here)
			break;	/* past the last possible CPU */
		co->off[cpu] = addr_of(here) - base;
		n = cpu + 1;
	}
	cpu_off_n = n;
	return n > 0 ? co : NULL;
}

#define ML_PCPU_SZ_MAX 128	/* a percpu_counter, at most (lockdep's spinlocks make it larger) */
#define ML_PARTS_SPAN 32	/* the four counters' per-CPU parts, one block of 8-byte slots (6.5+) */

/* room for the reads, per CPU (more than the stack holds); the verifier
 * inlines the lookup of a per-CPU array */
struct scratch {
	__u8 buf[ML_MM_COUNTERS * ML_PCPU_SZ_MAX];
	__u8 pb[ML_PARTS_SPAN + sizeof(__s32)];	/* a masked offset may reach past the span */
};
ML_SCRATCH_MAP(struct scratch);

/* the counters' per-CPU parts added to their counts (percpu_counter_sum()).
 * Helper calls are what a pass costs per process: the four counters come
 * in one read, and each CPU's four parts in one where they are one block
 * (percpu_counter_init_many(), 6.5+), else one read each. */
static __always_inline void pcpu_sum(struct mm_struct___pcpu *m, __s64 count[ML_MM_COUNTERS])
{
	__u32 tsz = bpf_core_type_size(struct percpu_counter___pcpu);
	__u32 ocount = bpf_core_field_offset(struct percpu_counter___pcpu, count);
	__u32 oparts = bpf_core_field_offset(struct percpu_counter___pcpu, counters);
	__u64 parts[ML_MM_COUNTERS], lo = ~0ULL, hi = 0;
	__u32 zero = 0;
	struct scratch *sc = bpf_map_lookup_elem(&scratch_map, &zero);
	struct cpu_offs *co;
	__u8 *buf;
	bool block;

	if (!sc)
		return;
	buf = sc->buf;
	if (tsz > ML_PCPU_SZ_MAX || ocount + 8 > tsz || oparts + 8 > tsz ||
	    bpf_probe_read_kernel(buf, ML_MM_COUNTERS * tsz, (void *)m + bpf_core_field_offset(struct mm_struct___pcpu, rss_stat)))
		return;
#pragma unroll
	for (int i = 0; i < ML_MM_COUNTERS; i++) {
		__builtin_memcpy(&count[i], buf + i * tsz + ocount, 8);
		__builtin_memcpy(&parts[i], buf + i * tsz + oparts, 8);
		if (parts[i] < lo)
			lo = parts[i];
		if (parts[i] > hi)
			hi = parts[i];
	}
	if (!lo || !(co = cpu_offsets()))
		return;
	block = hi - lo <= ML_PARTS_SPAN - sizeof(__s32);
	for (__u32 cpu = 0; cpu < nr_cpus && cpu < cpu_off_n && cpu < ML_CPUS_MAX; cpu++) {
		__u64 off = co->off[cpu];
		__u8 *pb = sc->pb;

		if (block && !bpf_probe_read_kernel(pb, ML_PARTS_SPAN, (void *)(lo + off))) {
#pragma unroll
			for (int i = 0; i < ML_MM_COUNTERS; i++) {
				/* within the span (block says so); masked, as
				 * the verifier wants a bound it can see */
				__u64 d = (parts[i] - lo) & (ML_PARTS_SPAN - 1);
				__s32 part;

				__builtin_memcpy(&part, pb + d, sizeof(part));
				count[i] += part;
			}
			continue;
		}
#pragma unroll
		for (int i = 0; i < ML_MM_COUNTERS; i++) {
			__s32 part = 0;

			if (!bpf_probe_read_kernel(&part, sizeof(part), (void *)(parts[i] + off)))
				count[i] += part;
		}
	}
}

/* the ids of task's cgroups, by direct loads (the program runs under RCU,
 * which task->cgroups is freed after): the unified one's, and where that
 * is the root (its path then says nothing: the v1 memory controller's path
 * is shown) the memory controller's, whose css is at its index in the
 * css_set, the running kernel's value of memory_cgrp_id (none without
 * CONFIG_MEMCG) */
static __always_inline void cgroup_ids(struct task_struct *task, struct ml_mm_rec *r)
{
	struct css_set *cs = task->cgroups;
	struct cgroup_subsys_state *css, **slot;
	struct cgroup *cg;

	if (!cs)
		return;
	cg = cs->dfl_cgrp;
	if (!cg || !cg->kn)
		return;
	r->cgroup_id = cg->kn->id;
	if (cg->level || !bpf_core_enum_value_exists(enum cgroup_subsys_id, memory_cgrp_id))
		return;
	/* a constant offset into the css_set (both parts relocated by
	 * libbpf), so the verifier walks the kernel's own type to it */
	slot = (void *)cs + bpf_core_field_offset(struct css_set, subsys) +
	       bpf_core_enum_value(enum cgroup_subsys_id, memory_cgrp_id) * sizeof(void *);
	css = *slot;
	if (css && css->cgroup && css->cgroup->kn)
		r->memcg_id = css->cgroup->kn->id;
}

/* task's record into r; false when there is none to emit (a thread, or a
 * task the reader cannot see) */
static __always_inline bool fill(struct task_struct *task, __u32 level, __u64 ns, struct ml_mm_rec *r)
{
	struct mm_struct *mm;
	__s64 count[ML_MM_COUNTERS] = {};
	__s32 tid;

	/* the leader speaks for its process */
	if (task->pid != task->tgid)
		return false;
	__builtin_memset(r, 0, sizeof(*r));
	if (!task_vpids(task, level, ns, &r->tgid, &tid))
		return false;
	/* said, so that userspace need not ask status to learn it */
	mm = task->mm;
	if (!mm || (task->flags & ML_PF_KTHREAD)) {
		r->flags = ML_MM_REC_NO_MM;
		return true;
	}
	/* direct loads (the verifier's checked, faulting-safe ones), no helper */
	r->start_boottime = task->start_boottime;
	r->total_vm = mm->total_vm;
	cgroup_ids(task, r);
	if (bpf_core_field_exists(struct mm_struct___pcpu, rss_stat))
		pcpu_sum((void *)mm, count);
	else	/* an atomic_long_t each, one read */
		bpf_probe_read_kernel(count, sizeof(count),
				      (void *)mm + bpf_core_field_offset(struct mm_struct___atomic, rss_stat));
#pragma unroll
	for (int i = 0; i < ML_MM_COUNTERS; i++)
		r->count[i] = count[i] < 0 ? 0 : count[i] > 0xffffffffLL ? 0xffffffffU : (__u32)count[i];
	/* comm is always NUL-terminated within its 16 bytes (set_task_comm):
	 * copied whole, by direct loads */
	__builtin_memcpy(r->comm, task->comm, sizeof(r->comm));
	return true;
}

#ifndef ML_MM_PROCS
/* the kernel's walk: every task (thread) in the reader's pid namespace, one
 * program run and one seq_file record each */
SEC("iter/task")
int memlens_task_mm(struct bpf_iter__task *ctx)
{
	struct task_struct *task = ctx->task;
	struct ml_mm_rec r;
	__u32 level;
	__u64 ns;

	if (!task)
		return 0;
	reader_pidns(&level, &ns);
	if (fill(task, level, ns, &r))
		bpf_seq_write(ctx->meta->seq, &r, sizeof(r));
	return 0;
}
#else
/* 6.7+: one run (the iterator is linked to the reader's own thread) walks
 * the task list's processes with the open-coded task iterator: no thread,
 * no pid lookup or task reference per task, as next_task() walks them under
 * RCU.  The records go to an mmapable array userspace reads in place; the
 * run's seq_file output is only how many (struct ml_mm_sum). */
struct bpf_iter_task {
	__u64 __opaque[3];
} __attribute__((aligned(8)));

#define ML_TASK_ITER_ALL_PROCS 0	/* BPF_TASK_ITER_ALL_PROCS */

extern int bpf_iter_task_new(struct bpf_iter_task *it, struct task_struct *task, unsigned int flags) __ksym;
extern struct task_struct *bpf_iter_task_next(struct bpf_iter_task *it) __ksym;
extern void bpf_iter_task_destroy(struct bpf_iter_task *it) __ksym;

/* sized by userspace before the load (bpf_map__set_max_entries) */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, struct ml_mm_rec);
} recs SEC(".maps");

/* the run's counts: globals, not locals, so that the verifier does not
 * track their values (as locals, each count is a state of its own, and the
 * loop is never seen to converge) */
__u32 recs_n, recs_lost;

extern void *bpf_rdonly_cast(const void *obj, __u32 btf_id) __ksym;

/* one process's record, verified once on its own (a global function): the
 * walk's loop is then small enough for the verifier to see it converge.
 * The task comes as the address in *where: a global function takes no
 * pointer the iterator gives (arg:trusted refuses RCU-protected ones); the
 * number read back is the task again by bpf_rdonly_cast(), read by the
 * verifier's faulting-safe direct loads, as the walk's own pointer is. */
__attribute__((noinline)) int fill_one(__u64 *where, __u32 level, __u64 ns, struct ml_mm_rec *r)
{
	struct task_struct *t;

	if (!where || !r)	/* a global function's pointers may be NULL, says the verifier */
		return 0;
	t = bpf_rdonly_cast((void *)*where, bpf_core_type_id_kernel(struct task_struct));
	return fill(t, level, ns, r);
}

SEC("iter/task")
int memlens_task_mm(struct bpf_iter__task *ctx)
{
	struct task_struct *task = ctx->task, *t;
	struct ml_mm_sum sum = {};
	struct bpf_iter_task it;
	__u32 level;
	__u64 ns;

	if (!task)
		return 0;
	reader_pidns(&level, &ns);
	recs_n = 0;
	recs_lost = 0;
	/* the task argument is unused for ALL_PROCS (given: before 6.9 it may
	 * not be NULL) */
	bpf_iter_task_new(&it, task, ML_TASK_ITER_ALL_PROCS);
	while ((t = bpf_iter_task_next(&it))) {
		__u32 n = recs_n;
		struct ml_mm_rec *r = bpf_map_lookup_elem(&recs, &n);
		__u64 where;

		if (!r) {
			recs_lost++;	/* past the map's end: userspace makes room */
			continue;
		}
		__builtin_memcpy(&where, &t, sizeof(where));
		if (fill_one(&where, level, ns, r))
			recs_n = n + 1;
	}
	bpf_iter_task_destroy(&it);
	sum.n = recs_n;
	sum.lost = recs_lost;
	bpf_seq_write(ctx->meta->seq, &sum, sizeof(sum));
	return 0;
}
#endif
