/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Processes summed by a key: snapshot --group-by and the exporter's cgroup
 * and command-name families (group.c), one grouping for both. */
#ifndef MEMLENS_CLI_GROUP_H
#define MEMLENS_CLI_GROUP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "quantity.h"

struct proc_group {
	size_t first;		/* a member's index in the rows grouped: its key and labels */
	size_t n;		/* processes */
	uint64_t v[Q_N];	/* the quantities summed (quantities[].summed; the others 0) */
	bool other;		/* proc_group_cap()'s sum of the groups past its max */
};

/* rows summed by keys[i] (strcmp), groups in key order; *g has *ng.  0 or -ENOMEM */
int proc_group(const struct memlens_proc_usage *const *rows, const char *const *keys, size_t n, struct proc_group **g,
	       size_t *ng);
/* the groups by quantity q, the most first (q < 0: left in key order) */
void proc_group_sort(struct proc_group *g, size_t ng, int q);
/* more than max groups (0: no cap): the first max kept, the rest summed
 * into one more marked other */
void proc_group_cap(struct proc_group *g, size_t *ng, size_t max);

#endif
