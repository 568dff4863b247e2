// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * /proc/<pid>/smaps and smaps_rollup: a maps header line, then "Key: N kB"
 * lines, THPeligible and VmFlags.  One pass, no scanf.
 */
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>
#include <stdlib.h>
#include "stall.h"
#include "procfs.h"
#include "vma.h"
#include "vma_smaps.h"
#include "vma_maps_text.h"

static const char *const field_names[__MEMLENS_USAGE_MAX] = {
	"Rss", "Pss", "Pss_Dirty", "Shared_Clean", "Shared_Dirty", "Private_Clean", "Private_Dirty",
	"Referenced", "Anonymous", "LazyFree", "AnonHugePages", "ShmemPmdMapped", "FilePmdMapped",
	"Shared_Hugetlb", "Private_Hugetlb", "Swap", "SwapPss", "Locked", "KSM",
};

const char *memlens_usage_field__name(enum memlens_usage_field f)
{
	return (unsigned)f < __MEMLENS_USAGE_MAX ? field_names[f] : "unknown";
}

static int field_by_key(const char *k, size_t len)
{
	for (int i = 0; i < __MEMLENS_USAGE_MAX; i++)
		if (strlen(field_names[i]) == len && !memcmp(field_names[i], k, len))
			return i;
	return -1;
}

/* "Key:   123 kB" / "THPeligible:  1" / "VmFlags: rd wr" into u; false if not a key line */
static bool parse_key_line(const char *p, const char *end, struct ml_usage *mu, struct ml_arena *a)
{
	const char *colon = memchr(p, ':', (size_t)(end - p));
	struct memlens_vma_usage *u = &mu->u;
	const char *v;
	uint64_t n = 0;
	int f;

	if (!colon || colon == p)
		return false;
	for (const char *q = p; q < colon; q++)
		if (*q == ' ' || *q == '-')
			return false;	/* a header line: "start-end perms ..." */
	v = colon + 1;
	while (v < end && *v == ' ')
		v++;
	if (colon - p == 7 && !memcmp(p, "VmFlags", 7)) {
		const char *e = end;

		while (e > v && e[-1] == ' ')
			e--;
		u->vm_flags = a ? ml_arena_strndup(a, v, (size_t)(e - v)) : "";
		return true;
	}
	while (v < end && *v >= '0' && *v <= '9' && n < UINT64_MAX / 10)
		n = n * 10 + (uint64_t)(*v++ - '0');
	if (colon - p == 11 && !memcmp(p, "THPeligible", 11)) {
		u->thp_eligible = (int32_t)n;
		return true;
	}
	f = field_by_key(p, (size_t)(colon - p));
	if (f >= 0) {
		mu->kb[f] = n;
		u->present |= 1ULL << f;
	}
	return true;	/* other keys (KernelPageSize, Pss_Anon, ...) are skipped */
}

/* an empty record; its kb pointer set while it stays where it is */
static void usage_init(struct ml_usage *mu)
{
	memset(mu, 0, sizeof(*mu));
	mu->u.thp_eligible = -1;
	mu->u.vm_flags = "";
	mu->u.vma.name = "";
	mu->u.kb = mu->kb;
}

int ml_smaps_parse(const char *buf, size_t len, pid_t pid, struct memlens_usage_set *set)
{
	const char *p = buf, *end = buf + len;
	struct ml_usage *cur = NULL;
	int err = 0;

	while (p < end && !err) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl ? nl : end;
		const char *name;
		size_t name_len;

		if (cur && parse_key_line(p, le, cur, &set->arena)) {
			p = nl ? nl + 1 : end;
			continue;
		}
		cur = ML_VEC_PUSH(set->u, set->n, set->cap);
		if (!cur) {
			err = -ENOMEM;
			break;
		}
		usage_init(cur);
		if (!ml_maps_text_parse_line(p, le, pid, &cur->u.vma, &name, &name_len))
			err = -EINVAL;
		else if (!(cur->u.vma.name = ml_arena_strndup(&set->arena, name, name_len)))
			err = -ENOMEM;
		if (err)
			set->n--;
		p = nl ? nl + 1 : end;
	}
	ml_usage_set_done(set);
	for (size_t i = 0; !err && i < set->n; i++)
		if (!set->u[i].u.vm_flags)
			err = -ENOMEM;
	return err;
}

