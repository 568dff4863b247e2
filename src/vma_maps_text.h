/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The /proc/<pid>/maps text parser (vma_maps_text.c), for the sources that fall back on it. */
#ifndef MEMLENS_VMA_MAPS_TEXT_H
#define MEMLENS_VMA_MAPS_TEXT_H

#include "records.h"

/* Parse maps text into set; pid goes into each record.  Never reads past len.
 * Return: 0, -EINVAL on a malformed line (lines before it are kept), -ENOMEM. */
ML_HIDDEN int ml_maps_text_parse(const char *buf, size_t len, pid_t pid, struct memlens_vma_set *set);
/* one maps line (no newline) */
ML_HIDDEN bool ml_maps_text_parse_line(const char *p, const char *end, pid_t pid, struct memlens_vma *v,
				       const char **name, size_t *name_len);
/* /proc/<pid>/maps of a pid, parsed */
ML_HIDDEN int ml_maps_text_read_pid(pid_t pid, struct memlens_vma_set *set);

#endif
