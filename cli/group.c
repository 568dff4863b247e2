// SPDX-License-Identifier: GPL-2.0-or-later
/* Processes summed by a key (group.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "group.h"

static int cmp_key(const void *a, const void *b, void *arg)
{
	const char *const *keys = arg;
	size_t x = *(const size_t *)a, y = *(const size_t *)b;
	int c = strcmp(keys[x], keys[y]);

	return c ? c : x < y ? -1 : x > y;
}

int proc_group(const struct memlens_proc_usage *const *rows, const char *const *keys, size_t n, struct proc_group **g,
	       size_t *ng)
{
	size_t *o = malloc((n ? n : 1) * sizeof(*o));
	struct proc_group *gr = calloc(n ? n : 1, sizeof(*gr));
	size_t k = 0;

	*g = NULL;
	*ng = 0;
	if (!o || !gr) {
		free(o);
		free(gr);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++)
		o[i] = i;
	qsort_r(o, n, sizeof(*o), cmp_key, (void *)keys);
	for (size_t i = 0; i < n; i++) {
		if (i && strcmp(keys[o[i - 1]], keys[o[i]]))
			k++;
		if (!gr[k].n)
			gr[k].first = o[i];
		gr[k].n++;
		for (int q = 0; q < Q_N; q++)
			if (quantities[q].summed)
				gr[k].v[q] += quantity_get(rows[o[i]], q);
	}
	free(o);
	*g = gr;
	*ng = n ? k + 1 : 0;
	return 0;
}

static int cmp_q(const void *a, const void *b, void *ctx)
{
	const struct proc_group *x = a, *y = b;
	int q = *(const int *)ctx;

	return x->v[q] > y->v[q] ? -1 : x->v[q] < y->v[q];
}

void proc_group_sort(struct proc_group *g, size_t ng, int q)
{
	if (q >= 0 && q < Q_N)
		qsort_r(g, ng, sizeof(*g), cmp_q, &q);
}

void proc_group_cap(struct proc_group *g, size_t *ng, size_t max)
{
	if (!max || *ng <= max)
		return;
	for (size_t i = max + 1; i < *ng; i++) {
		g[max].n += g[i].n;
		for (int q = 0; q < Q_N; q++)
			g[max].v[q] += g[i].v[q];
	}
	g[max].other = true;
	*ng = max + 1;
}
