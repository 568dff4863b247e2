/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * Our own copy of the PROCMAP_QUERY UAPI (include/uapi/linux/fs.h, Linux 6.11+).
 * Debian 12 ships 6.1 UAPI headers that do not have it; the kernel extends the
 * struct through its size field, so a copy of the 6.11 layout keeps working.
 */
#ifndef MEMLENS_UAPI_PROCMAP_QUERY_H
#define MEMLENS_UAPI_PROCMAP_QUERY_H

#include <linux/ioctl.h>
#include <linux/types.h>

#ifndef PROCMAP_QUERY
#define PROCFS_IOCTL_MAGIC 'f'
#define PROCMAP_QUERY _IOWR(PROCFS_IOCTL_MAGIC, 17, struct procmap_query)

enum procmap_query_flags {
	PROCMAP_QUERY_VMA_READABLE = 0x01,
	PROCMAP_QUERY_VMA_WRITABLE = 0x02,
	PROCMAP_QUERY_VMA_EXECUTABLE = 0x04,
	PROCMAP_QUERY_VMA_SHARED = 0x08,
	PROCMAP_QUERY_COVERING_OR_NEXT_VMA = 0x10,
	PROCMAP_QUERY_FILE_BACKED_VMA = 0x20,
};

struct procmap_query {
	__u64 size;
	__u64 query_flags;
	__u64 query_addr;
	__u64 vma_start;
	__u64 vma_end;
	__u64 vma_flags;
	__u64 vma_page_size;
	__u64 vma_offset;
	__u64 inode;
	__u32 dev_major;
	__u32 dev_minor;
	__u32 vma_name_size;
	__u32 build_id_size;
	__u64 vma_name_addr;
	__u64 build_id_addr;
};
#endif

_Static_assert(sizeof(struct procmap_query) == 104, "struct procmap_query is 104 bytes");

#endif
