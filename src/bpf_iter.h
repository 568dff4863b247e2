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

#endif