int memlens_proc__smaps(struct memlens_proc *proc, struct memlens_usage_set **out)
{
	struct memlens_usage_set *set;
	char path[64], *buf;
	size_t len;
	int err;

	if (!proc || !out)
		return ml_err(EINVAL);
	set = ml_usage_set_new();
	if (!set)
		return ml_err(ENOMEM);
	snprintf(path, sizeof(path), "/proc/%d/smaps", (int)proc->pid);
	err = ml_read_bounded(proc->ml, proc->pid, path, &buf, &len);
	if (!err) {
		err = ml_smaps_parse(buf, len, proc->pid, set);
		free(buf);
	}
	if (!err && ((!set->n && ml_pid_gone(proc->pid)) || ml_proc_reused(proc)))
		err = -ESRCH;
	if (err) {
		memlens_usage_set__free(set);
		return ml_err(err);
	}
	*out = set;
	return 0;
}

void ml_rollup_parse(const char *buf, size_t len, struct ml_usage *out)
{
	const char *p = buf, *end = buf + len;

	usage_init(out);
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl ? nl : end;

		parse_key_line(p, le, out, NULL);
		p = nl ? nl + 1 : end;
	}
}

int ml_rollup_result(pid_t pid, ssize_t n, const char *buf, struct ml_usage *out)
{
	usage_init(out);
	/* ESRCH on open: no mm, a kernel thread (or it is exiting); no mm on
	 * read (ESRCH or nothing): a zombie, or a kernel thread, which has no
	 * memory of its own */
	if (n == 0 || n == -ESRCH || n == -ENOENT)
		return ml_pid_gone(pid) ? -ESRCH : 0;
	if (n < 0)
		return (int)n;
	ml_rollup_parse(buf, (size_t)n, out);
	out->u.vma.pid = pid;
	return 0;
}

/* one read of smaps_rollup into *out */
static int rollup_read(struct memlens *ml, pid_t pid, struct ml_usage *out)
{
	char path[64], *buf = NULL;
	size_t len = 0;
	int err;

	snprintf(path, sizeof(path), "/proc/%d/smaps_rollup", (int)pid);
	err = ml_read_bounded(ml, pid, path, &buf, &len);
	err = ml_rollup_result(pid, err ? err : (ssize_t)len, buf, out);
	free(buf);
	return err;
}

MEMLENS_API int memlens__rollup_0_5(struct memlens *ml, pid_t pid, struct memlens_usage_set **out);
int memlens__rollup_0_5(struct memlens *ml, pid_t pid, struct memlens_usage_set **out)
{
	struct memlens_usage_set *set;
	struct ml_usage *u;
	int err;

	if (!ml || !out)
		return ml_err(EINVAL);
	set = ml_usage_set_new();
	u = set ? ML_VEC_PUSH(set->u, set->n, set->cap) : NULL;
	if (!u) {
		memlens_usage_set__free(set);
		return ml_err(ENOMEM);
	}
	err = rollup_read(ml, pid, u);
	ml_usage_set_done(set);
	if (err) {
		memlens_usage_set__free(set);
		return ml_err(-err);
	}
	*out = set;
	return 0;
}
ML_DEFAULT_VERSION(memlens__rollup_0_5, memlens__rollup, MEMLENS_0.5)

/* for programs built against 0.4: the caller's struct, in its layout */
MEMLENS_API int memlens__rollup_0_1(struct memlens *ml, pid_t pid, struct memlens_vma_usage_0_1 *out);
int memlens__rollup_0_1(struct memlens *ml, pid_t pid, struct memlens_vma_usage_0_1 *out)
{
	struct ml_usage u;
	int err;

	if (!ml || !out)
		return ml_err(EINVAL);
	err = rollup_read(ml, pid, &u);
	ml_usage_to_0_1(&u.u, out);
	return err ? ml_err(-err) : 0;
}
ML_COMPAT_VERSION(memlens__rollup_0_1, memlens__rollup, MEMLENS_0.1)

