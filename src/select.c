// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The sources and the one choice between them.  Each source describes itself
 * in its own file (struct ml_source); this file lists them, and each job's
 * order, best first, in one table.  A job asks ml_select() for its source:
 * the forced one if usable, else the first usable in that order; -v,
 * features and the tests read the same order through memlens_job__sources().
 */
#include <stdio.h>
#include "core.h"
#include "select.h"

extern const struct ml_source ml_src_procmap_query, ml_src_bpf_task_vma, ml_src_maps_text;
extern const struct ml_source ml_src_dmabuf_bpf, ml_src_dmabuf_procfs;
extern const struct ml_source ml_src_pagemap_scan, ml_src_pagemap, ml_src_smaps;
extern const struct ml_source ml_src_build_id_kernel, ml_src_map_files, ml_src_proc_root;
extern const struct ml_source ml_src_counters_bpf, ml_src_counters_procfs;

static const struct ml_source *const sources[__MEMLENS_SOURCE_MAX] = {
	[MEMLENS_SOURCE_PROCMAP_QUERY] = &ml_src_procmap_query,
	[MEMLENS_SOURCE_BPF_TASK_VMA] = &ml_src_bpf_task_vma,
	[MEMLENS_SOURCE_MAPS_TEXT] = &ml_src_maps_text,
	[MEMLENS_SOURCE_DMABUF_BPF] = &ml_src_dmabuf_bpf,
	[MEMLENS_SOURCE_DMABUF_PROCFS] = &ml_src_dmabuf_procfs,
	[MEMLENS_SOURCE_PAGEMAP_SCAN] = &ml_src_pagemap_scan,
	[MEMLENS_SOURCE_PAGEMAP] = &ml_src_pagemap,
	[MEMLENS_SOURCE_SMAPS] = &ml_src_smaps,
	[MEMLENS_SOURCE_BUILD_ID_KERNEL] = &ml_src_build_id_kernel,
	[MEMLENS_SOURCE_MAP_FILES] = &ml_src_map_files,
	[MEMLENS_SOURCE_PROC_ROOT] = &ml_src_proc_root,
	[MEMLENS_SOURCE_COUNTERS_BPF] = &ml_src_counters_bpf,
	[MEMLENS_SOURCE_COUNTERS_PROCFS] = &ml_src_counters_procfs,
};

/* Each job's sources, best first (why, measured: each source's cost[] and
 * docs/benchmarks.md); the last is the last resort, used when none is usable */
static const enum memlens_source job_order[__MEMLENS_JOB_MAX][__MEMLENS_SOURCE_MAX] = {
	/* one process: a read of maps per ~40 VMAs is the cheapest whole walk
	 * (no program to load); BPF where maps is unreadable; an ioctl per VMA
	 * is the dearest way to list them all */
	[MEMLENS_JOB_WALK] = { MEMLENS_SOURCE_MAPS_TEXT, MEMLENS_SOURCE_BPF_TASK_VMA, MEMLENS_SOURCE_PROCMAP_QUERY },
	/* a point query per VMA the addresses touch beats reading every VMA */
	[MEMLENS_JOB_QUERY] = { MEMLENS_SOURCE_PROCMAP_QUERY, MEMLENS_SOURCE_MAPS_TEXT, MEMLENS_SOURCE_BPF_TASK_VMA },
	/* every process: one BPF pass beats a file per process */
	[MEMLENS_JOB_WALK_ALL] = { MEMLENS_SOURCE_BPF_TASK_VMA, MEMLENS_SOURCE_MAPS_TEXT, MEMLENS_SOURCE_PROCMAP_QUERY },
	[MEMLENS_JOB_DMABUF] = { MEMLENS_SOURCE_DMABUF_BPF, MEMLENS_SOURCE_DMABUF_PROCFS },
	/* one ioctl for a range's backing, then a word per page, then smaps' totals */
	[MEMLENS_JOB_PAGES] = { MEMLENS_SOURCE_PAGEMAP_SCAN, MEMLENS_SOURCE_PAGEMAP, MEMLENS_SOURCE_SMAPS },
	/* the kernel's, with the VMA; then the mapped file through map_files, then its path */
	[MEMLENS_JOB_BUILD_ID] = { MEMLENS_SOURCE_BUILD_ID_KERNEL, MEMLENS_SOURCE_MAP_FILES, MEMLENS_SOURCE_PROC_ROOT },
	/* every process's counters: one pass beats a file per process */
	[MEMLENS_JOB_COUNTERS] = { MEMLENS_SOURCE_COUNTERS_BPF, MEMLENS_SOURCE_COUNTERS_PROCFS },
};

