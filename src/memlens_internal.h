/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#ifndef MEMLENS_INTERNAL_H
#define MEMLENS_INTERNAL_H

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include "memlens.h"

#define ML_HIDDEN __attribute__((visibility("hidden")))
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Options structs: the caller's size tells which fields it knows (libbpf's OPTS_GET). */
#define OPTS_HAS(opts, field) \
	((opts) && (opts)->sz >= offsetof(__typeof__(*(opts)), field) + sizeof((opts)->field))
#define OPTS_GET(opts, field, fallback) (OPTS_HAS(opts, field) ? (opts)->field : (fallback))

/* Return -err and set errno, libbpf style. */
static inline int ml_err(int err)
{
	if (err > 0)
		err = -err;
	errno = -err;
	return err;
}

/* ---- strings that live as long as their set: blocks never move ------ */
struct ml_arena_blk;
struct ml_arena {
	struct ml_arena_blk *head;
};
ML_HIDDEN const char *ml_arena_strndup(struct ml_arena *a, const char *s, size_t len);
ML_HIDDEN void ml_arena_free(struct ml_arena *a);

struct memlens_vma_set {
	struct memlens_vma *v;
	size_t n, cap;
	struct ml_arena arena;
	enum memlens_backend backend;
};

ML_HIDDEN struct memlens_vma_set *ml_set_new(enum memlens_backend backend);
/* append *vma with its name copied (name_len bytes); -ENOMEM */
ML_HIDDEN int ml_set_push(struct memlens_vma_set *set, const struct memlens_vma *vma,
			  const char *name, size_t name_len);
/* same for a path from a binary source: '\n' escaped as maps text does */
ML_HIDDEN int ml_set_push_path(struct memlens_vma_set *set, const struct memlens_vma *vma,
			       const char *name, size_t name_len);

/* ---- the context: probe results (kerndat), caches, loaded BPF -------- */
struct ml_probe {
	bool done;
	int err;
	char reason[200];
};

struct ml_bid_cache;
struct ml_bpf;

struct memlens {
	memlens_print_fn_t print;
	struct ml_probe probe[__MEMLENS_IFACE_MAX];
	unsigned kver;		/* KERNEL_VERSION(a,b,c) of uname -r */
	char release[65];
	long page_size;
	/* the gate VMA ([vsyscall]) is in maps text only: the same in every
	 * 64-bit process, read once from /proc/self/maps at probe time */
	bool gate_known;
	struct memlens_vma gate;
	char gate_name[32];
	struct ml_bid_cache *bid;
	struct ml_bpf *bpf;
	void *scratch;		/* normalization's sort buffer, reused */
	size_t scratch_cap;
};

#define ML_KVER(a, b, c) (((a) << 16) + ((b) << 8) + ((c) > 255 ? 255 : (c)))

struct memlens_proc {
	struct memlens *ml;
	pid_t pid;
	enum memlens_backend backend;	/* forced, or AUTO */
	int maps_fd;			/* /proc/<pid>/maps, opened at open time */
};