/* VMA indices by (pid, start) of the VMAs ctx points to */
static int cmp_vma_idx(const void *a, const void *b, void *ctx)
{
	const struct memlens_vma *const *v = ctx;
	const struct memlens_vma *x = v[*(const size_t *)a], *y = v[*(const size_t *)b];

	if (x->pid != y->pid)
		return x->pid < y->pid ? -1 : 1;
	return x->start < y->start ? -1 : x->start > y->start;
}

/* the record of set that starts at start, or NULL (smaps is in address order) */
static const struct ml_usage *record_at(const struct memlens_usage_set *set, uint64_t start)
{
	size_t lo = 0, hi = set ? set->n : 0;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (set->u[mid].u.vma.start == start)
			return &set->u[mid];
		if (set->u[mid].u.vma.start < start)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* out's record k: v's VMA, with the figures of its smaps record r where r
 * is still that mapping (same end and inode), else none (present 0) */
static int vma_record(struct memlens_usage_set *out, size_t k, const struct memlens_vma *v, const struct ml_usage *r)
{
	struct ml_usage *u = &out->u[k];

	u->u.vma = *v;
	u->u.vma.name = ml_arena_strndup(&out->arena, v->name, strlen(v->name));
	if (!u->u.vma.name)
		return -ENOMEM;
	if (r && r->u.vma.end == v->end && r->u.vma.inode == v->inode) {
		memcpy(u->kb, r->kb, sizeof(u->kb));
		u->u.present = r->u.present;
		u->u.thp_eligible = r->u.thp_eligible;
		u->u.vm_flags = ml_arena_strndup(&out->arena, r->u.vm_flags, strlen(r->u.vm_flags));
		if (!u->u.vm_flags)
			return -ENOMEM;
	}
	return 0;
}

int memlens__vmas_usage(struct memlens *ml, const struct memlens_vma *const *v, size_t n,
			struct memlens_usage_set **out)
{
	struct memlens_usage_set *res;
	size_t *idx;
	int err = 0;

	if (!ml || !out || (n && !v))
		return ml_err(EINVAL);
	res = ml_usage_set_new();
	idx = calloc(n ? n : 1, sizeof(*idx));
	if (res)
		res->u = calloc(n ? n : 1, sizeof(*res->u));
	if (!res || !idx || !res->u) {
		free(idx);
		memlens_usage_set__free(res);
		return ml_err(ENOMEM);
	}
	res->n = res->cap = n;
	for (size_t i = 0; i < n; i++) {
		idx[i] = i;
		usage_init(&res->u[i]);
	}
	qsort_r(idx, n, sizeof(*idx), cmp_vma_idx, (void *)v);
	ml_reader_begin(ml);	/* one reader thread for every process's smaps */
	/* each process's smaps once, for all of its VMAs asked */
	for (size_t i = 0, j; !err && i < n; i = j) {
		struct memlens_proc *p = memlens__proc_open(ml, v[idx[i]]->pid, NULL);
		struct memlens_usage_set *set = NULL;

		if (p && memlens_proc__smaps(p, &set))
			set = NULL;	/* gone, unreadable or stalled: no figures */
		for (j = i; !err && j < n && v[idx[j]]->pid == v[idx[i]]->pid; j++)
			err = vma_record(res, idx[j], v[idx[j]], record_at(set, v[idx[j]]->start));
		memlens_usage_set__free(set);
		memlens_proc__close(p);
	}
	ml_reader_end(ml);
	free(idx);
	ml_usage_set_done(res);
	if (err) {
		memlens_usage_set__free(res);
		return ml_err(-err);
	}
	*out = res;
	return 0;
}

/* the pages job's last resort: smaps totals per VMA, no ranges */
const struct ml_source ml_src_smaps = {
	.id = MEMLENS_SOURCE_SMAPS,
	.name = "smaps",
	.iface = MEMLENS_IFACE_MAPS_TEXT,
	.also = -1,
};
