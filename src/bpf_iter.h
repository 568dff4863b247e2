/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* What the BPF iterator sources share: reading task iterator record streams. */
#ifndef MEMLENS_BPF_ITER_H
#define MEMLENS_BPF_ITER_H

#include "core.h"

/* task_vma iterators visit a thread with its own fd table as a task of its
 * own, with its process's whole mm: keep the first task of each process */
struct ml_seen {
	uint8_t *bits;
	size_t nbits;
	int32_t cur_tid;	/* task of the records seen last; start at -1 */
	bool skip;		/* whether its records are skipped */
};
/* records come one task after another: *skip for those of a task whose
 * process was already seen through another task; -ENOMEM, -EPROTO for a
 * tgid no kernel gives (above PID_MAX_LIMIT, or negative) */
ML_HIDDEN int ml_seen_first_task(struct ml_seen *s, int32_t tgid, int32_t tid, bool *skip);

/* An iterator's record stream read a piece at a time, through one buffer that
 * never holds more than a piece plus the record being cut: the walk of a
 * whole system does not need its whole output in memory at once */
struct ml_iter_rd {
	int fd;
	char *buf;
	size_t cap, off, len;
	bool eof;
};
/* at start: fd is the iterator (or pin) to read; -ENOMEM */
ML_HIDDEN int ml_iter_rd_init(struct ml_iter_rd *r, int fd);
ML_HIDDEN void ml_iter_rd_free(struct ml_iter_rd *r);
/* the next n bytes of the stream in *p (valid until the next call): 0; 1 at
 * the end of the stream when nothing is left (a clean end between records);
 * -EPROTO when it ends inside the n bytes; -errno of read() */
ML_HIDDEN int ml_iter_rd_next(struct ml_iter_rd *r, size_t n, const char **p);

#endif
