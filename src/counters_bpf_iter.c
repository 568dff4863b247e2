// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The mm counters of every process in one pass of a BPF iter/task program
 * (task_mm.bpf.c; 5.8+, CAP_BPF+CAP_PERFMON or root): no file per process.
 * The program reads both layouts of the counters (an atomic per counter
 * before 6.2, a percpu_counter since) and sums the per-CPU parts, so its
 * figures are status's where status sums them (6.16+) and the exact ones
 * where status shows the lagging count (6.2 to 6.15: off by up to a batch,
 * 32 or more pages, per CPU and counter).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <bpf/bpf.h>
#include "bpf_iter.h"
#include "bpf_prog.h"
#include "counters_record.h"
#include "probes.h"
#include "source.h"

/* The program, in one of two variants:
 * - task_mm_procs (6.7+): the reader's own thread is the iterator's one
 *   task; its run walks the processes with the open-coded task iterator
 *   (next_task() under RCU: no thread, no pid lookup, no task reference)
 *   into an mmapable array read here in place;
 * - task_mm: the kernel's task walk, every thread, one record each through
 *   the seq_file. */
struct ml_task_mm {
	struct ml_prog_loaded prog;
	bool procs;			/* task_mm_procs */
	pthread_mutex_t lock;		/* one pass at a time over the map */
};

void ml_task_mm_free(struct ml_task_mm *t)
{
	if (!t)
		return;
	ml_prog_unload(&t->prog);
	pthread_mutex_destroy(&t->lock);
	free(t);
}

/* room for the open-coded walk's records: the tasks now (loadavg's fourth
 * field counts threads, so processes too) and a quarter more.
 * MEMLENS_TEST_MM_CAP=N: the tests' way to start with too little room. */
static uint32_t procs_cap(void)
{
	const char *test = getenv("MEMLENS_TEST_MM_CAP");
	FILE *f;
	unsigned long run = 0, all = 0;
	uint64_t cap;

	if (test && atoi(test) > 0)
		return (uint32_t)atoi(test);
	f = fopen("/proc/loadavg", "re");
	if (f) {
		if (fscanf(f, "%*s %*s %*s %lu/%lu", &run, &all) != 2)
			all = 0;
		fclose(f);
	}
	cap = (uint64_t)all + all / 4 + 256;
	return cap < 1024 ? 1024 : cap > (1u << 23) ? 1u << 23 : (uint32_t)cap;
}

/* task_mm_procs loaded with room for cap records */
static int load_procs(struct memlens *ml, struct ml_task_mm *t, uint32_t cap)
{
	int err;

	ml->task_mm_cap = cap;
	err = ml_prog_load(ml, ML_PROG_TASK_MM_PROCS, &t->prog);
	t->procs = !err;
	return err;
}

