/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The context and the few helpers every file of the library uses: errors,
 * the print callback, options checks, the probe cache's slots, strings that
 * live as long as their set, and one growable array.  Nothing here calls
 * into the rest of the library.
 */
#ifndef MEMLENS_CORE_H
#define MEMLENS_CORE_H

#include <errno.h>
#include <stdarg.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include "memlens.h"

#define ML_HIDDEN __attribute__((visibility("hidden")))
/* one API name, two versions (libbpf's COMPAT_VERSION and DEFAULT_VERSION):
 * programs linked against the older one keep it, new ones get the default */
#define ML_COMPAT_VERSION(internal, api, ver) __asm__(".symver " #internal "," #api "@" #ver);
#define ML_DEFAULT_VERSION(internal, api, ver) __asm__(".symver " #internal "," #api "@@" #ver);
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Options structs: the caller's size tells which fields it knows (libbpf's OPTS_GET). */
#define OPTS_HAS(opts, field) \
	((opts) && (opts)->sz >= offsetof(__typeof__(*(opts)), field) + sizeof((opts)->field))
#define OPTS_GET(opts, field, fallback) (OPTS_HAS(opts, field) ? (opts)->field : (fallback))
/* libbpf's OPTS_VALID: a size too small to hold sz, or non-zero bytes past
 * what this library knows (a newer caller's field it cannot honour).  What
 * it knows ends at the last declared field (type##__last_field in
 * memlens.h), not at sizeof: a field a newer caller added in the tail
 * padding would otherwise be ignored without a word. */
#define ml_offsetofend(type, field) (offsetof(type, field) + sizeof(((type *)0)->field))
#define OPTS_VALID(opts, type) \
	(!(opts) || ml_opts_valid((opts), (opts)->sz, ml_offsetofend(struct type, type##__last_field)))
ML_HIDDEN bool ml_opts_valid(const void *opts, size_t user_sz, size_t known_sz);

/* Return -err and set errno, libbpf style. */
/* an error of ours, not the process's: a walk stops at it instead of
 * counting the process unreadable (no memory, no file descriptor left) */
static inline bool ml_err_ours(int err)
{
	return err == -ENOMEM || err == -EMFILE || err == -ENFILE;
}

static inline int ml_err(int err)
{
	if (err > 0)
		err = -err;
	errno = -err;
	return err;
}

/* NULL and errno: what every _get of the library returns past the end */
static inline void *ml_get_none(const void *obj)
{
	errno = obj ? ERANGE : EINVAL;
	return NULL;
}

/* ---- the probe cache (CRIU's kerndat): one slot per kernel interface --- */
struct ml_probe {
	bool done;
	int err;
	char reason[200];
};

ML_HIDDEN void ml_probe_set(struct ml_probe *p, int err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

struct ml_bid_cache;
struct ml_sym_cache;
struct ml_bpf;
struct ml_dmabuf_bpf;
struct ml_prog_loaded;
struct ml_task_mm;
struct ml_page_slot;

struct memlens {
	memlens_print_fn_t print;
	struct ml_probe probe[__MEMLENS_IFACE_MAX];
	/* sources usable without their interface (pins) say why here */
	char source_why[__MEMLENS_SOURCE_MAX][300];
	char explain[1200];	/* memlens__explain()'s line when no buffer is given */
	char denied[300];	/* memlens__denied_reason()'s line */
	unsigned kver;		/* KERNEL_VERSION(a,b,c) of uname -r */
	char release[65];
	long page_size;
	/* the gate VMA ([vsyscall]) is in maps text only: the same in every
	 * 64-bit process, read once from /proc/self/maps */
	bool gate_known;
	struct memlens_vma gate;
	char gate_name[32];
	struct ml_bid_cache *bid;
	struct ml_sym_cache *syms;	/* symbolize.c's files, by build ID */
	struct ml_bpf *bpf;			/* iter/task_vma, loaded by its probe */
	struct ml_dmabuf_bpf *dmabuf_bpf;	/* the DMA-BUF iterators, loaded by their probe */
	struct ml_task_mm *task_mm;		/* iter/task over the mm counters, loaded by its probe */
	uint32_t task_mm_cap;			/* records the open-coded walk's map holds (its load's size) */
	/* the benchmark's: walk every fd and mapping even when no buffer
	 * exists; walk them one after the other on the caller's thread */
	bool dmabuf_walks_never_skipped, dmabuf_walks_one_thread;
	/* rows of the last whole-system walk: the next one's array is sized
	 * from it (one allocation, no doubling copies) */
	size_t walk_all_rows;
	size_t counters_rows;	/* the same for the mm counters' pass */
	/* normalize.c's page cache, kept across batches: a slot is valid in
	 * the batch whose number it carries (no clearing per batch) */
	struct ml_page_slot *norm_cache;
	uint32_t norm_batch;
	/* bounded reads (stall.h): how long a read may make no progress, and
	 * the processes with a thread still stuck in one */
	unsigned stall_ms;
	unsigned threads;	/* memlens_opts.threads: 0 the library's choice, 1 none of its own */
	struct ml_stuck *stuck;
	unsigned reader_run;		/* ml_reader_begin() depth */
	struct ml_reader *reader;	/* the kept reader of that run, NULL until a read */
};

#define ML_KVER(a, b, c) (((a) << 16) + ((b) << 8) + ((c) > 255 ? 255 : (c)))

/* whether an interface probed usable; only for interfaces the selector has
 * probed for the chosen source (its iface and its 'also') */
static inline bool ml_has(const struct memlens *ml, enum memlens_iface i)
{
	return ml->probe[i].done && !ml->probe[i].err;
}

ML_HIDDEN void ml_log(struct memlens *ml, enum memlens_print_level lvl, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* a helper thread running fn(arg) on another of the caller's CPUs, signals
 * blocked; false where there is none (the caller then does the work) */
ML_HIDDEN bool ml_helper_start(pthread_t *t, void *(*fn)(void *), void *arg);
/* libbpf prints through one process-wide callback: silence it around our
 * calls; the last line it said is kept for the probe's reason */
ML_HIDDEN void *ml_libbpf_quiet(void);
ML_HIDDEN void ml_libbpf_restore(void *old);
ML_HIDDEN const char *ml_libbpf_last(void);
/* the caller's effective capabilities (capget), bit N for capability N:
 * 0, or -errno */
ML_HIDDEN int ml_caps_effective(uint64_t *eff);
#define ML_CAP(eff, c) (((eff) >> (c)) & 1)

/* ---- strings that live as long as their set: blocks never move ------ */
struct ml_arena_blk;
struct ml_arena {
	struct ml_arena_blk *head;
};
ML_HIDDEN const char *ml_arena_strndup(struct ml_arena *a, const char *s, size_t len);
/* len bytes aligned to align (a power of two), or NULL */
ML_HIDDEN void *ml_arena_alloc(struct ml_arena *a, size_t len, size_t align);
ML_HIDDEN void ml_arena_free(struct ml_arena *a);

/* ---- the growable array: a zeroed new element at the end, NULL if out of memory */
ML_HIDDEN void *ml_vec_push(void **arr, size_t *n, size_t *cap, size_t elem_size);
#define ML_VEC_PUSH(arr, n, cap) ((__typeof__(arr))ml_vec_push((void **)&(arr), &(n), &(cap), sizeof(*(arr))))

#endif
