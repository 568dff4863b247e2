// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Whole-system snapshot, built to be taken at a low-memory event: per process
 * one smaps_rollup read (no per-VMA parsing), statm for Vss, and the DMA-BUF
 * figures from one pass of the DMA-BUF sources.  Processes that exit during
 * the snapshot are dropped and counted.
 */
#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include "cgroup.h"
#include "procfs.h"

struct memlens_snapshot {
	struct memlens_proc_usage *p;
	size_t n, cap;
	size_t exited, unreadable, unreadable_cap;
	struct unreadable { int32_t pid; uint32_t uid; char comm[16]; } *unr;
	uint64_t mem_total, mem_available;
	enum memlens_source dmabuf_source;
	struct memlens_dmabuf *dmabuf;	/* with .keep_dmabuf */
};

static void meminfo(struct memlens_snapshot *s)
{
	char buf[4096], *p;

	if (ml_read_small("/proc/meminfo", buf, sizeof(buf)))
		return;
	if ((p = strstr(buf, "MemTotal:")))
		s->mem_total = strtoull(p + 9, NULL, 10) * 1024;
	if ((p = strstr(buf, "MemAvailable:")))
		s->mem_available = strtoull(p + 13, NULL, 10) * 1024;
}

/* what snapshot_opts asked beyond the rollup */
struct extras {
	bool cgroups, owner, cmdline;
	const int32_t *pids;	/* only these (NULL: every process) */
	size_t npids;
};

/* /proc/<pid>/cmdline into a string of its own: NULs as spaces, the last
 * dropped; "" if unreadable.  -ESRCH if it is gone, -ENOMEM */
static int read_cmdline(pid_t pid, const char **out)
{
	char path[64], buf[4096];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT || errno == ESRCH ? -ESRCH : 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n < 0)
		n = 0;
	while (n > 0 && buf[n - 1] == 0)
		n--;
	for (ssize_t i = 0; i < n; i++)
		if (!buf[i])
			buf[i] = ' ';
	buf[n] = 0;
	*out = strdup(buf);
	return *out ? 0 : -ENOMEM;
}

static int one(struct memlens *ml, struct memlens_snapshot *s, int pid, const struct extras *x)
{
	struct memlens_vma_usage u;
	struct memlens_proc_usage *r;
	struct ml_proc_stat st;
	int err;

	err = memlens__rollup(ml, pid, &u);
	if (err == -ESRCH) {
		s->exited++;
		return 0;
	}
	if (err) {
		struct unreadable *un = ML_VEC_PUSH(s->unr, s->unreadable, s->unreadable_cap);

		if (!un)
			return -ENOMEM;
		un->pid = pid;
		ml_proc_comm(pid, un->comm);	/* readable where /proc shows the pid at all */
		if (!x->owner || ml_proc_uid(pid, &un->uid))
			un->uid = (uint32_t)-1;
		return 0;
	}
	if (!u.present)
		return 0;	/* kernel thread: no memory of its own */
	r = ML_VEC_PUSH(s->p, s->n, s->cap);
	if (!r)
		return -ENOMEM;
	r->pid = pid;
	r->rss = u.kb[MEMLENS_USAGE_RSS] * 1024;
	r->pss = u.kb[MEMLENS_USAGE_PSS] * 1024;
	r->uss = (u.kb[MEMLENS_USAGE_PRIVATE_CLEAN] + u.kb[MEMLENS_USAGE_PRIVATE_DIRTY]) * 1024;
	r->swap = u.kb[MEMLENS_USAGE_SWAP] * 1024;
	r->swap_pss = u.kb[MEMLENS_USAGE_SWAP_PSS] * 1024;
	/* one stat read after the rollup: Vss, the name, and whether it is
	 * gone by now (its numbers may be half a process's: dropped) */
	err = ml_proc_stat(pid, &st);
	if (err == -ESRCH || (!err && (st.state == 'Z' || st.state == 'X')))
		goto gone;
	r->vss = st.vsize;
	memcpy(r->comm, st.comm, sizeof(r->comm));
	r->cgroup = NULL;
	r->container[0] = r->pod[0] = 0;
	r->uid = UINT32_MAX;
	r->cmdline = NULL;
	if (x->owner && ml_proc_uid(pid, &r->uid) == -ESRCH)
		goto gone;
	if (x->cgroups) {
		char path[4096];

		err = ml_proc_cgroup(pid, path, sizeof(path));
		if (err == -ESRCH)
			goto gone;
		if (err)
			path[0] = 0;
		ml_cgroup_ids(path, r->container, r->pod);
		r->cgroup = strdup(path);
		if (!r->cgroup) {
			s->n--;
			return -ENOMEM;
		}
	}
	if (x->cmdline) {
		err = read_cmdline(pid, &r->cmdline);
		if (err == -ESRCH)
			goto gone;
		if (err) {
			free((char *)r->cgroup);
			s->n--;
			return err;
		}
	}
	return 0;
gone:
	free((char *)r->cgroup);
	s->n--;
	s->exited++;
	return 0;
}

