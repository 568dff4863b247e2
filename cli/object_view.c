// SPDX-License-Identifier: GPL-2.0-or-later
/* who-maps --shared's view: VMAs by object (object_view.h). */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include "object_view.h"

static int cmp_obj(const void *a, const void *b)
{
	const struct memlens_vma *x = *(const struct memlens_vma *const *)a, *y = *(const struct memlens_vma *const *)b;

	if (x->dev_major != y->dev_major)
		return x->dev_major < y->dev_major ? -1 : 1;
	if (x->dev_minor != y->dev_minor)
		return x->dev_minor < y->dev_minor ? -1 : 1;
	if (x->inode != y->inode)
		return x->inode < y->inode ? -1 : 1;
	if (x->pid != y->pid)
		return x->pid < y->pid ? -1 : 1;
	return x->start < y->start ? -1 : x->start > y->start;
}

static bool same_object(const struct memlens_vma *x, const struct memlens_vma *y)
{
	return x->inode == y->inode && x->dev_major == y->dev_major && x->dev_minor == y->dev_minor;
}

int object_view_build(struct object_view *ov, const struct memlens_vma_set *all)
{
	size_t n = memlens_vma_set__count(all), kept = 0;

	memset(ov, 0, sizeof(*ov));
	ov->v = calloc(n ? n : 1, sizeof(*ov->v));
	ov->obj = calloc(n ? n : 1, sizeof(*ov->obj));
	ov->pids = calloc(n ? n : 1, sizeof(*ov->pids));	/* an object's holders: at most n in all */
	if (!ov->v || !ov->obj || !ov->pids)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		ov->v[i] = memlens_vma_set__get(all, i);
	qsort(ov->v, n, sizeof(*ov->v), cmp_obj);
	/* each run of one object, kept (moved down to kept) when file-backed
	 * and mapped by two or more processes */
	for (size_t i = 0, j; i < n; i = j) {
		struct shared_object *o = &ov->obj[ov->nobj];
		size_t pfirst = ov->nobj ? ov->obj[ov->nobj - 1].pfirst + ov->obj[ov->nobj - 1].npids : 0;

		*o = (struct shared_object){ .first = kept, .pfirst = pfirst };
		for (j = i; j < n && same_object(ov->v[j], ov->v[i]); j++)
			if (j == i || ov->v[j]->pid != ov->v[j - 1]->pid)
				ov->pids[pfirst + o->npids++] = ov->v[j]->pid;
		if (!ov->v[i]->inode || o->npids < 2)
			continue;
		o->n = j - i;
		memmove(&ov->v[kept], &ov->v[i], o->n * sizeof(*ov->v));
		kept += o->n;
		ov->nobj++;
	}
	ov->n = kept;
	return 0;
}

void object_view_free(struct object_view *ov)
{
	free(ov->v);
	free(ov->obj);
	free(ov->pids);
}
