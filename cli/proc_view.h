/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A snapshot's processes as a command shows them (proc_view.c): filtered
 * (--pid, --comm, --user), ordered through a context (-x), keyed and grouped
 * (--group-by, group.c).  Commands render a view; they do not build one.
 */
#ifndef MEMLENS_CLI_PROC_VIEW_H
#define MEMLENS_CLI_PROC_VIEW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "group.h"

/* what a process is grouped by */
enum proc_key { PK_COMM, PK_USER, PK_CGROUP, PK_CONTAINER, PK_POD };

/* the row order: a quantity biggest first, or pid or comm ascending */
struct proc_order {
	enum { BY_QUANTITY, BY_PID, BY_COMM } by;
	int q;			/* BY_QUANTITY: which (quantity.h) */
};

/* --pid, --comm, --user: a row is shown when it matches every filter given
 * (and any item of each comma list) */
struct proc_filters {
	int32_t pids[64];
	size_t npids;
	const char *comms[16];	/* fnmatch patterns */
	size_t ncomms;
	uint32_t uids[16];
	size_t nuids;
	char *lists[3];		/* the option strings, split in place */
	int32_t self;		/* never shown (memlens's own pid, not a process it watches); 0: none */
};
enum { PF_PID, PF_COMM, PF_USER };

/* one more --pid, --comm or --user list (which: PF_*): 0, -EINVAL (said), -ENOMEM */
int proc_filters_parse(struct proc_filters *f, int which, const char *arg);
bool proc_filters_match(const struct proc_filters *f, const struct memlens_proc_usage *p);
bool proc_filters_any(const struct proc_filters *f);
void proc_filters_free(struct proc_filters *f);

/* a process's key: its comm, user (name, or uid without one, "?" unknown:
 * written to buf), cgroup, container or pod */
const char *proc_key_of(const struct memlens_proc_usage *p, enum proc_key k, char *buf, size_t len);

struct proc_view {
	const struct memlens_proc_usage **rows;
	size_t n, shown;		/* rows read (but filters.self's), rows the filters let through (sorted) */
	size_t *unr, nunr;		/* the unreadable processes the filters would show */
	const char **keys;		/* proc_view_group(): each row's key */
	char (*names)[64];		/* ... where it is a user name */
	struct proc_group *groups;	/* ... the groups, in order */
	size_t ng;
};

/* the rows of s the filters let through, in order; the unreadable ones they would show */
int proc_view_select(struct proc_view *v, const struct memlens_snapshot *s, const struct proc_filters *f,
		     const struct proc_order *o);
/* the rows shown summed by key k, the groups in order (BY_PID, BY_COMM: the keys') */
int proc_view_group(struct proc_view *v, enum proc_key k, const struct proc_order *o);
void proc_view_free(struct proc_view *v);

#endif
