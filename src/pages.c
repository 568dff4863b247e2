// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Which ranges of a process are present, swapped, and backed by huge pages:
 * the pages job.  The selector picks PAGEMAP_SCAN, pagemap or smaps totals;
 * a target whose pagemap cannot be opened falls back to smaps totals.  A
 * huge page is THP or hugetlb by its VMA: hugetlb VMAs carry "ht" in VmFlags.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include "select.h"
#include "vma.h"

static uint32_t huge_kind(const struct memlens_vma_usage *u)
{
	const char *f = u->vm_flags;

	for (; f && *f; f++)
		if (f[0] == 'h' && f[1] == 't' && (f[2] == ' ' || !f[2]) && (f == u->vm_flags || f[-1] == ' '))
			return MEMLENS_PAGE_HUGETLB;
	return MEMLENS_PAGE_THP;
}

int memlens_proc__pages(struct memlens_proc *proc, const struct memlens_pages_opts *opts, struct memlens_pages **out)
{
	enum memlens_source forced = OPTS_GET(opts, source, MEMLENS_SOURCE_AUTO);
	uint64_t lo = OPTS_GET(opts, start, 0), hi = OPTS_GET(opts, end, 0);
	struct ml_pages_req req = { .pagemap_fd = -1 };
	struct memlens_usage_set *vmas = NULL;
	const struct ml_source *src = NULL;
	struct memlens_pages *p;
	char path[64];
	int err;

	if (!proc || !out || !OPTS_VALID(opts, memlens_pages_opts))
		return ml_err(EINVAL);
	req.ml = proc->ml;
	p = calloc(1, sizeof(*p));
	if (!p)
		return ml_err(ENOMEM);
	err = ml_select(proc->ml, MEMLENS_JOB_PAGES, forced, NULL, &src);
	if (err) {
		snprintf(p->reason, sizeof(p->reason), "%s", src ? memlens__source_reason(proc->ml, src->id) : "not a pages source");
		goto out;
	}
	err = memlens_proc__smaps(proc, &vmas);
	if (err)
		goto out;
	snprintf(p->reason, sizeof(p->reason), "%s", memlens__source_reason(proc->ml, src->id));
	if (src->pages.scan) {
		snprintf(path, sizeof(path), "/proc/%d/pagemap", (int)proc->pid);
		req.pagemap_fd = open(path, O_RDONLY | O_CLOEXEC);
		if (req.pagemap_fd < 0) {
			err = -errno;
			if (forced != MEMLENS_SOURCE_AUTO)
				goto out;
			snprintf(p->reason, sizeof(p->reason), "cannot open pagemap (%s): smaps totals only, ranges unknown",
				 strerror(-err));
			err = ml_select_caps(proc->ml, MEMLENS_JOB_PAGES, MEMLENS_SOURCE_AUTO, NULL, ML_CAP_RANGES, &src);
			if (err)
				goto out;
		}
	}
	p->source = src->id;
	p->knows_huge = (src->caps & ML_CAP_HUGE) ||
			((src->caps & ML_CAP_HUGE_ALSO) && ml_has(proc->ml, (enum memlens_iface)src->also));
	if ((src->caps & ML_CAP_HUGE_ALSO) && !p->knows_huge)
		snprintf(p->reason, sizeof(p->reason), "/proc/<pid>/pagemap without /proc/kpageflags (root): huge pages unknown");
	for (size_t i = 0; !err && src->pages.scan && i < memlens_usage_set__count(vmas); i++) {
		const struct memlens_vma_usage *u = memlens_usage_set__get(vmas, i);
		uint64_t s = u->vma.start, e = u->vma.end;

		if (hi && (e <= lo || s >= hi))
			continue;
		if (hi) {
			s = s < lo ? lo : s;
			e = e > hi ? hi : e;
		}
		if (s >> 63)
			continue;	/* the gate VMA has no pagemap */
		req.huge = huge_kind(u);
		err = src->pages.scan(&req, s, e, p);
	}
	if (!err && ml_proc_reused(proc))
		err = -ESRCH;
out:
	if (req.pagemap_fd >= 0)
		close(req.pagemap_fd);
	memlens_usage_set__free(vmas);
	if (err) {
		ml_log(proc->ml, MEMLENS_WARN, "pages: %s\n", p->reason);
		memlens_pages__free(p);
		return ml_err(err);
	}
	*out = p;
	return 0;
}
