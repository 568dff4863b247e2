/* SPDX-License-Identifier: GPL-2.0-or-later */
/* who-maps --shared's view (object_view.c): every process's VMAs by the
 * object they map, the file-backed objects two or more processes map. */
#ifndef MEMLENS_CLI_OBJECT_VIEW_H
#define MEMLENS_CLI_OBJECT_VIEW_H

#include <stddef.h>
#include <stdint.h>
#include "memlens.h"

struct shared_object {
	size_t first, n;	/* its VMAs: v[first .. first + n) */
	size_t pfirst, npids;	/* the processes mapping it: pids[pfirst .. pfirst + npids), ascending */
};

struct object_view {
	const struct memlens_vma **v;	/* the shared objects' VMAs, by (dev, inode, pid, start) */
	size_t n;
	struct shared_object *obj;	/* by (dev, inode) */
	size_t nobj;
	int32_t *pids;
};

/* 0 or -ENOMEM */
int object_view_build(struct object_view *ov, const struct memlens_vma_set *all);
void object_view_free(struct object_view *ov);

#endif
