// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Address normalization (blazesym's normalize_user_addrs): address -> covering
 * VMA and file offset.  A batch is answered in its own order, without
 * sorting it: with PROCMAP_QUERY each covering-or-next query teaches a VMA
 * (or a gap) that answers every later address in it, so a batch costs one
 * query per VMA it touches and a binary search per address; sources without
 * point queries walk once and search the walk.
 */
#include <stdlib.h>
#include <sys/types.h>
#include "build_id.h"
#include "vma.h"

struct memlens_norm {
	struct memlens_norm_addr *a;
	size_t n;
	struct memlens_vma_set *vmas;
};

static void answer(struct memlens_norm *norm, size_t idx, uint64_t addr, const struct memlens_vma *v, int64_t vi)
{
	struct memlens_norm_addr *a = &norm->a[idx];

	a->addr = addr;
	/* every field in one pass: the answers of a batch (40 bytes an
	 * address) outgrow the caches, so each pass over them costs */
	a->vma = vi;
	a->file_offset = vi < 0 ? 0 : a->addr - v->start + v->offset;
	a->elf_vaddr = 0;
	a->elf_vaddr_err = -ENOENT;
}

/* what the queries taught: [start, end) is VMA vi of norm->vmas, or
 * unmapped (vi -1); sorted by start */
struct ivl {
	uint64_t start, end;
	int64_t vi;
};

struct ivls {
	struct ivl *v;
	size_t n, cap;
};

