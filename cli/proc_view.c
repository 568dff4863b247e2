// SPDX-License-Identifier: GPL-2.0-or-later
/* A snapshot's processes as shown: filters, order, keys, groups (proc_view.h). */
#include <errno.h>
#include <fnmatch.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "memlens_cli.h"
#include "proc_view.h"

/* a uid's name (getpwuid reads the passwd database: the first 64 distinct
 * uids are looked up once), its number without one, "?" unknown */
static void user_name(uint32_t uid, char *buf, size_t len)
{
	static struct { uint32_t uid; char name[64]; } seen[64];
	static size_t nseen;
	struct passwd *pw;
	size_t j = 0;

	while (j < nseen && seen[j].uid != uid)
		j++;
	if (j < nseen) {
		snprintf(buf, len, "%s", seen[j].name);
		return;
	}
	pw = uid == UINT32_MAX ? NULL : getpwuid(uid);
	if (pw)
		snprintf(buf, len, "%s", pw->pw_name);
	else if (uid == UINT32_MAX)
		snprintf(buf, len, "?");
	else
		snprintf(buf, len, "%u", uid);
	if (nseen < 64) {
		seen[nseen].uid = uid;
		snprintf(seen[nseen++].name, sizeof(seen[0].name), "%s", buf);
	}
}

const char *proc_key_of(const struct memlens_proc_usage *p, enum proc_key k, char *buf, size_t len)
{
	switch (k) {
	case PK_COMM: return p->comm;
	case PK_USER: user_name(p->uid, buf, len); return buf;
	case PK_CGROUP: return p->cgroup ? p->cgroup : "";
	case PK_CONTAINER: return p->container;
	case PK_POD: return p->pod;
	}
	return "";
}

/* split a comma list in place into up to max items; 0 or -E2BIG */
static int split(char *s, const char **items, size_t max, size_t *n)
{
	for (char *tok = strtok(s, ","); tok; tok = strtok(NULL, ",")) {
		if (*n == max)
			return -E2BIG;
		items[(*n)++] = tok;
	}
	return 0;
}

int proc_filters_parse(struct proc_filters *f, int which, const char *arg)
{
	const char *items[64];
	size_t n = 0;
	char *s = strdup(arg);

	if (!s)
		return -ENOMEM;
	free(f->lists[which]);
	f->lists[which] = s;
	if (split(s, items, which == 0 ? 64 : 16, &n) || !n) {
		cli_err("--%s %s: a comma-separated list of at most %d", which == 0 ? "pid" : which == 1 ? "comm" : "user",
			arg, which == 0 ? 64 : 16);
		return -EINVAL;
	}
	for (size_t i = 0; i < n; i++) {
		if (which == 0) {
			int pid;

			if (f->npids == 64 || cli_parse_pid(items[i], &pid) || !pid) {
				cli_err("--pid %s: '%s' is not a pid", arg, items[i]);
				return -EINVAL;
			}
			f->pids[f->npids++] = pid;
		} else if (which == 1) {
			if (f->ncomms == 16)
				return -E2BIG;
			f->comms[f->ncomms++] = items[i];
		} else {
			struct passwd *pw = getpwnam(items[i]);
			char *end;
			unsigned long v;

			errno = 0;
			v = strtoul(items[i], &end, 10);
			if (f->nuids == 16 || (!pw && (*end || errno || v >= UINT32_MAX || items[i][0] == '-'))) {
				cli_err("--user %s: no user '%s'", arg, items[i]);
				return -EINVAL;
			}
			f->uids[f->nuids++] = pw ? pw->pw_uid : (uint32_t)v;
		}
	}
	return 0;
}

/* memlens's own row (filters.self), never shown */
static bool is_self(const struct proc_filters *f, const struct memlens_proc_usage *p)
{
	return f->self && p->pid == f->self;
}