/* 0, or the error of pins the caller named that cannot be read (without a
 * named pin directory, no source answering leaves dmabuf_source AUTO) */
static int add_dmabuf(struct memlens *ml, struct memlens_snapshot *s, const char *pin_dir, bool keep)
{
	MEMLENS_OPTS(memlens_dmabuf_opts, o, .pin_dir = pin_dir);
	struct memlens_dmabuf *d = NULL;
	size_t j = 0;
	int err = memlens__dmabuf(ml, &o, &d);

	if (err)
		return pin_dir ? err : 0;
	s->dmabuf_source = memlens_dmabuf__source(d);
	/* both sorted by pid */
	for (size_t i = 0; i < memlens_dmabuf__proc_count(d); i++) {
		const struct memlens_dmabuf_proc *dp = memlens_dmabuf__proc(d, i);

		while (j < s->n && s->p[j].pid < dp->pid)
			j++;
		if (j < s->n && s->p[j].pid == dp->pid) {
			s->p[j].dmabuf_rss = dp->rss;
			s->p[j].dmabuf_pss = dp->pss;
		}
	}
	if (keep)
		s->dmabuf = d;
	else
		memlens_dmabuf__free(d);
	return 0;
}

/*
 * The processes are read by this thread and, where there is one, a helper
 * (ml_helper_start): each takes the next pid of the list, into rows of its
 * own, merged afterwards.  smaps_rollup's page-table walk is most of a
 * snapshot and one process's walk shares nothing with another's.
 */
struct work {
	struct memlens *ml;
	const struct extras *x;
	const pid_t *pids;
	size_t npids, next;	/* next: taken atomically */
};

struct part {
	struct work *w;
	struct memlens_snapshot s;	/* this thread's rows, unreadable and exited */
	int err;
};

static void *part_run(void *arg)
{
	struct part *pt = arg;
	size_t i;

	while (!pt->err && (i = __atomic_fetch_add(&pt->w->next, 1, __ATOMIC_RELAXED)) < pt->w->npids)
		pt->err = one(pt->w->ml, &pt->s, pt->w->pids[i], pt->w->x);
	return NULL;
}

/* the helper's rows, unreadable and exited into s; its arrays are freed */
static int merge(struct memlens_snapshot *s, struct memlens_snapshot *h)
{
	int err = 0;

	for (size_t i = 0; i < h->n; i++) {
		struct memlens_proc_usage *r = ML_VEC_PUSH(s->p, s->n, s->cap);

		if (!r) {
			err = -ENOMEM;
			free((char *)h->p[i].cgroup);
			free((char *)h->p[i].cmdline);
			continue;
		}
		*r = h->p[i];
	}
	for (size_t i = 0; !err && i < h->unreadable; i++) {
		struct unreadable *u = ML_VEC_PUSH(s->unr, s->unreadable, s->unreadable_cap);

		if (!u)
			err = -ENOMEM;
		else
			*u = h->unr[i];
	}
	s->exited += h->exited;
	free(h->p);
	free(h->unr);
	return err;
}

static int cmp_int(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;

	return x < y ? -1 : x > y;
}

/* every process of /proc into s, on two threads where there are two CPUs */
static int read_all(struct memlens *ml, struct memlens_snapshot *s, const struct extras *x)
{
	struct work w = { .ml = ml, .x = x };
	struct part me = { .w = &w }, helper = { .w = &w };
	size_t cap = 0;
	struct ml_pids it;
	pthread_t t;
	bool two;
	pid_t pid, *pids = NULL;
	int err = x->pids ? 0 : ml_pids_open(&it);

	/* the caller's pids, in order and once each */
	for (size_t i = 0; x->pids && !err && i < x->npids; i++) {
		pid_t *slot;

		if (x->pids[i] <= 0)
			continue;
		slot = ML_VEC_PUSH(pids, w.npids, cap);
		if (!slot)
			err = -ENOMEM;
		else
			*slot = x->pids[i];
	}
	if (x->pids && !err && w.npids) {
		size_t o = 1;

		qsort(pids, w.npids, sizeof(*pids), cmp_int);
		for (size_t i = 1; i < w.npids; i++)
			if (pids[i] != pids[o - 1])
				pids[o++] = pids[i];
		w.npids = o;
	}
	while (!x->pids && !err && (pid = ml_pids_next(&it))) {
		pid_t *slot = ML_VEC_PUSH(pids, w.npids, cap);

		if (!slot)
			err = -ENOMEM;
		else
			*slot = pid;
	}
	if (!x->pids)
		ml_pids_close(&it);
	if (err) {
		free(pids);
		return err;
	}
	w.pids = pids;
	me.s = *s;
	/* a thread is worth its ~50 us only for more than a few processes */
	two = w.npids >= 16 && ml_helper_start(&t, part_run, &helper);
	part_run(&me);
	if (two) {
		pthread_join(t, NULL);
		err = merge(&me.s, &helper.s);
	}
	*s = me.s;
	free(pids);
	return me.err ? me.err : helper.err ? helper.err : err;
}

