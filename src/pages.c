// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Which ranges of a process are present, swapped, and backed by huge pages.
 * PAGEMAP_SCAN (6.7+) returns ranges with categories in one ioctl per batch;
 * the fallback reads /proc/<pid>/pagemap (8 bytes a page) and, with root,
 * /proc/kpageflags for the THP/HUGE bits.  A huge page is THP or hugetlb by
 * its VMA: hugetlb VMAs carry "ht" in VmFlags.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include "memlens_internal.h"
#include "uapi/pagemap_scan.h"

struct memlens_pages {
	struct memlens_page_range *r;
	size_t n, cap;
	enum memlens_pages_source source;
	bool knows_huge;
	char reason[200];
};

static int push(struct memlens_pages *p, uint64_t start, uint64_t end, uint32_t flags)
{
	if (!flags || start >= end)
		return 0;
	if (p->n && p->r[p->n - 1].end == start && p->r[p->n - 1].flags == flags) {
		p->r[p->n - 1].end = end;
		return 0;
	}
	if (p->n == p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 64;
		void *nr = realloc(p->r, cap * sizeof(*p->r));

		if (!nr)
			return -ENOMEM;
		p->r = nr;
		p->cap = cap;
	}
	p->r[p->n++] = (struct memlens_page_range){ start, end, flags };
	return 0;
}

static uint32_t huge_kind(const struct memlens_vma_usage *u)
{
	const char *f = u->vm_flags;

	for (; f && *f; f++)
		if (f[0] == 'h' && f[1] == 't' && (f[2] == ' ' || !f[2]) && (f == u->vm_flags || f[-1] == ' '))
			return MEMLENS_PAGE_HUGETLB;
	return MEMLENS_PAGE_THP;
}

static int by_scan(int fd, const struct memlens_vma_usage *u, uint64_t start, uint64_t end, struct memlens_pages *p)
{
	struct page_region vec[256];
	uint64_t huge = huge_kind(u);

	while (start < end) {
		struct pm_scan_arg a = {
			.size = sizeof(a), .start = start, .end = end, .vec = (uintptr_t)vec, .vec_len = 256,
			.category_anyof_mask = PAGE_IS_PRESENT | PAGE_IS_SWAPPED,
			.return_mask = PAGE_IS_PRESENT | PAGE_IS_SWAPPED | PAGE_IS_HUGE | PAGE_IS_FILE,
		};
		long n = ioctl(fd, PAGEMAP_SCAN, &a);

		if (n < 0)
			return -errno;
		for (long i = 0; i < n; i++) {
			uint32_t f = 0;

			f |= vec[i].categories & PAGE_IS_PRESENT ? MEMLENS_PAGE_PRESENT : 0;
			f |= vec[i].categories & PAGE_IS_SWAPPED ? MEMLENS_PAGE_SWAPPED : 0;
			f |= vec[i].categories & PAGE_IS_FILE ? MEMLENS_PAGE_FILE : 0;
			f |= vec[i].categories & PAGE_IS_HUGE ? (uint32_t)huge : 0;
			if (push(p, vec[i].start, vec[i].end, f))
				return -ENOMEM;
		}
		if (a.walk_end <= start)
			break;
		start = a.walk_end;
	}
	return 0;
}

#define PM_PRESENT (1ULL << 63)
#define PM_SWAP (1ULL << 62)
#define PM_FILE (1ULL << 61)
#define PM_PFN ((1ULL << 55) - 1)
#define KPF_HUGE 17
#define KPF_THP 22

/* A PMD-sized page maps a naturally aligned 2 MiB of address space onto 512
 * contiguous, aligned PFNs with the THP (or HUGE) bit; kpageflags alone also
 * flags smaller large folios, which are not "backed by 2 MB pages". */
static bool chunk_is_huge(int kpf, const uint64_t *e, size_t n)
{
	uint64_t pfn0 = e[0] & PM_PFN, flags;

	if (kpf < 0 || n != 512 || !(e[0] & PM_PRESENT) || !pfn0 || pfn0 % 512)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!(e[i] & PM_PRESENT) || (e[i] & PM_PFN) != pfn0 + i)
			return false;
	return pread(kpf, &flags, 8, (off_t)(pfn0 * 8)) == 8 && (flags & ((1ULL << KPF_THP) | (1ULL << KPF_HUGE)));
}

static int by_pagemap(int fd, int kpf, long pg, const struct memlens_vma_usage *u, uint64_t start, uint64_t end,
		      struct memlens_pages *p)
{
	const uint64_t pmd = 512 * (uint64_t)pg;
	uint64_t e[512], huge = huge_kind(u);

	/* chunks aligned on 2 MiB of address space */
	while (start < end) {
		uint64_t cend = (start / pmd + 1) * pmd;
		size_t n;
		ssize_t got;
		bool h;

		if (cend > end)
			cend = end;
		n = (size_t)((cend - start) / (uint64_t)pg);
		got = pread(fd, e, n * 8, (off_t)(start / (uint64_t)pg * 8));
		if (got <= 0)
			return got < 0 ? -errno : -EIO;
		n = (size_t)got / 8;
		h = chunk_is_huge(kpf, e, n);
		for (size_t i = 0; i < n; i++) {
			uint32_t f = 0;

			f |= e[i] & PM_PRESENT ? MEMLENS_PAGE_PRESENT : 0;
			f |= e[i] & PM_SWAP ? MEMLENS_PAGE_SWAPPED : 0;
			f |= e[i] & PM_FILE ? MEMLENS_PAGE_FILE : 0;
			f |= h ? (uint32_t)huge : 0;
			if (push(p, start + i * (uint64_t)pg, start + (i + 1) * (uint64_t)pg, f))
				return -ENOMEM;
		}
		start += n * (uint64_t)pg;
	}
	return 0;
}