static const char *const job_names[__MEMLENS_JOB_MAX] = {
	[MEMLENS_JOB_WALK] = "maps",
	[MEMLENS_JOB_QUERY] = "query",
	[MEMLENS_JOB_WALK_ALL] = "maps_all",
	[MEMLENS_JOB_DMABUF] = "dmabuf",
	[MEMLENS_JOB_PAGES] = "pages",
	[MEMLENS_JOB_BUILD_ID] = "build_id",
	[MEMLENS_JOB_COUNTERS] = "counters",
};

const struct ml_source *ml_source(enum memlens_source s)
{
	return (unsigned)s < __MEMLENS_SOURCE_MAX ? sources[s] : NULL;
}

const char *memlens_source__name(enum memlens_source s)
{
	if (s == MEMLENS_SOURCE_AUTO)
		return "auto";
	return ml_source(s) ? sources[s]->name : "unknown";
}

enum memlens_iface memlens_source__iface(enum memlens_source s)
{
	return ml_source(s) ? sources[s]->iface : MEMLENS_IFACE_MAPS_TEXT;
}

const char *memlens_job__name(enum memlens_job job)
{
	return (unsigned)job < __MEMLENS_JOB_MAX ? job_names[job] : "unknown";
}

bool ml_source_serves(enum memlens_source s, enum memlens_job job)
{
	for (size_t i = 0; ml_source(s) && (unsigned)job < __MEMLENS_JOB_MAX && i < __MEMLENS_SOURCE_MAX; i++)
		if (job_order[job][i] == s)
			return true;
	return false;
}

size_t memlens_job__sources(enum memlens_job job, enum memlens_source *out, size_t max)
{
	size_t n = 0;

	if ((unsigned)job >= __MEMLENS_JOB_MAX)
		return 0;
	for (; n < __MEMLENS_SOURCE_MAX && job_order[job][n] != MEMLENS_SOURCE_AUTO; n++)
		if (out && n < max)
			out[n] = job_order[job][n];
	return n;
}

int memlens_source__parse(enum memlens_job job, const char *name, enum memlens_source *out)
{
	if (!name || !out)
		return ml_err(EINVAL);
	if (!strcmp(name, "auto")) {
		*out = MEMLENS_SOURCE_AUTO;
		return 0;
	}
	for (int s = 1; s < __MEMLENS_SOURCE_MAX; s++)
		if (ml_source_serves(s, job) && !strcmp(sources[s]->name, name)) {
			*out = (enum memlens_source)s;
			return 0;
		}
	return ml_err(EINVAL);
}

/* usable now?  Probes its interface (and its 'also'), or asks its ready() */
static int usable(struct memlens *ml, const struct ml_source *src, const char *pin_dir)
{
	char *why = ml->source_why[src->id], not_ready[200] = "";
	int err;

	if (src->ready && src->ready(ml, pin_dir ? pin_dir : MEMLENS_PIN_DIR, not_ready, sizeof(not_ready)) == 0) {
		snprintf(why, sizeof(ml->source_why[0]), "%s", not_ready);
		return 0;
	}
	err = memlens__probe(ml, src->iface);
	if (src->ready) {
		size_t n = strlen(ml->probe[src->iface].reason);

		memcpy(why, ml->probe[src->iface].reason, n + 1);	/* reason[200] fits source_why[300] */
		snprintf(why + n, sizeof(ml->source_why[0]) - n, "%s%s", not_ready[0] ? "; " : "", not_ready);
	}
	if (!err && src->also >= 0)
		memlens__probe(ml, (enum memlens_iface)src->also);
	return err;
}

