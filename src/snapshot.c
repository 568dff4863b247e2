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
#include <signal.h>
#include <time.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>
#include "cgroup.h"
#include "procfs.h"
#include "select.h"
#include "stall.h"
#include "vma_smaps.h"

struct memlens_snapshot {
	struct memlens_proc_usage *p;
	size_t n, cap;
	size_t exited, unreadable, unreadable_cap, stalled, stalled_cap, over_budget;
	struct unreadable { int32_t pid; uint32_t uid; char comm[16]; } *unr, *stl;	/* stl: stalled */
	uint64_t mem_total, mem_available;
	struct timespec wall, boot;	/* when it was taken: CLOCK_REALTIME, CLOCK_BOOTTIME */
	char boot_id[37], host[65];
	enum memlens_source dmabuf_source;
	enum memlens_source counters_source;	/* of the counter rows; AUTO: none asked */
	int dmabuf_err;			/* memlens__dmabuf()'s, with .dmabuf */
	struct memlens_dmabuf *dmabuf;	/* with .keep_dmabuf */
};

/* when and where s is taken: the clocks at its start, the boot's id (two
 * snapshots of different boots have no delta: their pids, start times and
 * boot clocks are of different machines' lives) and the host's name */
static void taken(struct memlens_snapshot *s)
{
	struct utsname u;
	char id[64];
	size_t n;

	clock_gettime(CLOCK_REALTIME, &s->wall);
	clock_gettime(CLOCK_BOOTTIME, &s->boot);
	if (!ml_read_small("/proc/sys/kernel/random/boot_id", id, sizeof(id))) {
		n = strspn(id, "0123456789abcdef-");
		if (n == 36) {
			memcpy(s->boot_id, id, 36);
			s->boot_id[36] = 0;
		}
	}
	if (!uname(&u))
		snprintf(s->host, sizeof(s->host), "%s", u.nodename);
}

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
	bool counters_only;	/* no rollup for anyone */
	bool counters;		/* rows with a rollup get the counters' split too */
	int32_t *skip;		/* counter rows for these (sorted, ours) */
	size_t nskip;
	uint64_t deadline;	/* ml_now_ms() after which no rollup; 0: none */
	/* the counters' source (job "counters"): its reader of one process,
	 * and the counters of every process from its one pass where it has
	 * one (counters.all), in pid order; else NULL */
	int (*one)(pid_t pid, struct ml_counters *c);
	const struct ml_counters_row *tab;
	size_t ntab;
	/* with cgroups and a pass that gives their ids: where the
	 * hierarchies are mounted, to read each cgroup's path once */
	const struct ml_cgroup_roots *roots;
};

/* pid's row of the pass, or NULL */
static const struct ml_counters_row *tab_find(const struct extras *x, pid_t pid)
{
	struct ml_counters_row key = { .pid = pid };

	return x->tab ? bsearch(&key, x->tab, x->ntab, sizeof(*x->tab), ml_counters_row_cmp) : NULL;
}

/* pid's counters: from the pass when it saw the process, else from the
 * source's reader of one */
static int counters_of(const struct extras *x, pid_t pid, struct ml_counters *c)
{
	const struct ml_counters_row *r = tab_find(x, pid);

	if (!r)
		return x->one(pid, c);
	if (r->no_mm)
		return -EPROTO;	/* as status says it: no VmSize */
	*c = r->c;
	return 0;
}

/* /proc/<pid>/cmdline into a string of its own: NULs as spaces, the last
 * dropped; "" if unreadable.  -ESRCH if it is gone, -ETIMEDOUT if stalled,
 * -ENOMEM */
