/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* What the DMA-BUF sources collect, before the model adds it up. */
#ifndef MEMLENS_DMABUF_INTERNAL_H
#define MEMLENS_DMABUF_INTERNAL_H

#include "memlens_internal.h"

struct ml_dbuf {		/* one buffer of the system-wide list */
	uint64_t ino, size, file_refs;
	char exp[32];
	char name[64];
};

struct ml_dfd {			/* one fd on a buffer */
	int32_t tgid, tid;	/* tid == tgid: the process's own fd table */
	uint32_t fd;
	uint64_t ino, size;
	char comm[16];
	char exp[32];		/* procfs (fdinfo) only */
	char name[64];
};

struct ml_dmap {		/* one VMA mapping a buffer */
	int32_t tgid;
	uint64_t ino, size;
	char comm[16];
};

struct ml_dmabuf_raw {
	struct ml_dbuf *bufs;
	size_t nbufs, capbufs;
	struct ml_dfd *fds;
	size_t nfds, capfds;
	struct ml_dmap *maps;
	size_t nmaps, capmaps;
	int32_t *unreadable;
	size_t nunreadable, capunreadable;
	size_t exited;
	const char *system_list;	/* "bpf", "debugfs", "sysfs", "none" */
};

#define ML_PUSH(raw, arr, n, cap)                                                        \
	({                                                                               \
		int e_ = 0;                                                              \
		if ((raw)->n == (raw)->cap) {                                            \
			size_t c_ = (raw)->cap ? (raw)->cap * 2 : 64;                    \
			void *p_ = realloc((raw)->arr, c_ * sizeof(*(raw)->arr));        \
			if (p_) {                                                        \
				(raw)->arr = p_;                                         \
				(raw)->cap = c_;                                         \
			} else {                                                         \
				e_ = -ENOMEM;                                            \
			}                                                                \
		}                                                                        \
		e_ ? NULL : memset(&(raw)->arr[(raw)->n++], 0, sizeof(*(raw)->arr));     \
	})

/* dmabuf_bpf_iter.c: from pins in pin_dir when readable, else loaded programs */
ML_HIDDEN int ml_dmabuf_bpf_probe(struct memlens *ml, const char *pin_dir, char *why, size_t len);
ML_HIDDEN int ml_dmabuf_bpf_collect(struct memlens *ml, const char *pin_dir, struct ml_dmabuf_raw *raw);
/* dmabuf_procfs.c */
ML_HIDDEN int ml_dmabuf_procfs_collect(struct memlens *ml, struct ml_dmabuf_raw *raw);
/* dmabuf_debugfs.c: /sys/kernel/debug/dma_buf/bufinfo; -ENOENT/-EACCES when not there */
ML_HIDDEN int ml_dmabuf_debugfs_collect(struct ml_dmabuf_raw *raw);
ML_HIDDEN int ml_dmabuf_bufinfo_parse(const char *buf, size_t len, struct ml_dmabuf_raw *raw);
/* dmabuf_sysfs.c: /sys/kernel/dmabuf/buffers (deprecated, gone in 7.0) */
ML_HIDDEN int ml_dmabuf_sysfs_collect(struct ml_dmabuf_raw *raw);

#endif
