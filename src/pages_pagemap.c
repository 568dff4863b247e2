// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * /proc/<pid>/pagemap (8 bytes a page: present, swapped, file, PFN with
 * CAP_SYS_ADMIN) and /proc/kpageflags (root) for the THP/HUGE bits, the
 * fallback before PAGEMAP_SCAN.
 */
#include <fcntl.h>
#include <unistd.h>
#include "source.h"

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

static int scan(const struct ml_pages_req *r, uint64_t start, uint64_t end, struct memlens_pages *p)
{
	const uint64_t pg = (uint64_t)r->ml->page_size, pmd = 512 * pg;
	int kpf = ml_has(r->ml, MEMLENS_IFACE_KPAGEFLAGS) ? open("/proc/kpageflags", O_RDONLY | O_CLOEXEC) : -1;
	uint64_t e[512];
	int err = 0;

	/* chunks aligned on 2 MiB of address space */
	while (!err && start < end) {
		uint64_t cend = (start / pmd + 1) * pmd;
		size_t n;
		ssize_t got;
		bool h;

		if (cend > end)
			cend = end;
		n = (size_t)((cend - start) / pg);
		got = pread(r->pagemap_fd, e, n * 8, (off_t)(start / pg * 8));
		if (got <= 0) {
			err = got < 0 ? -errno : -EIO;
			break;
		}
		n = (size_t)got / 8;
		h = chunk_is_huge(kpf, e, n);
		for (size_t i = 0; i < n && !err; i++) {
			uint32_t f = 0;

			f |= e[i] & PM_PRESENT ? MEMLENS_PAGE_PRESENT : 0;
			f |= e[i] & PM_SWAP ? MEMLENS_PAGE_SWAPPED : 0;
			f |= e[i] & PM_FILE ? MEMLENS_PAGE_FILE : 0;
			f |= h ? r->huge : 0;
			err = ml_pages_push(p, start + i * pg, start + (i + 1) * pg, f);
		}
		start += n * pg;
	}
	if (kpf >= 0)
		close(kpf);
	return err;
}

const struct ml_source ml_src_pagemap = {
	.id = MEMLENS_SOURCE_PAGEMAP,
	.name = "pagemap",
	.iface = MEMLENS_IFACE_PAGEMAP,
	.also = MEMLENS_IFACE_KPAGEFLAGS,
	.caps = ML_CAP_RANGES | ML_CAP_HUGE_ALSO,
	.pages = { .scan = scan },
};