static int cmdline_of(ssize_t n, char *buf, const char **out)
{
	if (n == -ENOENT || n == -ESRCH || n == -ETIMEDOUT)
		return n == -ETIMEDOUT ? -ETIMEDOUT : -ESRCH;
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

/* a process that could not be read (or, -ETIMEDOUT, was stalled) */
static int not_read(struct memlens_snapshot *s, int pid, const struct extras *x, int err)
{
	struct unreadable *un = err == -ETIMEDOUT ? ML_VEC_PUSH(s->stl, s->stalled, s->stalled_cap) :
						    ML_VEC_PUSH(s->unr, s->unreadable, s->unreadable_cap);

	if (!un)
		return -ENOMEM;
	un->pid = pid;
	ml_proc_comm(pid, un->comm);	/* readable where /proc shows the pid at all */
	if (!x->owner || ml_proc_uid(pid, &un->uid))
		un->uid = (uint32_t)-1;
	return 0;
}

/* what the reader read of one process: its smaps_rollup and (with
 * .cmdline) its cmdline: byte counts, or -errno */
struct read {
	pid_t pid;
	ssize_t n, cn;
	char buf[4096], cbuf[4096];
	struct ml_cgroup_cache *cg;	/* the reader's paths by cgroup ids */
	size_t cg_read, cg_kept;	/* paths from the file, from cg */
};

static void read_free(struct read *rd)
{
	if (rd)
		ml_cgroup_cache_free(rd->cg);
	free(rd);
}

static int finish(struct memlens_snapshot *s, struct memlens_proc_usage *r, struct read *rd, const struct extras *x);

/* a row of the mm counters only (status: no page walk), flagged flags */
static int counters(struct memlens_snapshot *s, struct read *rd, const struct extras *x, uint32_t flags)
{
	struct memlens_proc_usage *r;
	struct ml_counters c;
	size_t n;
	int err = counters_of(x, rd->pid, &c);

	if (err == -ESRCH || err == -ENOENT) {
		s->exited++;
		return 0;
	}
	if (err == -EPROTO)
		return 0;	/* no VmSize: a kernel thread, no memory of its own */
	if (ml_err_ours(err))
		return err;
	if (err)
		return not_read(s, rd->pid, x, err);
	r = ML_VEC_PUSH(s->p, s->n, s->cap);
	if (!r)
		return -ENOMEM;
	memset(r, 0, sizeof(*r));
	r->pid = rd->pid;
	r->flags = flags | MEMLENS_USAGE_F_COUNTERS;
	r->vss = c.vss;
	r->rss = c.rss;
	r->rss_anon = c.anon;
	r->rss_file = c.file;
	r->rss_shmem = c.shmem;
	r->swap = c.swap;
	n = s->n;
	err = finish(s, r, rd, x);
	/* counted if kept (finish drops one that is gone or stalled in its cmdline) */
	if (!err && s->n == n && (flags & MEMLENS_USAGE_F_OVER_BUDGET))
		s->over_budget++;
	return err;
}

static int one(struct memlens_snapshot *s, struct read *rd, const struct extras *x)
{
	struct ml_usage mu;
	const struct memlens_vma_usage *u = &mu.u;
	struct memlens_proc_usage *r;
	pid_t pid = rd->pid;
	int err;

	err = ml_rollup_result(pid, rd->n, rd->buf, &mu);
	if (err == -ESRCH) {
		s->exited++;
		return 0;
	}
	if (ml_err_ours(err))
		return err;
	if (err)
		return not_read(s, pid, x, err);
	if (!u->present)
		return 0;	/* kernel thread: no memory of its own */
	r = ML_VEC_PUSH(s->p, s->n, s->cap);
	if (!r)
		return -ENOMEM;
	memset(r, 0, sizeof(*r));
	r->pid = pid;
	r->flags = MEMLENS_USAGE_F_ROLLUP;
	r->rss = u->kb[MEMLENS_USAGE_RSS] * 1024;
	r->pss = u->kb[MEMLENS_USAGE_PSS] * 1024;
	r->uss = (u->kb[MEMLENS_USAGE_PRIVATE_CLEAN] + u->kb[MEMLENS_USAGE_PRIVATE_DIRTY]) * 1024;
	r->swap = u->kb[MEMLENS_USAGE_SWAP] * 1024;
	r->swap_pss = u->kb[MEMLENS_USAGE_SWAP_PSS] * 1024;
	r->ksm = u->kb[MEMLENS_USAGE_KSM] * 1024;
	if (x->counters) {
		struct ml_counters c;

		/* gone since, or no counters: the split stays unknown (no flag) */
		if (counters_of(x, pid, &c) == 0) {
			r->flags |= MEMLENS_USAGE_F_COUNTERS;
			r->rss_anon = c.anon;
			r->rss_file = c.file;
			r->rss_shmem = c.shmem;
		}
	}
	return finish(s, r, rd, x);
}

/*
 * The rest of row r (the last of s): one stat read after the figures (Vss,
 * the name, its start, and whether it is gone by now: its numbers may be
 * half a process's, dropped), then what the options ask.
 */
static int finish(struct memlens_snapshot *s, struct memlens_proc_usage *r, struct read *rd, const struct extras *x)
{
	struct ml_proc_stat st;
	pid_t pid = r->pid;
	int err;

	err = ml_proc_stat(pid, &st);
	if (err == -ESRCH || (!err && (st.state == 'Z' || st.state == 'X')))
		goto gone;
	if (r->flags & MEMLENS_USAGE_F_ROLLUP)
		r->vss = st.vsize;
	r->start_time = st.start_time;
	memcpy(r->comm, st.comm, sizeof(r->comm));
	r->cgroup = NULL;
	r->container[0] = r->pod[0] = 0;
	r->uid = UINT32_MAX;
	r->cmdline = NULL;
	if (x->owner && ml_proc_uid(pid, &r->uid) == -ESRCH)
		goto gone;
	if (x->cgroups) {
		/* by the pass's ids where the pass saw this process (started
		 * when stat says), else from its file */
		const struct ml_counters_row *t = x->roots ? tab_find(x, pid) : NULL;
		bool ids = t && t->start_time == st.start_time;
		char path[4096];

		err = ml_cgroup_path(&rd->cg, ids ? x->roots : NULL, pid, ids ? t->cgroup_id : 0, ids ? t->memcg_id : 0,
				     path, sizeof(path));
		if (err == 1)
			rd->cg_kept++;
		if (err == 0)
			rd->cg_read++;
		err = err > 0 ? 0 : err;
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
		err = cmdline_of(rd->cn, rd->cbuf, &r->cmdline);
		if (err == -ESRCH)
			goto gone;
		if (err == -ETIMEDOUT) {	/* its lock taken since the rollup */
			free((char *)r->cgroup);
			s->n--;
			return not_read(s, pid, x, err);
		}
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

/* the DMA-BUF pass, joined to the rows by pid (both sorted); its failure is
 * the snapshot's dmabuf_err (no source answering leaves dmabuf_source AUTO)
 * and only no memory stops the snapshot */
static int add_dmabuf(struct memlens *ml, struct memlens_snapshot *s, const struct memlens_snapshot_opts *opts)
{
	MEMLENS_OPTS(memlens_dmabuf_opts, o, .pin_dir = OPTS_GET(opts, pin_dir, NULL),
		     .source = OPTS_GET(opts, dmabuf_source, MEMLENS_SOURCE_AUTO));
	struct memlens_dmabuf *d = NULL;
	size_t j = 0;
	int err = memlens__dmabuf(ml, &o, &d);

	if (err) {
		s->dmabuf_err = err;
		return err == -ENOMEM ? err : 0;
	}
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
	if (OPTS_GET(opts, keep_dmabuf, false))
		s->dmabuf = d;
	else
		memlens_dmabuf__free(d);
	return 0;
}

/*
 * The processes are read by workers (two where there are two CPUs): each
 * takes the next pid of the list, into rows of its own, merged afterwards.
 * smaps_rollup's page-table walk is most of a snapshot and one process's
 * walk shares nothing with another's.  The caller's thread only watches
 * them (stall.h): a worker that has waited stall_ms in one process's reads
 * is abandoned, the process reported stalled, its rows so far kept, and a
 * new worker takes the rest of the list.  What the workers share lives in
 * struct work, freed by the last of the caller and the workers, since an
 * abandoned worker may outlive the snapshot.
 */
struct work {
	pthread_mutex_t mu;
	pthread_cond_t cv;	/* a worker finished */
	unsigned refs;		/* under mu */
	struct extras x;
	pid_t *pids;
	size_t npids, next;	/* next: under mu */
	struct ml_stuck *stuck;	/* a reference of its own */
	/* the rows of every worker, under mu: room for one a pid, made at
	 * the start and filled as rows are read (a worker's own array holds
	 * one row at a time), so a collection's rows are one array, never
	 * a worker's array grown by doubling and then copied into another */
	struct memlens_proc_usage *rows;
	size_t nrows, rows_cap;
	size_t cg_read, cg_kept;	/* the finished workers' paths, under mu */
};

struct worker {
	struct work *w;
	pthread_t t;
	/* under w->mu */
	pid_t reading;		/* in this process's reads since `since`; 0: none */
	uint64_t since;
	bool rollup;		/* ... and they include its rollup (the budget's) */
	bool done, abandoned;
	/* the worker's own until done or abandoned, then the caller's */
	struct memlens_snapshot s;
	int err;
};

static void work_put(struct work *w)
{
	bool last;

	pthread_mutex_lock(&w->mu);
	last = --w->refs == 0;
	pthread_mutex_unlock(&w->mu);
	if (!last)
		return;
	ml_stuck_put(w->stuck);
	for (size_t i = 0; i < w->nrows; i++) {	/* not taken: an error's */
		free((char *)w->rows[i].cgroup);
		free((char *)w->rows[i].cmdline);
	}
	free(w->rows);
	free(w->x.skip);
	free(w->pids);
	pthread_cond_destroy(&w->cv);
	pthread_mutex_destroy(&w->mu);
	free(w);
}

static void read_cmdline(struct read *rd, bool cmdline);

static int cmp_int(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;

	return x < y ? -1 : x > y;
}

/* one process's memory files into rd: the rollup, and cmdline if asked */
static void read_files(struct read *rd, bool cmdline)
{
	char path[64];
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/smaps_rollup", (int)rd->pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	rd->n = fd < 0 ? -errno : read(fd, rd->buf, sizeof(rd->buf));
	if (rd->n < 0 && fd >= 0)
		rd->n = -errno;
	if (fd >= 0)
		close(fd);
	rd->cn = 0;
	if (rd->n >= 0)
		read_cmdline(rd, cmdline);
}

/* with .cmdline: its cmdline into rd (it takes the mmap lock: watched too) */
static void read_cmdline(struct read *rd, bool cmdline)
{
	char path[64];
	int fd;

	rd->cn = 0;
	if (!cmdline)
		return;
	snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)rd->pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	rd->cn = fd < 0 ? -errno : read(fd, rd->cbuf, sizeof(rd->cbuf) - 1);
	if (rd->cn < 0 && fd >= 0)
		rd->cn = -errno;
	if (fd >= 0)
		close(fd);
}

static void *worker_run(void *arg)
{
	struct worker *k = arg;
	struct work *w = k->w;
	struct read *rd = malloc(sizeof(*rd));

	if (!rd) {
		k->err = -ENOMEM;
	} else {
		rd->cg = NULL;
		rd->cg_read = rd->cg_kept = 0;
	}
	for (;;) {
		uint32_t flags;
		pid_t pid;

		pthread_mutex_lock(&w->mu);
		if (k->err || w->next >= w->npids) {
			if (rd) {
				w->cg_read += rd->cg_read;
				w->cg_kept += rd->cg_kept;
			}
			k->done = true;
			pthread_cond_signal(&w->cv);
			pthread_mutex_unlock(&w->mu);
			break;
		}
		pid = w->pids[w->next++];
		/* its rollup, or (the cheap tier, the caller's skip list, the
		 * budget spent, a slow read of it still running) its counters */
		flags = w->x.counters_only || (w->x.nskip && bsearch(&pid, w->x.skip, w->x.nskip, sizeof(pid), cmp_int)) ?
				MEMLENS_USAGE_F_COUNTERS : 0;
		if (!flags && w->x.deadline && ml_now_ms() >= w->x.deadline)
			flags = MEMLENS_USAGE_F_OVER_BUDGET;
		if (!flags && ml_stuck_has(w->stuck, pid)) {	/* still in an earlier read */
			if (ml_stuck_slow(w->stuck, pid)) {
				flags = MEMLENS_USAGE_F_OVER_BUDGET;
			} else {
				pthread_mutex_unlock(&w->mu);
				k->err = not_read(&k->s, pid, &w->x, -ETIMEDOUT);
				continue;
			}
		}
		k->reading = pid;
		k->since = ml_now_ms();
		k->rollup = !flags;
		pthread_mutex_unlock(&w->mu);

		rd->pid = pid;
		if (flags)
			read_cmdline(rd, w->x.cmdline);
		else
			read_files(rd, w->x.cmdline);

		pthread_mutex_lock(&w->mu);
		if (k->abandoned) {
			/* the caller took this worker's rows and named the
			 * process stalled; it is not stuck any more */
			pthread_mutex_unlock(&w->mu);
			ml_stuck_del(w->stuck, pid);
			read_free(rd);
			free(k);
			work_put(w);
			return NULL;
		}
		k->reading = 0;
		pthread_mutex_unlock(&w->mu);
		k->err = flags ? counters(&k->s, rd, &w->x, flags & MEMLENS_USAGE_F_OVER_BUDGET) : one(&k->s, rd, &w->x);
		/* its row (if any) into the work's rows */
		pthread_mutex_lock(&w->mu);
		while (k->s.n && w->nrows < w->rows_cap)
			w->rows[w->nrows++] = k->s.p[--k->s.n];
		pthread_mutex_unlock(&w->mu);
	}
	read_free(rd);
	work_put(w);
	return NULL;
}

/* a worker started on w, or NULL (no memory, no thread) */
static struct worker *worker_start(struct work *w)
{
	struct worker *k = calloc(1, sizeof(*k));
	sigset_t all, old;
	int rc;

	if (!k)
		return NULL;
	k->w = w;
	pthread_mutex_lock(&w->mu);
	w->refs++;
	pthread_mutex_unlock(&w->mu);
	/* no signal of the application's is taken by a worker */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(&k->t, NULL, worker_run, k);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc) {
		work_put(w);
		free(k);
		return NULL;
	}
	return k;
}

/* a worker's rows, unreadable, stalled and exited into s; its arrays are freed */
static int merge(struct memlens_snapshot *s, struct memlens_snapshot *h)
{
	int err = 0;

	/* the rows are most of a collection's memory: the first rows are
	 * taken whole (the work's, as a rule), and room for more made in one
	 * step, not by doubling beside both arrays */
	if (!s->n && h->n) {
		free(s->p);
		s->p = h->p;
		s->n = h->n;
		s->cap = h->cap;
		h->p = NULL;
		h->n = 0;
	} else if (h->n && s->cap - s->n < h->n) {
		struct memlens_proc_usage *p = realloc(s->p, (s->n + h->n) * sizeof(*p));

		if (p) {
			s->p = p;
			s->cap = s->n + h->n;
		}
	}
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
	for (size_t i = 0; !err && i < h->stalled; i++) {
		struct unreadable *u = ML_VEC_PUSH(s->stl, s->stalled, s->stalled_cap);

		if (!u)
			err = -ENOMEM;
		else
			*u = h->stl[i];
	}
	s->exited += h->exited;
	s->over_budget += h->over_budget;
	free(h->p);
	free(h->unr);
	free(h->stl);
	return err;
}


/* the pids to read: the caller's (in order, once each) or every process in /proc */
static int list_pids(const struct extras *x, pid_t **out, size_t *np)
{
	size_t cap = 0, n = 0;
	struct ml_pids it;
	pid_t pid, *pids = NULL;
	int err = x->pids ? 0 : ml_pids_open(&it);

	for (size_t i = 0; x->pids && !err && i < x->npids; i++) {
		pid_t *slot;

		if (x->pids[i] <= 0)
			continue;
		slot = ML_VEC_PUSH(pids, n, cap);
		if (!slot)
			err = -ENOMEM;
		else
			*slot = x->pids[i];
	}
	if (x->pids && !err && n) {
		size_t o = 1;

		qsort(pids, n, sizeof(*pids), cmp_int);
		for (size_t i = 1; i < n; i++)
			if (pids[i] != pids[o - 1])
				pids[o++] = pids[i];
		n = o;
	}
	while (!x->pids && !err && (pid = ml_pids_next(&it))) {
		pid_t *slot = ML_VEC_PUSH(pids, n, cap);

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
	*out = pids;
	*np = n;
	return 0;
}

/* the counter row of a process whose rollup was abandoned at the budget
 * (by the watching thread: the counters take no lock; no cmdline, its read
 * takes the lock the walk may hold) */
static int over_budget_row(struct memlens_snapshot *s, pid_t pid, const struct extras *x)
{
	struct read *rd = calloc(1, sizeof(*rd));
	struct extras nx = *x;
	int err;

	if (!rd)
		return -ENOMEM;
	rd->pid = pid;
	nx.cmdline = false;
	err = counters(s, rd, &nx, MEMLENS_USAGE_F_OVER_BUDGET);
	if (!err && x->cmdline && s->n && s->p[s->n - 1].pid == pid && !s->p[s->n - 1].cmdline)
		err = (s->p[s->n - 1].cmdline = strdup("")) ? 0 : -ENOMEM;
	read_free(rd);
	return err;
}

/* the work's rows into s (every worker that may still write one done or
 * abandoned: an abandoned one writes none) */
static int take_rows(struct memlens_snapshot *s, struct work *w)
{
	struct memlens_snapshot h = { 0 };

	pthread_mutex_lock(&w->mu);
	h.p = w->rows;
	h.n = w->nrows;
	h.cap = w->rows_cap;
	w->rows = NULL;
	w->nrows = w->rows_cap = 0;
	pthread_mutex_unlock(&w->mu);
	return merge(s, &h);
}

/* -v: how the rows' cgroups were found (w's finished workers') */
static void say_cgroups(struct memlens *ml, struct work *w)
{
	if (w->x.roots)
		ml_log(ml, MEMLENS_INFO, "cgroups: %zu paths by the counters pass's cgroup ids, %zu /proc/PID/cgroup read\n",
		       w->cg_kept, w->cg_read);
}

/* memlens_opts.threads 1: the one worker's loop on the caller's thread,
 * nobody watching (a parked mmap lock holds the caller up) */
static int read_inline(struct memlens *ml, struct memlens_snapshot *s, struct work *w)
{
	struct worker *k = calloc(1, sizeof(*k));
	int err;

	if (!k) {
		work_put(w);
		return -ENOMEM;
	}
	k->w = w;
	w->refs++;		/* worker_run() puts the worker's reference */
	worker_run(k);
	err = merge(s, &k->s);
	if (!err)
		err = take_rows(s, w);
	err = k->err ? k->err : err;
	free(k);
	say_cgroups(ml, w);
	work_put(w);
	return err;
}

/* every process asked for into s, by workers the caller's thread watches */
static int read_all(struct memlens *ml, struct memlens_snapshot *s, const struct extras *x)
{
	struct worker **k = NULL, **slot;
	size_t nk = 0, kcap = 0, stalls = 0;
	unsigned limit = ml->stall_ms;
	pthread_condattr_t ca;
	struct work *w = calloc(1, sizeof(*w));
	int err = 0, nw;

	if (!w)
		return -ENOMEM;
	err = list_pids(x, &w->pids, &w->npids);
	if (err) {
		free(w);
		return err;
	}
	pthread_mutex_init(&w->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&w->cv, &ca);
	pthread_condattr_destroy(&ca);
	w->refs = 1;
	w->x = *x;
	/* the work's own copy: an abandoned worker may outlive the call */
	w->x.skip = x->nskip ? malloc(x->nskip * sizeof(*x->skip)) : NULL;
	if (x->nskip && !w->x.skip)
		w->x.nskip = 0;
	else if (x->nskip)
		memcpy(w->x.skip, x->skip, x->nskip * sizeof(*x->skip));
	w->stuck = ml_stuck_get(ml->stuck);
	/* malloc, not calloc: the pages a row never fills stay unmapped */
	w->rows = w->npids ? malloc(w->npids * sizeof(*w->rows)) : NULL;
	w->rows_cap = w->rows ? w->npids : 0;
	if (ml->threads == 1)
		return read_inline(ml, s, w);
	/* a second worker is worth its ~50 us only for more than a few
	 * processes, and only with a second CPU (and threads allowing it:
	 * the caller watching counts as one) */
	nw = w->npids >= 16 && sysconf(_SC_NPROCESSORS_ONLN) > 1 && ml->threads != 2 ? 2 : 1;
	for (int i = 0; i < nw && w->npids; i++) {
		struct worker *q = worker_start(w);

		if (q && !(slot = ML_VEC_PUSH(k, nk, kcap))) {
			pthread_mutex_lock(&w->mu);
			q->abandoned = true;	/* (no memory) it stops after its first read */
			pthread_mutex_unlock(&w->mu);
			pthread_detach(q->t);
		} else if (q) {
			*slot = q;
		}
	}
	if (w->npids && !nk)
		err = -EAGAIN;

	pthread_mutex_lock(&w->mu);
	for (;;) {
		uint64_t now = ml_now_ms(), wake = now + ml->stall_ms;
		bool running = false, again = false, over;
		struct timespec ts;

		for (size_t i = 0; i < nk; i++) {
			struct worker *q = k[i];

			if (!q || q->done)
				continue;
			over = q->reading && q->rollup && x->deadline && now >= x->deadline;
			if (q->reading && (now - q->since >= limit || over)) {
				/* stuck in one process's reads: its rows are ours,
				 * the process stalled, and the rest of the list to
				 * a new worker (the stuck one ends on its own, and
				 * frees itself: q is not touched after the unlock) */
				struct memlens_snapshot qs = q->s;
				pid_t pid = q->reading;
				int e, qerr = q->err;

				q->abandoned = true;
				/* the budget spent in its walk: slow, not stalled (a
				 * later snapshot finds it over budget while the walk
				 * lasts, so a slow process costs one walk at a time) */
				if (over)
					ml_stuck_add_slow(w->stuck, pid);
				else
					ml_stuck_add(w->stuck, pid);
				pthread_detach(q->t);
				k[i] = NULL;
				/* many stalls in one snapshot: an attack; the rest
				 * get a tenth of the time, so the snapshot stays
				 * bounded (a slow but honest process may then be
				 * named stalled: said in docs/security.md) */
				if (!over && ++stalls >= 4 && limit == ml->stall_ms)
					limit = ml->stall_ms / 10 > 50 ? ml->stall_ms / 10 : 50;
				pthread_mutex_unlock(&w->mu);
				e = merge(s, &qs);
				if (!e)
					e = over ? over_budget_row(s, pid, x) : not_read(s, pid, x, -ETIMEDOUT);
				if (!err)
					err = e ? e : qerr;
				pthread_mutex_lock(&w->mu);
				if (w->next < w->npids) {
					struct worker *nq;

					pthread_mutex_unlock(&w->mu);
					nq = worker_start(w);
					slot = nq ? ML_VEC_PUSH(k, nk, kcap) : NULL;
					pthread_mutex_lock(&w->mu);
					if (slot) {
						*slot = nq;
					} else if (nq) {
						nq->abandoned = true;
						pthread_detach(nq->t);
					}
					if (!slot && !err)
						err = -ENOMEM;
				}
				again = true;	/* look again, at once: nobody may be left to wake us */
				break;	/* k may have moved */
			}
			running = true;
			if (q->reading && q->since + limit < wake)
				wake = q->since + limit;
			/* at the budget's end, whether or not a walk has begun
			 * (one beginning later does not wake us) */
			if (x->deadline > now && x->deadline < wake)
				wake = x->deadline;
		}
		if (again)
			continue;
		if (!running)
			break;
		if (wake <= now)
			continue;
		wake += 1;
		ts.tv_sec = (time_t)(wake / 1000);
		ts.tv_nsec = (long)(wake % 1000) * 1000000;
		/* the CLOCK_MONOTONIC deadline of the earliest possible stall */
		pthread_cond_timedwait(&w->cv, &w->mu, &ts);
	}
	pthread_mutex_unlock(&w->mu);
	/* the workers that finished: joined, their rows merged */
	for (size_t i = 0; i < nk; i++) {
		int e;

		if (!k[i])
			continue;
		pthread_join(k[i]->t, NULL);
		e = merge(s, &k[i]->s);
		if (!err)
			err = k[i]->err ? k[i]->err : e;
		free(k[i]);
	}
	free(k);
	{
		int terr = take_rows(s, w);

		if (!err)
			err = terr;
	}
	say_cgroups(ml, w);
	work_put(w);
	return err;
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

/*
 * The source of the counter rows (job "counters"), and its pass over every
 * process where it has one (x->tab, *tab the caller's to free).  A pass that
 * fails leaves status per process (said at -v), unless the source was
 * forced: then its error is the snapshot's.
 */
static int counters_pass(struct memlens *ml, struct memlens_snapshot *s, enum memlens_source forced,
			 struct extras *x, struct ml_counters_row **tab)
{
	const struct ml_source *src = NULL;
	size_t n = 0;
	int err = ml_select(ml, MEMLENS_JOB_COUNTERS, forced, NULL, &src);

	if (err)
		return err;
	s->counters_source = src->id;
	x->one = src->counters.one;
	if (!src->counters.all)
		return 0;
	err = src->counters.all(ml, tab, &n);
	if (err && (err == -ENOMEM || forced != MEMLENS_SOURCE_AUTO))
		return err;
	if (err) {
		ml_log(ml, MEMLENS_INFO, "counters: the %s pass failed (%s): status per process\n", src->name,
		       strerror(-err));
		s->counters_source = MEMLENS_SOURCE_COUNTERS_PROCFS;
		*tab = NULL;
		return 0;
	}
	x->tab = *tab;
	x->ntab = n;
	return 0;
}

/* a row of the pass's figures alone (no file read) */
static int row_from_tab(struct memlens_snapshot *s, const struct ml_counters_row *t)
{
	struct memlens_proc_usage *r;

	if (t->no_mm)
		return 0;	/* a kernel thread: no memory of its own */
	r = ML_VEC_PUSH(s->p, s->n, s->cap);
	if (!r)
		return -ENOMEM;
	memset(r, 0, sizeof(*r));
	r->pid = t->pid;
	r->flags = MEMLENS_USAGE_F_COUNTERS;
	memcpy(r->comm, t->comm, sizeof(r->comm));
	r->start_time = t->start_time;
	r->vss = t->c.vss;
	r->rss = t->c.rss;
	r->rss_anon = t->c.anon;
	r->rss_file = t->c.file;
	r->rss_shmem = t->c.shmem;
	r->swap = t->c.swap;
	r->uid = UINT32_MAX;
	return 0;
}

/* a row of pid's counters from the source's reader of one (a process the
 * pass did not see) */
static int row_from_one(struct memlens_snapshot *s, struct read **rd, pid_t pid, const struct extras *x)
{
	if (!*rd && !(*rd = calloc(1, sizeof(**rd))))
		return -ENOMEM;
	(*rd)->pid = pid;
	return counters(s, *rd, x, 0);
}

/*
 * The cheap tier with a pass and nothing else asked: a row per process the
 * pass saw, from its figures alone; one it did not see (new since, or one
 * the kernel's iterator passed over) from the source's reader of one.
 * Without the caller's list the pass's own is the list (no /proc listing:
 * at 10,000 processes that costs as much as the pass), with pid 1 where the
 * pass lacks it (one 6.18 build's iter/task never visits it).
 */
static int rows_from_pass(struct memlens_snapshot *s, const struct extras *x)
{
	struct read *rd = NULL;
	pid_t *pids = NULL;
	size_t n = x->ntab + 1;
	int err = x->pids ? list_pids(x, &pids, &n) : 0;

	if (!err && !s->p && n) {	/* one allocation: a row per pid at most */
		s->p = malloc(n * sizeof(*s->p));
		s->cap = s->p ? n : 0;
	}
	for (size_t i = 0; x->pids && !err && i < n; i++) {
		const struct ml_counters_row *t = tab_find(x, pids[i]);

		err = t ? row_from_tab(s, t) : row_from_one(s, &rd, pids[i], x);
	}
	if (!x->pids && !err && !(x->ntab && x->tab[0].pid == 1))
		err = row_from_one(s, &rd, 1, x);
	for (size_t i = 0; !x->pids && !err && i < x->ntab; i++)
		err = row_from_tab(s, &x->tab[i]);
	read_free(rd);
	free(pids);
	return err;
}

/* MEMLENS_TEST_PASS_FIFO=FIFO: the tests' hold between the counters pass
 * and the reads: a line written to FIFO once the pass is made, then the
 * reads wait until the test has written its own and closed it (cgroups.sh
 * moves processes between the two) */
static void test_hold(void)
{
	const char *f = getenv("MEMLENS_TEST_PASS_FIFO");
	char c;
	int fd;

	if (!f || (fd = open(f, O_WRONLY | O_CLOEXEC)) < 0)
		return;
	if (write(fd, "pass\n", 5) != 5) {
		close(fd);
		return;
	}
	close(fd);
	if ((fd = open(f, O_RDONLY | O_CLOEXEC)) < 0)
		return;
	while (read(fd, &c, 1) > 0)
		;
	close(fd);
}

int memlens__snapshot(struct memlens *ml, const struct memlens_snapshot_opts *opts, struct memlens_snapshot **out)
{
	struct ml_counters_row *tab = NULL;
	struct memlens_snapshot *s;
	const int32_t *skip;
	struct extras x;
	int err;

	if (!ml || !out || !OPTS_VALID(opts, memlens_snapshot_opts))
		return ml_err(EINVAL);
	x.cgroups = OPTS_GET(opts, cgroups, false);
	x.owner = OPTS_GET(opts, owner, false);
	x.cmdline = OPTS_GET(opts, cmdline, false);
	x.pids = OPTS_GET(opts, pids, NULL);
	x.npids = x.pids ? OPTS_GET(opts, npids, 0) : 0;
	x.counters_only = OPTS_GET(opts, counters_only, false);
	x.counters = OPTS_GET(opts, counters, false);
	x.nskip = OPTS_GET(opts, nskip_rollup, 0);
	x.skip = NULL;
	skip = OPTS_GET(opts, skip_rollup, NULL);
	if (x.nskip && skip) {
		if (x.nskip > SIZE_MAX / sizeof(*x.skip) || !(x.skip = malloc(x.nskip * sizeof(*x.skip))))
			return ml_err(ENOMEM);
		memcpy(x.skip, skip, x.nskip * sizeof(*x.skip));
		qsort(x.skip, x.nskip, sizeof(*x.skip), cmp_int);
	} else {
		x.nskip = 0;
	}
	x.deadline = OPTS_GET(opts, budget_ms, 0) ? ml_now_ms() + OPTS_GET(opts, budget_ms, 0) : 0;
	x.one = ml_proc_counters;	/* until a source is chosen: status */
	x.tab = NULL;
	x.ntab = 0;
	x.roots = NULL;
	s = calloc(1, sizeof(*s));
	if (!s) {
		free(x.skip);
		return ml_err(ENOMEM);
	}
	taken(s);
	meminfo(s);
	/* rows of counters to come (the cheap tier, the split asked with the
	 * rollups, the caller's skip list, a budget that may run out): their
	 * source, and its pass */
	err = x.counters_only || x.counters || x.nskip || x.deadline ?
		      counters_pass(ml, s, OPTS_GET(opts, counters_source, MEMLENS_SOURCE_AUTO), &x, &tab) : 0;
	if (!err && x.counters_only && x.tab && !x.cgroups && !x.owner && !x.cmdline) {
		err = rows_from_pass(s, &x);
	} else if (!err) {
		struct ml_cgroup_roots roots = { -1, -1, 0, 0 };

		if (x.cgroups && x.tab) {
			ml_cgroup_roots_open(&roots);
			x.roots = &roots;
		}
		if (x.tab)
			test_hold();
		err = read_all(ml, s, &x);
		ml_cgroup_roots_close(&roots);
	}
	free(tab);
	free(x.skip);
	if (!err) {
		/* the two threads' rows and unreadable pids, in pid order (a
		 * pass's rows are in it already) */
		bool sorted = true;

		for (size_t i = 1; sorted && i < s->n; i++)
			sorted = s->p[i - 1].pid < s->p[i].pid;
		if (s->n && !sorted)	/* none (--pid of unreadable ones): no array at all */
			qsort(s->p, s->n, sizeof(*s->p), cmp_pid);
		if (s->unreadable)	/* no array at all without one */
			qsort(s->unr, s->unreadable, sizeof(*s->unr), cmp_unr_pid);
		if (s->stalled)
			qsort(s->stl, s->stalled, sizeof(*s->stl), cmp_unr_pid);
		if (OPTS_GET(opts, dmabuf, false))
			err = add_dmabuf(ml, s, opts);
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
size_t memlens_snapshot__stalled(const struct memlens_snapshot *s) { return s ? s->stalled : 0; }
size_t memlens_snapshot__over_budget(const struct memlens_snapshot *s) { return s ? s->over_budget : 0; }
enum memlens_source memlens_snapshot__counters_source(const struct memlens_snapshot *s)
{
	return s ? s->counters_source : MEMLENS_SOURCE_AUTO;
}
int32_t memlens_snapshot__stalled_pid(const struct memlens_snapshot *s, size_t i)
{
	return s && i < s->stalled ? s->stl[i].pid : -1;
}
const char *memlens_snapshot__stalled_comm(const struct memlens_snapshot *s, size_t i)
{
	return s && i < s->stalled ? s->stl[i].comm : NULL;
}
const struct memlens_dmabuf *memlens_snapshot__dmabuf(const struct memlens_snapshot *s)
{
	return s ? s->dmabuf : NULL;
}
uint64_t memlens_snapshot__mem_total(const struct memlens_snapshot *s) { return s ? s->mem_total : 0; }

int memlens_snapshot__time(const struct memlens_snapshot *s, struct timespec *wall, struct timespec *since_boot)
{
	if (!s)
		return ml_err(EINVAL);
	if (wall)
		*wall = s->wall;
	if (since_boot)
		*since_boot = s->boot;
	return 0;
}

const char *memlens_snapshot__boot_id(const struct memlens_snapshot *s) { return s ? s->boot_id : ""; }
const char *memlens_snapshot__hostname(const struct memlens_snapshot *s) { return s ? s->host : ""; }
uint64_t memlens_snapshot__mem_available(const struct memlens_snapshot *s) { return s ? s->mem_available : 0; }
enum memlens_source memlens_snapshot__dmabuf_source(const struct memlens_snapshot *s)
{
	return s ? s->dmabuf_source : MEMLENS_SOURCE_AUTO;
}

int memlens_snapshot__dmabuf_error(const struct memlens_snapshot *s)
{
	return s ? s->dmabuf_err : -EINVAL;
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
	free(s->stl);
	memlens_dmabuf__free(s->dmabuf);
	free(s->p);
	free(s);
}