int memlens_proc__pages(struct memlens_proc *proc, const struct memlens_pages_opts *opts, struct memlens_pages **out)
{
	enum memlens_pages_source src = OPTS_GET(opts, source, MEMLENS_PAGES_AUTO);
	uint64_t lo = OPTS_GET(opts, start, 0), hi = OPTS_GET(opts, end, 0);
	struct memlens_usage_set *vmas = NULL;
	struct memlens_pages *p;
	char path[64];
	int fd = -1, kpf = -1, err;

	if (!proc || !out || (unsigned)src >= __MEMLENS_PAGES_SOURCE_MAX)
		return ml_err(EINVAL);
	p = calloc(1, sizeof(*p));
	if (!p)
		return ml_err(ENOMEM);
	err = memlens_proc__smaps(proc, &vmas);
	if (err)
		goto out;
	snprintf(path, sizeof(path), "/proc/%d/pagemap", (int)proc->pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 && src != MEMLENS_PAGES_SMAPS) {
		err = -errno;
		if (src != MEMLENS_PAGES_AUTO)
			goto out;
		src = MEMLENS_PAGES_SMAPS;
		snprintf(p->reason, sizeof(p->reason), "cannot open pagemap (%s): smaps totals only, ranges unknown",
			 strerror(-err));
		err = 0;
	}
	if (src == MEMLENS_PAGES_AUTO || src == MEMLENS_PAGES_PAGEMAP_SCAN) {
		struct pm_scan_arg a = { .size = sizeof(a), .start = 0, .end = 0 };

		/* ENOTTY where the ioctl does not exist; an empty range is otherwise fine */
		if (ioctl(fd, PAGEMAP_SCAN, &a) == 0 || errno != ENOTTY) {
			src = MEMLENS_PAGES_PAGEMAP_SCAN;
			p->knows_huge = true;
			snprintf(p->reason, sizeof(p->reason), "PAGEMAP_SCAN ioctl (6.7+)");
		} else if (src == MEMLENS_PAGES_PAGEMAP_SCAN) {
			err = errno == ENOTTY ? -EOPNOTSUPP : -errno;
			snprintf(p->reason, sizeof(p->reason), "no PAGEMAP_SCAN (kernel %s, needs 6.7+)", proc->ml->release);
			goto out;
		} else {
			src = MEMLENS_PAGES_PAGEMAP;
		}
	}
	if (src == MEMLENS_PAGES_PAGEMAP) {
		kpf = open("/proc/kpageflags", O_RDONLY | O_CLOEXEC);
		p->knows_huge = kpf >= 0;
		snprintf(p->reason, sizeof(p->reason), "%s", kpf >= 0 ? "/proc/<pid>/pagemap and /proc/kpageflags" :
			 "/proc/<pid>/pagemap without /proc/kpageflags (root): huge pages unknown");
	}
	if (src == MEMLENS_PAGES_SMAPS && !p->reason[0])
		snprintf(p->reason, sizeof(p->reason), "smaps totals per VMA: ranges unknown");
	p->source = src;
	for (size_t i = 0; !err && i < vmas->n; i++) {
		const struct memlens_vma_usage *u = &vmas->u[i];
		uint64_t s = u->vma.start, e = u->vma.end;

		if (hi && (e <= lo || s >= hi))
			continue;
		if (hi) {
			s = s < lo ? lo : s;
			e = e > hi ? hi : e;
		}
		if (s >> 63)
			continue;	/* the gate VMA has no pagemap */
		if (src == MEMLENS_PAGES_PAGEMAP_SCAN)
			err = by_scan(fd, u, s, e, p);
		else if (src == MEMLENS_PAGES_PAGEMAP)
			err = by_pagemap(fd, kpf, proc->ml->page_size, u, s, e, p);
	}
out:
	if (fd >= 0)
		close(fd);
	if (kpf >= 0)
		close(kpf);
	memlens_usage_set__free(vmas);
	if (err) {
		ml_log(proc->ml, MEMLENS_WARN, "pages: %s\n", p->reason);
		memlens_pages__free(p);
		return ml_err(err);
	}
	*out = p;
	return 0;
}

size_t memlens_pages__count(const struct memlens_pages *p) { return p ? p->n : 0; }
const struct memlens_page_range *memlens_pages__get(const struct memlens_pages *p, size_t i)
{
	return p && i < p->n ? &p->r[i] : NULL;
}
enum memlens_pages_source memlens_pages__source(const struct memlens_pages *p) { return p ? p->source : 0; }
const char *memlens_pages__reason(const struct memlens_pages *p) { return p ? p->reason : ""; }
bool memlens_pages__knows_huge(const struct memlens_pages *p) { return p && p->knows_huge; }

void memlens_pages__free(struct memlens_pages *p)
{
	if (!p)
		return;
	free(p->r);
	free(p);
}

const char *memlens_pages_source__name(enum memlens_pages_source s)
{
	static const char *const n[] = { "auto", "pagemap_scan", "pagemap", "smaps" };

	return (unsigned)s < ARRAY_SIZE(n) ? n[s] : "unknown";
}