/* a missing capability is said by ml_prog_refusal(), checked */
int ml_bpf_task_mm_probe(struct memlens *ml, struct ml_probe *p)
{
	const char *force = getenv("MEMLENS_BPF_MM_VARIANT");
	bool procs = ml->kver >= ML_KVER(6, 7, 0) && !(force && !strcmp(force, "iter"));
	bool iter = !(force && !strcmp(force, "procs"));
	struct ml_task_mm *t;
	char why[400] = "", why2[400];
	int err = -EOPNOTSUPP;

	if (ml->kver < ML_KVER(5, 8, 0)) {
		ml_probe_set(p, -EOPNOTSUPP, "kernel %s has no iter/task (needs 5.8+)", ml->release);
		return p->err;
	}
	t = calloc(1, sizeof(*t));
	if (!t) {
		ml_probe_set(p, -ENOMEM, "out of memory");
		return p->err;
	}
	pthread_mutex_init(&t->lock, NULL);
	if (!procs && !iter)
		snprintf(why, sizeof(why), "kernel %s has no open-coded task iterator (needs 6.7+): MEMLENS_BPF_MM_VARIANT=procs",
			 ml->release);
	if (procs) {
		err = load_procs(ml, t, procs_cap());
		if (!err) {
			ml->task_mm = t;
			ml_probe_set(p, 0, "iter/task program over the mm counters loaded (task_mm_procs: the open-coded "
				     "task iterator walks the processes in one run; %s)%s", t->prog.how,
				     force ? ": MEMLENS_BPF_MM_VARIANT" : "");
			return 0;
		}
		ml_prog_refusal(ml, ML_PROG_TASK_MM_PROCS, err, &t->prog, why, sizeof(why));
		ml_log(ml, MEMLENS_DEBUG, "task_mm_procs: %s\n", why);
		ml_prog_log_tail(ml, &t->prog, 12);
	}
	if (iter) {
		err = ml_prog_load(ml, ML_PROG_TASK_MM, &t->prog);
		if (!err) {
			ml->task_mm = t;
			ml_probe_set(p, 0, "iter/task program over the mm counters loaded (task_mm: the kernel's task walk; "
				     "%s%s%s)%s", t->prog.how, why[0] ? "; task_mm_procs: " : "", why,
				     force ? ": MEMLENS_BPF_MM_VARIANT" : "");
			return 0;
		}
		ml_prog_refusal(ml, ML_PROG_TASK_MM, err, &t->prog, why2, sizeof(why2));
		ml_prog_log_tail(ml, &t->prog, 12);
		if (!procs || !strcmp(why, why2))
			snprintf(why, sizeof(why), "%s", why2);
		else
			snprintf(why + strlen(why), sizeof(why) - strlen(why), "; %.*s", (int)(sizeof(why) - strlen(why)),
				 why2);
	}
	ml_task_mm_free(t);
	ml_probe_set(p, err, "%s", why);
	return err;
}

/* a record into a row; false for one no kernel writes (kept out) */
static bool row_of(const struct ml_mm_rec *r, uint64_t page, uint64_t ns_per_tick, struct ml_counters_row *o)
{
	if (r->tgid <= 0)
		return false;
	o->pid = r->tgid;
	o->no_mm = r->flags & ML_MM_REC_NO_MM;
	memcpy(o->comm, r->comm, sizeof(o->comm));
	o->comm[sizeof(o->comm) - 1] = 0;
	o->start_time = r->start_boottime / ns_per_tick;
	o->c.file = (uint64_t)r->count[ML_MM_FILEPAGES] * page;
	o->c.anon = (uint64_t)r->count[ML_MM_ANONPAGES] * page;
	o->c.swap = (uint64_t)r->count[ML_MM_SWAPENTS] * page;
	o->c.shmem = (uint64_t)r->count[ML_MM_SHMEMPAGES] * page;
	o->c.rss = o->c.file + o->c.anon + o->c.shmem;
	o->c.vss = r->total_vm * page;
	o->cgroup_id = r->cgroup_id;
	o->memcg_id = r->memcg_id;
	return true;
}

/* the rows being built: one allocation sized from the last pass */
struct rows {
	struct ml_counters_row *v;
	size_t n, cap;
	bool sorted;
	uint64_t page, ns_per_tick;
};

static int rows_add(struct rows *w, const void *rec)
{
	struct ml_mm_rec r;
	struct ml_counters_row *o;

	memcpy(&r, rec, sizeof(r));
	o = ML_VEC_PUSH(w->v, w->n, w->cap);
	if (!o)
		return -ENOMEM;
	if (!row_of(&r, w->page, w->ns_per_tick, o)) {
		w->n--;
		return 0;
	}
	if (w->n > 1 && w->v[w->n - 2].pid >= o->pid)
		w->sorted = false;
	return 0;
}

/* task_mm: the kernel's walk, a record per process through the seq_file */
static int pass_iter(struct ml_task_mm *t, struct rows *w)
{
	struct ml_iter_rd rd;
	int link, fd, err;
	const char *p;

	link = ml_prog_iter_link(&t->prog, 0);
	if (link < 0)
		return link;
	fd = bpf_iter_create(link);
	err = fd < 0 ? -errno : ml_iter_rd_init(&rd, fd);
	while (!err && (err = ml_iter_rd_next(&rd, sizeof(struct ml_mm_rec), &p)) == 0)
		err = rows_add(w, p);
	if (err == 1)
		err = 0;
	if (fd >= 0) {
		ml_iter_rd_free(&rd);
		close(fd);
	}
	close(link);
	return err;
}

