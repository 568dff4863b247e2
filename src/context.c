// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The context: created with its options, freed with what hangs off it. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/utsname.h>
#include <unistd.h>
#include "stall.h"
#include "build_id.h"
#include "probes.h"

static unsigned parse_kver(const char *rel)
{
	unsigned a = 0, b = 0, c = 0;
	const char *p = rel;

	/* "6.18.44-fc" or "7.0-rc1": digits up to the first non-digit */
	for (; *p >= '0' && *p <= '9'; p++)
		a = a * 10 + (*p - '0');
	if (*p == '.')
		for (p++; *p >= '0' && *p <= '9'; p++)
			b = b * 10 + (*p - '0');
	if (*p == '.')
		for (p++; *p >= '0' && *p <= '9'; p++)
			c = c * 10 + (*p - '0');
	return ML_KVER(a, b, c);
}

struct memlens *memlens__new(const struct memlens_opts *opts)
{
	struct memlens *ml;
	struct utsname u;

	if (!OPTS_VALID(opts, memlens_opts)) {
		errno = EINVAL;
		return NULL;
	}
	ml = calloc(1, sizeof(*ml));
	if (!ml) {
		errno = ENOMEM;
		return NULL;
	}
	ml->print = OPTS_GET(opts, print, NULL);
	ml->stall_ms = OPTS_GET(opts, stall_ms, 0) ?: ML_STALL_MS_DEFAULT;
	ml->threads = OPTS_GET(opts, threads, 0);
	ml->stuck = ml_stuck_new();
	ml->page_size = sysconf(_SC_PAGESIZE);
	if (uname(&u) == 0) {
		snprintf(ml->release, sizeof(ml->release), "%s", u.release);
		ml->kver = parse_kver(u.release);
	}
	return ml;
}

void memlens__free(struct memlens *ml)
{
	if (!ml)
		return;
	if (ml->reader_run) {	/* a run never ended: its reader joined */
		ml->reader_run = 1;
		ml_reader_end(ml);
	}
	ml_stuck_put(ml->stuck);
	ml_bpf_free(ml->bpf);
	ml_dmabuf_bpf_free(ml->dmabuf_bpf);
	ml_task_mm_free(ml->task_mm);
	ml_bid_cache_free(ml->bid);
	ml_sym_cache_free(ml->syms);
	free(ml->norm_cache);
	free(ml);
}
