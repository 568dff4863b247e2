/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The smaps and smaps_rollup text parsers (vma_smaps.c), fuzzed on any text. */
#ifndef MEMLENS_VMA_SMAPS_H
#define MEMLENS_VMA_SMAPS_H

#include "records.h"

/* /proc/<pid>/smaps: a maps line, then its keys, per VMA; -EINVAL at a line
 * that is neither, the VMAs before it kept */
ML_HIDDEN int ml_smaps_parse(const char *buf, size_t len, pid_t pid, struct memlens_usage_set *set);
/* /proc/<pid>/smaps_rollup's keys into *out (a maps-like first line skipped) */
ML_HIDDEN void ml_rollup_parse(const char *buf, size_t len, struct ml_usage *out);
/* memlens__rollup()'s answer from what a read of smaps_rollup returned (n
 * bytes of buf, or -errno): -ETIMEDOUT when
 * stalled, -ESRCH when gone */
ML_HIDDEN int ml_rollup_result(pid_t pid, ssize_t n, const char *buf, struct ml_usage *out);

#endif
