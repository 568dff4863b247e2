/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The metric families of the exporter and of snapshot --openmetrics (metrics.c). */
#ifndef MEMLENS_CLI_METRICS_H
#define MEMLENS_CLI_METRICS_H

#include <stdbool.h>
#include <stdio.h>
#include "memlens.h"

/* a label value longer than this (escaped) is cut */
#define METRICS_LABEL_MAX 256
#define METRICS_LABEL_MAX_S "256"
/* the cgroup or comm label of the groups past --top-groups, summed */
#define METRICS_OTHER "(other)"

/* the exporter's own process, as Prometheus client libraries export it */
struct metrics_self {
	double cpu_seconds;		/* user + system, every thread */
	double start_time;		/* since the epoch */
	unsigned long long rss, vss;	/* bytes */
	long open_fds, max_fds;
	const char *revision;		/* the commit built, or "unknown" */
	const char *kernel;		/* uname's release */
	bool process;			/* the process_* families (not in a textfile:
					 * node_exporter writes its own) */
};

struct metrics_in {
	const struct memlens_snapshot *snap;	/* taken with cgroups */
	const struct memlens_dmabuf *dmabuf;	/* NULL: no DMA-BUF source answered */
	size_t top;		/* per-process series for the top N by PSS */
	size_t top_groups;	/* cgroup and comm series for the top N by PSS, the rest as one "(other)"; 0: all */
	bool per_process;	/* ... or for every process */
	bool openmetrics;	/* else Prometheus text 0.0.4 */
	bool self;		/* the exporter's own: scrape duration and errors */
	double scrape_seconds;
	unsigned long long scrape_errors;
	unsigned long long collections;
	unsigned long long heap_bytes;	/* the exporter's live heap (cli_heap_bytes()) */
	const struct metrics_self *proc;	/* with .self: the process_* families */
	/* the exporter's: for snapshot row i, the row to show (itself, or a
	 * copy with the rollups it did not read filled from earlier ones;
	 * NULL: the snapshot's own), and its age in seconds (-1: none known,
	 * over budget) */
	const struct memlens_proc_usage *const *rows;
	const double *ages;
	size_t pss_read, pss_cached, pss_missing;
	double budget_seconds;
};

/* bytes the process holds allocated now: glibc's mallinfo2() (in use, not
 * free memory malloc keeps), or under ASan its allocator's own count (which
 * leaves out its quarantine of freed blocks) */
unsigned long long cli_heap_bytes(void);

/* 0, or -errno (-EIO: the stream failed) */
int metrics_write(FILE *f, const struct metrics_in *in);

#endif
