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

/* a usage record with its fields; u.kb points at kb once the record stays
 * where it is (ml_usage_init() for one alone, ml_usage_set_done() for a set) */
struct ml_usage {
	struct memlens_vma_usage u;
	uint64_t kb[__MEMLENS_USAGE_MAX];
};

/* memlens_vma_usage as 0.4 and before declared it, for the programs built
 * against them (memlens__rollup@MEMLENS_0.1, memlens_usage_set__get@MEMLENS_0.1):
 * its kb[] held the fields up to Locked */
#define ML_USAGE_MAX_0_1 (MEMLENS_USAGE_LOCKED + 1)
struct memlens_vma_usage_0_1 {
	struct memlens_vma vma;
	uint64_t kb[ML_USAGE_MAX_0_1];
	uint64_t present;
	int32_t thp_eligible;
	const char *vm_flags;
};
ML_HIDDEN void ml_usage_to_0_1(const struct memlens_vma_usage *u, struct memlens_vma_usage_0_1 *out);

struct memlens_usage_set {
	struct ml_usage *u;
	size_t n, cap;
	struct ml_arena arena;
	struct memlens_vma_usage_0_1 *compat;	/* the 0.1 getter's records, made at its first call */
};
ML_HIDDEN struct memlens_usage_set *ml_usage_set_new(void);
/* the set is whole: each record's kb pointer set */
ML_HIDDEN void ml_usage_set_done(struct memlens_usage_set *set);

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
