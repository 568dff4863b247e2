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
#include <stdlib.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include "bpf_iter.h"
#include "bpf_prog.h"
#include "counters_record.h"
#include "probes.h"
#include "source.h"

void ml_task_mm_free(struct ml_prog_loaded *t)
{
	if (!t)
		return;
	ml_prog_unload(t);
	free(t);
}

/* a missing capability is said by ml_prog_refusal(), checked */
int ml_bpf_task_mm_probe(struct memlens *ml, struct ml_probe *p)
{
	struct ml_prog_loaded *t;
	char why[400];
	int err;

	if (ml->kver < ML_KVER(5, 8, 0)) {
		ml_probe_set(p, -EOPNOTSUPP, "kernel %s has no iter/task (needs 5.8+)", ml->release);
		return p->err;
	}
	t = calloc(1, sizeof(*t));
	if (!t) {
		ml_probe_set(p, -ENOMEM, "out of memory");
		return p->err;
	}
	err = ml_prog_load(ml, ML_PROG_TASK_MM, t);
	if (err) {
		ml_prog_refusal(ml, ML_PROG_TASK_MM, err, t, why, sizeof(why));
		ml_prog_log_tail(ml, t, 12);
		free(t);
		ml_probe_set(p, err, "%s", why);
		return err;
	}
	ml->task_mm = t;
	ml_probe_set(p, 0, "iter/task program over the mm counters loaded (%s)", t->how);
	return 0;
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
	return true;
}

static int bpf_all(struct memlens *ml, struct ml_counters_row **rows, size_t *np)
{
	long hz = sysconf(_SC_CLK_TCK);
	uint64_t ns_per_tick = hz > 0 && hz <= 1000000000L ? 1000000000ULL / (uint64_t)hz : 10000000ULL;
	/* sized from the last pass (one allocation, no doubling copies) */
	size_t n = 0, cap = ml->counters_rows + ml->counters_rows / 8 + 64;
	struct ml_counters_row *v = malloc(cap * sizeof(*v));
	struct ml_iter_rd rd;
	bool sorted = true;
	int link, fd, err;
	const char *p;

	if (!v)
		return -ENOMEM;
	link = ml_prog_iter_link(ml->task_mm, 0);
	if (link < 0) {
		free(v);
		return link;
	}
	fd = bpf_iter_create(link);
	err = fd < 0 ? -errno : ml_iter_rd_init(&rd, fd);
	while (!err && (err = ml_iter_rd_next(&rd, sizeof(struct ml_mm_rec), &p)) == 0) {
		struct ml_mm_rec r;
		struct ml_counters_row *o;

		memcpy(&r, p, sizeof(r));
		o = ML_VEC_PUSH(v, n, cap);
		if (!o) {
			err = -ENOMEM;
			break;
		}
		if (!row_of(&r, (uint64_t)ml->page_size, ns_per_tick, o)) {
			n--;
			continue;
		}
		if (n > 1 && v[n - 2].pid >= o->pid)
			sorted = false;
	}
	if (err == 1)
		err = 0;
	if (fd >= 0) {
		ml_iter_rd_free(&rd);
		close(fd);
	}
	close(link);
	if (err) {
		free(v);
		return err;
	}
	ml->counters_rows = n;
	if (!sorted && n) {
		size_t o = 1;

		qsort(v, n, sizeof(*v), ml_counters_row_cmp);
		for (size_t i = 1; i < n; i++)
			if (v[i].pid != v[o - 1].pid)
				v[o++] = v[i];
		n = o;
	}
	*rows = v;
	*np = n;
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
