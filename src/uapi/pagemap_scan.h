/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/* Our copy of the PAGEMAP_SCAN UAPI (include/uapi/linux/fs.h, Linux 6.7+); Debian 12 has 6.1 headers. */
#ifndef MEMLENS_UAPI_PAGEMAP_SCAN_H
#define MEMLENS_UAPI_PAGEMAP_SCAN_H

#include <linux/ioctl.h>
#include <linux/types.h>

#ifndef PAGEMAP_SCAN
#define PAGEMAP_SCAN _IOWR('f', 16, struct pm_scan_arg)

#define PAGE_IS_WPALLOWED	(1 << 0)
#define PAGE_IS_WRITTEN		(1 << 1)
#define PAGE_IS_FILE		(1 << 2)
#define PAGE_IS_PRESENT		(1 << 3)
#define PAGE_IS_SWAPPED		(1 << 4)
#define PAGE_IS_PFNZERO		(1 << 5)
#define PAGE_IS_HUGE		(1 << 6)
#define PAGE_IS_SOFT_DIRTY	(1 << 7)

struct page_region {
	__u64 start;
	__u64 end;
	__u64 categories;
};

struct pm_scan_arg {
	__u64 size;
	__u64 flags;
	__u64 start;
	__u64 end;
	__u64 walk_end;
	__u64 vec;
	__u64 vec_len;
	__u64 max_pages;
	__u64 category_inverted;
	__u64 category_mask;
	__u64 category_anyof_mask;
	__u64 return_mask;
};
#endif

_Static_assert(sizeof(struct pm_scan_arg) == 96, "struct pm_scan_arg is 96 bytes");

#endif
