// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * PAGEMAP_SCAN ioctl on /proc/<pid>/pagemap (6.7+, fs/proc/task_mmu.c
 * do_pagemap_scan()): ranges with their categories, a batch per ioctl.
 */
#include <sys/ioctl.h>
#include "source.h"
#include "uapi/pagemap_scan.h"

static int scan(const struct ml_pages_req *r, uint64_t start, uint64_t end, struct memlens_pages *p)
{
	struct page_region vec[256];

	while (start < end) {
		struct pm_scan_arg a = {
			.size = sizeof(a), .start = start, .end = end, .vec = (uintptr_t)vec, .vec_len = 256,
			.category_anyof_mask = PAGE_IS_PRESENT | PAGE_IS_SWAPPED,
			.return_mask = PAGE_IS_PRESENT | PAGE_IS_SWAPPED | PAGE_IS_HUGE | PAGE_IS_FILE,
		};
		long n = ioctl(r->pagemap_fd, PAGEMAP_SCAN, &a);

		if (n < 0)
			return -errno;
		for (long i = 0; i < n; i++) {
			uint32_t f = 0;

			f |= vec[i].categories & PAGE_IS_PRESENT ? MEMLENS_PAGE_PRESENT : 0;
			f |= vec[i].categories & PAGE_IS_SWAPPED ? MEMLENS_PAGE_SWAPPED : 0;
			f |= vec[i].categories & PAGE_IS_FILE ? MEMLENS_PAGE_FILE : 0;
			f |= vec[i].categories & PAGE_IS_HUGE ? r->huge : 0;
			if (ml_pages_push(p, vec[i].start, vec[i].end, f))
				return -ENOMEM;
		}
		if (a.walk_end <= start)
			break;
		start = a.walk_end;
	}
	return 0;
}

const struct ml_source ml_src_pagemap_scan = {
	.id = MEMLENS_SOURCE_PAGEMAP_SCAN,
	.name = "pagemap_scan",
	.iface = MEMLENS_IFACE_PAGEMAP_SCAN,
	.also = -1,
	.caps = ML_CAP_RANGES | ML_CAP_HUGE,
	.pages = { .scan = scan },
};