/* the interval holding addr, or -1 */
static ssize_t ivl_find(const struct ivls *s, uint64_t addr)
{
	size_t lo = 0, hi = s->n;

	/* the last interval starting at or below addr */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (s->v[mid].start <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo > 0 && addr < s->v[lo - 1].end ? (ssize_t)lo - 1 : -1;
}

static ssize_t ivl_add(struct ivls *s, uint64_t start, uint64_t end, int64_t vi)
{
	size_t at = s->n;

	if (!ML_VEC_PUSH(s->v, s->n, s->cap))
		return -ENOMEM;
	while (at > 0 && s->v[at - 1].start > start) {
		s->v[at] = s->v[at - 1];
		at--;
	}
	s->v[at] = (struct ivl){ start, end, vi };
	return (ssize_t)at;
}

/* the VMA or gap holding addr, asked of the kernel (covering-or-next) */
static ssize_t learn(struct memlens_proc *proc, const struct ml_source *src, const struct ml_vma_req *req,
		     uint64_t addr, struct memlens_norm *norm, struct ivls *iv)
{
	struct memlens *ml = proc->ml;
	struct memlens_vma next;
	char name[4096];
	size_t name_len = 0;
	int err;

	memset(&next, 0, sizeof(next));
	err = src->vma.query(req, addr, MEMLENS_FIND_COVERING_OR_NEXT, &next, name, sizeof(name), &name_len);
	if (err == -ENOENT) {
		/* nothing at or above addr in the mm: only the gate VMA is left */
		if (!ml_gate_covers(ml, addr, 0))
			return ivl_add(iv, addr, ml->gate.end && addr < ml->gate.start ? ml->gate.start : UINT64_MAX, -1);
		next = ml->gate;
		next.pid = proc->pid;
		name_len = strlen(next.name);
		memcpy(name, next.name, name_len);
	} else if (err) {
		return err;
	}
	if (addr < next.start)
		return ivl_add(iv, addr, next.start, -1);
	err = ml_set_push_path(norm->vmas, &next, name, name_len);
	if (err)
		return err;
	return ivl_add(iv, next.start, next.end, (int64_t)norm->vmas->n - 1);
}

/* a direct-mapped cache of the answer for a page, in the context: batches hit few pages
 * many times, in no order (a binary search per address mispredicts its
 * branches about half the time).  A page lies wholly in one VMA or in
 * unmapped space, so what answered one address of a page answers the rest
 * of it (a gap learned from a mid-page address included); a learned VMA or
 * gap never changes within a batch, so a slot stays valid once filled */
enum { PAGE_CACHE = 1024 };

struct ml_page_slot {
	uint64_t key;	/* (addr >> 12) + 1 */
	int64_t vi;	/* the VMA in norm->vmas, -1 unmapped */
	uint32_t batch;	/* the batch that filled it (ml->norm_batch) */
};

/* PROCMAP_QUERY-style sources: each address looked up among what earlier
 * queries taught (a binary search over the few VMAs and gaps a batch
 * touches), a query only for what is not known yet; no sort of the batch */
static int by_query(struct memlens_proc *proc, const struct ml_source *src, const struct ml_vma_req *req,
		    const uint64_t *addrs, size_t n, struct memlens_norm *norm)
{
	struct memlens *ml = proc->ml;
	struct ivls iv = { 0 };
	uint32_t batch;
	int err = 0;

	if (!ml->norm_cache) {
		ml->norm_cache = calloc(PAGE_CACHE, sizeof(*ml->norm_cache));
		if (!ml->norm_cache)
			return -ENOMEM;
	}
	/* a new batch number invalidates every slot; at the wrap, clear them */
	batch = ++ml->norm_batch;
	if (batch == 0) {
		memset(ml->norm_cache, 0, PAGE_CACHE * sizeof(*ml->norm_cache));
		batch = ml->norm_batch = 1;
	}
	for (size_t i = 0; i < n; i++) {
		uint64_t addr = addrs[i], key = (addr >> 12) + 1;
		struct ml_page_slot *c = &ml->norm_cache[(key ^ (key >> 10)) % PAGE_CACHE];

		if (c->key != key || c->batch != batch) {
			ssize_t hit = ivl_find(&iv, addr);

			if (hit < 0)
				hit = learn(proc, src, req, addr, norm, &iv);
			if (hit < 0) {
				err = (int)hit;
				break;
			}
			*c = (struct ml_page_slot){ key, iv.v[hit].vi, batch };
		}
		answer(norm, i, addr, c->vi < 0 ? NULL : &norm->vmas->v[c->vi], c->vi);
	}
	free(iv.v);
	return err;
}

/* sources without point queries: one walk, a binary search per address */
static int by_walk(struct memlens_proc *proc, const uint64_t *addrs, size_t n, struct memlens_norm *norm)
{
	struct memlens_vma_set *all = NULL;
	MEMLENS_OPTS(memlens_maps_opts, opts);
	int64_t *touched = NULL;
	int err;

	err = memlens_proc__maps(proc, &opts, &all);
	if (err)
		return err;
	touched = malloc((all->n ? all->n : 1) * sizeof(*touched));
	if (!touched)
		err = -ENOMEM;
	for (size_t j = 0; !err && j < all->n; j++)
		touched[j] = -1;
	for (size_t i = 0; i < n && !err; i++) {
		uint64_t addr = addrs[i];
		size_t lo = 0, hi = all->n, j;

		while (lo < hi) {
			size_t mid = lo + (hi - lo) / 2;

			if (all->v[mid].start <= addr)
				lo = mid + 1;
			else
				hi = mid;
		}
		if (lo == 0 || addr >= all->v[lo - 1].end) {
			answer(norm, i, addr, NULL, -1);
			continue;
		}
		j = lo - 1;
		if (touched[j] < 0) {
			err = ml_set_push(norm->vmas, &all->v[j], all->v[j].name, strlen(all->v[j].name));
			touched[j] = (int64_t)norm->vmas->n - 1;
		}
		if (!err)
			answer(norm, i, addr, &norm->vmas->v[touched[j]], touched[j]);
	}
	free(touched);
	memlens_vma_set__free(all);
	return err;
}

/* the VMAs by address, as a walk lists them; answers follow their VMA */
static int order_vmas(struct memlens_norm *norm)
{
	struct memlens_vma_set *s = norm->vmas;
	size_t m = s->n, *perm, *inv;
	struct memlens_vma *v;
	bool sorted = true;

	for (size_t i = 1; i < m && sorted; i++)
		sorted = s->v[i - 1].start < s->v[i].start;
	if (sorted)
		return 0;
	perm = malloc(m * sizeof(*perm));
	inv = malloc(m * sizeof(*inv));
	v = malloc(m * sizeof(*v));
	if (!perm || !inv || !v) {
		free(perm);
		free(inv);
		free(v);
		return -ENOMEM;
	}
	/* a batch touches few VMAs: insertion sort of their indices */
	for (size_t i = 0; i < m; i++) {
		size_t j = i;

		while (j > 0 && s->v[perm[j - 1]].start > s->v[i].start) {
			perm[j] = perm[j - 1];
			j--;
		}
		perm[j] = i;
	}
	for (size_t i = 0; i < m; i++) {
		v[i] = s->v[perm[i]];
		inv[perm[i]] = i;
	}
	memcpy(s->v, v, m * sizeof(*v));
	for (size_t i = 0; i < norm->n; i++)
		if (norm->a[i].vma >= 0)
			norm->a[i].vma = (int64_t)inv[norm->a[i].vma];
	free(perm);
	free(inv);
	free(v);
	return 0;
}

int memlens_proc__normalize(struct memlens_proc *proc, const uint64_t *addrs, size_t n,
			    const struct memlens_normalize_opts *opts, struct memlens_norm **out)
{
	bool bid = OPTS_GET(opts, build_ids, false);
	const struct ml_source *how;	/* how files are opened for elf_vaddr; NULL: not asked */
	const struct ml_source *src;
	struct memlens_norm *norm;
	struct ml_vma_req req;
	int err;

	if (!proc || !out || (n && !addrs) || !OPTS_VALID(opts, memlens_normalize_opts))
		return ml_err(EINVAL);
	err = ml_proc_source(proc, MEMLENS_JOB_QUERY, bid, &src, &req);
	if (err)
		return ml_err(err);
	norm = calloc(1, sizeof(*norm));
	if (!norm)
		return ml_err(ENOMEM);
	norm->vmas = ml_set_new(src->id);
	norm->a = malloc((n ? n : 1) * sizeof(*norm->a));
	if (!norm->vmas || !norm->a) {
		err = -ENOMEM;
		goto err;
	}
	norm->n = n;
	if (src->vma.query) {
		err = by_query(proc, src, &req, addrs, n, norm);
	} else {
		err = by_walk(proc, addrs, n, norm);
		req.kernel_bid = false;
	}
	if (!err)
		err = order_vmas(norm);
	if (!err && ml_proc_reused(proc))
		err = -ESRCH;
	if (err)
		goto err;
	if (bid)
		ml_fill_build_ids(proc->ml, norm->vmas, req.kernel_bid);
	how = OPTS_GET(opts, elf_vaddr, false) ? ml_file_build_id_source(proc->ml) : NULL;
	for (size_t i = 0; how && i < n; i++) {
		struct memlens_norm_addr *a = &norm->a[i];

		if (a->vma >= 0)
			a->elf_vaddr_err = ml_elf_vaddr(proc->ml, how, memlens_vma_set__get(norm->vmas, (size_t)a->vma),
							a->file_offset, &a->elf_vaddr);
	}
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
