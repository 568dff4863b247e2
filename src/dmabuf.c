// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * DMA-BUF accounting model: picks a source, then adds up what it collected.
 * Per process, Rss = sizes of the distinct buffers it holds by fd or mapping;
 * Pss = sum of size / number of processes holding each (dmabuf_dump's
 * definition).  Buffers in the system list that no process holds are
 * kernel-only.
 */
#include <stdio.h>
#include <stdlib.h>
#include "dmabuf_raw.h"
#include "select.h"

struct memlens_dmabuf {
	struct memlens_dmabuf_buf *bufs;
	size_t nbufs;
	struct memlens_dmabuf_holder *holders;
	size_t nholders;
	struct memlens_dmabuf_ref *refs;
	size_t nrefs;
	struct memlens_dmabuf_fd *fds;
	size_t nfds;
	struct memlens_dmabuf_proc *procs;
	size_t nprocs;
	int32_t *unreadable;
	size_t nunreadable, exited;
	enum memlens_source source;
	const char *system_list;
	char reason[600];
	struct ml_arena arena;
};

void ml_dmabuf_raw_free(struct ml_dmabuf_raw *r)
{
	free(r->bufs);
	free(r->fds);
	free(r->maps);
	free(r->unreadable);
}

void memlens_dmabuf__free(struct memlens_dmabuf *d)
{
	if (!d)
		return;
	free(d->bufs);
	free(d->holders);
	free(d->refs);
	free(d->fds);
	free(d->procs);
	free(d->unreadable);
	ml_arena_free(&d->arena);
	free(d);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static int cmp_holder(const void *a, const void *b)
{
	const struct memlens_dmabuf_holder *x = a, *y = b;

	if (x->pid != y->pid)
		return x->pid < y->pid ? -1 : 1;
	return x->tid < y->tid ? -1 : x->tid > y->tid;
}

static int cmp_ref(const void *a, const void *b)
{
	const struct memlens_dmabuf_ref *x = a, *y = b;

	if (x->holder != y->holder)
		return x->holder < y->holder ? -1 : 1;
	return x->buf < y->buf ? -1 : x->buf > y->buf;
}

static size_t buf_index(const struct memlens_dmabuf *d, uint64_t ino)
{
	size_t lo = 0, hi = d->nbufs;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (d->bufs[mid].ino < ino)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static size_t holder_index(const struct memlens_dmabuf *d, int32_t pid, int32_t tid)
{
	struct memlens_dmabuf_holder k = { .pid = pid, .tid = tid };
	size_t lo = 0, hi = d->nholders;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (cmp_holder(&d->holders[mid], &k) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

#define keep(d, s) ml_arena_strndup(&(d)->arena, (s), strnlen((s), sizeof(s)))

/* Everything known about each inode, the system list first. */
static int build_bufs(struct memlens_dmabuf *d, const struct ml_dmabuf_raw *raw)
{
	size_t n = raw->nbufs + raw->nfds + raw->nmaps, k = 0;
	uint64_t *inos = malloc((n ? n : 1) * sizeof(*inos));

	if (!inos)
		return -ENOMEM;
	for (size_t i = 0; i < raw->nbufs; i++)
		inos[k++] = raw->bufs[i].ino;
	for (size_t i = 0; i < raw->nfds; i++)
		inos[k++] = raw->fds[i].ino;
	for (size_t i = 0; i < raw->nmaps; i++)
		inos[k++] = raw->maps[i].ino;
	qsort(inos, k, sizeof(*inos), cmp_u64);
	d->bufs = calloc(k ? k : 1, sizeof(*d->bufs));
	if (!d->bufs) {
		free(inos);
		return -ENOMEM;
	}
	for (size_t i = 0; i < k; i++)
		if (!d->nbufs || d->bufs[d->nbufs - 1].ino != inos[i]) {
			d->bufs[d->nbufs].ino = inos[i];
			d->bufs[d->nbufs].exporter = "";
			d->bufs[d->nbufs].name = "";
			d->nbufs++;
		}
	free(inos);
	for (size_t i = 0; i < raw->nbufs; i++) {
		struct memlens_dmabuf_buf *b = &d->bufs[buf_index(d, raw->bufs[i].ino)];

		b->size = raw->bufs[i].size;
		b->file_refs = raw->bufs[i].file_refs;
		b->exporter = keep(d, raw->bufs[i].exp);
		b->name = keep(d, raw->bufs[i].name);
		b->kernel_only = true;	/* until a holder shows up */
	}
	/* buffers the system list did not have (no list, or allocated since);
	 * and names: debugfs cuts a name at its first newline, fdinfo has it whole */
	for (size_t i = 0; i < raw->nfds; i++) {
		struct memlens_dmabuf_buf *b = &d->bufs[buf_index(d, raw->fds[i].ino)];

		if (!b->size)
			b->size = raw->fds[i].size;
		if (!b->exporter[0] && raw->fds[i].exp[0])
			b->exporter = keep(d, raw->fds[i].exp);
		if ((!b->name[0] || !strcmp(raw->system_list, "debugfs")) && raw->fds[i].name[0])
			b->name = keep(d, raw->fds[i].name);
	}
	for (size_t i = 0; i < raw->nmaps; i++) {
		struct memlens_dmabuf_buf *b = &d->bufs[buf_index(d, raw->maps[i].ino)];

		if (!b->size)
			b->size = raw->maps[i].size;	/* map-only: the mapping's length */
	}
	for (size_t i = 0; i < d->nbufs; i++)
		if (!d->bufs[i].exporter || !d->bufs[i].name)
			return -ENOMEM;
	return 0;
}

static int build_holders(struct memlens_dmabuf *d, const struct ml_dmabuf_raw *raw)
{
	size_t n = raw->nfds + raw->nmaps, k = 0, j = 0;
	struct memlens_dmabuf_holder *h = calloc(n ? n : 1, sizeof(*h));

	if (!h)
		return -ENOMEM;
	for (size_t i = 0; i < raw->nfds; i++, k++) {
		h[k].pid = raw->fds[i].tgid;
		h[k].tid = raw->fds[i].tid == raw->fds[i].tgid ? 0 : raw->fds[i].tid;
		h[k].comm = raw->fds[i].comm;
	}
	for (size_t i = 0; i < raw->nmaps; i++, k++) {
		h[k].pid = raw->maps[i].tgid;
		h[k].comm = raw->maps[i].comm;
	}
	qsort(h, k, sizeof(*h), cmp_holder);
	for (size_t i = 0; i < k; i++)
		if (!j || cmp_holder(&h[j - 1], &h[i]))
			h[j++] = h[i];
	for (size_t i = 0; i < j; i++) {
		h[i].comm = ml_arena_strndup(&d->arena, h[i].comm, strnlen(h[i].comm, 16));
		if (!h[i].comm) {
			free(h);
			return -ENOMEM;
		}
	}
	d->holders = h;
	d->nholders = j;
	return 0;
}

static int build_refs(struct memlens_dmabuf *d, const struct ml_dmabuf_raw *raw)
{
	size_t n = raw->nfds + raw->nmaps, k = 0, j = 0;
	struct memlens_dmabuf_ref *r = calloc(n ? n : 1, sizeof(*r));

	d->fds = calloc(raw->nfds ? raw->nfds : 1, sizeof(*d->fds));
	if (!r || !d->fds) {
		free(r);
		return -ENOMEM;
	}
	for (size_t i = 0; i < raw->nfds; i++, k++) {
		const struct ml_dfd *f = &raw->fds[i];

		r[k].holder = (uint32_t)holder_index(d, f->tgid, f->tid == f->tgid ? 0 : f->tid);
		r[k].buf = (uint32_t)buf_index(d, f->ino);
		r[k].fd_refs = 1;
		d->fds[d->nfds].holder = r[k].holder;
		d->fds[d->nfds].fd = f->fd;
		d->fds[d->nfds].ino = f->ino;
		d->nfds++;
	}
	for (size_t i = 0; i < raw->nmaps; i++, k++) {
		r[k].holder = (uint32_t)holder_index(d, raw->maps[i].tgid, 0);
		r[k].buf = (uint32_t)buf_index(d, raw->maps[i].ino);
		r[k].map_refs = 1;
	}
	qsort(r, k, sizeof(*r), cmp_ref);
	for (size_t i = 0; i < k; i++) {
		if (j && !cmp_ref(&r[j - 1], &r[i])) {
			r[j - 1].fd_refs += r[i].fd_refs;
			r[j - 1].map_refs += r[i].map_refs;
		} else {
			r[j++] = r[i];
		}
	}
	d->refs = r;
	d->nrefs = j;
	return 0;
}

/* nr_procs per buffer and Rss/Pss per process; refs are sorted by holder, and
 * holders by (pid, tid), so one process's refs are contiguous */
static int build_procs(struct memlens_dmabuf *d)
{
	size_t nb = d->nbufs ? d->nbufs : 1;
	int32_t *last_pid = malloc(nb * sizeof(*last_pid));
	size_t i, j;

	d->procs = calloc(d->nholders ? d->nholders : 1, sizeof(*d->procs));
	if (!last_pid || !d->procs) {
		free(last_pid);
		return -ENOMEM;
	}
	for (i = 0; i < d->nbufs; i++)
		last_pid[i] = -1;
	for (i = 0; i < d->nrefs; i++) {
		const struct memlens_dmabuf_ref *r = &d->refs[i];
		struct memlens_dmabuf_buf *b = &d->bufs[r->buf];
		int32_t pid = d->holders[r->holder].pid;

		b->fd_refs += r->fd_refs;
		b->map_refs += r->map_refs;
		b->kernel_only = false;
		if (last_pid[r->buf] != pid) {
			last_pid[r->buf] = pid;
			b->nr_procs++;
		}
	}
	for (i = 0; i < d->nbufs; i++)
		last_pid[i] = -1;
	for (i = 0; i < d->nrefs; i = j) {
		int32_t pid = d->holders[d->refs[i].holder].pid;
		struct memlens_dmabuf_proc *p = &d->procs[d->nprocs++];

		p->pid = pid;
		p->comm = d->holders[d->refs[i].holder].comm;
		for (j = i; j < d->nrefs && d->holders[d->refs[j].holder].pid == pid; j++) {
			const struct memlens_dmabuf_buf *b = &d->bufs[d->refs[j].buf];

			if (last_pid[d->refs[j].buf] == pid)
				continue;	/* held by two tables of one process: once */
			last_pid[d->refs[j].buf] = pid;
			p->rss += b->size;
			p->pss += b->size / b->nr_procs;
		}
	}
	free(last_pid);
	return 0;
}

/* keep only one process's holders (and what points at them); buffers and
 * their nr_procs stay system-wide so Pss stays right */
static void filter_pid(struct memlens_dmabuf *d, int32_t pid)
{
	size_t i, k;
	uint32_t *map = malloc((d->nholders ? d->nholders : 1) * sizeof(*map));
	size_t nh = 0;

	if (!map)
		return;
	for (i = 0; i < d->nholders; i++) {
		map[i] = UINT32_MAX;
		if (d->holders[i].pid == pid) {
			map[i] = (uint32_t)nh;
			d->holders[nh++] = d->holders[i];
		}
	}
	for (i = k = 0; i < d->nrefs; i++)
		if (map[d->refs[i].holder] != UINT32_MAX) {
			d->refs[k] = d->refs[i];
			d->refs[k++].holder = map[d->refs[i].holder];
		}
	d->nrefs = k;
	for (i = k = 0; i < d->nfds; i++)
		if (map[d->fds[i].holder] != UINT32_MAX) {
			d->fds[k] = d->fds[i];
			d->fds[k++].holder = map[d->fds[i].holder];
		}
	d->nfds = k;
	for (i = k = 0; i < d->nprocs; i++)
		if (d->procs[i].pid == pid)
			d->procs[k++] = d->procs[i];
	d->nprocs = k;
	d->nholders = nh;
	free(map);
}

static int model(struct memlens_dmabuf *d, struct ml_dmabuf_raw *raw, int32_t pid)
{
	int err = build_bufs(d, raw);

	if (!err)
		err = build_holders(d, raw);
	if (!err)
		err = build_refs(d, raw);
	if (!err)
		err = build_procs(d);
	d->system_list = raw->system_list;
	d->unreadable = raw->unreadable;
	d->nunreadable = raw->nunreadable;
	d->exited = raw->exited;
	raw->unreadable = NULL;
	if (!err && pid)
		filter_pid(d, pid);
	return err;
}

int ml_dmabuf_model(struct ml_dmabuf_raw *raw, int32_t pid, struct memlens_dmabuf **out)
{
	struct memlens_dmabuf *d = calloc(1, sizeof(*d));
	int err = d ? model(d, raw, pid) : -ENOMEM;

	if (err) {
		memlens_dmabuf__free(d);
		return err;
	}
	*out = d;
	return 0;
}

/* the system-wide list for a source that has none, best first */
static int (*const system_lists[])(struct memlens *ml, const char *pin_dir, struct ml_dmabuf_raw *raw) = {
	ml_dmabuf_debugfs_collect,	/* root, debugfs mounted */
	ml_dmabuf_sysfs_collect,	/* CONFIG_DMABUF_SYSFS_STATS, gone in 7.0 */
};

static int collect(struct memlens *ml, const struct memlens_dmabuf_opts *opts, struct memlens_dmabuf *d,
		   struct ml_dmabuf_raw *raw)
{
	enum memlens_source forced = OPTS_GET(opts, source, MEMLENS_SOURCE_AUTO);
	const char *pin_dir = OPTS_GET(opts, pin_dir, NULL);
	const struct ml_source *src = NULL;
	size_t n;
	int err;

	/* pins the caller names are asked for: unreadable ones are an error, not a
	 * fallback (unless the caller forced a source that reads none) */
	if (pin_dir && (forced == MEMLENS_SOURCE_AUTO || (ml_source(forced) && (ml_source(forced)->caps & ML_CAP_PINS)))) {
		err = ml_dmabuf_pins_check(pin_dir);
		if (err)
			return err;
	}
	pin_dir = pin_dir ? pin_dir : MEMLENS_PIN_DIR;
	err = ml_select(ml, MEMLENS_JOB_DMABUF, forced, pin_dir, &src);
	if (err)
		return err;
	d->source = src->id;
	err = src->dmabuf.collect(ml, pin_dir, raw);
	for (size_t i = 0; !err && !strcmp(raw->system_list, "none") && i < ARRAY_SIZE(system_lists); i++)
		system_lists[i](ml, pin_dir, raw);
	ml_explain(ml, MEMLENS_JOB_DMABUF, src->id, forced != MEMLENS_SOURCE_AUTO, pin_dir, d->reason, sizeof(d->reason));
	n = strlen(d->reason);
	snprintf(d->reason + n, sizeof(d->reason) - n, "; system-wide list from %s%s", raw->system_list,
		 raw->walks_skipped ? "; no DMA-BUF exists, so fds and mappings were not walked" : "");
	return err;
}

int memlens__dmabuf(struct memlens *ml, const struct memlens_dmabuf_opts *opts, struct memlens_dmabuf **out)
{
	pid_t pid = OPTS_GET(opts, pid, 0);
	struct ml_dmabuf_raw raw = { .system_list = "none" };
	struct memlens_dmabuf *d;
	int err;

	if (!ml || !out || !OPTS_VALID(opts, memlens_dmabuf_opts))
		return ml_err(EINVAL);
	d = calloc(1, sizeof(*d));
	if (!d)
		return ml_err(ENOMEM);
	err = collect(ml, opts, d, &raw);
	if (!err)
		err = model(d, &raw, pid);
	ml_dmabuf_raw_free(&raw);
	if (err) {
		memlens_dmabuf__free(d);
		return ml_err(err);
	}
	*out = d;
	return 0;
}

int memlens__bpf_pin(struct memlens *ml, const char *dir, const struct memlens_pin_opts *opts)
{
	mode_t mode = OPTS_GET(opts, mode, 0);
	gid_t gid = OPTS_GET(opts, gid, 0);
	int err;

	if (!ml || !OPTS_VALID(opts, memlens_pin_opts) || (mode & ~(mode_t)0444))
		return ml_err(EINVAL);
	mode = mode ? mode | 0400 : 0440;
	dir = dir ? dir : MEMLENS_PIN_DIR;
	err = memlens__probe(ml, MEMLENS_IFACE_BPF_DMABUF);
	if (err)
		return err;
	err = ml_dmabuf_bpf_pin(ml, ml->dmabuf_bpf, dir, mode, gid);
	if (err && err != -EPERM)
		ml_dmabuf_bpf_unpin(dir);
	return err ? ml_err(err) : 0;
}

int memlens__bpf_unpin(struct memlens *ml, const char *dir)
{
	int err;

	(void)ml;
	err = ml_dmabuf_bpf_unpin(dir ? dir : MEMLENS_PIN_DIR);
	return err ? ml_err(err) : 0;
}

#define GETTER(name, field, n, type)                                                           \
	size_t memlens_dmabuf__##name##_count(const struct memlens_dmabuf *d) { return d ? d->n : 0; } \
	const type *memlens_dmabuf__##name(const struct memlens_dmabuf *d, size_t i)           \
	{                                                                                      \
		return d && i < d->n ? &d->field[i] : ml_get_none(d);                          \
	}
GETTER(buf, bufs, nbufs, struct memlens_dmabuf_buf)
GETTER(holder, holders, nholders, struct memlens_dmabuf_holder)
GETTER(ref, refs, nrefs, struct memlens_dmabuf_ref)
GETTER(fd, fds, nfds, struct memlens_dmabuf_fd)
GETTER(proc, procs, nprocs, struct memlens_dmabuf_proc)

enum memlens_source memlens_dmabuf__source(const struct memlens_dmabuf *d)
{
	return d ? d->source : MEMLENS_SOURCE_AUTO;
}

const char *memlens_dmabuf__source_reason(const struct memlens_dmabuf *d)
{
	return d ? d->reason : "";
}

const char *memlens_dmabuf__system_list(const struct memlens_dmabuf *d)
{
	return d ? d->system_list : "none";
}

size_t memlens_dmabuf__unreadable(const struct memlens_dmabuf *d)
{
	return d ? d->nunreadable : 0;
}

int32_t memlens_dmabuf__unreadable_pid(const struct memlens_dmabuf *d, size_t i)
{
	if (d && i < d->nunreadable)
		return d->unreadable[i];
	ml_get_none(d);
	return -1;
}

size_t memlens_dmabuf__exited(const struct memlens_dmabuf *d)
{
	return d ? d->exited : 0;
}
