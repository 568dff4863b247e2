// SPDX-License-Identifier: GPL-2.0-or-later
/* Rows grouped by a string key: snapshot --group-by and the exporter's families. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "memlens_cli.h"

static int cmp_key(const void *a, const void *b, void *arg)
{
	const char *const *keys = arg;
	size_t x = *(const size_t *)a, y = *(const size_t *)b;
	int c = strcmp(keys[x], keys[y]);

	return c ? c : x < y ? -1 : x > y;
}

int cli_group(const char *const *keys, size_t n, size_t **order, size_t **starts, size_t *ng)
{
	size_t *o = malloc((n ? n : 1) * sizeof(*o)), *s = malloc((n + 1) * sizeof(*s));

	*order = *starts = NULL;
	*ng = 0;
	if (!o || !s) {
		free(o);
		free(s);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++)
		o[i] = i;
	qsort_r(o, n, sizeof(*o), cmp_key, (void *)keys);
	for (size_t i = 0; i < n; i++)
		if (!i || strcmp(keys[o[i - 1]], keys[o[i]]))
			s[(*ng)++] = i;
	s[*ng] = n;
	*order = o;
	*starts = s;
	return 0;
}
