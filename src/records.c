// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* VMA sets, usage sets and page ranges: filling them, and their getters. */
#include <stdio.h>
#include <stdlib.h>
#include "records.h"

/* ---- VMA sets ---- */
struct memlens_vma_set *ml_set_new(enum memlens_source source)
{
	struct memlens_vma_set *s = calloc(1, sizeof(*s));

	if (s)
		s->source = source;
	return s;
}

int ml_set_push(struct memlens_vma_set *set, const struct memlens_vma *vma, const char *name, size_t name_len)
{
	struct memlens_vma *v = ML_VEC_PUSH(set->v, set->n, set->cap);

	if (!v)
		return -ENOMEM;
	*v = *vma;
	v->name = ml_arena_strndup(&set->arena, name ? name : "", name ? name_len : 0);
	if (!v->name) {
		set->n--;
		return -ENOMEM;
	}
	return 0;
}

int ml_set_push_path(struct memlens_vma_set *set, const struct memlens_vma *vma, const char *name, size_t len)
{
	char *esc;
	size_t o = 0;
	int err;

	/* maps text escapes '\n' in paths as \012 (seq_path); the binary sources do not */
	if (!memchr(name, '\n', len))
		return ml_set_push(set, vma, name, len);
	esc = malloc(len * 4);
	if (!esc)
		return -ENOMEM;
	for (size_t i = 0; i < len; i++) {
		if (name[i] == '\n') {
			memcpy(esc + o, "\\012", 4);
			o += 4;
		} else {
			esc[o++] = name[i];
		}
	}
	err = ml_set_push(set, vma, esc, o);
	free(esc);
	return err;
}

size_t memlens_vma_set__count(const struct memlens_vma_set *set)
{
	return set ? set->n : 0;
}

const struct memlens_vma *memlens_vma_set__get(const struct memlens_vma_set *set, size_t i)
{
	return set && i < set->n ? &set->v[i] : ml_get_none(set);
}

enum memlens_source memlens_vma_set__source(const struct memlens_vma_set *set)
{
	return set ? set->source : MEMLENS_SOURCE_AUTO;
}

size_t memlens_vma_set__exited(const struct memlens_vma_set *set)
{
	return set ? set->exited : 0;
}

size_t memlens_vma_set__unreadable(const struct memlens_vma_set *set)
{
	return set ? set->unreadable : 0;
}

int32_t memlens_vma_set__unreadable_pid(const struct memlens_vma_set *set, size_t i)
{
	return set && set->unr && i < set->unreadable ? set->unr[i] : -1;
}

void memlens_vma_set__free(struct memlens_vma_set *set)
{
	if (!set)
		return;
	ml_arena_free(&set->arena);
	free(set->unr);
	free(set->v);
	free(set);
}

const char *memlens_vma__perms(const struct memlens_vma *vma, char buf[5])
{
	buf[0] = vma->flags & MEMLENS_VMA_READ ? 'r' : '-';
	buf[1] = vma->flags & MEMLENS_VMA_WRITE ? 'w' : '-';
	buf[2] = vma->flags & MEMLENS_VMA_EXEC ? 'x' : '-';
	buf[3] = vma->flags & MEMLENS_VMA_SHARED ? 's' : 'p';
	buf[4] = 0;
	return buf;
}

const char *memlens_vma__build_id_hex(const struct memlens_vma *vma, char *buf, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	size_t i;

	if (!len)
		return buf;
	for (i = 0; i < vma->build_id_size && i < MEMLENS_BUILD_ID_MAX && 2 * i + 2 < len; i++) {
		buf[2 * i] = hex[vma->build_id[i] >> 4];
		buf[2 * i + 1] = hex[vma->build_id[i] & 15];
	}
	buf[2 * i] = 0;
	return buf;
}

bool ml_name_is_dmabuf(const char *s)
{
	return !strncmp(s, "/dmabuf:", 8) || !strcmp(s, "anon_inode:dmabuf");
}

