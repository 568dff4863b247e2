/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * What a source is (util-linux lsfd's struct file_class): one kernel
 * interface, described once in the file that reads it, with its entry points
 * in one signature per family, and what it can do as capability flags.  The
 * selector (select.c) keeps the table of them and each job's order, and is
 * the only place that chooses; jobs call a source through its
 * description, and a source never asks the selector or the probe table: what
 * it may use beyond its interface is its 'also' interface, probed for it
 * before it is called (ml_has()).
 */
#ifndef MEMLENS_SOURCE_H
#define MEMLENS_SOURCE_H

#include "records.h"
#include "procfs.h"

/* ---- VMAs ---- */
struct ml_vma_req {
	struct memlens *ml;
	pid_t pid;		/* 0: every process (sources with all_in_one_pass) */
	int maps_fd;		/* /proc/<pid>/maps, held open by the process handle; -1 for every process */
	bool kernel_bid;	/* ask the kernel for build IDs with each VMA */
};

struct ml_vma_ops {
	/* every VMA of req->pid (of every process when pid is 0) into set */
	int (*walk)(const struct ml_vma_req *req, struct memlens_vma_set *set);
	/* the VMA covering addr, or with MEMLENS_FIND_COVERING_OR_NEXT the next
	 * one, that matches flags; -ENOENT none.  NULL: the job walks and picks */
	int (*query)(const struct ml_vma_req *req, uint64_t addr, uint32_t flags, struct memlens_vma *v,
		     char *name, size_t name_size, size_t *name_len);
	bool all_in_one_pass;	/* walk(pid 0) covers every process */
};

/* ---- DMA-BUF ---- */
struct ml_dmabuf_raw;
struct ml_dmabuf_ops {
	/* holders (fds, mappings) and, where the source has it, the system-wide list */
	int (*collect)(struct memlens *ml, const char *pin_dir, struct ml_dmabuf_raw *raw);
};

/* ---- page backing ---- */
struct ml_pages_req {
	struct memlens *ml;
	int pagemap_fd;		/* /proc/<pid>/pagemap */
	uint32_t huge;		/* MEMLENS_PAGE_THP or _HUGETLB: what a huge page is in this VMA */
};
struct ml_pages_ops {
	/* ranges of [start, end), one VMA's part, into p; NULL: no ranges (totals only) */
	int (*scan)(const struct ml_pages_req *req, uint64_t start, uint64_t end, struct memlens_pages *p);
};

/* ---- build IDs ---- */
struct ml_build_id_ops {
	/* the mapped file of v, opened (checked to be the mapped inode): an fd or
	 * -errno.  NULL: the build ID comes with the VMA (ML_CAP_WITH_VMA) */
	int (*open)(pid_t pid, const struct memlens_vma *v);
};

/* ---- mm counters ---- */
/* one process's counters as a whole-system pass found them */
struct ml_counters_row {
	int32_t pid;
	bool no_mm;		/* no memory of its own (a kernel thread): no row */
	char comm[16];
	uint64_t start_time;	/* clock ticks after boot, as stat's starttime */
	struct ml_counters c;
	/* its unified and v1 memory cgroups' ids (inode numbers); 0: unknown */
	uint64_t cgroup_id, memcg_id;
};
/* pid order, for sorting and searching a pass's rows */
static inline int ml_counters_row_cmp(const void *a, const void *b)
{
	const struct ml_counters_row *x = a, *y = b;

	return x->pid < y->pid ? -1 : x->pid > y->pid;
}

struct ml_counters_ops {
	/* every process's counters in one pass, in pid order (*rows the
	 * caller's to free); NULL: the source reads one process at a time */
	int (*all)(struct memlens *ml, struct ml_counters_row **rows, size_t *n);
	/* one process's (also, for a source with all, one its pass did not
	 * see): -ESRCH gone, -EPROTO none (a kernel thread) */
	int (*one)(pid_t pid, struct ml_counters *c);
};

/* What a source can do beyond its family's entry points.  A job asks these,
 * never which source it is. */
enum {
	ML_CAP_GATE_VMA = 1 << 0,	/* its walk shows the gate VMA ([vsyscall]) itself */
	ML_CAP_VMA_BUILD_ID = 1 << 1,	/* its 'also' interface gives build IDs with each VMA */
	ML_CAP_WITH_VMA = 1 << 2,	/* a build ID source that answers with the VMA, reading no file */
	ML_CAP_RANGES = 1 << 3,		/* a pages source with ranges (needs /proc/<pid>/pagemap) */
	ML_CAP_HUGE = 1 << 4,		/* its ranges tell THP and hugetlb pages */
	ML_CAP_HUGE_ALSO = 1 << 5,	/* ... where its 'also' interface is there */
	ML_CAP_PINS = 1 << 6,		/* reads pinned iterators (a pin directory) */
};

struct ml_source {
	enum memlens_source id;
	const char *name;		/* what -s and --pages-source take, and every output says */
	enum memlens_iface iface;	/* usable when this probes usable */
	int also;			/* an interface it uses when there, probed with it; -1: none */
	uint32_t caps;			/* ML_CAP_* */
	/* why it is there in that order: what it costs for the job, measured
	 * (make bench, docs/benchmarks.md); said by -v and features */
	const char *cost[__MEMLENS_JOB_MAX];
	/* usable without its interface (pinned iterators): 0 and why, else non-zero */
	int (*ready)(struct memlens *ml, const char *pin_dir, char *why, size_t len);
	union {
		struct ml_vma_ops vma;
		struct ml_dmabuf_ops dmabuf;
		struct ml_pages_ops pages;
		struct ml_build_id_ops bid;
		struct ml_counters_ops counters;
	};
};

#endif
