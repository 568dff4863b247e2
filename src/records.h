/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The containers sources fill and the API hands out: VMA sets, smaps usage
 * sets, page ranges.  One record type per kind of data (memlens.h); names
 * live in the set's arena.
 */
#ifndef MEMLENS_RECORDS_H
#define MEMLENS_RECORDS_H

#include "core.h"

struct memlens_vma_set {
	struct memlens_vma *v;
	size_t n, cap;
	struct ml_arena arena;
	enum memlens_source source;
	size_t exited, unreadable;	/* whole-system walks */
	int32_t *unr;			/* the unreadable ones' pids */
	size_t unr_cap;
};

ML_HIDDEN struct memlens_vma_set *ml_set_new(enum memlens_source source);
/* append *vma with its name copied (name_len bytes); -ENOMEM */
ML_HIDDEN int ml_set_push(struct memlens_vma_set *set, const struct memlens_vma *vma,
			  const char *name, size_t name_len);
/* same for a path from a binary source: '\n' escaped as maps text does */
ML_HIDDEN int ml_set_push_path(struct memlens_vma_set *set, const struct memlens_vma *vma,
			       const char *name, size_t name_len);
/* a maps name that is a DMA-BUF: /dmabuf:NAME, or anon_inode:dmabuf before 5.3 */
ML_HIDDEN bool ml_name_is_dmabuf(const char *name);

struct memlens_usage_set {
	struct memlens_vma_usage *u;
	size_t n, cap;
	struct ml_arena arena;
};
ML_HIDDEN struct memlens_usage_set *ml_usage_set_new(void);

struct memlens_pages {
	struct memlens_page_range *r;
	size_t n, cap;
	enum memlens_source source;
	bool knows_huge;
	char reason[200];
};
/* add [start, end) with flags, merged with the range before it when they touch */
ML_HIDDEN int ml_pages_push(struct memlens_pages *p, uint64_t start, uint64_t end, uint32_t flags);

#endif
