/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The process handle and what the VMA jobs share (vma.c). */
#ifndef MEMLENS_VMA_H
#define MEMLENS_VMA_H

#include "select.h"

struct memlens_proc {
	struct memlens *ml;
	pid_t pid;
	enum memlens_source source;	/* forced, or AUTO */
	int maps_fd;			/* /proc/<pid>/maps, opened at open time */
	int pidfd;			/* the process itself, -1 where pidfd_open fails */
	unsigned long long start_time;	/* the process's, at open time: a reused pid has another */
};

/* the pid now names another process than the one opened: every answer read
 * by pid (BPF, smaps, pagemap) is checked with this after it is read */
ML_HIDDEN bool ml_proc_reused(const struct memlens_proc *proc);

/* the VMA source for job on this process, and the request to call it with;
 * build_ids: the kernel is asked for them where it can give them */
ML_HIDDEN int ml_proc_source(struct memlens_proc *proc, enum memlens_job job, bool build_ids,
			     const struct ml_source **src, struct ml_vma_req *req);
/* the gate VMA ([vsyscall], not in any mm) answers a query the mm could not */
ML_HIDDEN bool ml_gate_covers(struct memlens *ml, uint64_t addr, uint32_t flags);
/* fill build IDs of file-backed VMAs the source left without one; kernel_gave:
 * the kernel already answered (an empty answer means no build ID) */
ML_HIDDEN void ml_fill_build_ids(struct memlens *ml, struct memlens_vma_set *set, bool kernel_gave);
/* the first usable source that opens a mapped file (map_files, proc root) */
ML_HIDDEN const struct ml_source *ml_file_build_id_source(struct memlens *ml);

#endif