/* its last reason, usable() having run: its own for sources with ready(), else its interface's */
static const char *why_of(const struct memlens *ml, const struct ml_source *src)
{
	return src->ready ? ml->source_why[src->id] : ml->probe[src->iface].reason;
}

int ml_select(struct memlens *ml, enum memlens_job job, enum memlens_source forced, const char *pin_dir,
	      const struct ml_source **out)
{
	return ml_select_caps(ml, job, forced, pin_dir, 0, out);
}

int ml_select_caps(struct memlens *ml, enum memlens_job job, enum memlens_source forced, const char *pin_dir,
		   uint32_t refuse, const struct ml_source **out)
{
	enum memlens_source order[__MEMLENS_SOURCE_MAX];
	size_t n, k = 0;
	int err;

	if (forced != MEMLENS_SOURCE_AUTO) {
		if (!ml_source_serves(forced, job))
			return -EINVAL;
		*out = sources[forced];
		err = usable(ml, *out, pin_dir);
		if (err)
			ml_log(ml, MEMLENS_WARN, "source %s unavailable: %s\n", (*out)->name,
			       memlens__source_reason(ml, forced));
		return err ? -EOPNOTSUPP : 0;
	}
	n = memlens_job__sources(job, order, ARRAY_SIZE(order));
	for (size_t i = 0; i < n; i++)
		if (!(sources[order[i]]->caps & refuse))
			order[k++] = order[i];
	for (size_t i = 0; i < k; i++) {
		*out = sources[order[i]];
		if (usable(ml, *out, pin_dir) == 0 || i + 1 == k)
			return 0;	/* the last one is the last resort */
	}
	return -EINVAL;
}

int memlens__select(struct memlens *ml, enum memlens_job job, enum memlens_source forced, enum memlens_source *out)
{
	const struct ml_source *src = NULL;
	int err;

	if (!ml || !out)
		return ml_err(EINVAL);
	err = ml_select(ml, job, forced, NULL, &src);
	if (src)
		*out = src->id;
	return err ? ml_err(err) : 0;
}

int memlens__source_usable(struct memlens *ml, enum memlens_source s)
{
	int err;

	if (!ml || !ml_source(s))
		return ml_err(EINVAL);
	err = usable(ml, sources[s], NULL);
	return err ? ml_err(err) : 0;
}

const char *memlens__source_reason(struct memlens *ml, enum memlens_source s)
{
	if (!ml || !ml_source(s))
		return "unknown source";
	usable(ml, sources[s], NULL);
	return why_of(ml, sources[s]);
}

const char *ml_explain(struct memlens *ml, enum memlens_job job, enum memlens_source used, bool forced,
		       const char *pin_dir, char *buf, size_t len)
{
	enum memlens_source order[__MEMLENS_SOURCE_MAX];
	size_t n = memlens_job__sources(job, order, ARRAY_SIZE(order)), o;

	if (!ml_source(used))
		return snprintf(buf, len, "no source"), buf;
	usable(ml, sources[used], pin_dir);
	o = (size_t)snprintf(buf, len, "%s%s", forced ? "forced: " : "", why_of(ml, sources[used]));
	if (!forced && sources[used]->cost[job] && o < len)
		o += (size_t)snprintf(buf + o, len - o, "; %s", sources[used]->cost[job]);
	for (size_t i = 0; !forced && i < n && order[i] != used && o < len; i++) {
		const struct ml_source *s = sources[order[i]];

		if (usable(ml, s, pin_dir) == 0)
			continue;
		o += (size_t)snprintf(buf + o, len - o, "; not %s: %s", s->name, why_of(ml, s));
	}
	return buf;
}

const char *memlens__explain(struct memlens *ml, enum memlens_job job, enum memlens_source used, bool forced)
{
	if (!ml)
		return "";
	return ml_explain(ml, job, used, forced, NULL, ml->explain, sizeof(ml->explain));
}
