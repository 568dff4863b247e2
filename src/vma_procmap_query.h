/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* One PROCMAP_QUERY (vma_procmap_query.c), for the sources that ask it a name. */
#ifndef MEMLENS_VMA_PROCMAP_QUERY_H
#define MEMLENS_VMA_PROCMAP_QUERY_H

#include "records.h"

#define ML_PQ_NAME_MAX 4096	/* the kernel caps names at PATH_MAX */

/* the VMA covering addr in the process whose maps is open as maps_fd, with
 * its name as /proc/<pid>/maps gives it ('\n' unescaped) in name (name_size
 * bytes, *name_len of them used); -errno as the ioctl (ENOENT: nothing
 * there, ENAMETOOLONG, ESRCH: no mm) */
ML_HIDDEN int ml_procmap_query_vma(int maps_fd, uint64_t addr, struct memlens_vma *v, char *name, size_t name_size,
				   size_t *name_len);

#endif