ML_HIDDEN void ml_log(struct memlens *ml, enum memlens_print_level lvl, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* features.c */
ML_HIDDEN void ml_probe_set(struct ml_probe *p, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
ML_HIDDEN int ml_probe_gate(struct memlens *ml);

ML_HIDDEN int ml_backend_usable(struct memlens *ml, enum memlens_backend b);

/* vma_procmap_query.c */
ML_HIDDEN int ml_pq_probe(struct memlens *ml, struct ml_probe *p);
ML_HIDDEN int ml_pq_query(struct memlens_proc *proc, uint64_t addr, uint32_t flags, bool want_bid,
			  struct memlens_vma *v, char *name, size_t name_size, size_t *name_len);
ML_HIDDEN int ml_pq_find(struct memlens_proc *proc, uint64_t addr, uint32_t flags,
			 struct memlens_vma_set *set);
ML_HIDDEN int ml_pq_walk(struct memlens_proc *proc, bool build_ids, struct memlens_vma_set *set);

/* vma_maps_text.c */
/* Parse maps text into set; pid goes into each record.  Never reads past len.
 * Return: 0, -EINVAL on a malformed line (lines before it are kept), -ENOMEM. */
ML_HIDDEN int ml_maps_text_parse(const char *buf, size_t len, pid_t pid, struct memlens_vma_set *set);
/* one maps line (no newline) */
ML_HIDDEN bool ml_maps_text_parse_line(const char *p, const char *end, pid_t pid, struct memlens_vma *v,
				       const char **name, size_t *name_len);
ML_HIDDEN int ml_maps_text_walk(struct memlens_proc *proc, struct memlens_vma_set *set);
ML_HIDDEN int ml_read_file_fd(int fd, char **buf, size_t *len);
/* the whole file; a missing /proc/<pid>/... is -ESRCH */
ML_HIDDEN int ml_read_file(const char *path, char **buf, size_t *len);
/* /proc/<pid>/maps of a pid, parsed */
ML_HIDDEN int ml_maps_text_read_pid(pid_t pid, struct memlens_vma_set *set);

/* vma_smaps.c */
struct memlens_usage_set {
	struct memlens_vma_usage *u;
	size_t n, cap;
	struct ml_arena arena;
};
ML_HIDDEN int ml_smaps_parse(const char *buf, size_t len, pid_t pid, struct memlens_usage_set *set);
ML_HIDDEN struct memlens_usage_set *ml_usage_set_new(void);

/* vma_bpf_iter.c */
ML_HIDDEN int ml_bpf_probe(struct memlens *ml, struct ml_probe *p);
ML_HIDDEN int ml_bpf_iter_pid_probe(struct memlens *ml, struct ml_probe *p);
/* pid 0: every process; records of other threads with their own fd table are
 * folded into their process */
ML_HIDDEN int ml_bpf_walk(struct memlens *ml, pid_t pid, struct memlens_vma_set *set);
ML_HIDDEN void ml_bpf_free(struct ml_bpf *bpf);
/* libbpf prints through one process-wide callback: silence it around our calls */
ML_HIDDEN void *ml_libbpf_quiet(void);
ML_HIDDEN void ml_libbpf_restore(void *old);

/* task_vma iterators visit a thread with its own fd table as a task of its
 * own, with its process's whole mm: keep the first task of each process */
struct ml_seen {
	uint8_t *bits;
	size_t nbits;
	int32_t cur_tid;	/* task of the records seen last; start at -1 */
	bool skip;		/* whether its records are skipped */
};
/* records come one task after another: *skip for those of a task whose
 * process was already seen through another task; -ENOMEM */
ML_HIDDEN int ml_seen_first_task(struct ml_seen *s, int32_t tgid, int32_t tid, bool *skip);

/* build_id.c */
ML_HIDDEN int ml_build_id_fill(struct memlens *ml, pid_t pid, struct memlens_vma *vma);
ML_HIDDEN void ml_bid_cache_free(struct ml_bid_cache *c);
/* the GNU build ID note of an ELF image in memory; 0 and *size, -ENOENT none, -ENOEXEC not ELF */
ML_HIDDEN int ml_elf_build_id_mem(const void *data, size_t len, unsigned char *id, uint32_t *size);
ML_HIDDEN int ml_elf_build_id_fd(int fd, unsigned char *id, uint32_t *size);

/* vma.c */
/* the gate VMA ([vsyscall], not in any mm) answers a query the mm could not */
ML_HIDDEN bool ml_gate_covers(struct memlens *ml, uint64_t addr, uint32_t flags);
/* fill build IDs of file-backed VMAs without one; source_gave: the kernel
 * already answered (an empty answer means no build ID) */
ML_HIDDEN void ml_fill_build_ids(struct memlens *ml, struct memlens_vma_set *set, bool source_gave);
ML_HIDDEN int ml_open_maps(pid_t pid, int *fd);
ML_HIDDEN int ml_pid_gone(pid_t pid);
/* state letter and flags from /proc/<pid>/stat; -ESRCH if it is not there */
ML_HIDDEN int ml_proc_stat(pid_t pid, char *state, unsigned long *flags);

#endif
