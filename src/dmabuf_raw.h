/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* What the DMA-BUF sources collect, before the model (dmabuf.c) adds it up. */
#ifndef MEMLENS_DMABUF_RAW_H
#define MEMLENS_DMABUF_RAW_H

#include "source.h"

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
	bool walks_skipped;		/* no buffer existed: fds and mappings not walked */
};

/* dmabuf_debugfs.c, dmabuf_sysfs.c: the system-wide list, for a source
 * without one; -ENOENT/-EACCES when not there */
ML_HIDDEN int ml_dmabuf_debugfs_collect(struct memlens *ml, const char *pin_dir, struct ml_dmabuf_raw *raw);
ML_HIDDEN int ml_dmabuf_sysfs_collect(struct memlens *ml, const char *pin_dir, struct ml_dmabuf_raw *raw);
/* dmabuf_bpf_iter.c: pin the context's loaded iterators in dir, and remove them */
ML_HIDDEN int ml_dmabuf_bpf_pin(struct memlens *ml, struct ml_dmabuf_bpf *l, const char *dir, mode_t mode, gid_t gid);
/* the fd and mapping walks' programs, loaded once (the probe loads only iter/dmabuf) */
ML_HIDDEN int ml_dmabuf_bpf_load_walks(struct memlens *ml, struct ml_dmabuf_bpf *l);
/* 0 when dir holds our three pins and they can be read, else -errno */
ML_HIDDEN int ml_dmabuf_pins_check(const char *dir);
ML_HIDDEN int ml_dmabuf_bpf_unpin(const char *dir);
/* dmabuf_procfs.c: one fd's fdinfo text (fuzzed) */
ML_HIDDEN void ml_dmabuf_fdinfo_parse(const char *buf, size_t len, struct ml_dfd *r);
/* dmabuf_bpf_iter.c: the iterators' records, buffers/fds/maps (fuzzed) */
ML_HIDDEN int ml_dmabuf_records_parse(char *const buf[3], const size_t len[3], struct ml_dmabuf_raw *raw);
/* dmabuf.c: the model from what the sources collected (fuzzed with the records);
 * takes raw's arrays, pid 0: every process */
ML_HIDDEN int ml_dmabuf_model(struct ml_dmabuf_raw *raw, int32_t pid, struct memlens_dmabuf **out);
ML_HIDDEN void ml_dmabuf_raw_free(struct ml_dmabuf_raw *r);
/* the bufinfo text parser (fuzzed) */
ML_HIDDEN int ml_dmabuf_bufinfo_parse(const char *buf, size_t len, struct ml_dmabuf_raw *raw);

#endif
