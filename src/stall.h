/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Reads of another process's memory files that cannot hang the caller.
 *
 * smaps, smaps_rollup and cmdline take the target's mmap lock for read.  A
 * process can park its own lock (one thread holds it across a page fault on
 * a FUSE file whose daemon never answers, another waits to write it): every
 * later reader then waits in the kernel, killably, for as long as the
 * process likes.  Such reads run in threads of the library's that the
 * caller waits for with a deadline: a thread whose read makes no progress
 * for stall_ms is abandoned (it ends when the read does, or with the
 * process), its process reported stalled, the rest answered.
 *
 * A process with an abandoned thread still in its read is in the context's
 * stuck registry: it is reported stalled at once, so a process that stalls
 * for an hour costs one thread, not one per collection.  The registry is
 * shared by the context and those threads, and freed by the last of them.
 */
#ifndef MEMLENS_STALL_H
#define MEMLENS_STALL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define ML_STALL_MS_DEFAULT 2000
/* processes the registry remembers; past it a stalled process costs a
 * thread per read again */
#define ML_STUCK_MAX 256

struct ml_stuck;
struct memlens;

/* the context's registry (NULL: no memory, reads then unremembered) */
struct ml_stuck *ml_stuck_new(void);
void ml_stuck_put(struct ml_stuck *st);
struct ml_stuck *ml_stuck_get(struct ml_stuck *st);
/* a thread abandoned in a read of pid's files is still in it */
bool ml_stuck_has(struct ml_stuck *st, pid_t pid);
void ml_stuck_add(struct ml_stuck *st, pid_t pid);
/* the same for a read abandoned because a budget ran out (slow, not
 * stalled); ml_stuck_slow() tells the two apart */
void ml_stuck_add_slow(struct ml_stuck *st, pid_t pid);
bool ml_stuck_slow(struct ml_stuck *st, pid_t pid);
void ml_stuck_del(struct ml_stuck *st, pid_t pid);

/* monotonic milliseconds */
uint64_t ml_now_ms(void);

/* @path (a file of process @pid) whole into a malloc'd *buf, read in a
 * thread of the library's: 0, -ETIMEDOUT (stalled), -ESRCH (no such /proc
 * entry), -errno */
int ml_read_bounded(struct memlens *ml, pid_t pid, const char *path, char **buf, size_t *len);

/* A run of bounded reads (a pass over every process): between begin and
 * end, ml_read_bounded() hands its reads to one kept thread instead of
 * starting a thread per read (one abandoned in a stalled read is replaced
 * by the next read); end joins it, so no thread of the library's outlives
 * the call (one stuck in a read excepted, as always). */
struct ml_reader;
void ml_reader_begin(struct memlens *ml);
void ml_reader_end(struct memlens *ml);

#endif
