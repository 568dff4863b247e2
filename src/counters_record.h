/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The fixed-size binary record of the mm-counter BPF iterator (task_mm.bpf.c,
 * bpf_seq_write), shared by the BPF program and userspace.
 */
#ifndef MEMLENS_COUNTERS_RECORD_H
#define MEMLENS_COUNTERS_RECORD_H

/* the kernel's mm counters (include/linux/mm_types_task.h), in this order
 * since 4.5 */
enum {
	ML_MM_FILEPAGES,
	ML_MM_ANONPAGES,
	ML_MM_SWAPENTS,
	ML_MM_SHMEMPAGES,
	ML_MM_COUNTERS
};

#define ML_MM_REC_NO_MM 1	/* no memory of its own (a kernel thread, a dead leader): nothing else set */

/* iter/task: one per process (its leader) */
struct ml_mm_rec {
	__s32 tgid;		/* in the reader's pid namespace */
	__u32 flags;		/* ML_MM_REC_* */
	__u64 start_boottime;	/* ns after boot (stat's starttime, before its division) */
	__u64 total_vm;		/* pages (statm's size, status's VmSize) */
	/* its cgroups' ids (their kernfs inode numbers, as stat() shows
	 * them on 64-bit): the unified hierarchy's, and the v1 memory
	 * controller's (on a v2-only machine, the v2 cgroup memory is
	 * charged to); 0 where unknown */
	__u64 cgroup_id, memcg_id;
	/* pages, per-CPU parts summed (negative: 0; above 2^32 - 1, 16 TiB
	 * of 4 KiB pages: that) */
	__u32 count[ML_MM_COUNTERS];
	char comm[16];
};

/* the open-coded walk (6.7+): its one seq_file record; the records are in
 * its map, n of them, and lost processes found no room (then the map is
 * made larger and the pass run again) */
struct ml_mm_sum {
	__u32 n;
	__u32 lost;
};

#endif
