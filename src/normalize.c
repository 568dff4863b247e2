// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Address normalization (blazesym's normalize_user_addrs): address -> covering
 * VMA and file offset.  Addresses are sorted (radix sort: a profiler's batch
 * of thousands must not cost more than the queries) and answered in one
 * ascending pass; with PROCMAP_QUERY each covering-or-next query answers
 * every address up to the end of the VMA it returns.
 */
#include <stdlib.h>
#include "vma.h"

struct memlens_norm {
	struct memlens_norm_addr *a;
	size_t n;
	struct memlens_vma_set *vmas;
};

struct key {
	uint64_t addr;
	size_t idx;
};

/* LSD radix sort by byte, skipping bytes that are the same in every key;
 * k and tmp both hold n keys, the sorted ones end up in *kp */
static void sort_keys(struct key **kp, struct key *tmp, size_t n)
{
	struct key *k = *kp, *t;
	size_t cnt[8][256];
	bool sorted = true;

	for (size_t i = 1; i < n && sorted; i++)
		sorted = k[i - 1].addr <= k[i].addr;
	if (sorted)
		return;
	memset(cnt, 0, sizeof(cnt));
	for (size_t i = 0; i < n; i++)
		for (int b = 0; b < 8; b++)
			cnt[b][(k[i].addr >> (8 * b)) & 0xff]++;
	for (int b = 0; b < 8; b++) {
		size_t sum = 0;

		if (cnt[b][(k[0].addr >> (8 * b)) & 0xff] == n)
			continue;
		for (int d = 0; d < 256; d++) {
			size_t c = cnt[b][d];

			cnt[b][d] = sum;
			sum += c;
		}
		for (size_t i = 0; i < n; i++)
			tmp[cnt[b][(k[i].addr >> (8 * b)) & 0xff]++] = k[i];
		t = k;
		k = tmp;
		tmp = t;
	}
	*kp = k;
}

static void answer(struct memlens_norm *norm, size_t idx, const struct memlens_vma *v, int64_t vi)
{
	struct memlens_norm_addr *a = &norm->a[idx];

	a->vma = vi;
	a->file_offset = vi < 0 ? 0 : a->addr - v->start + v->offset;
}

static int by_query(struct memlens_proc *proc, const struct ml_source *src, const struct ml_vma_req *req,
		    const struct key *k, size_t n, struct memlens_norm *norm)
{
	struct memlens_vma next;
	char name[4096];
	size_t name_len = 0;
	bool have = false, end = false;
	int64_t vi = -1;	/* index of next in norm->vmas once an address fell in it */
	int err = 0;

	for (size_t i = 0; i < n && !err; i++) {
		uint64_t addr = k[i].addr;

		if (!end && (!have || addr >= next.end)) {
			memset(&next, 0, sizeof(next));
			err = src->vma.query(req, addr, MEMLENS_FIND_COVERING_OR_NEXT, &next, name, sizeof(name), &name_len);
			if (err == -ENOENT) {
				err = 0;
				end = true;	/* nothing above: the rest is unmapped */
			}
			if (err)
				break;
			have = !end;
			vi = -1;
		}
		if (end && ml_gate_covers(proc->ml, addr, 0)) {
			/* past the last VMA of the mm: only the gate VMA is left */
			next = proc->ml->gate;
			next.pid = proc->pid;
			end = false;
			have = true;
			name_len = strlen(next.name);
			memcpy(name, next.name, name_len);
			vi = -1;
		}
		if (end || addr < next.start) {
			answer(norm, k[i].idx, NULL, -1);
			continue;
		}
		if (vi < 0) {
			err = ml_set_push_path(norm->vmas, &next, name, name_len);
			vi = (int64_t)norm->vmas->n - 1;
		}
		answer(norm, k[i].idx, &norm->vmas->v[vi], vi);
	}
	return err;
}