bool proc_filters_match(const struct proc_filters *f, const struct memlens_proc_usage *p)
{
	bool ok = !f->npids;

	if (is_self(f, p))
		return false;
	for (size_t i = 0; !ok && i < f->npids; i++)
		ok = p->pid == f->pids[i];
	if (ok && f->ncomms) {
		ok = false;
		for (size_t i = 0; !ok && i < f->ncomms; i++)
			ok = !fnmatch(f->comms[i], p->comm, 0);
	}
	if (ok && f->nuids) {
		ok = false;
		for (size_t i = 0; !ok && i < f->nuids; i++)
			ok = p->uid == f->uids[i];
	}
	return ok;
}

bool proc_filters_any(const struct proc_filters *f)
{
	return f->npids || f->ncomms || f->nuids;
}

void proc_filters_free(struct proc_filters *f)
{
	for (size_t i = 0; i < 3; i++)
		free(f->lists[i]);
}

/* the unreadable processes the filters would have shown: the pid filter was
 * the library's; a comm, or a uid where status told it, is matched here (a
 * process whose uid is unknown is named under --user: it may be one) */
static size_t unreadable_shown(const struct proc_filters *f, const struct memlens_snapshot *s, size_t *idx)
{
	size_t n = 0;

	for (size_t i = 0; i < memlens_snapshot__unreadable(s); i++) {
		struct memlens_proc_usage p = { .pid = memlens_snapshot__unreadable_pid(s, i),
						.uid = memlens_snapshot__unreadable_uid(s, i) };
		struct proc_filters g = *f;

		snprintf(p.comm, sizeof(p.comm), "%s", memlens_snapshot__unreadable_comm(s, i));
		if (p.uid == (uint32_t)-1)
			g.nuids = 0;
		if (proc_filters_match(&g, &p))
			idx[n++] = i;
	}
	return n;
}

/* rows in the order of ctx (a struct proc_order) */
static int cmp_rows(const void *a, const void *b, void *ctx)
{
	const struct memlens_proc_usage *x = *(const struct memlens_proc_usage *const *)a;
	const struct memlens_proc_usage *y = *(const struct memlens_proc_usage *const *)b;
	const struct proc_order *o = ctx;
	uint64_t vx, vy;

	if (o->by == BY_COMM)
		return strcmp(x->comm, y->comm);
	if (o->by == BY_PID)
		return x->pid < y->pid ? -1 : x->pid > y->pid;
	vx = quantity_get(x, o->q);
	vy = quantity_get(y, o->q);
	return vx > vy ? -1 : vx < vy;	/* biggest first */
}

int proc_view_select(struct proc_view *v, const struct memlens_snapshot *s, const struct proc_filters *f,
		     const struct proc_order *o)
{
	size_t n = memlens_snapshot__count(s);

	v->n = n;
	v->rows = calloc(n ? n : 1, sizeof(*v->rows));
	v->unr = calloc(memlens_snapshot__unreadable(s) + 1, sizeof(*v->unr));
	if (!v->rows || !v->unr)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		const struct memlens_proc_usage *p = memlens_snapshot__get(s, i);

		if (is_self(f, p))
			v->n--;	/* not read, as far as anyone shown this is concerned */
		else if (proc_filters_match(f, p))
			v->rows[v->shown++] = p;
	}
	qsort_r(v->rows, v->shown, sizeof(*v->rows), cmp_rows, (void *)o);
	v->nunr = unreadable_shown(f, s, v->unr);
	return 0;
}

int proc_view_group(struct proc_view *v, enum proc_key k, const struct proc_order *o)
{
	v->keys = calloc(v->shown ? v->shown : 1, sizeof(*v->keys));
	v->names = k == PK_USER ? calloc(v->shown ? v->shown : 1, sizeof(*v->names)) : NULL;
	if (!v->keys || (k == PK_USER && !v->names))
		return -ENOMEM;
	for (size_t i = 0; i < v->shown; i++)
		v->keys[i] = proc_key_of(v->rows[i], k, v->names ? v->names[i] : NULL, sizeof(v->names[0]));
	if (proc_group(v->rows, v->keys, v->shown, &v->groups, &v->ng))
		return -ENOMEM;
	proc_group_sort(v->groups, v->ng, o->by == BY_QUANTITY ? o->q : -1);
	return 0;
}

void proc_view_free(struct proc_view *v)
{
	free(v->groups);
	free(v->keys);
	free(v->names);
	free(v->rows);
	free(v->unr);
}
