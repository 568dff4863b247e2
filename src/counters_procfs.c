// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The mm counters from /proc/<pid>/status (VmRSS, RssAnon, RssFile,
 * RssShmem, VmSwap, VmSize): one small file per process, no page walk and no
 * mmap lock; any kernel, any reader who may read status.
 */
#include <stdio.h>
#include "source.h"

/* no interface to probe beyond /proc itself: always usable, and why */
static int status_ready(struct memlens *ml, const char *pin_dir, char *why, size_t len)
{
	(void)ml;
	(void)pin_dir;
	snprintf(why, len, "/proc/<pid>/status: the mm counters, one file per process");
	return 0;
}

const struct ml_source ml_src_counters_procfs = {
	.id = MEMLENS_SOURCE_COUNTERS_PROCFS,
	.name = "procfs",
	.iface = MEMLENS_IFACE_MAPS_TEXT,
	.also = -1,
	.cost = { [MEMLENS_JOB_COUNTERS] = "an open, a read and a parse of status per process" },
	.ready = status_ready,
	.counters = { .one = ml_proc_counters },
};