static int cmp_pid(const void *a, const void *b)
{
	const struct memlens_proc_usage *x = a, *y = b;

	return x->pid < y->pid ? -1 : x->pid > y->pid;
}

static int cmp_unr_pid(const void *a, const void *b)
{
	const struct unreadable *x = a, *y = b;

	return x->pid < y->pid ? -1 : x->pid > y->pid;
}

int memlens__snapshot(struct memlens *ml, const struct memlens_snapshot_opts *opts, struct memlens_snapshot **out)
{
	struct memlens_snapshot *s;
	struct extras x;
	int err;

	if (!ml || !out || !OPTS_VALID(opts, memlens_snapshot_opts))
		return ml_err(EINVAL);
	x.cgroups = OPTS_GET(opts, cgroups, false);
	x.owner = OPTS_GET(opts, owner, false);
	x.cmdline = OPTS_GET(opts, cmdline, false);
	x.pids = OPTS_GET(opts, pids, NULL);
	x.npids = x.pids ? OPTS_GET(opts, npids, 0) : 0;
	s = calloc(1, sizeof(*s));
	if (!s)
		return ml_err(ENOMEM);
	meminfo(s);
	err = read_all(ml, s, &x);
	if (!err) {
		/* the two threads' rows and unreadable pids, in pid order */
		if (s->n)	/* none (--pid of unreadable ones): no array at all */
			qsort(s->p, s->n, sizeof(*s->p), cmp_pid);
		if (s->unreadable)	/* no array at all without one */
			qsort(s->unr, s->unreadable, sizeof(*s->unr), cmp_unr_pid);
		if (OPTS_GET(opts, dmabuf, false))
			err = add_dmabuf(ml, s, OPTS_GET(opts, pin_dir, NULL), OPTS_GET(opts, keep_dmabuf, false));
	}
	if (err) {
		memlens_snapshot__free(s);
		return ml_err(err);
	}
	*out = s;
	return 0;
}

size_t memlens_snapshot__count(const struct memlens_snapshot *s) { return s ? s->n : 0; }
const struct memlens_proc_usage *memlens_snapshot__get(const struct memlens_snapshot *s, size_t i)
{
	return s && i < s->n ? &s->p[i] : ml_get_none(s);
}
size_t memlens_snapshot__exited(const struct memlens_snapshot *s) { return s ? s->exited : 0; }
size_t memlens_snapshot__unreadable(const struct memlens_snapshot *s) { return s ? s->unreadable : 0; }
int32_t memlens_snapshot__unreadable_pid(const struct memlens_snapshot *s, size_t i)
{
	return s && i < s->unreadable ? s->unr[i].pid : -1;
}
uint32_t memlens_snapshot__unreadable_uid(const struct memlens_snapshot *s, size_t i)
{
	return s && i < s->unreadable ? s->unr[i].uid : (uint32_t)-1;
}

const char *memlens_snapshot__unreadable_comm(const struct memlens_snapshot *s, size_t i)
{
	return s && i < s->unreadable ? s->unr[i].comm : NULL;
}
const struct memlens_dmabuf *memlens_snapshot__dmabuf(const struct memlens_snapshot *s)
{
	return s ? s->dmabuf : NULL;
}
uint64_t memlens_snapshot__mem_total(const struct memlens_snapshot *s) { return s ? s->mem_total : 0; }
uint64_t memlens_snapshot__mem_available(const struct memlens_snapshot *s) { return s ? s->mem_available : 0; }
enum memlens_source memlens_snapshot__dmabuf_source(const struct memlens_snapshot *s)
{
	return s ? s->dmabuf_source : MEMLENS_SOURCE_AUTO;
}

void memlens_snapshot__free(struct memlens_snapshot *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n; i++) {
		free((char *)s->p[i].cgroup);
		free((char *)s->p[i].cmdline);
	}
	free(s->unr);
	memlens_dmabuf__free(s->dmabuf);
	free(s->p);
	free(s);
}