/* the n records of the map (cap of them), mapped for the time of their
 * reading only: between passes they are not the reader's RSS (the kernel
 * maps the map's pages at mmap(), a few microseconds for 10,000 records) */
static int read_recs(struct ml_task_mm *t, uint32_t cap, uint32_t n, struct rows *w)
{
	long pg = sysconf(_SC_PAGESIZE);
	size_t len = ((size_t)cap * sizeof(struct ml_mm_rec) + (size_t)pg - 1) / (size_t)pg * (size_t)pg;
	const struct ml_mm_rec *recs = mmap(NULL, len, PROT_READ, MAP_SHARED, t->prog.map_fd, 0);
	int err = 0;

	if (recs == MAP_FAILED)
		return -errno;
	for (uint32_t i = 0; i < n && !err; i++)
		err = rows_add(w, &recs[i]);
	munmap((void *)recs, len);
	return err;
}

/* task_mm_procs: one run on the reader's own thread (link_info task.tid)
 * fills the map; its output says how many records and how many found no
 * room.  The map is made larger (the program loaded again) when some did. */
static int pass_procs(struct memlens *ml, struct ml_task_mm *t, struct rows *w)
{
	for (int tries = 0;; tries++) {
		struct ml_mm_sum sum;
		uint32_t cap = ml->task_mm_cap;
		ssize_t got;
		int link, fd, err = 0;

		link = ml_prog_iter_link_tid(&t->prog, (pid_t)syscall(SYS_gettid));
		if (link < 0)
			return link;
		fd = bpf_iter_create(link);
		if (fd < 0)
			err = -errno;
		else {
			/* one record, then the end */
			do
				got = read(fd, &sum, sizeof(sum));
			while (got < 0 && errno == EINTR);
			if (got < 0)
				err = -errno;
			else if (got != sizeof(sum) || sum.n > cap)
				err = -EPROTO;
			close(fd);
		}
		close(link);
		if (err)
			return err;
		if (!sum.lost)
			return read_recs(t, cap, sum.n, w);
		if (tries == 2)
			return -EAGAIN;	/* outgrown three times in a row */
		ml_prog_unload(&t->prog);
		err = load_procs(ml, t, (uint32_t)((uint64_t)(sum.n + sum.lost) * 3 / 2 + 256));
		if (err)
			return err;
	}
}

static int bpf_all(struct memlens *ml, struct ml_counters_row **rows, size_t *np)
{
	long hz = sysconf(_SC_CLK_TCK);
	struct ml_task_mm *t = ml->task_mm;
	struct rows w = { .n = 0, .sorted = true, .page = (uint64_t)ml->page_size };
	int err;

	w.ns_per_tick = hz > 0 && hz <= 1000000000L ? 1000000000ULL / (uint64_t)hz : 10000000ULL;
	/* sized from the last pass (one allocation, no doubling copies) */
	w.cap = ml->counters_rows + ml->counters_rows / 8 + 64;
	w.v = malloc(w.cap * sizeof(*w.v));
	if (!w.v)
		return -ENOMEM;
	pthread_mutex_lock(&t->lock);
	err = t->procs ? pass_procs(ml, t, &w) : pass_iter(t, &w);
	pthread_mutex_unlock(&t->lock);
	if (err) {
		free(w.v);
		return err;
	}
	ml->counters_rows = w.n;
	if (!w.sorted && w.n) {
		size_t o = 1;

		qsort(w.v, w.n, sizeof(*w.v), ml_counters_row_cmp);
		for (size_t i = 1; i < w.n; i++)
			if (w.v[i].pid != w.v[o - 1].pid)
				w.v[o++] = w.v[i];
		w.n = o;
	}
	*rows = w.v;
	*np = w.n;
	return 0;
}

const struct ml_source ml_src_counters_bpf = {
	.id = MEMLENS_SOURCE_COUNTERS_BPF,
	.name = "bpf",
	.iface = MEMLENS_IFACE_BPF_TASK_MM,
	.also = -1,
	.cost = { [MEMLENS_JOB_COUNTERS] = "one pass over every task, no file per process" },
	.counters = { .all = bpf_all, .one = ml_proc_counters },
};