static int by_walk(struct memlens_proc *proc, const struct key *k, size_t n, struct memlens_norm *norm)
{
	struct memlens_vma_set *all = NULL;
	MEMLENS_OPTS(memlens_maps_opts, opts);
	size_t j = 0;
	int64_t vi = -1;
	int err;

	err = memlens_proc__maps(proc, &opts, &all);
	if (err)
		return err;
	for (size_t i = 0; i < n && !err; i++) {
		uint64_t addr = k[i].addr;

		while (j < all->n && all->v[j].end <= addr) {
			j++;
			vi = -1;
		}
		if (j == all->n || addr < all->v[j].start) {
			answer(norm, k[i].idx, NULL, -1);
			continue;
		}
		if (vi < 0) {
			err = ml_set_push(norm->vmas, &all->v[j], all->v[j].name, strlen(all->v[j].name));
			vi = (int64_t)norm->vmas->n - 1;
		}
		answer(norm, k[i].idx, &norm->vmas->v[vi], vi);
	}
	memlens_vma_set__free(all);
	return err;
}

int memlens_proc__normalize(struct memlens_proc *proc, const uint64_t *addrs, size_t n,
			    const struct memlens_normalize_opts *opts, struct memlens_norm **out)
{
	bool bid = OPTS_GET(opts, build_ids, false);
	const struct ml_source *src;
	struct memlens_norm *norm;
	struct ml_vma_req req;
	struct memlens *ml;
	struct key *k;
	int err;

	if (!proc || !out || (n && !addrs) || !OPTS_VALID(opts, memlens_normalize_opts))
		return ml_err(EINVAL);
	err = ml_proc_source(proc, MEMLENS_JOB_QUERY, bid, &src, &req);
	if (err)
		return ml_err(err);
	norm = calloc(1, sizeof(*norm));
	if (!norm)
		return ml_err(ENOMEM);
	ml = proc->ml;
	norm->vmas = ml_set_new(src->id);
	norm->a = malloc((n ? n : 1) * sizeof(*norm->a));
	/* sort scratch kept in the context: a profiler normalizes batch after
	 * batch, and freeing it each time makes malloc give the heap back */
	if (ml->scratch_cap < 2 * n * sizeof(struct key)) {
		free(ml->scratch);
		ml->scratch_cap = 2 * n * sizeof(struct key);
		ml->scratch = malloc(ml->scratch_cap);
		if (!ml->scratch)
			ml->scratch_cap = 0;
	}
	if (!norm->vmas || !norm->a || (n && !ml->scratch)) {
		err = -ENOMEM;
		goto err;
	}
	k = ml->scratch;
	norm->n = n;
	for (size_t i = 0; i < n; i++) {
		k[i].addr = addrs[i];
		k[i].idx = i;
		norm->a[i].addr = addrs[i];
	}
	sort_keys(&k, (struct key *)ml->scratch + n, n);
	if (src->vma.query) {
		err = by_query(proc, src, &req, k, n, norm);
	} else {
		err = by_walk(proc, k, n, norm);
		req.kernel_bid = false;
	}
	if (!err && ml_proc_reused(proc))
		err = -ESRCH;
	if (err)
		goto err;
	if (bid)
		ml_fill_build_ids(proc->ml, norm->vmas, req.kernel_bid);
	*out = norm;
	return 0;
err:
	memlens_norm__free(norm);
	return ml_err(err);
}

size_t memlens_norm__count(const struct memlens_norm *norm)
{
	return norm ? norm->n : 0;
}

const struct memlens_norm_addr *memlens_norm__get(const struct memlens_norm *norm, size_t i)
{
	return norm && i < norm->n ? &norm->a[i] : ml_get_none(norm);
}

const struct memlens_vma_set *memlens_norm__vmas(const struct memlens_norm *norm)
{
	return norm ? norm->vmas : NULL;
}

void memlens_norm__free(struct memlens_norm *norm)
{
	if (!norm)
		return;
	memlens_vma_set__free(norm->vmas);
	free(norm->a);
	free(norm);
}