const char *memlens_vma__kind(const struct memlens_vma *v)
{
	const char *name = v->name;
	size_t n = strlen(name);

	if (!strncmp(name, "/memfd:", 7))
		return "memfd";
	if (!strncmp(name, "/dev/zero", 9) || !strncmp(name, "[anon_shmem:", 12))
		return "shm";
	if (!strncmp(name, "/SYSV", 5))
		return "sysv";
	if (ml_name_is_dmabuf(name))
		return "dmabuf";
	if (!v->inode)
		return name[0] == '[' && strncmp(name, "[anon:", 6) && strcmp(name, "[heap]") && strcmp(name, "[stack]") ?
			       "special" : "anon";
	return n > 10 && !strcmp(name + n - 10, " (deleted)") ? "deleted" : "file";
}

/* ---- usage sets ---- */
struct memlens_usage_set *ml_usage_set_new(void)
{
	return calloc(1, sizeof(struct memlens_usage_set));
}

size_t memlens_usage_set__count(const struct memlens_usage_set *set)
{
	return set ? set->n : 0;
}

void ml_usage_set_done(struct memlens_usage_set *set)
{
	for (size_t i = 0; i < set->n; i++)
		set->u[i].u.kb = set->u[i].kb;
}

void ml_usage_to_0_1(const struct memlens_vma_usage *u, struct memlens_vma_usage_0_1 *out)
{
	out->vma = u->vma;
	memcpy(out->kb, u->kb, sizeof(out->kb));
	out->present = u->present & ((1ULL << ML_USAGE_MAX_0_1) - 1);
	out->thp_eligible = u->thp_eligible;
	out->vm_flags = u->vm_flags;
}

MEMLENS_API const struct memlens_vma_usage *memlens_usage_set__get_0_5(const struct memlens_usage_set *set, size_t i);
const struct memlens_vma_usage *memlens_usage_set__get_0_5(const struct memlens_usage_set *set, size_t i)
{
	return set && i < set->n ? &set->u[i].u : ml_get_none(set);
}
ML_DEFAULT_VERSION(memlens_usage_set__get_0_5, memlens_usage_set__get, MEMLENS_0.5)

/* for programs built against 0.4: records in its layout, made once a set */
MEMLENS_API const struct memlens_vma_usage_0_1 *memlens_usage_set__get_0_1(const struct memlens_usage_set *set, size_t i);
const struct memlens_vma_usage_0_1 *memlens_usage_set__get_0_1(const struct memlens_usage_set *set, size_t i)
{
	struct memlens_usage_set *s = (struct memlens_usage_set *)set;

	if (!set || i >= set->n)
		return ml_get_none(set);
	if (!s->compat) {
		s->compat = calloc(s->n, sizeof(*s->compat));
		if (!s->compat) {
			errno = ENOMEM;
			return NULL;
		}
		for (size_t k = 0; k < s->n; k++)
			ml_usage_to_0_1(&s->u[k].u, &s->compat[k]);
	}
	return &s->compat[i];
}
ML_COMPAT_VERSION(memlens_usage_set__get_0_1, memlens_usage_set__get, MEMLENS_0.1)

void memlens_usage_set__free(struct memlens_usage_set *set)
{
	if (!set)
		return;
	ml_arena_free(&set->arena);
	free(set->compat);
	free(set->u);
	free(set);
}

/* ---- page ranges ---- */
int ml_pages_push(struct memlens_pages *p, uint64_t start, uint64_t end, uint32_t flags)
{
	struct memlens_page_range *r;

	if (!flags || start >= end)
		return 0;
	if (p->n && p->r[p->n - 1].end == start && p->r[p->n - 1].flags == flags) {
		p->r[p->n - 1].end = end;
		return 0;
	}
	r = ML_VEC_PUSH(p->r, p->n, p->cap);
	if (!r)
		return -ENOMEM;
	*r = (struct memlens_page_range){ start, end, flags };
	return 0;
}

size_t memlens_pages__count(const struct memlens_pages *p)
{
	return p ? p->n : 0;
}

const struct memlens_page_range *memlens_pages__get(const struct memlens_pages *p, size_t i)
{
	return p && i < p->n ? &p->r[i] : ml_get_none(p);
}

enum memlens_source memlens_pages__source(const struct memlens_pages *p)
{
	return p ? p->source : MEMLENS_SOURCE_AUTO;
}

const char *memlens_pages__reason(const struct memlens_pages *p)
{
	return p ? p->reason : "";
}

bool memlens_pages__knows_huge(const struct memlens_pages *p)
{
	return p && p->knows_huge;
}

void memlens_pages__free(struct memlens_pages *p)
{
	if (!p)
		return;
	free(p->r);
	free(p);
}
